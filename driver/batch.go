package driver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/core"
)

// Batches for worker pools (SPEC §10): RegisterProcesses and ClaimNext.
// Each is one store Write; the rules chosen where SPEC §10 is silent
// (docs/design.md, "Batches"):
//
//   - Bounds: RegisterProcesses takes 0..procreg.MaxBatch registrations
//     (none returns an empty slice without touching storage; more is
//     ErrInvalid); ClaimNext's limit is 1..procreg.MaxBatch.
//   - RegisterProcesses validates and prepares every registration before
//     any storage access (the first invalid one is ErrInvalid naming its
//     index and id). In one transaction it locks the ids already
//     registered (Tx.LockProcesses, in id order), refuses the batch on the
//     first whose stored spec differs (ErrRegistrationConflict naming the
//     index), and inserts the missing ones in id order. The same id twice
//     with the same spec gives both indexes the same record; with another
//     spec the batch is ErrRegistrationConflict naming both indexes, before
//     any storage access. An insert that loses a race with a concurrent
//     registration of the same new id (a unique violation) reruns the whole
//     transaction, at most registerBatchAttempts times in all: the rerun's
//     LockProcesses sees the winner's row and decides by its spec.
//   - ClaimNext validates owner and ttl as ClaimProcessLease, the limit and
//     the filter (status "" or running) before any storage access. The
//     store's ClaimCandidates is only a pre-filter (an index range in id
//     order, locked SKIP LOCKED on the servers); the engine decides every
//     candidate again with core.Claimable, the filter's criteria and
//     core.DecideClaim at the lease clock the statement read, and leases
//     only the rows they accept, in id order, with one UpdateProcessLeases
//     (lease writes, not record changes).

// registerBatchAttempts bounds how often RegisterProcesses runs its
// transaction when inserts keep losing races with concurrent registrations
// of the same new ids. Each rerun sees the rows that won, so a second
// attempt settles a race unless yet another id of the batch is being
// registered concurrently at that moment.
const registerBatchAttempts = 3

func (e *engine) RegisterProcesses(ctx context.Context, regs []procreg.Registration) ([]procreg.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("procreg: register %d processes: %w", len(regs), err)
	}
	if len(regs) == 0 {
		return []procreg.Record{}, nil
	}
	if len(regs) > procreg.MaxBatch {
		return nil, fmt.Errorf("%w: register processes: %d registrations, more than %d in one batch; split it",
			procreg.ErrInvalid, len(regs), procreg.MaxBatch)
	}
	b, err := prepareBatch(regs)
	if err != nil {
		return nil, err
	}
	now := e.now()
	var rows map[string]ProcessRow
	for attempt := 1; ; attempt++ {
		rows, err = e.registerBatch(ctx, b, now)
		if err == nil || attempt >= registerBatchAttempts || ctx.Err() != nil || isSentinel(err) ||
			e.s.Classify(err) != ClassUniqueViolation {
			break
		}
	}
	if err != nil {
		if isSentinel(err) && !errors.Is(err, procreg.ErrUnavailable) {
			return nil, err // a conflict: its message names the index
		}
		return nil, fmt.Errorf("procreg: register %d processes (%s): %w", len(regs), b.span(), err)
	}
	out := make([]procreg.Record, len(regs))
	for i, r := range regs {
		rec, err := toRecord(rows[r.ID])
		if err != nil {
			return nil, fmt.Errorf("procreg: register processes: registration %d: %w", i, err)
		}
		out[i] = rec
	}
	return out, nil
}

// batch is a validated RegisterProcesses call.
type batch struct {
	prepared []*core.Prepared // by index
	first    map[string]int   // id → the first index registering it
	ids      []string         // distinct, sorted
}

// prepareBatch validates and prepares every registration, and checks that
// an id given twice comes with the same spec both times.
func prepareBatch(regs []procreg.Registration) (batch, error) {
	b := batch{prepared: make([]*core.Prepared, len(regs)), first: make(map[string]int, len(regs))}
	for i, reg := range regs {
		p, err := core.PrepareRegistration(reg)
		if err != nil {
			return batch{}, fmt.Errorf("register processes: registration %d (process %q): %w; nothing was registered", i, reg.ID, err)
		}
		b.prepared[i] = p
		j, dup := b.first[reg.ID]
		if !dup {
			b.first[reg.ID] = i
			b.ids = append(b.ids, reg.ID)
			continue
		}
		if b.prepared[j].Hash != p.Hash {
			return batch{}, fmt.Errorf("%w: register processes: registrations %d and %d both register process %q, with different specs (hash %s and %s); nothing was registered",
				procreg.ErrRegistrationConflict, j, i, reg.ID, b.prepared[j].Hash, p.Hash)
		}
	}
	slices.Sort(b.ids)
	return b, nil
}

