package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"

	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/backends/sqlite"
	"github.com/procreg/procreg/driver/migrate"
	"github.com/procreg/procreg/internal/testdb"
	"github.com/procreg/procreg/schema"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// target is one fresh database of a dialect: connect opens a new *sql.DB
// on it (each migrator gets its own pool, like separate processes), up
// migrates it through the backend's public Migrate, under the dialect's
// own lock.
type target struct {
	src     migrate.Source
	connect func(t *testing.T) *sql.DB
	up      func(ctx context.Context, db *sql.DB) (int64, error)
	// path (SQLite) or dsn (the servers) is what the backend's Open takes.
	path, dsn string
}

func source(dialect string, g goose.Dialect) migrate.Source {
	return migrate.Source{Dialect: dialect, FS: schema.FS, Dir: dialect, Goose: g}
}

func sqliteTarget(t *testing.T) target {
	path := filepath.Join(t.TempDir(), "procreg.db")
	return target{
		src: source("sqlite", goose.DialectSQLite3),
		connect: func(t *testing.T) *sql.DB {
			return openDB(t, "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
		},
		up:   func(ctx context.Context, _ *sql.DB) (int64, error) { return sqlite.Migrate(ctx, path) },
		path: path,
	}
}

func postgresTarget(t *testing.T) target {
	d := testdb.Postgres(t)
	return target{
		src:     source("postgres", goose.DialectPostgres),
		connect: func(t *testing.T) *sql.DB { return openDB(t, "pgx", d.DSN) },
		up: func(ctx context.Context, _ *sql.DB) (int64, error) {
			pool, err := pgxpool.New(ctx, d.DSN)
			if err != nil {
				return 0, err
			}
			defer pool.Close()
			return postgres.Migrate(ctx, pool)
		},
		dsn: d.DSN,
	}
}

func mysqlTarget(t *testing.T) target {
	d := testdb.MySQL(t)
	return target{
		src:     source("mysql", goose.DialectMySQL),
		connect: func(t *testing.T) *sql.DB { return openDB(t, "mysql", d.DSN) },
		up:      mysql.Migrate,
		dsn:     d.DSN,
	}
}

func openDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var targets = map[string]func(t *testing.T) target{
	"sqlite":   sqliteTarget,
	"postgres": postgresTarget,
	"mysql":    mysqlTarget,
}

func forEachDialect(t *testing.T, test func(t *testing.T, tg target)) {
	for _, name := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, targets[name](t))
		})
	}
}

func latest(t *testing.T, src migrate.Source) int64 {
	t.Helper()
	v, err := migrate.Latest(src)
	if err != nil || v < 1 {
		t.Fatalf("Latest(%s) = %d, %v", src.Dialect, v, err)
	}
	return v
}

// appliedRows counts the version-table rows recording version v.
func appliedRows(t *testing.T, db *sql.DB, v int64) int {
	t.Helper()
	var n int
	// The version table is goose's; this test-only probe has no sqlc query.
	if err := db.QueryRow("SELECT COUNT(*) FROM " + migrate.VersionTable + " WHERE version_id = " + itoa(v)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestFreshApplyThenIdempotentReapply(t *testing.T) {
	forEachDialect(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		db := tg.connect(t)
		want := latest(t, tg.src)
		v, err := tg.up(ctx, db)
		if err != nil || v != want {
			t.Fatalf("first Up = %d, %v; want %d", v, err, want)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO processes (id, spec, await_output, external_ref_metadata, first_started_owner, abandon_reason, lease_owner) VALUES ('kept', '', '', '', '', '', '')"); err != nil {
			t.Fatalf("the migrated schema rejects a process row: %v", err)
		}
		v, err = tg.up(ctx, tg.connect(t))
		if err != nil || v != want {
			t.Fatalf("second Up = %d, %v; want %d", v, err, want)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM processes").Scan(&n); err != nil || n != 1 {
			t.Fatalf("after re-apply: %d processes, %v; want the 1 row written before", n, err)
		}
		if got := appliedRows(t, db, want); got != 1 {
			t.Fatalf("version %d recorded %d times, want once", want, got)
		}
	})
}

func TestConcurrentMigratorsApplyOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, tg target) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		want := latest(t, tg.src)
		const migrators = 4
		dbs := make([]*sql.DB, migrators)
		for i := range dbs {
			dbs[i] = tg.connect(t)
		}
		errs := make([]error, migrators)
		versions := make([]int64, migrators)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range dbs {
			wg.Go(func() {
				<-start
				versions[i], errs[i] = tg.up(ctx, dbs[i])
			})
		}
		close(start)
		wg.Wait()
		for i := range dbs {
			if errs[i] != nil || versions[i] != want {
				t.Errorf("migrator %d: version %d, %v; want %d", i, versions[i], errs[i], want)
			}
		}
		if got := appliedRows(t, dbs[0], want); got != 1 {
			t.Fatalf("version %d recorded %d times, want once", want, got)
		}
	})
}

func TestCancelledContextWritesNothing(t *testing.T) {
	tg := sqliteTarget(t)
	db := tg.connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tg.up(ctx, db); !errors.Is(err, context.Canceled) {
		t.Fatalf("Up with a cancelled context: %v, want context.Canceled", err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_master").Scan(&n); err != nil || n != 0 {
		t.Fatalf("cancelled Up left %d schema objects (%v)", n, err)
	}
}

func TestMissingMigrationsAreAnError(t *testing.T) {
	for _, src := range []migrate.Source{
		{Dialect: "oracle", FS: schema.FS, Dir: "oracle", Goose: goose.DialectPostgres},
		{Dialect: "none"},
	} {
		if _, err := migrate.Latest(src); err == nil {
			t.Errorf("Latest(%s) accepted a source without migrations", src.Dialect)
		}
		if _, err := migrate.Up(context.Background(), nil, src, nil); err == nil {
			t.Errorf("Up(%s) accepted a source without migrations", src.Dialect)
		}
	}
}
