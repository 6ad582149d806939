package driver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/procreg/procreg"
)

// Group commit (docs/design.md, "Group commit"). The calls that lock and
// write one process only — AppendEvent, CompleteProcess, the fenced writes,
// the lease writes, AckWake and the record writes of mutate — go through a
// combiner when Options.Group is set. It lets at most Transactions of them
// run at once, and no two on one process:
//
//   - A call that finds a free slot and its process idle runs at once, as
//     its own Store.Write, exactly as without grouping: an uncontended call
//     waits for nothing and sends the same statements.
//   - Otherwise it queues. Each time a transaction of the combiner ends,
//     the freed slot takes the oldest queued calls, up to MaxCalls, on
//     distinct processes that no running transaction holds (a call whose
//     process is taken waits for a later round, so the calls on one
//     process keep their order), and runs them as one group: one
//     Store.Write that locks all their processes with one LockProcesses
//     (in id order, the order every multi-process writer locks in) and
//     then runs each call's body against a callTx, which serves the
//     body's LockProcess from those rows and buffers its writes. A body
//     that fails with a contract error (ErrTerminal, ErrLeaseLost, …) has
//     its writes dropped and gets its error; the writes of the others are
//     then issued in call order and the transaction commits. Every call
//     returns after the commit. A group of one call runs as a lone call.
//   - A group whose transaction fails for any other reason (a storage
//     error, also one raised by a read inside a body) reports nothing as
//     done: each of its calls runs again alone, in its caller's
//     goroutine, under its caller's context. A COMMIT whose outcome is
//     unknown (ErrCommitFailed, not a definite rollback) is not run again,
//     since it may have been applied: each call that got as far as the
//     commit gets the unknown-outcome error a lone call would get, and a
//     call whose body had failed gets its own error (nothing of it was
//     written either way).
//   - The store may run the group's function again after a transient
//     conflict; each attempt starts from the calls alone (their outcomes
//     and buffered writes are reset).
//   - Contexts: a caller whose context ends while it is queued leaves the
//     queue with its context's error, and its call never runs. Once its
//     call is in a running group it waits for the group's outcome. The
//     group's transaction runs under a context that no caller can cancel:
//     the first call's context without its cancellation (so its values,
//     a trace for example, go along), with the latest deadline among the
//     calls, or none when one of them has none.
//
// A body given to writeOne must keep to what a callTx can serve: lock only
// its own process (LockProcess, at most once), read only that process's
// rows, do every read before its first write, and write only with the
// methods callTx buffers (InsertEvent, UpdateProcess, UpdateProcessLease,
// InsertWakeAck). Reads other than LockProcess go to the group's
// transaction: no other call of the round touches that process.

// GroupCommit configures group commit (Options.Group): coalescing
// concurrent single-process writes into shared transactions. The zero
// value turns it off, and every call is then its own transaction.
type GroupCommit struct {
	// Transactions is how many write transactions of the grouped calls
	// (lone or grouped) run at once; a call beyond them queues and joins
	// the next group. 0 turns group commit off. A store with one writer
	// (SQLite, memory) wants 1; a server, as many as its pool has
	// connections (sqlkit.DefaultGroupCommit; docs/design.md has the
	// measurements).
	Transactions int
	// MaxCalls bounds the calls of one group; 0 means
	// DefaultGroupMaxCalls.
	MaxCalls int
}

// DefaultGroupMaxCalls is the size bound of a group when
// GroupCommit.MaxCalls is 0.
const DefaultGroupMaxCalls = 64

// combiner runs the single-process writes of one engine (see above).
type combiner struct {
	e        *engine
	slots    int // GroupCommit.Transactions
	maxCalls int

	mu      sync.Mutex
	running int             // transactions of the combiner in flight
	busy    map[string]bool // the processes of those transactions
	queue   []*call         // waiting calls, oldest first
}

// call is one queued single-process write.
type call struct {
	ctx  context.Context // the caller's
	id   string          // the one process the body locks and writes
	body func(context.Context, Tx) error
	done chan struct{} // closed once err or alone is final

	err   error // the outcome, classified as the engine's write would
	alone bool  // its group failed before committing: run it again alone

	// One attempt of a group transaction:
	own    error                             // the body's contract error
	writes []func(context.Context, Tx) error // the body's buffered writes
}

func newCombiner(e *engine, g GroupCommit) *combiner {
	if g.Transactions <= 0 {
		return nil
	}
	m := g.MaxCalls
	if m <= 0 {
		m = DefaultGroupMaxCalls
	}
	return &combiner{e: e, slots: g.Transactions, maxCalls: m, busy: map[string]bool{}}
}

// writeOne is write for a call whose body locks and writes only processID,
// by the rules above: through the combiner when group commit is on.
func (e *engine) writeOne(ctx context.Context, processID string, fn func(context.Context, Tx) error) error {
	if e.group == nil {
		return e.write(ctx, fn)
	}
	return e.group.do(ctx, processID, fn)
}

