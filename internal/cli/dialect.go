package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/procreg/procreg/internal/dialectgen"
)

// dialectLong is `procreg dialect`'s help.
const dialectLong = `Developer commands on procreg's source tree, not on a registry (they take no --dsn).

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

Run both from inside the procreg module (they find its root by go.mod).`

func dialectCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dialect",
		Short: "add a SQL dialect (new NAME --from BASE) or check the dialects (check)",
		Long:  dialectLong,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return UsageErrorf("want a subcommand: new or check (procreg help dialect)")
		},
	}
	cmd.AddCommand(dialectNewCommand(), dialectCheckCommand())
	return cmd
}

// noRegistryFlags refuses --dsn and the output flags on the dialect
// commands, which work on source files.
func noRegistryFlags(cmd *cobra.Command) error {
	for _, name := range []string{"dsn", "json", "output", "no-headers"} {
		if cmd.Flags().Changed(name) {
			return UsageErrorf("--%s does not apply: dialect works on procreg's source tree, not on a registry", name)
		}
	}
	return nil
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

func dialectNewCommand() *cobra.Command {
	var from, module, dir string
	cmd := &cobra.Command{
		Use:   "new NAME --from BASE [--module PATH --dir DIR]",
		Short: "write a new SQL dialect NAME as a marked copy of BASE",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return UsageErrorf("want one dialect NAME, got %d; usage: %s", len(args), cmd.UseLine())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the dialect to copy: "+strings.Join(dialectgen.Bases(), ", "))
	cmd.Flags().StringVar(&module, "module", "", "out-of-tree: the Go module path of a standalone module (with --dir)")
	cmd.Flags().StringVar(&dir, "dir", "", "out-of-tree: the directory to write the module to (with --module; must not exist or be empty)")
	_ = cmd.RegisterFlagCompletionFunc("from", cobra.FixedCompletions(dialectgen.Bases(), cobra.ShellCompDirectiveNoFileComp))
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := noRegistryFlags(cmd); err != nil {
			return err
		}
		if from == "" {
			return UsageErrorf("--from BASE is required (one of %s)", strings.Join(dialectgen.Bases(), ", "))
		}
		if (module == "") != (dir == "") {
			return UsageErrorf("--module and --dir go together")
		}
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		e := EnvOf(cmd)
		res, err := dialectgen.New(cmd.Context(), dialectgen.NewOptions{
			Root: root, Name: args[0], Base: from, Module: module, Dir: dir, Log: e.Stderr,
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
	return cmd
}

func dialectCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check [NAME...]",
		Short: "check that the SQL dialects agree (all of sqlc.yaml when no NAME is given)",
		RunE: func(cmd *cobra.Command, names []string) error {
			if err := noRegistryFlags(cmd); err != nil {
				return err
			}
			root, err := moduleRoot()
			if err != nil {
				return err
			}
			findings, sum, err := dialectgen.Check(cmd.Context(), root, names, dialectgen.CheckOptions{})
			if err != nil {
				return UsageErrorf("%v", err)
			}
			e := EnvOf(cmd)
			for _, f := range findings {
				fmt.Fprintln(e.Stdout, f)
			}
			if len(findings) > 0 {
				return fmt.Errorf("%d finding(s)", len(findings))
			}
			fmt.Fprintln(e.Stdout, sum)
			return nil
		},
	}
}
