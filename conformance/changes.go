package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// The change feed (ProcessesChangedSince). A store may serve a committed
// change only once it can place it for good (PostgreSQL waits for its
// visibility horizon, which any transaction on the server holds back), so
// these rules never expect a change on the next read: a follower writes a
// barrier (a fresh process registered after the writes it waits for) and
// reads until the barrier comes. Whatever committed before the barrier
// was written must have been served by then, and what was not served by
// then (a lease claim, an unchanged record) is not in the feed.

func changeRules() []rule {
	return []rule{
		{"FromTheBeginning", testChangesFromBeginning},
		{"ChangeAfterCursor", testChangeAfterCursor},
		{"LeasesAreNotChanges", testLeasesAreNotChanges},
		{"PrunedLeave", testChangesPruned},
		{"LimitAndPages", testChangesLimit},
		{"InvalidCursors", testChangesInvalidCursors},
	}
}

// ChangeFollower reads a registry's change feed as a client would: from
// Cursor ("" = the beginning), Limit records a page, keeping the latest
// record it saw of each process. Backends use it in their own feed tests
// (several OS processes, forced commit orders).
type ChangeFollower struct {
	R      procreg.Registry
	Cursor string
	Limit  int
	// Latest is the last record the feed returned of each process.
	Latest map[string]procreg.Record

	barriers int
}

// NewChangeFollower follows r from the beginning, limit records a page.
func NewChangeFollower(r procreg.Registry, limit int) *ChangeFollower {
	return &ChangeFollower{R: r, Limit: limit, Latest: map[string]procreg.Record{}}
}

