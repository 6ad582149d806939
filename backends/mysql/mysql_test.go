package mysql_test

import (
	"context"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/internal/servertest"
	"github.com/procreg/procreg/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

var backend = servertest.Backend{
	Database: testdb.MySQL,
	Explain:  servertest.ExplainMySQL,
	Open: func(tb testing.TB, dsn string, clock func() time.Time) procreg.Registry {
		tb.Helper()
		var opts []mysql.Option
		if clock != nil {
			opts = append(opts, mysql.WithClock(clock))
		}
		r, err := mysql.Open(context.Background(), dsn, opts...)
		if err != nil {
			tb.Fatalf("mysql.Open: %v", err)
		}
		return r
	},
}

func TestConformance(t *testing.T)              { backend.Conformance(t) }
func TestConformanceDurable(t *testing.T)       { backend.Durable(t) }
func TestDatabaseClock(t *testing.T)            { backend.DatabaseClock(t) }
func TestExplainHotQueries(t *testing.T)        { backend.ExplainHotQueries(t) }
func BenchmarkAppendEventParallel(b *testing.B) { backend.BenchAppendEventParallel(b) }
func BenchmarkClaimComplete(b *testing.B)       { backend.BenchClaimComplete(b) }
