package conformance

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// The batch methods of SPEC §10: RegisterProcesses and ClaimNext.
func batchRules() []rule {
	return []rule{
		{"RegisterInInputOrder", testRegisterBatchOrder},
		{"RegisterEmpty", testRegisterBatchEmpty},
		{"RegisterValidationNamesIndex", testRegisterBatchValidation},
		{"RegisterConflictWritesNothing", testRegisterBatchConflict},
		{"RegisterDuplicateIDs", testRegisterBatchDuplicates},
		{"ClaimValidation", testClaimNextValidation},
		{"ClaimSkipsWhatNoWorkerMayRun", testClaimNextSkips},
		{"ClaimExpiredLease", testClaimNextExpired},
		{"ClaimFilters", testClaimNextFilters},
		{"ClaimIDOrderAndLimit", testClaimNextOrder},
		{"ClaimedLeasesAreLive", testClaimNextLeasesLive},
		{"ClaimsAreNotChanges", testClaimNextNotChanges},
		{"ConcurrentWorkers", func(t *testing.T, r procreg.Registry) {
			claimWorkers(t, []procreg.Registry{r, r, r, r, r, r})
		}},
	}
}

// mustRegisterAll registers regs in one batch and fails the test on error.
func mustRegisterAll(t *testing.T, r procreg.Registry, regs ...procreg.Registration) []procreg.Record {
	t.Helper()
	recs, err := r.RegisterProcesses(t.Context(), regs)
	if err != nil {
		t.Fatalf("RegisterProcesses(%d registrations): %v; want success", len(regs), err)
	}
	if len(recs) != len(regs) {
		t.Fatalf("RegisterProcesses(%d registrations) returned %d records; want one per registration", len(regs), len(recs))
	}
	return recs
}

// mustClaimNext claims a batch and fails the test on error.
func mustClaimNext(t *testing.T, r procreg.Registry, o procreg.LeaseOwner, ttl time.Duration, f procreg.ListFilter, limit int) []procreg.Claimed {
	t.Helper()
	got, err := r.ClaimNext(t.Context(), o, ttl, f, limit)
	if err != nil {
		t.Fatalf("ClaimNext(%s, limit %d): %v; want success", o.OwnerID, limit, err)
	}
	if got == nil {
		t.Fatalf("ClaimNext(%s, limit %d) returned nil; want a slice, empty when nothing is claimable", o.OwnerID, limit)
	}
	return got
}

// claimedIDs lists the process ids of a batch claim, in order.
func claimedIDs(cs []procreg.Claimed) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Record.ID)
	}
	return out
}

// withDisposition is reg with another disposition.
func withDisposition(reg procreg.Registration, d procreg.Disposition) procreg.Registration {
	reg.Disposition = d
	return reg
}

// wantMessage checks that err's message contains every part.
func wantMessage(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v does not say %q", what, err, p)
		}
	}
}

// wantUnregistered checks that none of ids is registered.
func wantUnregistered(t *testing.T, r procreg.Registry, what string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := r.GetProcess(t.Context(), id); err == nil {
			t.Errorf("%s: process %q is registered; want nothing written", what, id)
		}
	}
}

func testRegisterBatchOrder(t *testing.T, r procreg.Registry) {
	before := mustRegister(t, r, toolReg("m"))
	pause()
	regs := []procreg.Registration{toolReg("z"), toolReg("m"), toolReg("a", eventType(noteType)), toolReg("k")}
	recs := mustRegisterAll(t, r, regs...)
	wantStrings(t, "ids of the records", recordIDs(recs), "z", "m", "a", "k")
	wantSame(t, "record of the already registered process", recs[1], before)
	for i, rec := range recs {
		wantSame(t, "record "+itoa(i)+" against GetProcess", rec, mustGet(t, r, rec.ID))
		wantEqual(t, "state of record "+itoa(i), rec.Status.State, procreg.StateRunning)
		wantTime(t, "CreatedAt of record "+itoa(i), rec.CreatedAt)
	}
	again := mustRegisterAll(t, r, regs...)
	wantSame(t, "the same batch again (idempotent)", again, recs)
}

func testRegisterBatchEmpty(t *testing.T, r procreg.Registry) {
	for _, regs := range [][]procreg.Registration{nil, {}} {
		recs, err := r.RegisterProcesses(t.Context(), regs)
		wantOK(t, err, "RegisterProcesses of no registrations")
		if recs == nil || len(recs) != 0 {
			t.Errorf("RegisterProcesses of no registrations = %#v; want an empty, non-nil slice", recs)
		}
	}
}

