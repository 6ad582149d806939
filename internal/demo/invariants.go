package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/cli"
)

// Invariant is one checked property of a finished demo run.
type Invariant struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Names of the invariants the tests look up.
const (
	InvariantFencing = "no write under an older fencing token once a newer one existed"
	InvariantAbandon = "abandonment only with evidence"
)

// Summary is the demo's final report (printed as JSON with --json).
type Summary struct {
	Run             string         `json:"run"`
	DSN             string         `json:"dsn"`
	Seed            uint64         `json:"seed"`
	ElapsedMs       int64          `json:"elapsed_ms"`
	Processes       int            `json:"processes"`
	Outcomes        map[string]int `json:"outcomes"`
	AbandonedBy     map[string]int `json:"abandoned_by"`
	Events          int            `json:"events"`
	RunsStarted     int            `json:"runs_started"`
	Reruns          int            `json:"reruns"`
	Wakes           int            `json:"wakes"`
	Stats           Stats          `json:"stats"`
	ProcessesPerSec float64        `json:"processes_per_sec"`
	EventsPerSec    float64        `json:"events_per_sec"`
	CancelTarget    string         `json:"cancel_target,omitempty"`
	AbandonTarget   string         `json:"abandon_target,omitempty"`
	Invariants      []Invariant    `json:"invariants"`
	OK              bool           `json:"ok"`
	Log             []LogRecord    `json:"log"`
	// Unfinished is set when the run did not finish within --timeout;
	// Cleanup then says what became of its unfinished processes.
	Unfinished       bool     `json:"unfinished"`
	Cleanup          *Cleanup `json:"cleanup,omitempty"`
	WorkerErrorLines []string `json:"worker_errors,omitempty"`
}

// violations collects failures of one invariant, keeping a few examples.
type violations struct {
	n        int
	examples []string
}

func (v *violations) addf(format string, args ...any) {
	v.n++
	if len(v.examples) < 3 {
		v.examples = append(v.examples, fmt.Sprintf(format, args...))
	}
}

func (v *violations) result(name, okDetail string) Invariant {
	if v.n == 0 {
		return Invariant{Name: name, OK: true, Detail: okDetail}
	}
	return Invariant{Name: name, OK: false, Detail: fmt.Sprintf("%d violation(s): %s", v.n, strings.Join(v.examples, "; "))}
}

