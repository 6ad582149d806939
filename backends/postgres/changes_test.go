package postgres_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/conformance"
	"github.com/procreg/procreg/internal/testdb"
)

// TestChangeFeedOutOfOrderCommits forces two record changes to commit in
// the other order than their transactions took ids: T1 (older xid) changes
// "a" and stays open while T2 (younger xid) changes "b" and commits. A
// follower reads, then T1 commits. With the horizon, the follower's next
// read returns a; with a naive cursor (stamps in order, no horizon) the
// first read would have returned b and moved the cursor past a's stamp, so
// a's change would never be served: the test shows that too, so it fails
// on that mechanism.
//
// The writes are the statements the store itself runs (LockProcess, then
// UpdateProcess's stamp through procreg_change_clock), issued on two
// connections so the test decides the commit order.
func TestChangeFeedOutOfOrderCommits(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.Postgres(t).DSN
	reg, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	for _, id := range []string{"a", "b"} {
		if _, err := reg.RegisterProcess(ctx, procreg.Registration{
			ID:          id,
			Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{}`)},
			Disposition: procreg.DispositionRerunnable,
			EnvRef:      "env:1",
		}); err != nil {
			t.Fatal(err)
		}
	}
	f := conformance.NewChangeFollower(reg, 100)
	f.Sync(t, reg)

	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	change := func(tx pgx.Tx, id string) int64 {
		t.Helper()
		var pos int64
		if err := tx.QueryRow(ctx, `UPDATE processes SET updated_at_ms = updated_at_ms + 1,
			change_pos = (SELECT pos FROM procreg_change_clock) WHERE id = $1 RETURNING change_pos`, id).Scan(&pos); err != nil {
			t.Fatal(err)
		}
		return pos
	}
	t1, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer t1.Rollback(ctx)
	t2, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer t2.Rollback(ctx)
	posA := change(t1, "a") // T1 takes its xid first ...
	posB := change(t2, "b")
	if posA >= posB {
		t.Fatalf("stamps a=%d b=%d; want T1's below T2's", posA, posB)
	}
	if err := t2.Commit(ctx); err != nil { // ... but T2 commits first
		t.Fatal(err)
	}

	// A naive follower: every committed row after its cursor, by stamp.
	var naive []string
	rows, err := pool.Query(ctx, `SELECT id FROM processes WHERE change_pos > $1 ORDER BY change_pos, id`, posA-1)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		naive = append(naive, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(naive) != 1 || naive[0] != "b" {
		t.Fatalf("naive read = %v; want [b] (a is not committed yet)", naive)
	}
	// Its cursor is now (posB, "b") > posA: after T1 commits, a is behind it.

	for _, rec := range f.Poll(t) {
		if rec.ID == "b" {
			t.Errorf("the feed served b (stamp %d) while a transaction with an older stamp (%d) was open; want it held back by the horizon", posB, posA)
		}
	}
	if err := t1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var naiveAfter int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM processes WHERE change_pos > $1 AND id = 'a'`, posB).Scan(&naiveAfter); err != nil {
		t.Fatal(err)
	}
	if naiveAfter != 0 {
		t.Fatalf("a's stamp is after b's; the scenario did not force an out-of-order commit")
	}
	t.Logf("naive cursor after b would skip a's committed change (stamp %d < %d)", posA, posB)

	got := map[string]bool{}
	for _, rec := range f.Sync(t, reg) {
		got[rec.ID] = true
	}
	if !got["a"] || !got["b"] {
		t.Errorf("feed after both commits served %v; want a and b", got)
	}
	f.WantCurrent(t, reg)
}