// Poll reads one page, records it and moves the cursor to its Next.
func (f *ChangeFollower) Poll(t testing.TB) []procreg.Record {
	t.Helper()
	recs, err := f.PollErr(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// PollErr is Poll for a goroutine other than the test's: it reports what
// went wrong instead of failing the test.
func (f *ChangeFollower) PollErr(ctx context.Context) ([]procreg.Record, error) {
	page, err := f.R.ProcessesChangedSince(ctx, f.Cursor, f.Limit)
	switch {
	case err != nil:
		return nil, fmt.Errorf("ProcessesChangedSince(limit %d): %w; want success", f.Limit, err)
	case page.Next == "":
		return nil, fmt.Errorf("ProcessesChangedSince returned Next \"\"; want a cursor to poll with")
	case len(page.Records) > f.Limit:
		return nil, fmt.Errorf("ProcessesChangedSince(limit %d) returned %d records", f.Limit, len(page.Records))
	}
	for _, rec := range page.Records {
		f.Latest[rec.ID] = rec
	}
	f.Cursor = page.Next
	return page.Records, nil
}

// syncDeadline bounds how long Sync waits for its barrier: a store may hold
// changes back while other transactions run (PostgreSQL's horizon), and
// the test servers are shared.
const syncDeadline = 3 * time.Minute

// Sync registers a barrier process through w, then polls until the feed
// returns it, and returns every record served meanwhile except barriers.
// Every change committed before Sync was called has been served when it
// returns.
func (f *ChangeFollower) Sync(t testing.TB, w procreg.Registry) []procreg.Record {
	t.Helper()
	f.barriers++
	id := fmt.Sprintf("~barrier-%p-%d", f, f.barriers)
	if _, err := w.RegisterProcess(t.Context(), toolReg(id)); err != nil {
		t.Fatalf("RegisterProcess(barrier %q): %v", id, err)
	}
	var out []procreg.Record
	deadline := time.Now().Add(syncDeadline)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		found := false
		for _, rec := range f.Poll(t) {
			switch {
			case rec.ID == id:
				found = true
			case !isBarrier(rec.ID):
				out = append(out, rec)
			}
		}
		if found {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change feed did not return barrier %q within %v of its registration", id, syncDeadline)
		}
		time.Sleep(wait)
	}
}

func isBarrier(id string) bool { return len(id) > 9 && id[:9] == "~barrier-" }

// WantCurrent fails unless Latest holds exactly the current record of every
// process in r: nothing committed was skipped, nothing pruned remains.
func (f *ChangeFollower) WantCurrent(t testing.TB, r procreg.Registry) {
	t.Helper()
	recs, err := r.ListProcesses(t.Context(), procreg.ListFilter{Status: procreg.StatusAny})
	if err != nil {
		t.Fatalf("ListProcesses(any): %v", err)
	}
	current := map[string]procreg.Record{}
	for _, rec := range recs {
		current[rec.ID] = rec
	}
	bad := 0
	for id, want := range current {
		got, ok := f.Latest[id]
		switch {
		case !ok:
			t.Errorf("the feed never returned process %q (want its current record)", id)
			bad++
		case !sameMeaningTB(t, got, want):
			t.Errorf("the feed's latest record of %q is stale:\n got %+v\nwant %+v", id, got, want)
			bad++
		}
		if bad > 5 {
			t.Fatalf("more differences left out")
		}
	}
}

// sameMeaningTB is sameMeaning for any testing.TB.
func sameMeaningTB(t testing.TB, a, b any) bool {
	if tt, ok := t.(*testing.T); ok {
		return sameMeaning(tt, a, b)
	}
	return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}

// changedIDs lists the ids of recs in order.
func changedIDs(recs []procreg.Record) []string { return recordIDs(recs) }

func testChangesFromBeginning(t *testing.T, r procreg.Registry) {
	for _, id := range []string{"c", "a", "b"} {
		mustRegister(t, r, eventReg(id))
	}
	appendNotes(t, r, "b", 2)
	f := NewChangeFollower(r, 100)
	seen := f.Sync(t, r)
	got := map[string]bool{}
	for _, rec := range seen {
		got[rec.ID] = true
	}
	for _, id := range []string{"a", "b", "c"} {
		if !got[id] {
			t.Errorf("feed from the beginning lacks %q (saw %v); want every registered process", id, changedIDs(seen))
		}
		wantSame(t, "feed's latest record of "+id, f.Latest[id], mustGet(t, r, id))
	}
	if len(seen) != 3 {
		t.Errorf("feed from the beginning = %v; want a, b and c once each (no change after the first read)", changedIDs(seen))
	}
}

func testChangeAfterCursor(t *testing.T, r procreg.Registry) {
	for _, id := range []string{"a", "b", "c"} {
		mustRegister(t, r, eventReg(id))
	}
	f := NewChangeFollower(r, 100)
	f.Sync(t, r)

	// Writes that change nothing are not changes.
	mustRegister(t, r, eventReg("a"))
	_, err := r.ClearProcessWait(t.Context(), "c")
	wantOK(t, err, "ClearProcessWait without a wait")
	wantStrings(t, "changes after writes that change nothing", changedIDs(f.Sync(t, r)))

	appendNotes(t, r, "b", 1)
	_, err = r.SetProcessWait(t.Context(), "a", exampleWait())
	wantOK(t, err, "SetProcessWait")
	seen := f.Sync(t, r)
	wantStrings(t, "changes after an append to b and a wait on a", changedIDs(seen), "b", "a")
	wantSame(t, "feed's record of a", f.Latest["a"], mustGet(t, r, "a"))
	wantSame(t, "feed's record of b", f.Latest["b"], mustGet(t, r, "b"))

	// Every kind of record change moves the record.
	steps := []struct {
		what string
		do   func() error
	}{
		{"SetExternalRef", func() error { _, err := r.SetExternalRef(t.Context(), "c", exampleRef()); return err }},
		{"RecordFirstStarted", func() error {
			_, err := r.RecordFirstStarted(t.Context(), "c", procreg.Started{Owner: selfOwner(t, "w"), At: time.Now()})
			return err
		}},
		{"RequestProcessAbandon", func() error {
			_, err := r.RequestProcessAbandon(t.Context(), "c", procreg.AbandonRequest{RequestedBy: "op", RequestedAt: time.Now(), Reason: "r"})
			return err
		}},
		{"ClearProcessWait", func() error { _, err := r.ClearProcessWait(t.Context(), "a"); return err }},
		{"CompleteProcess", func() error { _, err := r.CompleteProcess(t.Context(), "c", success(`"ok"`)); return err }},
	}
	for _, s := range steps {
		wantOK(t, s.do(), s.what)
		seen := f.Sync(t, r)
		if len(seen) != 1 {
			t.Errorf("changes after %s = %v; want exactly the changed process", s.what, changedIDs(seen))
		}
	}
	f.WantCurrent(t, r)
}

func testLeasesAreNotChanges(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("a"))
	f := NewChangeFollower(r, 100)
	f.Sync(t, r)
	before := f.Latest["a"]
	l := mustAcquire(t, r, "a", selfOwner(t, "w1"), time.Minute)
	_, err := r.RenewProcessLease(t.Context(), l, time.Hour)
	wantOK(t, err, "RenewProcessLease")
	wantStrings(t, "changes after a lease claim and renewal", changedIDs(f.Sync(t, r)))
	wantOK(t, r.CompleteProcessLease(t.Context(), procreg.LeaseCompletion{ProcessID: "a", Token: l.Token}), "CompleteProcessLease")
	mustAcquire(t, r, "a", selfOwner(t, "w2"), time.Minute)
	wantStrings(t, "changes after a lease release and a new claim", changedIDs(f.Sync(t, r)))
	wantSame(t, "record after lease writes", mustGet(t, r, "a"), before)
	// A record change under a lease is a change.
	appendNotes(t, r, "a", 1)
	wantStrings(t, "changes after an append under a lease", changedIDs(f.Sync(t, r)), "a")
}

