package conformance

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// testDeleteSessionRace deletes a session's state from one registry while
// others append events to, claim and release leases on, and complete the
// processes that session targets and holds grants to. The delete must not
// write back stale process rows: afterwards every log is gap-free with every
// successful append stored, no append failed, completed processes stayed
// completed, each process's fencing token equals the number of leases
// acquired on it (it never went back), and the report matches the grants.
func testDeleteSessionRace(t *testing.T, open Opener) {
	const procs, writers, rounds = 48, 4, 6
	rs := openMany(t, open, writers+1)
	gone := procreg.SessionScope{SessionID: "gone"}
	kept := procreg.SessionScope{SessionID: "kept"}
	ids := make([]string, procs)
	for i := range ids {
		ids[i] = "p" + itoa(100+i)
		reg := eventReg(ids[i])
		reg.WakeTarget = &procreg.SessionScope{SessionID: "gone", AgentFrameID: "f"}
		mustRegister(t, rs[0], reg)
		mustGrant(t, rs[0], gone, ids[i], descA)
		if i%3 == 0 {
			mustGrant(t, rs[0], kept, ids[i], descB)
		}
	}
	completed := func(i int) bool { return i%8 == 0 }
	var appended, acquired [procs]atomic.Int64
	var ops atomic.Int64
	started := make(chan struct{})
	var startOnce sync.Once
	errs := make([]error, writers+1)
	var rep procreg.SessionDeleteReport
	parallel(writers+1, func(w int) {
		r := rs[w]
		if w == writers { // the deleting registry waits until the writers are busy
			<-started
			rep, errs[w] = r.DeleteSessionProcessState(t.Context(), "gone")
			return
		}
		o := selfOwner(t, "w"+itoa(w))
		for round := range rounds {
			for k := range procs {
				i := (k + w*procs/writers) % procs
				if ops.Add(1) == int64(writers*procs/2) {
					startOnce.Do(func() { close(started) })
				}
				if _, err := r.AppendEvent(t.Context(), ids[i], appendReq(noteType, `{"w":`+itoa(w)+`}`)); err != nil {
					errs[w] = err
					return
				}
				appended[i].Add(1)
				if completed(i) && round == rounds/2 && w == i%writers {
					if _, err := r.CompleteProcess(t.Context(), ids[i], success(`1`)); err != nil {
						errs[w] = err
						return
					}
					continue
				}
				c, err := r.ClaimProcessLease(t.Context(), ids[i], o, time.Minute)
				if errors.Is(err, procreg.ErrTerminal) {
					continue
				}
				if err != nil {
					errs[w] = err
					return
				}
				if !c.Acquired {
					continue
				}
				acquired[i].Add(1)
				if err := r.CompleteProcessLease(t.Context(), procreg.LeaseCompletion{ProcessID: ids[i], Token: c.Lease.Token}); err != nil {
					errs[w] = err
					return
				}
			}
		}
		startOnce.Do(func() { close(started) })
	})
	for w, err := range errs {
		wantOK(t, err, "concurrent worker "+itoa(w))
	}
	var orphaned, preserved []string
	for i, id := range ids {
		rec := mustGet(t, rs[0], id)
		if rec.WakeTarget != nil {
			t.Errorf("process %q wake target after deleting its session = %+v; want nil", id, rec.WakeTarget)
		}
		if completed(i) {
			if rec.Status.State != procreg.StateCompleted {
				t.Errorf("process %q state = %s after a committed completion; want completed (terminal states never go back)", id, rec.Status.State)
			}
		}
		evs := mustEvents(t, rs[0], id, 0)
		want := appended[i].Load()
		if completed(i) {
			want++ // the completion event
		}
		if int64(len(evs)) != want {
			t.Errorf("process %q has %d events; want %d (every successful append stored once)", id, len(evs), want)
		}
		for n, ev := range evs {
			if ev.Sequence != uint64(n+1) {
				t.Errorf("process %q event %d has sequence %d; want %d (gap-free)", id, n, ev.Sequence, n+1)
				break
			}
		}
		if l := mustLease(t, rs[0], id); l != nil {
			t.Errorf("process %q still leased after every worker released: %+v", id, l)
		}
		if rec.Status.State == procreg.StateRunning {
			// The next acquisition's token shows how far it grew: one per
			// acquisition, never set back by a stale write.
			c, err := rs[0].ClaimProcessLease(t.Context(), id, selfOwner(t, "final"), time.Minute)
			wantOK(t, err, "final claim of "+id)
			wantEqual(t, "fencing token of the final claim of "+id, c.Lease.FencingToken, uint64(acquired[i].Load())+1)
		}
		if !completed(i) {
			if i%3 == 0 {
				preserved = append(preserved, id)
			} else {
				orphaned = append(orphaned, id)
			}
		}
	}
	// A process completed after the delete still counts; one completed
	// before it is neither orphaned nor preserved.
	rep.OrphanedProcessIDs = slices.DeleteFunc(rep.OrphanedProcessIDs, func(id string) bool { return completed(slices.Index(ids, id)) })
	rep.PreservedProcessIDs = slices.DeleteFunc(rep.PreservedProcessIDs, func(id string) bool { return completed(slices.Index(ids, id)) })
	wantEqual(t, "revoked handles", rep.RevokedHandles, procs)
	wantStrings(t, "orphaned processes", rep.OrphanedProcessIDs, orphaned...)
	wantStrings(t, "preserved processes", rep.PreservedProcessIDs, preserved...)
	if got := mustList(t, rs[0], gone); len(got) != 0 {
		t.Errorf("grants of the deleted session = %d; want none", len(got))
	}
	if got := mustList(t, rs[0], kept); len(got) != (procs+2)/3 {
		t.Errorf("grants of the other session = %d; want %d", len(got), (procs+2)/3)
	}
}

// testTransferPruneRace transfers grants of completed processes while
// another registry prunes them: each transfer either moves the grant (it ran
// first) or finds no grant to move (ErrNotGranted), never a storage error.
func testTransferPruneRace(t *testing.T, open Opener) {
	const procs, movers = 60, 3
	rs := openMany(t, open, movers+1)
	ids := make([]string, procs)
	for i := range ids {
		ids[i] = "p" + itoa(100+i)
		mustRegister(t, rs[0], eventReg(ids[i]))
		mustGrant(t, rs[0], scopeS1, ids[i], descA)
		mustComplete(t, rs[0], ids[i], success(`1`))
	}
	errs := make([][]error, movers+1)
	parallel(movers+1, func(w int) {
		if w == movers {
			_, err := rs[w].PruneTerminalProcesses(t.Context(), time.Now().Add(time.Hour))
			errs[w] = append(errs[w], err)
			return
		}
		for k := range procs {
			id := ids[(k+w*procs/movers)%procs]
			errs[w] = append(errs[w], rs[w].TransferHandleGrants(t.Context(), scopeS1, scopeS2, []string{id}))
		}
	})
	wantOK(t, errs[movers][0], "PruneTerminalProcesses during transfers")
	for w := range movers {
		for _, err := range errs[w] {
			if err != nil && !errors.Is(err, procreg.ErrNotGranted) {
				t.Errorf("transfer by mover %d during a prune: %v; want success or ErrNotGranted", w, err)
			}
		}
	}
}
