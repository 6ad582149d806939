package conformance

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// Opener opens an independent registry (its own connection or pool) on one
// database. The suite closes every registry it opens.
type Opener func(t *testing.T) procreg.Registry

// RunDurable checks what only durable backends promise: facts survive
// close and reopen, and registries sharing one database stay consistent
// under concurrent registrations, appends and lease claims. newDatabase is
// called once per subtest and returns an Opener for a fresh, empty
// database; every Opener call must open a new, independent registry.
func RunDurable(t *testing.T, newDatabase func(t *testing.T) Opener) {
	t.Helper()
	for _, rl := range durableRules() {
		t.Run(rl.name, func(t *testing.T) {
			t.Parallel()
			rl.run(t, newDatabase(t))
		})
	}
}

// durableRule is one named check over a fresh database.
type durableRule struct {
	name string
	run  func(t *testing.T, open Opener)
}

func durableRules() []durableRule {
	return []durableRule{
		{"ReopenKeepsEveryFact", testReopen},
		{"ConcurrentRegisterAndComplete", testConcurrentRegister},
		{"ConcurrentAppendsAcrossRegistries", testConcurrentAppends},
		{"ClaimRaceAcrossRegistries", testClaimRaceAcross},
		{"ReclaimRaceAcrossRegistries", testReclaimRaceAcross},
		{"LeaseMutualExclusion", testLeaseMutualExclusion},
		{"DeleteSessionRace", testDeleteSessionRace},
		{"TransferPruneRace", testTransferPruneRace},
		{"ChangeFeedRacingWriters", testChangeFeedRacingWriters},
		{"PageCursorAcrossConnections", testPageCursorAcrossConnections},
		{"ClaimNextWorkersAcrossRegistries", func(t *testing.T, open Opener) {
			rs := openMany(t, open, 3)
			claimWorkers(t, append(rs, rs...))
		}},
	}
}

// openMany opens n independent registries on the same database.
func openMany(t *testing.T, open Opener, n int) []procreg.Registry {
	t.Helper()
	out := make([]procreg.Registry, n)
	for i := range out {
		out[i] = openFresh(t, open)
	}
	return out
}

// openClosable opens a registry that the test closes itself; the returned
// function closes it once (the cleanup only closes it if the test did not).
func openClosable(t *testing.T, open Opener) (procreg.Registry, func()) {
	t.Helper()
	r := open(t)
	if r == nil {
		t.Fatal("open returned a nil registry; want a registry on the database")
	}
	var once sync.Once
	closeNow := func() {
		once.Do(func() {
			if err := r.Close(); err != nil {
				t.Errorf("Close: %v; want nil", err)
			}
		})
	}
	t.Cleanup(closeNow)
	return r, closeNow
}

// durableState is everything the reopen rule compares before and after.
func durableState(t *testing.T, r procreg.Registry, ids []string) map[string]any {
	t.Helper()
	out := snapshot(t, r, ids...)
	for _, scope := range []procreg.SessionScope{scopeS1, scopeS1F, scopeS2} {
		out["grants/"+scope.ID()] = mustList(t, r, scope)
	}
	nt, err := r.ListNonTerminal(t.Context())
	wantOK(t, err, "ListNonTerminal")
	out["nonterminal"] = nt
	waiting, err := r.ListProcesses(t.Context(), procreg.ListFilter{Waiting: boolPtr(true)})
	wantOK(t, err, "ListProcesses(waiting)")
	out["waiting"] = waiting
	byDef, err := r.ListProcesses(t.Context(), procreg.ListFilter{Status: procreg.StatusAny, Definition: raw(`{"def":1}`)})
	wantOK(t, err, "ListProcesses(definition)")
	out["definition"] = byDef
	n, err := r.CountEventsThrough(t.Context(), "p1", noteType, ^uint64(0))
	wantOK(t, err, "CountEventsThrough")
	out["count"] = n
	return out
}

