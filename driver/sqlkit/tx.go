package sqlkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/procreg/procreg/driver"
)

// ReadOne is driver.Store.ReadOne for the SQL stores: t is a driver.Tx over
// the pool itself (no BEGIN), so fn's one statement runs in autocommit, one
// round trip and its own snapshot. The context is checked first so that a
// cancelled call reports its cancellation whatever the driver would make of
// it; name prefixes that error.
func ReadOne(ctx context.Context, name string, t driver.Tx, fn func(context.Context, driver.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: read: %w", name, err)
	}
	return fn(ctx, t)
}

// InTx runs fn in one database/sql transaction on db (the SQLite and MySQL
// backends), committing when fn returns nil and rolling back otherwise.
// newTx adapts the transaction to driver.Tx (the gen package's NewTx over
// its queries bound to the transaction); name prefixes error messages.
//
// If fn panics, the transaction is rolled back before the panic goes on:
// a caller that recovers it (net/http does, per request) must not be left
// with SQLite's only write connection inside BEGIN IMMEDIATE, or a MySQL
// row lock held, which would block every later write.
func InTx(ctx context.Context, name string, db *sql.DB, opts *sql.TxOptions, newTx func(*sql.Tx) driver.Tx, fn func(context.Context, driver.Tx) error) error {
	t, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", name, err)
	}
	done := false
	defer func() {
		if !done {
			_ = t.Rollback() // only while panicking; the panic is what matters
		}
	}()
	err = fn(ctx, newTx(t))
	done = true
	if err != nil {
		if rerr := t.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("%s: rollback: %w", name, rerr))
		}
		return err
	}
	if err := t.Commit(); err != nil {
		return CommitFailed(name, err)
	}
	return nil
}

// CommitFailed is the error of a failed COMMIT: it wraps
// driver.ErrCommitFailed, so that the engine can say that the outcome of a
// write whose connection was lost during its commit is unknown, and so
// that a store's retry predicate (Retryable) does not run it again.
func CommitFailed(name string, err error) error {
	return fmt.Errorf("%s: commit: %w: %w", name, driver.ErrCommitFailed, err)
}

// Retryable is the retry predicate of a store whose errors classify
// decides: transient conflicts (the transaction was rolled back), and, for
// reads and for writes whose COMMIT was not reached, a lost or refused
// connection (ClassUnavailable: the server rolls an interrupted
// transaction back). A write whose COMMIT failed is never run again: it
// may have been applied.
func Retryable(classify func(error) driver.ErrorClass) func(error) bool {
	return func(err error) bool {
		switch classify(err) {
		case driver.ClassTransient:
			return true
		case driver.ClassUnavailable:
			return !errors.Is(err, driver.ErrCommitFailed)
		}
		return false
	}
}