func testRegisterBatchValidation(t *testing.T, r procreg.Registry) {
	bad := toolReg("bad")
	bad.Disposition = ""
	_, err := r.RegisterProcesses(t.Context(), []procreg.Registration{toolReg("a"), toolReg("b"), bad, toolReg("c")})
	wantErr(t, err, procreg.ErrInvalid, "bad", "RegisterProcesses with an invalid registration at index 2")
	wantMessage(t, "invalid registration at index 2", err, "registration 2")
	wantUnregistered(t, r, "a batch with an invalid registration", "a", "b", "bad", "c")

	blank := toolReg(" ")
	_, err = r.RegisterProcesses(t.Context(), []procreg.Registration{blank})
	wantErr(t, err, procreg.ErrInvalid, "", "RegisterProcesses with a blank id")
	wantMessage(t, "blank id at index 0", err, "registration 0")

	many := make([]procreg.Registration, procreg.MaxBatch+1)
	for i := range many {
		many[i] = toolReg("p" + itoa(i))
	}
	_, err = r.RegisterProcesses(t.Context(), many)
	wantErr(t, err, procreg.ErrInvalid, "", "RegisterProcesses of MaxBatch+1 registrations")
	wantUnregistered(t, r, "an oversized batch", "p0", "p1000")
	recs := mustRegisterAll(t, r, many[:procreg.MaxBatch]...)
	wantEqual(t, "records of a batch of MaxBatch", len(recs), procreg.MaxBatch)
}

func testRegisterBatchConflict(t *testing.T, r procreg.Registry) {
	stored := mustRegister(t, r, toolReg("p1"))
	other := toolReg("p1")
	other.EnvRef = "env:2"
	_, err := r.RegisterProcesses(t.Context(), []procreg.Registration{toolReg("new1"), other, toolReg("new2")})
	wantErr(t, err, procreg.ErrRegistrationConflict, "p1", "RegisterProcesses with another spec for a registered id")
	wantMessage(t, "conflict at index 1", err, "registration 1")
	wantUnregistered(t, r, "a batch refused for a conflict", "new1", "new2")
	wantSame(t, "the stored record after the refused batch", mustGet(t, r, "p1"), stored)
}

func testRegisterBatchDuplicates(t *testing.T, r procreg.Registry) {
	recs := mustRegisterAll(t, r, toolReg("a"), toolReg("b"), toolReg("a"))
	wantSame(t, "records of the same id given twice with the same spec", recs[2], recs[0])

	other := toolReg("c")
	other.EnvRef = "env:2"
	_, err := r.RegisterProcesses(t.Context(), []procreg.Registration{toolReg("d"), toolReg("c"), other})
	wantErr(t, err, procreg.ErrRegistrationConflict, "c", "RegisterProcesses with one id twice, different specs")
	wantMessage(t, "duplicate id at indexes 1 and 2", err, "registrations 1 and 2")
	wantUnregistered(t, r, "a batch with one id twice, different specs", "c", "d")
}

func testClaimNextValidation(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	me := selfOwner(t, "w")
	cases := map[string]func(ctx context.Context) error{
		"limit 0": func(ctx context.Context) error {
			_, err := r.ClaimNext(ctx, me, time.Minute, procreg.ListFilter{}, 0)
			return err
		},
		"limit MaxBatch+1": func(ctx context.Context) error {
			_, err := r.ClaimNext(ctx, me, time.Minute, procreg.ListFilter{}, procreg.MaxBatch+1)
			return err
		},
		"status completed": func(ctx context.Context) error {
			_, err := r.ClaimNext(ctx, me, time.Minute, procreg.ListFilter{Status: procreg.StatusCompleted}, 1)
			return err
		},
		"status any": func(ctx context.Context) error {
			_, err := r.ClaimNext(ctx, me, time.Minute, procreg.ListFilter{Status: procreg.StatusAny}, 1)
			return err
		},
		"unknown status": func(ctx context.Context) error {
			_, err := r.ClaimNext(ctx, me, time.Minute, procreg.ListFilter{Status: "later"}, 1)
			return err
		},
		"malformed definition": func(ctx context.Context) error {
			_, err := r.ClaimNext(ctx, me, time.Minute, procreg.ListFilter{Definition: raw(`{`)}, 1)
			return err
		},
		"empty owner id": func(ctx context.Context) error {
			_, err := r.ClaimNext(ctx, procreg.LeaseOwner{IncarnationID: "i"}, time.Minute, procreg.ListFilter{}, 1)
			return err
		},
		"negative ttl": func(ctx context.Context) error {
			_, err := r.ClaimNext(ctx, me, -time.Second, procreg.ListFilter{}, 1)
			return err
		},
	}
	wantRejected(t, r, "", cases)
	wantStrings(t, "status running is accepted", claimedIDs(mustClaimNext(t, r, me, time.Minute, procreg.ListFilter{Status: procreg.StatusRunning}, 1)), "p1")
}

