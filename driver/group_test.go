package driver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/driver"
)

// groupStore is a memory store that counts its Write transactions, records
// the process set of every LockProcesses (the group transactions), can hold
// the next Write open until released, and can make the group transactions
// fail in the ways a database can.
type groupStore struct {
	driver.Store
	class driver.ErrorClass // what Classify says of every error

	mu     sync.Mutex
	writes int
	groups [][]string    // the ids of each LockProcesses, in order
	hold   chan struct{} // the next Write waits until it is closed
	held   chan struct{} // closed once that Write waits

	// Faults of the transactions that call LockProcesses:
	rollback    error  // fail with it instead of committing
	afterCommit error  // commit, then report it (an interrupted COMMIT)
	conflict    func() // fail the first attempt as a transient conflict, run this, try again
	panics      int    // how many of the next Writes panic (inside the transaction)
}

var errConflict = errors.New("deadlock detected")

func newGroupStore() *groupStore { return &groupStore{Store: memory.NewStore()} }

func (s *groupStore) Classify(error) driver.ErrorClass { return s.class }

func (s *groupStore) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	s.mu.Lock()
	s.writes++
	hold, held := s.hold, s.held
	s.hold = nil
	rollback, afterCommit, conflict := s.rollback, s.afterCommit, s.conflict
	panics := s.panics > 0
	if panics {
		s.panics--
	}
	s.mu.Unlock()
	if hold != nil {
		close(held)
		<-hold
	}
	attempt := func(fault error) (grouped bool, err error) {
		err = s.Store.Write(ctx, func(ctx context.Context, tx driver.Tx) error {
			t := &lockTx{Tx: tx, s: s}
			if panics {
				panic("store bug")
			}
			if err := fn(ctx, t); err != nil {
				return err
			}
			grouped = t.grouped
			if grouped && fault != nil {
				return fault // the memory store rolls back
			}
			return nil
		})
		return grouped, err
	}
	if conflict != nil {
		if grouped, err := attempt(errConflict); !grouped {
			return err
		}
		s.mu.Lock()
		s.conflict = nil
		s.mu.Unlock()
		conflict()
		_, err := attempt(nil)
		return err
	}
	grouped, err := attempt(rollback)
	if err == nil && grouped && afterCommit != nil {
		return afterCommit
	}
	return err
}

// lockTx records LockProcesses and checks its contract (sorted, distinct ids).
type lockTx struct {
	driver.Tx
	s       *groupStore
	grouped bool
}

func (t *lockTx) LockProcesses(ctx context.Context, ids []string) ([]driver.ProcessRow, error) {
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		return nil, fmt.Errorf("LockProcesses(%q): ids not sorted and distinct", ids)
	}
	t.grouped = true
	t.s.mu.Lock()
	t.s.groups = append(t.s.groups, slices.Clone(ids))
	t.s.mu.Unlock()
	return t.Tx.LockProcesses(ctx, ids)
}

// counts returns the Writes and groups so far.
func (s *groupStore) counts() (int, [][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes, slices.Clone(s.groups)
}

func (s *groupStore) set(f func(s *groupStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// groupSetup is a registry with group commit in one transaction at a time
// over a groupStore, with "holder" and ids registered.
func groupSetup(t *testing.T, ids ...string) (procreg.Registry, *groupStore) {
	t.Helper()
	s := newGroupStore()
	r := driver.NewRegistry(s, driver.Options{Group: driver.GroupCommit{Transactions: 1}})
	t.Cleanup(func() { r.Close() })
	for _, id := range append([]string{"holder"}, ids...) {
		mustRegister(t, r, id)
	}
	return r, s
}

// lineup holds a lone append to "holder" open in the store, so that the
// calls started by queue wait in the group-commit queue, in order, until
// release lets the holder commit.
type lineup struct {
	t    *testing.T
	r    procreg.Registry
	hold chan struct{}
	n    int
	wg   sync.WaitGroup
}

func holdWrites(t *testing.T, r procreg.Registry, s *groupStore) *lineup {
	t.Helper()
	l := &lineup{t: t, r: r, hold: make(chan struct{})}
	held := make(chan struct{})
	s.set(func(s *groupStore) { s.hold, s.held = l.hold, held })
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		if _, err := r.AppendEvent(context.Background(), "holder", procreg.AppendRequest{EventType: "log"}); err != nil {
			t.Errorf("holder: %v", err)
		}
	}()
	<-held
	return l
}

// queue runs f in a goroutine and returns once its call waits in the queue.
func (l *lineup) queue(f func()) {
	l.t.Helper()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
	l.n++
	l.waitQueued(l.n)
}

// waitQueued waits until n calls wait in the queue.
func (l *lineup) waitQueued(n int) {
	l.t.Helper()
	for start := time.Now(); driver.QueuedCalls(l.r) != n; time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			l.t.Fatalf("%d calls queued, want %d", driver.QueuedCalls(l.r), n)
		}
	}
}

