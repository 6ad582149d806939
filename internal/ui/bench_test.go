package ui

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/internal/testdb"
)

// largeN is the registry size of BenchmarkPagesLarge, unless
// PROCREG_BENCH_LARGE_N says otherwise (for a quick check of the seeding).
func largeN(b *testing.B) int {
	if v := os.Getenv("PROCREG_BENCH_LARGE_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 || n > 9_999_999 {
			b.Fatalf("PROCREG_BENCH_LARGE_N=%q: want 100..9999999", v)
		}
		return n
	}
	return 1_000_000
}

// BenchmarkPagesLarge renders the overview, list pages and a process page
// against a SQLite registry of a million processes, through the handlers
// (httptest, no network, no feed poller). Every query behind them is
// bounded and index-driven, and the counts come from the server's
// background counter (a page waits at most countWait for them), so each
// page should take well under 300 ms. counts-direct measures the
// overview's six counts read directly, which no page waits for.
// Seeding takes a while: it runs only with PROCREG_BENCH_LARGE=1 (and
// PROCREG_BENCH_LARGE_DB=<file> keeps the seeded database for the next run).
//
//	PROCREG_BENCH_LARGE=1 go test ./internal/ui -run '^$' -bench PagesLarge -benchtime 20x
func BenchmarkPagesLarge(b *testing.B) {
	if os.Getenv("PROCREG_BENCH_LARGE") != "1" {
		b.Skip("set PROCREG_BENCH_LARGE=1 to seed 1,000,000 processes and render pages over them")
	}
	n := largeN(b)
	benchPages(b, seedLarge(b, n), n)
}

// BenchmarkPagesLargePostgres is BenchmarkPagesLarge on a fresh PostgreSQL
// database (testdb, dropped afterwards), seeded by one INSERT … SELECT
// over generate_series and vacuumed, as backends/postgres's page checks
// are. It too runs only with PROCREG_BENCH_LARGE=1.
func BenchmarkPagesLargePostgres(b *testing.B) {
	if os.Getenv("PROCREG_BENCH_LARGE") != "1" {
		b.Skip("set PROCREG_BENCH_LARGE=1 to seed 1,000,000 processes and render pages over them")
	}
	n := largeN(b)
	benchPages(b, seedLargePostgres(b, n), n)
}