// do runs body as a lone write at once when it can, and otherwise queues
// it for a group and waits for its outcome.
func (c *combiner) do(ctx context.Context, id string, body func(context.Context, Tx) error) error {
	k := &call{ctx: ctx, id: id, body: body, done: make(chan struct{})}
	c.mu.Lock()
	if c.running < c.slots && !c.busy[id] {
		c.running++
		c.busy[id] = true
		c.mu.Unlock()
		// Deferred, so that a panic (which goes on to this caller, as
		// without grouping) cannot keep the slot and the process.
		defer c.release([]*call{k})
		return c.e.write(ctx, body)
	}
	c.queue = append(c.queue, k)
	c.mu.Unlock()

	select {
	case <-k.done:
	case <-ctx.Done():
		c.mu.Lock()
		i := slices.Index(c.queue, k)
		if i >= 0 {
			c.queue = slices.Delete(c.queue, i, i+1)
		}
		c.mu.Unlock()
		if i >= 0 {
			return queuedErr(ctx)
		}
		<-k.done // already taken into a group: its outcome decides
	}
	if k.alone {
		return c.e.write(ctx, body)
	}
	return k.err
}

// queuedErr is the error of a call whose context ended while it waited
// for a group: it was never run.
func queuedErr(ctx context.Context) error {
	return fmt.Errorf("%w (while waiting to join a group commit; nothing was written)", ctx.Err())
}

// release frees the slot and the processes of a finished transaction and
// starts the next groups the freed slots can take.
func (c *combiner) release(done []*call) {
	c.mu.Lock()
	c.running--
	for _, k := range done {
		delete(c.busy, k.id)
	}
	var next [][]*call
	for c.running < c.slots {
		b := c.take()
		if b == nil {
			break
		}
		c.running++
		next = append(next, b)
	}
	c.mu.Unlock()
	for _, b := range next {
		go c.run(b)
	}
}

// take removes the next group from the queue and marks its processes busy
// (c.mu held): the oldest calls, at most maxCalls, on distinct processes
// no running transaction holds. A queued call whose context has ended is
// finished with its context's error instead. It returns nil when no call
// can run.
func (c *combiner) take() []*call {
	var b, rest []*call
	for _, k := range c.queue {
		switch {
		case k.ctx.Err() != nil:
			k.err = queuedErr(k.ctx)
			close(k.done)
		case len(b) < c.maxCalls && !c.busy[k.id]:
			c.busy[k.id] = true
			b = append(b, k)
		default:
			rest = append(rest, k)
		}
	}
	c.queue = rest
	return b
}

// run runs a taken group, releases its slot and then wakes its callers.
func (c *combiner) run(b []*call) {
	defer func() {
		if p := recover(); p != nil {
			// A body panicked inside the store's Write, which rolled the
			// transaction back; its callers wait in other goroutines, so
			// they get an error instead of hanging on a lost slot.
			for _, k := range b {
				k.err = fmt.Errorf("procreg: internal error in a group commit, nothing of it was written: %v", p)
				k.alone = false
			}
		}
		c.release(b)
		for _, k := range b {
			close(k.done)
		}
	}()
	if len(b) == 1 {
		b[0].err = c.e.write(b[0].ctx, b[0].body)
		return
	}
	c.group(b)
}

// group runs the calls of b (on distinct processes) in one transaction
// and sets each call's outcome.
func (c *combiner) group(b []*call) {
	ids := make([]string, len(b))
	for i, k := range b {
		ids[i] = k.id
	}
	slices.Sort(ids)
	ctx, cancel := groupContext(b)
	defer cancel()
	err := c.e.s.Write(ctx, func(ctx context.Context, tx Tx) error {
		for _, k := range b {
			k.own, k.writes = nil, nil
		}
		rows, err := tx.LockProcesses(ctx, ids)
		if err != nil {
			return err
		}
		locked := make(map[string]ProcessRow, len(rows))
		for _, r := range rows {
			locked[r.ID] = r
		}
		for _, k := range b {
			t := &callTx{Tx: tx, id: k.id}
			t.row, t.found = locked[k.id]
			err := k.body(ctx, t)
			if t.failed != nil {
				if err == nil {
					err = t.failed
				}
				return err // a statement failed: the transaction is broken
			}
			if err == nil {
				k.writes = t.writes
				continue
			}
			if !contractErr(err) {
				return err
			}
			k.own = err // this call fails alone; its writes are dropped
		}
		for _, k := range b {
			for _, w := range k.writes {
				if err := w(ctx, tx); err != nil {
					return err
				}
			}
		}
		return nil
	})
	switch {
	case err == nil:
		for _, k := range b {
			k.err = k.own
		}
	case errors.Is(err, ErrCommitFailed) && c.e.s.Classify(err) != ClassTransient:
		// The commit may have been applied: nothing is run again.
		for _, k := range b {
			k.err = k.own
			if k.own == nil {
				k.err = c.e.classified(k.ctx, err)
			}
		}
	default:
		for _, k := range b {
			k.alone = true
		}
	}
}

// contractErr reports an error a body returns for its own call: a
// contract sentinel (the engine's decisions), never a storage failure.
func contractErr(err error) bool {
	return isSentinel(err) && !errors.Is(err, procreg.ErrUnavailable)
}

