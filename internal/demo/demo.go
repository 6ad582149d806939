package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/cli"
	"github.com/procreg/procreg/sweep"
)

// demoConfig holds the demo's flags.
type demoConfig struct {
	workers, processes, steps, stalls int
	crashRate                         float64
	duration, step, ttl, timeout      time.Duration
	seed                              uint64
	verbose                           bool
}

// Stats is what the parent counts while the demo runs.
type Stats struct {
	Crashes         int `json:"crashes"`
	Stalls          int `json:"stalls"`
	Spawned         int `json:"workers_spawned"`
	UnexpectedExits int `json:"unexpected_worker_exits"`
	Takeovers       int `json:"lease_takeovers"`
	Refused         int `json:"fenced_off_writes"`
	SweepAbandoned  int `json:"sweep_abandoned"`
	Reconciled      int `json:"reconciled"`
	WorkerErrors    int `json:"worker_errors"`
	// StorageUnavailable counts the parent's calls that failed with
	// ErrUnavailable (a lost connection, a restarting server) and were
	// tried again on the next tick instead of ending the run.
	StorageUnavailable int `json:"storage_unavailable,omitempty"`
}

// fleetSlot is one worker position; a crashed worker is respawned into it.
type fleetSlot struct {
	gen        int
	cmd        *exec.Cmd
	stdin      io.WriteCloser
	pid        int
	ready      bool
	alive      bool
	killed     bool                // we SIGKILLed this generation
	owner      *procreg.LeaseOwner // the worker's lease identity, from its ready message
	stoppedTil time.Time           // SIGSTOPped until then
	respawnAt  time.Time
	stderr     *tailBuffer
}

// pickable reports whether the worker may be picked for a crash or a stall:
// running, registered, not already killed and not frozen.
func (s *fleetSlot) pickable() bool {
	return s.alive && s.ready && !s.killed && s.stoppedTil.IsZero()
}

// fleetEvent is a message from a worker's reader goroutine.
type fleetEvent struct {
	slot, gen int
	msg       *workerMsg
	exited    bool
	err       error
}

// demoCmd is `procreg demo`.
func demoCmd() *cobra.Command {
	var cfg demoConfig
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "run a crash-injected worker fleet against the database and check every invariant",
		Long: "demo runs a small fleet of worker processes (this binary, re-executed) against one database\n" +
			"while it injects crashes (SIGKILL), a stall (SIGSTOP/SIGCONT), an operator cancel and an\n" +
			"abandon request, runs recovery sweeps, and finally checks every invariant (docs/cli.md).\n" +
			"Its processes stay in the database for the other commands to inspect.",
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.IntVar(&cfg.workers, "workers", 4, "worker processes in the fleet")
	fs.IntVar(&cfg.processes, "processes", 48, "processes to register and run")
	fs.Float64Var(&cfg.crashRate, "crash-rate", 0.6, "SIGKILLs per second injected during --duration (0 = no crashes)")
	fs.DurationVar(&cfg.duration, "duration", 8*time.Second, "crash-injection window; operator actions happen inside it")
	fs.IntVar(&cfg.steps, "steps", 6, "steps per process (each ends with a fenced progress event)")
	fs.DurationVar(&cfg.step, "step", 120*time.Millisecond, "time one step takes")
	fs.DurationVar(&cfg.ttl, "ttl", 1500*time.Millisecond, "lease ttl (workers renew every ttl/3); must be longer than --step")
	fs.IntVar(&cfg.stalls, "stalls", 1, "workers frozen with SIGSTOP for longer than the ttl, to show fencing")
	fs.DurationVar(&cfg.timeout, "timeout", 50*time.Second, "give up when the run has not finished by then (reported as unfinished, exit 1)")
	fs.Uint64Var(&cfg.seed, "seed", 0, "random seed for crash injection (0 = from the clock)")
	fs.BoolVar(&cfg.verbose, "verbose", false, "pass worker stderr through")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := cli.FlagsOf(cmd)
		if err != nil {
			return err
		}
		if err := cfg.validate(); err != nil {
			return err
		}
		return runDemo(cmd.Context(), cli.EnvOf(cmd), c, cfg)
	}
	return cmd
}

