package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/procreg/procreg/internal/dialectgen"
)

// dialectUsage is `procreg dialect`'s help.
const dialectUsage = `Usage:
  procreg dialect new NAME --from BASE [--module PATH --dir DIR]
  procreg dialect check [NAME...]

new writes a SQL dialect NAME as a copy of BASE (sqlite, postgres or mysql):
schema/NAME, queries/NAME, its sqlc.yaml entry, backends/NAME and gen/NAME
(sqlc and the adapter generator are run), every copied line a database
difference touches marked TODO(dialect), and prints what to review. With
--module and --dir it writes a standalone Go module PATH in DIR instead,
for a dialect in its own repository. It changes nothing when NAME exists.

check verifies the SQL dialects (all when no NAME is given) against each
other: query names, migration versions, the columns the adapter reads,
gen/ in sync, registration, and no TODO(dialect) left. One line per
finding and exit status 1, or a one-line summary.

Run both from inside the procreg module (they find its root by go.mod).
`

// runDialect dispatches `procreg dialect new|check`.
func runDialect(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.Stderr, dialectUsage)
		return UsageErrorf("want a subcommand: new or check")
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(e.Stderr, dialectUsage)
		return flag.ErrHelp
	case "new":
		return runDialectNew(ctx, e, args[1:])
	case "check":
		return runDialectCheck(ctx, e, args[1:])
	}
	fmt.Fprint(e.Stderr, dialectUsage)
	return UsageErrorf("unknown subcommand %q: want new or check", args[0])
}

// dialectFlags is the flag set of a dialect subcommand (no --dsn or
// --json: these commands work on source files, not on a registry).
func dialectFlags(e *Env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet("procreg dialect "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: procreg dialect %s%s\n\nFlags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parseAny is Parse without a fixed positional count.
func parseAny(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: ExitUsage, err: err}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// moduleRoot finds the procreg module around the working directory.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, module, err := dialectgen.FindRoot(wd)
	if err != nil {
		return "", err
	}
	if module != dialectgen.ProcregModule {
		return "", fmt.Errorf("%s is module %s, not %s: run from inside the procreg module", root, module, dialectgen.ProcregModule)
	}
	return root, nil
}

func runDialectNew(ctx context.Context, e *Env, args []string) error {
	fs := dialectFlags(e, "new", " NAME --from BASE [--module PATH --dir DIR]")
	from := fs.String("from", "", "the dialect to copy: "+strings.Join(dialectgen.Bases(), ", "))
	module := fs.String("module", "", "out-of-tree: the Go module path of a standalone module (with --dir)")
	dir := fs.String("dir", "", "out-of-tree: the directory to write the module to (with --module; must not exist or be empty)")
	pos, err := parseAny(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return UsageErrorf("want one dialect NAME, got %d", len(pos))
	}
	if *from == "" {
		return UsageErrorf("--from BASE is required (one of %s)", strings.Join(dialectgen.Bases(), ", "))
	}
	if (*module == "") != (*dir == "") {
		return UsageErrorf("--module and --dir go together")
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	res, err := dialectgen.New(ctx, dialectgen.NewOptions{
		Root: root, Name: pos[0], Base: *from, Module: *module, Dir: *dir, Log: e.Stderr,
	})
	if err != nil {
		var inv *dialectgen.InvalidError
		if errors.As(err, &inv) {
			return UsageErrorf("%v", err)
		}
		return err
	}
	fmt.Fprint(e.Stdout, res.Report())
	return nil
}

func runDialectCheck(ctx context.Context, e *Env, args []string) error {
	fs := dialectFlags(e, "check", " [NAME...]")
	names, err := parseAny(fs, args)
	if err != nil {
		return err
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	findings, sum, err := dialectgen.Check(ctx, root, names, dialectgen.CheckOptions{})
	if err != nil {
		return UsageErrorf("%v", err)
	}
	for _, f := range findings {
		fmt.Fprintln(e.Stdout, f)
	}
	if len(findings) > 0 {
		return fmt.Errorf("%d finding(s)", len(findings))
	}
	fmt.Fprintln(e.Stdout, sum)
	return nil
}
