package postgres

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/redact"
)

// FuzzDSN: Open's DSN handling without a server. A DSN pgx cannot parse is
// ErrInvalid and its error never repeats the password; one it parses has
// pool_max_conns honoured exactly when it sets it (hasPoolMaxConns agrees
// with pgx about whether the DSN names pool_max_conns).
func FuzzDSN(f *testing.F) {
	for _, s := range []string{
		"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"postgresql://u:s3cret@h1,h2:5433/db?pool_max_conns=7",
		"postgres://u:s3cret@h/db?pool_max_conns=0",
		"postgres://u:s3cret@h:notaport/db",
		"postgres://u:s3cret@h/db?sslmode=bogus",
		"host=h user=u password=s3cret dbname=d pool_max_conns=3",
		"host=h password='s3 cret' pool_max_conns = 5",
		"host=h password=s3cret sslmode=bogus",
		"host=h password='s3cret",
		"POSTGRES://u:s3cret@h/db?pool_max_conns=9",
		"postgres:/u:pa:s3cret@h/db",
		"host=h password = s3cret port=x",
	} {
		f.Add(s)
	}
	if os.Getenv("PGPASSWORD") != "" || os.Getenv("PGSERVICE") != "" {
		f.Skip("PGPASSWORD/PGSERVICE would feed pgx a password the DSN does not hold")
	}
	def := int32(max(4, runtime.NumCPU()))
	f.Fuzz(func(t *testing.T, dsn string) {
		cfg, err := parseConfig(dsn)
		if err != nil {
			if !errors.Is(err, procreg.ErrInvalid) {
				t.Fatalf("the parse error of %q is not ErrInvalid: %v", dsn, err)
			}
			if pw := dsnPassword(dsn); pw != "" && redact.Echoes(err.Error(), dsn, pw, parseError) {
				t.Fatalf("the parse error of %q shows the password %q: %v", dsn, pw, err)
			}
			return
		}
		// pgx itself defaults MaxConns to max(4, NumCPU); anything else was
		// read from the DSN, so Open must not override it.
		if cfg.MaxConns != def && !hasPoolMaxConns(dsn) {
			t.Fatalf("%q sets pool_max_conns=%d, but hasPoolMaxConns says it does not", dsn, cfg.MaxConns)
		}
	})
}

// parseError is parseConfig's error message for dsn, "" when it parses.
func parseError(dsn string) string {
	if _, err := parseConfig(dsn); err != nil {
		return err.Error()
	}
	return ""
}

// dsnPassword is a distinctive password the DSN spells (URL userinfo or a
// password= keyword), or "".
func dsnPassword(dsn string) string {
	var pw string
	if _, rest, ok := strings.Cut(dsn, "://"); ok {
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			_, pw, _ = strings.Cut(rest[:at], ":")
		}
	} else if _, v, ok := strings.Cut(dsn, "password="); ok {
		pw, _, _ = strings.Cut(strings.Trim(v, "'"), " ")
	}
	if len(pw) < 4 || strings.Count(dsn, pw) != 1 {
		return ""
	}
	return pw
}
