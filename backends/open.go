// Package backends opens a procreg registry from a DSN string, so that a
// host (or the command-line tool) can pick its storage by configuration.
// It selects the dialect registered for the DSN's scheme (see
// driver.Register) and links in the five built-in ones:
//
//	memory:                       in-memory registry (TierInline)
//	sqlite:<path>, sqlite://<path> SQLite file (TierDurable)
//	<path>.db                     SQLite file
//	postgres://…, postgresql://…  PostgreSQL (TierDurable; see backends/postgres)
//	mysql://user:pass@host:port/db MySQL 8 (TierDurable; see backends/mysql)
//	mariadb://user:pass@host:port/db MariaDB, standalone or Galera (TierDurable; see backends/mariadb)
//
// A dialect of another module is available to Open once the program
// imports its package, as database/sql drivers are:
//
//	import _ "example.com/procreg-cockroach"
//
// Importing this package pulls in every built-in backend's driver; import
// a backend package directly to avoid that.
package backends

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"

	// The built-in dialects, registered by their init functions.
	_ "github.com/procreg/procreg/backends/mariadb"
	_ "github.com/procreg/procreg/backends/memory"
	_ "github.com/procreg/procreg/backends/mysql"
	_ "github.com/procreg/procreg/backends/postgres"
	_ "github.com/procreg/procreg/backends/sqlite"
)

// Open returns the registry dsn names, with its backend's default options:
// a SQLite file is created if missing, and migrations are applied. An empty
// DSN, or one no registered dialect serves, is ErrInvalid.
func Open(ctx context.Context, dsn string) (procreg.Registry, error) {
	return open(ctx, dsn, driver.OpenOptions{})
}

// OpenExisting opens the registry dsn names without creating or migrating
// anything, for tools that only look at a registry: a SQLite file must
// already exist (else an error wrapping fs.ErrNotExist), and a database
// without the current schema fails at its first query (with an error
// wrapping driver.ErrSchemaMissing) instead of being migrated. A memory:
// DSN opens a new, empty registry as Open does.
func OpenExisting(ctx context.Context, dsn string) (procreg.Registry, error) {
	return open(ctx, dsn, driver.OpenOptions{Existing: true})
}

func open(ctx context.Context, dsn string, o driver.OpenOptions) (procreg.Registry, error) {
	if err := ctx.Err(); err != nil {
		// The DSN is not echoed: a server DSN may carry a password.
		return nil, fmt.Errorf("backends: open: %w", err)
	}
	d, ok := driver.Lookup(dsn)
	if !ok {
		return nil, fmt.Errorf("%w: backends: unknown DSN %q (want %s)", procreg.ErrInvalid, quotable(dsn), Accepted())
	}
	return d.Open(ctx, dsn, o)
}

// Accepted describes the DSNs Open accepts, from the registered dialects'
// Usage texts: "memory:, mysql://user:pass@host:port/db, …".
func Accepted() string {
	var forms []string
	for _, d := range driver.Dialects() {
		if d.Usage != "" {
			forms = append(forms, d.Usage)
			continue
		}
		for _, s := range d.Schemes {
			forms = append(forms, s+":…")
		}
	}
	return strings.Join(forms, ", ")
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

// ErrNoSchema is SchemaStatus's error for a DSN whose dialect keeps no
// versioned schema (memory:, or a dialect that does not report one).
var ErrNoSchema = errors.New("this backend has no versioned schema")

// SchemaStatus reads the schema version of the database dsn names against
// the migrations this program carries, creating and changing nothing: a
// missing SQLite file is an error wrapping fs.ErrNotExist, a DSN no
// registered dialect serves is ErrInvalid, and a dialect without a
// versioned schema gives ErrNoSchema.
func SchemaStatus(ctx context.Context, dsn string) (driver.SchemaStatus, error) {
	d, ok := driver.Lookup(dsn)
	if !ok {
		return driver.SchemaStatus{}, fmt.Errorf("%w: backends: unknown DSN %q (want %s)", procreg.ErrInvalid, quotable(dsn), Accepted())
	}
	if d.Schema == nil {
		return driver.SchemaStatus{Dialect: d.Name}, fmt.Errorf("%s: %w", d.Name, ErrNoSchema)
	}
	return d.Schema(ctx, dsn)
}
