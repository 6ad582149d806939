package driver

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/core"
)

// maxSessionAttempts bounds how often DeleteSessionProcessState widens its
// lock set before giving up; each attempt only repeats when another
// transaction granted the session a handle to, or made it the wake target
// of, a process the attempt had not locked.
const maxSessionAttempts = 10

// errWiden aborts a delete-session attempt whose locks did not cover every
// process the session touches; the next attempt locks the wider set.
var errWiden = errors.New("session touches processes not yet locked")

// DeleteSessionProcessState removes a session's grants and wake targets.
//
// Every process row it reads for the report or writes back is held under
// its row lock (tx.LockProcess, in id order so that two deletes, or a
// delete and a multi-process transfer, cannot deadlock; prune skips locked
// rows on the servers rather than waiting) before it is read:
// without the locks, a concurrent append or lease write would be
// overwritten by the stale row (lost sequence, lease or terminal status).
// Grants are created, revoked and moved only under their process's lock, so
// with every affected process locked the grant listing, the delete and the
// orphaned/preserved counts describe one state: the report is atomic with
// the delete. The set to lock is only known by listing, so an attempt locks
// the set the previous one found, lists again under those locks, and
// starts over with the union when the listing names a process it did not
// lock (the locks come first so that MySQL's snapshot is taken after them).
func (e *engine) DeleteSessionProcessState(ctx context.Context, sessionID string) (procreg.SessionDeleteReport, error) {
	if err := ctx.Err(); err != nil {
		return procreg.SessionDeleteReport{}, fmt.Errorf("procreg: delete state of session %q: %w", sessionID, err)
	}
	if err := core.ValidateSessionID(sessionID); err != nil {
		return procreg.SessionDeleteReport{}, fmt.Errorf("delete session state: %w", err)
	}
	now := e.now()
	var rep procreg.SessionDeleteReport
	var ids []string // sorted, the processes the next attempt locks
	var last error   // why the last attempt had to widen
	for range maxSessionAttempts {
		var wider []string
		err := e.write(ctx, func(ctx context.Context, tx Tx) error {
			var err error
			rep, wider, err = deleteSession(ctx, tx, sessionID, ids, ms(now))
			return err
		})
		if errors.Is(err, errWiden) {
			ids, last = wider, err
			continue
		}
		if err != nil {
			return procreg.SessionDeleteReport{}, fmt.Errorf("procreg: delete state of session %q: %w", sessionID, err)
		}
		return rep, nil
	}
	// Giving up is contention, not a fact about the session or a bad
	// argument, so no procreg sentinel fits: like a storage retry that ran
	// out, the error wraps its cause (the last attempt's) and the caller
	// may try again. Nothing was deleted.
	return procreg.SessionDeleteReport{}, fmt.Errorf("procreg: delete state of session %q: gave up after %d attempts, "+
		"nothing deleted: concurrent writes kept adding processes to the session: %w", sessionID, maxSessionAttempts, last)
}

// deleteSession is one attempt: lock ids, list what the session touches,
// and either return errWiden with the wider sorted set or delete and report.
func deleteSession(ctx context.Context, tx Tx, sessionID string, ids []string, nowMs int64) (procreg.SessionDeleteReport, []string, error) {
	rep := procreg.SessionDeleteReport{SessionID: sessionID, OrphanedProcessIDs: []string{}, PreservedProcessIDs: []string{}}
	locked := make(map[string]ProcessRow, len(ids))
	for _, id := range ids {
		row, found, err := tx.LockProcess(ctx, id)
		if err != nil {
			return rep, nil, err
		}
		if found {
			locked[id] = row
		}
	}
	grants, err := tx.ListGrantsBySession(ctx, sessionID)
	if err != nil {
		return rep, nil, err
	}
	targets, err := tx.ListProcessesByWakeTargetSession(ctx, sessionID)
	if err != nil {
		return rep, nil, err
	}
	var granted []string
	for _, g := range grants {
		granted = append(granted, g.ProcessID)
	}
	granted = slices.Compact(granted) // sorted by process id
	touched := slices.Clone(granted)
	for _, row := range targets {
		touched = append(touched, row.ID)
	}
	if wider := missing(touched, ids); len(wider) > 0 {
		err := fmt.Errorf("%w: %d processes, first %q", errWiden, len(wider), wider[0])
		next := append(wider, ids...)
		slices.Sort(next)
		return rep, slices.Compact(next), err
	}
	n, err := tx.DeleteGrantsBySession(ctx, sessionID)
	if err != nil {
		return rep, nil, err
	}
	if n != int64(len(grants)) {
		// A grant for a process not yet locked landed between the listing
		// and the delete; lock it on the next attempt.
		return rep, ids, fmt.Errorf("%w: listed %d grants, deleted %d", errWiden, len(grants), n)
	}
	rep.RevokedHandles = int(n)
	for _, id := range granted {
		row, found := locked[id]
		if !found || row.Status != procreg.StateRunning {
			continue
		}
		left, err := tx.CountGrantsForProcess(ctx, id)
		if err != nil {
			return rep, nil, err
		}
		if left > 0 {
			rep.PreservedProcessIDs = append(rep.PreservedProcessIDs, id)
		} else {
			rep.OrphanedProcessIDs = append(rep.OrphanedProcessIDs, id)
		}
	}
	for _, id := range ids {
		row, found := locked[id]
		if !found || row.WakeTargetSession != sessionID {
			continue
		}
		row.WakeTargetSession, row.WakeTargetFrame = "", ""
		row.UpdatedAtMs = nowMs
		if err := tx.UpdateProcess(ctx, row); err != nil {
			return rep, nil, err
		}
	}
	return rep, nil, nil
}

// missing returns the ids of want that are not in have (sorted).
func missing(want, have []string) []string {
	var out []string
	for _, id := range want {
		if _, ok := slices.BinarySearch(have, id); !ok {
			out = append(out, id)
		}
	}
	return out
}
