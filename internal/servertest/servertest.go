// Package servertest holds the tests and benchmarks that the server
// backends (PostgreSQL, MySQL) share: Backend runs the public and durable
// conformance suites on fresh databases, the database-clock guarantees of
// SPEC §5, concurrent first opens, the hot queries' plans (EXPLAIN) and the
// throughput benchmarks. Each backend's test file fills a Backend with its
// Open, WithClock and database provisioners.
package servertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// ClockOpener opens a registry on one shared database; clock is the client
// clock option (nil: the default).
type ClockOpener func(t *testing.T, clock func() time.Time) procreg.Registry

// register registers a rerunnable tool process with the given id.
func register(tb testing.TB, r procreg.Registry, id string) {
	tb.Helper()
	_, err := r.RegisterProcess(context.Background(), procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"tool":"bench"}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:servertest",
	})
	if err != nil {
		tb.Fatalf("RegisterProcess(%q): %v", id, err)
	}
}

func owner(id string) procreg.LeaseOwner {
	return procreg.LeaseOwner{OwnerID: id, IncarnationID: id + "-1"}
}

// DatabaseClock proves that lease decisions and lease timestamps come from
// the database clock, not the client's:
//
//   - a lease whose holder forges a far-future ExpiresAt is still rejected
//     on renew once it has expired (by the database clock) or been
//     superseded;
//   - a registry whose client clock runs a century ahead neither sees a live
//     lease as expired nor stamps leases with its own time, and one running
//     a century behind does not keep an expired lease alive.
func DatabaseClock(t *testing.T, open ClockOpener) {
	ctx := context.Background()
	real := open(t, nil)
	ahead := open(t, func() time.Time { return time.Now().AddDate(100, 0, 0) })
	behind := open(t, func() time.Time { return time.Now().AddDate(-40, 0, 0) })
	for _, r := range []procreg.Registry{real, ahead, behind} {
		t.Cleanup(func() { _ = r.Close() })
	}
	forged := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

	t.Run("ForgedExpiryAfterSupersession", func(t *testing.T) {
		register(t, real, "clock-superseded")
		// ttl 0: the lease is expired the moment it is granted.
		a, err := behind.ClaimProcessLease(ctx, "clock-superseded", owner("a"), 0)
		if err != nil || !a.Acquired {
			t.Fatalf("claim by a = %+v, %v; want acquired", a, err)
		}
		b, err := real.ClaimProcessLease(ctx, "clock-superseded", owner("b"), time.Hour)
		if err != nil || !b.Acquired {
			t.Fatalf("claim by b over a's expired lease = %+v, %v; want acquired", b, err)
		}
		stale := a.Lease
		stale.ExpiresAt = forged
		for name, r := range map[string]procreg.Registry{"real": real, "behind": behind, "ahead": ahead} {
			if _, err := r.RenewProcessLease(ctx, stale, time.Hour); !errors.Is(err, procreg.ErrLeaseLost) {
				t.Errorf("renew of the superseded lease with a forged expiry via the %s-clock registry: %v; want ErrLeaseLost", name, err)
			}
		}
		if got, err := real.GetProcessLease(ctx, "clock-superseded"); err != nil || got == nil || got.Token != b.Lease.Token {
			t.Errorf("lease after the forged renewals = %+v, %v; want b's lease", got, err)
		}
	})

	t.Run("ForgedExpiryOfExpiredLease", func(t *testing.T) {
		register(t, real, "clock-expired")
		a, err := real.ClaimProcessLease(ctx, "clock-expired", owner("a"), 0)
		if err != nil || !a.Acquired {
			t.Fatalf("claim = %+v, %v; want acquired", a, err)
		}
		l := a.Lease
		l.ExpiresAt = forged
		// The client clock 40 years behind would see the expired lease as
		// live; the database clock does not.
		if _, err := behind.RenewProcessLease(ctx, l, time.Hour); !errors.Is(err, procreg.ErrLeaseLost) {
			t.Errorf("renew of an expired lease with a forged expiry: %v; want ErrLeaseLost", err)
		}
	})

	t.Run("ClientClockAheadCannotExpireLiveLease", func(t *testing.T) {
		register(t, real, "clock-live")
		a, err := real.ClaimProcessLease(ctx, "clock-live", owner("a"), time.Hour)
		if err != nil || !a.Acquired {
			t.Fatalf("claim by a = %+v, %v; want acquired", a, err)
		}
		b, err := ahead.ClaimProcessLease(ctx, "clock-live", owner("b"), time.Hour)
		if err != nil || b.Acquired || b.Lease.Token != a.Lease.Token {
			t.Fatalf("claim by b via a registry whose clock is a century ahead = %+v, %v; want busy with a's lease", b, err)
		}
		c, err := ahead.ReclaimProcessLease(ctx, "clock-live", owner("c"), a.Lease, time.Hour)
		if err != nil || c.Acquired {
			t.Fatalf("reclaim by c via the clock-ahead registry = %+v, %v; want busy", c, err)
		}
		renewed, err := ahead.RenewProcessLease(ctx, a.Lease, time.Hour)
		if err != nil {
			t.Fatalf("renew of a's live lease via the clock-ahead registry: %v", err)
		}
		assertNearNow(t, "renewed ExpiresAt - ttl", renewed.ExpiresAt.Add(-time.Hour))
	})

	t.Run("LeaseTimesFromDatabaseClock", func(t *testing.T) {
		register(t, real, "clock-stamps")
		for name, r := range map[string]procreg.Registry{"ahead": ahead, "behind": behind} {
			c, err := r.ClaimProcessLease(ctx, "clock-stamps", owner(name), time.Minute)
			if err != nil || !c.Acquired {
				t.Fatalf("claim via the %s-clock registry = %+v, %v; want acquired", name, c, err)
			}
			assertNearNow(t, name+" ClaimedAt", c.Lease.ClaimedAt)
			assertNearNow(t, name+" ExpiresAt - ttl", c.Lease.ExpiresAt.Add(-time.Minute))
			if err := r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "clock-stamps", Token: c.Lease.Token}); err != nil {
				t.Fatalf("complete: %v", err)
			}
		}
	})
}

// assertNearNow checks that a lease time came from a clock close to this
// machine's (the database runs here or nearby), not from a skewed client
// clock decades away. The bound is wide on purpose: it only has to tell
// "now" from "a century off".
func assertNearNow(t *testing.T, what string, got time.Time) {
	t.Helper()
	if d := time.Since(got); d > time.Hour || d < -time.Hour {
		t.Errorf("%s = %v, %v away from this machine's clock; want the database clock", what, got, d)
	}
}

// ids returns n distinct process ids with a prefix.
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return out
}
