package testdb_test

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	driver "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func TestPostgresDatabasesAreFreshAndDropped(t *testing.T) {
	ctx := context.Background()
	var first testdb.Database
	t.Run("provision", func(t *testing.T) {
		first = testdb.Postgres(t)
		second := testdb.Postgres(t)
		if first.Name == second.Name {
			t.Fatalf("two databases share the name %s", first.Name)
		}
		for _, dsn := range []string{first.DSN, first.URL} {
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatalf("connect %s: %v", dsn, err)
			}
			var db string
			var tables int
			err = conn.QueryRow(ctx, "SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')").Scan(&db, &tables)
			conn.Close(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if db != first.Name || tables != 0 {
				t.Fatalf("connected to %s with %d tables, want empty %s", db, tables, first.Name)
			}
		}
		// A lingering connection must not keep the database from being dropped.
		if _, err := pgx.Connect(ctx, first.DSN); err != nil {
			t.Fatal(err)
		}
	})
	if first.Name == "" {
		t.Skip("no PostgreSQL database was provisioned")
	}
	admin := testdb.Postgres(t)
	conn, err := pgx.Connect(ctx, admin.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", first.Name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("database %s still exists after its test ended", first.Name)
	}
}

func TestMySQLDatabasesAreFreshAndDropped(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T, dsn string) *sql.DB {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		c, err := driver.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return sql.OpenDB(c)
	}
	var first testdb.Database
	t.Run("provision", func(t *testing.T) {
		first = testdb.MySQL(t)
		second := testdb.MySQL(t)
		if first.Name == second.Name {
			t.Fatalf("two databases share the name %s", first.Name)
		}
		for _, dsn := range []string{first.DSN, first.URL} {
			db := open(t, dsn)
			var name string
			var tables int
			err := db.QueryRowContext(ctx, "SELECT DATABASE(), (SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE())").Scan(&name, &tables)
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			if name != first.Name || tables != 0 {
				t.Fatalf("connected to %s with %d tables, want empty %s", name, tables, first.Name)
			}
		}
	})
	if first.Name == "" {
		t.Skip("no MySQL database was provisioned")
	}
	db := open(t, testdb.MySQL(t).DSN)
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", first.Name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("database %s still exists after its test ended", first.Name)
	}
}

// TestNoDatabase runs a probe test in a child process with no DSN and no
// Docker engine: it must skip with one line, and fail when CI=true.
func TestNoDatabase(t *testing.T) {
	if os.Getenv("TESTDB_PROBE") == "1" {
		testdb.Postgres(t)
		t.Log("probe: a database was provisioned")
		return
	}
	for _, tc := range []struct {
		ci       string
		wantFail bool
		wantLine string
	}{
		{"", false, "--- SKIP: TestNoDatabase"},
		{"true", true, "--- FAIL: TestNoDatabase"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoDatabase$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTDB_PROBE=1", "CI="+tc.ci, testdb.PostgresEnv+"=",
			"DOCKER_HOST=unix:///nonexistent/docker.sock", "DOCKER_URL=", "DOCKER_MACHINE_NAME=", "DOCKER_CERT_PATH=")
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.wantFail || !strings.Contains(string(out), tc.wantLine) ||
			!strings.Contains(string(out), testdb.PostgresEnv+" is unset") {
			t.Errorf("CI=%q: probe exited with %v; want failure %v, %q and the reason:\n%s", tc.ci, err, tc.wantFail, tc.wantLine, out)
		}
	}
}

// TestGaleraDatabaseOnEveryNode: a Galera database is created through node
// 1, every node sees it when Galera returns, each Database connects to its
// own node, and the database is gone from every node after the test.
func TestGaleraDatabaseOnEveryNode(t *testing.T) {
	ctx := context.Background()
	var dbs []testdb.Database
	t.Run("provision", func(t *testing.T) {
		dbs = testdb.Galera(t, testdb.GaleraEnv)
		ports := map[string]bool{}
		for i, d := range dbs {
			if d.Name != dbs[0].Name {
				t.Fatalf("node %d's database is %s; want %s on every node", i+1, d.Name, dbs[0].Name)
			}
			db, err := sql.Open("mysql", d.DSN)
			if err != nil {
				t.Fatal(err)
			}
			var name string
			var port int
			err = db.QueryRowContext(ctx, "SELECT DATABASE(), @@port").Scan(&name, &port)
			db.Close()
			if err != nil || name != d.Name {
				t.Fatalf("node %d: DATABASE() = %q, %v; want %s", i+1, name, err, d.Name)
			}
			ports[strconv.Itoa(port)] = true
		}
		if len(ports) != len(dbs) {
			t.Errorf("the %d Databases reach %d distinct servers; want one per node", len(dbs), len(ports))
		}
	})
	if len(dbs) == 0 {
		return
	}
	for i, admin := range testdb.GaleraNodes(t, testdb.GaleraEnv) {
		cfg, err := mysql.ParseDSN(admin)
		if err != nil {
			t.Fatal(err)
		}
		// Wait for every node: the drop went through node 1.
		cfg.Params["wsrep_sync_wait"] = "1"
		db := sql.OpenDB(mustConnector(t, cfg))
		var n int
		err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", dbs[0].Name).Scan(&n)
		db.Close()
		if err != nil || n != 0 {
			t.Errorf("node %d after the test: %d databases named %s, %v; want it dropped", i+1, n, dbs[0].Name, err)
		}
	}
}

func mustConnector(t *testing.T, cfg *driver.Config) sqldriver.Connector {
	t.Helper()
	c, err := driver.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
