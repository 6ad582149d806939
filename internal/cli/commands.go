package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/await"
	"github.com/procreg/procreg/sweep"
)

// runMigrate opens the database, which applies pending migrations.
func runMigrate(ctx context.Context, e *Env, args []string) error {
	fs, c := NewFlags(e, "migrate", "")
	if _, err := Parse(fs, args, 0); err != nil {
		return err
	}
	reg, err := Open(ctx, c.DSN)
	if err != nil {
		return err
	}
	tier := reg.DurabilityTier()
	if err := reg.Close(); err != nil {
		return fmt.Errorf("close %q: %w", c.DSN, err)
	}
	if c.JSON {
		return WriteJSON(e.Stdout, map[string]any{"dsn": c.DSN, "tier": tier, "migrated": true})
	}
	fmt.Fprintf(e.Stdout, "%s: schema up to date (%s)\n", c.DSN, tier)
	return nil
}

// runList lists processes matching the filters.
func runList(ctx context.Context, e *Env, args []string) error {
	fs, c := NewFlags(e, "ls", "")
	status := fs.String("status", string(procreg.StatusAny), "running | completed | failed | cancelled | abandoned | any")
	waiting := fs.String("waiting", "", "true: only waiting processes; false: only processes not waiting")
	definition := fs.String("definition", "", "only processes whose identity definition equals this JSON value (by meaning; null is refused: omit the flag to list all)")
	if _, err := Parse(fs, args, 0); err != nil {
		return err
	}
	f := procreg.ListFilter{Status: procreg.StatusFilter(*status)}
	if *waiting != "" {
		b, err := strconv.ParseBool(*waiting)
		if err != nil {
			return UsageErrorf("--waiting %q: want true or false", *waiting)
		}
		f.Waiting = &b
	}
	if flagSet(fs, "definition") {
		def, err := definitionFilter(*definition)
		if err != nil {
			return err
		}
		f.Definition = def
	}
	reg, err := openExisting(ctx, c.DSN)
	if err != nil {
		return err
	}
	defer reg.Close()
	recs, err := reg.ListProcesses(ctx, f)
	if err != nil {
		return err
	}
	if c.JSON {
		if recs == nil {
			recs = []procreg.Record{}
		}
		return WriteJSON(e.Stdout, recs)
	}
	tw := NewTable(e.Stdout)
	fmt.Fprintln(tw, "ID\tSTATUS\tDISPOSITION\tIDENTITY\tWAITING\tUPDATED")
	for _, r := range recs {
		ident := r.Identity.Kind
		if r.Identity.Label != "" {
			ident += ": " + r.Identity.Label
		}
		wait := "-"
		if r.Wait != nil {
			wait = r.Wait.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", printable(r.ID), r.Status.State, r.Disposition, clip(ident, 40), printable(wait), Stamp(r.UpdatedAt))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%d process(es)\n", len(recs))
	return nil
}

// definitionFilter checks an explicit --definition. Any JSON value is a
// definition, but JSON null (like an empty value) means "no definition
// filter" to the library, so an explicit null would silently list every
// process: it is a usage error instead, as is text that is not JSON.
func definitionFilter(text string) (json.RawMessage, error) {
	if !json.Valid([]byte(text)) {
		return nil, UsageErrorf("--definition %q is not JSON", text)
	}
	if strings.TrimSpace(text) == "null" {
		return nil, UsageErrorf("--definition null would match every process (null means no filter); omit --definition to list all")
	}
	return json.RawMessage(text), nil
}

// ShowView is the JSON shape of `procreg show`.
type ShowView struct {
	Process procreg.Record        `json:"process"`
	Lease   *procreg.Lease        `json:"lease"`
	Live    bool                  `json:"lease_live"`
	Grants  []procreg.HandleGrant `json:"grants"`
}

// openForProcess parses the flags and the one process id argument of a
// per-process subcommand and opens the registry.
func openForProcess(ctx context.Context, fs *flag.FlagSet, c *Common, args []string) (procreg.Registry, string, error) {
	pos, err := Parse(fs, args, 1)
	if err != nil {
		return nil, "", err
	}
	reg, err := openExisting(ctx, c.DSN)
	if err != nil {
		return nil, "", err
	}
	return reg, pos[0], nil
}

// runShow prints one process with its lease and grants.
func runShow(ctx context.Context, e *Env, args []string) error {
	fs, c := NewFlags(e, "show", " <process-id>")
	reg, id, err := openForProcess(ctx, fs, c, args)
	if err != nil {
		return err
	}
	defer reg.Close()
	rec, err := reg.GetProcess(ctx, id)
	if err != nil {
		return err
	}
	lease, err := reg.GetProcessLease(ctx, id)
	if err != nil {
		return err
	}
	grants, err := reg.HandleGrantsForProcess(ctx, id)
	if err != nil {
		return err
	}
	if grants == nil {
		grants = []procreg.HandleGrant{}
	}
	v := ShowView{Process: rec, Lease: lease, Live: lease.IsLive(time.Now()), Grants: grants}
	if c.JSON {
		return WriteJSON(e.Stdout, v)
	}
	tw := NewTable(e.Stdout)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, printable(v)) }
	row("id", rec.ID)
	row("status", rec.Status.State)
	if o := rec.Status.AwaitOutput; o != nil {
		row("outcome", describeOutput(*o))
	}
	row("disposition", string(rec.Disposition))
	row("identity", strings.TrimSpace(rec.Identity.Kind+" "+rec.Identity.Label))
	if len(rec.Identity.Definition) > 0 {
		row("definition", string(rec.Identity.Definition))
	}
	input := string(rec.Input.Kind)
	if rec.Input.EngineKind != "" {
		input += " (" + rec.Input.EngineKind + ")"
	}
	row("input", input)
	if len(rec.Input.Payload) > 0 {
		row("payload", clip(string(rec.Input.Payload), 100))
	}
	row("env ref", orDash(rec.EnvRef))
	row("created", Stamp(rec.CreatedAt))
	row("updated", Stamp(rec.UpdatedAt))
	if rec.WakeTarget != nil {
		row("wake target", rec.WakeTarget.ID())
	}
	if r := rec.ExternalRef; r != nil {
		row("external ref", r.Backend+" "+r.ID)
	}
	if s := rec.FirstStarted; s != nil {
		row("first started", Stamp(s.At)+" by "+OwnerName(s.Owner))
	}
	if a := rec.AbandonRequest; a != nil {
		row("abandon request", Stamp(a.RequestedAt)+" by "+a.RequestedBy+": "+a.Reason)
	}
	if w := rec.Wait; w != nil {
		row("waiting", fmt.Sprintf("%s on %s key %q (ordinal %d) since %s", w.Name, w.EventType, w.Key, w.Ordinal, Stamp(w.Since)))
	}
	if lease == nil {
		row("lease", "none")
	} else {
		state := "expired"
		if v.Live {
			state = "live"
		}
		row("lease", fmt.Sprintf("%s, held by %s, fencing token %d, expires %s", state, OwnerName(lease.Owner), lease.FencingToken, Stamp(lease.ExpiresAt)))
	}
	names := make([]string, 0, len(rec.EventTypes))
	for _, t := range rec.EventTypes {
		names = append(names, t.Name)
	}
	row("event types", strings.Join(names, ", "))
	if len(grants) == 0 {
		row("grants", "none")
	}
	for i, g := range grants {
		k := ""
		if i == 0 {
			k = "grants"
		}
		row(k, fmt.Sprintf("session %s: %s %s", g.SessionID, g.Descriptor.Kind, g.Descriptor.Label))
	}
	return tw.Flush()
}

