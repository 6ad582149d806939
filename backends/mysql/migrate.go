package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pressly/goose/v3"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/migrate"
	"github.com/procreg/procreg/schema"
)

// source is the mysql dialect's migrations.
var source = migrate.Source{Dialect: "mysql", FS: schema.FS, Dir: "mysql", Goose: goose.DialectMySQL}

// schemaStatus reads db's schema status (see SchemaStatus).
func schemaStatus(ctx context.Context, db *sql.DB) (driver.SchemaStatus, error) {
	return migrate.Status(ctx, db, source, func(err error) bool { return classify(err) == driver.ClassSchemaMissing })
}

// migrateDB applies the embedded migrations (schema/mysql) to db under
// migrationLocker.
func migrateDB(ctx context.Context, db *sql.DB) (int64, error) {
	return migrate.Up(ctx, db, source, migrationLocker{})
}

// mysqlLockName derives the GET_LOCK name from the current database:
// MySQL lock names are server-wide, and migrators of different databases
// must not wait for each other. MD5 keeps it under the 64-character limit.
const mysqlLockName = "CONCAT('procreg_migrate_', MD5(COALESCE(DATABASE(), '')))"

// migrationLocker is a session locker built on MySQL/MariaDB GET_LOCK.
// The lock belongs to the connection and is released by RELEASE_LOCK or
// when the connection ends, so a crashed migrator never blocks the next.

type migrationLocker struct{}

// GET_LOCK and RELEASE_LOCK are inline SQL for the same reason as the
// advisory-lock statements above: they run on goose's locked connection
// before any migration, and queries_test.go's dialect-parity rule would
// demand SQLite and PostgreSQL twins that have no meaning there.

func (migrationLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	for {
		// Wait at most a second server-side per try so ctx is honoured.
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+mysqlLockName+", 1)").Scan(&got); err != nil {
			return fmt.Errorf("GET_LOCK: %w", err)
		}
		if !got.Valid {
			return errors.New("GET_LOCK failed")
		}
		if got.Int64 == 1 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("waiting for the migration lock: %w", err)
		}
	}
}

func (migrationLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "DO RELEASE_LOCK("+mysqlLockName+")"); err != nil {
		return fmt.Errorf("RELEASE_LOCK: %w", err)
	}
	return nil
}
