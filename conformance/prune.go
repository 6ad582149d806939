package conformance

import (
	"testing"
	"time"

	"github.com/procreg/procreg"
)

func pruneRules() []rule {
	return []rule{
		{"CutoffAndCounts", testPruneCutoff},
		{"Cascade", testPruneCascade},
		{"RunningUntouched", testPruneRunning},
		{"EmptyRegistry", testPruneEmpty},
		{"ManyProcesses", testPruneMany},
	}
}

// farFuture is a cutoff after every timestamp the suite writes.
var farFuture = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// mustPrune prunes and fails the test on error.
func mustPrune(t *testing.T, r procreg.Registry, cutoff time.Time) procreg.PruneReport {
	t.Helper()
	rep, err := r.PruneTerminalProcesses(t.Context(), cutoff)
	wantOK(t, err, "PruneTerminalProcesses")
	return rep
}

// finishedWithEvents registers id, appends notes notes and completes it.
func finishedWithEvents(t *testing.T, r procreg.Registry, id string, notes int) procreg.Record {
	t.Helper()
	mustRegister(t, r, eventReg(id))
	appendNotes(t, r, id, notes)
	return mustComplete(t, r, id, success(`"ok"`))
}

func testPruneCutoff(t *testing.T, r procreg.Registry) {
	a := finishedWithEvents(t, r, "a", 2) // 3 events
	pause()
	b := finishedWithEvents(t, r, "b", 1) // 2 events
	mustRegister(t, r, eventReg("c"))
	appendNotes(t, r, "c", 2)
	running := mustGet(t, r, "c")

	wantEqual(t, "prune with cutoff = a.UpdatedAt (strictly before)", mustPrune(t, r, a.UpdatedAt), procreg.PruneReport{})
	wantEqual(t, "prune with cutoff = b.UpdatedAt", mustPrune(t, r, b.UpdatedAt), procreg.PruneReport{PrunedProcesses: 1, PrunedEvents: 3})
	if _, err := r.GetProcess(t.Context(), "a"); err == nil {
		t.Error("process a survived pruning; want it deleted")
	}
	wantSame(t, "process b before its cutoff", mustGet(t, r, "b"), b)
	wantEqual(t, "prune with a far-future cutoff", mustPrune(t, r, farFuture), procreg.PruneReport{PrunedProcesses: 1, PrunedEvents: 2})
	wantEqual(t, "prune again", mustPrune(t, r, farFuture), procreg.PruneReport{})
	wantSame(t, "running process after pruning", mustGet(t, r, "c"), running)
	wantSeqs(t, "running process events after pruning", mustEvents(t, r, "c", 0), 1, 2)
}

func testPruneCascade(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1", wakeType("ping", procreg.WakeSpec{Input: constSel(`"x"`)}))
	reg.WakeTarget = &scopeS1
	mustRegister(t, r, reg)
	mustRegister(t, r, toolReg("keep"))
	mustAppend(t, r, "p1", appendReq("ping", `{}`))
	wantOK(t, r.AckWake(t.Context(), "p1", 1), "AckWake")
	mustGrant(t, r, scopeS1, "p1", descA)
	mustGrant(t, r, scopeS1, "keep", descA)
	mustGrant(t, r, scopeS2, "p1", descB)
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), time.Hour)
	wantEqual(t, "fencing token before pruning", l.FencingToken, uint64(1))
	mustComplete(t, r, "p1", success(`1`))

	wantEqual(t, "prune report", mustPrune(t, r, farFuture), procreg.PruneReport{PrunedProcesses: 1, PrunedEvents: 2})
	_, err := r.GetProcess(t.Context(), "p1")
	wantErr(t, err, procreg.ErrNotFound, "p1", "GetProcess after pruning")
	_, err = r.EventsAfter(t.Context(), "p1", 0)
	wantErr(t, err, procreg.ErrNotFound, "p1", "EventsAfter after pruning")
	if got := mustLease(t, r, "p1"); got != nil {
		t.Errorf("lease after pruning = %+v; want nil", got)
	}
	wantStrings(t, "s1 grants after pruning", entryIDs(mustList(t, r, scopeS1)), "keep")
	mustHas(t, r, scopeS2, "p1", false)

	// The id is free again: nothing of the pruned process leaks into a new one.
	mustRegister(t, r, reg)
	grants, err := r.HandleGrantsForProcess(t.Context(), "p1")
	wantOK(t, err, "HandleGrantsForProcess after re-registering")
	if len(grants) != 0 {
		t.Errorf("grants of the re-registered process = %+v; want none", grants)
	}
	res := mustAppend(t, r, "p1", appendReq("ping", `{}`))
	wantEqual(t, "first sequence of the re-registered process", res.Event.Sequence, uint64(1))
	wantSeqs(t, "wake events of the re-registered process (old ack deleted)", mustWakeEvents(t, r, "p1", 0), 1)
	l = mustAcquire(t, r, "p1", selfOwner(t, "w1"), time.Hour)
	wantEqual(t, "fencing token of the re-registered process", l.FencingToken, uint64(1))
}

func testPruneRunning(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	appendNotes(t, r, "p1", 3)
	mustGrant(t, r, scopeS1, "p1", descA)
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), time.Hour)
	_, err := r.SetProcessWait(t.Context(), "p1", exampleWait())
	wantOK(t, err, "SetProcessWait")
	before := mustGet(t, r, "p1")
	wantEqual(t, "prune report", mustPrune(t, r, farFuture), procreg.PruneReport{})
	wantSame(t, "running record after pruning", mustGet(t, r, "p1"), before)
	wantSeqs(t, "running events after pruning", mustEvents(t, r, "p1", 0), 1, 2, 3)
	wantSame(t, "running lease after pruning", mustLease(t, r, "p1"), &l)
	mustHas(t, r, scopeS1, "p1", true)
}

func testPruneEmpty(t *testing.T, r procreg.Registry) {
	wantEqual(t, "prune of an empty registry", mustPrune(t, r, farFuture), procreg.PruneReport{})
	wantEqual(t, "prune with a zero cutoff", mustPrune(t, r, time.Time{}), procreg.PruneReport{})
}

func testPruneMany(t *testing.T, r procreg.Registry) {
	// More than one bounded batch of a typical implementation (hundreds).
	const n, workers = 1050, 8
	errs := make([]error, workers)
	parallel(workers, func(w int) {
		for i := w; i < n; i += workers {
			id := "p" + itoa(i)
			if _, err := r.RegisterProcess(t.Context(), toolReg(id)); err != nil {
				errs[w] = err
				return
			}
			if _, err := r.CompleteProcess(t.Context(), id, success(`1`)); err != nil {
				errs[w] = err
				return
			}
		}
	})
	for w, err := range errs {
		wantOK(t, err, "registering and completing, worker "+itoa(w))
	}
	mustRegister(t, r, toolReg("running"))
	wantEqual(t, "prune report", mustPrune(t, r, farFuture), procreg.PruneReport{PrunedProcesses: n, PrunedEvents: n})
	wantStrings(t, "processes after pruning", mustListProcesses(t, r, procreg.ListFilter{Status: procreg.StatusAny}), "running")
}
