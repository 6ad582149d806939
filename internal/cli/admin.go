package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/driver"
)

func migrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "create or upgrade the database schema (status, validate: inspect it)",
		Long: "migrate creates the database (a SQLite file; a server database must exist) and brings its\n" +
			"schema up to date. Migrations are versioned, forward-only and safe to run concurrently.\n" +
			"migrate status shows the applied and latest versions and the pending migrations;\n" +
			"migrate validate exits 1 when the schema is behind.",
		Args: exactArgs(0, ""),
		RunE: runMigrateUp,
	}
	up := &cobra.Command{Use: "up", Short: "apply pending migrations (same as migrate)", Args: exactArgs(0, ""), RunE: runMigrateUp}
	status := &cobra.Command{
		Use:   "status",
		Short: "print the applied and latest schema version and the pending migrations",
		Args:  exactArgs(0, ""),
		RunE:  func(cmd *cobra.Command, _ []string) error { return runMigrateStatus(cmd, false) },
	}
	validate := &cobra.Command{
		Use:   "validate",
		Short: "exit 1 when the schema is behind this procreg's migrations",
		Args:  exactArgs(0, ""),
		RunE:  func(cmd *cobra.Command, _ []string) error { return runMigrateStatus(cmd, true) },
	}
	cmd.AddCommand(up, status, validate)
	return cmd
}

// runMigrateUp opens the database, which applies pending migrations.
func runMigrateUp(cmd *cobra.Command, _ []string) error {
	c, err := FlagsOf(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	reg, err := Open(ctx, c.DSN)
	if err != nil {
		return err
	}
	tier := reg.DurabilityTier()
	if err := reg.Close(); err != nil {
		return fmt.Errorf("close %q: %w", Redact(c.DSN), err)
	}
	st, err := SchemaStatus(ctx, c.DSN)
	if err != nil && !errors.Is(err, backends.ErrNoSchema) {
		return err
	}
	e := EnvOf(cmd)
	if c.JSON() {
		return c.Emit(e.Stdout, map[string]any{"dsn": Redact(c.DSN), "tier": tier, "migrated": true, "version": st.Applied})
	}
	if st.Latest == 0 {
		fmt.Fprintf(e.Stdout, "%s: ready (%s, no versioned schema)\n", Redact(c.DSN), tier)
		return nil
	}
	fmt.Fprintf(e.Stdout, "%s: schema up to date at version %d (%s)\n", Redact(c.DSN), st.Applied, tier)
	return nil
}

// MigrateStatusView is the JSON shape of `procreg migrate status|validate`.
type MigrateStatusView struct {
	DSN        string                   `json:"dsn"`
	Dialect    string                   `json:"dialect"`
	Applied    int64                    `json:"applied"`
	Latest     int64                    `json:"latest"`
	Current    bool                     `json:"current"`
	Pending    []driver.SchemaMigration `json:"pending"`
	Migrations []driver.SchemaMigration `json:"migrations"`
}

func runMigrateStatus(cmd *cobra.Command, validate bool) error {
	c, err := FlagsOf(cmd)
	if err != nil {
		return err
	}
	st, err := SchemaStatus(cmd.Context(), c.DSN)
	e := EnvOf(cmd)
	if errors.Is(err, backends.ErrNoSchema) {
		if c.JSON() {
			return c.Emit(e.Stdout, MigrateStatusView{DSN: Redact(c.DSN), Dialect: st.Dialect, Current: true, Pending: []driver.SchemaMigration{}, Migrations: []driver.SchemaMigration{}})
		}
		fmt.Fprintf(e.Stdout, "%s: %s keeps no versioned schema; nothing to migrate\n", Redact(c.DSN), st.Dialect)
		return nil
	}
	if err != nil {
		return err
	}
	v := MigrateStatusView{DSN: Redact(c.DSN), Dialect: st.Dialect, Applied: st.Applied, Latest: st.Latest, Current: st.Current(),
		Pending: st.Pending(), Migrations: st.Migrations}
	if v.Pending == nil {
		v.Pending = []driver.SchemaMigration{}
	}
	if c.JSON() {
		if err := c.Emit(e.Stdout, v); err != nil {
			return err
		}
	} else {
		state := "up to date"
		if !v.Current {
			state = fmt.Sprintf("%d pending: procreg migrate applies them", len(v.Pending))
		}
		fmt.Fprintf(e.Stdout, "%s (%s): schema version %d, latest %d, %s\n", Redact(c.DSN), st.Dialect, st.Applied, st.Latest, state)
		if !validate || c.Output == OutputWide {
			t := c.Table(e.Stdout, "VERSION", "MIGRATION", "STATE")
			for _, m := range st.Migrations {
				s := "pending"
				if m.Applied {
					s = "applied"
				}
				t.Row(strconv.FormatInt(m.Version, 10), m.Name, s)
			}
			if err := t.Flush(); err != nil {
				return err
			}
		}
	}
	if validate && !v.Current {
		names := make([]string, len(v.Pending))
		for i, m := range v.Pending {
			names[i] = m.Name
		}
		return fmt.Errorf("schema version %d is behind %d (pending: %s): procreg migrate brings it up to date", st.Applied, st.Latest, strings.Join(names, ", "))
	}
	return nil
}

func pruneCommand() *cobra.Command {
	var older time.Duration
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "prune --older-than DURATION",
		Short: "delete terminal processes older than --older-than (--dry-run: only list them)",
		Args:  exactArgs(0, ""),
	}
	cmd.Flags().DurationVar(&older, "older-than", 0, "delete terminal processes last updated longer ago than this (e.g. 168h); required")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be pruned and change nothing")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := FlagsOf(cmd)
		if err != nil {
			return err
		}
		if older <= 0 {
			return UsageErrorf("--older-than must be a positive duration (e.g. 24h)")
		}
		ctx := cmd.Context()
		reg, err := OpenExisting(ctx, c.DSN)
		if err != nil {
			return err
		}
		defer reg.Close()
		cutoff := time.Now().Add(-older)
		e := EnvOf(cmd)
		if dryRun {
			return pruneDryRun(ctx, c, e, reg, cutoff)
		}
		rep, err := reg.PruneTerminalProcesses(ctx, cutoff)
		if err != nil {
			return err
		}
		if c.JSON() {
			return c.Emit(e.Stdout, map[string]any{"cutoff": cutoff.UTC(), "pruned_processes": rep.PrunedProcesses, "pruned_events": rep.PrunedEvents})
		}
		fmt.Fprintf(e.Stdout, "pruned %d terminal process(es) and %d event(s) last updated before %s\n", rep.PrunedProcesses, rep.PrunedEvents, Stamp(cutoff))
		return nil
	}
	return cmd
}

