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
		return fmt.Errorf("%s: commit: %w", name, err)
	}
	return nil
}