func benchPages(b *testing.B, reg procreg.Registry, size int) {
	s, err := New(Config{Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	n, err := reg.CountProcesses(context.Background(), procreg.ListFilter{Status: procreg.StatusAny})
	if err != nil || n < size {
		b.Fatalf("registry holds %d processes (%v)", n, err)
	}
	mid := fmt.Sprintf("p%07d", size/2)
	for _, c := range []struct{ name, path string }{
		{"overview", "/"},
		{"list-any", "/processes"},
		{"list-running", "/processes?status=running"},
		{"list-failed-sorted", "/processes?status=failed&sort=updated&dir=desc"},
		{"list-waiting", "/processes?status=running&waiting=yes"},
		{"list-prefix", "/processes?q=" + mid[:5]},
		{"process", processURL(mid)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var worst time.Duration
			for b.Loop() {
				start := time.Now()
				req := httptest.NewRequest(http.MethodGet, c.path, nil)
				req.Host = "127.0.0.1:8080"
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d\n%s", c.path, rec.Code, rec.Body.String())
				}
				worst = max(worst, time.Since(start))
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
		})
	}
	// For comparison, what the pages no longer wait for: the overview's
	// six counts, read directly.
	b.Run("counts-direct", func(b *testing.B) {
		yes := true
		fs := []procreg.ListFilter{{Status: procreg.StatusRunning, Waiting: &yes}}
		for _, st := range statuses {
			fs = append(fs, procreg.ListFilter{Status: st})
		}
		var worst time.Duration
		for b.Loop() {
			start := time.Now()
			for _, f := range fs {
				if _, err := reg.CountProcesses(context.Background(), f); err != nil {
					b.Fatal(err)
				}
			}
			worst = max(worst, time.Since(start))
		}
		b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
	})
}

// seedLarge makes a SQLite registry of n processes: five template
// processes in each final state registered through the backend, then n
// copies of them made by one INSERT … SELECT over a recursive CTE. This is
// test-only SQL in Go, written against the SQLite schema on purpose:
// registering a million processes through the API takes many minutes,
// and the copies are valid rows of the same shape (only the id, the
// status, the times and the change position differ; they have no events).
// About 20% are running (a tenth of those waiting), 50% completed and 10%
// each failed, cancelled and abandoned.
func seedLarge(b *testing.B, n int) procreg.Registry {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "large.db")
	// PROCREG_BENCH_LARGE_DB keeps the seeded file between runs: seeding
	// is minutes on a loaded machine, the measurement seconds.
	if keep := os.Getenv("PROCREG_BENCH_LARGE_DB"); keep != "" {
		path = keep
		if _, err := os.Stat(path); err == nil {
			reg, err := backends.OpenExisting(ctx, "sqlite:"+path)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { reg.Close() })
			return reg
		}
	}
	start := time.Now()
	reg, err := backends.Open(ctx, "sqlite:"+path)
	if err != nil {
		b.Fatal(err)
	}
	registerTemplates(b, reg)
	reg.Close()

	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(wal)&_pragma=synchronous(off)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM pragma_table_info('processes') ORDER BY cid`)
	if err != nil {
		b.Fatal(err)
	}
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			b.Fatal(err)
		}
		cols = append(cols, c)
	}
	rows.Close()
	q := copiesSQL(cols, n, "sqlite")
	// One connection, so the pragmas below apply to the insert; a large
	// page cache keeps the six indexes in memory while they grow.
	db.SetMaxOpenConns(1)
	for _, p := range []string{`PRAGMA cache_size = -524288`, `PRAGMA temp_store = MEMORY`} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	db.Close()
	fmt.Fprintf(os.Stderr, "seeded %d processes in %s\n", n, time.Since(start).Round(time.Millisecond))

	reg, err = backends.OpenExisting(ctx, "sqlite:"+path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { reg.Close() })
	return reg
}

// registerTemplates registers, through the API, one process in each state
// the copies take: running, waiting, completed, failed, cancelled and
// abandoned (ids tpl-<state>).
func registerTemplates(b *testing.B, reg procreg.Registry) {
	b.Helper()
	ctx := context.Background()
	var err error
	for _, st := range []string{"running", "waiting", "completed", "failed", "cancelled", "abandoned"} {
		id := "tpl-" + st
		if _, err = reg.RegisterProcess(ctx, registration(id, "template "+st, `{"n":0}`)); err != nil {
			b.Fatal(err)
		}
		switch st {
		case "running":
			_, err = reg.ClaimProcessLease(ctx, id, owner("worker-1"), time.Hour)
		case "waiting":
			_, err = reg.SetProcessWait(ctx, id, procreg.WaitState{Kind: procreg.WaitSignal, Name: "approval", EventType: "log", Key: "k", Ordinal: 1, Since: time.Now()})
		case "completed":
			_, err = reg.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputSuccess})
		case "failed":
			_, err = reg.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputFailure, Message: "boom"})
		case "cancelled":
			_, err = reg.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputCancelled, Message: "stop"})
		case "abandoned":
			_, err = reg.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{Writer: procreg.WriterSweep, At: time.Now()}})
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// copiesSQL is test-only SQL (see seedLarge) copying the templates n times
// into ids p0000001…: n % 10 is 0-1 running (every 100th waiting), 2-6
// completed, 7 failed, 8 cancelled, 9 abandoned.
func copiesSQL(cols []string, n int, dialect string) string {
	id := "printf('p%07d', c.n)"
	series := fmt.Sprintf("(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %d) SELECT n FROM s)", n)
	if dialect == "postgres" {
		id = "'p' || lpad(c.n::text, 7, '0')"
		series = fmt.Sprintf("(SELECT n::bigint AS n FROM generate_series(1, %d) AS n)", n)
	}
	now := time.Now().UnixMilli()
	// Each copy takes its template's columns but these.
	override := map[string]string{
		"id":            id,
		"created_at_ms": fmt.Sprintf("%d - (%d - c.n) * 1000", now, n),
		"updated_at_ms": fmt.Sprintf("%d - (%d - c.n) * 500", now, n),
		"change_pos":    "1000 + c.n",
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		if e, ok := override[c]; ok {
			sel[i] = e
		} else {
			sel[i] = "t." + c
		}
	}
	return fmt.Sprintf(`INSERT INTO processes (%s)
SELECT %s FROM %s AS c JOIN processes t ON t.id = CASE
	WHEN c.n %% 10 < 2 AND c.n %% 100 = 0 THEN 'tpl-waiting'
	WHEN c.n %% 10 < 2 THEN 'tpl-running'
	WHEN c.n %% 10 < 7 THEN 'tpl-completed'
	WHEN c.n %% 10 = 7 THEN 'tpl-failed'
	WHEN c.n %% 10 = 8 THEN 'tpl-cancelled'
	ELSE 'tpl-abandoned' END`, strings.Join(cols, ", "), strings.Join(sel, ", "), series)
}

// seedLargePostgres is seedLarge on a fresh PostgreSQL database.
func seedLargePostgres(b *testing.B, n int) procreg.Registry {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	tdb := testdb.PostgresMigrated(b)
	reg, err := backends.OpenExisting(ctx, tdb.URL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { reg.Close() })
	registerTemplates(b, reg)
	conn, err := pgx.Connect(ctx, tdb.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'processes' ORDER BY ordinal_position`)
	if err != nil {
		b.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{copiesSQL(cols, n, "postgres"), "VACUUM (ANALYZE) processes"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	fmt.Fprintf(os.Stderr, "seeded %d processes on PostgreSQL in %s\n", n, time.Since(start).Round(time.Millisecond))
	return reg
}
