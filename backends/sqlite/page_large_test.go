package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/procreg/procreg/backends/sqlite"
	"github.com/procreg/procreg/internal/servertest"
)

// largeRegistry opens a fresh database seeded with n processes (n/10
// running, plus the running template) by servertest.SeedCopiesSQL.
func largeRegistry(tb testing.TB, n int) servertest.LargeRegistry {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "large.db")
	r, err := sqlite.Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	servertest.SeedTemplate(tb, r)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, servertest.SeedCopiesSQL(servertest.SeedSQLite, n)); err != nil {
		tb.Fatal(err)
	}
	return servertest.LargeRegistry{N: n, R: r}
}

// BenchmarkPagesLarge: ListNonTerminalPage(500) on 10,000 and 1,000,000
// processes, and a full walk of 100,000 running ones.
func BenchmarkPagesLarge(b *testing.B) {
	servertest.SkipUnlessLarge(b)
	servertest.PagesLarge(b, []servertest.LargeRegistry{largeRegistry(b, 10_000), largeRegistry(b, 1_000_000)})
}
