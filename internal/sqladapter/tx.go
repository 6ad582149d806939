package sqladapter

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/sqlstore"
	"github.com/procreg/procreg/internal/store"
)

// ops are the generated queries with store-row types, bound by NewTx.
type ops struct {
	databaseNowMs           func(context.Context) (int64, error)
	getProcess              func(context.Context, string) (store.ProcessRow, error)
	lockProcess             func(context.Context, string) (store.ProcessRow, int64, error)
	insertProcess           func(context.Context, store.ProcessRow) error
	updateProcess           func(context.Context, store.ProcessRow) error
	lister                  sqlstore.Lister[store.ProcessRow]
	listByWakeTargetSession func(context.Context, string) ([]store.ProcessRow, error)
	insertEvent             func(context.Context, store.EventRow) error
	eventByReplayKey        func(context.Context, string, string) (store.EventRow, error)
	eventsAfter             func(context.Context, string, int64) ([]store.EventRow, error)
	wakeEventsAfter         func(context.Context, string, int64) ([]store.EventRow, error)
	countEventsThrough      func(context.Context, string, string, int64) (int64, error)
	recentEventsDesc        func(context.Context, string, int32) ([]store.EventRow, error)
	insertWakeAck           func(context.Context, string, int64) error
	getGrant                func(context.Context, string, string) (store.GrantRow, error)
	upsertGrant             func(context.Context, store.GrantRow) error
	deleteGrant             func(context.Context, string, string) error
	listGrantsByScope       func(context.Context, string) ([]store.GrantEntryRow, error)
	listGrantsByProcess     func(context.Context, string) ([]store.GrantRow, error)
	listGrantsBySession     func(context.Context, string) ([]store.GrantRow, error)
	deleteGrantsBySession   func(context.Context, string) (int64, error)
	countGrantsForProcess   func(context.Context, string) (int64, error)
	pruner                  sqlstore.Pruner
}

// tx is store.Tx over one database transaction.
type tx struct {
	d   *Dialect
	ops ops
	// nowMs is the database clock read by the latest LockProcess of this
	// transaction (haveNow), so LeaseNow costs no extra round trip.
	nowMs   int64
	haveNow bool
}

// fail wraps a storage error with the dialect, the operation and the id.
func (t *tx) fail(op, id string, err error) error {
	return fmt.Errorf("%s: %s %q: %w", t.d.Name, op, id, err)
}

// check wraps a storage error (see fail) and passes nil through.
func (t *tx) check(op, id string, err error) error {
	if err == nil {
		return nil
	}
	return t.fail(op, id, err)
}

// found maps a :one query's "no rows" to found == false.
func (t *tx) found(op, id string, err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case t.d.IsNoRows(err):
		return false, nil
	default:
		return false, t.fail(op, id, err)
	}
}

func (t *tx) LeaseNow(ctx context.Context) (time.Time, error) {
	if t.d.LeaseClock != nil {
		return procreg.TruncateTime(t.d.LeaseClock()), nil
	}
	if t.haveNow {
		return time.UnixMilli(t.nowMs).UTC(), nil
	}
	ms, err := t.ops.databaseNowMs(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: read the database clock: %w", t.d.Name, err)
	}
	return time.UnixMilli(ms).UTC(), nil
}

func (t *tx) GetProcess(ctx context.Context, id string) (store.ProcessRow, bool, error) {
	row, err := t.ops.getProcess(ctx, id)
	ok, err := t.found("read process", id, err)
	return row, ok, err
}

func (t *tx) LockProcess(ctx context.Context, id string) (store.ProcessRow, bool, error) {
	row, now, err := t.ops.lockProcess(ctx, id)
	ok, err := t.found("lock process", id, err)
	if ok {
		t.nowMs, t.haveNow = now, true
	}
	return row, ok, err
}

func (t *tx) InsertProcess(ctx context.Context, row store.ProcessRow) error {
	err := t.ops.insertProcess(ctx, row)
	if err != nil && t.d.IsUniqueViolation(err) {
		err = fmt.Errorf("%w: %w", ErrRetry, err)
	}
	return t.check("insert process", row.ID, err)
}

func (t *tx) UpdateProcess(ctx context.Context, row store.ProcessRow) error {
	return t.check("update process", row.ID, t.ops.updateProcess(ctx, row))
}

func (t *tx) ListProcesses(ctx context.Context, q store.ListQuery) ([]store.ProcessRow, error) {
	rows, err := t.ops.lister.List(ctx, q)
	return rows, t.check("list processes with status", q.Status, err)
}

