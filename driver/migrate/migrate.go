// Package migrate applies a dialect's embedded migrations with goose:
// versioned, forward-only, recorded in the version table
// procreg_schema_version, and safe when several processes migrate the same
// database at once, under the lock the dialect supplies (its backend
// package owns it: a file lock for SQLite, an advisory lock on
// PostgreSQL, GET_LOCK on MySQL).
//
// A migrator that waits for the lock re-reads the version table once it
// holds it, so the loser of a race applies nothing and succeeds.
//
// Like the rest of package driver, this package is experimental: it is
// the migration runner a backend (in this module or another) calls from
// its Migrate function.
package migrate

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/procreg/procreg/driver"
)

// VersionTable is the table that records the applied migration versions.
const VersionTable = "procreg_schema_version"

// Source is one dialect's migrations.
type Source struct {
	// Dialect names the dialect in messages ("postgres").
	Dialect string
	// FS holds the goose migration files (NNNNN_name.sql) in directory
	// Dir ("" or "." for its root): schema.FS and the dialect's name for
	// the dialects of this module.
	FS  fs.FS
	Dir string
	// Goose is the goose dialect that reads and writes the version table.
	Goose goose.Dialect
}

// Up applies every pending migration of src to db while holding
// locker (nil: no lock, for callers that serialize by other means) and
// returns the schema version afterwards.
//
// The lock is taken on a connection of its own and held around the whole
// goose run: goose reads and creates its version table before it takes a
// session locker, and two first runs racing there fail ("missing zero
// version migration" on MySQL, where CREATE TABLE commits at once). A pool
// limited to one connection cannot spare that connection, so then the
// locker is handed to goose instead.
func Up(ctx context.Context, db *sql.DB, src Source, locker lock.SessionLocker) (v int64, err error) {
	d := src.Dialect
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("migrate %s: %w", d, err)
	}
	fsys, err := src.files()
	if err != nil {
		return 0, err
	}
	gd := src.Goose
	if gd == "" {
		return 0, fmt.Errorf("migrate %s: no goose dialect given", d)
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

// Latest returns the highest migration version in src.
func Latest(src Source) (int64, error) {
	d := src.Dialect
	fsys, err := src.files()
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

// files returns the directory of migrations, which must hold at least one.
func (src Source) files() (fs.FS, error) {
	if src.FS == nil {
		return nil, fmt.Errorf("migrate %s: no migrations given", src.Dialect)
	}
	fsys := src.FS
	if src.Dir != "" && src.Dir != "." {
		sub, err := fs.Sub(src.FS, src.Dir)
		if err != nil {
			return nil, fmt.Errorf("migrate %s: %w", src.Dialect, err)
		}
		fsys = sub
	}
	if names, err := fs.Glob(fsys, "*.sql"); err != nil || len(names) == 0 {
		return nil, fmt.Errorf("migrate %s: no migration files in %q", src.Dialect, src.Dir)
	}
	return fsys, nil
}

// Status reads which of src's migrations db has applied, from the version
// table, without creating or changing anything (goose's own status
// creates the version table). missing tells an error of a table that does
// not exist (the dialect's classifier), which means nothing is applied.
func Status(ctx context.Context, db *sql.DB, src Source, missing func(error) bool) (driver.SchemaStatus, error) {
	d := src.Dialect
	st := driver.SchemaStatus{Dialect: d}
	fsys, err := src.files()
	if err != nil {
		return st, err
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return st, err
	}
	for _, name := range names {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return st, fmt.Errorf("migrate %s: %s: %w", d, name, err)
		}
		st.Migrations = append(st.Migrations, driver.SchemaMigration{Version: v, Name: name})
		st.Latest = max(st.Latest, v)
	}
	slices.SortFunc(st.Migrations, func(a, b driver.SchemaMigration) int { return cmp.Compare(a.Version, b.Version) })
	rows, err := db.QueryContext(ctx, "SELECT version_id, is_applied FROM "+VersionTable+" ORDER BY id")
	if err != nil {
		if missing != nil && missing(err) {
			return st, nil
		}
		return st, fmt.Errorf("%s: read the schema version: %w", d, err)
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		var ok bool
		if err := rows.Scan(&v, &ok); err != nil {
			return st, fmt.Errorf("%s: read the schema version: %w", d, err)
		}
		applied[v] = ok // the last row of a version is its state
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("%s: read the schema version: %w", d, err)
	}
	for v, ok := range applied {
		if ok && v > 0 {
			st.Applied = max(st.Applied, v)
		}
	}
	for i := range st.Migrations {
		st.Migrations[i].Applied = applied[st.Migrations[i].Version]
	}
	return st, nil
}
