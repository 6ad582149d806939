package sqladapter

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/procreg/procreg/internal/store"
)

// InTx runs fn in one database/sql transaction on db (the SQLite and MySQL
// backends), committing when fn returns nil and rolling back otherwise.
// newTx adapts the transaction to store.Tx (usually NewTx over the gen
// package's queries bound to it); name prefixes error messages.
func InTx(ctx context.Context, name string, db *sql.DB, opts *sql.TxOptions, newTx func(*sql.Tx) store.Tx, fn func(context.Context, store.Tx) error) error {
	t, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", name, err)
	}
	if err := fn(ctx, newTx(t)); err != nil {
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
