package mariadb

import (
	"context"
	cryptorand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/migrate"
	"github.com/procreg/procreg/schema"
)

// source is the mariadb dialect's migrations.
var source = migrate.Source{Dialect: "mariadb", FS: schema.FS, Dir: "mariadb", Goose: goose.DialectMySQL}

// schemaStatus reads db's schema status (see SchemaStatus).
func schemaStatus(ctx context.Context, db *sql.DB) (driver.SchemaStatus, error) {
	return migrate.Status(ctx, db, source, func(err error) bool { return classify(err) == driver.ClassSchemaMissing })
}

// migrateDB applies the embedded migrations (schema/mariadb) to db under a
// migrationLocker.
func migrateDB(ctx context.Context, db *sql.DB) (int64, error) {
	return migrate.Up(ctx, db, source, &migrationLocker{db: db, ttl: lockTTL})
}

// The migration lock is a committed lease row, not GET_LOCK: GET_LOCK is
// local to one server, so on a Galera cluster migrators connected to
// different nodes would all get it (docs/galera.md). The row lives in
// LockTable of the database being migrated (so migrators of different
// databases never wait for each other):
//
//   - acquire: an autocommit compare-and-set
//     UPDATE … SET owner = me, expires_ms = now + ttl WHERE id = 1 AND
//     (owner is empty OR expires_ms < now); the lock is ours iff it changed one
//     row. Concurrent acquirers on several nodes all see a free row, but
//     certification lets only the first commit: the others get 1213 (or,
//     once the winner's write-set is applied, 0 rows) and wait. The first
//     migrator of a database (the table is missing, or its row) creates
//     them first: CREATE TABLE IF NOT EXISTS (DDL runs in the same total
//     order on every node, and concurrent creations from several nodes
//     are safe) and INSERT IGNORE. Later opens run no DDL: on Galera
//     every DDL statement pauses the whole cluster while it runs.
//   - hold: a renewal every ttl/4 pushes expires_ms forward, on the pool
//     (the migrations run on other connections).
//   - release: clear the owner (only if it is still ours).
//   - a crashed migrator stops renewing: its lease expires after ttl, by
//     the database clock of the node that looks, and the next migrator
//     takes over. A migrator paused for longer than ttl (a stopped
//     process) loses the lock; its release then reports it.
//
// The statements are SQL in Go for the same reason as the mysql dialect's
// GET_LOCK: they run before the schema exists, around goose, and have no
// twin in the other dialects (docs/design.md lists the exceptions).
const (
	// LockTable holds the migration lock's one row (id 1).
	LockTable = "procreg_migrate_lock"
	// lockTTL is how long a lease lasts without a renewal: how long a
	// crashed migrator blocks the next one.
	lockTTL = 30 * time.Second
)

// nowMs is the database clock in epoch ms, as DatabaseNowMs reads it
// (independent of the session time zone).
const nowMs = "CAST(UNIX_TIMESTAMP() * 1000 + MICROSECOND(NOW(6)) DIV 1000 AS SIGNED)"

const (
	createLockTable = "CREATE TABLE IF NOT EXISTS " + LockTable + ` (
    id         TINYINT        NOT NULL PRIMARY KEY,
    owner      VARBINARY(128) NOT NULL DEFAULT '',
    expires_ms BIGINT         NOT NULL DEFAULT 0
) ENGINE = InnoDB`
	seedLock    = "INSERT IGNORE INTO " + LockTable + " (id, owner, expires_ms) VALUES (1, '', 0)"
	acquireLock = "UPDATE " + LockTable + " SET owner = ?, expires_ms = " + nowMs + " + ? " +
		"WHERE id = 1 AND (owner = '' OR expires_ms < " + nowMs + ")"
	renewLock   = "UPDATE " + LockTable + " SET expires_ms = " + nowMs + " + ? WHERE id = 1 AND owner = ?"
	releaseLock = "UPDATE " + LockTable + " SET owner = '', expires_ms = 0 WHERE id = 1 AND owner = ?"
)

// migrationLocker is goose's session locker over the lease row. One value
// serves one migrate.Up.
type migrationLocker struct {
	db  *sql.DB // renewals run on the pool
	ttl time.Duration

	mu    sync.Mutex
	owner string
	stop  context.CancelFunc
	done  chan struct{}
	lost  error // set when a renewal found the lease gone
}