// release lets the holder commit and waits for every queued call.
func (l *lineup) release() {
	close(l.hold)
	l.wg.Wait()
}

// logOf returns the event types and payloads of a process's log.
func logOf(t *testing.T, r procreg.Registry, id string) []string {
	t.Helper()
	evs, err := r.EventsAfter(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, fmt.Sprintf("%d:%s:%s", ev.Sequence, ev.EventType, ev.Payload))
	}
	return out
}

var logReq = procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"n":1}`)}

// Many calls on distinct processes queued behind one transaction commit
// together in the next one, each with its own correct result.
func TestGroupCommitCoalescesCalls(t *testing.T) {
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%02d", i)
	}
	r, s := groupSetup(t, ids...)
	before, _ := s.counts()
	l := holdWrites(t, r, s)
	results := make([]procreg.AppendResult, len(ids))
	errs := make([]error, len(ids))
	for i, id := range ids {
		l.queue(func() { results[i], errs[i] = r.AppendEvent(context.Background(), id, logReq) })
	}
	l.release()
	writes, groups := s.counts()
	if writes-before != 2 {
		t.Errorf("%d Writes for the holder and %d queued appends; want 2", writes-before, len(ids))
	}
	if len(groups) != 1 || !reflect.DeepEqual(groups[0], ids) {
		t.Errorf("groups %q; want one of %q", groups, ids)
	}
	for i, id := range ids {
		if errs[i] != nil || results[i].Event.ProcessID != id || results[i].Event.Sequence != 1 {
			t.Errorf("append to %s: %+v, %v", id, results[i].Event, errs[i])
		}
		if got := logOf(t, r, id); !reflect.DeepEqual(got, []string{`1:log:{"n":1}`}) {
			t.Errorf("log of %s: %q", id, got)
		}
	}
}

// Calls made one at a time never queue: each is its own transaction with
// no LockProcesses, as without group commit.
func TestGroupCommitUncontendedCallsRunAlone(t *testing.T) {
	r, s := groupSetup(t, "a", "b")
	before, _ := s.counts()
	ctx := context.Background()
	for _, id := range []string{"a", "b", "a"} {
		if _, err := r.AppendEvent(ctx, id, logReq); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.ClaimProcessLease(ctx, "b", procreg.LeaseOwner{OwnerID: "w", IncarnationID: "1"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if writes, groups := s.counts(); writes-before != 4 || len(groups) != 0 {
		t.Errorf("%d Writes, groups %q; want 4 lone Writes", writes-before, groups)
	}
}

// Every kind of grouped call gets its own result in one group, and the
// calls that fail with a contract error write nothing and fail no other.
func TestGroupCommitEachCallItsOwnOutcome(t *testing.T) {
	ids := []string{"append", "complete", "done", "fcomplete", "fenced", "lost", "release", "renew", "replay", "wait", "claim"}
	r, s := groupSetup(t, ids...)
	ctx := context.Background()
	owner := procreg.LeaseOwner{OwnerID: "w", IncarnationID: "1"}
	leases := map[string]procreg.Lease{}
	for _, id := range []string{"fcomplete", "fenced", "release", "renew"} {
		c, err := r.ClaimProcessLease(ctx, id, owner, time.Hour)
		if err != nil || !c.Acquired {
			t.Fatalf("claim %s: %+v %v", id, c, err)
		}
		leases[id] = c.Lease
	}
	replayReq := procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"r":1}`), ReplayKey: "k"}
	stored, err := r.AppendEvent(ctx, "replay", replayReq)
	if err != nil {
		t.Fatal(err)
	}
	failure := procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "c", Code: "x", Message: "m"}
	if _, err := r.CompleteProcess(ctx, "done", failure); err != nil {
		t.Fatal(err)
	}
	before, _ := s.counts()
	success := procreg.AwaitOutput{Kind: procreg.OutputSuccess}
	lostLease := leases["fenced"]
	lostLease.ProcessID, lostLease.Token = "lost", "not-the-token"

	var (
		mu  sync.Mutex
		got = map[string]any{}
	)
	put := func(id string, v any, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			got[id] = err
		} else {
			got[id] = v
		}
	}
	l := holdWrites(t, r, s)
	l.queue(func() { v, err := r.AppendEvent(ctx, "append", logReq); put("append", v, err) })
	l.queue(func() { v, err := r.AppendEvent(ctx, "replay", replayReq); put("replay", v, err) })
	l.queue(func() { v, err := r.AppendEventWithLease(ctx, leases["fenced"], logReq); put("fenced", v, err) })
	l.queue(func() { v, err := r.AppendEventWithLease(ctx, lostLease, logReq); put("lost", v, err) })
	l.queue(func() { v, err := r.CompleteProcess(ctx, "complete", success); put("complete", v, err) })
	l.queue(func() { v, err := r.CompleteProcess(ctx, "done", success); put("done", v, err) })
	l.queue(func() {
		v, err := r.CompleteProcessWithLease(ctx, leases["fcomplete"], success)
		put("fcomplete", v, err)
	})
	l.queue(func() { v, err := r.ClaimProcessLease(ctx, "claim", owner, time.Hour); put("claim", v, err) })
	l.queue(func() { v, err := r.RenewProcessLease(ctx, leases["renew"], 2*time.Hour); put("renew", v, err) })
	l.queue(func() {
		err := r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "release", Token: leases["release"].Token})
		put("release", nil, err)
	})
	l.queue(func() {
		v, err := r.SetProcessWait(ctx, "wait", procreg.WaitState{Kind: "signal", Name: "go", EventType: "log", Ordinal: 1, Since: time.Now()})
		put("wait", v, err)
	})
	l.queue(func() { v, err := r.AppendEvent(ctx, "missing", logReq); put("missing", v, err) })
	l.release()

	writes, groups := s.counts()
	want := append(slices.Clone(ids), "missing")
	slices.Sort(want)
	if writes-before != 2 || len(groups) != 1 || !reflect.DeepEqual(groups[0], want) {
		t.Fatalf("%d Writes, groups %q; want the holder's and one group of %q", writes-before, groups, want)
	}
	isErr := func(id string, sentinel error) {
		t.Helper()
		if err, ok := got[id].(error); !ok || !errors.Is(err, sentinel) {
			t.Errorf("%s: %v; want %v", id, got[id], sentinel)
		}
	}
	isErr("lost", procreg.ErrLeaseLost)
	isErr("done", procreg.ErrTerminal)
	isErr("missing", procreg.ErrNotFound)
	if a, ok := got["append"].(procreg.AppendResult); !ok || a.Event.Sequence != 1 {
		t.Errorf("append: %v", got["append"])
	}
	if a, ok := got["replay"].(procreg.AppendResult); !ok || !reflect.DeepEqual(a, stored) {
		t.Errorf("replay: %v; want the stored %+v", got["replay"], stored)
	}
	if a, ok := got["fenced"].(procreg.AppendResult); !ok || a.Event.Sequence != 1 {
		t.Errorf("fenced append: %v", got["fenced"])
	}
	for _, id := range []string{"complete", "fcomplete"} {
		if rec, ok := got[id].(procreg.Record); !ok || rec.Status.State != procreg.StateCompleted {
			t.Errorf("%s: %v", id, got[id])
		}
	}
	if c, ok := got["claim"].(procreg.LeaseClaim); !ok || !c.Acquired {
		t.Errorf("claim: %v", got["claim"])
	}
	if l, ok := got["renew"].(procreg.Lease); !ok || !l.ExpiresAt.After(leases["renew"].ExpiresAt) {
		t.Errorf("renew: %v", got["renew"])
	}
	if got["release"] != nil {
		t.Errorf("release: %v", got["release"])
	}
	if rec, ok := got["wait"].(procreg.Record); !ok || rec.Wait == nil {
		t.Errorf("wait: %v", got["wait"])
	}

	// What was stored: each successful call's writes, nothing of the others.
	logs := map[string][]string{
		"append": {`1:log:{"n":1}`}, "replay": {`1:log:{"r":1}`}, "fenced": {`1:log:{"n":1}`},
		"lost": nil, "missing": nil, "claim": nil, "renew": nil, "release": nil, "wait": nil,
	}
	for id, want := range logs {
		if _, err := r.GetProcess(ctx, id); errors.Is(err, procreg.ErrNotFound) {
			continue
		}
		if got := logOf(t, r, id); !reflect.DeepEqual(got, want) {
			t.Errorf("log of %s: %q; want %q", id, got, want)
		}
	}
	if rec, err := r.GetProcess(ctx, "done"); err != nil || rec.Status.State != procreg.StateFailed || len(logOf(t, r, "done")) != 1 {
		t.Errorf("done: %+v %v; want failed, as before, with one event", rec.Status, err)
	}
	for id, held := range map[string]bool{"claim": true, "renew": true, "fenced": true, "release": false, "fcomplete": false, "lost": false} {
		l, err := r.GetProcessLease(ctx, id)
		if err != nil || (l != nil) != held {
			t.Errorf("lease of %s: %+v %v; held = %v", id, l, err, held)
		}
	}
}

