package mariadb_test

import (
	"database/sql"
	"testing"

	"github.com/procreg/procreg/backends/mariadb"
	"github.com/procreg/procreg/internal/servertest"
	"github.com/procreg/procreg/internal/testdb"
)

// cluster runs the server-backend tests on the MariaDB Galera cluster whose
// nodes PROCREG_MARIADB_GALERA_DSNS lists (ci/galera.sh; .ci/run starts it):
// each test's database is created through node 1 and its registries are
// spread over the nodes. Unset, the tests skip (fail when CI=true).
var cluster = servertest.Cluster{
	Databases: func(tb testing.TB) []testdb.Database { return testdb.Galera(tb, testdb.GaleraEnv) },
	OpenDSN:   mariadb.Open,
	Conflicts: galeraConflicts,
}

// TestGalera: conformance, durable conformance (races across nodes),
// concurrent first opens on every node (the migration lock), and the
// cross-node measurements (docs/galera.md quotes their log lines).
func TestGalera(t *testing.T) { cluster.Tests(t) }

// galeraConflicts sums wsrep_local_cert_failures (transactions that failed
// certification at COMMIT) and wsrep_local_bf_aborts (local transactions
// aborted by an incoming write-set) over the nodes of dsns.
func galeraConflicts(tb testing.TB, dsns []string) int64 {
	tb.Helper()
	var sum int64
	for _, dsn := range dsns {
		cfg, err := mariadb.ParseDSN(dsn)
		if err != nil {
			tb.Fatal(err)
		}
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			tb.Fatal(err)
		}
		rows, err := db.Query("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')")
		if err != nil {
			db.Close()
			tb.Fatalf("wsrep status of %s: %v", cfg.Addr, err)
		}
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				tb.Fatal(err)
			}
			sum += n
		}
		rows.Close()
		db.Close()
	}
	return sum
}