func testChangesPruned(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("a"))
	mustRegister(t, r, eventReg("b"))
	mustRegister(t, r, eventReg("z"))
	mustComplete(t, r, "b", success(`1`))
	f := NewChangeFollower(r, 100)
	f.Sync(t, r)
	mustComplete(t, r, "z", success(`1`)) // z holds the newest position
	f.waitFor(t, "z", func(rec procreg.Record) bool { return rec.Status.State != procreg.StateRunning })
	mustPrune(t, r, farFuture)
	// Pruning the newest change must not hand its position out again: a
	// change after the follower's cursor (at z) is still after it.
	appendNotes(t, r, "a", 1)
	wantStrings(t, "changes after pruning the newest and appending to a", changedIDs(f.Sync(t, r)), "a")
	// A follower from the beginning no longer sees the pruned records.
	fresh := NewChangeFollower(r, 100)
	for _, rec := range fresh.Sync(t, r) {
		if rec.ID == "b" || rec.ID == "z" {
			t.Errorf("feed from the beginning returns pruned process %q", rec.ID)
		}
	}
	// A pruned id registered anew is a new record in the feed.
	mustRegister(t, r, eventReg("b"))
	wantStrings(t, "changes after registering a pruned id again", changedIDs(f.Sync(t, r)), "b")
	fresh = NewChangeFollower(r, 100)
	wantStrings(t, "processes in a fresh feed", changedIDs(fresh.Sync(t, r)), "a", "b")
}

// waitFor polls until the feed returns a record of id that satisfies ok.
func (f *ChangeFollower) waitFor(t *testing.T, id string, ok func(procreg.Record) bool) {
	t.Helper()
	deadline := time.Now().Add(syncDeadline)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		for _, rec := range f.Poll(t) {
			if rec.ID == id && ok(rec) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change feed did not return the change of %q within %v", id, syncDeadline)
		}
		time.Sleep(wait)
	}
}

func testChangesLimit(t *testing.T, r procreg.Registry) {
	for _, limit := range []int{0, -1, 10001} {
		_, err := r.ProcessesChangedSince(t.Context(), "", limit)
		wantErr(t, err, procreg.ErrInvalid, "", fmt.Sprintf("ProcessesChangedSince with limit %d", limit))
	}
	page, err := r.ProcessesChangedSince(t.Context(), "", 10000)
	wantOK(t, err, "ProcessesChangedSince(limit 10000) on an empty registry")
	if len(page.Records) != 0 || page.Next == "" {
		t.Errorf("empty registry: page %+v; want no records and a cursor to poll with", page)
	}
	// Polling an empty page keeps the place.
	again, err := r.ProcessesChangedSince(t.Context(), page.Next, 5)
	wantOK(t, err, "ProcessesChangedSince with an empty page's Next")
	if len(again.Records) != 0 || again.Next == "" {
		t.Errorf("after an empty page: %+v; want no records and a cursor", again)
	}
	var ids []string
	for i := range 7 {
		id := "p" + itoa(i)
		ids = append(ids, id)
		mustRegister(t, r, eventReg(id))
	}
	f := NewChangeFollower(r, 3)
	f.Cursor = again.Next
	seen := f.Sync(t, r)
	wantStrings(t, "records over pages of 3", changedIDs(seen), ids...)
	// Limit 1 walks the same records one at a time.
	one := NewChangeFollower(r, 1)
	one.Cursor = again.Next
	wantStrings(t, "records over pages of 1", changedIDs(one.Sync(t, r)), ids...)
}