// A group whose transaction fails with a storage error reports none of its
// calls as done: each runs again alone and succeeds or fails on its own.
func TestGroupCommitStorageErrorRunsEachAlone(t *testing.T) {
	r, s := groupSetup(t, "a", "b", "c", "done")
	ctx := context.Background()
	if _, err := r.CompleteProcess(ctx, "done", procreg.AwaitOutput{Kind: procreg.OutputSuccess}); err != nil {
		t.Fatal(err)
	}
	s.set(func(s *groupStore) { s.rollback, s.class = errors.New("disk I/O error"), driver.ClassOther })
	before, _ := s.counts()
	errs := map[string]error{}
	var mu sync.Mutex
	l := holdWrites(t, r, s)
	for _, id := range []string{"a", "b", "c"} {
		l.queue(func() {
			_, err := r.AppendEvent(ctx, id, logReq)
			mu.Lock()
			errs[id] = err
			mu.Unlock()
		})
	}
	l.queue(func() {
		_, err := r.CompleteProcess(ctx, "done", procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "c", Code: "x", Message: "m"})
		mu.Lock()
		errs["done"] = err
		mu.Unlock()
	})
	l.release()
	writes, groups := s.counts()
	if writes-before != 1+1+4 || len(groups) != 1 {
		t.Errorf("%d Writes, groups %q; want the holder's, one failed group and 4 lone ones", writes-before, groups)
	}
	for _, id := range []string{"a", "b", "c"} {
		if errs[id] != nil {
			t.Errorf("append to %s: %v", id, errs[id])
		}
		if got := logOf(t, r, id); !reflect.DeepEqual(got, []string{`1:log:{"n":1}`}) {
			t.Errorf("log of %s: %q; want the one event of its lone run", id, got)
		}
	}
	if !errors.Is(errs["done"], procreg.ErrTerminal) {
		t.Errorf("completion of a completed process: %v", errs["done"])
	}
}

