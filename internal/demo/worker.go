package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/cli"
	"github.com/procreg/procreg/sweep"
)

// workerCommand is the hidden subcommand the demo parent re-executes this
// binary with. A worker registers its share of the run's processes in
// batches (RegisterProcesses), then loops recovery passes that claim work in
// batches (ClaimNext), run it and recover what is left, until its stdin
// closes. It reports to the parent as JSON lines on stdout.
const workerCommand = "__worker"

// workerClaimBatch is how many processes a worker claims per ClaimNext.
// A worker runs its batch one process after another while renewing every
// lease of it, so a small batch keeps the fleet's work spread over the
// workers (and a crash or stall strands few processes at once).
const workerClaimBatch = 2

// workerMsg is one line a worker writes to the parent.
type workerMsg struct {
	Kind string `json:"kind"` // "ready" | "outcome" | "error"
	PID  int    `json:"pid,omitempty"`
	// Owner is the worker's lease identity (on "ready"), so the parent knows
	// which incarnation it kills.
	Owner   *procreg.LeaseOwner `json:"owner,omitempty"`
	Outcome *sweep.Outcome      `json:"outcome,omitempty"`
	Error   string              `json:"error,omitempty"`
}

// errAbandonRequested stops a run whose process an operator asked to
// abandon: the worker lets go of the lease, and recovery reconciles the
// request once the lease has lapsed.
var errAbandonRequested = errors.New("abandon requested: stopping and releasing the lease")

// workerCmd is the hidden worker subcommand.
func workerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: workerCommand, Hidden: true, Args: cobra.NoArgs}
	fs := cmd.Flags()
	run := fs.String("run", "", "demo run id")
	slot := fs.Int("slot", 0, "worker slot")
	workers := fs.Int("workers", 1, "fleet size (for the registration share)")
	processes := fs.Int("processes", 0, "processes in the run")
	steps := fs.Int("steps", 5, "steps per process")
	step := fs.Duration("step", 100*time.Millisecond, "time per step")
	ttl := fs.Duration("ttl", 1500*time.Millisecond, "lease ttl")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := cli.FlagsOf(cmd)
		if err != nil {
			return err
		}
		if *run == "" || *workers < 1 || *slot < 0 || *slot >= *workers || *steps < 1 || *ttl <= 0 {
			return cli.UsageErrorf("worker needs --run, 0 <= --slot < --workers, --steps >= 1 and --ttl > 0")
		}
		return runWorker(cmd.Context(), cli.EnvOf(cmd), c, *run, *slot, *workers, *processes, *steps, *step, *ttl)
	}
	return cmd
}

