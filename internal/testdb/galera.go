package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// GaleraEnv names the DSNs of a MariaDB Galera cluster's nodes, space
// separated, each an administrative DSN in the MySQL driver's forms
// (mysql://root@127.0.0.1:3311/test, or mariadb://… — any scheme is read
// as mysql://). ci/galera.sh dsns prints them; .ci/run exports them.
const GaleraEnv = "PROCREG_MARIADB_GALERA_DSNS"

// galeraVisibleTimeout bounds the wait for a database created on node 1 to
// appear on every node. DDL replicates in total order (TOI) and is applied
// before the statement returns on the originating node, but the other nodes
// apply it asynchronously; on a loaded machine that can take a while.
const galeraVisibleTimeout = 2 * time.Minute

// Galera creates an empty database for t on the Galera cluster named by
// env (GaleraEnv, or a dialect's own variable) and returns it once per
// node: the same database, each Database connecting to another node, in
// the order the variable lists them. It is created through node 1 and
// returned only when every node sees it; it is dropped, through node 1,
// when t and its subtests have finished. Without env the test skips (fails
// when CI=true); a variable naming fewer than two nodes is a failure.
func Galera(t testing.TB, env string) []Database {
	t.Helper()
	admins := galeraAdmins(t, env)
	name, err := newName()
	if err != nil {
		t.Fatal(err)
	}
	myDropLater(t, admins[0], name)
	// DDL with a generated identifier: SQL in Go, as in mysql.go.
	if err := myAdmin(admins[0], name, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testdb: create Galera database %s on node 1: %v", name, err)
	}
	out := make([]Database, len(admins))
	for i, admin := range admins {
		if err := galeraWaitVisible(admin, name); err != nil {
			t.Fatalf("testdb: Galera database %s created on node 1 is not visible on node %d: %v", name, i+1, err)
		}
		out[i] = myDatabase(t, admin, name)
	}
	return out
}

// GaleraNodes returns the administrative DSNs of the cluster named by env
// (at least two), or ends t: a skip when env is unset, a failure when
// CI=true.
func GaleraNodes(t testing.TB, env string) []string {
	t.Helper()
	return galeraAdmins(t, env)
}

func galeraAdmins(t testing.TB, env string) []string {
	t.Helper()
	srv := serverFor(env, func() server {
		v := strings.TrimSpace(os.Getenv(env))
		if v == "" {
			return server{reason: fmt.Sprintf("%s is unset (start a cluster with ci/galera.sh start and export %s=\"$(ci/galera.sh dsns)\"); skipping the Galera tests", env, env)}
		}
		return server{adminDSN: v}
	})
	if srv.adminDSN == "" {
		skipOrFatal(t, srv.reason)
	}
	fields := strings.Fields(srv.adminDSN)
	if len(fields) < 2 {
		t.Fatalf("testdb: %s names %d node(s); want the DSNs of at least two nodes of one cluster", env, len(fields))
	}
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = MySQLForm(f)
	}
	return out
}

// MySQLForm returns dsn in a form the mysql package's ParseDSN reads: a
// URL of another scheme (mariadb://…) becomes mysql://…; anything else is
// returned unchanged.
func MySQLForm(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok || scheme == "mysql" || strings.ContainsAny(scheme, "@/(") {
		return dsn
	}
	return "mysql://" + rest
}

// galeraWaitVisible waits (bounded) until the node of admin lists database
// name. The query runs with wsrep_sync_wait off (the server default), so it
// observes when the node itself has applied the DDL.
func galeraWaitVisible(admin, name string) error {
	db, err := myOpen(admin)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), galeraVisibleTimeout)
	defer cancel()
	for {
		var n int
		err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&n)
		if err == nil && n == 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = sql.ErrNoRows
			}
			return fmt.Errorf("after %v: %w (last: %v)", galeraVisibleTimeout, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