// validate names the first flag whose value the demo cannot run with.
func (cfg demoConfig) validate() error {
	switch {
	case cfg.workers < 1:
		return cli.UsageErrorf("invalid --workers %d: want 1 or more", cfg.workers)
	case cfg.processes < 1:
		return cli.UsageErrorf("invalid --processes %d: want 1 or more", cfg.processes)
	case cfg.steps < 1:
		return cli.UsageErrorf("invalid --steps %d: want 1 or more", cfg.steps)
	case cfg.stalls < 0:
		return cli.UsageErrorf("invalid --stalls %d: want 0 or more", cfg.stalls)
	case !(cfg.crashRate >= 0) || math.IsInf(cfg.crashRate, 0):
		return cli.UsageErrorf("invalid --crash-rate %v: want 0 or more kills per second", cfg.crashRate)
	case cfg.duration < 0:
		return cli.UsageErrorf("invalid --duration %v: want 0 or more", cfg.duration)
	case cfg.step <= 0:
		return cli.UsageErrorf("invalid --step %v: want a positive duration (e.g. 120ms)", cfg.step)
	case cfg.ttl <= 0:
		return cli.UsageErrorf("invalid --ttl %v: want a positive duration (e.g. 1.5s)", cfg.ttl)
	case cfg.ttl <= cfg.step:
		return cli.UsageErrorf("invalid --ttl %v: want it longer than --step (%v), or every lease lapses during a step and no process can finish", cfg.ttl, cfg.step)
	case cfg.timeout <= 0:
		return cli.UsageErrorf("invalid --timeout %v: want a positive duration (e.g. 50s)", cfg.timeout)
	}
	return nil
}

// runDemo is `procreg demo`: the parent of the fleet.
func runDemo(ctx context.Context, e *cli.Env, c *cli.Common, cfg demoConfig) error {
	if err := signalsSupported(); err != nil {
		return err
	}
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	reg, err := cli.Open(ctx, c.DSN)
	if err != nil {
		return err
	}
	defer reg.Close()
	if reg.DurabilityTier() != procreg.TierDurable {
		return cli.UsageErrorf("invalid --dsn %q: the demo's worker processes need a database they can share, and memory: is this process's own (use a .db file, postgres:// or mysql://)", cli.Redact(c.DSN))
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary to re-execute: %w", err)
	}
	owner, err := cli.Owner("demo-parent")
	if err != nil {
		return err
	}
	d := &demoRun{
		cfg: cfg, dsn: c.DSN, dsnFromEnv: c.DSNFromEnv, reg: reg, self: self, e: e, json: c.JSON(),
		run:    fmt.Sprintf("demo-%s", strconv.FormatInt(time.Now().UnixMilli()%1e9, 36)),
		rng:    rand.New(rand.NewPCG(cfg.seed, cfg.seed>>1|1)),
		events: make(chan fleetEvent, 256),
		tty:    isTerminal(e.Stdout),
		kills:  map[string]time.Time{},
	}
	d.log = newLog(c.JSON(), func() time.Time { return d.start }, e.Stdout, d.clearStatus, &d.notes)
	d.sweeper = &sweep.Sweeper{Registry: reg, Owner: owner, TTL: cfg.ttl, Filter: inDemoRun(d.run)}
	return d.main(ctx)
}

// demoRun is the parent's state. Only the main loop touches it, except the
// events channel the reader goroutines feed.
type demoRun struct {
	cfg        demoConfig
	dsn        string
	dsnFromEnv bool
	run        string
	reg        procreg.Registry
	self       string
	e          *cli.Env
	json       bool
	tty        bool
	rng        *rand.Rand
	sweeper    *sweep.Sweeper

	slots   []*fleetSlot
	events  chan fleetEvent
	readers sync.WaitGroup
	stats   Stats
	start   time.Time
	log     *slog.Logger // operator, injection and recovery log (log.go)
	notes   []LogRecord  // the log's records, for --json

	nextCrash      time.Time
	stallsDone     int
	cancelTarget   string
	abandonTarget  string
	externalDone   map[string]bool
	lastWorkerErrs []string
	// kills maps the incarnation id of every worker the parent SIGKILLed to
	// the time just before the signal.
	kills    map[string]time.Time
	counts   map[string]int
	finished int
}

