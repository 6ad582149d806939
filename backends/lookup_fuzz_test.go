package backends_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/procreg/procreg/driver"

	_ "github.com/procreg/procreg/backends"
)

// FuzzLookup: with the built-in dialects registered, Lookup selects a
// dialect only by the DSN's own scheme or, for a DSN without one, by a
// file suffix the dialect registered.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{
		"sqlite:a.db", "SQLITE://a.db", "a.db", ".db", "memory:", "postgres://h/db", "postgresql://h/db",
		"mysql://root@h/db", "root@tcp(h)/db", `C:\x.db`, "x://y.db", "\u212Aafka:x.db", "unknown:x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		d, ok := driver.Lookup(dsn)
		if !ok {
			if d.Name != "" {
				t.Fatalf("Lookup(%q) found nothing but returned %q", dsn, d.Name)
			}
			return
		}
		if s, has := driver.Scheme(dsn); has {
			if !slices.Contains(d.Schemes, s) {
				t.Fatalf("Lookup(%q) = %s, which does not serve scheme %q", dsn, d.Name, s)
			}
			return
		}
		if strings.Contains(dsn, "://") {
			t.Fatalf("Lookup(%q) = %s for a DSN with a malformed scheme", dsn, d.Name)
		}
		if !slices.ContainsFunc(d.FileSuffixes, func(suf string) bool { return strings.HasSuffix(dsn, suf) && len(dsn) > len(suf) }) {
			t.Fatalf("Lookup(%q) = %s, whose file suffixes %q it does not end with", dsn, d.Name, d.FileSuffixes)
		}
	})
}
