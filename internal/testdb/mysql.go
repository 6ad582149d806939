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
// its subtests have finished.
func MySQL(t testing.TB) Database {
	t.Helper()
	return MySQLFrom(t, MySQLEnv)
}

// MySQLFrom is MySQL with the administrative DSN read from env: a
// dialect's own PROCREG_<NAME>_DSN (see procreg dialect new). Only
// MySQLEnv falls back to a Docker container; without env set, the test
// skips (fails when CI=true).
func MySQLFrom(t testing.TB, env string) Database {
	t.Helper()
	myServer := serverFor(env, func() server {
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
	if myServer.adminDSN == "" {
		skipOrFatal(t, myServer.reason)
	}
	name, err := newName()
	if err != nil {
		t.Fatal(err)
	}
	// DDL with a generated identifier cannot be a parameterized sqlc query,
	// so these two statements are SQL in Go (one of the exceptions listed
	// in docs/design.md).
	if err := myAdmin(myServer.adminDSN, name, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testdb: create MySQL database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := myAdmin(myServer.adminDSN, name, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("testdb: drop MySQL database %s: %v", name, err)
		}
	})
	cfg, err := mysql.ParseDSN(myServer.adminDSN)
	if err != nil {
		t.Fatalf("testdb: %s: %v", env, err)
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
