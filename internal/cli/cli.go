// Package cli is the procreg command's machinery and its operator commands:
// the command tree (github.com/spf13/cobra: dispatch, help, shell
// completion), exit codes, output formatting (tables with escaped stored
// text, -o wide|json|jsonl), opening registries from a DSN, and the
// subcommands migrate, ls, show, events, cancel, abandon, prune, sweep and
// version, plus dialect (internal/dialectgen), which works on procreg's
// source tree. cmd/procreg is a thin main over it.
//
// Other packages add commands the way the demo does: a function returning
// []*cobra.Command (demo.Commands, and later ui.Commands), which
// cmd/procreg/main.go appends to Commands() and hands to Run. Such a
// command reads --dsn and the output flags with FlagsOf, opens the registry
// with Open or OpenExisting, and returns an error that Run maps to an exit
// code (UsageErrorf for exit 2).
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
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

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

// Env is what a subcommand reads from and writes to.
type Env struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
}

// EnvOf returns the streams of a command (those Run set on the root).
func EnvOf(cmd *cobra.Command) *Env {
	return &Env{Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(), Stdin: cmd.InOrStdin()}
}

// Commands returns the built-in commands: the operator commands migrate,
// ls, show, events, cancel, abandon, prune and sweep, bench, version, and
// the developer command dialect.
func Commands() []*cobra.Command {
	return []*cobra.Command{
		migrateCommand(), listCommand(), showCommand(), eventsCommand(),
		cancelCommand(), abandonCommand(), pruneCommand(), sweepCommand(),
		benchCommand(), versionCommand(), dialectCommand(),
	}
}

// Run builds the command tree over cmds (in the order the help lists
// them), runs args, prints an error as one line on e.Stderr and returns
// the exit code it maps to.
func Run(ctx context.Context, args []string, e *Env, cmds []*cobra.Command) int {
	root := NewRoot(cmds)
	root.SetFlagErrorFunc(flagErrorFor(args))
	root.SetArgs(args)
	root.SetOut(e.Stdout)
	root.SetErr(e.Stderr)
	root.SetIn(e.Stdin)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	if cmd == nil {
		cmd = root
	}
	if errors.Is(err, driver.ErrSchemaMissing) {
		err = &exitError{code: ExitOpen, err: schemaMissingError{err}}
	}
	fmt.Fprintf(e.Stderr, "%s: %s\n", cmd.CommandPath(), Message(err))
	return exitCode(err)
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

// schemaMissingError replaces the library's message (which names the
// backend's Migrate function) with the operator's remedy.
type schemaMissingError struct{ err error }

func (e schemaMissingError) Error() string {
	return "the database lacks the procreg schema this command needs: procreg migrate brings its schema up to date"
}
func (e schemaMissingError) Unwrap() error { return e.err }

// Message is err as the tool prints it: on one line, without the
// library's "procreg: " prefixes (the line already names the command).
func Message(err error) string {
	s := err.Error()
	for {
		t := strings.TrimPrefix(s, "procreg: ")
		if t == s {
			break
		}
		s = t
	}
	s = strings.ReplaceAll(s, ": procreg: ", ": ")
	s = strings.ReplaceAll(s, "\n", " ")
	return s
}

// NewRoot returns the root command over cmds.
func NewRoot(cmds []*cobra.Command) *cobra.Command {
	cobra.EnableCommandSorting = false
	var showVersion bool
	root := &cobra.Command{
		Use:   "procreg",
		Short: "procreg — a durable process registry, from the command line",
		Long: "procreg — a durable process registry, from the command line.\n\n" +
			"Start with `procreg demo`: a crash-injected worker fleet on ./procreg.db.",
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          rootArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if showVersion {
				c, err := FlagsOf(cmd)
				if err != nil {
					return err
				}
				return runVersion(cmd, c)
			}
			if cmd.Flags().NFlag() > 0 {
				return UsageErrorf("no command given: flags go with a command, as in procreg ls --dsn procreg.db (see procreg help)")
			}
			return cmd.Help()
		},
	}
	root.SuggestionsMinimumDistance = 2
	root.Flags().BoolVar(&showVersion, "version", false, "print the version (with --dsn, also the database's schema version)")
	addGlobalFlags(root)
	root.SetFlagErrorFunc(flagErrorFor(nil))
	root.SetHelpCommand(helpCommand())
	for _, c := range cmds {
		root.AddCommand(c)
	}
	root.SetUsageTemplate(usageTemplate)
	root.CompletionOptions.HiddenDefaultCmd = false
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Short = "print a shell completion script (bash, zsh, fish, powershell)"
			c.Args = exactArgs(0, "")
			c.RunE = func(*cobra.Command, []string) error {
				return UsageErrorf("want a shell: bash, zsh, fish or powershell (procreg help completion)")
			}
			for _, s := range c.Commands() {
				s.Args = exactArgs(0, "")
			}
		}
	}
	return root
}

// usageTemplate is cobra's, with the exit codes and DSN forms appended to
// the root command's help.
var usageTemplate = strings.Replace((&cobra.Command{}).UsageTemplate(),
	`{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}`,
	`{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} help [command]" for more information about a command.{{end}}{{if not .HasParent}}

DSNs: `+"{{dsnForms}}"+`; the default is procreg.db, or $PROCREG_DSN when set.
Exit codes: 0 ok, 1 failure or violated invariant, 2 usage or bad DSN, 3 process not found,
4 database cannot be opened.{{end}}
`, 1)

func init() {
	cobra.AddTemplateFunc("dsnForms", backends.Accepted)
}

// rootArgs refuses an unknown command with a suggestion, and explains a
// command's flag given before the command.
func rootArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return unknownCommand(cmd, args[0])
}

func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	cmd.SuggestionsMinimumDistance = 2
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	} else {
		msg += fmt.Sprintf(" (procreg help%s lists the commands)", strings.TrimPrefix(cmd.CommandPath(), "procreg"))
	}
	return UsageErrorf("%s", msg)
}

// helpCommand is `procreg help [command]`: the command's help on stdout,
// or a usage error for an unknown one.
func helpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "help about any command",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var out []cobra.Completion
			for _, s := range c.Root().Commands() {
				if s.IsAvailableCommand() && strings.HasPrefix(s.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(s.Name(), s.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			target := c.Root()
			for _, a := range args {
				next := findSub(target, a)
				if next == nil {
					return unknownCommand(target, a)
				}
				target = next
			}
			return target.Help()
		},
	}
}

func findSub(c *cobra.Command, name string) *cobra.Command {
	for _, s := range c.Commands() {
		if s.Name() == name || s.HasAlias(name) {
			return s
		}
	}
	return nil
}
