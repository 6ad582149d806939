// Command procreg inspects and exercises a procreg process registry.
//
// Its main job is `procreg demo`: a fleet of worker processes (this binary
// re-executing itself) runs work of all three recovery dispositions against
// one database while the parent injects real crashes (SIGKILL), a stall
// (SIGSTOP/SIGCONT), an operator cancel and an operator abandon request, runs
// the recovery sweep, and finally checks that every invariant held.
//
// The other subcommands inspect a registry: migrate, ls, show, events, prune
// and sweep. Every subcommand takes --dsn (default procreg.db in the working
// directory, or $PROCREG_DSN) and --json (machine-readable output instead of
// tables). See docs/cli.md for the full reference.
//
// Exit codes: 0 success; 1 the operation failed or a demo invariant was
// violated; 2 usage error or malformed DSN; 3 process not found; 4 the
// database cannot be opened (for commands other than migrate and demo, which
// alone create and migrate databases, also: no such SQLite file, or no
// current procreg schema).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/driver"
)

// Exit codes (documented in docs/cli.md).
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitNotFound = 3
	exitOpen     = 4
)

// defaultDSN is the embedded default: a SQLite file in the working directory.
const defaultDSN = "procreg.db"

// exitError carries the exit code an error maps to.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	hidden  bool
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what every subcommand writes to.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
}

func commands() []command {
	return []command{
		{name: "demo", summary: "run a crash-injected worker fleet against the database and check every invariant", run: runDemo},
		{name: "migrate", summary: "create or upgrade the database schema", run: runMigrate},
		{name: "ls", summary: "list processes (--status, --waiting, --definition)", run: runList},
		{name: "show", summary: "show one process: record, lease and grants", run: runShow},
		{name: "events", summary: "print a process's event log (--after, --follow)", run: runEvents},
		{name: "prune", summary: "delete terminal processes older than --older-than", run: runPrune},
		{name: "sweep", summary: "run one recovery pass and report what it did", run: runSweep},
		{name: workerCommand, hidden: true, run: runWorker},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin})
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and maps its error to an exit code.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(e.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		if err == nil {
			return exitOK
		}
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		if errors.Is(err, driver.ErrSchemaMissing) {
			err = &exitError{code: exitOpen, err: err}
		}
		code := exitCode(err)
		fmt.Fprintf(e.stderr, "procreg %s: %v\n", c.name, err)
		return code
	}
	fmt.Fprintf(e.stderr, "procreg: unknown command %q\n\n", args[0])
	printUsage(e.stderr)
	return exitUsage
}

// exitCode maps an error to the documented exit code.
func exitCode(err error) int {
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, procreg.ErrNotFound):
		return exitNotFound
	case errors.Is(err, procreg.ErrInvalid):
		return exitUsage
	default:
		return exitFailure
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "procreg — a durable process registry, from the command line\n\nUsage:\n  procreg <command> [flags] [args]\n\nCommands:\n")
	for _, c := range commands() {
		if !c.hidden {
			fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprintf(w, "\nEvery command takes --dsn (default %q or $PROCREG_DSN: memory:, sqlite:<path>, <path>.db,\n"+
		"postgres://…, mysql://…) and --json. Run `procreg <command> -h` for its flags.\n"+
		"Exit codes: 0 ok, 1 failure or violated invariant, 2 usage or bad DSN, 3 process not found,\n"+
		"4 database cannot be opened.\n", defaultDSN)
}

// common holds the flags every subcommand has.
type common struct {
	dsn  string
	json bool
}

// newFlags makes a subcommand's flag set with the common flags.
func newFlags(e *env, name, args string) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet("procreg "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	c := &common{}
	def := os.Getenv("PROCREG_DSN")
	if def == "" {
		def = defaultDSN
	}
	fs.StringVar(&c.dsn, "dsn", def, "registry DSN: memory:, sqlite:<path>, <path>.db, postgres://…, mysql://…")
	fs.BoolVar(&c.json, "json", false, "print JSON instead of tables")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: procreg %s [flags]%s\n\nFlags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs, c
}

// parse parses flags and positional arguments in any order, and checks the
// positional count.
func parse(fs *flag.FlagSet, args []string, positional int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: exitUsage, err: err}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != positional {
		fs.Usage()
		if positional == 0 {
			return nil, usageErrorf("unexpected arguments: %s", strings.Join(pos, " "))
		}
		return nil, usageErrorf("want %d argument(s), got %d", positional, len(pos))
	}
	return pos, nil
}

// open opens the registry named by the DSN, creating and migrating the
// database as needed (migrate and demo; the other commands use
// openExisting).
func open(ctx context.Context, dsn string) (procreg.Registry, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, usageErrorf("empty --dsn")
	}
	reg, err := backends.Open(ctx, dsn)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A well-formed path into a missing directory is a database that
		// cannot be created (exit 4), not a malformed DSN.
		return nil, &exitError{code: exitOpen, err: fmt.Errorf("cannot create database %q: %w", redact(dsn), err)}
	case err != nil:
		return nil, openError(dsn, err)
	}
	return reg, nil
}

// openError maps a failed open: a malformed DSN is a usage error, any other
// failure means the database cannot be opened.
func openError(dsn string, err error) error {
	if errors.Is(err, procreg.ErrInvalid) {
		return &exitError{code: exitUsage, err: fmt.Errorf("bad DSN %q: %w", redact(dsn), err)}
	}
	return &exitError{code: exitOpen, err: fmt.Errorf("cannot open database %q: %w", redact(dsn), err)}
}

// redact hides the password of a URL-style DSN for printing.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}
