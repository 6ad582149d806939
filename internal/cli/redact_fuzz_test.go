package cli

// The fuzz target of the DSN redaction. It names the function once
// (redactUnderTest), so that it is easy to re-point when the redaction
// moves.

import (
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/procreg/procreg/backends/mysql"
)

var redactUnderTest = Redact

// FuzzRedact: whatever password any parser would read from a DSN (the URL
// userinfo, MySQL's native user:pass@tcp(…), PostgreSQL's password=
// keyword or ?password= parameter) never appears in the redacted text.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"postgres://postgres:s3cret@127.0.0.1:5432/test?sslmode=disable",
		"postgres://u@h/db?password=s3cret",
		"postgres://u@h/db?sslmode=disable&PASSWORD=s3cret",
		"host=h user=u password=s3cret dbname=d",
		"host=h password = 's3 cret\\' x' dbname=d",
		"mysql://root:s3cret@127.0.0.1:3306/test",
		"mysql://root:s3cret@h:notaport/db",
		"mysql://root:s3/cret@h/db",
		"root:s3cret@tcp(127.0.0.1:3306)/test",
		"root:s3@cret@tcp(h)/db?x=@",
		"sqlite:/tmp/a.db", "memory:", "x.db", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		out := redactUnderTest(dsn)
		for _, pw := range passwords(dsn) {
			if secret(dsn, pw) && strings.Contains(out, pw) {
				t.Fatalf("Redact(%q) = %q shows the password %q", dsn, out, pw)
			}
		}
		if strings.ContainsAny(dsn, "@=") {
			return
		}
		// Nothing to hide: the DSN is printed as it is.
		if out != dsn {
			t.Fatalf("Redact(%q) = %q changed a DSN without a password", dsn, out)
		}
	})
}

// passwords are the passwords procreg's parsers read from dsn (the
// environment aside): the URL's, MySQL's (which reads every DSN but a
// mysql:// URL in its native form), PostgreSQL's (every DSN but a MySQL
// one: a URL or keyword/value).
func passwords(dsn string) []string {
	var pws []string
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			pws = append(pws, p)
		}
	}
	// MySQL reads the DSNs the mysql dialect is given (mysql: and native
	// ones, which have no registered scheme), not sqlite:, memory: or
	// postgres: ones.
	if head, _, _ := strings.Cut(strings.ToLower(dsn), ":"); len(head) > 1 && head != "sqlite" && head != "memory" && head != "postgres" && head != "postgresql" {
		if cfg, err := mysql.ParseDSN(dsn); err == nil {
			pws = append(pws, cfg.Passwd)
		}
	}
	if head, _, _ := strings.Cut(strings.ToLower(dsn), ":"); head != "mysql" && head != "sqlite" && head != "memory" {
		if cfg, err := pgconn.ParseConfig(dsn); err == nil {
			pws = append(pws, cfg.Password)
		}
	}
	return pws
}

// secret reports whether pw is distinctive enough to look for: four bytes
// or more, once in the DSN, and not part of the mask.
func secret(dsn, pw string) bool {
	return len(pw) >= 4 && strings.Count(dsn, pw) == 1 && !strings.Contains(redactMask, pw)
}
