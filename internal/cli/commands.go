package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/await"
	"github.com/procreg/procreg/sweep"
)

// statusValues are the values of ls --status.
var statusValues = []string{
	string(procreg.StatusAny), string(procreg.StatusRunning), string(procreg.StatusCompleted),
	string(procreg.StatusFailed), string(procreg.StatusCancelled), string(procreg.StatusAbandoned),
}

// notFoundError is an unknown process id, naming the database searched.
type notFoundError struct{ id, dsn string }

func (e notFoundError) Error() string {
	return fmt.Sprintf("no process %q in database %q", e.id, Redact(e.dsn))
}
func (e notFoundError) Unwrap() error { return procreg.ErrNotFound }

// notFound replaces ErrNotFound of process id with an error naming the
// database that was searched.
func notFound(err error, id, dsn string) error {
	if errors.Is(err, procreg.ErrNotFound) {
		return notFoundError{id: id, dsn: dsn}
	}
	return err
}

// ShowView is the JSON shape of `procreg show`.
type ShowView struct {
	Process procreg.Record        `json:"process"`
	Lease   *procreg.Lease        `json:"lease"`
	Live    bool                  `json:"lease_live"`
	Grants  []procreg.HandleGrant `json:"grants"`
}

func listCommand() *cobra.Command {
	var status, waiting, definition string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "list processes (--status, --waiting, --definition)",
		Long: "List processes sorted by id (byte order). --status defaults to any. --definition matches\n" +
			"the identity definition by meaning (key order and whitespace do not matter).\n" +
			"The count goes to stderr.",
		Args: exactArgs(0, ""),
	}
	cmd.Flags().StringVar(&status, "status", string(procreg.StatusAny), "only processes in this state: "+strings.Join(statusValues, ", "))
	cmd.Flags().StringVar(&waiting, "waiting", "", "true: only waiting processes; false: only processes not waiting")
	cmd.Flags().StringVar(&definition, "definition", "", "only processes whose identity definition equals this JSON value (null is refused: omit the flag to list all)")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions(statusValues, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("waiting", cobra.FixedCompletions([]string{"true", "false"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := FlagsOf(cmd)
		if err != nil {
			return err
		}
		if !contains(statusValues, status) {
			return UsageErrorf("invalid --status %q: want one of %s", status, strings.Join(statusValues, ", "))
		}
		f := procreg.ListFilter{Status: procreg.StatusFilter(status)}
		if waiting != "" {
			b, err := strconv.ParseBool(waiting)
			if err != nil {
				return UsageErrorf("invalid --waiting %q: want true or false", waiting)
			}
			f.Waiting = &b
		}
		if cmd.Flags().Changed("definition") {
			if f.Definition, err = definitionFilter(definition); err != nil {
				return err
			}
		}
		ctx := cmd.Context()
		reg, err := OpenExisting(ctx, c.DSN)
		if err != nil {
			return err
		}
		defer reg.Close()
		recs, err := reg.ListProcesses(ctx, f)
		if err != nil {
			return err
		}
		e := EnvOf(cmd)
		if c.JSON() {
			return EmitList(c, e.Stdout, recs)
		}
		if err := printRecords(c, e, recs); err != nil {
			return err
		}
		fmt.Fprintf(e.Stderr, "%d process(es)\n", len(recs))
		return nil
	}
	return cmd
}

// printRecords prints records as the ls table (-o wide: more columns,
// nothing clipped).
func printRecords(c *Common, e *Env, recs []procreg.Record) error {
	wide := c.Output == OutputWide
	header := []string{"ID", "STATUS", "DISPOSITION", "IDENTITY", "WAITING", "UPDATED"}
	if wide {
		header = append(header, "CREATED", "DEFINITION", "FIRST STARTED", "ABANDON REQUEST", "EXTERNAL REF")
	}
	t := c.Table(e.Stdout, header...)
	width := 40
	if wide {
		width = 0
	}
	for _, r := range recs {
		ident := r.Identity.Kind
		if r.Identity.Label != "" {
			ident += ": " + r.Identity.Label
		}
		wait := "-"
		if r.Wait != nil {
			wait = r.Wait.Name
		}
		row := []string{printable(r.ID), r.Status.State, string(r.Disposition), clip(ident, width), orDash(printable(wait)), Stamp(r.UpdatedAt)}
		if wide {
			started, abandon, ext := "-", "-", "-"
			if s := r.FirstStarted; s != nil {
				started = Stamp(s.At) + " by " + printable(OwnerName(s.Owner))
			}
			if a := r.AbandonRequest; a != nil {
				abandon = Stamp(a.RequestedAt) + " by " + printable(a.RequestedBy)
			}
			if x := r.ExternalRef; x != nil {
				ext = printable(x.Backend + " " + x.ID)
			}
			row = append(row, Stamp(r.CreatedAt), orDash(printable(string(r.Identity.Definition))), started, abandon, ext)
		}
		t.Row(row...)
	}
	return t.Flush()
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

func showCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show PROCESS-ID",
		Short: "show one process: record, lease and grants",
		Args:  exactArgs(1, "PROCESS-ID"),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := FlagsOf(cmd)
		if err != nil {
			return err
		}
		ctx, id := cmd.Context(), args[0]
		reg, err := OpenExisting(ctx, c.DSN)
		if err != nil {
			return err
		}
		defer reg.Close()
		rec, err := reg.GetProcess(ctx, id)
		if err != nil {
			return notFound(err, id, c.DSN)
		}
		lease, err := reg.GetProcessLease(ctx, id)
		if err != nil {
			return notFound(err, id, c.DSN)
		}
		grants, err := reg.HandleGrantsForProcess(ctx, id)
		if err != nil {
			return notFound(err, id, c.DSN)
		}
		if grants == nil {
			grants = []procreg.HandleGrant{}
		}
		v := ShowView{Process: rec, Lease: lease, Live: lease.IsLive(time.Now()), Grants: grants}
		e := EnvOf(cmd)
		if c.JSON() {
			return c.Emit(e.Stdout, v)
		}
		return printShow(c, e, v)
	}
	return cmd
}

func printShow(c *Common, e *Env, v ShowView) error {
	rec, lease := v.Process, v.Lease
	width := 100
	if c.Output == OutputWide {
		width = 0
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
		fmt.Fprintf(tw, "%s\t%s\n", "payload", clip(string(rec.Input.Payload), width))
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
	if len(v.Grants) == 0 {
		row("grants", "none")
	}
	for i, g := range v.Grants {
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

func eventsCommand() *cobra.Command {
	var after uint64
	var follow bool
	cmd := &cobra.Command{
		Use:   "events PROCESS-ID",
		Short: "print a process's event log (--after, --follow)",
		Args:  exactArgs(1, "PROCESS-ID"),
	}
	cmd.Flags().Uint64Var(&after, "after", 0, "only events with a sequence greater than this")
	cmd.Flags().BoolVar(&follow, "follow", false, "keep printing new events until the process is terminal (or Ctrl-C)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := FlagsOf(cmd)
		if err != nil {
			return err
		}
		ctx, id := cmd.Context(), args[0]
		reg, err := OpenExisting(ctx, c.DSN)
		if err != nil {
			return err
		}
		defer reg.Close()
		events, err := reg.EventsAfter(ctx, id, after)
		if err != nil {
			return notFound(err, id, c.DSN)
		}
		e := EnvOf(cmd)
		if !follow {
			if c.JSON() {
				return EmitList(c, e.Stdout, events)
			}
			t := c.Table(e.Stdout, eventHeader(c)...)
			for _, ev := range events {
				t.Row(eventCells(c, ev)...)
			}
			return t.Flush()
		}
		return followEvents(ctx, c, e, reg, id, after, events)
	}
	return cmd
}

// followEvents prints events as they come: one line each (one JSON object
// per line with -o json or jsonl), polling with the awaiter's backoff,
// until the process is terminal and drained. Lines are padded to fixed
// column widths, so the columns line up without seeing later rows.
func followEvents(ctx context.Context, c *Common, e *Env, reg procreg.Registry, id string, cursor uint64, events []procreg.Event) error {
	var b await.Backoff
	widths := []int{5, 24, len(StampLayout), 20}
	line := func(cells []string) {
		var s strings.Builder
		for i, cell := range cells {
			if i < len(widths) {
				pad := widths[i] - len([]rune(cell))
				if i == 0 {
					s.WriteString(strings.Repeat(" ", max(pad, 0)) + cell) // numbers align right
				} else {
					s.WriteString(cell + strings.Repeat(" ", max(pad, 0)))
				}
				s.WriteString("  ")
			} else {
				s.WriteString(cell)
			}
		}
		fmt.Fprintln(e.Stdout, strings.TrimRight(s.String(), " "))
	}
	if !c.JSON() && !c.NoHeaders {
		line(eventHeader(c))
	}
	for {
		for _, ev := range events {
			if c.JSON() {
				if err := WriteJSONLine(e.Stdout, ev); err != nil {
					return err
				}
			} else {
				line(eventCells(c, ev))
			}
			cursor = ev.Sequence
		}
		if len(events) > 0 {
			b.Reset()
		}
		rec, err := reg.GetProcess(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted by the user: not a failure
			}
			return notFound(err, id, c.DSN)
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
			if await.IsTimeout(err) || ctx.Err() != nil {
				return nil // interrupted by the user: not a failure
			}
			return err
		}
		if events, err = reg.EventsAfter(ctx, id, cursor); err != nil {
			if ctx.Err() != nil {
				return nil
			}
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
func eventHeader(c *Common) []string {
	h := []string{"SEQ", "TYPE", "OCCURRED", "SEMANTICS", "PAYLOAD"}
	if c.Output == OutputWide {
		h = append(h, "REPLAY KEY")
	}
	return h
}

// eventCells formats one event for the events table and for --follow lines.
func eventCells(c *Common, ev procreg.Event) []string {
	if c.Output == OutputWide {
		return []string{strconv.FormatUint(ev.Sequence, 10), printable(ev.EventType), Stamp(ev.OccurredAt), semantics(ev), clip(string(ev.Payload), 0), orDash(printable(ev.ReplayKey))}
	}
	return []string{strconv.FormatUint(ev.Sequence, 10), printable(ev.EventType), Stamp(ev.OccurredAt), semantics(ev), clip(string(ev.Payload), 80)}
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

func sweepCommand() *cobra.Command {
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "run one recovery pass and report what it did",
		Args:  exactArgs(0, ""),
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 30*time.Second, "lease ttl used while the sweep writes")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := FlagsOf(cmd)
		if err != nil {
			return err
		}
		if ttl <= 0 {
			return UsageErrorf("invalid --ttl %v: want a positive duration (e.g. 30s)", ttl)
		}
		owner, err := Owner("procreg-sweep")
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		reg, err := OpenExisting(ctx, c.DSN)
		if err != nil {
			return err
		}
		defer reg.Close()
		s := &sweep.Sweeper{Registry: reg, Owner: owner, TTL: ttl}
		rep, err := s.Pass(ctx)
		if err != nil {
			return err
		}
		if rep.Outcomes == nil {
			rep.Outcomes = []sweep.Outcome{}
		}
		failed := rep.Count(sweep.Failed)
		e := EnvOf(cmd)
		if c.Output == OutputJSONL {
			if err := EmitList(c, e.Stdout, rep.Outcomes); err != nil {
				return err
			}
			return sweepFailure(failed)
		}
		if c.JSON() {
			if err := WriteJSON(e.Stdout, rep); err != nil {
				return err
			}
			return sweepFailure(failed)
		}
		if len(rep.Outcomes) == 0 {
			fmt.Fprintln(e.Stderr, "nothing to recover: no running processes")
			return nil
		}
		header := []string{"PROCESS", "DISPOSITION", "ACTION", "DETAIL"}
		if c.Output == OutputWide {
			header = append(header, "TAKEOVER", "FENCING TOKEN")
		}
		t := c.Table(e.Stdout, header...)
		for _, o := range rep.Outcomes {
			detail := ""
			if o.Holder != nil {
				detail = "owner " + OwnerName(*o.Holder)
			}
			if o.Error != "" {
				detail = o.Error
			}
			row := []string{printable(o.ProcessID), string(o.Disposition), string(o.Action), orDash(printable(detail))}
			if c.Output == OutputWide {
				row = append(row, strconv.FormatBool(o.Takeover), strconv.FormatUint(o.FencingToken, 10))
			}
			t.Row(row...)
		}
		if err := t.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(e.Stderr, "%d non-terminal: %d abandoned, %d reconciled, %d claimable, %d busy, %d externally owned, %d started elsewhere, %d pending abandon\n",
			len(rep.Outcomes), rep.Count(sweep.Abandoned), rep.Count(sweep.Reconciled), rep.Count(sweep.Claimable), rep.Count(sweep.Busy),
			rep.Count(sweep.External), rep.Count(sweep.StartedElsewhere), rep.Count(sweep.AbandonPending))
		return sweepFailure(failed)
	}
	return cmd
}

// sweepFailure is the error of a pass in which some rows could not be recovered.
func sweepFailure(failed int) error {
	if failed > 0 {
		return errors.New(strconv.Itoa(failed) + " process(es) could not be recovered")
	}
	return nil
}
