package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/procreg/procreg"
)

// maxLsLimit is the largest --limit: the registry's page limit
// (ListProcessesPage takes 1..10000).
const maxLsLimit = 10000

// lsPageSize is how many records ls without --limit reads per
// ListProcessesPage call: it holds one page of records at a time. A
// variable so that tests can make pages small.
var lsPageSize = 1000

// lsOptions are the flags of ls.
type lsOptions struct {
	status, waiting, definition string
	definitionGiven             bool
	limit                       int
	limitGiven                  bool
	after                       string
	afterGiven                  bool
	count                       bool
}

func listCommand() *cobra.Command {
	var o lsOptions
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "list processes (--status, --waiting, --definition; --limit/--after pages; --count)",
		Long: "List processes sorted by id (byte order). --status defaults to any. --definition matches\n" +
			"the identity definition by meaning (key order and whitespace do not matter).\n" +
			"The count goes to stderr.\n\n" +
			"Without --limit, ls lists every matching process, reading them from the registry\n" +
			"1000 at a time (tables align their columns per 1000 rows). With --limit N it prints one\n" +
			"page of at most N and, when more match, the cursor of the next page: on stderr as the\n" +
			"ls command that prints it (--after CURSOR), as \"next\" in -o json\n" +
			"({\"records\": [...], \"next\": \"...\"}), as a last {\"next\": \"...\"} line in -o jsonl.\n" +
			"--after needs the filters of the call that printed the cursor.\n" +
			"--count prints only how many processes match (-o json: {\"count\": N}).",
		Args: exactArgs(0, ""),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.status, "status", string(procreg.StatusAny), "only processes in this state: "+strings.Join(statusValues, ", "))
	fl.StringVar(&o.waiting, "waiting", "", "true: only waiting processes; false: only processes not waiting")
	fl.StringVar(&o.definition, "definition", "", "only processes whose identity definition equals this JSON value (null is refused: omit the flag to list all)")
	fl.IntVar(&o.limit, "limit", 0, fmt.Sprintf("print one page of at most this many processes (1..%d) and the cursor of the next (default: every process)", maxLsLimit))
	fl.StringVar(&o.after, "after", "", "continue after a page: the cursor an ls --limit with the same filters printed")
	fl.BoolVar(&o.count, "count", false, "print only the number of matching processes")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions(statusValues, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("waiting", cobra.FixedCompletions([]string{"true", "false"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("limit", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("after", cobra.NoFileCompletions)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := FlagsOf(cmd)
		if err != nil {
			return err
		}
		o.definitionGiven = fl.Changed("definition")
		o.limitGiven = fl.Changed("limit")
		o.afterGiven = fl.Changed("after")
		f, err := o.filter()
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		reg, err := OpenExisting(ctx, c.DSN)
		if err != nil {
			return err
		}
		defer reg.Close()
		e := EnvOf(cmd)
		switch {
		case o.count:
			n, err := reg.CountProcesses(ctx, f)
			if err != nil {
				return err
			}
			if c.JSON() {
				return c.Emit(e.Stdout, struct {
					Count int `json:"count"`
				}{n})
			}
			_, err = fmt.Fprintln(e.Stdout, n)
			return err
		case o.limitGiven:
			return lsPage(ctx, c, e, reg, f, &o)
		default:
			return lsAll(ctx, c, e, reg, f, o.after)
		}
	}
	return cmd
}

// filter checks the flags and returns the filter they select.
func (o *lsOptions) filter() (procreg.ListFilter, error) {
	if !contains(statusValues, o.status) {
		return procreg.ListFilter{}, UsageErrorf("invalid --status %q: want one of %s", o.status, strings.Join(statusValues, ", "))
	}
	f := procreg.ListFilter{Status: procreg.StatusFilter(o.status)}
	if o.waiting != "" {
		b, err := strconv.ParseBool(o.waiting)
		if err != nil {
			return f, UsageErrorf("invalid --waiting %q: want true or false", o.waiting)
		}
		f.Waiting = &b
	}
	if o.definitionGiven {
		var err error
		if f.Definition, err = definitionFilter(o.definition); err != nil {
			return f, err
		}
	}
	switch {
	case o.count && (o.limitGiven || o.afterGiven):
		return f, UsageErrorf("--count prints only the number of matching processes: it takes no --limit or --after")
	case o.limitGiven && (o.limit < 1 || o.limit > maxLsLimit):
		return f, UsageErrorf("invalid --limit %d: want 1..%d (omit --limit to list every process)", o.limit, maxLsLimit)
	case o.afterGiven && o.after == "":
		return f, UsageErrorf("--after needs a cursor (an ls --limit that prints no next cursor printed the last page)")
	}
	return f, nil
}

// listPage is ListProcessesPage with an invalid --after cursor turned
// into a usage error that says what a cursor must be.
func listPage(ctx context.Context, reg procreg.Registry, f procreg.ListFilter, limit int, cursor string) (procreg.Page, error) {
	pg, err := reg.ListProcessesPage(ctx, f, limit, cursor)
	if err != nil && cursor != "" && errors.Is(err, procreg.ErrInvalid) && strings.Contains(err.Error(), "cursor") {
		return pg, UsageErrorf("invalid --after cursor: pass the next cursor an ls --limit printed, with the same --status, --waiting and --definition, on the same database (%s)", cursorProblem(err))
	}
	return pg, err
}

// cursorProblem is what the registry found wrong with a cursor, without
// its advice for library callers.
func cursorProblem(err error) string {
	s := Message(err)
	if i := strings.Index(s, "cursor: "); i >= 0 {
		s = s[i+len("cursor: "):]
	}
	if i := strings.Index(s, " (pass the Next"); i >= 0 {
		s = s[:i]
	}
	return s
}

// lsAll prints every matching process after cursor ("" = all), reading
// one page of lsPageSize records at a time: JSON is streamed, and a table
// is written (and its columns aligned) page by page under one header.
func lsAll(ctx context.Context, c *Common, e *Env, reg procreg.Registry, f procreg.ListFilter, cursor string) error {
	var (
		list  *listWriter
		table *Table
		n     int
	)
	if c.JSON() {
		list = &listWriter{c: c, w: e.Stdout}
	} else {
		table = c.Table(e.Stdout, lsHeader(c)...)
	}
	for {
		pg, err := listPage(ctx, reg, f, lsPageSize, cursor)
		if err != nil {
			return err
		}
		for _, r := range pg.Records {
			if list != nil {
				if err := list.Add(r); err != nil {
					return err
				}
			} else {
				table.Row(lsRow(c, r)...)
			}
		}
		n += len(pg.Records)
		if table != nil {
			if err := table.Flush(); err != nil {
				return err
			}
		}
		if pg.Next == "" {
			break
		}
		cursor = pg.Next
	}
	if list != nil {
		return list.Close()
	}
	fmt.Fprintf(e.Stderr, "%d process(es)\n", n)
	return nil
}

// lsPage prints one page of at most o.limit processes after o.after and
// the cursor of the next page, if any.
func lsPage(ctx context.Context, c *Common, e *Env, reg procreg.Registry, f procreg.ListFilter, o *lsOptions) error {
	pg, err := listPage(ctx, reg, f, o.limit, o.after)
	if err != nil {
		return err
	}
	if pg.Records == nil {
		pg.Records = []procreg.Record{}
	}
	switch c.Output {
	case OutputJSON:
		return c.Emit(e.Stdout, pg)
	case OutputJSONL:
		for _, r := range pg.Records {
			if err := WriteJSONLine(e.Stdout, r); err != nil {
				return err
			}
		}
		if pg.Next == "" {
			return nil
		}
		return WriteJSONLine(e.Stdout, struct {
			Next string `json:"next"`
		}{pg.Next})
	}
	t := c.Table(e.Stdout, lsHeader(c)...)
	for _, r := range pg.Records {
		t.Row(lsRow(c, r)...)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if pg.Next == "" {
		fmt.Fprintf(e.Stderr, "%d process(es), the last page\n", len(pg.Records))
		return nil
	}
	line, note := CommandLine(c.DSN, c.DSNFromEnv, o.nextArgs(c, pg.Next)...)
	fmt.Fprintf(e.Stderr, "%d process(es); the next page:\n%s\n", len(pg.Records), line)
	if note != "" {
		fmt.Fprintln(e.Stderr, note)
	}
	return nil
}

// nextArgs are the arguments of the ls that prints the page after this
// one: the same filters and table flags, --limit, and --after next.
func (o *lsOptions) nextArgs(c *Common, next string) []string {
	args := []string{"ls"}
	if o.status != string(procreg.StatusAny) {
		args = append(args, "--status", o.status)
	}
	if o.waiting != "" {
		b, _ := strconv.ParseBool(o.waiting)
		args = append(args, "--waiting", strconv.FormatBool(b))
	}
	if o.definitionGiven {
		def := o.definition
		var b bytes.Buffer
		if json.Compact(&b, []byte(def)) == nil {
			def = b.String() // one line, with the same meaning
		}
		args = append(args, "--definition", def)
	}
	if c.Output != OutputTable {
		args = append(args, "-o", c.Output)
	}
	if c.NoHeaders {
		args = append(args, "--no-headers")
	}
	return append(args, "--limit", strconv.Itoa(o.limit), "--after", next)
}

// lsHeader names the columns of lsRow.
func lsHeader(c *Common) []string {
	header := []string{"ID", "STATUS", "DISPOSITION", "IDENTITY", "WAITING", "UPDATED"}
	if c.Output == OutputWide {
		header = append(header, "CREATED", "DEFINITION", "FIRST STARTED", "ABANDON REQUEST", "EXTERNAL REF")
	}
	return header
}

// lsRow formats one record as a row of the ls table (-o wide: more
// columns, nothing clipped).
func lsRow(c *Common, r procreg.Record) []string {
	wide := c.Output == OutputWide
	width := 40
	if wide {
		width = 0
	}
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
	return row
}

// listWriter streams a list in the format EmitList prints it in: one
// indented JSON array (-o json), or one object per line (-o jsonl),
// without holding the list.
type listWriter struct {
	c *Common
	w io.Writer
	n int
}

// Add prints the next item.
func (l *listWriter) Add(v any) error {
	if l.c.Output == OutputJSONL {
		return WriteJSONLine(l.w, v)
	}
	b, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n  "
	if l.n == 0 {
		sep = "[\n  "
	}
	l.n++
	if _, err := io.WriteString(l.w, sep); err != nil {
		return err
	}
	_, err = l.w.Write(b)
	return err
}

// Close ends the list.
func (l *listWriter) Close() error {
	var err error
	switch {
	case l.c.Output == OutputJSONL:
	case l.n == 0:
		_, err = io.WriteString(l.w, "[]\n")
	default:
		_, err = io.WriteString(l.w, "\n]\n")
	}
	return err
}
