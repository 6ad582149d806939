package driver

import (
	"context"
	"fmt"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/core"
)

// Fenced writes (SPEC §10): AppendEventWithLease and
// CompleteProcessWithLease. Each is one store Write that locks the process
// row, reads the lease clock (tx.LeaseNow: on the servers the database
// clock read by that same LockProcess statement, so the check costs no
// extra round trip), decides with core.LeaseHeld whether the presented
// lease is the live one, and only then runs the write of AppendEvent or
// CompleteProcess on the locked row. The rules chosen where SPEC §10 is
// silent (docs/design.md, "Fenced writes"):
//
//   - The lease check comes first. A lease that is not live (never taken,
//     released, expired, superseded, a wrong token, incarnation or fencing
//     token) is ErrLeaseLost, whatever the request: also for an unknown
//     process (as RenewProcessLease), for a terminal process (a released
//     lease is not live; the message names the terminal state) and for a
//     request whose replay key is already stored (replay works while the
//     lease is live).
//   - With the lease live, the append follows SPEC §5 Events unchanged: a
//     terminal event on a terminal process (one ended by a plain,
//     unfenced write while the lease was held) is ErrTerminal, a
//     non-terminal event is stored, a stored replay key replays.
//   - CompleteProcessWithLease writes the terminal event (as
//     CompleteProcess: replay key process:<id>:terminal:<type>) and
//     releases the lease (clears owner, token and times, keeps the fencing
//     token) in the same transaction, also when the completion replays an
//     identical one stored before.
//   - An identical repeat of a successful fenced completion returns the
//     stored record. Identical means: the process is terminal; the
//     completion's replay key holds an event of the same type and payload
//     (the same AwaitOutput, compared by meaning); the stored lease is
//     released and its fencing token is the presented lease's (no lease
//     was issued after it, core.ReleasedBy). The token cannot be compared,
//     release cleared it. Nothing is written. Any other completion without
//     the live lease — a different output, or the lease superseded before
//     the completion — is ErrLeaseLost.

func (e *engine) AppendEventWithLease(ctx context.Context, lease procreg.Lease, req procreg.AppendRequest) (procreg.AppendResult, error) {
	const op = "append event (fenced) to"
	id := lease.ProcessID
	if err := begin(ctx, op, id, core.ValidateAppendRequest(id, req)); err != nil {
		return procreg.AppendResult{}, err
	}
	now := e.now()
	var res procreg.AppendResult
	err := e.writeOne(ctx, id, func(ctx context.Context, tx Tx) error {
		f, err := fence(ctx, tx, lease)
		if err != nil {
			return err
		}
		if !f.held {
			return f.lost()
		}
		plan, _, err := e.appendLocked(ctx, tx, f.row, req, now)
		res = procreg.AppendResult{Event: plan.Event, WakeDelivery: plan.WakeDelivery}
		return err
	})
	if err != nil {
		return procreg.AppendResult{}, e.wrap(op, id, err)
	}
	return res, nil
}

func (e *engine) CompleteProcessWithLease(ctx context.Context, lease procreg.Lease, out procreg.AwaitOutput) (procreg.Record, error) {
	const op = "complete (fenced)"
	id := lease.ProcessID
	if err := begin(ctx, op, id); err != nil {
		return procreg.Record{}, err
	}
	req, err := core.CompletionRequest(id, out)
	if err != nil {
		return procreg.Record{}, err
	}
	now := e.now()
	var rec procreg.Record
	err = e.writeOne(ctx, id, func(ctx context.Context, tx Tx) error {
		f, err := fence(ctx, tx, lease)
		if err != nil {
			return err
		}
		if !f.held {
			same, err := f.repeats(ctx, tx, req)
			if err != nil {
				return err
			}
			if !same {
				return f.lost()
			}
			rec, err = toRecord(f.row)
			return err
		}
		// Release first, so that the append's one UpdateProcess writes the
		// terminal status and the released lease together.
		row := f.row
		if err := setLease(&row, core.LeaseState{FencingToken: f.st.FencingToken}); err != nil {
			return err
		}
		plan, row, err := e.appendLocked(ctx, tx, row, req, now)
		if err != nil {
			return err
		}
		if !plan.Insert && plan.Status == nil {
			// A replay of an identical completion stored by a plain write:
			// nothing else changed, but the lease is still released (a
			// lease write, not a record change for the feed).
			if err := tx.UpdateProcessLease(ctx, row); err != nil {
				return err
			}
		}
		rec, err = toRecord(row)
		return err
	})
	return rec, e.wrap(op, id, err)
}

// fenced is a locked process row with its lease and the outcome of the
// fence check of a presented lease.
type fenced struct {
	row   ProcessRow
	st    core.LeaseState
	lease procreg.Lease
	now   time.Time
	held  bool
	found bool
}

// fence locks the presented lease's process and checks, by the lease
// clock, whether the lease is its live lease (core.LeaseHeld).
func fence(ctx context.Context, tx Tx, lease procreg.Lease) (fenced, error) {
	f := fenced{lease: lease}
	row, found, err := tx.LockProcess(ctx, lease.ProcessID)
	if err != nil || !found {
		return f, err
	}
	now, err := tx.LeaseNow(ctx)
	if err != nil {
		return f, err
	}
	st, err := leaseState(row)
	if err != nil {
		return f, err
	}
	f.row, f.st, f.now, f.found = row, st, now, true
	f.held = core.LeaseHeld(st, lease, now)
	return f, nil
}

// repeats reports whether req is an identical repeat of the fenced
// completion under f.lease that already succeeded (see the rules above).
func (f fenced) repeats(ctx context.Context, tx Tx, req procreg.AppendRequest) (bool, error) {
	if !f.found || f.row.Status == procreg.StateRunning || !core.ReleasedBy(f.st, f.lease) {
		return false, nil
	}
	ev, found, err := tx.EventByReplayKey(ctx, f.row.ID, req.ReplayKey)
	if err != nil || !found {
		return false, err
	}
	return ev.EventType == req.EventType && ev.TerminalState == f.row.Status &&
		core.JSONEqual([]byte(ev.Payload), req.Payload), nil
}

// lost is the ErrLeaseLost error of a refused fenced write, saying what
// the registry found instead of the presented lease.
func (f fenced) lost() error {
	id, l, cur := f.lease.ProcessID, f.lease, f.st.Current
	var why string
	switch {
	case !f.found:
		why = "the process is not registered"
	case cur == nil || cur.Token == "":
		why = "the process holds no lease (never leased, or released)"
	case cur.FencingToken != l.FencingToken || cur.Token != l.Token || !cur.Owner.SameIncarnation(l.Owner):
		why = fmt.Sprintf("the stored lease is another (fencing token %d, owner %s/%s)", cur.FencingToken, cur.Owner.OwnerID, cur.Owner.IncarnationID)
	default:
		why = fmt.Sprintf("it expired at %s (lease clock %s)", cur.ExpiresAt.Format(time.RFC3339Nano), f.now.Format(time.RFC3339Nano))
	}
	if f.found && f.row.Status != procreg.StateRunning {
		why += "; the process is already " + f.row.Status
	}
	return core.FencedLeaseLost(id, l.FencingToken, why)
}
