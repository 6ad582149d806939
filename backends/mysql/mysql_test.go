package mysql_test

import (
	"testing"

	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/internal/servertest"
	"github.com/procreg/procreg/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

var backend = servertest.Backend{
	Database:  testdb.MySQL,
	Explain:   servertest.ExplainMySQL,
	OpenDSN:   mysql.Open,
	WithClock: mysql.WithClock,
}

func TestConformance(t *testing.T)              { backend.Conformance(t) }
func TestConformanceDurable(t *testing.T)       { backend.Durable(t) }
func TestDatabaseClock(t *testing.T)            { backend.DatabaseClock(t) }
func TestConcurrentOpen(t *testing.T)           { backend.ConcurrentOpen(t) }
func TestExplainHotQueries(t *testing.T)        { backend.ExplainHotQueries(t) }
func BenchmarkAppendEventParallel(b *testing.B) { backend.BenchAppendEventParallel(b) }
func BenchmarkClaimComplete(b *testing.B)       { backend.BenchClaimComplete(b) }
