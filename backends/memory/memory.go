// Package memory is the in-memory procreg backend: every fact lives in maps
// inside the calling process and is lost when it exits (TierInline). It runs
// the same engine as the durable backends, so it follows the whole contract;
// use it in tests and for hosts that need no durability.
//
// A registry is safe for concurrent use: writes are serialized by a mutex
// and roll back completely when they fail, reads share a read lock. Rows are
// plain values, so nothing a caller holds aliases the stored state.
package memory

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/core"
)

// Option configures a memory registry.
type Option func(*config)

type config struct {
	clock func() time.Time
	group driver.GroupCommit
}

// WithClock sets the clock for every timestamp and lease decision (default
// time.Now). Tests use it to move time without sleeping.
func WithClock(clock func() time.Time) Option {
	return func(c *config) { c.clock = clock }
}

// WithGroupCommit sets the engine's group commit (driver.GroupCommit): at
// most transactions write transactions of single-process calls at once
// (default 1: the store has one writer), the calls beyond them coalesced
// into groups of at most maxCalls (0: driver.DefaultGroupMaxCalls).
// WithGroupCommit(0, 0) turns it off, so that every call is its own
// transaction. The store's writes cost microseconds, so grouping saves
// little here; it is on so that the memory backend runs the engine as the
// durable ones do.
func WithGroupCommit(transactions, maxCalls int) Option {
	return func(c *config) {
		c.group = driver.GroupCommit{Transactions: max(transactions, 0), MaxCalls: max(maxCalls, 0)}
	}
}

// New returns an empty in-memory registry.
func New(opts ...Option) procreg.Registry {
	c := newConfig(opts)
	return driver.NewRegistry(newStore(c.clock), driver.Options{Clock: c.clock, Group: c.group})
}

// NewStore returns the empty in-memory store that New runs the engine
// over, for code that builds on the driver seam: a store that decorates
// another (fault injection, tracing of storage calls) or a test of a
// dialect registration. driver.NewRegistry(NewStore(), driver.Options{})
// behaves as New(WithGroupCommit(0, 0)); set Options.Group for New's
// group commit.
func NewStore(opts ...Option) driver.Store {
	return newStore(newConfig(opts).clock)
}

func newConfig(opts []Option) config {
	c := config{clock: time.Now, group: driver.GroupCommit{Transactions: 1}}
	for _, o := range opts {
		o(&c)
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	return c
}

// errClosed is returned by every operation after Close.
var errClosed = errors.New("memory registry is closed")

type grantKey struct{ scopeID, processID string }

// memStore is a driver.Store over maps.
type memStore struct {
	clock func() time.Time

	mu     sync.RWMutex
	closed bool
	// cursorKey authenticates this registry's cursors: random, per store.
	cursorKey string
	procs     map[string]driver.ProcessRow
	events    map[string][]driver.EventRow // by process; index = sequence-1
	replay    map[string]map[string]int64  // process → replay key → sequence
	acks      map[string]map[int64]bool    // process → acked sequences
	grants    map[grantKey]driver.GrantRow
	// byType holds, per process and event type, the sequences of its
	// events in ascending order, so CountEventsThrough is a binary search
	// (O(log n)) instead of a walk of the log.
	byType map[string]map[string][]int64
	// Grant indexes, so that lookups by scope, process or session do not
	// scan every grant.
	byScope, byProcess, bySession map[string]map[grantKey]struct{}
	// changePos is the last change-feed position handed out (changes.go).
	changePos int64
	// order keeps the process ids in byte order for pages (page.go); procs
	// changes only through setProc, which updates it.
	order pageIndex
}

func newStore(clock func() time.Time) *memStore {
	return &memStore{
		clock:     clock,
		cursorKey: rand.Text(),
		procs:     make(map[string]driver.ProcessRow),
		events:    make(map[string][]driver.EventRow),
		byType:    make(map[string]map[string][]int64),
		replay:    make(map[string]map[string]int64),
		acks:      make(map[string]map[int64]bool),
		grants:    make(map[grantKey]driver.GrantRow),

		byScope:   make(map[string]map[grantKey]struct{}),
		byProcess: make(map[string]map[grantKey]struct{}),
		bySession: make(map[string]map[grantKey]struct{}),
	}
}

func (s *memStore) Tier() procreg.DurabilityTier { return procreg.TierInline }

func (s *memStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Write runs fn under the write lock and undoes every change when fn fails.
func (s *memStore) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	t := &tx{s: s, write: true}
	committed := false
	// Roll back on an error and on a panic alike, so a caller that recovers
	// never sees half a transaction.
	defer func() {
		if !committed {
			for i := len(t.undo) - 1; i >= 0; i-- {
				t.undo[i]()
			}
		}
	}()
	if err := fn(ctx, t); err != nil {
		return err
	}
	committed = true
	return nil
}

// Read runs fn under the read lock.
func (s *memStore) Read(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed
	}
	return fn(ctx, &tx{s: s})
}