func testReopen(t *testing.T, open Opener) {
	ids := []string{"p1", "done", "leased"}
	r1, close1 := openClosable(t, open)
	if tier := r1.DurabilityTier(); tier != procreg.TierDurable {
		t.Errorf("DurabilityTier() = %v; want TierDurable", tier)
	}
	reg := eventReg("p1")
	reg.EventTypes = append(reg.EventTypes, wakeType("ping", procreg.WakeSpec{Input: pointerSel("/msg")}))
	reg.WakeTarget = &scopeS1F
	reg.Identity = procreg.Identity{Kind: "tool", Label: "grep", Definition: raw(`{"def":1}`)}
	reg.Provenance.CausedBy = raw(`{"turn":1}`)
	first := mustRegister(t, r1, reg)
	_, err := r1.SetExternalRef(t.Context(), "p1", exampleRef())
	wantOK(t, err, "SetExternalRef")
	mustGrant(t, r1, scopeS1, "p1", descA)
	mustGrant(t, r1, scopeS1F, "p1", descB)
	mustGrant(t, r1, scopeS2, "p1", descA)
	appendNotes(t, r1, "p1", 2)
	replayed := mustAppend(t, r1, "p1", procreg.AppendRequest{EventType: "ping", Payload: raw(`{"msg":"a"}`), ReplayKey: "r1"})
	mustAppend(t, r1, "p1", appendReq("ping", `{"msg":"b"}`))
	wantOK(t, r1.AckWake(t.Context(), "p1", replayed.Event.Sequence), "AckWake")
	_, err = r1.RecordFirstStarted(t.Context(), "p1", procreg.Started{Owner: selfOwner(t, "w1"), At: time.Now()})
	wantOK(t, err, "RecordFirstStarted")
	_, err = r1.RequestProcessAbandon(t.Context(), "p1", procreg.AbandonRequest{RequestedBy: "op", RequestedAt: time.Now(), Reason: "r"})
	wantOK(t, err, "RequestProcessAbandon")
	_, err = r1.SetProcessWait(t.Context(), "p1", exampleWait())
	wantOK(t, err, "SetProcessWait")
	for _, o := range []string{"w1", "w2"} {
		l := mustAcquire(t, r1, "p1", selfOwner(t, o), time.Hour)
		wantOK(t, r1.CompleteProcessLease(t.Context(), procreg.LeaseCompletion{ProcessID: "p1", Token: l.Token}), "CompleteProcessLease")
	}
	mustRegister(t, r1, toolReg("done"))
	mustGrant(t, r1, scopeS1, "done", descA)
	mustComplete(t, r1, "done", outputs()["process.failed"])
	mustRegister(t, r1, toolReg("leased"))
	held := mustAcquire(t, r1, "leased", selfOwner(t, "holder"), time.Hour)
	before := durableState(t, r1, ids)
	close1()

	r2 := openFresh(t, open)
	wantSame(t, "state after reopening", durableState(t, r2, ids), before)
	again := mustRegister(t, r2, reg)
	wantEqual(t, "registration hash after reopening", again.RegistrationHash, first.RegistrationHash)
	_, err = r2.SetExternalRef(t.Context(), "p1", exampleRef())
	wantOK(t, err, "SetExternalRef with the same ref after reopening")
	res := mustAppend(t, r2, "p1", procreg.AppendRequest{EventType: "ping", Payload: raw(`{"msg":"a"}`), ReplayKey: "r1"})
	wantSame(t, "replayed event after reopening", res.Event, replayed.Event)
	if res.WakeDelivery == nil || replayed.WakeDelivery == nil || res.WakeDelivery.WakeID != replayed.WakeDelivery.WakeID {
		t.Errorf("replayed delivery %+v; want the original wake id", res.WakeDelivery)
	}
	next := mustAppend(t, r2, "p1", appendReq(noteType, `{}`))
	wantEqual(t, "next sequence after reopening", next.Event.Sequence, uint64(5))
	wantBusy(t, "claim over a lease held before reopening", mustClaim(t, r2, "leased", selfOwner(t, "other"), time.Minute), held)
	l := mustAcquire(t, r2, "p1", selfOwner(t, "w3"), time.Minute)
	wantEqual(t, "fencing token after reopening (survives release)", l.FencingToken, uint64(3))
}

func testConcurrentRegister(t *testing.T, open Opener) {
	rs := openMany(t, open, 4)
	reg := eventReg("p1")
	recs := make([]procreg.Record, len(rs))
	errs := make([]error, len(rs))
	parallel(len(rs), func(i int) { recs[i], errs[i] = rs[i].RegisterProcess(t.Context(), reg) })
	for i, err := range errs {
		wantOK(t, err, "concurrent RegisterProcess "+itoa(i))
	}
	for i := 1; i < len(recs); i++ {
		wantSame(t, "record of concurrent registration "+itoa(i), recs[i], recs[0])
	}
	out := outputs()["process.completed"]
	parallel(len(rs), func(i int) { recs[i], errs[i] = rs[i].CompleteProcess(t.Context(), "p1", out) })
	for i, err := range errs {
		wantOK(t, err, "concurrent identical CompleteProcess "+itoa(i))
	}
	for i := 1; i < len(recs); i++ {
		wantSame(t, "record of concurrent completion "+itoa(i), recs[i], recs[0])
	}
	wantSeqs(t, "events after concurrent identical completions", mustEvents(t, rs[0], "p1", 0), 1)
}

