package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/migrate"
	"github.com/procreg/procreg/schema"
)

// source is the postgres dialect's migrations.
var source = migrate.Source{Dialect: "postgres", FS: schema.FS, Dir: "postgres", Goose: goose.DialectPostgres}

// schemaStatus reads db's schema status (see SchemaStatus).
func schemaStatus(ctx context.Context, db *sql.DB) (driver.SchemaStatus, error) {
	return migrate.Status(ctx, db, source, func(err error) bool { return classify(err) == driver.ClassSchemaMissing })
}

// migrateDB applies the embedded migrations (schema/postgres) to db under
// migrationLocker.
func migrateDB(ctx context.Context, db *sql.DB) (int64, error) {
	return migrate.Up(ctx, db, source, migrationLocker{})
}

// postgresLockID is the advisory lock key for procreg migrations
// (crc32 of "procreg/migrate"), distinct from goose's default so that an
// application running its own goose migrations does not contend with us.
const postgresLockID int64 = 892706670

// postgresLockWait caps how long a migrator waits for another one to
// finish, like goose's own locker did (it polled once a second, which made
// six concurrent fresh opens take about four seconds).
const postgresLockWait = 10 * time.Minute

// migrationLocker is the session locker on a PostgreSQL session-level
// advisory lock. It blocks in pg_advisory_lock, so a waiting migrator
// proceeds the moment the holder unlocks (no polling interval), and the
// lock dies with the holder's connection, so a crashed migrator never
// blocks the next.

type migrationLocker struct{}

// The advisory-lock statements are inline SQL, an exception to "SQL lives
// in queries/": goose and this locker work on a database/sql connection,
// while sqlc generates the PostgreSQL queries for pgx, and sqlc's
// dialect-parity rule (queries_test.go) has no SQLite counterpart for them.

func (migrationLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, postgresLockWait)
	defer cancel()
	// Cancelling ctx cancels the blocked statement (pgx sends a cancel
	// request), so the wait honours the caller's context.
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", postgresLockID); err != nil {
		return fmt.Errorf("pg_advisory_lock: %w", err)
	}
	return nil
}

func (migrationLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", postgresLockID).Scan(&released); err != nil {
		return fmt.Errorf("pg_advisory_unlock: %w", err)
	}
	if !released {
		return errors.New("pg_advisory_unlock: the migration lock was not held")
	}
	return nil
}