// pruneDryRun lists the terminal processes last updated before cutoff,
// with their event counts, and deletes nothing.
func pruneDryRun(ctx context.Context, c *Common, e *Env, reg procreg.Registry, cutoff time.Time) error {
	recs, err := reg.ListProcesses(ctx, procreg.ListFilter{Status: procreg.StatusAny})
	if err != nil {
		return err
	}
	type candidate struct {
		ID      string    `json:"process_id"`
		State   string    `json:"state"`
		Updated time.Time `json:"updated_at"`
		Events  int       `json:"events"`
	}
	var cands []candidate
	events := 0
	for _, r := range recs {
		if !r.IsTerminal() || !r.UpdatedAt.Before(cutoff) {
			continue
		}
		evs, err := reg.EventsAfter(ctx, r.ID, 0)
		if err != nil {
			return err
		}
		cands = append(cands, candidate{ID: r.ID, State: r.Status.State, Updated: r.UpdatedAt, Events: len(evs)})
		events += len(evs)
	}
	if c.JSON() {
		if cands == nil {
			cands = []candidate{}
		}
		return c.Emit(e.Stdout, map[string]any{"cutoff": cutoff.UTC(), "dry_run": true, "would_prune_processes": len(cands), "would_prune_events": events, "processes": cands})
	}
	t := c.Table(e.Stdout, "PROCESS", "STATE", "UPDATED", "EVENTS")
	for _, k := range cands {
		t.Row(printable(k.ID), k.State, Stamp(k.Updated), strconv.Itoa(k.Events))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "dry run: would prune %d terminal process(es) and %d event(s) last updated before %s; nothing was deleted\n", len(cands), events, Stamp(cutoff))
	return nil
}

