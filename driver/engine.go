package driver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/core"
)

// The engine implements procreg.Registry once, over a Store, using the
// pure rules of internal/core. Every backend is a Store plus a constructor
// that calls NewRegistry, so all of them behave the same.
//
// Each mutating method commits in one store Write (one transaction), with
// three exceptions: with group commit on (Options.Group, group.go) the
// writes of one process — appends, completions, the fenced writes, the
// lease writes, AckWake and the record writes of mutate — that queue
// behind busy transactions share one Write with others, each still
// succeeding or failing on its own; PruneTerminalProcesses commits one
// Write per batch; and DeleteSessionProcessState rolls an attempt back and
// tries again, locking more processes, when a concurrent writer touched
// the session (see there). A RegisterProcess that loses an insert race reads the winner in
// one ReadOne. A read of one statement (GetProcess, GetProcessLease, the
// process listings, HasHandleGrant, the scope's grant listings) runs in
// one store ReadOne, one round trip on a server. The reads of a process's
// events or grants (EventsAfter, WakeEventsAfter, RecentEvents,
// CountEventsThrough, HandleGrantsForProcess) run their query in one
// ReadOne too, and only when it finds nothing do they run it again after
// an existence check in one store Read, a consistent snapshot (readKnown).
// Lease methods take every decision and timestamp from tx.LeaseNow (the
// database clock where the database has one); every other timestamp comes
// from Options.Clock, truncated to the millisecond.

// Options configure the engine.
type Options struct {
	// Clock supplies non-lease timestamps; nil means time.Now.
	Clock func() time.Time
	// Group turns group commit on (see GroupCommit and group.go); the zero
	// value leaves every call its own transaction.
	Group GroupCommit
}

// pruneBatch bounds how many processes one prune transaction deletes, so
// pruning never holds long locks.
const pruneBatch = 500

type engine struct {
	s     Store
	clock func() time.Time

	keyMu     sync.Mutex
	cursorKey []byte // the database's cursor secret, read once (see cursorSecret)

	group *combiner // nil: group commit is off
}

// NewRegistry returns the Registry that runs the contract over s.
func NewRegistry(s Store, o Options) procreg.Registry {
	clock := o.Clock
	if clock == nil {
		clock = time.Now
	}
	e := &engine{s: s, clock: clock}
	e.group = newCombiner(e, o.Group)
	return e
}

func (e *engine) now() time.Time { return core.TruncateTime(e.clock()) }

