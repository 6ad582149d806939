package mysql_test

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/internal/redact"
)

// FuzzParseDSN: a DSN either parses to the configuration it spells or is
// ErrInvalid, and the error never repeats the password.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{
		"mysql://root@127.0.0.1:3306/test",
		"mysql://u%40x:p%3Aw%2F@db.example/procreg",
		"mysql://root:s3cret@[::1]:3307/t?interpolateParams=false&time_zone=%27SYSTEM%27",
		"mysql://root:s3cret@h:notaport/db",
		"mysql://root:s3cret@h/db?timeout=soon",
		"mysql://root:s3cret@h/db?%zz",
		"mysql://root:s3c/ret@h/db",
		"mysql:///nohost",
		"root:s3cret@tcp(127.0.0.1:3306)/test",
		"root:s3cret@tcp(localhost:3306)/test?interpolateParams=false",
		"root:s3cret@unix(/tmp/x.sock)/test?parseTime=maybe",
		"root:s3cret@tcp(h)/",
		"not a dsn",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			if !errors.Is(err, procreg.ErrInvalid) {
				t.Fatalf("ParseDSN(%q) error does not wrap ErrInvalid: %v", dsn, err)
			}
			if pw := passwordCandidate(dsn); pw != "" && redact.Echoes(err.Error(), dsn, pw, parseError) {
				t.Fatalf("ParseDSN(%q) error shows the password %q: %v", dsn, pw, err)
			}
			return
		}
		if cfg.Params["time_zone"] == "" {
			t.Fatalf("ParseDSN(%q) left time_zone unset", dsn)
		}
		if !strings.HasPrefix(dsn, "mysql://") {
			return
		}
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("ParseDSN accepted %q, which is not a URL: %v", dsn, err)
		}
		var user, pass string
		if u.User != nil {
			user = u.User.Username()
			pass, _ = u.User.Password()
		}
		if cfg.User != user || cfg.Passwd != pass || cfg.DBName != strings.TrimPrefix(u.Path, "/") {
			t.Fatalf("ParseDSN(%q) = user %q pass %q db %q; the URL says %q %q %q", dsn, cfg.User, cfg.Passwd, cfg.DBName, user, pass, u.Path)
		}
		if _, port, err := net.SplitHostPort(cfg.Addr); err != nil || port == "" {
			t.Fatalf("ParseDSN(%q) address %q has no port (%v)", dsn, cfg.Addr, err)
		}
	})
}

// parseError is ParseDSN's error message for dsn, "" when it parses.
func parseError(dsn string) string {
	if _, err := mysql.ParseDSN(dsn); err != nil {
		return err.Error()
	}
	return ""
}

// passwordCandidate is what a DSN would carry as its password, between the
// first ':' of its user part and the last '@' of the URL's authority or,
// in the native form, before the database name, when that text is distinctive
// (at least 4 bytes, once in the DSN); "" otherwise.
func passwordCandidate(dsn string) string {
	rest := dsn
	if r, ok := strings.CutPrefix(dsn, "mysql://"); ok {
		// The URL form: its userinfo is in the authority, which ends at
		// the first '/', '?' or '#' (an '@' after them is path or query).
		if end := strings.IndexAny(r, "/?#"); end >= 0 {
			r = r[:end]
		}
		rest = r
	} else if slash := strings.LastIndexByte(dsn, '/'); slash >= 0 {
		// The native form: user:pass@addr is what precedes the last '/'
		// (what follows is the database name and the parameters).
		rest = dsn[:slash]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return ""
	}
	_, pw, ok := strings.Cut(rest[:at], ":")
	if !ok || len(pw) < 4 || strings.Count(dsn, pw) != 1 {
		return ""
	}
	return pw
}
