package sweep_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/sweep"
)

// clock is a manual clock shared by a registry and a sweeper, so lease
// expiry is stepped, never slept through.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// backend opens a fresh registry whose clock is c.
type backend struct {
	name string
	open func(t *testing.T, c *clock) procreg.Registry
}

// backends lists every backend the sweep is tested on; sqlite_test.go adds SQLite.
var backends = []backend{
	{name: "memory", open: func(t *testing.T, c *clock) procreg.Registry {
		r := memory.New(memory.WithClock(c.Now))
		t.Cleanup(func() { r.Close() })
		return r
	}},
}

// eachBackend runs f once per backend with a fresh registry and clock.
func eachBackend(t *testing.T, f func(t *testing.T, reg procreg.Registry, c *clock)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			c := newClock()
			f(t, b.open(t, c), c)
		})
	}
}

const ttl = 10 * time.Second

// liveOwner is an owner with this test process's liveness: never provably dead.
func liveOwner(t *testing.T, name string) procreg.LeaseOwner {
	t.Helper()
	l, err := procreg.CurrentProcessLiveness()
	if err != nil {
		t.Fatalf("CurrentProcessLiveness: %v", err)
	}
	return procreg.LeaseOwner{OwnerID: name, IncarnationID: name + "-inc", Liveness: l}
}

// deadOwner is an owner on this host and boot whose process has exited.
func deadOwner(t *testing.T, name string) procreg.LeaseOwner {
	t.Helper()
	o := liveOwner(t, name)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run child: %v", err)
	}
	o.Liveness.PID = cmd.ProcessState.Pid()
	o.Liveness.ProcessStart = "1"
	if !o.IsDefinitelyDeadFor(liveOwner(t, "probe")) {
		t.Fatalf("exited child %d is not provably dead", o.Liveness.PID)
	}
	return o
}

func opaqueOwner(name string) procreg.LeaseOwner {
	return procreg.LeaseOwner{OwnerID: name, IncarnationID: name + "-inc"}
}