// parallel runs fn(0..n-1) in n goroutines released at the same moment.
func parallel(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func testConcurrentAppends(t *testing.T, open Opener) {
	concurrentAppends(t, openMany(t, open, 4), 25)
}

// concurrentAppends appends each events from every registry (one goroutine
// per registry; the same registry may be listed several times) to one
// process at the same time, then checks the log is gap-free with every
// append stored exactly once.
func concurrentAppends(t *testing.T, rs []procreg.Registry, each int) {
	t.Helper()
	writers := len(rs)
	mustRegister(t, rs[0], eventReg("p1"))
	errs := make([]error, writers)
	parallel(writers, func(w int) {
		for n := range each {
			if _, err := rs[w].AppendEvent(t.Context(), "p1", appendReq(noteType, `{"w":`+itoa(w)+`,"n":`+itoa(n)+`}`)); err != nil {
				errs[w] = err
				return
			}
		}
	})
	for w, err := range errs {
		wantOK(t, err, "concurrent AppendEvent by writer "+itoa(w))
	}
	evs := mustEvents(t, rs[0], "p1", 0)
	if len(evs) != writers*each {
		t.Fatalf("events = %d; want %d (no lost or duplicated appends)", len(evs), writers*each)
	}
	seen := map[string]bool{}
	for i, ev := range evs {
		if ev.Sequence != uint64(i+1) {
			t.Fatalf("event %d has sequence %d; want %d (gap-free, ascending)", i, ev.Sequence, i+1)
		}
		key := string(meaningKey(t, ev.Payload))
		if seen[key] {
			t.Errorf("payload %s stored twice; want each append once", ev.Payload)
		}
		seen[key] = true
	}
}

// meaningKey is a canonical text of a JSON value, for use as a map key.
func meaningKey(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(meaning(t, v))
	if err != nil {
		t.Fatalf("encoding %v: %v", v, err)
	}
	return b
}

func testClaimRaceAcross(t *testing.T, open Opener) {
	rs := openMany(t, open, 4)
	for i := range 5 {
		id := "race-" + itoa(i)
		mustRegister(t, rs[0], toolReg(id))
		var fns []func(ctx context.Context) (procreg.LeaseClaim, error)
		for j, r := range rs {
			o := selfOwner(t, "w"+itoa(j))
			fns = append(fns, func(ctx context.Context) (procreg.LeaseClaim, error) {
				return r.ClaimProcessLease(ctx, id, o, time.Minute)
			})
		}
		w := wantOneWinner(t, "claims of "+id+" from four registries", raceClaims(t, fns))
		wantEqual(t, "winner's fencing token", w.FencingToken, uint64(1))
	}
}

func testReclaimRaceAcross(t *testing.T, open Opener) {
	rs := openMany(t, open, 2)
	for i := range 5 {
		id := "race-" + itoa(i)
		mustRegister(t, rs[0], toolReg(id))
		held := mustAcquire(t, rs[0], id, deadOwner(t, "dead"), time.Hour)
		var fns []func(ctx context.Context) (procreg.LeaseClaim, error)
		for j, r := range rs {
			o := selfOwner(t, "w"+itoa(j))
			fns = append(fns, func(ctx context.Context) (procreg.LeaseClaim, error) {
				return r.ReclaimProcessLease(ctx, id, o, held, time.Minute)
			})
		}
		w := wantOneWinner(t, "reclaims of "+id+" from two registries", raceClaims(t, fns))
		wantEqual(t, "winner's fencing token", w.FencingToken, uint64(2))
		wantSame(t, "stored lease after the race", mustLease(t, rs[1], id), &w)
	}
}

func testLeaseMutualExclusion(t *testing.T, open Opener) {
	const workers, rounds = 16, 4
	rs := openMany(t, open, 4)
	mustRegister(t, rs[0], toolReg("p1"))
	var inside atomic.Int32 // holders currently in the critical section
	var last atomic.Uint64  // fencing token of the latest holder
	var overlaps, regressions atomic.Int32
	deadline := time.Now().Add(30 * time.Second)
	errs := make([]error, workers)
	done := make([]int, workers)
	parallel(workers, func(w int) {
		r := rs[w%len(rs)]
		o := selfOwner(t, "w"+itoa(w))
		for done[w] < rounds && time.Now().Before(deadline) {
			c, err := r.ClaimProcessLease(t.Context(), "p1", o, time.Minute)
			if err != nil {
				errs[w] = err
				return
			}
			if !c.Acquired {
				time.Sleep(time.Millisecond)
				continue
			}
			if inside.Add(1) != 1 {
				overlaps.Add(1)
			}
			if c.Lease.FencingToken <= last.Load() {
				regressions.Add(1)
			}
			last.Store(c.Lease.FencingToken)
			time.Sleep(200 * time.Microsecond) // hold the lease for a moment
			inside.Add(-1)
			if err := r.CompleteProcessLease(t.Context(), procreg.LeaseCompletion{ProcessID: "p1", Token: c.Lease.Token}); err != nil {
				errs[w] = err
				return
			}
			done[w]++
		}
	})
	for w, err := range errs {
		wantOK(t, err, "worker "+itoa(w))
	}
	for w, n := range done {
		if n != rounds {
			t.Errorf("worker %d held the lease %d times before the deadline; want %d", w, n, rounds)
		}
	}
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d claims acquired a lease another worker still held; want mutual exclusion", n)
	}
	if n := regressions.Load(); n != 0 {
		t.Errorf("%d fencing tokens did not grow; want strictly increasing tokens", n)
	}
	wantEqual(t, "last fencing token", last.Load(), uint64(workers*rounds))
	if l := mustLease(t, rs[0], "p1"); l != nil {
		t.Errorf("lease after every worker released = %+v; want nil", l)
	}
}