func runWorker(ctx context.Context, e *cli.Env, c *cli.Common, run string, slot, workers, processes, steps int, step, ttl time.Duration) error {
	// The parent closes stdin to stop the worker (and a dead parent closes it too).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, e.Stdin)
		cancel()
	}()

	var outMu sync.Mutex
	enc := json.NewEncoder(e.Stdout)
	emit := func(m workerMsg) {
		outMu.Lock()
		defer outMu.Unlock()
		_ = enc.Encode(m)
	}

	reg, err := cli.Open(ctx, c.DSN)
	if err != nil {
		return err
	}
	defer reg.Close()
	owner, err := cli.Owner(fmt.Sprintf("worker-%d", slot))
	if err != nil {
		return err
	}
	// Register this worker's share in batches (RegisterProcesses, one
	// transaction each): deterministic specs, so a respawned worker
	// finishing a crashed one's share is a no-op for what exists.
	var share []procreg.Registration
	for i := slot; i < processes; i += workers {
		share = append(share, Registration(run, i, steps))
	}
	for start := 0; start < len(share); start += procreg.MaxBatch {
		batch := share[start:min(start+procreg.MaxBatch, len(share))]
		if err := untilAvailable(ctx, func() error {
			_, err := reg.RegisterProcesses(ctx, batch)
			return err
		}); err != nil {
			return fmt.Errorf("register %d processes from %s: %w", len(batch), batch[0].ID, err)
		}
	}
	for _, r := range share {
		if err := untilAvailable(ctx, func() error {
			_, err := reg.GrantHandle(ctx, procreg.SessionScope{SessionID: OperatorSession}, r.ID,
				procreg.HandleDescriptor{Kind: "demo", Label: r.Identity.Label})
			return err
		}); err != nil {
			return fmt.Errorf("grant %s: %w", r.ID, err)
		}
	}
	emit(workerMsg{Kind: "ready", PID: os.Getpid(), Owner: &owner})

	s := &sweep.Sweeper{
		Registry: reg,
		Owner:    owner,
		TTL:      ttl,
		// The claim phase of each pass takes this run's processes (one
		// definition per run) with ClaimNext, workerClaimBatch at a time;
		// the scan after it recovers the rest (dead holders, started
		// owner-bound work, abandon requests under live leases).
		Claim:      procreg.ListFilter{Definition: demoDefinition(run)},
		ClaimBatch: workerClaimBatch,
		Filter:     inDemoRun(run),
		Logger:     workerLog(e.Stderr),
		Run: func(ctx context.Context, w *sweep.Work) error {
			return runTask(ctx, reg, w, steps, step)
		},
		Observe: func(o sweep.Outcome) {
			switch o.Action {
			case sweep.Busy, sweep.External, sweep.Claimable, sweep.StartedElsewhere, sweep.AbandonPending, sweep.Gone:
				return // nothing happened
			}
			emit(workerMsg{Kind: "outcome", Outcome: &o})
		},
	}
	for ctx.Err() == nil {
		rep, err := s.Pass(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			emit(workerMsg{Kind: "error", Error: err.Error()})
		}
		if rep.Count(sweep.Ran) == 0 {
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// runTask is the demo's unit of work: record first-started, then a number
// of uninterruptible steps, each followed by a fenced progress write, then
// the outcome. A run that lost its lease finds out at its next write and
// stops; a cancel request ends it as cancelled; an abandon request makes it
// let go.
func runTask(ctx context.Context, reg procreg.Registry, w *sweep.Work, steps int, step time.Duration) error {
	rec := w.Record
	idx := 0
	var in struct {
		Index int    `json:"index"`
		Label string `json:"label"`
	}
	if err := json.Unmarshal(rec.Input.Payload, &in); err == nil {
		idx = in.Index
	}
	lease := w.Lease()
	fence := lease.FencingToken
	// Where the log ended once the lease was ours: any event after it was
	// written after the acquisition, so one under an older fence would
	// break the strict fence invariant (see invariants.go).
	tail, err := reg.RecentEvents(ctx, rec.ID, 1)
	if err != nil {
		return err
	}
	after := uint64(0)
	if len(tail) > 0 {
		after = tail[0].Sequence
	}
	if _, err := w.RecordFirstStarted(ctx); err != nil {
		return err
	}
	p, _ := json.Marshal(map[string]any{"fence": fence, "after": after, "worker": lease.Owner.OwnerID, "incarnation": lease.Owner.IncarnationID, "pid": os.Getpid()})
	if _, err := w.AppendEvent(ctx, procreg.AppendRequest{EventType: EventRunStarted, Payload: p}); err != nil {
		return err
	}
	for k := 1; k <= steps; k++ {
		if stop, err := checkRequests(ctx, reg, w); stop || err != nil {
			return err
		}
		// The work of one step: deliberately not interruptible, like a real
		// computation, so a run that lost its lease meanwhile tries to write
		// and is fenced off.
		time.Sleep(step)
		p, _ := json.Marshal(map[string]any{"fence": fence, "step": k, "of": steps})
		if _, err := w.AppendEvent(ctx, procreg.AppendRequest{EventType: EventProgress, Payload: p}); err != nil {
			return err
		}
		if k == (steps+1)/2 {
			p, _ := json.Marshal(map[string]any{"fence": fence, "step": k, "label": in.Label})
			if _, err := w.AppendEvent(ctx, procreg.AppendRequest{EventType: EventMilestone, Payload: p}); err != nil {
				return err
			}
		}
	}
	if stop, err := checkRequests(ctx, reg, w); stop || err != nil {
		return err
	}
	out := procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(fmt.Sprintf(`{"steps":%d,"worker":%q}`, steps, lease.Owner.OwnerID))}
	if demoFails(idx) {
		out = procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "demo", Code: "injected_failure", Message: fmt.Sprintf("task %d fails on purpose", idx)}
	}
	_, err = w.Complete(ctx, out)
	return err
}

// checkRequests looks for operator requests: a cancel request completes the
// process as cancelled (stop=true); an abandon request stops the run with
// errAbandonRequested.
func checkRequests(ctx context.Context, reg procreg.Registry, w *sweep.Work) (stop bool, err error) {
	id := w.Record.ID
	n, err := reg.CountEventsThrough(ctx, id, "process.cancel_requested", math.MaxUint64)
	if err != nil {
		return true, err
	}
	if n > 0 {
		_, err := w.Complete(ctx, procreg.AwaitOutput{Kind: procreg.OutputCancelled, Message: "cancelled by the operator"})
		return true, err
	}
	rec, err := reg.GetProcess(ctx, id)
	if err != nil {
		return true, err
	}
	if rec.AbandonRequest != nil {
		return true, errAbandonRequested
	}
	return false, nil
}

// untilAvailable runs f again while it fails with ErrUnavailable (a lost
// connection, a restarting server), up to a minute; registration and
// grants are idempotent, so repeating them is safe.
func untilAvailable(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := f()
		if err == nil || !errors.Is(err, procreg.ErrUnavailable) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}