func (d *demoRun) main(ctx context.Context) error {
	d.start = time.Now()
	d.externalDone = map[string]bool{}
	d.printf("procreg demo %s: %d workers, %d processes, crash rate %.2g/s for %v, %d stall(s), ttl %v, db %s\n",
		d.run, d.cfg.workers, d.cfg.processes, d.cfg.crashRate, d.cfg.duration, d.cfg.stalls, d.cfg.ttl, cli.Redact(d.dsn))
	d.slots = make([]*fleetSlot, d.cfg.workers)
	for i := range d.slots {
		d.slots[i] = &fleetSlot{stderr: &tailBuffer{max: 4096}}
		if err := d.spawn(i); err != nil {
			d.stopFleet()
			return err
		}
	}
	err := d.loop(ctx)
	d.stopFleet()
	d.clearStatus()
	switch {
	case errors.Is(err, errTimedOut):
		return d.finish(ctx, true)
	case err != nil:
		// Interrupted or failed: the workers are gone, so the run's
		// unfinished processes would stay running for good.
		why := "the demo run failed"
		if ctx.Err() != nil {
			why = "the demo run was interrupted"
		}
		c := d.cleanup(ctx, why)
		d.printCleanup(c)
		return err
	}
	return d.finish(ctx, false)
}

// errTimedOut ends a run that did not finish within --timeout.
var errTimedOut = errors.New("timed out")

// Cleanup is what the demo did about its unfinished processes when the run
// ended early (interrupted, failed or past --timeout).
type Cleanup struct {
	// Unfinished is how many of the run's processes were still running.
	Unfinished int `json:"unfinished"`
	// Requested is how many got an abandon request from the demo.
	Requested int `json:"abandon_requested"`
	// Remaining is how many were still running when the demo stopped
	// waiting for their leases to lapse.
	Remaining int `json:"remaining"`
	// Hint is the command that finishes the remaining ones.
	Hint string `json:"hint,omitempty"`
	Note string `json:"note,omitempty"`
	// Error is why the cleanup could not be done.
	Error string `json:"error,omitempty"`
}

// cleanup files an abandon request on every unfinished process of this
// run and runs recovery passes until they are reconciled (once their
// leases lapse) or a bounded wait ends; it reports what is left and the
// command that clears it.
func (d *demoRun) cleanup(ctx context.Context, why string) Cleanup {
	wait := min(d.cfg.ttl+2*time.Second, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait+20*time.Second)
	defer cancel()
	var c Cleanup
	c.Hint, c.Note = cli.CommandLine(d.dsn, d.dsnFromEnv, "sweep")
	running := func() ([]procreg.Record, error) {
		return d.reg.ListProcesses(ctx, procreg.ListFilter{Status: procreg.StatusRunning, Definition: demoDefinition(d.run)})
	}
	recs, err := running()
	if err != nil {
		c.Error = err.Error()
		return c
	}
	c.Unfinished, c.Remaining = len(recs), len(recs)
	if len(recs) == 0 {
		c.Hint, c.Note = "", ""
		return c
	}
	req := procreg.AbandonRequest{RequestedBy: "procreg demo", RequestedAt: time.Now(), Reason: why}
	for _, r := range recs {
		if _, err := d.reg.RequestProcessAbandon(ctx, r.ID, req); err == nil {
			c.Requested++
		} else if !errors.Is(err, procreg.ErrTerminal) {
			c.Error = err.Error()
		}
	}
	deadline := time.Now().Add(wait)
	for {
		if _, err := d.sweeper.Pass(ctx); err != nil {
			c.Error = err.Error()
			break
		}
		recs, err := running()
		if err != nil {
			c.Error = err.Error()
			break
		}
		c.Remaining = len(recs)
		if c.Remaining == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	if c.Remaining == 0 {
		c.Hint, c.Note = "", ""
	}
	return c
}

// printCleanup tells the operator (on stderr) what cleanup did.
func (d *demoRun) printCleanup(c Cleanup) {
	w := d.e.Stderr
	switch {
	case c.Unfinished == 0 && c.Error == "":
		return
	case c.Remaining == 0:
		fmt.Fprintf(w, "%d unfinished process(es) of run %s: abandon requested and reconciled (abandoned, writer reconciled_request)\n", c.Unfinished, d.run)
		return
	case c.Error != "":
		fmt.Fprintf(w, "could not finish the run's processes: %s\n", c.Error)
	}
	fmt.Fprintf(w, "%d of %d unfinished process(es) of run %s are still running (abandon requested on %d); once their leases lapse (--ttl %v), this completes them as abandoned:\n  %s\n",
		c.Remaining, c.Unfinished, d.run, c.Requested, d.cfg.ttl, c.Hint)
	if c.Note != "" {
		fmt.Fprintf(w, "  %s\n", c.Note)
	}
}

// spawn starts a worker in slot i.
func (d *demoRun) spawn(i int) error {
	s := d.slots[i]
	s.gen++
	// The DSN goes by environment, not argv, so a password in it does not
	// show up in the process list.
	cmd := exec.Command(d.self, workerCommand, "--run", d.run, "--slot", strconv.Itoa(i), "--workers", strconv.Itoa(d.cfg.workers),
		"--processes", strconv.Itoa(d.cfg.processes), "--steps", strconv.Itoa(d.cfg.steps),
		"--step", d.cfg.step.String(), "--ttl", d.cfg.ttl.String())
	cmd.Env = append(os.Environ(), "PROCREG_DSN="+d.dsn)
	if d.cfg.verbose {
		cmd.Stderr = d.e.Stderr
	} else {
		s.stderr.Reset()
		cmd.Stderr = s.stderr
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start worker %d: %w", i, err)
	}
	s.cmd, s.stdin, s.pid, s.ready, s.alive, s.killed, s.owner = cmd, stdin, cmd.Process.Pid, false, true, false, nil
	s.stoppedTil = time.Time{}
	d.stats.Spawned++
	gen := s.gen
	d.readers.Add(1)
	go func() {
		defer d.readers.Done()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			var m workerMsg
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				d.events <- fleetEvent{slot: i, gen: gen, msg: &m}
			}
		}
		// Reap at once: an unreaped child is a zombie, and a zombie's pid
		// still exists in /proc (liveness treats zombies as dead anyway).
		err := cmd.Wait()
		d.events <- fleetEvent{slot: i, gen: gen, exited: true, err: err}
	}()
	return nil
}