func (t *tx) ListProcessesByWakeTargetSession(ctx context.Context, sessionID string) ([]store.ProcessRow, error) {
	rows, err := t.ops.listByWakeTargetSession(ctx, sessionID)
	return rows, t.check("list processes waking session", sessionID, err)
}

func (t *tx) InsertEvent(ctx context.Context, row store.EventRow) error {
	return t.check(fmt.Sprintf("insert event %d of process", row.Sequence), row.ProcessID, t.ops.insertEvent(ctx, row))
}

func (t *tx) EventByReplayKey(ctx context.Context, processID, replayKey string) (store.EventRow, bool, error) {
	row, err := t.ops.eventByReplayKey(ctx, processID, replayKey)
	ok, err := t.found("find replay key of process", processID, err)
	return row, ok, err
}

func (t *tx) EventsAfter(ctx context.Context, processID string, after int64) ([]store.EventRow, error) {
	rows, err := t.ops.eventsAfter(ctx, processID, after)
	return rows, t.check("list events of process", processID, err)
}

func (t *tx) WakeEventsAfter(ctx context.Context, processID string, after int64) ([]store.EventRow, error) {
	rows, err := t.ops.wakeEventsAfter(ctx, processID, after)
	return rows, t.check("list wake events of process", processID, err)
}

func (t *tx) CountEventsThrough(ctx context.Context, processID, eventType string, upTo int64) (int64, error) {
	n, err := t.ops.countEventsThrough(ctx, processID, eventType, upTo)
	return n, t.check("count events of process", processID, err)
}

func (t *tx) RecentEvents(ctx context.Context, processID string, limit int64) ([]store.EventRow, error) {
	// A LIMIT beyond int32 would return every event anyway.
	rows, err := t.ops.recentEventsDesc(ctx, processID, int32(min(limit, math.MaxInt32)))
	if err != nil {
		return nil, t.fail("list recent events of process", processID, err)
	}
	slices.Reverse(rows)
	return rows, nil
}

func (t *tx) InsertWakeAck(ctx context.Context, processID string, sequence int64) error {
	return t.check(fmt.Sprintf("ack wake %d of process", sequence), processID, t.ops.insertWakeAck(ctx, processID, sequence))
}

func (t *tx) GetGrant(ctx context.Context, scopeID, processID string) (store.GrantRow, bool, error) {
	row, err := t.ops.getGrant(ctx, scopeID, processID)
	ok, err := t.found("read grant of "+scopeID+" for process", processID, err)
	return row, ok, err
}

func (t *tx) UpsertGrant(ctx context.Context, row store.GrantRow) error {
	return t.check("grant "+row.ScopeID+" process", row.ProcessID, t.ops.upsertGrant(ctx, row))
}

func (t *tx) DeleteGrant(ctx context.Context, scopeID, processID string) error {
	return t.check("revoke "+scopeID+" grant of process", processID, t.ops.deleteGrant(ctx, scopeID, processID))
}

func (t *tx) ListGrantsByScope(ctx context.Context, scopeID string) ([]store.GrantEntryRow, error) {
	rows, err := t.ops.listGrantsByScope(ctx, scopeID)
	return rows, t.check("list grants of scope", scopeID, err)
}

func (t *tx) ListGrantsByProcess(ctx context.Context, processID string) ([]store.GrantRow, error) {
	rows, err := t.ops.listGrantsByProcess(ctx, processID)
	return rows, t.check("list grants of process", processID, err)
}

func (t *tx) ListGrantsBySession(ctx context.Context, sessionID string) ([]store.GrantRow, error) {
	rows, err := t.ops.listGrantsBySession(ctx, sessionID)
	return rows, t.check("list grants of session", sessionID, err)
}

func (t *tx) DeleteGrantsBySession(ctx context.Context, sessionID string) (int64, error) {
	n, err := t.ops.deleteGrantsBySession(ctx, sessionID)
	return n, t.check("delete grants of session", sessionID, err)
}

func (t *tx) CountGrantsForProcess(ctx context.Context, processID string) (int64, error) {
	n, err := t.ops.countGrantsForProcess(ctx, processID)
	return n, t.check("count grants of process", processID, err)
}

func (t *tx) PruneBatch(ctx context.Context, cutoffMs int64, limit int) (processes, events int64, err error) {
	processes, events, err = t.ops.pruner.Batch(ctx, cutoffMs, limit)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", t.d.Name, err)
	}
	return processes, events, nil
}
