package sweep_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/sweep"
)

// countingRegistry counts the claim calls a Pass makes.
type countingRegistry struct {
	procreg.Registry
	claimNext, claimOne atomic.Int32
}

func (r *countingRegistry) ClaimNext(ctx context.Context, o procreg.LeaseOwner, ttl time.Duration, f procreg.ListFilter, limit int) ([]procreg.Claimed, error) {
	r.claimNext.Add(1)
	return r.Registry.ClaimNext(ctx, o, ttl, f, limit)
}

func (r *countingRegistry) ClaimProcessLease(ctx context.Context, id string, o procreg.LeaseOwner, ttl time.Duration) (procreg.LeaseClaim, error) {
	r.claimOne.Add(1)
	return r.Registry.ClaimProcessLease(ctx, id, o, ttl)
}

// TestClaimPhaseClaimsInBatches: a Pass with a Run function claims free
// work with ClaimNext, ClaimBatch processes a call, until a batch comes
// back short; the scan that follows has nothing left to claim.
func TestClaimPhaseClaimsInBatches(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		var want []string
		for i := range 6 {
			id := fmt.Sprintf("job-%d", i)
			register(t, reg, id, procreg.DispositionRerunnable)
			want = append(want, id)
		}
		counted := &countingRegistry{Registry: reg}
		var r runner
		s := sweeper(t, counted, c, r.run)
		s.ClaimBatch = 4
		rep, err := s.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(r.ran()) != fmt.Sprint(want) || rep.Count(sweep.Ran) != 6 {
			t.Fatalf("ran %v (report %+v); want %v in id order", r.ran(), rep, want)
		}
		if n, one := counted.claimNext.Load(), counted.claimOne.Load(); n != 2 || one != 0 {
			t.Fatalf("%d ClaimNext and %d ClaimProcessLease calls; want 2 batches (4 and 2) and no single claims", n, one)
		}
		for i, o := range rep.Outcomes {
			if o.FencingToken != 1 || o.Takeover || o.Error != "" {
				t.Errorf("outcome %d: %+v; want a first claim without takeover", i, o)
			}
		}
	})
}

// TestClaimPhaseHoldsTheWholeBatch: the leases of a batch are renewed from
// the moment it is claimed, so the last process of a batch is still held
// after the runs before it took longer than the ttl.
func TestClaimPhaseHoldsTheWholeBatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		register(t, reg, "a", procreg.DispositionRerunnable)
		register(t, reg, "b", procreg.DispositionRerunnable)
		var r runner
		// renewed waits until the stored leases of a and b were both
		// renewed at the current clock.
		renewed := func(ctx context.Context) {
			deadline := time.Now().Add(10 * time.Second)
			for _, id := range []string{"a", "b"} {
				for time.Now().Before(deadline) {
					l, err := reg.GetProcessLease(ctx, id)
					if err != nil || l == nil || !l.ExpiresAt.Before(c.Now().Add(ttl)) {
						break
					}
					time.Sleep(time.Millisecond)
				}
			}
		}
		slow := func(ctx context.Context, w *sweep.Work) error {
			if w.Record.ID == "a" {
				for range 4 { // well past the ttl in all, with renewals in between
					c.Advance(ttl / 2)
					renewed(ctx)
				}
			}
			return r.run(ctx, w)
		}
		s := sweeper(t, reg, c, slow)
		s.RenewEvery = time.Millisecond
		rep, err := s.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range rep.Outcomes {
			if o.Action != sweep.Ran || o.Error != "" || o.Refused != 0 {
				t.Errorf("%s: %+v; want run to completion under a held lease", o.ProcessID, o)
			}
		}
		if got := status(t, reg, "b").Status.State; got != procreg.StateCompleted {
			t.Fatalf("b is %s; want completed after a's long run", got)
		}
	})
}

// TestClaimPhaseReleasesWhatFilterRefuses: Claim narrows the claim phase
// to a definition, and Filter still decides the whole pass: a claimed
// process Filter refuses is released at once, and the pass ends.
func TestClaimPhaseReleasesWhatFilterRefuses(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		ctx := context.Background()
		def := json.RawMessage(`{"queue":"mine"}`)
		for _, id := range []string{"mine-1", "mine-2", "theirs-1"} {
			g := procreg.Registration{ID: id, Disposition: procreg.DispositionRerunnable, EnvRef: "env",
				Input: procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{}`)}, EventTypes: []procreg.EventType{{Name: "step"}}}
			if id != "theirs-1" {
				g.Identity = procreg.Identity{Kind: "job", Definition: def}
			}
			if _, err := reg.RegisterProcess(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		var r runner
		s := sweeper(t, reg, c, r.run)
		s.Claim = procreg.ListFilter{Definition: def}
		s.Filter = func(rec procreg.Record) bool { return rec.ID != "mine-2" }
		rep, err := s.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(r.ran()) != "[mine-1 theirs-1]" {
			t.Fatalf("ran %v; want mine-1 (claim phase) and theirs-1 (scan), not mine-2", r.ran())
		}
		if l, err := reg.GetProcessLease(ctx, "mine-2"); err != nil || l != nil {
			t.Fatalf("lease of the refused mine-2: %+v, %v; want released", l, err)
		}
		for _, o := range rep.Outcomes {
			if o.ProcessID == "mine-2" {
				t.Errorf("an outcome for mine-2, which Filter refuses: %+v", o)
			}
		}
	})
}

// TestClaimPhaseReconcilesAbandonRequests: a free process with a pending
// abandon request that ClaimNext hands out is reconciled, not run.
func TestClaimPhaseReconcilesAbandonRequests(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		register(t, reg, "p", procreg.DispositionRerunnable)
		other := liveOwner(t, "other")
		started(t, reg, "p", other, c.Now())
		if _, err := reg.RequestProcessAbandon(context.Background(), "p", procreg.AbandonRequest{RequestedBy: "op", RequestedAt: c.Now()}); err != nil {
			t.Fatal(err)
		}
		var r runner
		o := pass(t, sweeper(t, reg, c, r.run), "p")
		wantAction(t, o, sweep.Reconciled)
		out := status(t, reg, "p").Status.AwaitOutput
		if out == nil || out.Evidence == nil || out.Evidence.Writer != procreg.WriterReconciledRequest ||
			out.Evidence.Owner == nil || !out.Evidence.Owner.SameIncarnation(other) || len(r.ran()) != 0 {
			t.Fatalf("output %+v, ran %v; want reconciled naming the starter, nothing run", out, r.ran())
		}
	})
}

func TestPassRejectsABadClaimBatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		var r runner
		for _, n := range []int{-1, procreg.MaxBatch + 1} {
			s := sweeper(t, reg, c, r.run)
			s.ClaimBatch = n
			if _, err := s.Pass(context.Background()); err == nil {
				t.Errorf("ClaimBatch %d: the pass ran; want ErrInvalid", n)
			}
		}
	})
}
