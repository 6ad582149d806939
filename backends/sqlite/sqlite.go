// Package sqlite is procreg's embedded durable backend: one SQLite file
// through the pure-Go driver modernc.org/sqlite, no cgo and no server
// (TierDurable). It is a thin store over the sqlc-generated queries in
// gen/sqlite, adapted to the storage seam by the generated gen/sqlite
// adapter (see driver/sqlkit); every rule of the contract lives in the
// shared engine (driver). What is SQLite's own is the connection setup
// below and the lease clock.
//
// # Connections and locking
//
// The file runs in WAL mode with foreign keys on and a busy timeout. Writes
// go through one connection that starts every transaction with BEGIN
// IMMEDIATE, so the write lock is taken up front: writers in this process
// queue for that connection, writers in other processes wait on SQLite's
// lock (and a Write that still meets SQLITE_BUSY is retried), and two
// appends can never read the same last sequence. Reads use a separate pool
// of read-only connections; in WAL mode a reader sees a consistent snapshot
// and never waits for the writer.
//
// # Durability: synchronous = FULL
//
// With journal_mode=WAL and synchronous=FULL every commit is fsynced to
// the WAL before it returns, so a committed lease, fencing token or event
// survives a power loss or an OS crash, not only a process crash. That is
// why FULL is the default and why it is safe: the weaker NORMAL setting
// keeps the database consistent but may roll back the last commits on power
// loss, and for a lease registry that could hand out the same fencing token
// twice (a claim whose worker already acted is lost, and the next claim
// reuses its token), which is exactly what fencing exists to prevent.
// FULL still clears the throughput floor of 1,000 appends and registrations
// per second on this project's reference machine (see BenchmarkAppendEvent
// and BenchmarkRegisterProcess). WithSynchronousNormal trades the power-loss
// guarantee for speed where the caller accepts that.
//
// Writers in different OS processes share the file through SQLite's lock,
// which is not fair: a process writing in a tight loop can make another
// wait (up to the busy timeout, then the Write is retried).
//
// # Group commit
//
// Writes to single processes from many goroutines — appends, completions,
// the fenced and lease writes, AckWake, the record writes — share
// transactions (driver.GroupCommit; docs/design.md, "Group commit"): one
// runs at a time, as SQLite has one writer, and the calls that arrive
// while it runs queue and then commit together, up to 64 on distinct
// processes in one BEGIN IMMEDIATE … COMMIT, so one fsync covers them
// all. Each call still succeeds or fails on its own and returns once the
// group has committed; a call that finds no transaction running runs
// alone at once. WithGroupCommit changes the two numbers;
// WithGroupCommit(0, 0) turns it off (BenchmarkAppendEventWorkers compares
// both).
//
// # Migrations
//
// Open applies the embedded migrations (schema/sqlite) forward-only unless
// WithoutMigrations is given; Migrate applies them explicitly. Concurrent
// migrators, in this process or others, serialize on an flock of
// "<path>.lock" (see migrate.go).
//
// # Clock
//
// SQLite has no shared server clock; every timestamp and lease decision uses
// the clock given by WithClock (default time.Now), at millisecond precision.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/migrate"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Option configures Open.
type Option func(*config)

type config struct {
	clock       func() time.Time
	migrate     bool
	busyTimeout time.Duration
	readers     int
	synchronous string
	group       driver.GroupCommit
}

// defaultConfig is Open's configuration before options.
func defaultConfig() config {
	return config{clock: time.Now, migrate: true, busyTimeout: 5 * time.Second, readers: 4, synchronous: "FULL",
		group: driver.GroupCommit{Transactions: 1, MaxCalls: groupMaxCalls}}
}

// WithClock sets the clock for every timestamp and lease decision (default
// time.Now). Tests use it to move time without sleeping.
func WithClock(clock func() time.Time) Option {
	return func(c *config) {
		if clock != nil {
			c.clock = clock
		}
	}
}

// WithoutMigrations skips applying migrations on Open; the schema must
// already be current (see Migrate).
func WithoutMigrations() Option { return func(c *config) { c.migrate = false } }

// WithBusyTimeout sets how long a statement waits for another connection's
// lock before SQLite reports it busy (default 5s). A Write that still ends
// busy is retried a few times.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.busyTimeout = d
		}
	}
}

// WithReaders sets the size of the read-only connection pool (default 4).
func WithReaders(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.readers = n
		}
	}
}

// groupMaxCalls is the default bound of a group commit: PLACEHOLDER.
const groupMaxCalls = 64

// WithGroupCommit sets group commit (see "Group commit" above): at most
// transactions write transactions of single-process calls run at once
// (default 1: SQLite has one writer), and the calls beyond them are
// coalesced into groups of at most maxCalls (0: the default, 64).
// WithGroupCommit(0, 0) turns it off, so that every call is its own
// transaction.
func WithGroupCommit(transactions, maxCalls int) Option {
	return func(c *config) {
		c.group = driver.GroupCommit{Transactions: max(transactions, 0), MaxCalls: max(maxCalls, 0)}
		if c.group.MaxCalls == 0 {
			c.group.MaxCalls = groupMaxCalls
		}
	}
}

