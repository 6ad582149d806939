package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/internal/servertest"
	"github.com/procreg/procreg/internal/testdb"
)

// TestClaimCandidatesWalkTheStatusIndex: with thousands of running
// processes leased at the head of the id order (the worst case for a batch
// claim: every candidate before the free ones is skipped) among more
// finished ones, the planner
// still walks processes_status_id in id order under the LIMIT, with no sort
// of the running rows, and ClaimNext finds the free ones behind them.
func TestClaimCandidatesWalkTheStatusIndex(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.PostgresMigrated(t).DSN
	r, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	reg := func(id string) procreg.Registration {
		return procreg.Registration{ID: id, Input: procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{}`)},
			Disposition: procreg.DispositionRerunnable, EnvRef: "env:plan"}
	}
	const leased, batch = 3000, procreg.MaxBatch
	worker := procreg.LeaseOwner{OwnerID: "busy", IncarnationID: "busy-1"}
	for start := 0; start < leased; start += batch {
		regs := make([]procreg.Registration, batch)
		for i := range regs {
			regs[i] = reg(fmt.Sprintf("job-%05d", start+i))
		}
		if _, err := r.RegisterProcesses(ctx, regs); err != nil {
			t.Fatal(err)
		}
		got, err := r.ClaimNext(ctx, worker, time.Hour, procreg.ListFilter{}, batch)
		if err != nil || len(got) != batch {
			t.Fatalf("leasing the seed batch at %d: %d claimed, %v", start, len(got), err)
		}
	}
	// Finished processes before them in id order, as in a registry that
	// has run for a while: the running ones are a minority of the table.
	const finished = 12000
	for start := 0; start < finished; start += batch {
		regs := make([]procreg.Registration, min(batch, finished-start))
		for i := range regs {
			regs[i] = reg(fmt.Sprintf("done-%05d", start+i))
		}
		if _, err := r.RegisterProcesses(ctx, regs); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < finished; i += 8 {
				if _, err := r.CompleteProcess(ctx, fmt.Sprintf("done-%05d", i), procreg.AwaitOutput{Kind: procreg.OutputCancelled}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var free []procreg.Registration
	for i := range 5 {
		free = append(free, reg(fmt.Sprintf("zz-free-%d", i)))
	}
	if _, err := r.RegisterProcesses(ctx, free); err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) processes"); err != nil {
		t.Fatal(err)
	}
	var claim string
	for _, st := range servertest.HotStatements(t, "postgresql") {
		if st.Name == "ClaimCandidatesByStatus" {
			claim = st.SQL
		}
	}
	if claim == "" {
		t.Fatal("no ClaimCandidatesByStatus statement")
	}
	// EXPLAIN ANALYZE runs the statement (and takes its locks): in a
	// transaction that is rolled back.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+claim, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", claim, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	t.Logf("%s\n%s", claim, plan)
	if !strings.Contains(plan, "Index Scan using processes_status_id") || strings.Contains(plan, "Sort") || strings.Contains(plan, "Seq Scan") {
		t.Errorf("the claim statement does not walk processes_status_id in id order:\n%s", plan)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	got, err := r.ClaimNext(ctx, procreg.LeaseOwner{OwnerID: "w", IncarnationID: "w-1"}, time.Minute, procreg.ListFilter{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range got {
		ids = append(ids, c.Record.ID)
	}
	if strings.Join(ids, " ") != "zz-free-0 zz-free-1 zz-free-2 zz-free-3 zz-free-4" {
		t.Errorf("ClaimNext behind %d leased processes claimed %v; want the 5 free ones", leased, ids)
	}
}
