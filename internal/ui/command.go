package ui

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/procreg/procreg/internal/cli"
)

// Commands returns `procreg ui`, for cmd/procreg to add to the command
// tree. The server is this package; the command only parses flags and
// opens the registry the way every operator command does.
func Commands() []*cobra.Command {
	var listen, token string
	var allow bool
	cmd := &cobra.Command{
		Use:   "ui [--listen 127.0.0.1:8080] [--token T] [--allow-actions]",
		Short: "serve a live web view of the registry (read-only unless --allow-actions)",
		Long: "ui serves the registry's overview, process list and process pages, updated live from\n" +
			"the change feed, on loopback unless --listen says otherwise (then --token is required).\n" +
			"Operator actions (cancel and abandon requests) appear only with --allow-actions.",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&listen, "listen", DefaultListen, "address to serve on; not loopback only with --token")
	cmd.Flags().StringVar(&token, "token", os.Getenv("PROCREG_UI_TOKEN"), "require this token (?token= once, or Authorization: Bearer); default $PROCREG_UI_TOKEN")
	cmd.Flags().BoolVar(&allow, "allow-actions", false, "enable operator actions (cancel and abandon requests)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := cli.FlagsOf(cmd)
		if err != nil {
			return err
		}
		if err := CheckListen(listen, token); err != nil {
			return cli.UsageErrorf("%v", err)
		}
		ctx := cmd.Context()
		reg, err := cli.OpenExisting(ctx, c.DSN)
		if err != nil {
			return err
		}
		defer reg.Close()
		return Run(ctx, Config{Registry: reg, Listen: listen, Token: token, AllowActions: allow, Log: cli.EnvOf(cmd).Stderr})
	}
	return []*cobra.Command{cmd}
}
