package mariadb

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
	"github.com/procreg/procreg/internal/testdb"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want driver.ErrorClass
	}{
		{"deadlock or certification failure", &mysqldrv.MySQLError{Number: 1213}, driver.ClassTransient},
		{"certification failure at commit", sqlkit.CommitFailed("mariadb", &mysqldrv.MySQLError{Number: 1213}), driver.ClassTransient},
		{"lock wait timeout", &mysqldrv.MySQLError{Number: 1205}, driver.ClassTransient},
		{"record changed", &mysqldrv.MySQLError{Number: 1020}, driver.ClassTransient},
		{"node not ready (wsrep)", &mysqldrv.MySQLError{Number: 1047}, driver.ClassUnavailable},
		{"duplicate", &mysqldrv.MySQLError{Number: 1062}, driver.ClassUniqueViolation},
		{"no table", &mysqldrv.MySQLError{Number: 1146}, driver.ClassSchemaMissing},
		{"bad conn", fmt.Errorf("lock process: %w", sqldriver.ErrBadConn), driver.ClassUnavailable},
		{"cancelled", fmt.Errorf("lock process: %w", context.Canceled), driver.ClassOther},
		{"syntax error", &mysqldrv.MySQLError{Number: 1064}, driver.ClassOther},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("%s: classify = %v; want %v", c.name, got, c.want)
		}
	}
	// A certification failure at COMMIT rolled the transaction back on every
	// node: run it again. A connection lost during the commit: never.
	if !retryable(sqlkit.CommitFailed("mariadb", &mysqldrv.MySQLError{Number: 1213})) {
		t.Error("a commit that failed certification is not retried; want a retry")
	}
	if retryable(sqlkit.CommitFailed("mariadb", mysqldrv.ErrInvalidConn)) {
		t.Error("a connection lost during the commit is retried; the write may have been applied")
	}
}

func TestParseDSN(t *testing.T) {
	cases := []struct {
		dsn, addr, db, syncWait, zone string
	}{
		{"mariadb://root@127.0.0.1:3306/test", "127.0.0.1:3306", "test", "7", "'+00:00'"},
		{"mariadb://u:p%40w@db.example/jobs?wsrep_sync_wait=0", "db.example:3306", "jobs", "0", "'+00:00'"},
		{"mysql://root@127.0.0.1:3311/test", "127.0.0.1:3311", "test", "7", "'+00:00'"},
		{"root@tcp(127.0.0.1:3312)/test?wsrep_sync_wait=3&time_zone=%27SYSTEM%27", "127.0.0.1:3312", "test", "3", "'SYSTEM'"},
	}
	for _, c := range cases {
		cfg, err := ParseDSN(c.dsn)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", c.dsn, err)
			continue
		}
		if cfg.Addr != c.addr || cfg.DBName != c.db || cfg.Params[SyncWaitParam] != c.syncWait ||
			cfg.Params["time_zone"] != c.zone || !cfg.InterpolateParams {
			t.Errorf("ParseDSN(%q) = addr %q db %q wsrep_sync_wait %q zone %q interpolate %v; want %q %q %q %q true",
				c.dsn, cfg.Addr, cfg.DBName, cfg.Params[SyncWaitParam], cfg.Params["time_zone"], cfg.InterpolateParams,
				c.addr, c.db, c.syncWait, c.zone)
		}
	}
	for _, dsn := range []string{"mariadb:///nohost", "mariadb://root:s3cret@h:port/db", "not a dsn"} {
		_, err := ParseDSN(dsn)
		if !errors.Is(err, procreg.ErrInvalid) || strings.Contains(fmt.Sprint(err), "s3cret") {
			t.Errorf("ParseDSN(%q) = %v; want ErrInvalid without the password", dsn, err)
		}
	}
}

// lockDB opens a pool on d (one of testdb's databases).
func lockDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	cfg, err := ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}

// lock takes l's lock on a connection of db within d.
func lock(t *testing.T, db *sql.DB, l *migrationLocker, d time.Duration) (*sql.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, l.SessionLock(ctx, conn)
}