// finish reads back everything the run wrote, checks the invariants and
// prints the summary. A violated invariant is an error (exit status 1).
//
// An unfinished run (past --timeout) is reported as unfinished, not as a
// violation: its unfinished processes are then abandoned by request
// (cleanup) so none stays running for good, and it exits 1.
func (d *demoRun) finish(ctx context.Context, unfinished bool) error {
	elapsed := time.Since(d.start)
	// Read-backs get their own deadline: an interrupted demo still reports.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	sum := Summary{
		Run: d.run, DSN: cli.Redact(d.dsn), Seed: d.cfg.seed, ElapsedMs: elapsed.Milliseconds(), Processes: d.cfg.processes,
		Outcomes: map[string]int{}, AbandonedBy: map[string]int{}, Stats: d.stats,
		CancelTarget: d.cancelTarget, AbandonTarget: d.abandonTarget, Log: d.notes, WorkerErrorLines: d.lastWorkerErrs,
	}
	var recs []procreg.Record
	err := readBack(ctx, func() (err error) {
		recs, err = d.reg.ListProcesses(ctx, procreg.ListFilter{Status: procreg.StatusAny, Definition: demoDefinition(d.run)})
		return err
	})
	if err != nil {
		return fmt.Errorf("read back the run: %w", err)
	}
	var registered, terminal, exclusive, gapless, ownerBound, abandonEvidence, oneTerminal violations
	if len(recs) != d.cfg.processes {
		registered.addf("%d of %d processes registered", len(recs), d.cfg.processes)
	}
	fencedEvents := 0
	for _, r := range recs {
		if !r.IsTerminal() {
			terminal.addf("%s still %s", r.ID, r.Status.State)
		} else {
			sum.Outcomes[r.Status.State]++
		}
		var events []procreg.Event
		err := readBack(ctx, func() (err error) {
			events, err = d.reg.EventsAfter(ctx, r.ID, 0)
			return err
		})
		if err != nil {
			return fmt.Errorf("read events of %s: %w", r.ID, err)
		}
		sum.Events += len(events)
		var (
			lastFence    uint64
			terminalSeen int
			incarnations = map[string]bool{}
			runs         int
		)
		acquired := acquisitions(events)
		for k, ev := range events {
			if ev.Sequence != uint64(k+1) {
				gapless.addf("%s: event %d has sequence %d", r.ID, k+1, ev.Sequence)
			}
			if ev.Wake != nil {
				sum.Wakes++
			}
			if ev.Terminal != nil {
				terminalSeen++
				if string(ev.Terminal.State) != r.Status.State {
					oneTerminal.addf("%s: terminal event %s but status %s", r.ID, ev.Terminal.State, r.Status.State)
				}
			}
			switch ev.EventType {
			case EventRunStarted, EventProgress, EventMilestone:
			default:
				continue
			}
			var p runPayload
			if err := json.Unmarshal(ev.Payload, &p); err != nil || p.Fence == 0 {
				exclusive.addf("%s #%d: run event without a fencing token", r.ID, ev.Sequence)
				continue
			}
			fencedEvents++
			// A lower fence after a higher one: an older lease wrote after
			// a newer lease's first write.
			if p.Fence < lastFence {
				exclusive.addf("%s #%d: fence %d written after fence %d", r.ID, ev.Sequence, p.Fence, lastFence)
			}
			// Strict: an older lease wrote after a newer lease was
			// acquired, even before the newer run's first write (the
			// window a renew-then-write fence left open). Each run records
			// where the log ended once its lease was acquired.
			for _, a := range acquired {
				if a.fence > p.Fence && ev.Sequence > a.after {
					exclusive.addf("%s #%d: fence %d written after fence %d was acquired (the log then ended at #%d)", r.ID, ev.Sequence, p.Fence, a.fence, a.after)
					break
				}
			}
			lastFence = max(lastFence, p.Fence)
			if terminalSeen > 0 {
				exclusive.addf("%s #%d: a run wrote after the terminal event", r.ID, ev.Sequence)
			}
			if ev.EventType == EventRunStarted && p.After == nil {
				exclusive.addf("%s #%d: run started without recording where the log ended at its acquisition", r.ID, ev.Sequence)
			}
			if ev.EventType == EventRunStarted {
				incarnations[p.Worker+"/"+p.Incarnation] = true
				runs++
			}
		}
		sum.RunsStarted += runs
		if runs > 1 {
			sum.Reruns += runs - 1
		}
		if r.IsTerminal() && terminalSeen != 1 {
			oneTerminal.addf("%s: %d terminal events", r.ID, terminalSeen)
		}
		if r.Disposition == procreg.DispositionOwnerBound && len(incarnations) > 1 {
			ownerBound.addf("%s started by %d worker incarnations", r.ID, len(incarnations))
		}
		if o := r.Status.AwaitOutput; o != nil && o.Kind == procreg.OutputAbandoned {
			checkAbandoned(r, o, d.kills, &abandonEvidence, sum.AbandonedBy)
		}
	}
	sum.Invariants = []Invariant{
		registered.result("every process registered", fmt.Sprintf("%d processes", len(recs))),
		terminal.result("every process reached a terminal state", "none left running"),
		exclusive.result(InvariantFencing, fmt.Sprintf("in %d run events no write under an older lease landed after a newer lease was acquired, and none followed the terminal event", fencedEvents)),
		gapless.result("sequences gap-free", fmt.Sprintf("%d logs numbered 1..n, %d events", len(recs), sum.Events)),
		oneTerminal.result("exactly one terminal event per finished process", "matching its status"),
		ownerBound.result("owner-bound work never re-run by another owner", "each started by one incarnation"),
		abandonEvidence.result(InvariantAbandon, "sweep: the starter, killed by the parent before the evidence time; reconciled_request: an operator request"),
	}
	sum.OK = true
	for i, inv := range sum.Invariants {
		if i == 1 && unfinished {
			// Not a violation: the run was cut short by --timeout.
			sum.Invariants[i].Detail = fmt.Sprintf("unfinished: %d of %d processes still running after --timeout %v", terminal.n, len(recs), d.cfg.timeout)
			continue
		}
		sum.OK = sum.OK && inv.OK
	}
	sum.Unfinished = unfinished
	if unfinished {
		c := d.cleanup(ctx, "the demo run did not finish within --timeout")
		sum.Cleanup = &c
	}
	if secs := elapsed.Seconds(); secs > 0 {
		sum.ProcessesPerSec = float64(len(recs)-terminal.n) / secs
		sum.EventsPerSec = float64(sum.Events) / secs
	}
	if d.json {
		if err := cli.WriteJSON(d.e.Stdout, sum); err != nil {
			return err
		}
	} else {
		d.printSummary(sum)
	}
	if !sum.OK {
		return fmt.Errorf("invariant violated in run %s", d.run)
	}
	if unfinished {
		return fmt.Errorf("run %s unfinished: %d of %d processes had not finished after --timeout %v", d.run, terminal.n, len(recs), d.cfg.timeout)
	}
	return nil
}