// loop drives the run until every process is terminal.
func (d *demoRun) loop(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastSweep, lastStatus time.Time
	statusEvery := time.Second
	if d.tty {
		statusEvery = 200 * time.Millisecond
	}
	for {
		select {
		case <-ctx.Done():
			return errors.New("interrupted")
		case ev := <-d.events:
			if err := d.handle(ev); err != nil {
				return err
			}
			continue
		case <-tick.C:
		}
		now := time.Now()
		elapsed := now.Sub(d.start)
		if elapsed > d.cfg.timeout {
			d.note(slog.LevelWarn, "timeout", fmt.Sprintf("timeout after %v with %d/%d processes finished", d.cfg.timeout, d.finished, d.cfg.processes),
				"finished", d.finished, "processes", d.cfg.processes)
			return errTimedOut // finish() reports the run as unfinished
		}
		d.injectFaults(ctx, now, elapsed)
		if err := d.tolerate(d.operator(ctx, elapsed)); err != nil {
			return err
		}
		if err := d.tolerate(d.externalSystem(ctx, elapsed)); err != nil {
			return err
		}
		if now.Sub(lastSweep) >= 400*time.Millisecond {
			lastSweep = now
			if err := d.tolerate(d.sweepOnce(ctx)); err != nil {
				return err
			}
		}
		if err := d.tolerate(d.refresh(ctx)); err != nil {
			return err
		}
		if now.Sub(lastStatus) >= statusEvery {
			lastStatus = now
			d.status()
		}
		if d.finished == d.cfg.processes {
			return nil
		}
	}
}

// tolerate lets the run go on through a storage outage: an error wrapping
// ErrUnavailable is counted and noted, and the step runs again on the next
// tick (every step of the loop is safe to repeat). Anything else ends the run.
func (d *demoRun) tolerate(err error) error {
	if err == nil || !errors.Is(err, procreg.ErrUnavailable) {
		return err
	}
	d.stats.StorageUnavailable++
	if d.stats.StorageUnavailable <= 5 || d.stats.StorageUnavailable%50 == 0 {
		d.note(slog.LevelWarn, "storage_unavailable", fmt.Sprintf("storage unavailable (%d so far), trying again: %v", d.stats.StorageUnavailable, err),
			"count", d.stats.StorageUnavailable, "error", err.Error())
	}
	return nil
}

