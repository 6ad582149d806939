package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/internal/servertest"
	"github.com/procreg/procreg/internal/testdb"
)

// largeDatabase opens a fresh database seeded with n processes (n/10
// running) by servertest.SeedCopiesSQL, vacuumed and analyzed: VACUUM sets
// the visibility map that index-only scans need (autovacuum does the same
// on a live database), ANALYZE gives the planner the row counts.
func largeDatabase(tb testing.TB, n int) (dsn string, lr servertest.LargeRegistry) {
	tb.Helper()
	ctx := context.Background()
	dsn = testdb.Postgres(tb).DSN
	r, err := postgres.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	servertest.SeedTemplate(tb, r)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{servertest.SeedCopiesSQL(servertest.SeedPostgres, n), "VACUUM (ANALYZE) processes"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	return dsn, servertest.LargeRegistry{N: n, R: r}
}

// TestCountIndexOnlyLarge: every CountProcesses statement is an index-only
// scan on 1,000,000 processes.
func TestCountIndexOnlyLarge(t *testing.T) {
	servertest.SkipUnlessLarge(t)
	dsn, _ := largeDatabase(t, 1_000_000)
	servertest.ExplainCountPostgres(t, dsn)
}

// BenchmarkPagesLarge: ListNonTerminalPage(500) on 10,000 and 1,000,000
// processes, and a full walk of 100,000 running ones.
func BenchmarkPagesLarge(b *testing.B) {
	servertest.SkipUnlessLarge(b)
	_, small := largeDatabase(b, 10_000)
	_, large := largeDatabase(b, 1_000_000)
	servertest.PagesLarge(b, []servertest.LargeRegistry{small, large})
}
