package driver_test

import (
	"testing"

	"github.com/procreg/procreg/driver"
)

// TestSchemeNonASCIILetters: a DSN whose scheme holds a non-ASCII letter
// that strings.ToLower maps to ASCII ("sqlİte:x.db", the Kelvin sign in
// "\u212Aafka:") has no scheme; Scheme used to report "sqlite", and Rest
// then cut the DSN at the wrong byte (":x.db"). Found by FuzzSchemeRest.
func TestSchemeNonASCIILetters(t *testing.T) {
	for _, dsn := range []string{"sql\u0130te:x.db", "\u212Aafka:x", "1ab:x"} {
		if s, ok := driver.Scheme(dsn); ok || s != "" {
			t.Errorf("Scheme(%q) = %q, %v; want none", dsn, s, ok)
		}
		if r := driver.Rest(dsn); r != dsn {
			t.Errorf("Rest(%q) = %q, want the DSN unchanged", dsn, r)
		}
	}
	if _, ok := driver.Lookup("sql\u0130te:x.db"); ok {
		t.Errorf("Lookup selected a dialect for a DSN whose scheme is not ASCII")
	}
}
