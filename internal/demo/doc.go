// Package demo is `procreg demo`: a fleet of worker processes (the procreg
// binary re-executing itself with the hidden __worker command) runs work of
// all three recovery dispositions against one database while the parent
// injects real crashes (SIGKILL), a stall (SIGSTOP/SIGCONT), an operator
// cancel and an operator abandon request, runs the recovery sweep, and
// finally reads back everything the run wrote and checks that every
// invariant held.
//
// The parent lives in demo.go, the workers in worker.go, the vocabulary both
// share (process specs, event types) in spec.go and the final check in
// invariants.go. Commands returns both subcommands; a binary that offers
// the demo must offer the worker too, since the parent re-executes
// os.Executable() with it.
//
// Fault injection needs Unix signals (signals_unix.go). Elsewhere the demo
// refuses to start, with an error naming the platform (signals_other.go);
// the worker itself uses no signals.
package demo

import "github.com/spf13/cobra"

// Commands returns the demo and its hidden worker subcommand, for
// cli.Run's command list.
func Commands() []*cobra.Command {
	return []*cobra.Command{demoCmd(), workerCmd()}
}
