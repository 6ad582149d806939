// Package cli is the procreg command's machinery and its operator commands:
// argument parsing, dispatch to subcommands, exit codes, output formatting
// (tables with escaped stored text, or --json), opening registries from a
// DSN, and the subcommands migrate, ls, show, events, prune and sweep, plus
// dialect (internal/dialectgen), which works on procreg's source tree.
// cmd/procreg is a thin main over it; the demo (internal/demo) plugs in as
// further Commands and uses the same helpers.
//
// Exit codes: 0 success; 1 the operation failed or a demo invariant was
// violated; 2 usage error or malformed DSN; 3 process not found; 4 the
// database cannot be opened (for commands other than migrate and demo, which
// alone create and migrate databases, also: no such SQLite file, or no
// current procreg schema). See docs/cli.md for the full reference.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/driver"
)

// Exit codes (documented in docs/cli.md).
const (
	ExitOK       = 0
	ExitFailure  = 1
	ExitUsage    = 2
	ExitNotFound = 3
	ExitOpen     = 4
)

// DefaultDSN is the embedded default: a SQLite file in the working directory.
const DefaultDSN = "procreg.db"

// exitError carries the exit code an error maps to.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// UsageErrorf returns an error that exits with ExitUsage.
func UsageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// Command is one subcommand. Run returns nil for success, flag.ErrHelp after
// printing help (exit 0), or an error Run maps to an exit code.
type Command struct {
	Name    string
	Summary string
	Hidden  bool // left out of the usage text (the demo's worker)
	Run     func(ctx context.Context, e *Env, args []string) error
}

// Env is what every subcommand reads from and writes to.
type Env struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
}

// Commands returns the operator commands: migrate, ls, show, events, prune
// and sweep, and the developer command dialect.
func Commands() []Command {
	return []Command{
		{Name: "migrate", Summary: "create or upgrade the database schema", Run: runMigrate},
		{Name: "ls", Summary: "list processes (--status, --waiting, --definition)", Run: runList},
		{Name: "show", Summary: "show one process: record, lease and grants", Run: runShow},
		{Name: "events", Summary: "print a process's event log (--after, --follow)", Run: runEvents},
		{Name: "prune", Summary: "delete terminal processes older than --older-than", Run: runPrune},
		{Name: "sweep", Summary: "run one recovery pass and report what it did", Run: runSweep},
		{Name: "ui", Summary: "serve a live web view of the registry (--listen, --allow-actions)", Run: runUI},
		{Name: "dialect", Summary: "add a SQL dialect (new NAME --from BASE) or check the dialects (check)", Run: runDialect},
	}
}

// Run dispatches args to one of cmds and returns the exit code its error
// maps to, after printing the error to e.Stderr. The usage text lists cmds
// in order, without the hidden ones.
func Run(ctx context.Context, args []string, e *Env, cmds []Command) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(e.Stderr, cmds)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range cmds {
		if c.Name != args[0] {
			continue
		}
		err := c.Run(ctx, e, args[1:])
		if err == nil {
			return ExitOK
		}
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		if errors.Is(err, driver.ErrSchemaMissing) {
			err = &exitError{code: ExitOpen, err: err}
		}
		code := exitCode(err)
		fmt.Fprintf(e.Stderr, "procreg %s: %v\n", c.Name, err)
		return code
	}
	fmt.Fprintf(e.Stderr, "procreg: unknown command %q\n\n", args[0])
	printUsage(e.Stderr, cmds)
	return ExitUsage
}

// exitCode maps an error to the documented exit code.
func exitCode(err error) int {
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, procreg.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, procreg.ErrInvalid):
		return ExitUsage
	default:
		return ExitFailure
	}
}

func printUsage(w io.Writer, cmds []Command) {
	fmt.Fprintf(w, "procreg — a durable process registry, from the command line\n\nUsage:\n  procreg <command> [flags] [args]\n\nCommands:\n")
	for _, c := range cmds {
		if !c.Hidden {
			fmt.Fprintf(w, "  %-8s %s\n", c.Name, c.Summary)
		}
	}
	fmt.Fprintf(w, "\nEvery command but dialect takes --dsn (default %q or $PROCREG_DSN; one of %s)\n"+
		"and --json. Run `procreg <command> -h` for its flags.\n"+
		"Exit codes: 0 ok, 1 failure or violated invariant, 2 usage or bad DSN, 3 process not found,\n"+
		"4 database cannot be opened.\n", DefaultDSN, backends.Accepted())
}
