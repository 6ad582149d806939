package testdb

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Postgres creates an empty PostgreSQL database for t and drops it (forcibly,
// closing leftover connections) when t and its subtests have finished. Tests
// of migrations need it empty; the others take PostgresMigrated.
func Postgres(t testing.TB) Database {
	t.Helper()
	return PostgresFrom(t, PostgresEnv)
}

// PostgresFrom is Postgres with the administrative DSN read from env: a
// dialect's own PROCREG_<NAME>_DSN (see procreg dialect new). Only
// PostgresEnv falls back to a Docker container; without env set, the test
// skips (fails when CI=true).
func PostgresFrom(t testing.TB, env string) Database {
	t.Helper()
	admin := pgAdminDSN(t, env)
	name, err := newName()
	if err != nil {
		t.Fatal(err)
	}
	pgDropLater(t, admin, name)
	// DDL with a generated identifier cannot be a parameterized sqlc query,
	// so the statements in this file are SQL in Go (one of the exceptions
	// listed in docs/design.md).
	if err := pgAdmin(admin, name, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testdb: create PostgreSQL database %s: %v", name, err)
	}
	return pgDatabase(t, admin, name)
}

// PostgresMigrated is Postgres with the current schema already in place: the
// database is created from the server's migrated template (CREATE DATABASE …
// TEMPLATE), built once per server and schema (see the package doc), so a
// backend's Open finds no migration to run.
func PostgresMigrated(t testing.TB) Database {
	t.Helper()
	admin := pgAdminDSN(t, PostgresEnv)
	name, err := newName()
	if err != nil {
		t.Fatal(err)
	}
	pgDropLater(t, admin, name)
	for attempt := 1; ; attempt++ {
		tpl, err := pgTemplate.get(func() (string, error) { return pgEnsureTemplate(t, admin) })
		if err != nil {
			t.Fatalf("testdb: PostgreSQL template: %v", err)
		}
		err = pgCreateFrom(admin, name, tpl)
		if err == nil {
			break
		}
		if attempt == 1 && pgCode(err) == sqlstateUndefinedDatabase {
			// The template vanished (dropped by hand, or as stale by a run
			// of another schema): build it again, once.
			pgTemplate.forget()
			continue
		}
		t.Fatalf("testdb: create PostgreSQL database %s from template %s: %v", name, tpl, err)
	}
	return pgDatabase(t, admin, name)
}

// pgAdminDSN finds the PostgreSQL server of env (once per binary) and returns
// its administrative DSN, or ends t when there is none.
func pgAdminDSN(t testing.TB, env string) string {
	t.Helper()
	srv := serverFor(env, func() server {
		return findServer(env, "PostgreSQL", container{
			repository: "postgres",
			tag:        "16",
			env:        []string{"POSTGRES_HOST_AUTH_METHOD=trust", "POSTGRES_DB=test"},
			port:       "5432/tcp",
			adminDSN: func(hostPort string) string {
				return "postgres://postgres@" + hostPort + "/test?sslmode=disable"
			},
			ping: pgPing,
		})
	})
	if srv.adminDSN == "" {
		skipOrFatal(t, srv.reason)
	}
	return srv.adminDSN
}

// pgDropLater drops database name when t and its subtests have finished.
func pgDropLater(t testing.TB, admin, name string) {
	t.Cleanup(func() {
		// WITH (FORCE) needs PostgreSQL 13 or later.
		if err := pgAdmin(admin, name, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testdb: drop PostgreSQL database %s: %v", name, err)
		}
	})
}

// pgDatabase describes database name on the server of admin.
func pgDatabase(t testing.TB, admin, name string) Database {
	t.Helper()
	dsn, u, err := pgDSNs(admin, name)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return Database{Name: name, DSN: dsn, URL: u}
}

// findServer resolves the server for one backend: the DSN in env, else a
// container, else the reason there is none.
func findServer(env, product string, c container) server {
	if dsn := os.Getenv(env); dsn != "" {
		return server{adminDSN: dsn}
	}
	if env != PostgresEnv && env != MySQLEnv {
		return server{reason: fmt.Sprintf("%s is unset; skipping the tests of its dialect", env)}
	}
	dsn, err := startContainer(c)
	if err != nil {
		return server{reason: fmt.Sprintf("%s is unset and %s cannot run in Docker (%v); skipping %s tests", env, product, err, product)}
	}
	return server{adminDSN: dsn}
}

// pgPing checks that a PostgreSQL server accepts connections.
func pgPing(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// pgAdmin runs one administrative statement about database name on its own
// connection.
func pgAdmin(adminDSN, name, stmt string) error {
	if !validName(name) {
		return fmt.Errorf("refusing DDL on an unexpected name: %q", name)
	}
	ctx, cancel := adminContext()
	defer cancel()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

// pgDSNs derives the DSN and URL of database name from the admin DSN, which
// may be a URL or a keyword/value string.
func pgDSNs(adminDSN, name string) (dsn, dbURL string, err error) {
	if strings.HasPrefix(adminDSN, "postgres://") || strings.HasPrefix(adminDSN, "postgresql://") {
		u, err := url.Parse(adminDSN)
		if err != nil {
			return "", "", fmt.Errorf("parse %s: %w", PostgresEnv, err)
		}
		u.Path = "/" + name
		return u.String(), u.String(), nil
	}
	// In the keyword/value form a later keyword overrides an earlier one.
	dsn = adminDSN + " dbname=" + name
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", "", fmt.Errorf("parse %s: %w", PostgresEnv, err)
	}
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(cfg.User, cfg.Password),
		Host:   net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))),
		Path:   "/" + name,
	}
	if cfg.Password == "" {
		u.User = url.User(cfg.User)
	}
	if cfg.TLSConfig == nil {
		u.RawQuery = "sslmode=disable"
	}
	return dsn, u.String(), nil
}