// describeOutput renders an await output in one line.
func describeOutput(o procreg.AwaitOutput) string {
	switch o.Kind {
	case procreg.OutputSuccess:
		return "success " + clip(string(o.Value), 80)
	case procreg.OutputFailure:
		return fmt.Sprintf("failure %s/%s: %s", o.Class, o.Code, o.Message)
	case procreg.OutputCancelled:
		return "cancelled: " + o.Message
	case procreg.OutputAbandoned:
		if ev := o.Evidence; ev != nil {
			s := "abandoned by " + ev.Writer
			if ev.Owner != nil {
				s += ", owner " + OwnerName(*ev.Owner)
			}
			return s + " at " + Stamp(ev.At)
		}
		return "abandoned"
	}
	return o.Kind
}

// runEvents prints a process's events, optionally following new ones.
func runEvents(ctx context.Context, e *Env, args []string) error {
	fs, c := NewFlags(e, "events", " <process-id>")
	after := fs.Uint64("after", 0, "only events with a sequence greater than this")
	follow := fs.Bool("follow", false, "keep printing new events until the process is terminal (or Ctrl-C)")
	reg, id, err := openForProcess(ctx, fs, c, args)
	if err != nil {
		return err
	}
	defer reg.Close()
	events, err := reg.EventsAfter(ctx, id, *after)
	if err != nil {
		return err
	}
	if !*follow {
		if c.JSON {
			if events == nil {
				events = []procreg.Event{}
			}
			return WriteJSON(e.Stdout, events)
		}
		tw := NewTable(e.Stdout)
		fmt.Fprintln(tw, strings.Join(eventHeader, "\t"))
		for _, ev := range events {
			fmt.Fprintln(tw, strings.Join(eventCells(ev), "\t"))
		}
		return tw.Flush()
	}
	// Follow: one line per event (JSON lines with --json), polling with the
	// awaiter's backoff, until the process is terminal and drained.
	var b await.Backoff
	cursor := *after
	if !c.JSON {
		fmt.Fprintln(e.Stdout, strings.Join(eventHeader, "  "))
	}
	for {
		for _, ev := range events {
			if c.JSON {
				line, err := json.Marshal(ev)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.Stdout, "%s\n", line)
			} else {
				fmt.Fprintln(e.Stdout, strings.Join(eventCells(ev), "  "))
			}
			cursor = ev.Sequence
		}
		if len(events) > 0 {
			b.Reset()
		}
		rec, err := reg.GetProcess(ctx, id)
		if err != nil {
			return err
		}
		if rec.IsTerminal() {
			// Anything appended before the terminal read is printed first.
			rest, err := reg.EventsAfter(ctx, id, cursor)
			if err != nil {
				return err
			}
			if len(rest) == 0 {
				return nil
			}
			events = rest
			continue
		}
		if err := b.Wait(ctx); err != nil {
			if await.IsTimeout(err) {
				return nil // interrupted by the user: not a failure
			}
			return err
		}
		if events, err = reg.EventsAfter(ctx, id, cursor); err != nil {
			return err
		}
	}
}

