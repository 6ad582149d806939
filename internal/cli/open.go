package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
)

// Open opens the registry named by the DSN, creating and migrating the
// database as needed (migrate and demo; the other commands use
// openExisting).
func Open(ctx context.Context, dsn string) (procreg.Registry, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, UsageErrorf("empty --dsn")
	}
	reg, err := backends.Open(ctx, dsn)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A well-formed path into a missing directory is a database that
		// cannot be created (exit 4), not a malformed DSN.
		return nil, &exitError{code: ExitOpen, err: fmt.Errorf("cannot create database %q: %w", Redact(dsn), err)}
	case err != nil:
		return nil, openError(dsn, err)
	}
	return reg, nil
}

// openExisting opens the registry for every command but migrate and demo:
// it neither creates nor migrates a database, so a mistyped SQLite path is
// "no such database file" (exit 4) instead of a new empty file, and looking
// at a server database never runs migrations. A database without the
// current procreg schema fails at its first query, which Run maps to exit
// 4 with a hint to migrate (the engine wraps driver.ErrSchemaMissing).
func openExisting(ctx context.Context, dsn string) (procreg.Registry, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, UsageErrorf("empty --dsn")
	}
	reg, err := backends.OpenExisting(ctx, dsn)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &exitError{code: ExitOpen, err: fmt.Errorf("no such database file %q (procreg migrate creates one): %w", Redact(dsn), err)}
	case err != nil:
		return nil, openError(dsn, fmt.Errorf("%w (if it is a procreg database, procreg migrate brings its schema up to date)", err))
	}
	// Server pools connect lazily: one point read proves the server, the
	// database and the processes table are there, so an unreachable server
	// or a missing database is exit 4 here rather than a failed query later.
	if _, err := reg.GetProcess(ctx, "procreg-cli-probe"); err != nil && !errors.Is(err, procreg.ErrNotFound) {
		reg.Close()
		return nil, &exitError{code: ExitOpen, err: fmt.Errorf("cannot open database %q: %w", Redact(dsn), err)}
	}
	return reg, nil
}

// openError maps a failed open: a malformed DSN is a usage error, any other
// failure means the database cannot be opened.
func openError(dsn string, err error) error {
	if errors.Is(err, procreg.ErrInvalid) {
		return &exitError{code: ExitUsage, err: fmt.Errorf("bad DSN %q: %w", Redact(dsn), err)}
	}
	return &exitError{code: ExitOpen, err: fmt.Errorf("cannot open database %q: %w", Redact(dsn), err)}
}
