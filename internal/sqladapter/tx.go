package sqladapter

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/core"
	"github.com/procreg/procreg/internal/sqlstore"
)

// ops are the generated queries with store-row types, bound by Bind; each
// takes the transaction's queries q.
type ops[Q any] struct {
	databaseNowMs           func(Q, context.Context) (int64, error)
	getProcess              func(Q, context.Context, string) (driver.ProcessRow, error)
	lockProcess             func(Q, context.Context, string) (driver.ProcessRow, int64, error)
	insertProcess           func(Q, context.Context, driver.ProcessRow) error
	updateProcess           func(Q, context.Context, driver.ProcessRow) error
	lister                  func(Q) sqlstore.Lister[driver.ProcessRow]
	listByWakeTargetSession func(Q, context.Context, string) ([]driver.ProcessRow, error)
	insertEvent             func(Q, context.Context, driver.EventRow) error
	eventByReplayKey        func(Q, context.Context, string, string) (driver.EventRow, error)
	eventsAfter             func(Q, context.Context, string, int64) ([]driver.EventRow, error)
	wakeEventsAfter         func(Q, context.Context, string, int64) ([]driver.EventRow, error)
	countEventsThrough      func(Q, context.Context, string, string, int64) (int64, error)
	recentEventsDesc        func(Q, context.Context, string, int32) ([]driver.EventRow, error)
	insertWakeAck           func(Q, context.Context, string, int64) error
	getGrant                func(Q, context.Context, string, string) (driver.GrantRow, error)
	upsertGrant             func(Q, context.Context, driver.GrantRow) error
	deleteGrant             func(Q, context.Context, string, string) error
	listGrantsByScope       func(Q, context.Context, string) ([]driver.GrantEntryRow, error)
	listGrantsByProcess     func(Q, context.Context, string) ([]driver.GrantRow, error)
	listGrantsBySession     func(Q, context.Context, string) ([]driver.GrantRow, error)
	deleteGrantsBySession   func(Q, context.Context, string) (int64, error)
	countGrantsForProcess   func(Q, context.Context, string) (int64, error)
	pruner                  func(Q) sqlstore.Pruner
}

// tx is driver.Tx over one database transaction's queries q.
type tx[Q any] struct {
	d   *Dialect
	ops *ops[Q]
	q   Q
	// nowMs is the database clock read by the latest LockProcess of this
	// transaction (haveNow), so LeaseNow costs no extra round trip.
	nowMs   int64
	haveNow bool
}

// fail wraps a storage error with the dialect, the operation and the id.
// Callers whose op is built (Sprintf, concatenation) call it only on error,
// so a successful statement allocates no message.
func (t *tx[Q]) fail(op, id string, err error) error {
	return fmt.Errorf("%s: %s %q: %w", t.d.Name, op, id, err)
}

// check wraps a storage error (see fail) and passes nil through.
func (t *tx[Q]) check(op, id string, err error) error {
	if err == nil {
		return nil
	}
	return t.fail(op, id, err)
}

// found maps a :one query's "no rows" to found == false.
func (t *tx[Q]) found(op, id string, err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case t.d.IsNoRows(err):
		return false, nil
	default:
		return false, t.fail(op, id, err)
	}
}

func (t *tx[Q]) LeaseNow(ctx context.Context) (time.Time, error) {
	if t.d.LeaseClock != nil {
		return core.TruncateTime(t.d.LeaseClock()), nil
	}
	if t.haveNow {
		return time.UnixMilli(t.nowMs).UTC(), nil
	}
	ms, err := t.ops.databaseNowMs(t.q, ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: read the database clock: %w", t.d.Name, err)
	}
	return time.UnixMilli(ms).UTC(), nil
}

func (t *tx[Q]) GetProcess(ctx context.Context, id string) (driver.ProcessRow, bool, error) {
	row, err := t.ops.getProcess(t.q, ctx, id)
	ok, err := t.found("read process", id, err)
	return row, ok, err
}

func (t *tx[Q]) LockProcess(ctx context.Context, id string) (driver.ProcessRow, bool, error) {
	row, now, err := t.ops.lockProcess(t.q, ctx, id)
	ok, err := t.found("lock process", id, err)
	if ok {
		t.nowMs, t.haveNow = now, true
	}
	return row, ok, err
}

func (t *tx[Q]) InsertProcess(ctx context.Context, row driver.ProcessRow) error {
	err := t.ops.insertProcess(t.q, ctx, row)
	if err != nil && t.d.IsUniqueViolation(err) {
		err = fmt.Errorf("%w: %w", ErrRetry, err)
	}
	return t.check("insert process", row.ID, err)
}

func (t *tx[Q]) UpdateProcess(ctx context.Context, row driver.ProcessRow) error {
	return t.check("update process", row.ID, t.ops.updateProcess(t.q, ctx, row))
}

func (t *tx[Q]) ListProcesses(ctx context.Context, q driver.ListQuery) ([]driver.ProcessRow, error) {
	rows, err := t.ops.lister(t.q).List(ctx, q)
	return rows, t.check("list processes with status", q.Status, err)
}

