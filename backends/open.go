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
	"strings"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/backends/sqlite"
)

// Open returns the registry dsn names, with its backend's default options
// (migrations applied). An empty or unknown DSN is ErrInvalid.
func Open(ctx context.Context, dsn string) (procreg.Registry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("backends: open %q: %w", dsn, err)
	}
	switch {
	case dsn == "memory:" || dsn == "memory://":
		return memory.New(), nil
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		// sqlite:///abs/path and sqlite://rel/path are the URL spellings.
		path = strings.TrimPrefix(path, "//")
		return sqlite.Open(ctx, path)
	case strings.HasSuffix(dsn, ".db") && !strings.Contains(dsn, "://"):
		return sqlite.Open(ctx, dsn)
	case strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(ctx, dsn)
	case strings.HasPrefix(dsn, "mysql://"):
		return mysql.Open(ctx, dsn)
	}
	return nil, fmt.Errorf("%w: backends: unknown DSN %q (want memory:, sqlite:<path>, a path ending in .db, postgres://, postgresql:// or mysql://)", procreg.ErrInvalid, dsn)
}
