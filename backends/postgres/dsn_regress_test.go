package postgres

import (
	"strings"
	"testing"
)

// TestHasPoolMaxConnsSpacedKeyword: libpq's keyword/value syntax allows
// spaces around '=', and pgx honours "pool_max_conns = 5"; hasPoolMaxConns
// used to split on spaces and missed it, so Open replaced the caller's
// pool size with its default. Found by FuzzDSN.
func TestHasPoolMaxConnsSpacedKeyword(t *testing.T) {
	for dsn, want := range map[string]bool{
		"host=h password='s3 cret' pool_max_conns = 5":            true,
		"host=h pool_max_conns='6'":                               true,
		"host=h pool_max_conns=7":                                 true,
		"postgres://u@h/db?pool_max_conns=8":                      true,
		"postgresql://u@h/db?sslmode=disable&pool_max_conns=9":    true,
		"host=h application_name='pool_max_conns=3'":              false,
		"postgres://u@h/pool_max_conns=3":                         false,
		"postgres://postgres@127.0.0.1:5432/test?sslmode=disable": false,
	} {
		if got := hasPoolMaxConns(dsn); got != want {
			t.Errorf("hasPoolMaxConns(%q) = %v, want %v", dsn, got, want)
		}
	}
}

// TestParseErrorHidesPassword: Open's parse error quoted the DSN through
// pgx's best-effort redaction, which shows a password holding ':' in a
// malformed URL and a keyword/value "password = …" written with spaces.
// and pgx quotes DSN fragments in its keyword/value errors unredacted.
// Found by FuzzDSN (testdata/fuzz/FuzzDSN/password_with_colon,
// quoted_fragment).
func TestParseErrorHidesPassword(t *testing.T) {
	for _, dsn := range []string{"://0:000000000000000:@", "://:s3cret@ 0=", "postgres:/u:pa:s3cret@h/db", "host=h password = s3cret port=x"} {
		_, err := parseConfig(dsn)
		if err == nil {
			t.Fatalf("parseConfig(%q) succeeded", dsn)
		}
		for _, pw := range []string{"000000000000000", "s3cret", "pa:"} {
			if strings.Contains(err.Error(), pw) {
				t.Errorf("parseConfig(%q): the error shows %q: %v", dsn, pw, err)
			}
		}
	}
}