func testClaimNextSkips(t *testing.T, r procreg.Registry) {
	other := selfOwner(t, "other")
	me := selfOwner(t, "me")
	mustRegisterAll(t, r,
		withDisposition(toolReg("a-external"), procreg.DispositionExternallyOwned),
		withDisposition(toolReg("b-started"), procreg.DispositionOwnerBound),
		withDisposition(toolReg("c-fresh"), procreg.DispositionOwnerBound),
		toolReg("d-completed"), toolReg("e-live"), toolReg("f-mine"), toolReg("g-free"), toolReg("h-released"),
	)
	_, err := r.RecordFirstStarted(t.Context(), "b-started", procreg.Started{Owner: other, At: time.Now()})
	wantOK(t, err, "RecordFirstStarted")
	mustComplete(t, r, "d-completed", success(`1`))
	live := mustAcquire(t, r, "e-live", other, time.Hour)
	mine := mustAcquire(t, r, "f-mine", me, time.Hour)
	released := mustAcquire(t, r, "h-released", other, time.Hour)
	wantOK(t, r.CompleteProcessLease(t.Context(), procreg.LeaseCompletion{ProcessID: "h-released", Token: released.Token}), "release")

	got := mustClaimNext(t, r, me, time.Minute, procreg.ListFilter{}, 100)
	wantStrings(t, "claimed: owner-bound not started, free, released", claimedIDs(got), "c-fresh", "g-free", "h-released")
	wantEqual(t, "fencing token after a released lease", got[2].Lease.FencingToken, released.FencingToken+1)
	wantSame(t, "live lease of another owner after ClaimNext", mustLease(t, r, "e-live"), &live)
	wantSame(t, "the claimant's own live lease after ClaimNext", mustLease(t, r, "f-mine"), &mine)
	for _, id := range []string{"a-external", "b-started", "d-completed"} {
		if l := mustLease(t, r, id); l != nil {
			t.Errorf("%s was leased (%+v); ClaimNext never leases it", id, l)
		}
	}
	wantStrings(t, "a second ClaimNext finds nothing left", claimedIDs(mustClaimNext(t, r, other, time.Minute, procreg.ListFilter{}, 100)))
}

func testClaimNextExpired(t *testing.T, r procreg.Registry) {
	mustRegisterAll(t, r, toolReg("p1"), toolReg("p2"))
	short := mustAcquire(t, r, "p1", selfOwner(t, "w1"), 30*time.Millisecond)
	zero := mustAcquire(t, r, "p2", selfOwner(t, "w1"), 0)
	time.Sleep(80 * time.Millisecond)
	got := mustClaimNext(t, r, selfOwner(t, "w2"), time.Minute, procreg.ListFilter{}, 10)
	wantStrings(t, "claimed over expired leases", claimedIDs(got), "p1", "p2")
	wantEqual(t, "fencing token over an expired lease", got[0].Lease.FencingToken, short.FencingToken+1)
	wantEqual(t, "fencing token over a ttl-0 lease", got[1].Lease.FencingToken, zero.FencingToken+1)
	refusedWrites(t, r, short, "under the expired lease ClaimNext took over")
	wantStrings(t, "nothing left to claim", claimedIDs(mustClaimNext(t, r, selfOwner(t, "w1"), time.Minute, procreg.ListFilter{}, 10)))
}

