package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
	gen "github.com/procreg/procreg/gen/sqlite"
)

// sqliteStore is a driver.Store over one SQLite file: a single-connection
// writer pool and a read-only reader pool. Its transactions are the
// generated adapter (gen.NewTx) over the prepared gen/sqlite queries.
type sqliteStore struct {
	path string
	// dialect decides leases with the injected clock: SQLite has no server
	// clock that every process would share.
	dialect *sqlkit.Dialect
	writer  *sql.DB
	reader  *sql.DB
	// Statements prepared on each pool; database/sql re-prepares them once
	// per connection and transactions reuse them.
	writeQ *gen.Queries
	readQ  *gen.Queries
}

func openStore(ctx context.Context, path string, c config) (*sqliteStore, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	abs, err := checkPath(path)
	if err != nil {
		return nil, err
	}
	w, err := openDB(abs, c, true)
	if err != nil {
		return nil, err
	}
	// The first connection switches a fresh file to WAL; SQLite reports a
	// concurrent switch by another opener as busy without waiting.
	if err := retryBusy(ctx, c.busyTimeout, func() error { return w.PingContext(ctx) }); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	if c.migrate {
		if _, err := migrateDB(ctx, w, abs); err != nil {
			w.Close()
			return nil, err
		}
	}
	r, err := openDB(abs, c, false)
	if err != nil {
		w.Close()
		return nil, err
	}
	s := &sqliteStore{path: abs, dialect: &sqlkit.Dialect{Name: "sqlite", Classify: classify, LeaseClock: c.clock}, writer: w, reader: r}
	if s.writeQ, err = gen.Prepare(ctx, w); err == nil {
		s.readQ, err = gen.Prepare(ctx, r)
	}
	if err != nil {
		s.Close()
		if !c.migrate && strings.Contains(err.Error(), "no such table") {
			return nil, fmt.Errorf("sqlite: open %s: the schema is not migrated (run sqlite.Migrate, or open without WithoutMigrations): %w", abs, err)
		}
		return nil, fmt.Errorf("sqlite: prepare statements on %s: %w", abs, err)
	}
	return s, nil
}

func (s *sqliteStore) Tier() procreg.DurabilityTier { return procreg.TierDurable }

// Classify maps modernc errors to the engine's error classes (classify).
func (s *sqliteStore) Classify(err error) driver.ErrorClass { return classify(err) }

// classify maps modernc errors to the engine's error classes. Writers are
// serialized by BEGIN IMMEDIATE, so two registrations cannot both miss a
// row: a duplicate key is an error, not a race to retry, and is not
// reported as ClassUniqueViolation.
func classify(err error) driver.ErrorClass {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return driver.ClassNoRows
	case isBusy(err), isLocked(err):
		return driver.ClassTransient
	case strings.Contains(err.Error(), "no such table"), strings.Contains(err.Error(), "no such column"):
		// modernc reports both as SQLITE_ERROR; only the message tells.
		return driver.ClassSchemaMissing
	}
	return driver.ClassOther
}

func (s *sqliteStore) Close() error {
	var errs []error
	for _, q := range []*gen.Queries{s.readQ, s.writeQ} {
		if q != nil {
			errs = append(errs, q.Close())
		}
	}
	return errors.Join(append(errs, s.reader.Close(), s.writer.Close())...)
}

func (s *sqliteStore) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	// SQLITE_BUSY surfaces only once the busy timeout has been waited out
	// (another process holds the write lock); a fresh attempt may get it.
	// A full disk is not retried; its error says so (diskFull).
	return diskFull(s.path, sqlkit.Retry(ctx, retryable, func() error {
		return sqlkit.InTx(ctx, "sqlite", s.writer, nil, s.txOn(s.writeQ), fn)
	}))
}

func (s *sqliteStore) Read(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.InTx(ctx, "sqlite", s.reader, &sql.TxOptions{ReadOnly: true}, s.txOn(s.readQ), fn)
}

// ReadOne runs fn's one statement on the read-only pool without BEGIN: the
// statement is its own read transaction.
func (s *sqliteStore) ReadOne(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.ReadOne(ctx, "sqlite", gen.NewTx(s.readQ, s.dialect), fn)
}

// txOn adapts a transaction to driver.Tx through the statements prepared on
// its pool (q).
func (s *sqliteStore) txOn(q *gen.Queries) func(*sql.Tx) driver.Tx {
	return func(t *sql.Tx) driver.Tx { return gen.NewTx(q.WithTx(t), s.dialect) }
}

// retryBusy runs op until it ends with something other than SQLITE_BUSY,
// backing off up to a total wait of limit.
func retryBusy(ctx context.Context, limit time.Duration, op func() error) error {
	deadline := time.Now().Add(limit)
	backoff := time.Millisecond
	for {
		err := op()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after: %v)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// retryable: SQLITE_BUSY (the busy timeout was waited out) and
// SQLITE_LOCKED; an embedded file has no connection to lose.
func retryable(err error) bool { return isBusy(err) || isLocked(err) }

// isLocked reports whether err is SQLITE_LOCKED (any extended code): a
// conflict inside this process's connections, cured by a fresh attempt.
func isLocked(err error) bool {
	var e *sqlitedrv.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_LOCKED
}

// isBusy reports whether err is SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var e *sqlitedrv.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}