// OperatorResult is one process of `procreg cancel|abandon`.
type OperatorResult struct {
	ProcessID string `json:"process_id"`
	// Result: "requested", "would request" (--dry-run), "already requested",
	// "already <state>" (terminal), "not found" or "failed".
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

func cancelCommand() *cobra.Command {
	var o operatorFlags
	cmd := &cobra.Command{
		Use:   "cancel [PROCESS-ID...] [--definition JSON] [--reason TEXT] [--dry-run]",
		Short: "request cancellation of running processes (their worker completes them as cancelled)",
		Long: "cancel appends the cancel request (event process.cancel_requested) to each named process and\n" +
			"to every running process whose identity definition equals --definition. The worker that runs\n" +
			"a process reads the request and completes it as cancelled; procreg itself stops nothing.",
	}
	o.add(cmd, false)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return o.run(cmd, args, "cancel", func(ctx context.Context, reg procreg.Registry, id string) (string, error) {
			rec, err := reg.GetProcess(ctx, id)
			if err != nil {
				return "", err
			}
			if rec.IsTerminal() {
				return "already " + rec.Status.State, nil
			}
			n, err := reg.CountEventsThrough(ctx, id, procreg.EventCancelRequested, ^uint64(0))
			if err != nil {
				return "", err
			}
			if n > 0 {
				return "already requested", nil
			}
			if o.dryRun {
				return "would request", nil
			}
			if _, err := reg.AppendEvent(ctx, id, procreg.CancelRequested(id, o.reason)); err != nil {
				if errors.Is(err, procreg.ErrReplayConflict) {
					return "already requested", nil
				}
				return "", err
			}
			return "requested", nil
		})
	}
	return cmd
}

func abandonCommand() *cobra.Command {
	var o operatorFlags
	cmd := &cobra.Command{
		Use:   "abandon [PROCESS-ID...] [--definition JSON] --reason TEXT [--dry-run]",
		Short: "request abandonment of running processes (a recovery pass completes them as abandoned)",
		Long: "abandon files an abandon request on each named process and on every running process whose\n" +
			"identity definition equals --definition. The worker holding a process lets go of it, and a\n" +
			"recovery pass (procreg sweep, or any sweeper) completes it as abandoned once its lease has\n" +
			"lapsed (evidence writer reconciled_request).",
	}
	o.add(cmd, true)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if strings.TrimSpace(o.reason) == "" {
			return UsageErrorf("--reason is required: say why the processes are abandoned")
		}
		by := requester()
		return o.run(cmd, args, "abandon", func(ctx context.Context, reg procreg.Registry, id string) (string, error) {
			rec, err := reg.GetProcess(ctx, id)
			if err != nil {
				return "", err
			}
			switch {
			case rec.IsTerminal():
				return "already " + rec.Status.State, nil
			case rec.AbandonRequest != nil:
				return "already requested", nil
			case o.dryRun:
				return "would request", nil
			}
			_, err = reg.RequestProcessAbandon(ctx, id, procreg.AbandonRequest{RequestedBy: by, RequestedAt: time.Now(), Reason: o.reason})
			if err != nil {
				return "", err
			}
			return "requested", nil
		})
	}
	return cmd
}

// requester names the operator in an abandon request: procreg, the user
// and the host.
func requester() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	return "procreg (" + name + "@" + host + ")"
}

// operatorFlags are cancel's and abandon's.
type operatorFlags struct {
	definition string
	reason     string
	dryRun     bool
}

func (o *operatorFlags) add(cmd *cobra.Command, reasonRequired bool) {
	cmd.Flags().StringVar(&o.definition, "definition", "", "also every running process whose identity definition equals this JSON value")
	usage := "why (recorded with the request)"
	if reasonRequired {
		usage += "; required"
	}
	cmd.Flags().StringVar(&o.reason, "reason", "", usage)
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print what would be requested and change nothing")
}