func testClaimNextFilters(t *testing.T, r procreg.Registry) {
	build := func(id string) procreg.Registration {
		reg := toolReg(id)
		reg.Identity = procreg.Identity{Kind: "job", Definition: raw(`{"name":"build","params":{"x":1}}`)}
		return reg
	}
	mustRegisterAll(t, r, build("a"), build("b"), toolReg("c"), toolReg("d"), build("e"))
	_, err := r.SetProcessWait(t.Context(), "b", exampleWait())
	wantOK(t, err, "SetProcessWait(b)")
	_, err = r.SetProcessWait(t.Context(), "d", exampleWait())
	wantOK(t, err, "SetProcessWait(d)")
	byMeaning := procreg.ListFilter{Definition: raw("{ \"params\": {\"x\": 1}, \"name\": \"build\" }")}

	notWaiting := byMeaning
	notWaiting.Waiting = boolPtr(false)
	wantStrings(t, "definition, not waiting", claimedIDs(mustClaimNext(t, r, selfOwner(t, "w1"), time.Minute, notWaiting, 10)), "a", "e")
	wantStrings(t, "waiting", claimedIDs(mustClaimNext(t, r, selfOwner(t, "w2"), time.Minute, procreg.ListFilter{Waiting: boolPtr(true)}, 10)), "b", "d")
	wantStrings(t, "another definition", claimedIDs(mustClaimNext(t, r, selfOwner(t, "w3"), time.Minute, procreg.ListFilter{Definition: raw(`{"name":"test"}`)}, 10)))
	wantStrings(t, "the definition (the rest)", claimedIDs(mustClaimNext(t, r, selfOwner(t, "w3"), time.Minute, byMeaning, 10)))
	wantStrings(t, "no filter (the rest)", claimedIDs(mustClaimNext(t, r, selfOwner(t, "w3"), time.Minute, procreg.ListFilter{}, 10)), "c")
}

func testClaimNextOrder(t *testing.T, r procreg.Registry) {
	// Registered out of order, with ids whose byte order differs from a
	// collation's: upper case before lower case, "é" after "z".
	mustRegisterAll(t, r, toolReg("b"), toolReg("é"), toolReg("B"), toolReg("a"), toolReg("z"), toolReg("a1"))
	me := selfOwner(t, "w")
	wantStrings(t, "first 2", claimedIDs(mustClaimNext(t, r, me, time.Minute, procreg.ListFilter{}, 2)), "B", "a")
	wantStrings(t, "next 3", claimedIDs(mustClaimNext(t, r, me, time.Minute, procreg.ListFilter{}, 3)), "a1", "b", "z")
	wantStrings(t, "last", claimedIDs(mustClaimNext(t, r, me, time.Minute, procreg.ListFilter{}, procreg.MaxBatch)), "é")
	wantStrings(t, "none left", claimedIDs(mustClaimNext(t, r, me, time.Minute, procreg.ListFilter{}, 1)))
}

func testClaimNextLeasesLive(t *testing.T, r procreg.Registry) {
	mustRegisterAll(t, r, toolReg("p1", eventType(noteType)), toolReg("p2", eventType(noteType)))
	regd := mustGet(t, r, "p1")
	me := selfOwner(t, "w")
	got := mustClaimNext(t, r, me, time.Minute, procreg.ListFilter{}, 10)
	wantStrings(t, "claimed", claimedIDs(got), "p1", "p2")
	for _, c := range got {
		id := c.Record.ID
		wantEqual(t, "lease process of "+id, c.Lease.ProcessID, id)
		wantEqual(t, "fencing token of "+id, c.Lease.FencingToken, uint64(1))
		if !c.Lease.Owner.SameIncarnation(me) || c.Lease.Token == "" {
			t.Errorf("%s: lease %+v; want a token of the claimant's incarnation", id, c.Lease)
		}
		wantTime(t, "ClaimedAt of "+id, c.Lease.ClaimedAt)
		if d := c.Lease.ExpiresAt.Sub(c.Lease.ClaimedAt); d != time.Minute {
			t.Errorf("%s: lease for %v; want the ttl, a minute", id, d)
		}
		wantSame(t, "stored lease of "+id, mustLease(t, r, id), &c.Lease)
		wantSame(t, "record of "+id, c.Record, mustGet(t, r, id))
	}
	wantSame(t, "a claim changes no record", got[0].Record, regd)
	wantBusy(t, "a plain claim over a ClaimNext lease", mustClaim(t, r, "p1", selfOwner(t, "other"), time.Minute), got[0].Lease)
	_, err := r.AppendEventWithLease(t.Context(), got[0].Lease, appendReq(noteType, `{"n":1}`))
	wantOK(t, err, "AppendEventWithLease under a ClaimNext lease")
	rec, err := r.CompleteProcessWithLease(t.Context(), got[0].Lease, success(`1`))
	wantOK(t, err, "CompleteProcessWithLease under a ClaimNext lease")
	wantEqual(t, "state after the fenced completion", rec.Status.State, procreg.StateCompleted)
	if l := mustLease(t, r, "p1"); l != nil {
		t.Errorf("lease after CompleteProcessWithLease = %+v; want released", l)
	}
	renewed, err := r.RenewProcessLease(t.Context(), got[1].Lease, time.Hour)
	wantOK(t, err, "RenewProcessLease of a ClaimNext lease")
	wantEqual(t, "fencing token after renewal", renewed.FencingToken, got[1].Lease.FencingToken)
}