// TestMigrationLockExpires: a lease left by a crashed migrator blocks
// migrations until it expires, then the next migrator takes over, migrates
// and releases.
func TestMigrationLockExpires(t *testing.T) {
	d := testdb.MySQLFrom(t, "PROCREG_MARIADB_DSN")
	db := lockDB(t, d.DSN)
	ctx := context.Background()
	for _, stmt := range []string{createLockTable, seedLock,
		"UPDATE " + LockTable + " SET owner = 'crashed', expires_ms = " + nowMs + " + 3600000 WHERE id = 1"} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := Migrate(short, db); err == nil || !strings.Contains(err.Error(), "waiting for the migration lock") {
		t.Fatalf("Migrate while a live lease is held = %v; want it to wait for the lock until the deadline", err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE "+LockTable+" SET expires_ms = "+nowMs+" - 1 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	if v, err := Migrate(ctx, db); err != nil || v == 0 {
		t.Fatalf("Migrate after the crashed migrator's lease expired = %d, %v; want the schema", v, err)
	}
	var owner string
	if err := db.QueryRowContext(ctx, "SELECT owner FROM "+LockTable+" WHERE id = 1").Scan(&owner); err != nil || owner != "" {
		t.Errorf("lock owner after Migrate = %q, %v; want released", owner, err)
	}
}

// TestMigrationLockRenews: a holder renews its lease (its expiry moves
// forward while it holds it), and a release frees it for the next locker.
func TestMigrationLockRenews(t *testing.T) {
	d := testdb.MySQLFrom(t, "PROCREG_MARIADB_DSN")
	db := lockDB(t, d.DSN)
	ctx := context.Background()
	a := &migrationLocker{db: db, ttl: time.Second}
	connA, err := lock(t, db, a, time.Minute)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	read := func() (owner string, expires int64) {
		t.Helper()
		if err := db.QueryRowContext(ctx, "SELECT owner, expires_ms FROM "+LockTable+" WHERE id = 1").Scan(&owner, &expires); err != nil {
			t.Fatal(err)
		}
		return owner, expires
	}
	owner, first := read()
	deadline := time.Now().Add(time.Minute)
	for {
		o, e := read()
		if o != owner {
			t.Fatalf("lock owner changed from %q to %q while held", owner, o)
		}
		if e > first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lease's expiry did not move in a minute (ttl 1 s, renewed every 250 ms)")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := a.SessionUnlock(ctx, connA); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	b := &migrationLocker{db: db, ttl: time.Second}
	connB, err := lock(t, db, b, time.Minute)
	if err != nil {
		t.Fatalf("lock after the release: %v", err)
	}
	if err := b.SessionUnlock(ctx, connB); err != nil {
		t.Fatalf("unlock: %v", err)
	}
}

// TestMigrationLockAcrossGaleraNodes: the lock taken through node 1 keeps
// a locker on another node out (GET_LOCK would not), until it is released.
func TestMigrationLockAcrossGaleraNodes(t *testing.T) {
	dbs := testdb.Galera(t, testdb.GaleraEnv)
	first, last := lockDB(t, dbs[0].DSN), lockDB(t, dbs[len(dbs)-1].DSN)
	a := &migrationLocker{db: first, ttl: lockTTL}
	connA, err := lock(t, first, a, time.Minute)
	if err != nil {
		t.Fatalf("lock on node 1: %v", err)
	}
	b := &migrationLocker{db: last, ttl: lockTTL}
	if _, err := lock(t, last, b, 3*time.Second); err == nil {
		t.Fatalf("node %d got the migration lock that node 1 holds", len(dbs))
	}
	if err := a.SessionUnlock(context.Background(), connA); err != nil {
		t.Fatalf("unlock on node 1: %v", err)
	}
	connB, err := lock(t, last, b, time.Minute)
	if err != nil {
		t.Fatalf("lock on node %d after node 1 released it: %v", len(dbs), err)
	}
	if err := b.SessionUnlock(context.Background(), connB); err != nil {
		t.Fatal(err)
	}
}
