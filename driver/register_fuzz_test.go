package driver_test

import (
	"strings"
	"testing"

	"github.com/procreg/procreg/driver"
)

// FuzzSchemeRest: Scheme finds the DSN's own leading scheme (lower-cased,
// at least two characters, followed by ':'), and Rest is exactly what
// follows it (minus one "//"), so scheme + ":" + "//"? + rest spells the
// DSN again.
func FuzzSchemeRest(f *testing.F) {
	for _, s := range []string{
		"sqlite:a.db", "sqlite://a.db", "SQLite:///abs/a.db", "postgres://u:p@h/db", "memory:",
		`C:\data\x.db`, "x.db", "a+b-c.d:rest", "1ab:x", ":x", "ab", "ab:", "h:1234",
		"\u212Aafka:x", "İx:y", "mysql:////x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		s, ok := driver.Scheme(dsn)
		rest := driver.Rest(dsn)
		if !ok {
			if s != "" || rest != dsn {
				t.Fatalf("no scheme in %q, yet Scheme = %q and Rest = %q", dsn, s, rest)
			}
			return
		}
		if len(s) < 2 || strings.ContainsRune(s, ':') || s != strings.ToLower(s) {
			t.Fatalf("Scheme(%q) = %q, not a lower-case scheme", dsn, s)
		}
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
				t.Fatalf("Scheme(%q) = %q holds %q", dsn, s, r)
			}
		}
		head, _, found := strings.Cut(dsn, ":")
		if !found || !strings.EqualFold(head, s) || len(head) != len(s) {
			t.Fatalf("Scheme(%q) = %q is not the text before its first ':' (%q)", dsn, s, head)
		}
		if dsn != head+":"+rest && dsn != head+"://"+rest {
			t.Fatalf("Rest(%q) = %q does not spell the DSN after its scheme %q", dsn, rest, head)
		}
	})
}