// A group whose COMMIT was interrupted may have been applied: none of its
// calls runs again, each that reached the commit reports the unknown
// outcome, and a call that had failed on its own keeps its error.
func TestGroupCommitUnknownOutcomeIsNotRerun(t *testing.T) {
	r, s := groupSetup(t, "a", "b", "done")
	ctx := context.Background()
	if _, err := r.CompleteProcess(ctx, "done", procreg.AwaitOutput{Kind: procreg.OutputSuccess}); err != nil {
		t.Fatal(err)
	}
	lost := errors.New("read tcp: connection reset by peer")
	s.set(func(s *groupStore) {
		s.afterCommit, s.class = fmt.Errorf("commit: %w: %w", driver.ErrCommitFailed, lost), driver.ClassUnavailable
	})
	before, _ := s.counts()
	errs := map[string]error{}
	var mu sync.Mutex
	l := holdWrites(t, r, s)
	for _, id := range []string{"a", "b"} {
		l.queue(func() {
			_, err := r.AppendEvent(ctx, id, logReq)
			mu.Lock()
			errs[id] = err
			mu.Unlock()
		})
	}
	l.queue(func() {
		_, err := r.CompleteProcess(ctx, "done", procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "c", Code: "x", Message: "m"})
		mu.Lock()
		errs["done"] = err
		mu.Unlock()
	})
	l.release()
	if writes, _ := s.counts(); writes-before != 2 {
		t.Errorf("%d Writes; want the holder's and the group's, nothing run again", writes-before)
	}
	for _, id := range []string{"a", "b"} {
		err := errs[id]
		if !errors.Is(err, procreg.ErrUnavailable) || !errors.Is(err, lost) ||
			!strings.Contains(err.Error(), "outcome of this write is unknown") || !strings.Contains(err.Error(), fmt.Sprintf("%q", id)) {
			t.Errorf("append to %s: %v; want the unknown-outcome error naming the process", id, err)
		}
		if got := logOf(t, r, id); len(got) != 1 {
			t.Errorf("log of %s: %q; want the one event the commit applied", id, got)
		}
	}
	if !errors.Is(errs["done"], procreg.ErrTerminal) {
		t.Errorf("completion of a completed process: %v; want its own ErrTerminal", errs["done"])
	}
}

