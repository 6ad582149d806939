package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/pressly/goose/v3/lock"
)

// postgresLockID is the advisory lock key for procreg migrations
// (crc32 of "procreg/migrate"), distinct from goose's default so that an
// application running its own goose migrations does not contend with us.
const postgresLockID int64 = 892706670

// postgresLockWait caps how long a migrator waits for another one to
// finish, like goose's own locker did (it polled once a second, which made
// six concurrent fresh opens take about four seconds).
const postgresLockWait = 10 * time.Minute

// NewPostgresLocker returns a session locker on a PostgreSQL session-level
// advisory lock. It blocks in pg_advisory_lock, so a waiting migrator
// proceeds the moment the holder unlocks (no polling interval), and the
// lock dies with the holder's connection, so a crashed migrator never
// blocks the next.
func NewPostgresLocker() lock.SessionLocker { return postgresLocker{} }

type postgresLocker struct{}

// The advisory-lock statements are inline SQL, an exception to "SQL lives
// in queries/": goose and this locker work on a database/sql connection,
// while sqlc generates the PostgreSQL queries for pgx, and sqlc's
// dialect-parity rule (queries_test.go) has no SQLite counterpart for them.

func (postgresLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, postgresLockWait)
	defer cancel()
	// Cancelling ctx cancels the blocked statement (pgx sends a cancel
	// request), so the wait honours the caller's context.
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", postgresLockID); err != nil {
		return fmt.Errorf("migrate postgres: pg_advisory_lock: %w", err)
	}
	return nil
}

func (postgresLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", postgresLockID).Scan(&released); err != nil {
		return fmt.Errorf("migrate postgres: pg_advisory_unlock: %w", err)
	}
	if !released {
		return errors.New("migrate postgres: pg_advisory_unlock: the migration lock was not held")
	}
	return nil
}

// mysqlLockName derives the GET_LOCK name from the current database:
// MySQL lock names are server-wide, and migrators of different databases
// must not wait for each other. MD5 keeps it under the 64-character limit.
const mysqlLockName = "CONCAT('procreg_migrate_', MD5(COALESCE(DATABASE(), '')))"

// NewMySQLLocker returns a session locker built on MySQL/MariaDB GET_LOCK.
// The lock belongs to the connection and is released by RELEASE_LOCK or
// when the connection ends, so a crashed migrator never blocks the next.
func NewMySQLLocker() lock.SessionLocker { return mysqlLocker{} }

type mysqlLocker struct{}

// GET_LOCK and RELEASE_LOCK are inline SQL for the same reason as the
// advisory-lock statements above: they run on goose's locked connection
// before any migration, and queries_test.go's dialect-parity rule would
// demand SQLite and PostgreSQL twins that have no meaning there.

func (mysqlLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	for {
		// Wait at most a second server-side per try so ctx is honoured.
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+mysqlLockName+", 1)").Scan(&got); err != nil {
			return fmt.Errorf("migrate mysql: GET_LOCK: %w", err)
		}
		if !got.Valid {
			return errors.New("migrate mysql: GET_LOCK failed")
		}
		if got.Int64 == 1 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("migrate mysql: waiting for the migration lock: %w", err)
		}
	}
}

func (mysqlLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "DO RELEASE_LOCK("+mysqlLockName+")"); err != nil {
		return fmt.Errorf("migrate mysql: RELEASE_LOCK: %w", err)
	}
	return nil
}

// NewFileLocker returns a session locker holding an exclusive flock(2) on
// path (created if missing) for the duration of a migration. flock locks
// belong to the open file, so the lock excludes other OS processes and
// other lockers in this process alike, and the kernel drops it when a
// process dies. The connection argument is ignored.
func NewFileLocker(path string) lock.SessionLocker { return &fileLocker{path: path} }

type fileLocker struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// fileLockPoll is how often a waiting migrator retries the file lock.
const fileLockPoll = 10 * time.Millisecond

func (l *fileLocker) SessionLock(ctx context.Context, _ *sql.Conn) error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("migrate sqlite: lock file: %w", err)
	}
	for {
		ok, err := tryLockFile(f)
		if err != nil {
			f.Close()
			return fmt.Errorf("migrate sqlite: lock %s: %w", l.path, err)
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			f.Close()
			return fmt.Errorf("migrate sqlite: waiting for %s: %w", l.path, ctx.Err())
		case <-time.After(fileLockPoll):
		}
	}
	l.mu.Lock()
	l.f = f
	l.mu.Unlock()
	return nil
}

func (l *fileLocker) SessionUnlock(context.Context, *sql.Conn) error {
	l.mu.Lock()
	f := l.f
	l.f = nil
	l.mu.Unlock()
	if f == nil {
		return nil
	}
	// Closing the file releases the flock.
	if err := f.Close(); err != nil {
		return fmt.Errorf("migrate sqlite: unlock %s: %w", l.path, err)
	}
	return nil
}