func register(t *testing.T, reg procreg.Registry, id string, d procreg.Disposition) {
	t.Helper()
	r := procreg.Registration{
		ID:          id,
		Disposition: d,
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{}`)},
		EnvRef:      "env",
		Provenance:  procreg.Provenance{Originator: procreg.Originator{Kind: procreg.OriginatorHost}},
		EventTypes:  []procreg.EventType{{Name: "step"}},
	}
	if d == procreg.DispositionExternallyOwned {
		r.Input = procreg.ProcessInput{Kind: procreg.InputExternal, Payload: json.RawMessage(`{"label":"x"}`)}
		r.EnvRef = ""
	}
	if _, err := reg.RegisterProcess(context.Background(), r); err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
}

func claim(t *testing.T, reg procreg.Registry, id string, o procreg.LeaseOwner, ttl time.Duration) procreg.Lease {
	t.Helper()
	c, err := reg.ClaimProcessLease(context.Background(), id, o, ttl)
	if err != nil || !c.Acquired {
		t.Fatalf("claim %s for %s: %+v %v", id, o.OwnerID, c, err)
	}
	return c.Lease
}

func started(t *testing.T, reg procreg.Registry, id string, o procreg.LeaseOwner, at time.Time) {
	t.Helper()
	if _, err := reg.RecordFirstStarted(context.Background(), id, procreg.Started{Owner: o, At: at}); err != nil {
		t.Fatalf("first started %s: %v", id, err)
	}
}

// runner records which processes Run saw and completes each with success.
type runner struct {
	mu   sync.Mutex
	seen []string
}

func (r *runner) run(ctx context.Context, w *sweep.Work) error {
	r.mu.Lock()
	r.seen = append(r.seen, w.Record.ID)
	r.mu.Unlock()
	if _, err := w.RecordFirstStarted(ctx); err != nil {
		return err
	}
	if _, err := w.AppendEvent(ctx, procreg.AppendRequest{EventType: "step", Payload: json.RawMessage(`{}`)}); err != nil {
		return err
	}
	_, err := w.Complete(ctx, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`"ok"`)})
	return err
}

func (r *runner) ran() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func sweeper(t *testing.T, reg procreg.Registry, c *clock, run func(context.Context, *sweep.Work) error) *sweep.Sweeper {
	return &sweep.Sweeper{Registry: reg, Owner: liveOwner(t, "sweeper"), TTL: ttl, Run: run, Clock: c.Now}
}

// pass runs one pass and returns the outcome for id.
func pass(t *testing.T, s *sweep.Sweeper, id string) sweep.Outcome {
	t.Helper()
	rep, err := s.Pass(context.Background())
	if err != nil {
		t.Fatalf("pass: %v", err)
	}
	for _, o := range rep.Outcomes {
		if o.ProcessID == id {
			return o
		}
	}
	t.Fatalf("no outcome for %s in %+v", id, rep)
	return sweep.Outcome{}
}

func status(t *testing.T, reg procreg.Registry, id string) procreg.Record {
	t.Helper()
	rec, err := reg.GetProcess(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return rec
}

func wantAction(t *testing.T, o sweep.Outcome, a sweep.Action) {
	t.Helper()
	if o.Action != a {
		t.Fatalf("%s: action %q (error %q), want %q", o.ProcessID, o.Action, o.Error, a)
	}
}

func TestRerunnableFreeLeaseIsClaimedRunAndReleased(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		register(t, reg, "p", procreg.DispositionRerunnable)
		var r runner
		o := pass(t, sweeper(t, reg, c, r.run), "p")
		wantAction(t, o, sweep.Ran)
		if o.Takeover || o.FencingToken != 1 || o.Error != "" {
			t.Fatalf("outcome %+v, want a first claim without takeover", o)
		}
		if rec := status(t, reg, "p"); rec.Status.State != procreg.StateCompleted {
			t.Fatalf("state %s, want completed", rec.Status.State)
		}
		if l, _ := reg.GetProcessLease(context.Background(), "p"); l != nil {
			t.Fatalf("lease %+v left behind after the run", l)
		}
	})
}

func TestRerunnableExpiredLeaseIsTakenOver(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		register(t, reg, "p", procreg.DispositionRerunnable)
		other := liveOwner(t, "other")
		claim(t, reg, "p", other, time.Second)
		started(t, reg, "p", other, c.Now())
		c.Advance(2 * time.Second)
		var r runner
		o := pass(t, sweeper(t, reg, c, r.run), "p")
		wantAction(t, o, sweep.Ran)
		if !o.Takeover || o.Holder == nil || o.Holder.OwnerID != "other" || o.FencingToken != 2 {
			t.Fatalf("outcome %+v, want a takeover from other with fencing token 2", o)
		}
	})
}

func TestRerunnableDeadHolderIsReclaimed(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		register(t, reg, "p", procreg.DispositionRerunnable)
		dead := deadOwner(t, "dead")
		claim(t, reg, "p", dead, time.Hour)
		started(t, reg, "p", dead, c.Now())
		var r runner
		o := pass(t, sweeper(t, reg, c, r.run), "p")
		wantAction(t, o, sweep.Ran)
		if !o.Takeover || o.FencingToken != 2 || o.Holder == nil || o.Holder.OwnerID != "dead" {
			t.Fatalf("outcome %+v, want a reclaim from the dead holder", o)
		}
		if got := status(t, reg, "p").Status.State; got != procreg.StateCompleted {
			t.Fatalf("state %s, want completed (rerun)", got)
		}
	})
}

func TestLiveAndUnprovableHoldersStayBusy(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		holders := map[string]procreg.LeaseOwner{"live": liveOwner(t, "live"), "opaque": opaqueOwner("opaque")}
		other := liveOwner(t, "x")
		other.Liveness.HostID = "another-host"
		holders["cross-host"] = procreg.LeaseOwner{OwnerID: "cross", IncarnationID: "c", Liveness: other.Liveness}
		var r runner
		s := sweeper(t, reg, c, r.run)
		for id, h := range holders {
			register(t, reg, id, procreg.DispositionRerunnable)
			claim(t, reg, id, h, time.Hour)
		}
		rep, err := s.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Count(sweep.Busy) != 3 || len(r.ran()) != 0 {
			t.Fatalf("report %+v ran %v, want all three busy and nothing run", rep, r.ran())
		}
		for id, h := range holders {
			l, _ := reg.GetProcessLease(context.Background(), id)
			if l == nil || !l.Owner.SameIncarnation(h) || l.FencingToken != 1 {
				t.Fatalf("%s: lease %+v changed", id, l)
			}
		}
	})
}

func TestOwnerBoundNotStartedIsClaimable(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		register(t, reg, "free", procreg.DispositionOwnerBound)
		register(t, reg, "dead-unstarted", procreg.DispositionOwnerBound)
		claim(t, reg, "dead-unstarted", deadOwner(t, "dead"), time.Hour) // claimed, crashed before starting
		var r runner
		s := sweeper(t, reg, c, r.run)
		rep, err := s.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Count(sweep.Ran) != 2 || len(r.ran()) != 2 {
			t.Fatalf("report %+v, want both run", rep)
		}
	})
}

func TestOwnerBoundStartedByDeadOwnerIsAbandonedNeverRerun(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		dead := deadOwner(t, "dead")
		register(t, reg, "leased", procreg.DispositionOwnerBound)
		claim(t, reg, "leased", dead, time.Hour) // live lease of a dead holder
		started(t, reg, "leased", dead, c.Now())
		register(t, reg, "unleased", procreg.DispositionOwnerBound)
		l := claim(t, reg, "unleased", dead, time.Hour)
		started(t, reg, "unleased", dead, c.Now())
		if err := reg.CompleteProcessLease(context.Background(), procreg.LeaseCompletion{ProcessID: "unleased", Token: l.Token}); err != nil {
			t.Fatal(err)
		}
		var r runner
		s := sweeper(t, reg, c, r.run)
		rep, err := s.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Outcomes) != 2 || rep.Count(sweep.Abandoned) != 2 {
			t.Fatalf("report %+v, want both abandoned", rep)
		}
		for _, id := range []string{"leased", "unleased"} {
			rec := status(t, reg, id)
			out := rec.Status.AwaitOutput
			if rec.Status.State != procreg.StateAbandoned || out == nil || out.Evidence == nil ||
				out.Evidence.Writer != procreg.WriterSweep || out.Evidence.Owner == nil ||
				!out.Evidence.Owner.SameIncarnation(dead) || !out.Evidence.At.Equal(c.Now()) {
				t.Fatalf("%s: status %+v, want abandoned by the sweep naming the dead owner", id, rec.Status)
			}
			if l, _ := reg.GetProcessLease(context.Background(), id); l != nil {
				t.Fatalf("%s: lease %+v left behind", id, l)
			}
		}
		if len(r.ran()) != 0 {
			t.Fatalf("ran %v: started owner-bound work must never be rerun", r.ran())
		}
	})
}

func TestOwnerBoundStartedByLiveOrOpaqueOwnerIsLeftAlone(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		owners := map[string]procreg.LeaseOwner{"live": liveOwner(t, "live"), "opaque": opaqueOwner("opaque")}
		for id, o := range owners {
			register(t, reg, id, procreg.DispositionOwnerBound)
			claim(t, reg, id, o, time.Second)
			started(t, reg, id, o, c.Now())
		}
		// Long after every lease expired: elapsed time alone terminates nothing.
		c.Advance(24 * time.Hour)
		var r runner
		s := sweeper(t, reg, c, r.run)
		for id, owner := range owners {
			o := pass(t, s, id)
			wantAction(t, o, sweep.StartedElsewhere)
			if rec := status(t, reg, id); rec.IsTerminal() {
				t.Fatalf("%s turned %s", id, rec.Status.State)
			}
			if l, _ := reg.GetProcessLease(context.Background(), id); l == nil || !l.Owner.SameIncarnation(owner) || l.FencingToken != 1 {
				t.Fatalf("%s: lease %+v was touched", id, l)
			}
		}
		if len(r.ran()) != 0 {
			t.Fatalf("ran %v", r.ran())
		}
	})
}

func TestOwnerBoundStartedBySameIncarnationIsContinued(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		var r runner
		s := sweeper(t, reg, c, r.run)
		register(t, reg, "p", procreg.DispositionOwnerBound)
		claim(t, reg, "p", s.Owner, time.Second)
		started(t, reg, "p", s.Owner, c.Now())
		c.Advance(2 * time.Second) // its own lease lapsed, say during a stall
		wantAction(t, pass(t, s, "p"), sweep.Ran)
	})
}

func TestExternallyOwnedIsNeverClaimed(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		register(t, reg, "ext", procreg.DispositionExternallyOwned)
		var r runner
		s := sweeper(t, reg, c, r.run)
		wantAction(t, pass(t, s, "ext"), sweep.External)
		c.Advance(24 * time.Hour)
		wantAction(t, pass(t, s, "ext"), sweep.External)
		if l, _ := reg.GetProcessLease(context.Background(), "ext"); l != nil || len(r.ran()) != 0 {
			t.Fatalf("lease %+v, ran %v: externally owned work was claimed", l, r.ran())
		}
		if status(t, reg, "ext").IsTerminal() {
			t.Fatal("externally owned process terminated by the sweep")
		}
	})
}

func TestAbandonRequestReconciledOnlyOnceLeaseLapsed(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		ctx := context.Background()
		holder := liveOwner(t, "holder")
		var r runner
		s := sweeper(t, reg, c, r.run)
		register(t, reg, "p", procreg.DispositionRerunnable)
		claim(t, reg, "p", holder, 5*time.Second)
		if _, err := reg.RequestProcessAbandon(ctx, "p", procreg.AbandonRequest{RequestedBy: "op", RequestedAt: c.Now(), Reason: "stop"}); err != nil {
			t.Fatal(err)
		}
		wantAction(t, pass(t, s, "p"), sweep.AbandonPending)
		if status(t, reg, "p").IsTerminal() {
			t.Fatal("reconciled while the lease was live")
		}
		c.Advance(6 * time.Second)
		o := pass(t, s, "p")
		wantAction(t, o, sweep.Reconciled)
		out := status(t, reg, "p").Status.AwaitOutput
		if out == nil || out.Kind != procreg.OutputAbandoned || out.Evidence == nil || out.Evidence.Writer != procreg.WriterReconciledRequest {
			t.Fatalf("output %+v, want abandoned by reconciled_request", out)
		}
		if len(r.ran()) != 0 {
			t.Fatalf("ran %v: a process with an abandon request was run", r.ran())
		}
	})
}

func TestAbandonRequestWaitsForDeadHoldersLeaseToLapse(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		ctx := context.Background()
		s := sweeper(t, reg, c, nil)
		register(t, reg, "p", procreg.DispositionOwnerBound)
		claim(t, reg, "p", deadOwner(t, "dead"), 5*time.Second)
		if _, err := reg.RequestProcessAbandon(ctx, "p", procreg.AbandonRequest{RequestedBy: "op", RequestedAt: c.Now()}); err != nil {
			t.Fatal(err)
		}
		wantAction(t, pass(t, s, "p"), sweep.AbandonPending)
		c.Advance(6 * time.Second)
		wantAction(t, pass(t, s, "p"), sweep.Reconciled)
	})
}

func TestExternallyOwnedAbandonRequestIsReconciledWithoutClaim(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		ctx := context.Background()
		s := sweeper(t, reg, c, nil)
		register(t, reg, "ext", procreg.DispositionExternallyOwned)
		if _, err := reg.RequestProcessAbandon(ctx, "ext", procreg.AbandonRequest{RequestedBy: "op", RequestedAt: c.Now()}); err != nil {
			t.Fatal(err)
		}
		wantAction(t, pass(t, s, "ext"), sweep.Reconciled)
		if l, _ := reg.GetProcessLease(ctx, "ext"); l != nil {
			t.Fatalf("lease %+v: externally owned work was claimed", l)
		}
		if got := status(t, reg, "ext").Status.AwaitOutput; got == nil || got.Evidence == nil || got.Evidence.Writer != procreg.WriterReconciledRequest {
			t.Fatalf("output %+v", got)
		}
	})
}

func TestWithoutRunClaimableWorkIsReportedNotClaimed(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		register(t, reg, "free", procreg.DispositionRerunnable)
		register(t, reg, "dead", procreg.DispositionRerunnable)
		claim(t, reg, "dead", deadOwner(t, "dead"), time.Hour)
		s := sweeper(t, reg, c, nil)
		rep, err := s.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Count(sweep.Claimable) != 2 {
			t.Fatalf("report %+v, want two claimable", rep)
		}
		if l, _ := reg.GetProcessLease(context.Background(), "free"); l != nil {
			t.Fatalf("free row claimed: %+v", l)
		}
		if l, _ := reg.GetProcessLease(context.Background(), "dead"); l == nil || l.Owner.OwnerID != "dead" {
			t.Fatalf("dead holder's lease changed: %+v", l)
		}
	})
}

func TestFencedWritesStopOnceLeaseIsLost(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		ctx := context.Background()
		register(t, reg, "p", procreg.DispositionRerunnable)
		var lost atomic.Bool
		run := func(runCtx context.Context, w *sweep.Work) error {
			if _, err := w.AppendEvent(runCtx, procreg.AppendRequest{EventType: "step"}); err != nil {
				return err
			}
			// The worker stalls past its ttl and another worker takes over.
			c.Advance(ttl + time.Second)
			claim(t, reg, "p", liveOwner(t, "newer"), time.Hour)
			_, err := w.AppendEvent(runCtx, procreg.AppendRequest{EventType: "step"})
			if !errors.Is(err, procreg.ErrLeaseLost) {
				t.Errorf("write after takeover: %v, want ErrLeaseLost", err)
			}
			_, err = w.Complete(runCtx, procreg.AwaitOutput{Kind: procreg.OutputSuccess})
			if !errors.Is(err, procreg.ErrLeaseLost) {
				t.Errorf("completion after takeover: %v, want ErrLeaseLost", err)
			}
			select {
			case <-w.Lost():
			default:
				t.Error("Lost not closed after the lease was lost")
			}
			<-runCtx.Done() // the run's context ends with the lease
			lost.Store(true)
			return w.Err()
		}
		o := pass(t, sweeper(t, reg, c, run), "p")
		wantAction(t, o, sweep.Ran)
		if !lost.Load() || !errors.Is(o.Err(), procreg.ErrLeaseLost) || o.Refused != 2 {
			t.Fatalf("outcome %+v, want a lost lease with 2 refused writes", o)
		}
		events, err := reg.EventsAfter(ctx, "p", 0)
		if err != nil || len(events) != 1 {
			t.Fatalf("events %d %v: only the write made under the lease may exist", len(events), err)
		}
		if status(t, reg, "p").IsTerminal() {
			t.Fatal("stale completion went through")
		}
		if l, _ := reg.GetProcessLease(ctx, "p"); l == nil || l.Owner.OwnerID != "newer" {
			t.Fatalf("the stale worker's release freed the newer lease: %+v", l)
		}
	})
}

// stallingRegistry lets another owner take the lease over right before a
// fenced write reaches the registry: the worker stalled (SIGSTOP, a GC
// pause, a partition) between deciding to write and the write arriving.
type stallingRegistry struct {
	procreg.Registry
	stall func()
}

func (r stallingRegistry) AppendEventWithLease(ctx context.Context, l procreg.Lease, req procreg.AppendRequest) (procreg.AppendResult, error) {
	r.stall()
	return r.Registry.AppendEventWithLease(ctx, l, req)
}

func (r stallingRegistry) CompleteProcessWithLease(ctx context.Context, l procreg.Lease, out procreg.AwaitOutput) (procreg.Record, error) {
	r.stall()
	return r.Registry.CompleteProcessWithLease(ctx, l, out)
}

// The window the renew-then-write fence left open is closed: a takeover
// between the worker's last renewal and its write fences the write off,
// because the lease check is part of the write's own transaction.
func TestStallBetweenRenewalAndWriteIsFencedOff(t *testing.T) {
	for _, write := range []string{"append", "complete"} {
		eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
			ctx := context.Background()
			register(t, reg, "p", procreg.DispositionRerunnable)
			var once sync.Once
			stalled := stallingRegistry{Registry: reg, stall: func() {
				once.Do(func() {
					c.Advance(ttl + time.Second)
					claim(t, reg, "p", liveOwner(t, "newer"), time.Hour)
				})
			}}
			run := func(runCtx context.Context, w *sweep.Work) error {
				var err error
				if write == "append" {
					_, err = w.AppendEvent(runCtx, procreg.AppendRequest{EventType: "step"})
				} else {
					_, err = w.Complete(runCtx, procreg.AwaitOutput{Kind: procreg.OutputSuccess})
				}
				if !errors.Is(err, procreg.ErrLeaseLost) {
					t.Errorf("%s after a takeover during the stall: %v, want ErrLeaseLost", write, err)
				}
				return w.Err()
			}
			s := sweeper(t, stalled, c, run)
			s.RenewEvery = time.Hour // no background renewal interferes
			o := pass(t, s, "p")
			if o.Refused != 1 || !errors.Is(o.Err(), procreg.ErrLeaseLost) {
				t.Fatalf("outcome %+v, want the lease lost and 1 refused write", o)
			}
			if events, err := reg.EventsAfter(ctx, "p", 0); err != nil || len(events) != 0 {
				t.Fatalf("%d event(s) (%v) landed after the takeover; want none", len(events), err)
			}
			if status(t, reg, "p").IsTerminal() {
				t.Fatal("a stale completion landed after the takeover")
			}
		})
	}
}

func TestWorkRenewsInTheBackground(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		ctx := context.Background()
		register(t, reg, "p", procreg.DispositionRerunnable)
		run := func(runCtx context.Context, w *sweep.Work) error {
			first := w.Lease().ExpiresAt
			c.Advance(ttl / 2)
			// Wait (bounded) for the background renewal to extend the lease.
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				l, err := reg.GetProcessLease(ctx, "p")
				if err != nil {
					return err
				}
				if l != nil && l.ExpiresAt.After(first) {
					c.Advance(ttl * 3 / 4) // past the original expiry, within the renewed one
					_, err := w.Complete(runCtx, procreg.AwaitOutput{Kind: procreg.OutputSuccess})
					return err
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Error("lease never renewed in the background")
			return nil
		}
		s := sweeper(t, reg, c, run)
		s.RenewEvery = 10 * time.Millisecond
		o := pass(t, s, "p")
		if o.Error != "" || status(t, reg, "p").Status.State != procreg.StateCompleted {
			t.Fatalf("outcome %+v, want completed under the renewed lease", o)
		}
	})
}

func TestPassValidatesAndHonoursCancellation(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		register(t, reg, "p", procreg.DispositionRerunnable)
		for _, s := range []*sweep.Sweeper{
			{Owner: liveOwner(t, "x"), TTL: ttl},
			{Registry: reg, Owner: liveOwner(t, "x")},
			{Registry: reg, TTL: ttl},
		} {
			if _, err := s.Pass(context.Background()); !errors.Is(err, procreg.ErrInvalid) {
				t.Fatalf("misconfigured sweeper: %v, want ErrInvalid", err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var r runner
		if _, err := sweeper(t, reg, c, r.run).Pass(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled pass: %v, want context.Canceled", err)
		}
		if l, _ := reg.GetProcessLease(context.Background(), "p"); l != nil || len(r.ran()) != 0 {
			t.Fatalf("cancelled pass wrote: lease %+v ran %v", l, r.ran())
		}
	})
}

func TestRunErrorReleasesTheLease(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		register(t, reg, "p", procreg.DispositionRerunnable)
		boom := errors.New("boom")
		o := pass(t, sweeper(t, reg, c, func(context.Context, *sweep.Work) error { return boom }), "p")
		if !errors.Is(o.Err(), boom) || o.Action != sweep.Ran {
			t.Fatalf("outcome %+v", o)
		}
		if l, _ := reg.GetProcessLease(context.Background(), "p"); l != nil {
			t.Fatalf("lease %+v kept after a failed run", l)
		}
		// Still running, so the next pass runs it again.
		var r runner
		wantAction(t, pass(t, sweeper(t, reg, c, r.run), "p"), sweep.Ran)
	})
}