// ReadOne is Read: a map lookup has no round trip to save.
func (s *memStore) ReadOne(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return s.Read(ctx, fn)
}

// tx is one transaction; undo holds the inverse of every change so far.
type tx struct {
	s     *memStore
	write bool
	undo  []func()
}

var errReadOnly = errors.New("memory store: write inside a read transaction")

func (t *tx) writable() error {
	if !t.write {
		return errReadOnly
	}
	return nil
}

func (t *tx) LeaseNow(context.Context) (time.Time, error) { return t.s.clock(), nil }

func (t *tx) GetProcess(_ context.Context, id string) (driver.ProcessRow, bool, error) {
	row, ok := t.s.procs[id]
	return row, ok, nil
}

// LockProcess needs no row lock: a write transaction holds the store lock.
func (t *tx) LockProcess(ctx context.Context, id string) (driver.ProcessRow, bool, error) {
	return t.GetProcess(ctx, id)
}

// LockProcesses reads the registered ones of ids; the store's one writer
// already excludes every other transaction.
func (t *tx) LockProcesses(ctx context.Context, ids []string) ([]driver.ProcessRow, error) {
	var rows []driver.ProcessRow
	for _, id := range ids {
		row, found, err := t.GetProcess(ctx, id)
		if err != nil {
			return nil, err
		}
		if found {
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// putProcess stores a row, remembering how to undo it.
func (t *tx) putProcess(row driver.ProcessRow) {
	old, existed := t.s.procs[row.ID]
	t.s.setProc(row.ID, row, true)
	t.undo = append(t.undo, func() { t.s.setProc(row.ID, old, existed) })
}

func (t *tx) InsertProcess(_ context.Context, row driver.ProcessRow) error {
	if err := t.writable(); err != nil {
		return err
	}
	if _, ok := t.s.procs[row.ID]; ok {
		return errors.New("memory store: process " + row.ID + " already exists")
	}
	t.stampChange(&row)
	t.putProcess(row)
	return nil
}

func (t *tx) UpdateProcess(_ context.Context, row driver.ProcessRow) error {
	if err := t.writable(); err != nil {
		return err
	}
	old, ok := t.s.procs[row.ID]
	if !ok {
		return errors.New("memory store: update of missing process " + row.ID)
	}
	// Immutable columns keep their stored values.
	row.RegistrationHash, row.Disposition, row.InputKind = old.RegistrationHash, old.Disposition, old.InputKind
	row.IdentityKind, row.DefinitionFingerprint, row.Spec, row.CreatedAtMs = old.IdentityKind, old.DefinitionFingerprint, old.Spec, old.CreatedAtMs
	t.stampChange(&row)
	t.putProcess(row)
	return nil
}

func sortedByID(rows []driver.ProcessRow) []driver.ProcessRow {
	slices.SortFunc(rows, func(a, b driver.ProcessRow) int { return cmp.Compare(a.ID, b.ID) })
	return rows
}

func (t *tx) ListProcesses(_ context.Context, q driver.ListQuery) ([]driver.ProcessRow, error) {
	c := core.ListCriteria{State: q.Status, DefinitionFingerprint: q.DefinitionFingerprint, Waiting: q.Waiting}
	var out []driver.ProcessRow
	for _, row := range t.s.procs {
		if c.Matches(row.Status, row.DefinitionFingerprint, row.Waiting) {
			out = append(out, row)
		}
	}
	return sortedByID(out), nil
}

func (t *tx) ListProcessesByWakeTargetSession(_ context.Context, sessionID string) ([]driver.ProcessRow, error) {
	var out []driver.ProcessRow
	for _, row := range t.s.procs {
		if row.WakeTargetSession == sessionID {
			out = append(out, row)
		}
	}
	return sortedByID(out), nil
}

func (t *tx) InsertEvent(_ context.Context, row driver.EventRow) error {
	if err := t.writable(); err != nil {
		return err
	}
	evs := t.s.events[row.ProcessID]
	if row.Sequence != int64(len(evs))+1 {
		return errors.New("memory store: event sequence out of order")
	}
	if row.ReplayKey != "" {
		keys := t.s.replay[row.ProcessID]
		if keys == nil {
			keys = make(map[string]int64)
			t.s.replay[row.ProcessID] = keys
		}
		if _, dup := keys[row.ReplayKey]; dup {
			return errors.New("memory store: duplicate replay key")
		}
		keys[row.ReplayKey] = row.Sequence
		t.undo = append(t.undo, func() { delete(keys, row.ReplayKey) })
	}
	t.s.events[row.ProcessID] = append(evs, row)
	t.undo = append(t.undo, func() { t.s.events[row.ProcessID] = evs })
	types := t.s.byType[row.ProcessID]
	if types == nil {
		types = make(map[string][]int64)
		t.s.byType[row.ProcessID] = types
	}
	seqs := types[row.EventType]
	types[row.EventType] = append(seqs, row.Sequence)
	t.undo = append(t.undo, func() { types[row.EventType] = seqs })
	return nil
}

func (t *tx) EventByReplayKey(_ context.Context, processID, replayKey string) (driver.EventRow, bool, error) {
	seq, ok := t.s.replay[processID][replayKey]
	if !ok {
		return driver.EventRow{}, false, nil
	}
	return t.s.events[processID][seq-1], true, nil
}

// after returns a copy of the events with Sequence > after that pass keep.
func (t *tx) after(processID string, after int64, keep func(driver.EventRow) bool) []driver.EventRow {
	evs := t.s.events[processID]
	start := min(max(after, 0), int64(len(evs)))
	var out []driver.EventRow
	for _, ev := range evs[start:] {
		if keep(ev) {
			out = append(out, ev)
		}
	}
	return out
}

func (t *tx) EventsAfter(_ context.Context, processID string, after int64) ([]driver.EventRow, error) {
	return t.after(processID, after, func(driver.EventRow) bool { return true }), nil
}

func (t *tx) WakeEventsAfter(_ context.Context, processID string, after int64) ([]driver.EventRow, error) {
	acked := t.s.acks[processID]
	return t.after(processID, after, func(ev driver.EventRow) bool { return ev.HasWake && !acked[ev.Sequence] }), nil
}

// CountEventsThrough is the number of the type's sequences at or below
// upTo: a binary search of byType.
func (t *tx) CountEventsThrough(_ context.Context, processID, eventType string, upTo int64) (int64, error) {
	seqs := t.s.byType[processID][eventType]
	n, found := slices.BinarySearch(seqs, upTo)
	if found {
		n++
	}
	return int64(n), nil
}

func (t *tx) RecentEvents(_ context.Context, processID string, limit int64) ([]driver.EventRow, error) {
	evs := t.s.events[processID]
	return slices.Clone(evs[max(int64(len(evs))-limit, 0):]), nil
}

func (t *tx) InsertWakeAck(_ context.Context, processID string, sequence int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	acks := t.s.acks[processID]
	if acks == nil {
		acks = make(map[int64]bool)
		t.s.acks[processID] = acks
	}
	if acks[sequence] {
		return nil
	}
	acks[sequence] = true
	t.undo = append(t.undo, func() { delete(acks, sequence) })
	return nil
}

func (t *tx) GetGrant(_ context.Context, scopeID, processID string) (driver.GrantRow, bool, error) {
	g, ok := t.s.grants[grantKey{scopeID, processID}]
	return g, ok, nil
}

// putGrant stores g under k (nil removes it) and keeps the indexes in step.
func (s *memStore) putGrant(k grantKey, g *driver.GrantRow) {
	if old, ok := s.grants[k]; ok {
		unindex(s.byScope, old.ScopeID, k)
		unindex(s.byProcess, old.ProcessID, k)
		unindex(s.bySession, old.SessionID, k)
		delete(s.grants, k)
	}
	if g == nil {
		return
	}
	s.grants[k] = *g
	index(s.byScope, g.ScopeID, k)
	index(s.byProcess, g.ProcessID, k)
	index(s.bySession, g.SessionID, k)
}

func index(m map[string]map[grantKey]struct{}, v string, k grantKey) {
	set := m[v]
	if set == nil {
		set = make(map[grantKey]struct{})
		m[v] = set
	}
	set[k] = struct{}{}
}

func unindex(m map[string]map[grantKey]struct{}, v string, k grantKey) {
	delete(m[v], k)
	if len(m[v]) == 0 {
		delete(m, v)
	}
}

// setGrant stores (or, with del, removes) a grant, remembering how to undo it.
func (t *tx) setGrant(k grantKey, g driver.GrantRow, del bool) {
	old, existed := t.s.grants[k]
	if del {
		t.s.putGrant(k, nil)
	} else {
		t.s.putGrant(k, &g)
	}
	t.undo = append(t.undo, func() {
		if existed {
			t.s.putGrant(k, &old)
		} else {
			t.s.putGrant(k, nil)
		}
	})
}

func (t *tx) UpsertGrant(_ context.Context, row driver.GrantRow) error {
	if err := t.writable(); err != nil {
		return err
	}
	t.setGrant(grantKey{row.ScopeID, row.ProcessID}, row, false)
	return nil
}

func (t *tx) DeleteGrant(_ context.Context, scopeID, processID string) error {
	if err := t.writable(); err != nil {
		return err
	}
	t.setGrant(grantKey{scopeID, processID}, driver.GrantRow{}, true)
	return nil
}

// grantsIn returns copies of the grants in an index set, sorted by cmpFn.
func (t *tx) grantsIn(set map[grantKey]struct{}, cmpFn func(a, b driver.GrantRow) int) []driver.GrantRow {
	out := make([]driver.GrantRow, 0, len(set))
	for k := range set {
		out = append(out, t.s.grants[k])
	}
	slices.SortFunc(out, cmpFn)
	return out
}

func byProcessThenScope(a, b driver.GrantRow) int {
	return cmp.Or(cmp.Compare(a.ProcessID, b.ProcessID), cmp.Compare(a.ScopeID, b.ScopeID))
}

func (t *tx) ListGrantsByScope(_ context.Context, scopeID string) ([]driver.GrantEntryRow, error) {
	gs := t.grantsIn(t.s.byScope[scopeID], byProcessThenScope)
	out := make([]driver.GrantEntryRow, 0, len(gs))
	for _, g := range gs {
		if p, ok := t.s.procs[g.ProcessID]; ok {
			out = append(out, driver.GrantEntryRow{Grant: g, Process: p})
		}
	}
	return out, nil
}

func (t *tx) ListGrantsByProcess(_ context.Context, processID string) ([]driver.GrantRow, error) {
	return t.grantsIn(t.s.byProcess[processID],
		func(a, b driver.GrantRow) int {
			return cmp.Or(cmp.Compare(a.SessionID, b.SessionID), cmp.Compare(a.ScopeID, b.ScopeID))
		}), nil
}

func (t *tx) ListGrantsBySession(_ context.Context, sessionID string) ([]driver.GrantRow, error) {
	return t.grantsIn(t.s.bySession[sessionID], byProcessThenScope), nil
}

func (t *tx) DeleteGrantsBySession(ctx context.Context, sessionID string) (int64, error) {
	if err := t.writable(); err != nil {
		return 0, err
	}
	gs, _ := t.ListGrantsBySession(ctx, sessionID)
	for _, g := range gs {
		t.setGrant(grantKey{g.ScopeID, g.ProcessID}, driver.GrantRow{}, true)
	}
	return int64(len(gs)), nil
}

func (t *tx) CountGrantsForProcess(_ context.Context, processID string) (int64, error) {
	return int64(len(t.s.byProcess[processID])), nil
}

// CursorKey is the store's random cursor secret, made when it was created.
func (t *tx) CursorKey(context.Context) (string, error) { return t.s.cursorKey, nil }

func (t *tx) PruneBatch(ctx context.Context, cutoffMs int64, limit int) (int64, int64, error) {
	if err := t.writable(); err != nil {
		return 0, 0, err
	}
	var victims []driver.ProcessRow
	for _, row := range t.s.procs {
		if row.Status != procreg.StateRunning && row.UpdatedAtMs < cutoffMs {
			victims = append(victims, row)
		}
	}
	victims = sortedByID(victims)
	if len(victims) > limit {
		victims = victims[:limit]
	}
	var events int64
	for _, row := range victims {
		id := row.ID
		evs, types, keys, acks := t.s.events[id], t.s.byType[id], t.s.replay[id], t.s.acks[id]
		events += int64(len(evs))
		t.s.setProc(id, driver.ProcessRow{}, false)
		delete(t.s.events, id)
		delete(t.s.byType, id)
		delete(t.s.replay, id)
		delete(t.s.acks, id)
		t.undo = append(t.undo, func() {
			t.s.setProc(id, row, true)
			t.s.events[id], t.s.byType[id], t.s.replay[id], t.s.acks[id] = evs, types, keys, acks
		})
		gs := t.grantsIn(t.s.byProcess[id], byProcessThenScope)
		for _, g := range gs {
			t.setGrant(grantKey{g.ScopeID, g.ProcessID}, driver.GrantRow{}, true)
		}
	}
	return int64(len(victims)), events, nil
}

// Classify: the memory store's errors are the engine's own or errClosed,
// none of which a database would raise.
func (s *memStore) Classify(error) driver.ErrorClass { return driver.ClassOther }
