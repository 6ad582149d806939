package mysql_test

import (
	"testing"

	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/internal/servertest"
	"github.com/procreg/procreg/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

var backend = servertest.Backend{
	Database:      testdb.MySQLMigrated,
	EmptyDatabase: testdb.MySQL,
	Explain:       servertest.ExplainMySQL,
	OpenDSN:       mysql.Open,
	WithClock:     mysql.WithClock,
}

// TestBackend runs the shared server-backend tests (servertest.Backend.Tests).
func TestBackend(t *testing.T) { backend.Tests(t) }

// BenchmarkBackend runs the shared server-backend benchmarks.
func BenchmarkBackend(b *testing.B) { backend.Benchmarks(b) }
