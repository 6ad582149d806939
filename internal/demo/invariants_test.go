package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/internal/cli"
	"github.com/procreg/procreg/sweep"
)

// The invariant check must fail on the histories it exists to catch; each
// case writes one bad history into a registry and runs the real check.
func TestInvariantCheckCatchesViolations(t *testing.T) {
	live, err := procreg.CurrentProcessLiveness()
	if err != nil {
		t.Fatal(err)
	}
	alive := procreg.LeaseOwner{OwnerID: "w", IncarnationID: "w1", Liveness: live}
	// run is a run_started event of a run whose lease was acquired when the
	// log ended at sequence after.
	runAfter := func(fence, after uint64, inc string) procreg.AppendRequest {
		return procreg.AppendRequest{EventType: EventRunStarted, Payload: json.RawMessage(fmt.Sprintf(`{"fence":%d,"after":%d,"worker":"w","incarnation":%q}`, fence, after, inc))}
	}
	run := func(fence uint64, inc string) procreg.AppendRequest { return runAfter(fence, 0, inc) }
	progress := func(fence uint64) procreg.AppendRequest {
		return procreg.AppendRequest{EventType: EventProgress, Payload: json.RawMessage(fmt.Sprintf(`{"fence":%d,"step":1}`, fence))}
	}
	success := procreg.AwaitOutput{Kind: procreg.OutputSuccess}
	t0 := time.Now().Truncate(time.Millisecond)
	cases := []struct {
		name      string
		index     int // demo index: decides the disposition
		appends   []procreg.AppendRequest
		complete  *procreg.AwaitOutput
		after     []procreg.AppendRequest // appended after the completion
		started   bool
		kills     map[string]time.Time // the parent's SIGKILL record
		invariant string
	}{
		{name: "overlapping runs", index: 0, appends: []procreg.AppendRequest{run(1, "a"), run(2, "b"), progress(1)}, complete: &success,
			invariant: InvariantFencing},
		// The strict rule: lease 2 was acquired when the log ended at #1;
		// lease 1's progress landed at #2, before lease 2's first write at
		// #3. The fences along the log never go back (1, 1, 2), so only the
		// acquisition point recorded by run 2 shows the stale write.
		{name: "stale write between takeover and the new run's first write", index: 0,
			appends: []procreg.AppendRequest{runAfter(1, 0, "a"), progress(1), runAfter(2, 1, "b"), progress(2)}, complete: &success,
			invariant: InvariantFencing},
		{name: "write after terminal", index: 0, appends: []procreg.AppendRequest{run(1, "a")}, complete: &success, after: []procreg.AppendRequest{progress(1)},
			invariant: InvariantFencing},
		{name: "unfinished", index: 0, appends: []procreg.AppendRequest{run(1, "a")},
			invariant: "every process reached a terminal state"},
		{name: "owner-bound rerun elsewhere", index: 3, appends: []procreg.AppendRequest{run(1, "a"), run(2, "b")}, complete: &success,
			invariant: "owner-bound work never re-run by another owner"},
		{name: "abandoned, starter never killed", index: 3, started: true,
			complete:  &procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{Writer: procreg.WriterSweep, Owner: &alive, At: t0}},
			invariant: InvariantAbandon},
		// The sweep saw the starter dead before the parent killed it: the
		// history the check exists for (a live worker's work abandoned).
		{name: "abandoned before the kill", index: 3, started: true, kills: map[string]time.Time{alive.IncarnationID: t0.Add(time.Second)},
			complete:  &procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{Writer: procreg.WriterSweep, Owner: &alive, At: t0}},
			invariant: InvariantAbandon},
		{name: "reconciled without request", index: 0,
			complete:  &procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{Writer: procreg.WriterReconciledRequest, At: time.Now()}},
			invariant: InvariantAbandon},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			reg := memory.New()
			defer reg.Close()
			r := Registration("r", c.index, 1)
			if _, err := reg.RegisterProcess(ctx, r); err != nil {
				t.Fatal(err)
			}
			if c.started {
				if _, err := reg.RecordFirstStarted(ctx, r.ID, procreg.Started{Owner: alive, At: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			for _, a := range c.appends {
				if _, err := reg.AppendEvent(ctx, r.ID, a); err != nil {
					t.Fatal(err)
				}
			}
			if c.complete != nil {
				if _, err := reg.CompleteProcess(ctx, r.ID, *c.complete); err != nil {
					t.Fatal(err)
				}
			}
			for _, a := range c.after {
				if _, err := reg.AppendEvent(ctx, r.ID, a); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			d := &demoRun{cfg: demoConfig{processes: 1}, run: "r", reg: reg, json: true, start: time.Now(),
				e: &cli.Env{Stdout: &out, Stderr: &out}, sweeper: &sweep.Sweeper{Owner: alive}, kills: c.kills}
			if err := d.finish(ctx, false); err == nil {
				t.Fatalf("check passed a bad history:\n%s", out.String())
			}
			var sum Summary
			if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
				t.Fatal(err)
			}
			for _, inv := range sum.Invariants {
				if inv.Name == c.invariant && inv.OK {
					t.Fatalf("invariant %q held on a bad history: %+v", c.invariant, sum.Invariants)
				}
				if inv.Name == c.invariant {
					return
				}
			}
			t.Fatalf("no invariant named %q", c.invariant)
		})
	}
}