// SessionLock takes the lease, waiting (polling every 100–300 ms) while
// another live migrator holds it, until ctx ends.
func (l *migrationLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	owner, err := newOwner()
	if err != nil {
		return err
	}
	ttlMs := l.ttl.Milliseconds()
	created := false
	for {
		res, err := conn.ExecContext(ctx, acquireLock, owner, ttlMs)
		var n int64
		if err == nil {
			if n, err = res.RowsAffected(); err != nil {
				return fmt.Errorf("migration lock: %w", err)
			}
			if n == 1 {
				l.hold(owner)
				return nil
			}
		}
		switch {
		case err != nil && missingTable(err) && !created, err == nil && !created && !l.seeded(ctx, conn):
			// The first migrator of the database: create the table and its
			// row, then try again. (Only then: DDL on a Galera cluster
			// pauses every node while it runs, so an Open of a migrated
			// database runs none.)
			if err := l.create(ctx, conn); err != nil {
				return err
			}
			created = true
			continue
		case err != nil && !conflict(err):
			return fmt.Errorf("migration lock: %w", err)
		}
		t := time.NewTimer(100*time.Millisecond + rand.N(200*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for the migration lock (%s): %w", LockTable, ctx.Err())
		case <-t.C:
		}
	}
}

// create makes the lock table and its row, idempotently.
func (l *migrationLocker) create(ctx context.Context, conn *sql.Conn) error {
	if err := retryConflicts(ctx, func() error { _, err := conn.ExecContext(ctx, createLockTable); return err }); err != nil {
		return fmt.Errorf("create %s: %w", LockTable, err)
	}
	if err := retryConflicts(ctx, func() error { _, err := conn.ExecContext(ctx, seedLock); return err }); err != nil {
		return fmt.Errorf("seed %s: %w", LockTable, err)
	}
	return nil
}

// seeded reports whether the lock row exists (an acquisition that changed
// no row either met a held lock or a table whose creator died before the
// row was written).
func (l *migrationLocker) seeded(ctx context.Context, conn *sql.Conn) bool {
	var n int
	err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+LockTable+" WHERE id = 1").Scan(&n)
	return err != nil || n == 1
}

// missingTable reports ER_NO_SUCH_TABLE.
func missingTable(err error) bool {
	var me *mysqldrv.MySQLError
	return errors.As(err, &me) && me.Number == 1146
}

// hold records the lease and starts its renewals.
func (l *migrationLocker) hold(owner string) {
	ctx, stop := context.WithCancel(context.Background())
	l.mu.Lock()
	l.owner, l.stop, l.done, l.lost = owner, stop, make(chan struct{}), nil
	done := l.done
	l.mu.Unlock()
	go func() {
		defer close(done)
		tick := time.NewTicker(l.ttl / 4)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var res sql.Result
			err := retryConflicts(ctx, func() (err error) {
				res, err = l.db.ExecContext(ctx, renewLock, l.ttl.Milliseconds(), owner)
				return err
			})
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				continue // try again at the next tick, before the lease ends
			}
			if n, _ := res.RowsAffected(); n == 0 {
				// MariaDB reports changed rows: an expires_ms that did not
				// move (same millisecond) would also be 0, so look.
				var cur string
				if err := l.db.QueryRowContext(ctx, "SELECT owner FROM "+LockTable+" WHERE id = 1").Scan(&cur); err == nil && cur != owner {
					l.mu.Lock()
					l.lost = fmt.Errorf("the migration lock (%s) expired during the migration and is now held by %q: another migrator may have run at the same time", LockTable, cur)
					l.mu.Unlock()
					return
				}
			}
		}
	}()
}

// SessionUnlock stops the renewals and releases the lease if it is still
// ours; a lease lost on the way is an error.
func (l *migrationLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	l.mu.Lock()
	owner, stop, done := l.owner, l.stop, l.done
	l.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	<-done
	err := retryConflicts(ctx, func() error { _, err := conn.ExecContext(ctx, releaseLock, owner); return err })
	l.mu.Lock()
	lost := l.lost
	l.owner, l.stop, l.done = "", nil, nil
	l.mu.Unlock()
	if err != nil {
		return errors.Join(lost, fmt.Errorf("release the migration lock: %w", err))
	}
	return lost
}

// newOwner names one holding of the lock: host, pid and a random part (the
// host and pid only help a person reading the table).
func newOwner() (string, error) {
	var b [8]byte
	if _, err := cryptorand.Read(b[:]); err != nil {
		return "", fmt.Errorf("migration lock owner: %w", err)
	}
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	if len(owner) > 128 {
		owner = owner[len(owner)-128:]
	}
	return owner, nil
}

// conflict reports a certification failure or deadlock (1213), which the
// lock statements simply run again.
func conflict(err error) bool {
	var me *mysqldrv.MySQLError
	return errors.As(err, &me) && me.Number == 1213
}

// retryConflicts runs an autocommit statement until it does not fail with
// a conflict (bounded by ctx, and by 100 tries).
func retryConflicts(ctx context.Context, f func() error) error {
	var err error
	for range 100 {
		if err = f(); err == nil || !conflict(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Millisecond + rand.N(20*time.Millisecond))
	}
	return err
}
