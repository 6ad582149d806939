package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
)

// openExisting opens the registry for every command but migrate and demo:
// it neither creates nor migrates a database, so a mistyped SQLite path is
// "no such database file" (exit 4) instead of a new empty file, and looking
// at a server database never runs migrations. A database without the
// current procreg schema fails at its first query, which run maps to exit
// 4 with a hint to migrate (the engine wraps driver.ErrSchemaMissing).
func openExisting(ctx context.Context, dsn string) (procreg.Registry, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, usageErrorf("empty --dsn")
	}
	reg, err := backends.OpenExisting(ctx, dsn)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &exitError{code: exitOpen, err: fmt.Errorf("no such database file %q (procreg migrate creates one): %w", redact(dsn), err)}
	case err != nil:
		return nil, openError(dsn, fmt.Errorf("%w (if it is a procreg database, procreg migrate brings its schema up to date)", err))
	}
	// Server pools connect lazily: one point read proves the server, the
	// database and the processes table are there, so an unreachable server
	// or a missing database is exit 4 here rather than a failed query later.
	if _, err := reg.GetProcess(ctx, "procreg-cli-probe"); err != nil && !errors.Is(err, procreg.ErrNotFound) {
		reg.Close()
		return nil, &exitError{code: exitOpen, err: fmt.Errorf("cannot open database %q: %w", redact(dsn), err)}
	}
	return reg, nil
}
