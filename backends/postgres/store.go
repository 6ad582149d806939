package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
	gen "github.com/procreg/procreg/gen/postgres"
)

// dialect names and classifies pgx errors for the generated adapter;
// leases use the database clock.
var dialect = &sqlkit.Dialect{Name: "postgres", Classify: classify}

// newTx adapts the generated queries of one transaction to driver.Tx.
func newTx(db gen.DBTX) driver.Tx { return gen.NewTx(gen.New(db), dialect) }

// retryable reports errors a fresh attempt of the transaction can cure:
// transient conflicts, and a lost connection unless the COMMIT was sent
// (sqlkit.Retryable).
var retryable = sqlkit.Retryable(classify)

// pgStore is driver.Store over a pgx pool. Writes run at READ COMMITTED and
// serialize per process on the row lock LockProcess takes; reads of several
// statements run in a REPEATABLE READ, READ ONLY transaction for a
// consistent view, and reads of one statement on the pool directly.
type pgStore struct {
	pool  *pgxpool.Pool
	owned bool // Close closes the pool only when Open created it
}

var readOnly = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

func (s *pgStore) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.Retry(ctx, retryable, func() error { return s.inTx(ctx, pgx.TxOptions{}, fn) })
}

func (s *pgStore) Read(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.Retry(ctx, retryable, func() error { return s.inTx(ctx, readOnly, fn) })
}

// inTx runs fn in one transaction on a connection of its own, committing
// when fn returns nil. The statements travel in batches (pipe): BEGIN with
// the first statement fn reads, the writes whose result fn does not read
// with the next read or with COMMIT. A failed COMMIT, or a connection lost
// while the batch holding it was in flight, wraps driver.ErrCommitFailed
// (sqlkit.CommitFailed): the outcome is unknown, and such a write is not
// retried. The deferred rollback also runs when fn panics; after a commit
// it is a no-op. Each attempt of sqlkit.Retry gets a fresh pipe and
// adapter, so nothing leaks from one attempt to the next.
func (s *pgStore) inTx(ctx context.Context, opts pgx.TxOptions, fn func(context.Context, driver.Tx) error) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	p := newPipe(c.Conn(), opts)
	defer func() {
		p.end(ctx)
		c.Release() // a connection left inside a transaction or broken is dropped, not reused
	}()
	if err := fn(ctx, newTx(p)); err != nil {
		return err
	}
	return p.commit(ctx)
}

func (s *pgStore) ReadOne(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.ReadOne(ctx, "postgres", newTx(s.pool), fn)
}

func (s *pgStore) Tier() procreg.DurabilityTier { return procreg.TierDurable }

// Classify maps pgx errors and SQLSTATEs to the engine's error classes.
func (s *pgStore) Classify(err error) driver.ErrorClass { return classify(err) }

func classify(err error) driver.ErrorClass {
	if errors.Is(err, pgx.ErrNoRows) {
		return driver.ClassNoRows
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		if connectionLost(err) {
			return driver.ClassUnavailable
		}
		return driver.ClassOther
	}
	switch pe.Code { // SQLSTATE
	case "23505": // unique_violation
		return driver.ClassUniqueViolation
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return driver.ClassTransient
	case "42P01", "42703": // undefined_table, undefined_column
		return driver.ClassSchemaMissing
	case "57P01", "57P02", "57P03", "53300": // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
		return driver.ClassUnavailable
	}
	if strings.HasPrefix(pe.Code, "08") { // connection_exception
		return driver.ClassUnavailable
	}
	return driver.ClassOther
}

// connectionLost reports a failure to reach the server or a connection
// lost under a statement: pgconn's own "safe to retry" errors (nothing
// was sent), a failed connect, a network error, the stream ending, or
// pgconn's "conn closed" (the connection died earlier in the same
// operation, so the network error itself is not in the chain). A
// context's cancellation or deadline is the caller's, never unavailability.
func connectionLost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return pgconn.SafeToRetry(err) || errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed)
}

func (s *pgStore) Close() error {
	if s.owned {
		s.pool.Close()
	}
	return nil
}
