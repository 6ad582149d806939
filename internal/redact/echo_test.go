package redact

import (
	"strings"
	"testing"
)

// A message that repeats the DSN echoes its password; one whose fixed
// wording merely contains the password's letters does not.
func TestEchoes(t *testing.T) {
	wording := func(dsn string) string { return "postgres: cannot parse " + DSN(dsn) }
	leaky := func(dsn string) string { return "postgres: cannot parse " + dsn }
	for _, c := range []struct {
		dsn, pw string
		parse   func(string) string
		want    bool
	}{
		{"://:stgr@0", "stgr", wording, false},
		{"://:stgr@0", "stgr", leaky, true},
		{"postgres://u:s3cret@h/db", "s3cret", leaky, true},
		{"postgres://u:s3cret@h/db", "s3cret", wording, false},
	} {
		if got := Echoes(c.parse(c.dsn), c.dsn, c.pw, c.parse); got != c.want {
			t.Errorf("Echoes(%q) of %q = %v; want %v", c.parse(c.dsn), c.pw, got, c.want)
		}
	}
	if !strings.Contains(wording("://:stgr@0"), "stgr") {
		t.Fatal("the first case must have the password's letters in its wording")
	}
}
