package mariadb_test

// Written by procreg dialect new mariadb --from mysql: the shared
// server-backend tests (conformance, durable conformance, the database
// clock, concurrent first opens, the hot queries' plans) on databases
// provisioned per test from PROCREG_MARIADB_DSN (internal/testdb; with
// CI=true a missing DSN fails). The same on a Galera cluster, with
// registries on different nodes, is in galera_test.go.

import (
	"testing"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/servertest"
	"github.com/procreg/procreg/internal/testdb"

	"github.com/procreg/procreg/backends/mariadb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// Env names the administrative DSN of the mariadb server.
const Env = "PROCREG_MARIADB_DSN"

var backend = servertest.Backend{
	Database:      func(tb testing.TB) testdb.Database { return testdb.MySQLFrom(tb, Env) },
	EmptyDatabase: func(tb testing.TB) testdb.Database { return testdb.MySQLFrom(tb, Env) },
	Explain:       servertest.ExplainMySQL,
	OpenDSN:       mariadb.Open,
	WithClock:     mariadb.WithClock,
}

func TestConformance(t *testing.T)        { backend.Conformance(t) }
func TestConformanceDurable(t *testing.T) { backend.Durable(t) }
func TestDatabaseClock(t *testing.T)      { backend.DatabaseClock(t) }
func TestConcurrentOpen(t *testing.T)     { backend.ConcurrentOpen(t) }
func TestExplainHotQueries(t *testing.T)  { backend.ExplainHotQueries(t) }

// TestRegistered: the dialect serves its scheme through driver.Register.
func TestRegistered(t *testing.T) {
	if d, ok := driver.Lookup("mariadb://u@h/db"); !ok || d.Name != "mariadb" {
		t.Fatalf("driver.Lookup(mariadb://…) = %q, %v; want the mariadb dialect", d.Name, ok)
	}
}
