// Package testdb provisions a fresh database per test for the server
// backends, so that test runs are repeatable and can run in parallel.
//
// The server is found in this order:
//
//  1. the environment: PROCREG_POSTGRES_DSN (e.g.
//     postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and
//     PROCREG_MYSQL_DSN (mysql://root@127.0.0.1:3306/test, or the driver's
//     native form root@tcp(127.0.0.1:3306)/test);
//  2. a Docker engine: postgres:16 / mysql:8.4 containers started once per
//     test binary through github.com/ory/dockertest/v3 (call Main from
//     TestMain so that they are removed when the binary exits; they also
//     expire on their own after an hour);
//     (a dialect's own variable, MySQLFrom / PostgresFrom, has no
//     container fallback);
//  3. neither: the test is skipped with one line saying why, except when
//     CI=true, where a missing database fails the test.
//
// The DSN in the environment is an administrative connection: it must be
// allowed to create and drop databases. Each test gets a database named
// procreg_<random>, created on first use and dropped in t.Cleanup.
//
// Postgres and MySQL return an empty database, for the tests of migrations.
// Every other test takes PostgresMigrated or MySQLMigrated, whose database
// already holds the current schema, so the backend's Open finds no
// migration to run. They copy a template, procreg_tpl_<hash> (TemplateName),
// migrated once per server and schema: the hash covers the dialect's
// embedded migrations, so a schema change makes a new template and a stale
// one is never used. PostgreSQL copies it with CREATE DATABASE … TEMPLATE;
// MySQL/MariaDB, which have no templates, replay its tables' DDL and copy
// its version rows. Test binaries running at once take turns on a server
// lock to build it (an advisory lock, GET_LOCK), and a half-built template
// is never used (see pgtemplate.go and mytemplate.go).
//
// Templates stay on the server for the next run; that is their point. A
// build drops templates of other schemas built more than a week ago. To
// drop them by hand (the next run builds what it needs again):
//
//	psql:  SELECT 'DROP DATABASE ' || datname || ';' FROM pg_database WHERE datname LIKE 'procreg\_tpl%' \gexec
//	mysql: DROP DATABASE procreg_tpl_<hash>;  -- for each in SHOW DATABASES LIKE 'procreg\_tpl%'
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables naming the administrative DSNs.
const (
	PostgresEnv = "PROCREG_POSTGRES_DSN"
	MySQLEnv    = "PROCREG_MYSQL_DSN"
)

// Database is a freshly created database of one test (empty, or migrated from
// a template) that is dropped when the test that asked for it ends.
type Database struct {
	// Name is the database name.
	Name string
	// DSN connects to the database in the form the backend's Open takes
	// natively: a postgres:// URL (or keyword/value string, as given) for
	// PostgreSQL, the driver's native form for MySQL.
	DSN string
	// URL connects to the database in URL form (postgres://…, mysql://…), as
	// backends.Open takes it.
	URL string
}

// provisioning timeouts: generous, because a cold container or a busy CI
// machine can be slow, but bounded so that a wedged server fails the test.
const (
	adminTimeout     = 30 * time.Second
	containerTimeout = 3 * time.Minute
)

// server is one database server reachable with an administrative DSN.
type server struct {
	adminDSN string // empty when no server is available
	reason   string // why there is none, for the skip line
}

var (
	serversMu sync.Mutex
	servers   = map[string]*serverOnce{} // by environment variable
)

type serverOnce struct {
	once sync.Once
	s    server
}

// serverFor resolves the server of env once per test binary.
func serverFor(env string, find func() server) server {
	serversMu.Lock()
	so, ok := servers[env]
	if !ok {
		so = &serverOnce{}
		servers[env] = so
	}
	serversMu.Unlock()
	so.once.Do(func() { so.s = find() })
	return so.s
}

// skipOrFatal ends a test that has no database: a skip normally, a failure
// when CI=true, because a CI run that silently skips a backend proves nothing.
func skipOrFatal(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("testdb: %s (CI=true, so this is a failure)", reason)
	}
	t.Skipf("testdb: %s", reason)
}

// newName returns a database name that is unique across parallel tests and
// concurrent test binaries, and a valid unquoted identifier on both servers.
func newName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("testdb: random database name: %w", err)
	}
	return "procreg_" + hex.EncodeToString(b[:]), nil
}

// validName guards the one place where a name is spliced into DDL text.
func validName(name string) bool {
	if !strings.HasPrefix(name, "procreg_") || len(name) > 63 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// adminContext bounds one provisioning step.
func adminContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), adminTimeout)
}
