package testdb_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/driver/migrate"
	"github.com/procreg/procreg/internal/testdb"
	"github.com/procreg/procreg/schema"
)

// The statements in this file are test-only probes of the provisioned
// databases (table lists, row counts, DDL), so they are SQL in Go.

// dialect is what the template tests need to know about one server.
type dialect struct {
	name     string
	env      string
	empty    func(testing.TB) testdb.Database
	migrated func(testing.TB) testdb.Database
	driver   string
	dsn      func(tb testing.TB, d testdb.Database) string // in the driver's form
	tables   string                                        // lists the current database's base tables
	up       func(context.Context, *sql.DB) (int64, error)
	quote    func(string) string
}

var dialects = []dialect{
	{
		name: "postgres", env: testdb.PostgresEnv,
		empty: testdb.Postgres, migrated: testdb.PostgresMigrated,
		driver: "pgx",
		dsn:    func(_ testing.TB, d testdb.Database) string { return d.DSN },
		tables: "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
		up:     upPostgres,
		quote:  func(s string) string { return `"` + s + `"` },
	},
	{
		name: "mysql", env: testdb.MySQLEnv,
		empty: testdb.MySQL, migrated: testdb.MySQLMigrated,
		driver: "mysql",
		dsn: func(tb testing.TB, d testdb.Database) string {
			cfg, err := mysql.ParseDSN(d.DSN)
			if err != nil {
				tb.Fatal(err)
			}
			return cfg.FormatDSN()
		},
		tables: "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1",
		up:     mysql.Migrate,
		quote:  func(s string) string { return "`" + s + "`" },
	},
}

// open connects to d, closing the pool when t ends.
func (d dialect) open(t *testing.T, db testdb.Database) *sql.DB {
	return sqlOpenTB(t, d.driver, d.dsn(t, db))
}