// begin checks, before any storage work and in this order, the context,
// the process id and then the other arguments' validation results (checks,
// computed by the caller): a cancelled call reports the cancellation even
// when its arguments are also bad.
func begin(ctx context.Context, op, id string, checks ...error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("procreg: %s process %q: %w", op, id, err)
	}
	if err := core.ValidateProcessID(id); err != nil {
		return err
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

// wrap names the operation and process on errors that do not yet wrap a
// procreg sentinel (storage and context failures); sentinel errors already
// say what failed.
func (e *engine) wrap(op, id string, err error) error {
	if err == nil || isSentinel(err) && !errors.Is(err, procreg.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("procreg: %s process %q: %w", op, id, err)
}

// write, read and readOne are the store's Write, Read and ReadOne with the
// store's error classification applied to what they return (see
// classified); every storage call of the engine goes through them.
func (e *engine) write(ctx context.Context, fn func(context.Context, Tx) error) error {
	return e.classified(ctx, e.s.Write(ctx, fn))
}

func (e *engine) read(ctx context.Context, fn func(context.Context, Tx) error) error {
	return e.classified(ctx, e.s.Read(ctx, fn))
}

func (e *engine) readOne(ctx context.Context, fn func(context.Context, Tx) error) error {
	return e.classified(ctx, e.s.ReadOne(ctx, fn))
}

// classified is the one place that interprets a storage error for the
// caller. Contract errors pass unchanged. When ctx is done the error is
// the context's (wrapping ctx.Err(), never ErrUnavailable). Otherwise it
// adds ErrSchemaMissing to ClassSchemaMissing, so callers can tell a
// database that needs migrating, and procreg.ErrUnavailable to the
// transient classes (ClassTransient: contention that outlasted the
// store's retries; ClassUnavailable: a lost or refused connection). A
// failed COMMIT (ErrCommitFailed) that was not a definite rollback (not
// ClassTransient) leaves the outcome unknown, and the message says so.
func (e *engine) classified(ctx context.Context, err error) error {
	if err == nil || isSentinel(err) {
		return err
	}
	class := e.s.Classify(err)
	unknown := ""
	if errors.Is(err, ErrCommitFailed) && class != ClassTransient {
		unknown = "the commit was interrupted, so the outcome of this write is unknown (it may have been applied; a retry with replay keys is safe): "
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) && unknown == "" {
			return err
		}
		return fmt.Errorf("%w: %s%v", cerr, unknown, err)
	}
	switch class {
	case ClassSchemaMissing:
		return fmt.Errorf("%w: %w", ErrSchemaMissing, err)
	case ClassTransient, ClassUnavailable:
		return fmt.Errorf("%w: %s%w", procreg.ErrUnavailable, unknown, err)
	}
	if unknown != "" {
		return fmt.Errorf("%s%w", unknown, err)
	}
	return err
}

// sentinels are the contract's errors; they already name the process.
var sentinels = []error{procreg.ErrNotFound, procreg.ErrInvalid, procreg.ErrRegistrationConflict,
	procreg.ErrExternalRefConflict, procreg.ErrReplayConflict, procreg.ErrTerminal,
	procreg.ErrNotGranted, procreg.ErrLeaseLost, procreg.ErrUnavailable}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func notFound(id string) error {
	return fmt.Errorf("%w: process %q is not registered", procreg.ErrNotFound, id)
}

// lock reads a process under a row lock, ErrNotFound when absent.
func lock(ctx context.Context, tx Tx, id string) (ProcessRow, error) {
	row, found, err := tx.LockProcess(ctx, id)
	if err != nil {
		return row, err
	}
	if !found {
		return row, notFound(id)
	}
	return row, nil
}

// known reads a process, ErrNotFound when absent.
func known(ctx context.Context, tx Tx, id string) (ProcessRow, error) {
	row, found, err := tx.GetProcess(ctx, id)
	if err != nil {
		return row, err
	}
	if !found {
		return row, notFound(id)
	}
	return row, nil
}

func (e *engine) DurabilityTier() procreg.DurabilityTier { return e.s.Tier() }

func (e *engine) Close() error { return e.s.Close() }

func (e *engine) RegisterProcess(ctx context.Context, reg procreg.Registration) (procreg.Record, error) {
	const op = "register"
	if err := begin(ctx, op, reg.ID); err != nil {
		return procreg.Record{}, err
	}
	p, err := core.PrepareRegistration(reg)
	if err != nil {
		return procreg.Record{}, err
	}
	now := e.now()
	var rec procreg.Record
	err = e.write(ctx, func(ctx context.Context, tx Tx) error {
		row, found, err := tx.LockProcess(ctx, reg.ID)
		if err != nil {
			return err
		}
		if found {
			if row.RegistrationHash != p.Hash {
				return registrationConflict(reg.ID, row.RegistrationHash, p.Hash)
			}
		} else {
			row = newProcessRow(p, now)
			if err := tx.InsertProcess(ctx, row); err != nil {
				return err
			}
		}
		rec, err = toRecord(row)
		return err
	})
	if err != nil && !isSentinel(err) && ctx.Err() == nil {
		// Two registrations of a new id can race: both find no row and
		// the loser's insert fails on the primary key. The winner's row
		// decides: the same spec is the idempotent answer, another is a
		// conflict.
		if winner, found := e.registered(ctx, reg.ID); found {
			if winner.RegistrationHash != p.Hash {
				return procreg.Record{}, registrationConflict(reg.ID, winner.RegistrationHash, p.Hash)
			}
			return winner, nil
		}
	}
	return rec, e.wrap(op, reg.ID, err)
}

// registrationConflict is the error for registering id again with another
// spec than the stored one.
func registrationConflict(id, stored, hash string) error {
	return fmt.Errorf("%w: process %q is already registered with another spec (hash %s, new %s)",
		procreg.ErrRegistrationConflict, id, stored, hash)
}

// registered reads a process after a failed registration write.
func (e *engine) registered(ctx context.Context, id string) (procreg.Record, bool) {
	var rec procreg.Record
	found := false
	err := e.readOne(ctx, func(ctx context.Context, tx Tx) error {
		row, ok, err := tx.GetProcess(ctx, id)
		if err != nil || !ok {
			return err
		}
		rec, err = toRecord(row)
		found = err == nil
		return err
	})
	return rec, err == nil && found
}

// mutate runs fn on a locked process row in one write and returns the
// resulting record; check is the validation result of fn's other
// arguments. fn reports whether it changed the row; a changed row is
// written back.
func (e *engine) mutate(ctx context.Context, op, id string, check error, fn func(row *ProcessRow) (bool, error)) (procreg.Record, error) {
	if err := begin(ctx, op, id, check); err != nil {
		return procreg.Record{}, err
	}
	var rec procreg.Record
	err := e.writeOne(ctx, id, func(ctx context.Context, tx Tx) error {
		row, err := lock(ctx, tx, id)
		if err != nil {
			return err
		}
		changed, err := fn(&row)
		if err != nil {
			return err
		}
		if changed {
			if err := tx.UpdateProcess(ctx, row); err != nil {
				return err
			}
		}
		rec, err = toRecord(row)
		return err
	})
	return rec, e.wrap(op, id, err)
}

func (e *engine) SetExternalRef(ctx context.Context, processID string, ref procreg.ExternalRef) (procreg.Record, error) {
	check := core.ValidateExternalRef(processID, ref)
	meta, err := core.NormalizeOptionalJSON(ref.Metadata)
	if err != nil && check == nil {
		check = fmt.Errorf("external ref metadata of process %q: %w", processID, err)
	}
	now := e.now()
	return e.mutate(ctx, "set external ref of", processID, check, func(row *ProcessRow) (bool, error) {
		if row.ExternalRefBackend == "" {
			row.ExternalRefBackend, row.ExternalRefID, row.ExternalRefMetadata = ref.Backend, ref.ID, string(meta)
			row.UpdatedAtMs = ms(now)
			return true, nil
		}
		if row.ExternalRefBackend == ref.Backend && row.ExternalRefID == ref.ID &&
			core.JSONEqual([]byte(row.ExternalRefMetadata), meta) {
			return false, nil
		}
		return false, fmt.Errorf("%w: process %q already has external ref %s/%s", procreg.ErrExternalRefConflict,
			processID, row.ExternalRefBackend, row.ExternalRefID)
	})
}

func (e *engine) GrantHandle(ctx context.Context, scope procreg.SessionScope, processID string, d procreg.HandleDescriptor) (procreg.HandleGrant, error) {
	const op = "grant handle to"
	if err := begin(ctx, op, processID, scopeCheck(op, processID, scope),
		core.ValidateDescriptor(processID, d)); err != nil {
		return procreg.HandleGrant{}, err
	}
	g := GrantRow{ScopeID: scope.ID(), ProcessID: processID, SessionID: scope.SessionID,
		DescriptorKind: d.Kind, DescriptorLabel: d.Label}
	err := e.write(ctx, func(ctx context.Context, tx Tx) error {
		if _, err := lock(ctx, tx, processID); err != nil {
			return err
		}
		return tx.UpsertGrant(ctx, g)
	})
	if err != nil {
		return procreg.HandleGrant{}, e.wrap(op, processID, err)
	}
	return toGrant(g), nil
}

// scopeCheck validates the scope argument of a grant operation on processID.
func scopeCheck(op, processID string, scope procreg.SessionScope) error {
	if err := core.ValidateScope(scope); err != nil {
		return fmt.Errorf("%s process %q: %w", op, processID, err)
	}
	return nil
}

func toGrant(g GrantRow) procreg.HandleGrant {
	return procreg.HandleGrant{SessionID: g.SessionID, ProcessID: g.ProcessID,
		Descriptor: procreg.HandleDescriptor{Kind: g.DescriptorKind, Label: g.DescriptorLabel}}
}

func (e *engine) RevokeHandle(ctx context.Context, scope procreg.SessionScope, processID string) error {
	const op = "revoke handle to"
	if err := begin(ctx, op, processID, scopeCheck(op, processID, scope)); err != nil {
		return err
	}
	return e.wrap(op, processID, e.write(ctx, func(ctx context.Context, tx Tx) error {
		// Grants change only under their process's lock, so that a
		// transfer or a session delete holding it sees a stable set.
		if _, found, err := tx.LockProcess(ctx, processID); err != nil || !found {
			return err // an unknown process has no grant: a no-op
		}
		return tx.DeleteGrant(ctx, scope.ID(), processID)
	}))
}

func (e *engine) TransferHandleGrants(ctx context.Context, from, to procreg.SessionScope, processIDs []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("procreg: transfer handle grants from %q: %w", from.ID(), err)
	}
	if err := core.ValidateScope(from); err != nil {
		return fmt.Errorf("transfer handle grants: %w", err)
	}
	if err := core.ValidateScope(to); err != nil {
		return fmt.Errorf("transfer handle grants: %w", err)
	}
	ids := slices.Clone(processIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		if err := core.ValidateProcessID(id); err != nil {
			return err
		}
	}
	err := e.write(ctx, func(ctx context.Context, tx Tx) error {
		// Lock every process first, in id order, the order every other
		// multi-process writer that waits for locks uses (delete-session;
		// prune skips locked rows instead of waiting on PostgreSQL and
		// MySQL, and SQLite has one writer): grants change only under their
		// process's lock, so a concurrent revoke cannot be undone by the
		// move and a concurrent prune leaves no process (ErrNotGranted)
		// rather than a grant insert failing on its foreign key.
		for _, id := range ids {
			if _, found, err := tx.LockProcess(ctx, id); err != nil {
				return err
			} else if !found {
				return fmt.Errorf("%w: process %q is not registered, so not granted to %s; nothing was transferred",
					procreg.ErrNotGranted, id, from.ID())
			}
		}
		grants := make([]GrantRow, 0, len(ids))
		for _, id := range ids {
			g, found, err := tx.GetGrant(ctx, from.ID(), id)
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("%w: process %q is not granted to %s; nothing was transferred",
					procreg.ErrNotGranted, id, from.ID())
			}
			grants = append(grants, g)
		}
		if from.ID() == to.ID() {
			return nil
		}
		for _, g := range grants {
			if err := tx.DeleteGrant(ctx, g.ScopeID, g.ProcessID); err != nil {
				return err
			}
			g.ScopeID, g.SessionID = to.ID(), to.SessionID
			if err := tx.UpsertGrant(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, procreg.ErrNotGranted) {
		return fmt.Errorf("procreg: transfer handle grants from %s to %s: %w", from.ID(), to.ID(), err)
	}
	return err
}

func (e *engine) listGrants(ctx context.Context, scope procreg.SessionScope, liveOnly bool) ([]procreg.HandleGrantEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("procreg: list handle grants of %s: %w", scope.ID(), err)
	}
	if err := core.ValidateScope(scope); err != nil {
		return nil, fmt.Errorf("list handle grants: %w", err)
	}
	out := []procreg.HandleGrantEntry{}
	err := e.readOne(ctx, func(ctx context.Context, tx Tx) error {
		rows, err := tx.ListGrantsByScope(ctx, scope.ID())
		if err != nil {
			return err
		}
		for _, r := range rows {
			if liveOnly && r.Process.Status != procreg.StateRunning {
				continue
			}
			rec, err := toRecord(r.Process)
			if err != nil {
				return err
			}
			out = append(out, procreg.HandleGrantEntry{Grant: toGrant(r.Grant), Process: rec})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("procreg: list handle grants of %s: %w", scope.ID(), err)
	}
	return out, nil
}

func (e *engine) ListHandleGrants(ctx context.Context, scope procreg.SessionScope) ([]procreg.HandleGrantEntry, error) {
	return e.listGrants(ctx, scope, false)
}

func (e *engine) ListLiveHandleGrants(ctx context.Context, scope procreg.SessionScope) ([]procreg.HandleGrantEntry, error) {
	return e.listGrants(ctx, scope, true)
}

func (e *engine) HasHandleGrant(ctx context.Context, scope procreg.SessionScope, processID string) (bool, error) {
	const op = "check handle grant of"
	if err := begin(ctx, op, processID, scopeCheck(op, processID, scope)); err != nil {
		return false, err
	}
	var has bool
	err := e.readOne(ctx, func(ctx context.Context, tx Tx) error {
		_, found, err := tx.GetGrant(ctx, scope.ID(), processID)
		has = found
		return err
	})
	return has, e.wrap(op, processID, err)
}

func (e *engine) HandleGrantsForProcess(ctx context.Context, processID string) ([]procreg.HandleGrant, error) {
	rows, err := readKnown(ctx, e, "list handle grants of", processID, nil, func(ctx context.Context, tx Tx) ([]GrantRow, error) {
		return tx.ListGrantsByProcess(ctx, processID)
	}, some)
	if err != nil {
		return nil, err
	}
	out := make([]procreg.HandleGrant, 0, len(rows))
	for _, g := range rows {
		out = append(out, toGrant(g))
	}
	return out, nil
}

// appendTx runs one append inside a write: lock, replay lookup (only with a
// replay key), insert, update. It returns the plan and the updated row.
func (e *engine) appendTx(ctx context.Context, tx Tx, processID string, req procreg.AppendRequest, now time.Time) (core.AppendPlan, ProcessRow, error) {
	row, err := lock(ctx, tx, processID)
	if err != nil {
		return core.AppendPlan{}, row, err
	}
	return e.appendLocked(ctx, tx, row, req, now)
}

// appendLocked is appendTx on a row the transaction has already locked
// (the fenced writes lock it to check the lease first).
func (e *engine) appendLocked(ctx context.Context, tx Tx, row ProcessRow, req procreg.AppendRequest, now time.Time) (core.AppendPlan, ProcessRow, error) {
	processID := row.ID
	p, err := core.LoadPrepared(row.RegistrationHash, []byte(row.Spec))
	if err != nil {
		return core.AppendPlan{}, row, err
	}
	in := core.AppendInput{
		ProcessID:    processID,
		Prepared:     p,
		State:        row.Status,
		LastSequence: uint64(row.LastSequence),
		Now:          now,
	}
	if row.WakeTargetSession != "" {
		in.WakeTarget = &procreg.SessionScope{SessionID: row.WakeTargetSession, AgentFrameID: row.WakeTargetFrame}
	}
	if req.ReplayKey != "" {
		evRow, found, err := tx.EventByReplayKey(ctx, processID, req.ReplayKey)
		if err != nil {
			return core.AppendPlan{}, row, err
		}
		if found {
			ev, err := toEvent(evRow)
			if err != nil {
				return core.AppendPlan{}, row, err
			}
			in.Replayed = &ev
			in.ReplayedWakeTarget = wakeTarget(evRow)
		}
	}
	plan, err := core.PlanAppend(in, req)
	if err != nil {
		return plan, row, err
	}
	if plan.Insert {
		evRow, err := eventRow(plan.Event, plan.WakeTarget)
		if err != nil {
			return plan, row, err
		}
		if err := tx.InsertEvent(ctx, evRow); err != nil {
			return plan, row, err
		}
		row.LastSequence = evRow.Sequence
		row.UpdatedAtMs = evRow.OccurredAtMs
	}
	if plan.Status != nil {
		if err := setStatus(&row, *plan.Status); err != nil {
			return plan, row, err
		}
		if !plan.Insert {
			row.UpdatedAtMs = ms(now)
		}
	}
	if plan.Insert || plan.Status != nil {
		if err := tx.UpdateProcess(ctx, row); err != nil {
			return plan, row, err
		}
	}
	return plan, row, nil
}

func (e *engine) AppendEvent(ctx context.Context, processID string, req procreg.AppendRequest) (procreg.AppendResult, error) {
	const op = "append event to"
	// The request's strings are checked before the replay-key lookup uses them.
	if err := begin(ctx, op, processID, core.ValidateAppendRequest(processID, req)); err != nil {
		return procreg.AppendResult{}, err
	}
	now := e.now()
	var res procreg.AppendResult
	err := e.writeOne(ctx, processID, func(ctx context.Context, tx Tx) error {
		plan, _, err := e.appendTx(ctx, tx, processID, req, now)
		res = procreg.AppendResult{Event: plan.Event, WakeDelivery: plan.WakeDelivery}
		return err
	})
	if err != nil {
		return procreg.AppendResult{}, e.wrap(op, processID, err)
	}
	return res, nil
}

func (e *engine) CompleteProcess(ctx context.Context, processID string, out procreg.AwaitOutput) (procreg.Record, error) {
	const op = "complete"
	if err := begin(ctx, op, processID); err != nil {
		return procreg.Record{}, err
	}
	req, err := core.CompletionRequest(processID, out)
	if err != nil {
		return procreg.Record{}, err
	}
	now := e.now()
	var rec procreg.Record
	err = e.writeOne(ctx, processID, func(ctx context.Context, tx Tx) error {
		_, row, err := e.appendTx(ctx, tx, processID, req, now)
		if err != nil {
			return err
		}
		rec, err = toRecord(row)
		return err
	})
	return rec, e.wrap(op, processID, err)
}

// readKnown runs q, a query of one statement on processID's rows (events,
// grants), and fails with ErrNotFound when processID is not registered;
// check is the validation result of q's other arguments. q runs alone
// first (ReadOne, one round trip): rows of a process are deleted with it,
// in one transaction, so a result that found some (found) proves the
// process existed at that statement's snapshot and is the answer. Only a
// result that found none needs the existence check, in one Read with q
// again, so that both see one snapshot: an empty answer for a registered
// process, or ErrNotFound.
func readKnown[T any](ctx context.Context, e *engine, op, processID string, check error,
	q func(ctx context.Context, tx Tx) (T, error), found func(T) bool) (T, error) {
	var out, zero T
	if err := begin(ctx, op, processID, check); err != nil {
		return zero, err
	}
	err := e.readOne(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		out, err = q(ctx, tx)
		return err
	})
	if err == nil && found(out) {
		return out, nil
	}
	if err != nil {
		return zero, e.wrap(op, processID, err)
	}
	err = e.read(ctx, func(ctx context.Context, tx Tx) error {
		if _, err := known(ctx, tx, processID); err != nil {
			return err
		}
		var err error
		out, err = q(ctx, tx)
		return err
	})
	if err != nil {
		return zero, e.wrap(op, processID, err)
	}
	return out, nil
}

// some is readKnown's found for a list.
func some[T any](rows []T) bool { return len(rows) > 0 }

// readEvents runs an event query on a known process.
func (e *engine) readEvents(ctx context.Context, op, processID string, check error, q func(ctx context.Context, tx Tx) ([]EventRow, error)) ([]procreg.Event, error) {
	rows, err := readKnown(ctx, e, op, processID, check, q, some)
	if err != nil {
		return nil, err
	}
	events, err := mapRows(rows, toEvent)
	if err != nil {
		return nil, e.wrap(op, processID, err)
	}
	return events, nil
}

func (e *engine) EventsAfter(ctx context.Context, processID string, afterSequence uint64) ([]procreg.Event, error) {
	return e.readEvents(ctx, "read events of", processID, nil, func(ctx context.Context, tx Tx) ([]EventRow, error) {
		return tx.EventsAfter(ctx, processID, clampSeq(afterSequence))
	})
}

func (e *engine) WakeEventsAfter(ctx context.Context, processID string, afterSequence uint64) ([]procreg.Event, error) {
	return e.readEvents(ctx, "read wake events of", processID, nil, func(ctx context.Context, tx Tx) ([]EventRow, error) {
		return tx.WakeEventsAfter(ctx, processID, clampSeq(afterSequence))
	})
}

func (e *engine) RecentEvents(ctx context.Context, processID string, limit int) ([]procreg.Event, error) {
	var check error
	if limit < 0 {
		check = fmt.Errorf("%w: recent events of process %q: negative limit %d", procreg.ErrInvalid, processID, limit)
	}
	return e.readEvents(ctx, "read recent events of", processID, check, func(ctx context.Context, tx Tx) ([]EventRow, error) {
		if limit == 0 {
			return nil, nil
		}
		return tx.RecentEvents(ctx, processID, int64(limit))
	})
}

func (e *engine) CountEventsThrough(ctx context.Context, processID, eventType string, upToSequence uint64) (uint64, error) {
	n, err := readKnown(ctx, e, "count events of", processID, core.ValidateName(processID, "event type", eventType),
		func(ctx context.Context, tx Tx) (int64, error) {
			return tx.CountEventsThrough(ctx, processID, eventType, clampSeq(upToSequence))
		}, func(n int64) bool { return n > 0 })
	return uint64(n), err
}

func (e *engine) AckWake(ctx context.Context, processID string, sequence uint64) error {
	const op = "ack wake of"
	if err := begin(ctx, op, processID); err != nil {
		return err
	}
	return e.wrap(op, processID, e.writeOne(ctx, processID, func(ctx context.Context, tx Tx) error {
		if _, err := lock(ctx, tx, processID); err != nil {
			return err
		}
		return tx.InsertWakeAck(ctx, processID, clampSeq(sequence))
	}))
}

func (e *engine) RecordFirstStarted(ctx context.Context, processID string, s procreg.Started) (procreg.Record, error) {
	check := core.ValidateStarted(processID, s)
	owner, err := jsonText(s.Owner)
	if err != nil && check == nil {
		check = fmt.Errorf("%w: first-started owner of process %q: %v", procreg.ErrInvalid, processID, err)
	}
	now := e.now()
	return e.mutate(ctx, "record first start of", processID, check, func(row *ProcessRow) (bool, error) {
		if row.FirstStartedOwner != "" {
			return false, nil
		}
		row.FirstStartedOwner, row.FirstStartedAtMs = owner, ms(s.At)
		row.UpdatedAtMs = ms(now)
		return true, nil
	})
}

func (e *engine) RequestProcessAbandon(ctx context.Context, processID string, r procreg.AbandonRequest) (procreg.Record, error) {
	now := e.now()
	return e.mutate(ctx, "request abandon of", processID, core.ValidateAbandonRequest(processID, r), func(row *ProcessRow) (bool, error) {
		if row.Status != procreg.StateRunning {
			return false, fmt.Errorf("%w: process %q is already %s; nothing to abandon", procreg.ErrTerminal, processID, row.Status)
		}
		if row.AbandonRequested {
			return false, nil
		}
		row.AbandonRequested = true
		row.AbandonRequestedBy, row.AbandonRequestedAtMs, row.AbandonReason = r.RequestedBy, ms(r.RequestedAt), r.Reason
		row.UpdatedAtMs = ms(now)
		return true, nil
	})
}

func (e *engine) SetProcessWait(ctx context.Context, processID string, w procreg.WaitState) (procreg.Record, error) {
	now := e.now()
	return e.mutate(ctx, "set wait of", processID, core.ValidateWaitState(processID, w), func(row *ProcessRow) (bool, error) {
		if row.Status != procreg.StateRunning {
			return false, fmt.Errorf("%w: process %q is already %s; it cannot wait", procreg.ErrTerminal, processID, row.Status)
		}
		next := *row
		next.Waiting = true
		next.WaitKind, next.WaitName, next.WaitEventType, next.WaitKey = w.Kind, w.Name, w.EventType, w.Key
		next.WaitOrdinal, next.WaitSinceMs = int64(w.Ordinal), ms(w.Since) // bit conversion: read back as uint64
		if next == *row {
			return false, nil
		}
		next.UpdatedAtMs = ms(now)
		*row = next
		return true, nil
	})
}

func (e *engine) ClearProcessWait(ctx context.Context, processID string) (procreg.Record, error) {
	now := e.now()
	return e.mutate(ctx, "clear wait of", processID, nil, func(row *ProcessRow) (bool, error) {
		if !row.Waiting {
			return false, nil
		}
		clearWait(row)
		row.UpdatedAtMs = ms(now)
		return true, nil
	})
}

func (e *engine) GetProcess(ctx context.Context, processID string) (procreg.Record, error) {
	const op = "get"
	if err := begin(ctx, op, processID); err != nil {
		return procreg.Record{}, err
	}
	var rec procreg.Record
	err := e.readOne(ctx, func(ctx context.Context, tx Tx) error {
		row, err := known(ctx, tx, processID)
		if err != nil {
			return err
		}
		rec, err = toRecord(row)
		return err
	})
	return rec, e.wrap(op, processID, err)
}

func (e *engine) list(ctx context.Context, q ListQuery) ([]procreg.Record, error) {
	var out []procreg.Record
	err := e.readOne(ctx, func(ctx context.Context, tx Tx) error {
		rows, err := tx.ListProcesses(ctx, q)
		if err != nil {
			return err
		}
		out, err = mapRows(rows, toRecord)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("procreg: list processes: %w", err)
	}
	return out, nil
}

func (e *engine) ListProcesses(ctx context.Context, f procreg.ListFilter) ([]procreg.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("procreg: list processes: %w", err)
	}
	c, err := core.Criteria(f)
	if err != nil {
		return nil, err
	}
	return e.list(ctx, ListQuery{Status: c.State, DefinitionFingerprint: c.DefinitionFingerprint, Waiting: c.Waiting})
}

func (e *engine) ListNonTerminal(ctx context.Context) ([]procreg.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("procreg: list non-terminal processes: %w", err)
	}
	return e.list(ctx, ListQuery{Status: procreg.StateRunning})
}

// leaseWrite runs a lease decision on a locked process row in one write,
// using the store's lease clock. missing is the error for an unknown
// process; nil means unknown processes are ErrNotFound-free no-ops. check
// is the validation result of the other arguments, reported before any
// lookup so that a bad owner is ErrInvalid even for an unknown process.
func (e *engine) leaseWrite(ctx context.Context, op, processID string, requireRunning bool, missing, check error,
	decide func(st core.LeaseState, now time.Time) (core.LeaseDecision, error)) (procreg.LeaseClaim, error) {
	if err := begin(ctx, op, processID, check); err != nil {
		return procreg.LeaseClaim{}, err
	}
	var claim procreg.LeaseClaim
	err := e.writeOne(ctx, processID, func(ctx context.Context, tx Tx) error {
		row, found, err := tx.LockProcess(ctx, processID)
		if err != nil {
			return err
		}
		if !found {
			return missing
		}
		if requireRunning && row.Status != procreg.StateRunning {
			return fmt.Errorf("%w: process %q is already %s; finished work is never leased again", procreg.ErrTerminal, processID, row.Status)
		}
		now, err := tx.LeaseNow(ctx)
		if err != nil {
			return err
		}
		st, err := leaseState(row)
		if err != nil {
			return err
		}
		d, err := decide(st, now)
		if err != nil {
			return err
		}
		claim = d.Claim
		if !d.Write {
			return nil
		}
		if err := setLease(&row, d.Next); err != nil {
			return err
		}
		return tx.UpdateProcessLease(ctx, row) // not a record change: keeps its change-feed place
	})
	if err != nil {
		return procreg.LeaseClaim{}, e.wrap(op, processID, err)
	}
	return claim, nil
}

// ownerCheck validates a claimant and ttl before any lookup (the lease
// decisions check them again, as pure functions must).
func ownerCheck(processID string, owner procreg.LeaseOwner, ttl time.Duration) error {
	if err := core.ValidateLeaseOwner(processID, owner); err != nil {
		return err
	}
	_, err := core.LeaseExpiry(processID, time.Time{}, ttl)
	return err
}

func (e *engine) ClaimProcessLease(ctx context.Context, processID string, owner procreg.LeaseOwner, ttl time.Duration) (procreg.LeaseClaim, error) {
	return e.leaseWrite(ctx, "claim lease of", processID, true, notFound(processID), ownerCheck(processID, owner, ttl),
		func(st core.LeaseState, now time.Time) (core.LeaseDecision, error) {
			return core.DecideClaim(processID, st, owner, ttl, now)
		})
}

func (e *engine) ReclaimProcessLease(ctx context.Context, processID string, owner procreg.LeaseOwner, observed procreg.Lease, ttl time.Duration) (procreg.LeaseClaim, error) {
	return e.leaseWrite(ctx, "reclaim lease of", processID, true, notFound(processID), ownerCheck(processID, owner, ttl),
		func(st core.LeaseState, now time.Time) (core.LeaseDecision, error) {
			return core.DecideReclaim(processID, st, owner, observed, ttl, now)
		})
}

func (e *engine) RenewProcessLease(ctx context.Context, l procreg.Lease, ttl time.Duration) (procreg.Lease, error) {
	claim, err := e.leaseWrite(ctx, "renew lease of", l.ProcessID, false, core.LeaseLost(l.ProcessID), nil,
		func(st core.LeaseState, now time.Time) (core.LeaseDecision, error) {
			return core.DecideRenew(st, l, ttl, now)
		})
	return claim.Lease, err
}

func (e *engine) CompleteProcessLease(ctx context.Context, c procreg.LeaseCompletion) error {
	_, err := e.leaseWrite(ctx, "release lease of", c.ProcessID, false, nil, nil,
		func(st core.LeaseState, _ time.Time) (core.LeaseDecision, error) {
			return core.DecideRelease(st, c.Token), nil
		})
	return err
}

func (e *engine) GetProcessLease(ctx context.Context, processID string) (*procreg.Lease, error) {
	const op = "read lease of"
	if err := begin(ctx, op, processID); err != nil {
		return nil, err
	}
	var out *procreg.Lease
	err := e.readOne(ctx, func(ctx context.Context, tx Tx) error {
		row, found, err := tx.GetProcess(ctx, processID)
		if err != nil || !found {
			return err
		}
		st, err := leaseState(row)
		out = st.Current
		return err
	})
	if err != nil {
		return nil, e.wrap(op, processID, err)
	}
	return out, nil
}

func (e *engine) PruneTerminalProcesses(ctx context.Context, cutoff time.Time) (procreg.PruneReport, error) {
	var rep procreg.PruneReport
	cutoffMs := ms(cutoff)
	for {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("procreg: prune terminal processes: %w", err)
		}
		var procs, events int64
		err := e.write(ctx, func(ctx context.Context, tx Tx) error {
			var err error
			procs, events, err = tx.PruneBatch(ctx, cutoffMs, pruneBatch)
			return err
		})
		if err != nil {
			return rep, fmt.Errorf("procreg: prune terminal processes: %w", err)
		}
		rep.PrunedProcesses += int(procs)
		rep.PrunedEvents += int(events)
		// A short batch ends the pass, also when it was short because the
		// server backends skipped rows other transactions held locked (they
		// are pruned by a later call): the loop never spins on them.
		if procs < pruneBatch {
			return rep, nil
		}
	}
}
