package cli

import (
	"context"
	"os"

	"github.com/procreg/procreg/internal/ui"
)

// runUI is `procreg ui`: the web view of internal/ui over an existing
// database. The server lives in internal/ui; this only parses flags.
func runUI(ctx context.Context, e *Env, args []string) error {
	fs, c := NewFlags(e, "ui", "")
	listen := fs.String("listen", ui.DefaultListen, "address to serve on; not loopback only with --token")
	token := fs.String("token", os.Getenv("PROCREG_UI_TOKEN"), "require this token (?token= once, or Authorization: Bearer); default $PROCREG_UI_TOKEN")
	allow := fs.Bool("allow-actions", false, "enable operator actions (cancel and abandon requests)")
	if _, err := Parse(fs, args, 0); err != nil {
		return err
	}
	if err := ui.CheckListen(*listen, *token); err != nil {
		return UsageErrorf("%v", err)
	}
	reg, err := openExisting(ctx, c.DSN)
	if err != nil {
		return err
	}
	defer reg.Close()
	return ui.Run(ctx, ui.Config{Registry: reg, Listen: *listen, Token: *token, AllowActions: *allow, Log: e.Stderr})
}