// handle processes one message or exit of a worker.
func (d *demoRun) handle(ev fleetEvent) error {
	s := d.slots[ev.slot]
	if ev.gen != s.gen {
		return nil // a message from an earlier incarnation of this slot
	}
	if ev.exited {
		s.alive, s.ready = false, false
		if !s.killed {
			d.stats.UnexpectedExits++
			d.note(slog.LevelWarn, "unexpected_exit", fmt.Sprintf("worker-%d (pid %d) exited on its own: %v %s", ev.slot, s.pid, ev.err, strings.TrimSpace(s.stderr.String())),
				"worker", ev.slot, "pid", s.pid, "error", fmt.Sprint(ev.err), "stderr", strings.TrimSpace(s.stderr.String()))
			if d.stats.UnexpectedExits > 3*d.cfg.workers {
				return fmt.Errorf("workers keep failing; last: %v %s", ev.err, strings.TrimSpace(s.stderr.String()))
			}
		}
		s.respawnAt = time.Now().Add(150 * time.Millisecond)
		return nil
	}
	m := ev.msg
	switch m.Kind {
	case "ready":
		s.ready = true
		s.owner = m.Owner
	case "error":
		d.stats.WorkerErrors++
		d.lastWorkerErrs = append(d.lastWorkerErrs, m.Error)
	case "outcome":
		o := m.Outcome
		if o == nil {
			return nil
		}
		d.countOutcome(fmt.Sprintf("worker-%d (pid %d)", ev.slot, s.pid), *o)
	}
	return nil
}

// countOutcome folds one sweep outcome into the stats and the log.
func (d *demoRun) countOutcome(who string, o sweep.Outcome) {
	if o.Takeover {
		d.stats.Takeovers++
		prev := "?"
		if o.Holder != nil {
			prev = cli.OwnerName(*o.Holder)
		}
		d.note(slog.LevelInfo, "takeover", fmt.Sprintf("%s took over %s from %s (fencing token %d)", who, o.ProcessID, prev, o.FencingToken),
			"by", who, "process_id", o.ProcessID, "holder", prev, "fencing_token", o.FencingToken)
	}
	d.stats.Refused += o.Refused
	if o.Refused > 0 {
		d.note(slog.LevelInfo, "fenced_off", fmt.Sprintf("%s: %d stale write(s) to %s fenced off after its lease was lost", who, o.Refused, o.ProcessID),
			"by", who, "process_id", o.ProcessID, "refused_writes", o.Refused)
	}
	switch o.Action {
	case sweep.Abandoned:
		d.stats.SweepAbandoned++
		dead := "?"
		if o.Holder != nil {
			dead = cli.OwnerName(*o.Holder)
		}
		d.note(slog.LevelInfo, "abandoned", fmt.Sprintf("%s abandoned owner-bound %s: started by %s, which is dead", who, o.ProcessID, dead),
			"by", who, "process_id", o.ProcessID, "started_by", dead)
	case sweep.Reconciled:
		d.stats.Reconciled++
		d.note(slog.LevelInfo, "reconciled", fmt.Sprintf("%s reconciled the abandon request on %s after its lease lapsed", who, o.ProcessID),
			"by", who, "process_id", o.ProcessID)
	case sweep.Failed:
		d.stats.WorkerErrors++
		d.lastWorkerErrs = append(d.lastWorkerErrs, o.Error)
	}
}

// injectFaults kills, freezes, thaws and respawns workers.
func (d *demoRun) injectFaults(ctx context.Context, now time.Time, elapsed time.Duration) {
	for i, s := range d.slots {
		if !s.stoppedTil.IsZero() && now.After(s.stoppedTil) {
			s.stoppedTil = time.Time{}
			if s.alive {
				d.note(slog.LevelInfo, "resume", fmt.Sprintf("SIGCONT worker-%d (pid %d): it resumes with a lapsed lease", i, s.pid), "worker", i, "pid", s.pid)
			}
		}
		if !s.alive && !s.respawnAt.IsZero() && now.After(s.respawnAt) && d.finished < d.cfg.processes {
			s.respawnAt = time.Time{}
			if err := d.spawn(i); err != nil {
				d.note(slog.LevelWarn, "respawn_failed", fmt.Sprintf("respawn worker-%d: %v", i, err), "worker", i, "error", err.Error())
				s.respawnAt = now.Add(time.Second)
			}
		}
	}
	if elapsed >= d.cfg.duration || d.finished == d.cfg.processes {
		return
	}
	// Crashes arrive as a Poisson process of crashRate kills a second,
	// independent of how long this loop's ticks take. The first one aims at a
	// worker in the middle of owner-bound work, so every recovery path shows
	// up in a short run.
	if d.cfg.crashRate > 0 && d.nextCrash.IsZero() {
		d.nextCrash = now.Add(d.crashGap())
	}
	if d.cfg.crashRate > 0 && now.After(d.nextCrash) {
		d.nextCrash = now.Add(d.crashGap())
		i := -1
		if d.stats.Crashes == 0 {
			i = d.ownerBoundWorker(ctx)
		}
		if i < 0 {
			i = d.pickWorker()
		}
		if i >= 0 {
			s := d.slots[i]
			d.kill(s)
			d.stats.Crashes++
			d.note(slog.LevelInfo, "crash", fmt.Sprintf("SIGKILL worker-%d (pid %d)", i, s.pid), "worker", i, "pid", s.pid)
		}
	}
	// Stalls, spread evenly over the window.
	if d.stallsDone < d.cfg.stalls && elapsed >= time.Duration(d.stallsDone+1)*d.cfg.duration/time.Duration(d.cfg.stalls+2) {
		if i := d.pickWorker(); i >= 0 {
			s := d.slots[i]
			freeze := d.cfg.ttl + d.cfg.ttl/2 + 300*time.Millisecond
			s.stoppedTil = now.Add(freeze)
			proc := s.cmd.Process
			_ = stop(proc)
			// Thaw on a timer, not from this loop: the frozen worker may hold
			// the database's write lock, and this loop may be waiting for it.
			time.AfterFunc(freeze, func() { _ = resume(proc) })
			d.stallsDone++
			d.stats.Stalls++
			d.note(slog.LevelInfo, "stall", fmt.Sprintf("SIGSTOP worker-%d (pid %d) for %v, longer than its lease ttl", i, s.pid, freeze.Round(time.Millisecond)),
				"worker", i, "pid", s.pid, "stall_ms", freeze.Milliseconds())
		}
	}
}