// span names the batch's ids for an error message.
func (b batch) span() string {
	if len(b.ids) == 1 {
		return fmt.Sprintf("process %q", b.ids[0])
	}
	return fmt.Sprintf("processes %q to %q", b.ids[0], b.ids[len(b.ids)-1])
}

// registerBatch is one transaction of RegisterProcesses: it returns the
// row of every id, stored before or inserted now.
func (e *engine) registerBatch(ctx context.Context, b batch, now time.Time) (map[string]ProcessRow, error) {
	var rows map[string]ProcessRow
	err := e.write(ctx, func(ctx context.Context, tx Tx) error {
		rows = make(map[string]ProcessRow, len(b.ids)) // afresh on every attempt
		stored, err := tx.LockProcesses(ctx, b.ids)
		if err != nil {
			return err
		}
		for _, row := range stored {
			i, ok := b.first[row.ID]
			if !ok {
				return fmt.Errorf("register processes: the store locked process %q, which the batch does not name", row.ID)
			}
			if row.RegistrationHash != b.prepared[i].Hash {
				return fmt.Errorf("register processes: registration %d: %w; nothing was registered",
					i, registrationConflict(row.ID, row.RegistrationHash, b.prepared[i].Hash))
			}
			rows[row.ID] = row
		}
		for _, id := range b.ids { // id order, the order every multi-process writer locks in
			if _, ok := rows[id]; ok {
				continue
			}
			i := b.first[id]
			row := newProcessRow(b.prepared[i], now)
			if err := tx.InsertProcess(ctx, row); err != nil {
				return fmt.Errorf("registration %d: %w", i, err)
			}
			rows[id] = row
		}
		return nil
	})
	return rows, err
}

func (e *engine) ClaimNext(ctx context.Context, owner procreg.LeaseOwner, ttl time.Duration, f procreg.ListFilter, limit int) ([]procreg.Claimed, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("procreg: claim next processes: %w", err)
	}
	c, err := core.ValidateClaimNext(owner, ttl, f, limit)
	if err != nil {
		return nil, err
	}
	q := ListQuery{Status: procreg.StateRunning, DefinitionFingerprint: c.DefinitionFingerprint, Waiting: c.Waiting}
	var out []procreg.Claimed
	err = e.write(ctx, func(ctx context.Context, tx Tx) error {
		out = nil // afresh on every attempt
		rows, err := tx.ClaimCandidates(ctx, q, limit)
		if err != nil || len(rows) == 0 {
			return err
		}
		now, err := tx.LeaseNow(ctx)
		if err != nil {
			return err
		}
		slices.SortFunc(rows, func(a, b ProcessRow) int { return strings.Compare(a.ID, b.ID) })
		leased := make([]ProcessRow, 0, len(rows))
		for _, row := range rows {
			if len(leased) == limit {
				break
			}
			if len(leased) > 0 && leased[len(leased)-1].ID == row.ID {
				continue
			}
			d, ok, err := decideClaimNext(row, c, owner, ttl, now)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if err := setLease(&row, d.Next); err != nil {
				return err
			}
			rec, err := toRecord(row)
			if err != nil {
				return err
			}
			leased = append(leased, row)
			out = append(out, procreg.Claimed{Record: rec, Lease: d.Claim.Lease})
		}
		if len(leased) == 0 {
			return nil
		}
		return tx.UpdateProcessLeases(ctx, leased) // not record changes: the feed keeps their places
	})
	if err != nil {
		if isSentinel(err) && !errors.Is(err, procreg.ErrUnavailable) {
			return nil, err
		}
		return nil, fmt.Errorf("procreg: claim next processes: %w", err)
	}
	if out == nil {
		out = []procreg.Claimed{}
	}
	return out, nil
}

// decideClaimNext decides one ClaimNext candidate by the rules of
// internal/core at the lease clock now: ok is false for a row the rules
// refuse, whatever the store's pre-filter let through; otherwise d is the
// claim (a new lease, the fencing token incremented).
func decideClaimNext(row ProcessRow, c core.ListCriteria, owner procreg.LeaseOwner, ttl time.Duration, now time.Time) (d core.LeaseDecision, ok bool, err error) {
	if !c.Matches(row.Status, row.DefinitionFingerprint, row.Waiting) {
		return d, false, nil
	}
	st, err := leaseState(row)
	if err != nil {
		return d, false, err
	}
	subject := core.ClaimSubject{State: row.Status, Disposition: procreg.Disposition(row.Disposition),
		Started: row.FirstStartedOwner != "", Lease: st}
	if !core.Claimable(subject, now) {
		return d, false, nil
	}
	d, err = core.DecideClaim(row.ID, st, owner, ttl, now)
	if err != nil {
		return d, false, err
	}
	return d, d.Claim.Acquired && d.Write, nil
}