// WithSynchronousNormal runs with synchronous=NORMAL instead of FULL:
// faster commits, still consistent after any crash, but the last commits
// may be lost on power loss or an OS crash (see the package doc).
func WithSynchronousNormal() Option { return func(c *config) { c.synchronous = "NORMAL" } }

// Open opens (creating if needed) the registry stored in the SQLite file at
// path and, unless WithoutMigrations is given, brings its schema up to date.
// The directory must exist. Close the registry to release the file.
func Open(ctx context.Context, path string, opts ...Option) (procreg.Registry, error) {
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	s, err := openStore(ctx, path, c)
	if err != nil {
		return nil, err
	}
	return driver.NewRegistry(s, driver.Options{Clock: c.clock, Group: c.group}), nil
}

// Migrate applies every pending migration to the SQLite file at path
// (creating it if needed) and returns the resulting schema version.
func Migrate(ctx context.Context, path string) (version int64, err error) {
	abs, err := checkPath(path)
	if err != nil {
		return 0, err
	}
	db, err := openDB(abs, defaultConfig(), true)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return migrateDB(ctx, db, abs)
}

// checkPath validates path and returns it absolute. Bad paths are
// ErrInvalid with a message naming the problem.
func checkPath(path string) (string, error) {
	if strings.TrimSpace(path) == "" {
		return "", fmt.Errorf("%w: sqlite: empty database path", procreg.ErrInvalid)
	}
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return "", fmt.Errorf("%w: sqlite: %q is not a file path (use the memory backend for an in-memory registry)", procreg.ErrInvalid, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%w: sqlite: database path %q: %v", procreg.ErrInvalid, path, err)
	}
	dir := filepath.Dir(abs)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Both sentinels: the argument is unusable (ErrInvalid), and a caller
		// can still tell "nowhere to create it" apart (fs.ErrNotExist).
		return "", fmt.Errorf("%w: sqlite: database path %q: directory %q does not exist (%w)", procreg.ErrInvalid, path, dir, fs.ErrNotExist)
	case err != nil:
		return "", fmt.Errorf("%w: sqlite: database path %q: %v", procreg.ErrInvalid, path, err)
	case !st.IsDir():
		return "", fmt.Errorf("%w: sqlite: database path %q: %q is not a directory", procreg.ErrInvalid, path, dir)
	}
	if st, err := os.Stat(abs); err == nil && st.IsDir() {
		return "", fmt.Errorf("%w: sqlite: database path %q is a directory", procreg.ErrInvalid, path)
	}
	return abs, nil
}

// openDB opens a pool on the file. Writers begin with BEGIN IMMEDIATE;
// readers are query_only and begin deferred transactions.
func openDB(abs string, c config, writer bool) (*sql.DB, error) {
	if writer {
		if err := createPrivate(abs); err != nil {
			return nil, err
		}
	}
	q := url.Values{}
	// Order matters: the busy timeout must be in force before the WAL switch,
	// which needs a lock when another process opens the same fresh file.
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", c.busyTimeout.Milliseconds()))
	if writer {
		// WAL is a property of the file: the writer sets it once and
		// readers, opened later, inherit it.
		q.Add("_pragma", "journal_mode(wal)")
	}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+c.synchronous+")")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	if writer {
		// One writer connection: in-process writers queue here instead of
		// spinning on SQLite's lock.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(c.readers)
		db.SetMaxIdleConns(c.readers)
	}
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	return db, nil
}

// createPrivate creates the database file, when it does not exist, readable
// and writable by its owner only (0600): the registry holds whatever its
// writers stored. SQLite gives the -wal and -shm files it creates later the
// database file's permissions. An existing file keeps its own.
func createPrivate(abs string) error {
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		return f.Close()
	case errors.Is(err, fs.ErrExist):
		return nil
	default:
		return fmt.Errorf("sqlite: create %s: %w", abs, err)
	}
}

// SchemaStatus reads the schema version of the SQLite file at path
// without creating or changing anything: a missing file is an error
// wrapping fs.ErrNotExist.
func SchemaStatus(ctx context.Context, path string) (driver.SchemaStatus, error) {
	abs, err := checkPath(path)
	if err != nil {
		return driver.SchemaStatus{}, err
	}
	if _, err := os.Stat(abs); err != nil {
		return driver.SchemaStatus{}, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	db, err := openDB(abs, defaultConfig(), false)
	if err != nil {
		return driver.SchemaStatus{}, err
	}
	defer db.Close()
	return migrate.Status(ctx, db, source, func(err error) bool { return classify(err) == driver.ClassSchemaMissing })
}