// The store may run a group again after a transient conflict; each attempt
// starts afresh, so a call whose outcome changed between the attempts
// reports the second one and nothing of the first attempt leaks.
func TestGroupCommitConflictRetryStartsAfresh(t *testing.T) {
	r, s := groupSetup(t, "a", "b")
	ctx := context.Background()
	// Between the attempts another writer (a registry without group
	// commit over the same store) completes b.
	other := driver.NewRegistry(s.Store, driver.Options{})
	s.set(func(s *groupStore) {
		s.class = driver.ClassTransient
		s.conflict = func() {
			if _, err := other.CompleteProcess(ctx, "b", procreg.AwaitOutput{Kind: procreg.OutputCancelled}); err != nil {
				t.Error(err)
			}
		}
	})
	var errA, errB error
	before, _ := s.counts()
	l := holdWrites(t, r, s)
	l.queue(func() { _, errA = r.AppendEvent(ctx, "a", logReq) })
	l.queue(func() {
		_, errB = r.CompleteProcess(ctx, "b", procreg.AwaitOutput{Kind: procreg.OutputSuccess})
	})
	l.release()
	if errA != nil || !errors.Is(errB, procreg.ErrTerminal) {
		t.Fatalf("a: %v; b: %v, want ErrTerminal (b was cancelled between the attempts)", errA, errB)
	}
	if writes, groups := s.counts(); writes-before != 2 || len(groups) != 2 {
		t.Errorf("%d Writes, groups %q; want the holder's and the group's two attempts, no call run alone", writes-before, groups)
	}
	if got := logOf(t, r, "a"); len(got) != 1 {
		t.Errorf("log of a: %q; want one event", got)
	}
	rec, err := r.GetProcess(ctx, "b")
	if err != nil || rec.Status.State != procreg.StateCancelled || len(logOf(t, r, "b")) != 1 {
		t.Errorf("b: %+v, %v; want cancelled with the one terminal event", rec.Status, err)
	}
}