// groupContext is the context of a group's transaction (see above).
func groupContext(b []*call) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(b[0].ctx)
	var latest time.Time
	for _, k := range b {
		d, ok := k.ctx.Deadline()
		if !ok {
			return context.WithCancel(ctx)
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(ctx, latest)
}

// errGroupUse is a body asking a callTx for what only a lone transaction
// can do; it fails the group, and every call then runs alone.
var errGroupUse = errors.New("procreg: internal error: a grouped write used a statement group commit does not serve")

// callTx is the Tx a call's body sees inside a group: LockProcess of its
// own process is served from the group's LockProcesses, writes are
// buffered until every body has run, and the reads it makes go to the
// group's transaction (failed records a read that failed, which fails the
// whole transaction, whatever the body makes of it).
type callTx struct {
	Tx
	id     string
	row    ProcessRow
	found  bool
	writes []func(context.Context, Tx) error
	failed error
}

func (t *callTx) LockProcess(_ context.Context, id string) (ProcessRow, bool, error) {
	if id != t.id || len(t.writes) > 0 {
		t.failed = fmt.Errorf("%w: lock of process %q in the call on %q", errGroupUse, id, t.id)
		return ProcessRow{}, false, t.failed
	}
	return t.row, t.found, nil
}

// read records the failure of a read statement: the transaction is then
// broken (on PostgreSQL every later statement fails), whatever the body
// makes of the error.
func (t *callTx) read(err error) error {
	if err != nil {
		t.failed = err
	}
	return err
}

// readable checks that a read is of the body's own process and comes
// before its first write (a buffered write is not yet visible to it).
func (t *callTx) readable(id string) error {
	if id != t.id || len(t.writes) > 0 {
		t.failed = fmt.Errorf("%w: read of process %q in the call on %q", errGroupUse, id, t.id)
		return t.failed
	}
	return nil
}

func (t *callTx) LeaseNow(ctx context.Context) (time.Time, error) {
	now, err := t.Tx.LeaseNow(ctx)
	return now, t.read(err)
}

func (t *callTx) GetProcess(ctx context.Context, id string) (ProcessRow, bool, error) {
	if err := t.readable(id); err != nil {
		return ProcessRow{}, false, err
	}
	row, found, err := t.Tx.GetProcess(ctx, id)
	return row, found, t.read(err)
}

func (t *callTx) EventByReplayKey(ctx context.Context, processID, replayKey string) (EventRow, bool, error) {
	if err := t.readable(processID); err != nil {
		return EventRow{}, false, err
	}
	row, found, err := t.Tx.EventByReplayKey(ctx, processID, replayKey)
	return row, found, t.read(err)
}

// buffer queues a write of the body's own process.
func (t *callTx) buffer(id string, w func(context.Context, Tx) error) error {
	if id != t.id {
		t.failed = fmt.Errorf("%w: write of process %q in the call on %q", errGroupUse, id, t.id)
		return t.failed
	}
	t.writes = append(t.writes, w)
	return nil
}

func (t *callTx) InsertEvent(_ context.Context, row EventRow) error {
	return t.buffer(row.ProcessID, func(ctx context.Context, tx Tx) error { return tx.InsertEvent(ctx, row) })
}

func (t *callTx) UpdateProcess(_ context.Context, row ProcessRow) error {
	return t.buffer(row.ID, func(ctx context.Context, tx Tx) error { return tx.UpdateProcess(ctx, row) })
}

func (t *callTx) UpdateProcessLease(_ context.Context, row ProcessRow) error {
	return t.buffer(row.ID, func(ctx context.Context, tx Tx) error { return tx.UpdateProcessLease(ctx, row) })
}

func (t *callTx) InsertWakeAck(_ context.Context, processID string, sequence int64) error {
	return t.buffer(processID, func(ctx context.Context, tx Tx) error { return tx.InsertWakeAck(ctx, processID, sequence) })
}

// refuse fails the group for any other statement that changes state.
func (t *callTx) refuse(what string) error {
	t.failed = fmt.Errorf("%w: %s in the call on %q", errGroupUse, what, t.id)
	return t.failed
}

func (t *callTx) LockProcesses(context.Context, []string) ([]ProcessRow, error) {
	return nil, t.refuse("LockProcesses")
}

func (t *callTx) InsertProcess(context.Context, ProcessRow) error { return t.refuse("InsertProcess") }

func (t *callTx) UpsertGrant(context.Context, GrantRow) error { return t.refuse("UpsertGrant") }

func (t *callTx) DeleteGrant(context.Context, string, string) error { return t.refuse("DeleteGrant") }

func (t *callTx) DeleteGrantsBySession(context.Context, string) (int64, error) {
	return 0, t.refuse("DeleteGrantsBySession")
}

func (t *callTx) PruneBatch(context.Context, int64, int) (int64, int64, error) {
	return 0, 0, t.refuse("PruneBatch")
}

func (t *callTx) UpdateProcessLeases(context.Context, []ProcessRow) error {
	return t.refuse("UpdateProcessLeases")
}

func (t *callTx) ClaimCandidates(context.Context, ListQuery, int) ([]ProcessRow, error) {
	return nil, t.refuse("ClaimCandidates")
}
