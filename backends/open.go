// Package backends opens a procreg registry from a DSN string, so that a
// host (or the command-line tool) can pick its storage by configuration:
//
//	memory:                       in-memory registry (TierInline)
//	sqlite:<path>, sqlite://<path> SQLite file (TierDurable)
//	<path>.db                     SQLite file
//	postgres://…, postgresql://…  PostgreSQL (TierDurable; see backends/postgres)
//	mysql://user:pass@host:port/db MySQL or MariaDB (TierDurable; see backends/mysql)
//
// Importing this package pulls in every backend's driver; import a backend
// package directly to avoid that.
package backends

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/backends/sqlite"
)

// Open returns the registry dsn names, with its backend's default options:
// a SQLite file is created if missing, and migrations are applied. An empty
// or unknown DSN is ErrInvalid.
func Open(ctx context.Context, dsn string) (procreg.Registry, error) {
	return open(ctx, dsn, false)
}

// OpenExisting opens the registry dsn names without creating or migrating
// anything, for tools that only look at a registry: a SQLite file must
// already exist (else an error wrapping fs.ErrNotExist), and a database
// without the current schema fails at its first query instead of being
// migrated. A memory: DSN opens a new, empty registry as Open does.
func OpenExisting(ctx context.Context, dsn string) (procreg.Registry, error) {
	return open(ctx, dsn, true)
}

func open(ctx context.Context, dsn string, existing bool) (procreg.Registry, error) {
	if err := ctx.Err(); err != nil {
		// The DSN is not echoed: a server DSN may carry a password.
		return nil, fmt.Errorf("backends: open: %w", err)
	}
	switch {
	case dsn == "memory:" || dsn == "memory://":
		return memory.New(), nil
	case strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://"):
		if existing {
			return postgres.Open(ctx, dsn, postgres.WithoutMigrations())
		}
		return postgres.Open(ctx, dsn)
	case strings.HasPrefix(dsn, "mysql://"):
		if existing {
			return mysql.Open(ctx, dsn, mysql.WithoutMigrations())
		}
		return mysql.Open(ctx, dsn)
	}
	path, ok := sqlitePath(dsn)
	if !ok {
		return nil, fmt.Errorf("%w: backends: unknown DSN %q (want memory:, sqlite:<path>, a path ending in .db, postgres://, postgresql:// or mysql://)", procreg.ErrInvalid, quotable(dsn))
	}
	if !existing {
		return sqlite.Open(ctx, path)
	}
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("backends: open existing SQLite database %q: %w", path, err)
		}
	}
	return sqlite.Open(ctx, path, sqlite.WithoutMigrations())
}

// sqlitePath returns the file a SQLite DSN names, for the spellings Open
// accepts: sqlite:<path>, sqlite:///abs/path or sqlite://rel/path, and a
// path ending in .db. ok is false for any other DSN.
func sqlitePath(dsn string) (path string, ok bool) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//"), true
	case strings.HasSuffix(dsn, ".db") && !strings.Contains(dsn, "://"):
		return dsn, true
	}
	return "", false
}

// quotable is dsn as an error message may show it: a DSN with an '@' may
// hold a password (user:pass@host), so everything from its first ':' or
// '@' on is elided.
func quotable(dsn string) string {
	if !strings.Contains(dsn, "@") {
		return dsn
	}
	return dsn[:strings.IndexAny(dsn, ":@")] + "…"
}
