package core

import (
	"fmt"
	"time"

	"github.com/procreg/procreg"
)

// ClaimNext's rules (SPEC §10). A store returns candidate rows from a
// pre-filter (SQL on the servers); these pure functions decide, so that
// every backend claims exactly the same processes whatever its query.

// ClaimSubject is what Claimable reads of one process.
type ClaimSubject struct {
	State       string
	Disposition procreg.Disposition
	// Started: the process has a first-started fact.
	Started bool
	Lease   LeaseState
}

// Claimable reports whether ClaimNext may lease the process at now (the
// lease clock): it is running, not externally owned, not owner-bound with
// a first-started fact, and its lease is free (never taken, released) or
// expired at now. A live lease, also one of the claimant's own
// incarnation, is not free: ClaimNext hands out new work, it does not
// extend leases (ClaimProcessLease and RenewProcessLease do).
func Claimable(s ClaimSubject, now time.Time) bool {
	if s.State != procreg.StateRunning {
		return false
	}
	switch s.Disposition {
	case procreg.DispositionRerunnable:
	case procreg.DispositionOwnerBound:
		if s.Started {
			return false
		}
	default: // externally owned, or a disposition this version does not know
		return false
	}
	return !s.Lease.Current.IsLive(now)
}

// ValidateClaimNext checks ClaimNext's arguments before any storage
// access and returns the criteria of f: a valid owner and a non-negative
// ttl (as ClaimProcessLease), limit 1..procreg.MaxBatch, and a list
// filter whose status is "" or running. Every violation is ErrInvalid.
func ValidateClaimNext(owner procreg.LeaseOwner, ttl time.Duration, f procreg.ListFilter, limit int) (ListCriteria, error) {
	if err := ValidateLeaseOwner("", owner); err != nil {
		return ListCriteria{}, fmt.Errorf("claim next: %w", err)
	}
	if ttl < 0 {
		return ListCriteria{}, fmt.Errorf("%w: claim next: negative ttl %v", procreg.ErrInvalid, ttl)
	}
	if limit < 1 || limit > procreg.MaxBatch {
		return ListCriteria{}, fmt.Errorf("%w: claim next: limit %d is outside 1..%d", procreg.ErrInvalid, limit, procreg.MaxBatch)
	}
	if f.Status != "" && f.Status != procreg.StatusRunning {
		return ListCriteria{}, fmt.Errorf("%w: claim next: status filter %q; only running processes are claimed (use \"\" or %q)",
			procreg.ErrInvalid, f.Status, procreg.StatusRunning)
	}
	c, err := Criteria(f)
	if err != nil {
		return ListCriteria{}, fmt.Errorf("claim next: %w", err)
	}
	return c, nil
}