// kill SIGKILLs the worker in slot s and records when, for the abandonment
// check: the time is taken before the signal is sent, so any sweep that saw
// the worker dead did so later, by the same machine's clock.
func (d *demoRun) kill(s *fleetSlot) {
	if s.owner != nil {
		d.kills[s.owner.IncarnationID] = time.Now()
	}
	s.killed = true
	_ = crash(s.cmd.Process)
}

// crashGap draws the time to the next crash (exponential, mean 1/crashRate).
func (d *demoRun) crashGap() time.Duration {
	return time.Duration(d.rng.ExpFloat64() / d.cfg.crashRate * float64(time.Second))
}

// pickWorker returns a random running, registered, unfrozen worker slot, or -1.
func (d *demoRun) pickWorker() int {
	var c []int
	for i, s := range d.slots {
		if s.pickable() {
			c = append(c, i)
		}
	}
	if len(c) == 0 {
		return -1
	}
	return c[d.rng.IntN(len(c))]
}

// ownerBoundWorker returns the slot of a pickable worker that holds the
// live lease of a started owner-bound process of this run, or -1.
func (d *demoRun) ownerBoundWorker(ctx context.Context) int {
	recs, err := d.reg.ListProcesses(ctx, procreg.ListFilter{Status: procreg.StatusRunning, Definition: demoDefinition(d.run)})
	if err != nil {
		return -1
	}
	for _, r := range recs {
		if r.Disposition != procreg.DispositionOwnerBound || r.FirstStarted == nil {
			continue
		}
		l, err := d.reg.GetProcessLease(ctx, r.ID)
		if err != nil || !l.IsLive(time.Now()) {
			continue
		}
		for i, s := range d.slots {
			if s.pickable() && s.pid == l.Owner.Liveness.PID {
				return i
			}
		}
	}
	return -1
}

// operator plays the human: one cancel and one abandon request on running,
// leased work.
func (d *demoRun) operator(ctx context.Context, elapsed time.Duration) error {
	if d.cancelTarget == "" && elapsed >= d.cfg.duration/4 {
		id, err := d.leasedRunning(ctx, "")
		if err != nil || id == "" {
			return err
		}
		if _, err := d.reg.AppendEvent(ctx, id, procreg.CancelRequested(id, "operator: no longer needed")); err != nil {
			return fmt.Errorf("cancel request on %s: %w", id, err)
		}
		d.cancelTarget = id
		d.note(slog.LevelInfo, "cancel_requested", fmt.Sprintf("operator: cancel requested on %s", id), "process_id", id)
	}
	if d.abandonTarget == "" && elapsed >= 2*d.cfg.duration/5 {
		id, err := d.leasedRunning(ctx, d.cancelTarget)
		if err != nil || id == "" {
			return err
		}
		_, err = d.reg.RequestProcessAbandon(ctx, id, procreg.AbandonRequest{RequestedBy: "operator", RequestedAt: time.Now(), Reason: "demo: give up on it"})
		if err != nil {
			if errors.Is(err, procreg.ErrTerminal) {
				return nil // finished meanwhile: pick another next tick
			}
			return fmt.Errorf("abandon request on %s: %w", id, err)
		}
		d.abandonTarget = id
		d.note(slog.LevelInfo, "abandon_requested", fmt.Sprintf("operator: abandon requested on %s (reconciled once its lease lapses)", id), "process_id", id)
	}
	return nil
}

