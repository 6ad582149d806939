// Command procreg inspects and exercises a procreg process registry.
//
// Its main job is `procreg demo`: a fleet of worker processes (this binary
// re-executing itself) runs work of all three recovery dispositions against
// one database while the parent injects real crashes (SIGKILL), a stall
// (SIGSTOP/SIGCONT), an operator cancel and an operator abandon request, runs
// the recovery sweep, and finally checks that every invariant held.
//
// The other subcommands inspect and operate a registry: migrate (status,
// validate), ls, show, events, cancel, abandon, prune, sweep and version;
// completion prints shell completion scripts. Every registry command takes
// --dsn (default procreg.db in the working directory, or $PROCREG_DSN) and
// -o table|wide|json|jsonl (--json is -o json). See docs/cli.md for the
// full reference.
//
// Exit codes: 0 success; 1 the operation failed or a demo invariant was
// violated; 2 usage error or malformed DSN; 3 process not found; 4 the
// database cannot be opened (for commands other than migrate and demo, which
// alone create and migrate databases, also: no such SQLite file, or no
// current procreg schema).
//
// This file only wires the packages together: internal/cli (the cobra
// command tree, flags, exit codes, output, opening registries, the operator
// commands) and internal/demo (the demo and its re-executed workers). A
// package with more commands (internal/ui) exports Commands() and is
// appended in commands below.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/procreg/procreg/internal/cli"
	"github.com/procreg/procreg/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin}, commands())
	stop()
	os.Exit(code)
}

// commands is the command set, in the order the usage text lists it. The
// demo's hidden worker must be in it: the demo re-executes this binary.
func commands() []*cobra.Command {
	return append(demo.Commands(), cli.Commands()...)
}
