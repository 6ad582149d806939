package core

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/procreg/procreg"
)

// LeaseState is the stored lease of one process: the current lease (nil
// when the process was never leased or the lease was released) and the last
// fencing token issued, which survives release.
type LeaseState struct {
	Current      *procreg.Lease
	FencingToken uint64
}

// LeaseDecision is the outcome of a lease decision.
type LeaseDecision struct {
	// Claim is what the caller gets back.
	Claim procreg.LeaseClaim
	// Write is true when the state must be stored as Next.
	Write bool
	// Next is the new stored lease state (meaningful when Write).
	Next LeaseState
}

// ValidateLeaseOwner checks a claimant: a non-empty owner id, a known
// liveness kind and stored text only (ValidateOwnerText).
func ValidateLeaseOwner(processID string, o procreg.LeaseOwner) error {
	if o.OwnerID == "" {
		return fmt.Errorf("%w: lease on process %q: owner id is empty", procreg.ErrInvalid, processID)
	}
	switch o.Liveness.Kind {
	case "", procreg.LivenessOpaque, procreg.LivenessLocalProcess:
	default:
		return fmt.Errorf("%w: lease on process %q: unknown liveness kind %q", procreg.ErrInvalid, processID, o.Liveness.Kind)
	}
	return ValidateOwnerText(processID, o)
}

// LeaseExpiry is now+ttl truncated to the millisecond, saturating at MaxTime
// instead of overflowing. A negative ttl is ErrInvalid.
func LeaseExpiry(processID string, now time.Time, ttl time.Duration) (time.Time, error) {
	if ttl < 0 {
		return time.Time{}, fmt.Errorf("%w: lease on process %q: negative ttl %v", procreg.ErrInvalid, processID, ttl)
	}
	ms, limit := now.UnixMilli(), procreg.MaxTime.UnixMilli()
	add := ttl.Milliseconds()
	if ms >= limit || add > limit-ms {
		return procreg.MaxTime, nil
	}
	return time.UnixMilli(ms + add).UTC(), nil
}

// NewLeaseToken returns a fresh unique lease token (128 random bits, hex).
func NewLeaseToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// acquire issues a new lease with the next fencing token.
func acquire(processID string, st LeaseState, owner procreg.LeaseOwner, now, expires time.Time) LeaseDecision {
	l := procreg.Lease{ProcessID: processID, Owner: owner, Token: NewLeaseToken(),
		FencingToken: st.FencingToken + 1, ClaimedAt: TruncateTime(now), ExpiresAt: expires}
	return LeaseDecision{Claim: procreg.LeaseClaim{Acquired: true, Lease: l}, Write: true,
		Next: LeaseState{Current: &l, FencingToken: l.FencingToken}}
}

// DecideClaim decides a plain claim on a known, non-terminal process: a live
// lease of another incarnation is busy; the same incarnation extends its
// live lease keeping token and fencing token; otherwise the claimant
// acquires with the next fencing token.
func DecideClaim(processID string, st LeaseState, owner procreg.LeaseOwner, ttl time.Duration, now time.Time) (LeaseDecision, error) {
	if err := ValidateLeaseOwner(processID, owner); err != nil {
		return LeaseDecision{}, err
	}
	expires, err := LeaseExpiry(processID, now, ttl)
	if err != nil {
		return LeaseDecision{}, err
	}
	if cur := st.Current; cur.IsLive(now) {
		if !cur.Owner.SameIncarnation(owner) {
			return LeaseDecision{Claim: procreg.LeaseClaim{Acquired: false, Lease: *cur}}, nil
		}
		l := *cur
		l.ExpiresAt = expires
		return LeaseDecision{Claim: procreg.LeaseClaim{Acquired: true, Lease: l}, Write: true,
			Next: LeaseState{Current: &l, FencingToken: st.FencingToken}}, nil
	}
	return acquire(processID, st, owner, now, expires), nil
}

