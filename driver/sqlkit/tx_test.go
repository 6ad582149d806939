package sqlkit_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"

	_ "modernc.org/sqlite"
)

// TestInTxRollsBackOnPanic: a panic inside the transaction function rolls
// the transaction back before it propagates, so a caller that recovers it
// can write again (SQLite's single write connection is not left inside
// BEGIN) and the panicking transaction's writes are gone.
func TestInTxRollsBackOnPanic(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "tx.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // like the SQLite store's writer: one connection
	if _, err := db.Exec(`CREATE TABLE t (v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	var raw *sql.Tx
	newTx := func(tx *sql.Tx) driver.Tx { raw = tx; return nil }
	insert := func(v string) func(context.Context, driver.Tx) error {
		return func(ctx context.Context, _ driver.Tx) error {
			_, err := raw.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, v)
			return err
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("InTx swallowed the panic")
			}
		}()
		_ = sqlkit.InTx(t.Context(), "test", db, nil, newTx, func(ctx context.Context, tx driver.Tx) error {
			if err := insert("lost")(ctx, tx); err != nil {
				t.Fatal(err)
			}
			panic("boom")
		})
	}()
	// With the connection still inside the panicked transaction, this
	// would wait for a free connection forever; the deadline turns that
	// into a failure.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := sqlkit.InTx(ctx, "test", db, nil, newTx, insert("kept")); err != nil {
		t.Fatalf("write after a recovered panic: %v", err)
	}
	var got []string
	rows, err := db.Query(`SELECT v FROM t ORDER BY v`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got) != 1 || got[0] != "kept" {
		t.Fatalf("rows after the panic = %q; want only %q", got, "kept")
	}
}
