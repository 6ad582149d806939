package mysql_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/mysql"
	mysqlgen "github.com/procreg/procreg/gen/mysql"
	"github.com/procreg/procreg/internal/testdb"
)

// TestPruneSkipsLockedRows: prune takes its candidates FOR UPDATE SKIP
// LOCKED, so a terminal process another transaction holds locked (a
// transfer or session delete, which lock in id order) is left for a later
// pass instead of being waited for: prune never waits on a process lock, so
// it cannot deadlock with multi-process writers. The busy process is pruned
// once its lock is released.
func TestPruneSkipsLockedRows(t *testing.T) {
	ctx := t.Context()
	d := testdb.MySQLMigrated(t)
	r, err := mysql.Open(ctx, d.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, id := range []string{"busy", "idle"} {
		_, err := r.RegisterProcess(ctx, procreg.Registration{ID: id, Disposition: procreg.DispositionRerunnable,
			Input: procreg.ProcessInput{Kind: procreg.InputTool}, EnvRef: "env"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`1`)}); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("mysql", d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := mysqlgen.New(tx).LockProcess(ctx, "busy"); err != nil {
		t.Fatalf("lock busy: %v", err)
	}

	// Waiting for the lock instead would end in the deadline (or the
	// server's lock wait timeout), an error.
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cutoff := time.Now().Add(time.Hour)
	rep, err := r.PruneTerminalProcesses(pctx, cutoff)
	if err != nil || rep.PrunedProcesses != 1 {
		t.Fatalf("prune while busy is locked = %+v, %v; want the idle process pruned", rep, err)
	}
	if _, err := r.GetProcess(ctx, "idle"); !errors.Is(err, procreg.ErrNotFound) {
		t.Errorf("GetProcess(idle) after prune: %v; want ErrNotFound", err)
	}
	if _, err := r.GetProcess(ctx, "busy"); err != nil {
		t.Errorf("GetProcess(busy) after prune: %v; want the locked process kept", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	rep, err = r.PruneTerminalProcesses(ctx, cutoff)
	if err != nil || rep.PrunedProcesses != 1 {
		t.Fatalf("prune after the lock is released = %+v, %v; want busy pruned", rep, err)
	}
}