func (t *tx[Q]) ListProcessesByWakeTargetSession(ctx context.Context, sessionID string) ([]driver.ProcessRow, error) {
	rows, err := t.ops.listByWakeTargetSession(t.q, ctx, sessionID)
	return rows, t.check("list processes waking session", sessionID, err)
}

func (t *tx[Q]) InsertEvent(ctx context.Context, row driver.EventRow) error {
	if err := t.ops.insertEvent(t.q, ctx, row); err != nil {
		return t.fail(fmt.Sprintf("insert event %d of process", row.Sequence), row.ProcessID, err)
	}
	return nil
}

func (t *tx[Q]) EventByReplayKey(ctx context.Context, processID, replayKey string) (driver.EventRow, bool, error) {
	row, err := t.ops.eventByReplayKey(t.q, ctx, processID, replayKey)
	ok, err := t.found("find replay key of process", processID, err)
	return row, ok, err
}

func (t *tx[Q]) EventsAfter(ctx context.Context, processID string, after int64) ([]driver.EventRow, error) {
	rows, err := t.ops.eventsAfter(t.q, ctx, processID, after)
	return rows, t.check("list events of process", processID, err)
}

func (t *tx[Q]) WakeEventsAfter(ctx context.Context, processID string, after int64) ([]driver.EventRow, error) {
	rows, err := t.ops.wakeEventsAfter(t.q, ctx, processID, after)
	return rows, t.check("list wake events of process", processID, err)
}

func (t *tx[Q]) CountEventsThrough(ctx context.Context, processID, eventType string, upTo int64) (int64, error) {
	n, err := t.ops.countEventsThrough(t.q, ctx, processID, eventType, upTo)
	return n, t.check("count events of process", processID, err)
}

func (t *tx[Q]) RecentEvents(ctx context.Context, processID string, limit int64) ([]driver.EventRow, error) {
	// A LIMIT beyond int32 would return every event anyway.
	rows, err := t.ops.recentEventsDesc(t.q, ctx, processID, int32(min(limit, math.MaxInt32)))
	if err != nil {
		return nil, t.fail("list recent events of process", processID, err)
	}
	slices.Reverse(rows)
	return rows, nil
}

func (t *tx[Q]) InsertWakeAck(ctx context.Context, processID string, sequence int64) error {
	if err := t.ops.insertWakeAck(t.q, ctx, processID, sequence); err != nil {
		return t.fail(fmt.Sprintf("ack wake %d of process", sequence), processID, err)
	}
	return nil
}

func (t *tx[Q]) GetGrant(ctx context.Context, scopeID, processID string) (driver.GrantRow, bool, error) {
	row, err := t.ops.getGrant(t.q, ctx, scopeID, processID)
	if err != nil && !t.d.IsNoRows(err) {
		return row, false, t.fail("read grant of "+scopeID+" for process", processID, err)
	}
	return row, err == nil, nil
}

func (t *tx[Q]) UpsertGrant(ctx context.Context, row driver.GrantRow) error {
	if err := t.ops.upsertGrant(t.q, ctx, row); err != nil {
		return t.fail("grant "+row.ScopeID+" process", row.ProcessID, err)
	}
	return nil
}

func (t *tx[Q]) DeleteGrant(ctx context.Context, scopeID, processID string) error {
	if err := t.ops.deleteGrant(t.q, ctx, scopeID, processID); err != nil {
		return t.fail("revoke "+scopeID+" grant of process", processID, err)
	}
	return nil
}

func (t *tx[Q]) ListGrantsByScope(ctx context.Context, scopeID string) ([]driver.GrantEntryRow, error) {
	rows, err := t.ops.listGrantsByScope(t.q, ctx, scopeID)
	return rows, t.check("list grants of scope", scopeID, err)
}

func (t *tx[Q]) ListGrantsByProcess(ctx context.Context, processID string) ([]driver.GrantRow, error) {
	rows, err := t.ops.listGrantsByProcess(t.q, ctx, processID)
	return rows, t.check("list grants of process", processID, err)
}

func (t *tx[Q]) ListGrantsBySession(ctx context.Context, sessionID string) ([]driver.GrantRow, error) {
	rows, err := t.ops.listGrantsBySession(t.q, ctx, sessionID)
	return rows, t.check("list grants of session", sessionID, err)
}

func (t *tx[Q]) DeleteGrantsBySession(ctx context.Context, sessionID string) (int64, error) {
	n, err := t.ops.deleteGrantsBySession(t.q, ctx, sessionID)
	return n, t.check("delete grants of session", sessionID, err)
}

func (t *tx[Q]) CountGrantsForProcess(ctx context.Context, processID string) (int64, error) {
	n, err := t.ops.countGrantsForProcess(t.q, ctx, processID)
	return n, t.check("count grants of process", processID, err)
}

func (t *tx[Q]) PruneBatch(ctx context.Context, cutoffMs int64, limit int) (processes, events int64, err error) {
	processes, events, err = t.ops.pruner(t.q).Batch(ctx, cutoffMs, limit)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", t.d.Name, err)
	}
	return processes, events, nil
}