// leasedRunning finds a running rerunnable process of this demo that holds a
// live lease and has just begun (at most one step done), so an operator
// request reaches it well before it would finish, and still reaches its
// rerun if its worker crashes (owner-bound work would be abandoned by the
// sweep instead); skip is excluded.
func (d *demoRun) leasedRunning(ctx context.Context, skip string) (string, error) {
	recs, err := d.reg.ListProcesses(ctx, procreg.ListFilter{Status: procreg.StatusRunning, Definition: demoDefinition(d.run)})
	if err != nil {
		return "", fmt.Errorf("list running processes: %w", err)
	}
	for _, r := range recs {
		if r.ID == skip || r.Disposition != procreg.DispositionRerunnable || r.FirstStarted == nil {
			continue
		}
		l, err := d.reg.GetProcessLease(ctx, r.ID)
		if err != nil {
			return "", fmt.Errorf("read lease of %s: %w", r.ID, err)
		}
		if !l.IsLive(time.Now()) {
			continue
		}
		steps, err := d.reg.CountEventsThrough(ctx, r.ID, EventProgress, math.MaxUint64)
		if err != nil {
			return "", fmt.Errorf("count progress of %s: %w", r.ID, err)
		}
		if steps <= 1 {
			return r.ID, nil
		}
	}
	return "", nil
}

// externalSystem plays the outside system that runs the externally owned
// processes: it links each one and completes it, spread over the window.
func (d *demoRun) externalSystem(ctx context.Context, elapsed time.Duration) error {
	var ext []int
	for i := 0; i < d.cfg.processes; i++ {
		if demoDisposition(i) == procreg.DispositionExternallyOwned {
			ext = append(ext, i)
		}
	}
	for k, i := range ext {
		id := demoProcessID(d.run, i)
		due := time.Duration(k+1) * d.cfg.duration * 4 / 5 / time.Duration(len(ext)+1)
		if d.externalDone[id] || elapsed < due {
			continue
		}
		if _, err := d.reg.GetProcess(ctx, id); errors.Is(err, procreg.ErrNotFound) {
			continue // its worker has not registered it yet
		} else if err != nil {
			return fmt.Errorf("read %s: %w", id, err)
		}
		ref := procreg.ExternalRef{Backend: "demo-ci", ID: fmt.Sprintf("job-%d", i), Metadata: json.RawMessage(`{"queue":"demo"}`)}
		if _, err := d.reg.SetExternalRef(ctx, id, ref); err != nil {
			return fmt.Errorf("link %s: %w", id, err)
		}
		if _, err := d.reg.AppendEvent(ctx, id, procreg.AppendRequest{EventType: EventExternal, Payload: json.RawMessage(`{"state":"finished"}`)}); err != nil && !errors.Is(err, procreg.ErrTerminal) {
			return fmt.Errorf("external report on %s: %w", id, err)
		}
		out := procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`{"external":true}`)}
		if _, err := d.reg.CompleteProcess(ctx, id, out); err != nil && !errors.Is(err, procreg.ErrTerminal) {
			return fmt.Errorf("complete external %s: %w", id, err)
		}
		d.externalDone[id] = true
	}
	return nil
}

// sweepOnce runs the parent's recovery pass: no runner, so it only abandons
// dead owners' started owner-bound work and reconciles abandon requests.
func (d *demoRun) sweepOnce(ctx context.Context) error {
	rep, err := d.sweeper.Pass(ctx)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	for _, o := range rep.Outcomes {
		switch o.Action {
		case sweep.Abandoned, sweep.Reconciled, sweep.Failed:
			d.countOutcome("sweep", o)
		}
	}
	return nil
}

// refresh recounts this run's processes by state.
func (d *demoRun) refresh(ctx context.Context) error {
	recs, err := d.reg.ListProcesses(ctx, procreg.ListFilter{Status: procreg.StatusAny, Definition: demoDefinition(d.run)})
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	d.counts = map[string]int{}
	d.finished = 0
	for _, r := range recs {
		d.counts[r.Status.State]++
		if r.IsTerminal() {
			d.finished++
		}
	}
	return nil
}

