package mariadb

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg"
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
// reports is UTC whatever the server's zone; interpolateParams=true, so that
// a parameterized statement costs one round trip instead of three (prepare,
// execute, close); and wsrep_sync_wait=7 (DefaultSyncWait), so that on a
// Galera cluster every read, UPDATE/DELETE and INSERT first waits until the
// node has applied every write-set the cluster committed before it: a write
// committed through one node is seen at once through any other. A node
// outside a cluster (wsrep off) ignores the variable; it is sent with the
// connection's other settings, so it costs no round trip.
func ParseDSN(dsn string) (*mysqldrv.Config, error) {
	var (
		cfg    *mysqldrv.Config
		params url.Values
		err    error
	)
	if strings.HasPrefix(dsn, "mariadb://") || strings.HasPrefix(dsn, "mysql://") {
		cfg, params, err = parseURL(dsn)
	} else {
		cfg, err = mysqldrv.ParseDSN(dsn)
		if err == nil {
			_, query, _ := strings.Cut(dsn[strings.LastIndex(dsn, "/")+1:], "?")
			params, err = url.ParseQuery(query)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: mariadb: parse DSN: %w", procreg.ErrInvalid, err)
	}
	if !params.Has("time_zone") {
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		cfg.Params["time_zone"] = "'+00:00'"
	}
	if !params.Has("interpolateParams") {
		cfg.InterpolateParams = true
	}
	if !params.Has(SyncWaitParam) {
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

// parseURL reads the URL form. Driver parameters are applied by handing the
// query to the driver's own parser, so both forms accept the same options.
func parseURL(dsn string) (*mysqldrv.Config, url.Values, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Error repeats the whole DSN, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, fmt.Errorf("not a mariadb:// URL: %w", err)
	}
	if u.Host == "" {
		return nil, nil, fmt.Errorf("%q names no host", u.Redacted())
	}
	params, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, nil, err
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	cfg, err := mysqldrv.ParseDSN("tcp(" + addr + ")/?" + u.RawQuery)
	if err != nil {
		return nil, nil, err
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	return cfg, params, nil
}