// DecideReclaim decides a reclaim on a known, non-terminal process: with no
// live lease the claimant acquires; a live lease is taken only when the
// observed holder still matches it (process id, incarnation, token, fencing
// token) and the holder is definitely dead for the claimant; otherwise busy.
func DecideReclaim(processID string, st LeaseState, owner procreg.LeaseOwner, observed procreg.Lease, ttl time.Duration, now time.Time) (LeaseDecision, error) {
	if err := ValidateLeaseOwner(processID, owner); err != nil {
		return LeaseDecision{}, err
	}
	expires, err := LeaseExpiry(processID, now, ttl)
	if err != nil {
		return LeaseDecision{}, err
	}
	cur := st.Current
	if !cur.IsLive(now) {
		return acquire(processID, st, owner, now, expires), nil
	}
	matches := observed.ProcessID == processID &&
		observed.Owner.SameIncarnation(cur.Owner) &&
		observed.Token == cur.Token &&
		observed.FencingToken == cur.FencingToken
	if matches && cur.Owner.IsDefinitelyDeadFor(owner) {
		return acquire(processID, st, owner, now, expires), nil
	}
	return LeaseDecision{Claim: procreg.LeaseClaim{Acquired: false, Lease: *cur}}, nil
}

// DecideRenew extends a live lease the caller still holds (same incarnation,
// token and fencing token); anything else is ErrLeaseLost.
func DecideRenew(st LeaseState, l procreg.Lease, ttl time.Duration, now time.Time) (LeaseDecision, error) {
	expires, err := LeaseExpiry(l.ProcessID, now, ttl)
	if err != nil {
		return LeaseDecision{}, err
	}
	if !LeaseHeld(st, l, now) {
		return LeaseDecision{}, LeaseLost(l.ProcessID)
	}
	n := *st.Current
	n.ExpiresAt = expires
	return LeaseDecision{Claim: procreg.LeaseClaim{Acquired: true, Lease: n}, Write: true,
		Next: LeaseState{Current: &n, FencingToken: st.FencingToken}}, nil
}

// LeaseLost is the ErrLeaseLost error for a process.
func LeaseLost(processID string) error {
	return fmt.Errorf("%w: lease on process %q is missing or expired, or was superseded", procreg.ErrLeaseLost, processID)
}

// DecideRelease releases the lease when token matches the stored one
// (keeping the fencing token); otherwise it is a no-op (Write false).
func DecideRelease(st LeaseState, token string) LeaseDecision {
	if st.Current == nil || st.Current.Token == "" || st.Current.Token != token {
		return LeaseDecision{}
	}
	return LeaseDecision{Write: true, Next: LeaseState{FencingToken: st.FencingToken}}
}

// LeaseHeld reports whether l is the live lease of its process at now: the
// stored lease has a token and has not expired (ExpiresAt > now), and l
// names the same owner incarnation, token and fencing token. It is the
// check of a renewal and of every fenced write (AppendEventWithLease,
// CompleteProcessWithLease). l.ExpiresAt is not compared: a holder whose
// copy predates its last renewal still holds the lease.
func LeaseHeld(st LeaseState, l procreg.Lease, now time.Time) bool {
	cur := st.Current
	return cur.IsLive(now) && cur.Token != "" && cur.Token == l.Token &&
		cur.FencingToken == l.FencingToken && cur.Owner.SameIncarnation(l.Owner)
}

// ReleasedBy reports whether the stored lease state is what a fenced
// completion under l leaves behind: no current lease (released) and the
// last fencing token issued is l's, so no lease was taken after l. (A
// terminal process is never leased again, so after a fenced completion
// this stays true.) The token cannot be compared: release clears it.
// CompleteProcessWithLease uses it to answer an identical repeat of a
// successful fenced completion with the stored record.
func ReleasedBy(st LeaseState, l procreg.Lease) bool {
	return st.Current == nil && l.Token != "" && l.FencingToken != 0 && st.FencingToken == l.FencingToken
}

// FencedLeaseLost is the ErrLeaseLost error of a fenced write that was
// refused; why says what the registry found (the process unknown, already
// terminal, ...), "" for nothing more.
func FencedLeaseLost(processID string, fencingToken uint64, why string) error {
	if why != "" {
		why = "; " + why
	}
	return fmt.Errorf("%w: lease on process %q (fencing token %d) is missing or expired, or was superseded: nothing was written%s",
		procreg.ErrLeaseLost, processID, fencingToken, why)
}