// status prints the progress line: on a terminal, redrawn in place and cut
// to fit the terminal's width (a line that wrapped could not be redrawn
// in place); otherwise one plain line per second.
func (d *demoRun) status() {
	if d.json {
		return
	}
	alive := 0
	for _, s := range d.slots {
		if s.alive {
			alive++
		}
	}
	if !d.tty {
		fmt.Fprintln(d.e.Stdout, d.statusLines(alive)[0])
		return
	}
	width, ok := terminalWidth(d.e.Stdout)
	if !ok {
		width = 80
	}
	fmt.Fprintf(d.e.Stdout, "\r%s\033[K", fitLine(d.statusLines(alive), width-1))
}

// statusLines is the progress line from the most detailed to the shortest.
func (d *demoRun) statusLines(alive int) []string {
	t := time.Since(d.start).Seconds()
	return []string{
		fmt.Sprintf("%5.1fs  finished %d/%d (completed %d, failed %d, cancelled %d, abandoned %d)  workers %d/%d  crashes %d  takeovers %d  fenced %d",
			t, d.finished, d.cfg.processes, d.counts[procreg.StateCompleted], d.counts[procreg.StateFailed],
			d.counts[procreg.StateCancelled], d.counts[procreg.StateAbandoned], alive, d.cfg.workers, d.stats.Crashes, d.stats.Takeovers, d.stats.Refused),
		fmt.Sprintf("%5.1fs  finished %d/%d  workers %d/%d  crashes %d  takeovers %d  fenced %d",
			t, d.finished, d.cfg.processes, alive, d.cfg.workers, d.stats.Crashes, d.stats.Takeovers, d.stats.Refused),
		fmt.Sprintf("%5.1fs  finished %d/%d  crashes %d", t, d.finished, d.cfg.processes, d.stats.Crashes),
		fmt.Sprintf("%.0fs %d/%d", t, d.finished, d.cfg.processes),
	}
}

// fitLine returns the first of lines that fits in width columns, or the
// last one cut to width.
func fitLine(lines []string, width int) string {
	width = max(width, 1)
	for _, l := range lines {
		if utf8.RuneCountInString(l) <= width {
			return l
		}
	}
	r := []rune(lines[len(lines)-1])
	return string(r[:min(len(r), width)])
}

func (d *demoRun) clearStatus() {
	if d.tty && !d.json {
		fmt.Fprint(d.e.Stdout, "\r\033[K")
	}
}

func (d *demoRun) printf(format string, args ...any) {
	if !d.json {
		fmt.Fprintf(d.e.Stdout, format, args...)
	}
}

// stopFleet closes every worker's stdin, waits briefly for them to exit and
// kills any that do not.
func (d *demoRun) stopFleet() {
	for _, s := range d.slots {
		if s == nil || !s.alive {
			continue
		}
		if !s.stoppedTil.IsZero() {
			_ = resume(s.cmd.Process)
			s.stoppedTil = time.Time{}
		}
		_ = s.stdin.Close()
	}
	deadline := time.After(5 * time.Second)
	for {
		alive := 0
		for _, s := range d.slots {
			if s != nil && s.alive {
				alive++
			}
		}
		if alive == 0 {
			break
		}
		select {
		case ev := <-d.events:
			if s := d.slots[ev.slot]; ev.exited && ev.gen == s.gen {
				s.alive = false
			} else if !ev.exited && ev.msg != nil && ev.msg.Kind == "ready" && ev.gen == s.gen {
				s.owner = ev.msg.Owner // so a kill below is recorded
			} else if !ev.exited && ev.msg != nil && ev.msg.Kind == "outcome" && ev.msg.Outcome != nil && ev.gen == s.gen {
				d.countOutcome(fmt.Sprintf("worker-%d (pid %d)", ev.slot, s.pid), *ev.msg.Outcome)
			}
		case <-deadline:
			for _, s := range d.slots {
				if s != nil && s.alive {
					d.kill(s)
				}
			}
			deadline = time.After(5 * time.Second)
		}
	}
	// Drain the readers so none blocks on the channel.
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-d.events:
			case <-done:
				return
			}
		}
	}()
	d.readers.Wait()
	close(done)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	_, ok := terminalWidth(w)
	return ok
}

// tailBuffer keeps the last max bytes written to it (a worker's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

func (t *tailBuffer) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Reset()
}
