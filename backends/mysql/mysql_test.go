package mysql_test

import (
	"context"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/conformance"
	"github.com/procreg/procreg/internal/servertest"
	"github.com/procreg/procreg/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// open returns a registry on a fresh database of its own.
func open(t *testing.T) procreg.Registry {
	t.Helper()
	return openAt(t, testdb.MySQL(t).DSN)
}

func openAt(tb testing.TB, dsn string, opts ...mysql.Option) procreg.Registry {
	tb.Helper()
	r, err := mysql.Open(context.Background(), dsn, opts...)
	if err != nil {
		tb.Fatalf("mysql.Open: %v", err)
	}
	return r
}

func TestConformance(t *testing.T) {
	conformance.Run(t, open)
}

func TestConformanceDurable(t *testing.T) {
	conformance.RunDurable(t, func(t *testing.T) conformance.Opener {
		dsn := testdb.MySQL(t).DSN
		return func(t *testing.T) procreg.Registry { return openAt(t, dsn) }
	})
}

func TestDatabaseClock(t *testing.T) {
	dsn := testdb.MySQL(t).DSN
	servertest.DatabaseClock(t, func(t *testing.T, clock func() time.Time) procreg.Registry {
		if clock == nil {
			return openAt(t, dsn)
		}
		return openAt(t, dsn, mysql.WithClock(clock))
	})
}

func BenchmarkAppendEventParallel(b *testing.B) {
	r := openAt(b, testdb.MySQL(b).DSN)
	defer r.Close()
	servertest.AppendEventParallel(b, r)
}

func BenchmarkClaimComplete(b *testing.B) {
	r := openAt(b, testdb.MySQL(b).DSN)
	defer r.Close()
	servertest.ClaimComplete(b, r)
}

func TestExplainHotQueries(t *testing.T) {
	dsn := testdb.MySQL(t).DSN
	r := openAt(t, dsn)
	defer r.Close()
	servertest.SeedForExplain(t, r)
	servertest.ExplainMySQL(t, dsn)
}