// testChangesForeignCursor: a cursor of another registry (database) is
// ErrInvalid, though it would decode into a valid position.
func testChangesForeignCursor(t *testing.T, r, other procreg.Registry) {
	mustRegister(t, other, eventReg("a"))
	foreign, err := other.ProcessesChangedSince(t.Context(), "", 1)
	wantOK(t, err, "ProcessesChangedSince on another registry")
	_, err = r.ProcessesChangedSince(t.Context(), foreign.Next, 10)
	if !errors.Is(err, procreg.ErrInvalid) {
		t.Errorf("ProcessesChangedSince with another registry's cursor: %v; want ErrInvalid", err)
	}
}

func testChangesInvalidCursors(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("a"))
	page, err := r.ProcessesChangedSince(t.Context(), "", 1)
	wantOK(t, err, "ProcessesChangedSince")
	for _, c := range []struct{ what, cursor string }{
		{"garbage", "not a cursor"},
		{"truncated", page.Next[:len(page.Next)-1]},
		{"altered", page.Next[:len(page.Next)-2] + flip(page.Next[len(page.Next)-2]) + page.Next[len(page.Next)-1:]},
	} {
		_, err := r.ProcessesChangedSince(t.Context(), c.cursor, 10)
		if !errors.Is(err, procreg.ErrInvalid) {
			t.Errorf("ProcessesChangedSince with a %s cursor: %v; want ErrInvalid", c.what, err)
		}
	}
	_, err = r.ProcessesChangedSince(t.Context(), page.Next, 10)
	wantOK(t, err, "ProcessesChangedSince with its own cursor")
}

// flip returns another base64url character than c.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// testChangeFeedRacingWriters: writers on several registries (connections)
// change records concurrently while a follower on another polls; after the
// writers stop and a barrier comes, the follower's latest record of every
// process is its final state, so no committed change was skipped however
// the transactions' commits interleaved.
func testChangeFeedRacingWriters(t *testing.T, open Opener) {
	rs := openMany(t, open, 5)
	follower, writers := rs[0], rs[1:]
	const procs, each = 12, 30
	for i := range procs {
		mustRegister(t, writers[0], eventReg("p"+itoa(i)))
	}
	f := NewChangeFollower(follower, 7)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	polls := 0
	var pollErr error
	go func() {
		defer wg.Done()
		for !stop.Load() && pollErr == nil {
			_, pollErr = f.PollErr(t.Context())
			polls++
		}
	}()
	errs := make([]error, len(writers))
	parallel(len(writers), func(w int) {
		r := writers[w]
		for n := range each {
			id := "p" + itoa((w*7+n*5)%procs)
			var err error
			switch n % 5 {
			case 0, 1, 2:
				_, err = r.AppendEvent(t.Context(), id, appendReq(noteType, `{"w":`+itoa(w)+`,"n":`+itoa(n)+`}`))
			case 3:
				ws := exampleWait()
				ws.Ordinal = uint64(n)
				_, err = r.SetProcessWait(t.Context(), id, ws)
				if errors.Is(err, procreg.ErrTerminal) {
					err = nil
				}
			case 4:
				var c procreg.LeaseClaim
				c, err = r.ClaimProcessLease(t.Context(), id, selfOwner(t, "w"+itoa(w)), time.Minute)
				if errors.Is(err, procreg.ErrTerminal) {
					err = nil
				} else if err == nil && c.Acquired {
					err = r.CompleteProcessLease(t.Context(), procreg.LeaseCompletion{ProcessID: id, Token: c.Lease.Token})
				}
			}
			if err != nil {
				errs[w] = fmt.Errorf("writer %d step %d on %s: %w", w, n, id, err)
				return
			}
		}
	})
	stop.Store(true)
	wg.Wait()
	wantOK(t, pollErr, "polling the feed during the writes")
	for _, err := range errs {
		wantOK(t, err, "racing write")
	}
	f.Sync(t, writers[0])
	f.WantCurrent(t, writers[0])
	t.Logf("follower polled %d pages while %d writers wrote", polls, len(writers))
}
