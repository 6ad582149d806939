package mysql

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg"
)

// ParseDSN converts a MySQL data source name into a driver configuration.
// It accepts the URL form mysql://user:pass@host:port/db?param=value (port
// 3306 by default; user, password and database may be percent-encoded) and
// the driver's native form user:pass@tcp(host:port)/db?param=value. Query
// parameters are the driver's own (see github.com/go-sql-driver/mysql). A DSN
// that does not parse is procreg.ErrInvalid.
//
// On top of the driver defaults, ParseDSN sets two session defaults unless the
// DSN names them: time_zone '+00:00', so that every time the server reports is
// UTC whatever the server's zone, and interpolateParams=true, so that a
// parameterized statement costs one round trip instead of three
// (prepare, execute, close).
func ParseDSN(dsn string) (*mysqldrv.Config, error) {
	var (
		cfg   *mysqldrv.Config
		query string
		err   error
	)
	if strings.HasPrefix(dsn, "mysql://") {
		cfg, query, err = parseURL(dsn)
	} else {
		cfg, err = mysqldrv.ParseDSN(dsn)
		if err == nil {
			_, query, _ = strings.Cut(dsn[strings.LastIndex(dsn, "/")+1:], "?")
			_, err = url.ParseQuery(query)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: mysql: parse DSN: %w", procreg.ErrInvalid, err)
	}
	// The driver sends every parameter it does not know as a session
	// variable (SET name=value) when it connects; without a value that is
	// a syntax error there, so it is refused here.
	for name, v := range cfg.Params {
		if v == "" {
			return nil, fmt.Errorf("%w: mysql: parse DSN: parameter %q has no value", procreg.ErrInvalid, name)
		}
	}
	if !driverSets(query, "time_zone") {
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		cfg.Params["time_zone"] = "'+00:00'"
	}
	if !driverSets(query, "interpolateParams") {
		cfg.InterpolateParams = true
	}
	return cfg, nil
}

// driverSets reports whether the driver reads a setting of key from the
// DSN's query: a "key=value" part, the key as written (the driver neither
// unescapes keys nor reads a part without '='), so "?time_zone" alone or
// "?time%5Fzone=…" do not keep the time_zone default from applying.
func driverSets(query, key string) bool {
	for part := range strings.SplitSeq(query, "&") {
		if k, _, found := strings.Cut(part, "="); found && k == key {
			return true
		}
	}
	return false
}

// parseURL reads the URL form. Driver parameters are applied by handing the
// query to the driver's own parser, so both forms accept the same options.
func parseURL(dsn string) (*mysqldrv.Config, string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Error repeats the whole DSN, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, "", fmt.Errorf("not a mysql:// URL: %w", err)
	}
	if u.Host == "" {
		return nil, "", fmt.Errorf("%q names no host", u.Redacted())
	}
	if _, err := url.ParseQuery(u.RawQuery); err != nil {
		return nil, "", err
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	// url.Parse keeps some malformed hosts ("mysql://]"), which would make
	// an address like "[]:3306]:3306" that fails only when dialled.
	if host, _, err := net.SplitHostPort(addr); err != nil || host == "" {
		return nil, "", fmt.Errorf("%q names no valid host:port", u.Redacted())
	}
	cfg, err := mysqldrv.ParseDSN("tcp(" + addr + ")/?" + u.RawQuery)
	if err != nil {
		return nil, "", err
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	return cfg, u.RawQuery, nil
}