// run selects the processes (the ids, then the running processes of
// --definition), applies act to each and prints a result per process.
// Unknown ids are exit 3; any other failure exit 1.
func (o *operatorFlags) run(cmd *cobra.Command, ids []string, verb string, act func(context.Context, procreg.Registry, string) (string, error)) error {
	c, err := FlagsOf(cmd)
	if err != nil {
		return err
	}
	byDef := cmd.Flags().Changed("definition")
	if len(ids) == 0 && !byDef {
		return UsageErrorf("name the processes to %s: PROCESS-ID arguments, --definition JSON, or both", verb)
	}
	var def []byte
	if byDef {
		if def, err = definitionFilter(o.definition); err != nil {
			return err
		}
	}
	ctx := cmd.Context()
	reg, err := OpenExisting(ctx, c.DSN)
	if err != nil {
		return err
	}
	defer reg.Close()
	seen := map[string]bool{}
	var targets []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			targets = append(targets, id)
		}
	}
	if byDef {
		recs, err := reg.ListProcesses(ctx, procreg.ListFilter{Status: procreg.StatusRunning, Definition: def})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if !seen[r.ID] {
				seen[r.ID] = true
				targets = append(targets, r.ID)
			}
		}
	}
	var results []OperatorResult
	missing, failed := 0, 0
	for _, id := range targets {
		res, err := act(ctx, reg, id)
		r := OperatorResult{ProcessID: id, Result: res}
		switch {
		case errors.Is(err, procreg.ErrNotFound):
			r.Result, r.Error = "not found", notFoundError{id: id, dsn: c.DSN}.Error()
			missing++
		case errors.Is(err, procreg.ErrTerminal):
			r.Result = "already terminal"
		case err != nil:
			r.Result, r.Error = "failed", Message(err)
			failed++
		}
		results = append(results, r)
	}
	e := EnvOf(cmd)
	if c.JSON() {
		if c.Output == OutputJSONL {
			err = EmitList(c, e.Stdout, results)
		} else {
			if results == nil {
				results = []OperatorResult{}
			}
			err = WriteJSON(e.Stdout, map[string]any{"dry_run": o.dryRun, "results": results})
		}
		if err != nil {
			return err
		}
	} else {
		t := c.Table(e.Stdout, "PROCESS", "RESULT")
		for _, r := range results {
			res := r.Result
			if r.Error != "" && r.Result == "failed" {
				res += ": " + printable(r.Error)
			}
			t.Row(printable(r.ProcessID), res)
		}
		if err := t.Flush(); err != nil {
			return err
		}
		done := 0
		for _, r := range results {
			if r.Result == "requested" || r.Result == "would request" {
				done++
			}
		}
		what := verb + " requested on"
		if o.dryRun {
			what = "dry run: would request " + verb + " on"
		}
		fmt.Fprintf(e.Stderr, "%s %d of %d process(es)\n", what, done, len(results))
	}
	switch {
	case failed > 0:
		return fmt.Errorf("%d of %d %s request(s) failed", failed, len(results), verb)
	case missing > 0:
		return &exitError{code: ExitNotFound, err: fmt.Errorf("%d process(es) not found in database %q", missing, Redact(c.DSN))}
	}
	return nil
}

// Version is the module version of this binary from its build info
// ("(devel)" for a build from a source tree without version control data).
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && v == "(devel)" {
			v += " " + s.Value
		}
	}
	return v
}

// VersionView is the JSON shape of `procreg version`.
type VersionView struct {
	Module  string `json:"module"`
	Version string `json:"version"`
	Go      string `json:"go"`
	// Schema is the database's schema status, with --dsn.
	Schema *MigrateStatusView `json:"schema,omitempty"`
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print procreg's version (with --dsn, also the database's schema version)",
		Args:  exactArgs(0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := FlagsOf(cmd)
			if err != nil {
				return err
			}
			return runVersion(cmd, c)
		},
	}
}

// runVersion is `procreg version` and `procreg --version`.
func runVersion(cmd *cobra.Command, c *Common) error {
	v := VersionView{Module: "github.com/procreg/procreg", Version: Version(), Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if c.DSNGiven {
		st, err := SchemaStatus(cmd.Context(), c.DSN)
		switch {
		case errors.Is(err, backends.ErrNoSchema):
		case err != nil:
			return err
		}
		v.Schema = &MigrateStatusView{DSN: Redact(c.DSN), Dialect: st.Dialect, Applied: st.Applied, Latest: st.Latest, Current: st.Current(), Pending: st.Pending(), Migrations: st.Migrations}
	}
	e := EnvOf(cmd)
	if c.JSON() {
		return c.Emit(e.Stdout, v)
	}
	fmt.Fprintf(e.Stdout, "procreg %s (%s, %s)\n", v.Version, v.Module, v.Go)
	if s := v.Schema; s != nil {
		switch {
		case s.Latest == 0:
			fmt.Fprintf(e.Stdout, "schema: %s keeps no versioned schema\n", s.Dialect)
		case s.Current:
			fmt.Fprintf(e.Stdout, "schema: version %d of %d (%s, up to date)\n", s.Applied, s.Latest, s.Dialect)
		default:
			fmt.Fprintf(e.Stdout, "schema: version %d of %d (%s, %d pending: procreg migrate applies them)\n", s.Applied, s.Latest, s.Dialect, len(s.Pending))
		}
	}
	return nil
}