func testClaimNextNotChanges(t *testing.T, r procreg.Registry) {
	mustRegisterAll(t, r, eventReg("a"), eventReg("b"))
	f := NewChangeFollower(r, 100)
	f.Sync(t, r)
	got := mustClaimNext(t, r, selfOwner(t, "w"), time.Minute, procreg.ListFilter{}, 10)
	if len(got) < 2 {
		t.Fatalf("ClaimNext claimed %v; want a and b at least", claimedIDs(got))
	}
	wantStrings(t, "changes after a batch claim", changedIDs(f.Sync(t, r)))
}

// claimWorkers runs one worker per registry in rs (a registry may be
// listed several times) over a pool of processes: each claims batches with
// ClaimNext, checks it is the only holder of every process it claimed,
// appends under the lease and then either completes the process under the
// lease or releases it (so it is claimed again later). Together they must
// finish the pool, and no two workers ever hold a live lease of the same
// process at once: every fenced write succeeds.
func claimWorkers(t *testing.T, rs []procreg.Registry) {
	t.Helper()
	const pool, batch = 48, 4
	regs := make([]procreg.Registration, pool)
	for i := range regs {
		regs[i] = toolReg(fmt.Sprintf("job-%03d", i), eventType(noteType))
	}
	mustRegisterAll(t, rs[0], regs...)
	var (
		mu        sync.Mutex
		holder    = map[string]int{} // process → worker holding it now
		claims    = map[string]int{} // process → times claimed
		completed atomic.Int32
		overlaps  atomic.Int32
	)
	deadline := time.Now().Add(2 * time.Minute)
	errs := make([]error, len(rs))
	parallel(len(rs), func(w int) {
		r, o := rs[w], selfOwner(t, "worker-"+itoa(w))
		for n := 0; completed.Load() < pool && time.Now().Before(deadline); n++ {
			got, err := r.ClaimNext(t.Context(), o, time.Minute, procreg.ListFilter{}, batch)
			if err != nil {
				errs[w] = fmt.Errorf("ClaimNext: %w", err)
				return
			}
			if len(got) == 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			mu.Lock()
			for _, c := range got {
				if _, held := holder[c.Record.ID]; held {
					overlaps.Add(1)
				}
				holder[c.Record.ID] = w
				claims[c.Record.ID]++
			}
			mu.Unlock()
			for i, c := range got {
				id := c.Record.ID
				if _, err := r.AppendEventWithLease(t.Context(), c.Lease, appendReq(noteType, `{"w":`+itoa(w)+`}`)); err != nil {
					errs[w] = fmt.Errorf("AppendEventWithLease(%s): %w", id, err)
					return
				}
				mu.Lock()
				delete(holder, id)
				mu.Unlock()
				if (n+i+w)%3 == 0 {
					// Let go without finishing: the process is claimed again.
					if err := r.CompleteProcessLease(t.Context(), procreg.LeaseCompletion{ProcessID: id, Token: c.Lease.Token}); err != nil {
						errs[w] = fmt.Errorf("CompleteProcessLease(%s): %w", id, err)
						return
					}
					continue
				}
				if _, err := r.CompleteProcessWithLease(t.Context(), c.Lease, success(`1`)); err != nil {
					errs[w] = fmt.Errorf("CompleteProcessWithLease(%s): %w", id, err)
					return
				}
				completed.Add(1)
			}
		}
	})
	for w, err := range errs {
		wantOK(t, err, "worker "+itoa(w))
	}
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d claims handed out a process another worker still held; want disjoint batches", n)
	}
	wantEqual(t, "processes completed by the workers", int(completed.Load()), pool)
	left, err := rs[0].ListNonTerminal(t.Context())
	wantOK(t, err, "ListNonTerminal")
	wantStrings(t, "processes left running", recordIDs(left))
	for _, reg := range regs {
		if claims[reg.ID] == 0 {
			t.Errorf("%s was never claimed", reg.ID)
		}
	}
}