func semantics(ev procreg.Event) string {
	var s []string
	if ev.Terminal != nil {
		s = append(s, "terminal:"+string(ev.Terminal.State))
	}
	if ev.Wake != nil {
		s = append(s, "wake")
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

// eventHeader names the columns of eventCells.
var eventHeader = []string{"SEQ", "TYPE", "OCCURRED", "SEMANTICS", "PAYLOAD"}

// eventCells formats one event for the events table and for --follow lines.
func eventCells(ev procreg.Event) []string {
	return []string{strconv.FormatUint(ev.Sequence, 10), printable(ev.EventType), Stamp(ev.OccurredAt), semantics(ev), clip(string(ev.Payload), 80)}
}

// runPrune deletes old terminal processes.
func runPrune(ctx context.Context, e *Env, args []string) error {
	fs, c := NewFlags(e, "prune", "")
	older := fs.Duration("older-than", 0, "delete terminal processes last updated longer ago than this (e.g. 168h); required")
	if _, err := Parse(fs, args, 0); err != nil {
		return err
	}
	if *older <= 0 {
		fs.Usage()
		return UsageErrorf("--older-than must be a positive duration (e.g. 24h)")
	}
	reg, err := openExisting(ctx, c.DSN)
	if err != nil {
		return err
	}
	defer reg.Close()
	cutoff := time.Now().Add(-*older)
	rep, err := reg.PruneTerminalProcesses(ctx, cutoff)
	if err != nil {
		return err
	}
	if c.JSON {
		return WriteJSON(e.Stdout, map[string]any{"cutoff": cutoff.UTC(), "pruned_processes": rep.PrunedProcesses, "pruned_events": rep.PrunedEvents})
	}
	fmt.Fprintf(e.Stdout, "pruned %d terminal process(es) and %d event(s) last updated before %s\n", rep.PrunedProcesses, rep.PrunedEvents, Stamp(cutoff))
	return nil
}

// Owner returns the lease owner identity of this OS process under the
// owner id name (a fresh incarnation id, local-process liveness): the sweep
// command's, and the demo parent's and workers'.
func Owner(name string) (procreg.LeaseOwner, error) {
	live, err := procreg.CurrentProcessLiveness()
	if err != nil {
		return procreg.LeaseOwner{}, fmt.Errorf("read this process's liveness: %w", err)
	}
	return procreg.LeaseOwner{
		OwnerID:       name,
		IncarnationID: fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()),
		Liveness:      live,
	}, nil
}

// runSweep runs one recovery pass without a runner: it abandons and
// reconciles what may be, and reports the claimable work it leaves to workers.
func runSweep(ctx context.Context, e *Env, args []string) error {
	fs, c := NewFlags(e, "sweep", "")
	ttl := fs.Duration("ttl", 30*time.Second, "lease ttl used while the sweep writes")
	if _, err := Parse(fs, args, 0); err != nil {
		return err
	}
	if *ttl <= 0 {
		return UsageErrorf("--ttl must be positive")
	}
	owner, err := Owner("procreg-sweep")
	if err != nil {
		return err
	}
	reg, err := openExisting(ctx, c.DSN)
	if err != nil {
		return err
	}
	defer reg.Close()
	s := &sweep.Sweeper{Registry: reg, Owner: owner, TTL: *ttl}
	rep, err := s.Pass(ctx)
	if err != nil {
		return err
	}
	if rep.Outcomes == nil {
		rep.Outcomes = []sweep.Outcome{}
	}
	failed := rep.Count(sweep.Failed)
	if c.JSON {
		if err := WriteJSON(e.Stdout, rep); err != nil {
			return err
		}
		return sweepFailure(failed)
	}
	if len(rep.Outcomes) == 0 {
		fmt.Fprintln(e.Stdout, "nothing to recover: no running processes")
		return nil
	}
	tw := NewTable(e.Stdout)
	fmt.Fprintln(tw, "PROCESS\tDISPOSITION\tACTION\tDETAIL")
	for _, o := range rep.Outcomes {
		detail := ""
		if o.Holder != nil {
			detail = "owner " + OwnerName(*o.Holder)
		}
		if o.Error != "" {
			detail = o.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", printable(o.ProcessID), o.Disposition, o.Action, orDash(printable(detail)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%d non-terminal: %d abandoned, %d reconciled, %d claimable, %d busy, %d externally owned, %d started elsewhere, %d pending abandon\n",
		len(rep.Outcomes), rep.Count(sweep.Abandoned), rep.Count(sweep.Reconciled), rep.Count(sweep.Claimable), rep.Count(sweep.Busy),
		rep.Count(sweep.External), rep.Count(sweep.StartedElsewhere), rep.Count(sweep.AbandonPending))
	return sweepFailure(failed)
}

// sweepFailure is the error of a pass in which some rows could not be recovered.
func sweepFailure(failed int) error {
	if failed > 0 {
		return errors.New(strconv.Itoa(failed) + " process(es) could not be recovered")
	}
	return nil
}
