package core

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// TestClaimable pins ClaimNext's rule row by row: only running work that a
// worker may run and whose lease is free or expired at the lease clock.
func TestClaimable(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	lease := func(expires time.Time) LeaseState {
		l := procreg.Lease{ProcessID: "p", Owner: procreg.LeaseOwner{OwnerID: "w"}, Token: "t", FencingToken: 3, ExpiresAt: expires}
		return LeaseState{Current: &l, FencingToken: 3}
	}
	free := LeaseState{FencingToken: 3} // released: no current lease
	cases := []struct {
		name string
		s    ClaimSubject
		want bool
	}{
		{"rerunnable, never leased", ClaimSubject{State: procreg.StateRunning, Disposition: procreg.DispositionRerunnable}, true},
		{"rerunnable, released", ClaimSubject{State: procreg.StateRunning, Disposition: procreg.DispositionRerunnable, Lease: free}, true},
		{"rerunnable, started (started does not matter)", ClaimSubject{State: procreg.StateRunning, Disposition: procreg.DispositionRerunnable, Started: true}, true},
		{"owner-bound, not started", ClaimSubject{State: procreg.StateRunning, Disposition: procreg.DispositionOwnerBound}, true},
		{"owner-bound, started", ClaimSubject{State: procreg.StateRunning, Disposition: procreg.DispositionOwnerBound, Started: true}, false},
		{"externally owned", ClaimSubject{State: procreg.StateRunning, Disposition: procreg.DispositionExternallyOwned}, false},
		{"unknown disposition", ClaimSubject{State: procreg.StateRunning, Disposition: "later"}, false},
		{"terminal", ClaimSubject{State: procreg.StateCompleted, Disposition: procreg.DispositionRerunnable}, false},
		{"live lease", ClaimSubject{State: procreg.StateRunning, Disposition: procreg.DispositionRerunnable, Lease: lease(now.Add(time.Millisecond))}, false},
		{"lease expiring exactly now", ClaimSubject{State: procreg.StateRunning, Disposition: procreg.DispositionRerunnable, Lease: lease(now)}, true},
		{"expired lease", ClaimSubject{State: procreg.StateRunning, Disposition: procreg.DispositionRerunnable, Lease: lease(now.Add(-time.Second))}, true},
	}
	for _, c := range cases {
		if got := Claimable(c.s, now); got != c.want {
			t.Errorf("%s: Claimable = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestValidateClaimNext(t *testing.T) {
	owner := procreg.LeaseOwner{OwnerID: "w", IncarnationID: "i"}
	waiting := true
	c, err := ValidateClaimNext(owner, time.Second, procreg.ListFilter{Waiting: &waiting, Definition: []byte(`{"b":1}`)}, procreg.MaxBatch)
	if err != nil {
		t.Fatalf("valid arguments: %v", err)
	}
	if c.State != procreg.StateRunning || c.Waiting == nil || !*c.Waiting || c.DefinitionFingerprint == nil {
		t.Errorf("criteria %+v: want running, waiting and a definition fingerprint", c)
	}
	if c, err := ValidateClaimNext(owner, 0, procreg.ListFilter{Status: procreg.StatusRunning}, 1); err != nil || c.State != procreg.StateRunning {
		t.Errorf("status running, ttl 0, limit 1: %+v, %v", c, err)
	}
	bad := []struct {
		name  string
		owner procreg.LeaseOwner
		ttl   time.Duration
		f     procreg.ListFilter
		limit int
		says  string
	}{
		{"no owner id", procreg.LeaseOwner{}, time.Second, procreg.ListFilter{}, 1, "owner id"},
		{"negative ttl", owner, -time.Second, procreg.ListFilter{}, 1, "negative ttl"},
		{"limit 0", owner, time.Second, procreg.ListFilter{}, 0, "limit 0"},
		{"limit over MaxBatch", owner, time.Second, procreg.ListFilter{}, procreg.MaxBatch + 1, "limit 1001"},
		{"terminal status", owner, time.Second, procreg.ListFilter{Status: procreg.StatusCompleted}, 1, "status filter"},
		{"any status", owner, time.Second, procreg.ListFilter{Status: procreg.StatusAny}, 1, "status filter"},
		{"bad definition", owner, time.Second, procreg.ListFilter{Definition: []byte(`{`)}, 1, "definition"},
	}
	for _, b := range bad {
		_, err := ValidateClaimNext(b.owner, b.ttl, b.f, b.limit)
		if !errors.Is(err, procreg.ErrInvalid) || !strings.Contains(err.Error(), b.says) || !strings.Contains(err.Error(), "claim next") {
			t.Errorf("%s: %v; want ErrInvalid saying claim next and %q", b.name, err, b.says)
		}
	}
}
