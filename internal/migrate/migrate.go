// Package migrate applies procreg's embedded migrations (package schema)
// with goose: versioned, forward-only, recorded in the version table
// procreg_schema_version, and safe when several processes migrate the same
// database at once. Each dialect serializes migrators with its own lock:
//
//   - SQLite: an exclusive flock(2) on "<database path>.lock", held around
//     the whole run, which works across OS processes and between
//     connections of one process;
//   - PostgreSQL: a blocking session-level advisory lock
//     (pg_advisory_lock); advisory locks are scoped to the current database;
//   - MySQL/MariaDB: GET_LOCK on a name derived from the current database.
//
// A migrator that waits for the lock re-reads the version table once it
// holds it, so the loser of a race applies nothing and succeeds.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/procreg/procreg/schema"
)

// VersionTable is the table that records the applied migration versions.
const VersionTable = "procreg_schema_version"

// Dialect names a database dialect with its own migration directory.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
	MySQL    Dialect = "mysql"
)

// files returns the embedded migrations and the goose dialect for d.
func (d Dialect) files() (fs.FS, goose.Dialect, error) {
	switch d {
	case SQLite:
		return schema.SQLite(), goose.DialectSQLite3, nil
	case Postgres:
		return schema.Postgres(), goose.DialectPostgres, nil
	case MySQL:
		return schema.MySQL(), goose.DialectMySQL, nil
	}
	return nil, "", fmt.Errorf("migrate: unknown dialect %q", string(d))
}

// Up applies every pending migration of dialect d to db while holding
// locker (nil: no lock, for callers that serialize by other means) and
// returns the schema version afterwards.
//
// The lock is taken on a connection of its own and held around the whole
// goose run: goose reads and creates its version table before it takes a
// session locker, and two first runs racing there fail ("missing zero
// version migration" on MySQL, where CREATE TABLE commits at once). A pool
// limited to one connection cannot spare that connection, so then the
// locker is handed to goose instead.
func Up(ctx context.Context, db *sql.DB, d Dialect, locker lock.SessionLocker) (v int64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("migrate %s: %w", d, err)
	}
	fsys, gd, err := d.files()
	if err != nil {
		return 0, err
	}
	opts := []goose.ProviderOption{
		goose.WithTableName(VersionTable),
		goose.WithDisableGlobalRegistry(true),
	}
	switch {
	case locker == nil:
	case db.Stats().MaxOpenConnections == 1:
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		conn, err := db.Conn(ctx)
		if err != nil {
			return 0, fmt.Errorf("migrate %s: lock connection: %w", d, err)
		}
		defer conn.Close()
		if err := locker.SessionLock(ctx, conn); err != nil {
			return 0, fmt.Errorf("migrate %s: %w", d, err)
		}
		defer func() {
			if uerr := locker.SessionUnlock(context.WithoutCancel(ctx), conn); uerr != nil && err == nil {
				err = fmt.Errorf("migrate %s: %w", d, uerr)
			}
		}()
	}
	p, err := goose.NewProvider(gd, db, fsys, opts...)
	if err != nil {
		return 0, fmt.Errorf("migrate %s: %w", d, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("migrate %s: %w", d, err)
	}
	v, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate %s: read version: %w", d, err)
	}
	return v, nil
}

// Latest returns the highest migration version embedded for dialect d.
func Latest(d Dialect) (int64, error) {
	fsys, _, err := d.files()
	if err != nil {
		return 0, err
	}
	// goose needs a live database for a Provider, so read the versions from
	// the file names the way goose does.
	entries, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, name := range entries {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return 0, fmt.Errorf("migrate %s: %s: %w", d, name, err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}

// UpSQLite migrates the SQLite database at path (db must be open on that
// file), serialized across processes by a file lock on path + ".lock",
// held around the whole goose run like the server locks (see Up). The file
// lock needs no connection, so this works when db allows only one.
func UpSQLite(ctx context.Context, db *sql.DB, path string) (v int64, err error) {
	l := NewFileLocker(path + ".lock")
	if err := l.SessionLock(ctx, nil); err != nil {
		return 0, err
	}
	defer func() {
		if uerr := l.SessionUnlock(context.WithoutCancel(ctx), nil); uerr != nil && err == nil {
			err = uerr
		}
	}()
	return Up(ctx, db, SQLite, nil)
}

// UpPostgres migrates a PostgreSQL database, serialized by an advisory lock.
func UpPostgres(ctx context.Context, db *sql.DB) (int64, error) {
	return Up(ctx, db, Postgres, NewPostgresLocker())
}

// UpMySQL migrates a MySQL or MariaDB database, serialized by GET_LOCK.
func UpMySQL(ctx context.Context, db *sql.DB) (int64, error) {
	return Up(ctx, db, MySQL, NewMySQLLocker())
}