func sqlOpenTB(tb testing.TB, driver, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func forEach(t *testing.T, test func(t *testing.T, d dialect)) {
	for _, d := range dialects {
		t.Run(string(d.name), func(t *testing.T) {
			t.Parallel()
			test(t, d)
		})
	}
}

func listTables(t *testing.T, d dialect, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(d.tables)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

func schemaVersion(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var v sql.NullInt64
	if err := db.QueryRow("SELECT MAX(version_id) FROM " + migrate.VersionTable + " WHERE is_applied").Scan(&v); err != nil {
		t.Fatalf("read the schema version: %v", err)
	}
	return v.Int64
}

// TestMigratedDatabaseIsCurrentAndEmpty: a template-made database has the
// tables of the current schema, records the latest version (so Open's
// migration finds nothing to do), and holds no rows but those the
// migrations insert.
func TestMigratedDatabaseIsCurrentAndEmpty(t *testing.T) {
	forEach(t, func(t *testing.T, d dialect) {
		db := d.open(t, d.migrated(t))
		want, err := migrate.Latest(migrate.Source{Dialect: d.name, FS: schema.FS, Dir: d.name})
		if err != nil {
			t.Fatal(err)
		}
		if v := schemaVersion(t, db); v != want {
			t.Fatalf("schema version %d, want %d", v, want)
		}
		tables := listTables(t, d, db)
		if len(tables) < 2 {
			t.Fatalf("tables %v: want the schema's tables and %s", tables, migrate.VersionTable)
		}
		// The copy holds the rows a migration from empty inserts (versions,
		// procreg_meta, counters) and nothing else.
		fresh := d.open(t, d.empty(t))
		if _, err := d.up(context.Background(), fresh); err != nil {
			t.Fatal(err)
		}
		for _, tb := range tables {
			var n, m int
			if err := db.QueryRow("SELECT COUNT(*) FROM " + d.quote(tb)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if err := fresh.QueryRow("SELECT COUNT(*) FROM " + d.quote(tb)).Scan(&m); err != nil {
				t.Fatal(err)
			}
			if n != m {
				t.Errorf("table %s: %d rows, want %d as after a migration from empty", tb, n, m)
			}
		}
		if v, err := d.up(context.Background(), db); err != nil || v != want {
			t.Fatalf("Up on a migrated database = %d, %v; want %d with nothing to do", v, err, want)
		}
		if _, err := db.Exec("INSERT INTO processes (id, spec, await_output, external_ref_metadata, first_started_owner, abandon_reason, lease_owner) VALUES ('p', '', '', '', '', '', '')"); err != nil {
			t.Fatalf("the migrated schema rejects a process row: %v", err)
		}
		// Foreign keys came along: an event of an unknown process is refused.
		if _, err := db.Exec("INSERT INTO events (process_id, sequence) VALUES ('nobody', 1)"); err == nil {
			t.Fatal("an event of an unknown process was accepted: the foreign key is missing")
		}
	})
}

// TestMySQLCloneMatchesMigration: the MySQL clone (no templates there) has
// exactly the DDL a migration from empty produces.
func TestMySQLCloneMatchesMigration(t *testing.T) {
	d := dialects[1]
	fresh := d.open(t, d.empty(t))
	if _, err := d.up(context.Background(), fresh); err != nil {
		t.Fatal(err)
	}
	clone := d.open(t, d.migrated(t))
	ddl := func(db *sql.DB) map[string]string {
		out := map[string]string{}
		autoInc := regexp.MustCompile(` AUTO_INCREMENT=\d+`)
		for _, tb := range listTables(t, d, db) {
			var name, create string
			if err := db.QueryRow("SHOW CREATE TABLE "+d.quote(tb)).Scan(&name, &create); err != nil {
				t.Fatal(err)
			}
			out[tb] = autoInc.ReplaceAllString(create, "")
		}
		return out
	}
	want, got := ddl(fresh), ddl(clone)
	if len(got) != len(want) {
		t.Fatalf("clone tables %d, migrated tables %d", len(got), len(want))
	}
	for tb, w := range want {
		if got[tb] != w {
			t.Errorf("table %s differs:\nmigrated: %s\nclone:    %s", tb, w, got[tb])
		}
	}
	var a, b int64
	if err := fresh.QueryRow("SELECT COUNT(*) FROM " + migrate.VersionTable).Scan(&a); err != nil {
		t.Fatal(err)
	}
	if err := clone.QueryRow("SELECT COUNT(*) FROM " + migrate.VersionTable).Scan(&b); err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("version rows: clone %d, migrated %d", b, a)
	}
}

// TestConcurrentMigratedDatabasesAreDistinct: callers at once get databases
// of their own; a row written in one is not in the other.
func TestConcurrentMigratedDatabasesAreDistinct(t *testing.T) {
	forEach(t, func(t *testing.T, d dialect) {
		const n = 4
		got := make([]testdb.Database, n)
		var wg sync.WaitGroup
		for i := range got {
			// A provisioning failure ends only this goroutine (FailNow);
			// the empty name is reported below.
			wg.Go(func() { got[i] = d.migrated(t) })
		}
		wg.Wait()
		seen := map[string]bool{}
		for i, db := range got {
			if db.Name == "" || seen[db.Name] {
				t.Fatalf("caller %d got %q; all: %+v", i, db.Name, got)
			}
			seen[db.Name] = true
		}
		first := d.open(t, got[0])
		if _, err := first.Exec("INSERT INTO processes (id, spec, await_output, external_ref_metadata, first_started_owner, abandon_reason, lease_owner) VALUES ('only-in-first', '', '', '', '', '', '')"); err != nil {
			t.Fatal(err)
		}
		for _, db := range got[1:] {
			var rows int
			if err := d.open(t, db).QueryRow("SELECT COUNT(*) FROM processes").Scan(&rows); err != nil || rows != 0 {
				t.Errorf("database %s: %d processes (%v), want none", db.Name, rows, err)
			}
		}
	})
}

// TestTemplateBuildRacesAcrossProcesses starts several test binaries at
// once on a template nobody has built yet (a fresh salt changes its name):
// each must get a current database, and exactly one template is left, which
// this test then drops.
func TestTemplateBuildRacesAcrossProcesses(t *testing.T) {
	if os.Getenv("TESTDB_TEMPLATE_PROBE") == "1" {
		for _, d := range dialects {
			if os.Getenv(d.env) == "" {
				continue
			}
			db := d.open(t, d.migrated(t))
			want, _ := migrate.Latest(migrate.Source{Dialect: d.name, FS: schema.FS, Dir: d.name})
			if v := schemaVersion(t, db); v != want {
				t.Fatalf("%s: schema version %d, want %d", d.name, v, want)
			}
		}
		return
	}
	var servers []dialect
	for _, d := range dialects {
		if os.Getenv(d.env) != "" {
			servers = append(servers, d)
		}
	}
	if len(servers) == 0 {
		t.Skip("needs " + testdb.PostgresEnv + " or " + testdb.MySQLEnv + " (the probes cannot share a Docker container)")
	}
	salt := fmt.Sprintf("race-%d", os.Getpid())
	t.Setenv(testdb.TemplateSaltEnv, salt)
	const procs = 4
	outs := make([][]byte, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestTemplateBuildRacesAcrossProcesses$", "-test.v")
			cmd.Env = append(os.Environ(), "TESTDB_TEMPLATE_PROBE=1")
			outs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	for i := range procs {
		if errs[i] != nil {
			t.Errorf("probe %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	all := string(bytes.Join(outs, nil))
	for _, d := range servers {
		name, err := testdb.TemplateName(d.name)
		if err != nil {
			t.Fatal(err)
		}
		// The builders took turns: one built, the others found its work.
		if n := strings.Count(all, "template "+name); n != 1 {
			t.Errorf("%s: %d probes report building %s, want 1:\n%s", d.name, n, name, all)
		}
		admin := d.open(t, d.empty(t))
		var q string
		if d.name == "postgres" {
			q = "SELECT COUNT(*) FROM pg_database WHERE datname = $1"
		} else {
			q = "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?"
		}
		var n int
		if err := admin.QueryRow(q, name).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: %d templates named %s (%v), want 1", d.name, n, name, err)
		}
		drop := "DROP DATABASE IF EXISTS " + name
		if d.name == "postgres" {
			drop += " WITH (FORCE)"
		}
		if _, err := admin.Exec(drop); err != nil {
			t.Errorf("drop the probe template %s: %v", name, err)
		}
		if strings.Contains(name, salt) {
			t.Errorf("template name %s leaks the salt", name)
		}
	}
}

// upPostgres migrates db from empty without a lock: nothing else migrates
// the test's own database.
func upPostgres(ctx context.Context, db *sql.DB) (int64, error) {
	src := migrate.Source{Dialect: "postgres", FS: schema.FS, Dir: "postgres", Goose: goose.DialectPostgres}
	return migrate.Up(ctx, db, src, nil)
}

// TestMigratedDatabasesHaveTheirOwnCursorKey: each copy has a cursor
// secret of its own, as each migrated database has, so a cursor made by
// one test's registry fails in another's.
func TestMigratedDatabasesHaveTheirOwnCursorKey(t *testing.T) {
	forEach(t, func(t *testing.T, d dialect) {
		keys := map[string]bool{}
		for range 2 {
			db := d.open(t, d.migrated(t))
			var key string
			// Test-only probe of the secret; the engine reads it through
			// the CursorKey query.
			if err := db.QueryRow("SELECT value FROM procreg_meta WHERE name = 'cursor_key'").Scan(&key); err != nil {
				t.Fatal(err)
			}
			if len(key) < 32 || keys[key] {
				t.Fatalf("cursor key %q: want a fresh random secret per database (seen %v)", key, keys)
			}
			keys[key] = true
		}
	})
}
