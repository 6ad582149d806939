package testdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/driver/migrate"
)

// The PostgreSQL template: a database migrated once per server and schema,
// copied by CREATE DATABASE … TEMPLATE for every PostgresMigrated. It is
// built under a temporary name and renamed when complete, so a template's
// name never stands for a half-built database, and builders of different
// processes take turns on an advisory lock, so only one builds it. It
// accepts no connections (ALLOW_CONNECTIONS false): CREATE DATABASE …
// TEMPLATE fails while anyone is connected to the source.
//
// DDL with generated identifiers, and the advisory lock on a pgx
// connection, cannot be sqlc queries: the statements here are SQL in Go
// (one of the exceptions listed in docs/design.md).

var pgTemplate templateCache[string]

// SQLSTATEs the template code acts on.
const (
	sqlstateObjectInUse       = "55006" // source database is being accessed by other users
	sqlstateUndefinedDatabase = "3D000" // template database does not exist
)

// pgTemplateLockID is the advisory-lock key (in the admin DSN's database)
// that serializes template builders across processes: crc32 of
// "procreg/testdb/template", distinct from migrate's key.
const pgTemplateLockID int64 = 3855265506

// pgInUseWait bounds the retries of a statement that needs a database
// nobody is connected to: a closed pool's server sessions may take a moment
// to end.
const pgInUseWait = 10 * time.Second

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// pgExecInUseRetry runs stmt on its own connection, retrying while the
// database it needs is in use by another session (SQLSTATE 55006).
func pgExecInUseRetry(admin, name, stmt string) error {
	deadline := time.Now().Add(pgInUseWait)
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		err := pgAdmin(admin, name, stmt)
		if err == nil || pgCode(err) != sqlstateObjectInUse || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
	}
}

// pgCreateFrom creates database name as a copy of template tpl.
func pgCreateFrom(admin, name, tpl string) error {
	if !validName(tpl) {
		return fmt.Errorf("refusing DDL on an unexpected template name: %q", tpl)
	}
	if err := pgExecInUseRetry(admin, name, "CREATE DATABASE "+name+" TEMPLATE "+tpl); err != nil {
		return err
	}
	// The copy has the template's cursor secret: make its own (see
	// newCursorKey).
	key, err := newCursorKey()
	if err != nil {
		return err
	}
	dsn, _, err := pgDSNs(admin, name)
	if err != nil {
		return err
	}
	ctx, cancel := adminContext()
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "UPDATE procreg_meta SET value = $1 WHERE name = 'cursor_key'", key)
	return err
}

// pgEnsureTemplate returns the name of the current schema's template on the
// server of admin, building it if it is missing. t is the test that asked
// first; it only receives log lines.
func pgEnsureTemplate(t testing.TB, admin string) (string, error) {
	name, err := TemplateName("postgres")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), templateTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	// Closing the connection also releases the advisory lock.
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", pgTemplateLockID); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	pgSweep(ctx, t, conn, admin, name)
	build, err := newName()
	if err != nil {
		return "", err
	}
	build = buildPrefix + strings.TrimPrefix(build, "procreg_")
	if err := pgAdmin(admin, build, "CREATE DATABASE "+build); err != nil {
		return "", fmt.Errorf("create %s: %w", build, err)
	}
	done := false
	defer func() {
		if !done {
			if err := pgAdmin(admin, build, "DROP DATABASE IF EXISTS "+build+" WITH (FORCE)"); err != nil {
				t.Logf("testdb: drop the unfinished template %s: %v", build, err)
			}
		}
	}()
	if err := pgMigrate(ctx, admin, build); err != nil {
		return "", err
	}
	// The build stamp is ours (RFC 3339), safe in a string literal.
	for _, stmt := range []string{
		"COMMENT ON DATABASE " + build + " IS 'procreg testdb template, built " + buildStamp() + "'",
		"ALTER DATABASE " + build + " WITH ALLOW_CONNECTIONS false",
	} {
		if err := pgAdmin(admin, build, stmt); err != nil {
			return "", err
		}
	}
	if err := pgExecInUseRetry(admin, build, "ALTER DATABASE "+build+" RENAME TO "+name); err != nil {
		return "", fmt.Errorf("rename %s to %s: %w", build, name, err)
	}
	done = true
	t.Logf("testdb: built PostgreSQL template %s", name)
	return name, nil
}

// pgMigrate migrates database name to the latest version and closes every
// connection it opened.
func pgMigrate(ctx context.Context, admin, name string) error {
	dsn, _, err := pgDSNs(admin, name)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	v, err := postgres.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	if want, err := migrate.Latest(source("postgres")); err != nil || v != want {
		return fmt.Errorf("migrated %s to version %d, want %d (%v)", name, v, want, err)
	}
	pool.Close()
	return nil
}

// pgSweep drops, best effort, what earlier builds left behind: unfinished
// builds (no one else builds while we hold the lock) and templates of other
// schemas built more than staleTemplateAge ago.
func pgSweep(ctx context.Context, t testing.TB, conn *pgx.Conn, admin, keep string) {
	rows, err := conn.Query(ctx, `SELECT datname, COALESCE(shobj_description(oid, 'pg_database'), '')
		FROM pg_database WHERE starts_with(datname, $1) OR starts_with(datname, $2)`, buildPrefix, templatePrefix)
	if err != nil {
		t.Logf("testdb: list old templates: %v", err)
		return
	}
	type db struct{ Name, Comment string } // exported: pgx scans only exported fields
	dbs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[db])
	if err != nil {
		t.Logf("testdb: list old templates: %v", err)
		return
	}
	for _, d := range dbs {
		if d.Name == keep {
			continue
		}
		if !strings.HasPrefix(d.Name, buildPrefix) {
			_, stamp, ok := strings.Cut(d.Comment, ", built ")
			built, err := time.Parse(time.RFC3339, stamp)
			if !ok || err != nil || !isStale(built) {
				continue
			}
		}
		if err := pgAdmin(admin, d.Name, "DROP DATABASE IF EXISTS "+d.Name+" WITH (FORCE)"); err != nil {
			t.Logf("testdb: drop old template %s: %v", d.Name, err)
		} else {
			t.Logf("testdb: dropped old template %s", d.Name)
		}
	}
}
