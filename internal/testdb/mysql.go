package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"testing"

	driver "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg/backends/mysql"
)

// MySQL creates an empty MySQL/MariaDB database for t and drops it when t and
// its subtests have finished. Tests of migrations need it empty; the others
// take MySQLMigrated.
func MySQL(t testing.TB) Database {
	t.Helper()
	return MySQLFrom(t, MySQLEnv)
}

// MySQLFrom is MySQL with the administrative DSN read from env: a
// dialect's own PROCREG_<NAME>_DSN (see procreg dialect new), in the
// MySQL driver's forms or as a URL of the dialect's scheme
// (mariadb://root@127.0.0.1:3306/test reads as mysql://…). Only
// MySQLEnv falls back to a Docker container; without env set, the test
// skips (fails when CI=true).
func MySQLFrom(t testing.TB, env string) Database {
	t.Helper()
	admin := myAdminDSN(t, env)
	name, err := newName()
	if err != nil {
		t.Fatal(err)
	}
	myDropLater(t, admin, name)
	// DDL with a generated identifier cannot be a parameterized sqlc query,
	// so the statements in this file are SQL in Go (one of the exceptions
	// listed in docs/design.md).
	if err := myAdmin(admin, name, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testdb: create MySQL database %s: %v", name, err)
	}
	return myDatabase(t, admin, name)
}

// MySQLMigrated is MySQL with the current schema already in place. MySQL has
// no template databases, so the database is a clone of the server's migrated
// template (see the package doc): its tables' DDL and its version rows, so a
// backend's Open finds no migration to run.
func MySQLMigrated(t testing.TB) Database {
	t.Helper()
	admin := myAdminDSN(t, MySQLEnv)
	name, err := newName()
	if err != nil {
		t.Fatal(err)
	}
	myDropLater(t, admin, name)
	for attempt := 1; ; attempt++ {
		tpl, err := myTemplate.get(func() (myTemplateInfo, error) { return myEnsureTemplate(t, admin) })
		if err != nil {
			t.Fatalf("testdb: MySQL template: %v", err)
		}
		err = myCreateFrom(admin, name, tpl)
		if err == nil {
			break
		}
		if attempt == 1 && myMissing(err) {
			// The template vanished (dropped by hand, or as stale by a run
			// of another schema): build it again, once.
			myTemplate.forget()
			if err := myAdmin(admin, name, "DROP DATABASE IF EXISTS "+name); err != nil {
				t.Fatalf("testdb: drop MySQL database %s: %v", name, err)
			}
			continue
		}
		t.Fatalf("testdb: create MySQL database %s from template %s: %v", name, tpl.name, err)
	}
	return myDatabase(t, admin, name)
}

// myAdminDSN finds the MySQL server of env (once per binary) and returns
// its administrative DSN, or ends t when there is none.
func myAdminDSN(t testing.TB, env string) string {
	t.Helper()
	srv := serverFor(env, func() server {
		return findServer(env, "MySQL", container{
			repository: "mysql",
			tag:        "8.4",
			env:        []string{"MYSQL_ALLOW_EMPTY_PASSWORD=yes", "MYSQL_DATABASE=test"},
			port:       "3306/tcp",
			adminDSN: func(hostPort string) string {
				return "mysql://root@" + hostPort + "/test"
			},
			ping: myPing,
		})
	})
	if srv.adminDSN == "" {
		skipOrFatal(t, srv.reason)
	}
	// A dialect's own variable may use its scheme (mariadb://…).
	return MySQLForm(srv.adminDSN)
}

// myDropLater drops database name when t and its subtests have finished.
func myDropLater(t testing.TB, admin, name string) {
	t.Cleanup(func() {
		if err := myAdmin(admin, name, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("testdb: drop MySQL database %s: %v", name, err)
		}
	})
}

// myDatabase describes database name on the server of admin.
func myDatabase(t testing.TB, admin, name string) Database {
	t.Helper()
	cfg, err := mysql.ParseDSN(admin)
	if err != nil {
		t.Fatalf("testdb: %s: %v", MySQLEnv, err)
	}
	cfg.DBName = name
	return Database{Name: name, DSN: cfg.FormatDSN(), URL: myURL(cfg)}
}

// myURL renders a driver configuration in the mysql:// URL form.
func myURL(cfg *driver.Config) string {
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else {
		u.User = url.User(cfg.User)
	}
	return u.String()
}

// myPing checks that a MySQL server accepts connections.
func myPing(ctx context.Context, dsn string) error {
	db, err := myOpen(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// myOpen opens an administrative connection pool for dsn.
func myOpen(dsn string) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := driver.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

// myAdmin runs one administrative statement about database name.
func myAdmin(adminDSN, name, stmt string) error {
	if !validName(name) {
		return fmt.Errorf("refusing DDL on an unexpected name: %q", name)
	}
	db, err := myOpen(adminDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := adminContext()
	defer cancel()
	_, err = db.ExecContext(ctx, stmt)
	return err
}
