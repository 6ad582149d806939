package mariadb

import (
	"fmt"
	"strings"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/procreg/procreg/backends/mysql"
)

// ParseDSN converts a MariaDB data source name into a driver configuration.
// It accepts the URL form mariadb://user:pass@host:port/db?param=value (or
// mysql://…; port 3306 by default; user, password and database may be
// percent-encoded) and the driver's native form
// user:pass@tcp(host:port)/db?param=value. Query parameters are the
// driver's own (see github.com/go-sql-driver/mysql); an unknown one is a
// session variable set on every connection. A DSN that does not parse is
// procreg.ErrInvalid.
//
// On top of the driver defaults, ParseDSN sets three session defaults unless
// the DSN names them: time_zone '+00:00', so that every time the server
// reports is UTC whatever the server's zone; interpolateParams=true (where
// the encoding makes it safe, see mysql.ParseDSN), so that a parameterized
// statement costs one round trip instead of two (prepare, then execute; the
// close has no reply); and wsrep_sync_wait=7 (DefaultSyncWait), so that on a
// Galera cluster every read, UPDATE/DELETE and INSERT first waits until the
// node has applied every write-set the cluster committed before it: a write
// committed through one node is seen at once through any other. A node
// outside a cluster (wsrep off) ignores the variable; it is sent with the
// connection's other settings, so it costs no round trip.
func ParseDSN(dsn string) (*mysqldrv.Config, error) {
	// The syntax and the UTC and interpolateParams defaults are the mysql
	// dialect's, read by its parser (one home: what fuzzing fixed there
	// holds here); only the scheme and the Galera default are mariadb's.
	if rest, ok := strings.CutPrefix(dsn, "mariadb://"); ok {
		dsn = "mysql://" + rest
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mariadb: %w", err)
	}
	if _, given := cfg.Params[SyncWaitParam]; !given {
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		cfg.Params[SyncWaitParam] = DefaultSyncWait
	}
	return cfg, nil
}

// SyncWaitParam is the session variable that makes a Galera node's reads
// causal (docs/galera.md); DefaultSyncWait is what ParseDSN sets it to
// unless the DSN names it: 1 (reads, BEGIN) + 2 (UPDATE, DELETE) + 4
// (INSERT, REPLACE). The writes need it as well as the reads: they decide
// by what their WHERE clause and the locked row show, and a node that has
// not applied a write-set yet would decide on a stale row and lose the
// certification only at COMMIT.
const (
	SyncWaitParam   = "wsrep_sync_wait"
	DefaultSyncWait = "7"
)