// The strict fence rule accepts what a correct run writes: the older
// run's writes all precede the newer lease's acquisition point.
func TestStrictFenceAcceptsAnOrderlyTakeover(t *testing.T) {
	ctx := context.Background()
	reg := memory.New()
	defer reg.Close()
	live, err := procreg.CurrentProcessLiveness()
	if err != nil {
		t.Fatal(err)
	}
	owner := procreg.LeaseOwner{OwnerID: "w", IncarnationID: "w1", Liveness: live}
	r := Registration("r", 0, 1)
	if _, err := reg.RegisterProcess(ctx, r); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		`{"fence":1,"after":0,"worker":"w","incarnation":"a"}`, `{"fence":1,"step":1}`,
		`{"fence":2,"after":2,"worker":"w","incarnation":"b"}`, `{"fence":2,"step":1}`,
	} {
		typ := EventProgress
		if json.Valid([]byte(p)) && bytes.Contains([]byte(p), []byte(`"after"`)) {
			typ = EventRunStarted
		}
		if _, err := reg.AppendEvent(ctx, r.ID, procreg.AppendRequest{EventType: typ, Payload: json.RawMessage(p)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.CompleteProcess(ctx, r.ID, procreg.AwaitOutput{Kind: procreg.OutputSuccess}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	d := &demoRun{cfg: demoConfig{processes: 1}, run: "r", reg: reg, json: true, start: time.Now(),
		e: &cli.Env{Stdout: &out, Stderr: &out}, sweeper: &sweep.Sweeper{Owner: owner}}
	if err := d.finish(ctx, false); err != nil {
		t.Fatalf("check rejected an orderly takeover: %v\n%s", err, out.String())
	}
}

// The abandonment check accepts the history a real crash produces: the
// starter was killed, then the sweep abandoned its work, and rejects the
// same history with the kill after the evidence time.
func TestCheckAbandonedUsesKillTimes(t *testing.T) {
	starter := procreg.LeaseOwner{OwnerID: "worker-0", IncarnationID: "123-456",
		Liveness: procreg.Liveness{Kind: procreg.LivenessLocalProcess, PID: 123}}
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	rec := procreg.Record{ID: "p", Disposition: procreg.DispositionOwnerBound, FirstStarted: &procreg.Started{Owner: starter, At: at.Add(-time.Second)}}
	out := &procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{Writer: procreg.WriterSweep, Owner: &starter, At: at}}
	for _, c := range []struct {
		name   string
		killed time.Time
		ok     bool
	}{
		{"killed before", at.Add(-200 * time.Millisecond), true},
		{"killed in the same millisecond", at.Add(500 * time.Microsecond), true},
		{"killed after", at.Add(2 * time.Millisecond), false},
	} {
		var v violations
		checkAbandoned(rec, out, map[string]time.Time{starter.IncarnationID: c.killed}, &v, map[string]int{})
		if (v.n == 0) != c.ok {
			t.Errorf("%s: %d violation(s) %v, want ok=%v", c.name, v.n, v.examples, c.ok)
		}
	}
}