// readBack runs a read of the final check again while it fails with
// ErrUnavailable (a lost connection, a restarting server), until ctx ends.
func readBack(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil || !errors.Is(err, procreg.ErrUnavailable) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// acquisition is where a run's log ended when its lease (fence) was acquired.
type acquisition struct{ fence, after uint64 }

// acquisitions lists, from the run_started events of one log, every lease
// a run recorded and where the log ended when it was acquired. A
// run_started without "after" counts as acquired at its own sequence minus
// one (the weaker, old check).
func acquisitions(events []procreg.Event) []acquisition {
	var out []acquisition
	for _, ev := range events {
		if ev.EventType != EventRunStarted {
			continue
		}
		var p runPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil || p.Fence == 0 {
			continue
		}
		a := acquisition{fence: p.Fence, after: ev.Sequence - 1}
		if p.After != nil && *p.After < a.after {
			a.after = *p.After
		}
		out = append(out, a)
	}
	return out
}

// killSlack absorbs the rounding of stored evidence times (milliseconds)
// when they are compared with the parent's kill times.
const killSlack = time.Millisecond

// checkAbandoned checks the evidence of an abandoned process: the sweep
// abandons only started owner-bound work whose starter is dead, and the only
// way a demo worker dies is the parent's SIGKILL, so the starter must be an
// incarnation the parent killed before the evidence time (kills maps
// incarnation ids to the time just before the signal; both times come from
// this machine's wall clock). Judging liveness now would prove nothing: by
// the time the check runs every worker has stopped. A reconciliation needs
// an operator's request.
func checkAbandoned(r procreg.Record, o *procreg.AwaitOutput, kills map[string]time.Time, v *violations, by map[string]int) {
	ev := o.Evidence
	if ev == nil {
		v.addf("%s abandoned without evidence", r.ID)
		return
	}
	by[ev.Writer]++
	switch ev.Writer {
	case procreg.WriterSweep:
		if r.Disposition != procreg.DispositionOwnerBound || r.FirstStarted == nil {
			v.addf("%s (%s) abandoned by the sweep without having started owner-bound", r.ID, r.Disposition)
			return
		}
		if ev.Owner == nil || !ev.Owner.SameIncarnation(r.FirstStarted.Owner) {
			v.addf("%s abandoned by the sweep with evidence naming another owner than its starter", r.ID)
			return
		}
		killed, ok := kills[ev.Owner.IncarnationID]
		switch {
		case !ok:
			v.addf("%s abandoned by the sweep at %s, but its starter %s was never killed", r.ID, cli.Stamp(ev.At), cli.OwnerName(*ev.Owner))
		case ev.At.Before(killed.Add(-killSlack)):
			v.addf("%s abandoned by the sweep at %s, before its starter %s was killed at %s", r.ID, cli.Stamp(ev.At), cli.OwnerName(*ev.Owner), cli.Stamp(killed))
		}
	case procreg.WriterReconciledRequest:
		if r.AbandonRequest == nil {
			v.addf("%s reconciled without an abandon request", r.ID)
		}
	default:
		v.addf("%s abandoned by unexpected writer %q", r.ID, ev.Writer)
	}
}

// printSummary prints the final table and the invariant check.
func (d *demoRun) printSummary(s Summary) {
	w := d.e.Stdout
	fmt.Fprintf(w, "\nrun %s finished in %.1fs (seed %d)\n\n", s.Run, float64(s.ElapsedMs)/1000, s.Seed)
	tw := cli.NewTable(w)
	fmt.Fprintln(tw, "  OUTCOME\tPROCESSES\t")
	total := 0
	for _, st := range []string{procreg.StateCompleted, procreg.StateFailed, procreg.StateCancelled, procreg.StateAbandoned} {
		extra := ""
		if st == procreg.StateAbandoned && len(s.AbandonedBy) > 0 {
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(s.AbandonedBy)) {
				parts = append(parts, fmt.Sprintf("%s %d", k, s.AbandonedBy[k]))
			}
			extra = "(" + strings.Join(parts, ", ") + ")"
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", st, s.Outcomes[st], extra)
		total += s.Outcomes[st]
	}
	fmt.Fprintf(tw, "  total\t%d\tof %d\n", total, s.Processes)
	fmt.Fprintln(tw, "\t\t")
	fmt.Fprintf(tw, "  events\t%d\t(%.0f/s)\n", s.Events, s.EventsPerSec)
	fmt.Fprintf(tw, "  wakes\t%d\t(for session %s)\n", s.Wakes, OperatorSession)
	fmt.Fprintf(tw, "  runs started\t%d\t(%d reruns after a crash, a stall or a lost lease)\n", s.RunsStarted, s.Reruns)
	fmt.Fprintf(tw, "  lease takeovers\t%d\t(dead or expired holders)\n", s.Stats.Takeovers)
	fmt.Fprintf(tw, "  fenced-off stale writes\t%d\t\n", s.Stats.Refused)
	fmt.Fprintf(tw, "  worker crashes\t%d\t(SIGKILL; %d stall(s) by SIGSTOP, %d workers spawned)\n", s.Stats.Crashes, s.Stats.Stalls, s.Stats.Spawned)
	fmt.Fprintf(tw, "  throughput\t%.1f\tprocesses/s\n", s.ProcessesPerSec)
	_ = tw.Flush()
	if s.Stats.WorkerErrors > 0 {
		fmt.Fprintf(w, "\n%d worker error(s), last: %s\n", s.Stats.WorkerErrors, s.WorkerErrorLines[len(s.WorkerErrorLines)-1])
	}
	fmt.Fprintf(w, "\ninvariants\n")
	for i, inv := range s.Invariants {
		mark := "ok  "
		switch {
		case i == 1 && s.Unfinished && !inv.OK:
			mark = "OPEN"
		case !inv.OK:
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %s: %s\n", mark, inv.Name, inv.Detail)
	}
	if s.Unfinished {
		fmt.Fprintf(w, "\nUNFINISHED: the run did not finish within --timeout %v.\n", d.cfg.timeout)
		if s.Cleanup != nil {
			d.printCleanup(*s.Cleanup)
		}
	}
	if s.OK {
		line, note := cli.CommandLine(d.dsn, d.dsnFromEnv, "ls", "--definition", fmt.Sprintf(`{"demo":%q}`, s.Run))
		held := "all invariants held"
		if s.Unfinished {
			held = "the invariants checked held"
		}
		fmt.Fprintf(w, "\n%s. Look around:\n  %s\n", held, line)
		if note != "" {
			fmt.Fprintf(w, "  %s\n", note)
		}
	}
}
