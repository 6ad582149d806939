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
// parameterized statement costs one round trip instead of two (prepare, then
// execute; the close has no reply) — unless the DSN's charset or collation is
// one of the encodings interpolation is unsafe with (see safeToInterpolate).
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
	if !driverSets(query, "interpolateParams") && safeToInterpolate(query, cfg) {
		cfg.InterpolateParams = true
	}
	return cfg, nil
}

// safeToInterpolate reports whether the connection's encoding lets the
// driver inline arguments into the SQL text safely, so that ParseDSN can
// turn interpolateParams on. The driver escapes each string argument
// itself: with backslashes, or by doubling quotes when the server reports
// NO_BACKSLASH_ESCAPES in its status flags (it follows them on every
// reply, so an sql_mode set in the DSN is honoured). That is sound for
// utf8mb4 — the driver's default connection collation, whatever the
// server's own default — and for every encoding in which a byte 0x5c is
// always a backslash. It is not for Big5, CP932, GB2312, GBK, GB18030 and
// SJIS, whose multi-byte characters can end in 0x5c, which the server then
// reads as a character rather than an escape (an injection). The driver
// refuses interpolateParams with such a collation but not with such a
// charset; the default is off for both. A DSN that sets interpolateParams
// itself decides for itself.
func safeToInterpolate(query string, cfg *mysqldrv.Config) bool {
	names := []string{cfg.Collation}
	for _, v := range driverValues(query, "charset") {
		names = append(names, strings.Split(v, ",")...)
	}
	for _, name := range names {
		name = strings.ToLower(name)
		for _, unsafe := range []string{"big5", "cp932", "gb2312", "gbk", "gb18030", "sjis"} {
			if strings.HasPrefix(name, unsafe) {
				return false
			}
		}
	}
	return true
}

// driverSets reports whether the driver reads a setting of key from the
// DSN's query: a "key=value" part, the key as written (the driver neither
// unescapes keys nor reads a part without '='), so "?time_zone" alone or
// "?time%5Fzone=…" do not keep the time_zone default from applying.
func driverSets(query, key string) bool { return len(driverValues(query, key)) > 0 }

// driverValues returns the values of the "key=value" parts of the DSN's
// query that the driver reads as key, as written (the driver does not
// unescape them either).
func driverValues(query, key string) []string {
	var values []string
	for part := range strings.SplitSeq(query, "&") {
		if k, v, found := strings.Cut(part, "="); found && k == key {
			values = append(values, v)
		}
	}
	return values
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
