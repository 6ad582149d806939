package servertest

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// Large-scale page figures (SPEC §10 pages and counts). They seed up to a
// million rows, so they run only with PROCREG_BENCH_LARGE=1:
//
//	PROCREG_BENCH_LARGE=1 go test -run Large -bench PagesLarge -benchtime 200x ./backends/sqlite ./backends/postgres

// SkipUnlessLarge skips tb unless PROCREG_BENCH_LARGE=1.
func SkipUnlessLarge(tb testing.TB) {
	tb.Helper()
	if os.Getenv("PROCREG_BENCH_LARGE") != "1" {
		tb.Skip("seeds up to 1,000,000 rows; set PROCREG_BENCH_LARGE=1 to run")
	}
}

// Seed dialects for SeedCopiesSQL.
const (
	SeedSQLite   = "sqlite"
	SeedPostgres = "postgres"
)

var camelWord = regexp.MustCompile(`ID|[A-Z][a-z]*`)

// processColumns are the processes table's columns, which mirror
// driver.ProcessRow's fields in order (the schema says so).
func processColumns() []string {
	var cols []string
	for f := range reflect.TypeFor[driver.ProcessRow]().Fields() {
		words := camelWord.FindAllString(f.Name, -1)
		cols = append(cols, strings.ToLower(strings.Join(words, "_")))
	}
	return cols
}

// SeedCopiesSQL is test-only SQL that copies the process row "tmpl" (a
// process registered through the API, so its spec decodes) n times in one
// statement, with ids p00000001… and every tenth copy running, the rest
// completed. Going through RegisterProcess would take minutes for a
// million rows; this takes seconds. It is SQL in Go because it exists only
// for the benchmarks' setup, not for the registry.
func SeedCopiesSQL(dialect string, n int) string {
	cols := processColumns()
	var sel []string
	for _, c := range cols {
		switch c {
		case "id":
			if dialect == SeedPostgres {
				sel = append(sel, "'p' || lpad(g::text, 8, '0')")
			} else {
				sel = append(sel, "printf('p%08d', g)")
			}
		case "status":
			sel = append(sel, "CASE WHEN g % 10 = 0 THEN 'running' ELSE 'completed' END")
		default:
			sel = append(sel, "t."+c)
		}
	}
	ins := "INSERT INTO processes (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(sel, ", ")
	if dialect == SeedPostgres {
		return ins + fmt.Sprintf(" FROM processes AS t, generate_series(1, %d) AS g WHERE t.id = 'tmpl'", n)
	}
	return fmt.Sprintf("WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < %d) ", n) +
		ins + " FROM processes AS t, s WHERE t.id = 'tmpl'"
}

// SeedTemplate registers the process "tmpl" that SeedCopiesSQL copies.
func SeedTemplate(tb testing.TB, r procreg.Registry) {
	tb.Helper()
	register(tb, r, "tmpl")
}

// LargeRegistry is a registry seeded with N processes by SeedCopiesSQL
// (N/10 running).
type LargeRegistry struct {
	N int
	R procreg.Registry
}

// PagesLarge measures ListNonTerminalPage(500) on each registry: the first
// page of a scan (bound capture and page, two statements) and a page from
// the middle of the scan (one statement), so runs at 10,000 and 1,000,000
// processes compare. On the largest it then walks every running process
// with limit 500 (WalkLarge).
func PagesLarge(b *testing.B, regs []LargeRegistry) {
	const limit = 500
	ctx := context.Background()
	for _, lr := range regs {
		b.Run(fmt.Sprintf("n=%d/first", lr.N), func(b *testing.B) {
			for b.Loop() {
				if _, err := lr.R.ListNonTerminalPage(ctx, limit, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
		// A cursor halfway through the running processes.
		cursor, seen := "", 0
		for seen < lr.N/20 {
			p, err := lr.R.ListNonTerminalPage(ctx, 10000, cursor)
			if err != nil {
				b.Fatal(err)
			}
			seen += len(p.Records)
			cursor = p.Next
		}
		b.Run(fmt.Sprintf("n=%d/middle", lr.N), func(b *testing.B) {
			for b.Loop() {
				p, err := lr.R.ListNonTerminalPage(ctx, limit, cursor)
				if err != nil || len(p.Records) != limit {
					b.Fatalf("page: %d records, %v", len(p.Records), err)
				}
			}
		})
	}
	last := regs[len(regs)-1]
	b.Run(fmt.Sprintf("n=%d/walk", last.N), func(b *testing.B) { WalkLarge(b, last.R, last.N/10+1) }) // +1: the running template
}

// WalkLarge walks every running process with ListNonTerminalPage(500) and
// reports, per walk, the bytes allocated per page (B/page, from
// runtime.MemStats.TotalAlloc) and the peak growth of the live heap over
// the walk (peak-live-B: HeapAlloc after a forced GC at each page, minus
// the same before the walk). A walk that keeps only the current page holds
// about one page's records at its peak, however many pages it reads.
func WalkLarge(b *testing.B, r procreg.Registry, running int) {
	ctx := context.Background()
	var ms runtime.MemStats
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base, total0 := ms.HeapAlloc, ms.TotalAlloc
		var peak uint64
		b.StartTimer()
		cursor, pages, n := "", 0, 0
		for {
			p, err := r.ListNonTerminalPage(ctx, 500, cursor)
			if err != nil {
				b.Fatal(err)
			}
			pages++
			n += len(p.Records)
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
				peak = ms.HeapAlloc - base
			}
			runtime.KeepAlive(p)
			b.StartTimer()
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
		b.StopTimer()
		runtime.ReadMemStats(&ms)
		if n != running {
			b.Fatalf("walk returned %d records; want %d", n, running)
		}
		b.ReportMetric(float64(pages), "pages")
		b.ReportMetric(float64(ms.TotalAlloc-total0)/float64(pages), "B/page")
		b.ReportMetric(float64(peak), "peak-live-B")
		b.StartTimer()
	}
}

// ExplainCountPostgres checks that every CountProcesses statement is an
// index-only scan on dsn (seeded large and vacuumed by the caller), with
// the planner free to choose (sequential scans allowed).
func ExplainCountPostgres(t *testing.T, dsn string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, st := range HotStatements(t, "postgresql") {
		if !strings.HasPrefix(st.Name, "CountProcesses") {
			continue
		}
		t.Run(st.Name, func(t *testing.T) {
			rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+st.SQL, pgx.QueryExecModeSimpleProtocol)
			if err != nil {
				t.Fatalf("EXPLAIN %s: %v", st.SQL, err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			t.Logf("%s:\n%s", st.Name, plan)
			if !strings.Contains(plan, "Index Only Scan") || strings.Contains(plan, "Seq Scan") {
				t.Errorf("%s is not an index-only scan:\n%s\n%s", st.Name, st.SQL, plan)
			}
		})
	}
}
