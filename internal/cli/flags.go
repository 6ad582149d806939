package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/procreg/procreg/backends"
)

// Common holds the flags every subcommand has.
type Common struct {
	DSN  string
	JSON bool
}

// NewFlags makes a subcommand's flag set with the common flags; args is the
// positional part of its usage line (" <process-id>").
func NewFlags(e *Env, name, args string) (*flag.FlagSet, *Common) {
	fs := flag.NewFlagSet("procreg "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	c := &Common{}
	def := os.Getenv("PROCREG_DSN")
	if def == "" {
		def = DefaultDSN
	}
	fs.StringVar(&c.DSN, "dsn", def, "registry DSN: "+backends.Accepted())
	fs.BoolVar(&c.JSON, "json", false, "print JSON instead of tables")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: procreg %s [flags]%s\n\nFlags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs, c
}

// Parse parses flags and positional arguments in any order, and checks the
// positional count.
func Parse(fs *flag.FlagSet, args []string, positional int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: ExitUsage, err: err}
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
			return nil, UsageErrorf("unexpected arguments: %s", strings.Join(pos, " "))
		}
		return nil, UsageErrorf("want %d argument(s), got %d", positional, len(pos))
	}
	return pos, nil
}

// flagSet reports whether the flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