// Two calls on one process are never in one group; both apply, in the
// order they queued.
func TestGroupCommitOneCallPerProcessPerGroup(t *testing.T) {
	r, s := groupSetup(t, "a", "b", "c")
	ctx := context.Background()
	before, _ := s.counts()
	l := holdWrites(t, r, s)
	for i, id := range []string{"a", "b", "a", "c", "b"} {
		req := procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}
		l.queue(func() {
			if _, err := r.AppendEvent(ctx, id, req); err != nil {
				t.Errorf("append %d to %s: %v", i, id, err)
			}
		})
	}
	l.release()
	writes, groups := s.counts()
	if writes-before != 3 || !reflect.DeepEqual(groups, [][]string{{"a", "b", "c"}, {"a", "b"}}) {
		t.Errorf("%d Writes, groups %q; want the holder's, then a,b,c, then a,b", writes-before, groups)
	}
	for id, want := range map[string][]string{
		"a": {`1:log:{"i":0}`, `2:log:{"i":2}`},
		"b": {`1:log:{"i":1}`, `2:log:{"i":4}`},
		"c": {`1:log:{"i":3}`},
	} {
		if got := logOf(t, r, id); !reflect.DeepEqual(got, want) {
			t.Errorf("log of %s: %q; want %q", id, got, want)
		}
	}
}

// A caller whose context ends while its call is queued gets its context's
// error at once, and the call never runs.
func TestGroupCommitCancelledWhileQueued(t *testing.T) {
	r, s := groupSetup(t, "a", "b")
	ctx := context.Background()
	cctx, cancel := context.WithCancel(ctx)
	before, _ := s.counts()
	l := holdWrites(t, r, s)
	gone := make(chan error, 1)
	l.queue(func() {
		_, err := r.AppendEvent(cctx, "a", logReq)
		gone <- err
	})
	l.queue(func() {
		if _, err := r.AppendEvent(ctx, "b", logReq); err != nil {
			t.Errorf("append to b: %v", err)
		}
	})
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("cancelled queued append: %v; want context.Canceled naming the process", err)
	}
	l.waitQueued(1)
	l.release()
	if got := logOf(t, r, "a"); len(got) != 0 {
		t.Errorf("log of a: %q; the cancelled call ran", got)
	}
	if got := logOf(t, r, "b"); len(got) != 1 {
		t.Errorf("log of b: %q", got)
	}
	if writes, groups := s.counts(); writes-before != 2 || len(groups) != 0 {
		t.Errorf("%d Writes, groups %q; want the holder's and b's lone one", writes-before, groups)
	}
}

// A panic inside a transaction keeps neither its slot nor its process: a
// lone call's panic goes on to its caller, a group's callers get an error
// each, and the registry goes on serving calls.
func TestGroupCommitSurvivesPanics(t *testing.T) {
	r, s := groupSetup(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.set(func(s *groupStore) { s.panics = 1 })
	func() {
		defer func() {
			if p := recover(); p == nil {
				t.Error("the lone call's panic did not reach its caller")
			}
		}()
		_, _ = r.AppendEvent(ctx, "a", logReq)
	}()
	if _, err := r.AppendEvent(ctx, "a", logReq); err != nil {
		t.Fatalf("append after a lone call's panic: %v", err)
	}

	var errA, errB error
	l := holdWrites(t, r, s)
	l.queue(func() { _, errA = r.AppendEvent(ctx, "a", logReq) })
	l.queue(func() { _, errB = r.AppendEvent(ctx, "b", logReq) })
	s.set(func(s *groupStore) { s.panics = 1 }) // the group's Write, after the holder's
	l.release()
	for _, err := range []error{errA, errB} {
		if err == nil || !strings.Contains(err.Error(), "nothing of it was written") {
			t.Errorf("call of a group that panicked: %v", err)
		}
	}
	if _, err := r.AppendEvent(ctx, "b", logReq); err != nil {
		t.Fatalf("append after a group's panic: %v", err)
	}
	if got := logOf(t, r, "a"); len(got) != 1 {
		t.Errorf("log of a: %q; want the one append after the lone panic", got)
	}
	if got := logOf(t, r, "b"); len(got) != 1 {
		t.Errorf("log of b: %q; want the one append after the group's panic", got)
	}
}
