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

// Message hides a DSN's password wherever an error repeats it, also inside
// a fragment no DSN redaction recognizes.
func TestMessageHidesPasswordFragments(t *testing.T) {
	for _, c := range []struct{ msg, dsn, secret string }{
		{`failed to parse as URL (unexpected spaces found in "0000@0 0")`, "postgres://0@0:0000@0 0", "0000"},
		{`cannot parse "host=h password='s3 cret'"`, "host=h password='s3 cret'", "s3 cret"},
		{`bad "pa:ss@h"`, "user:pa:ss@tcp(h)/db", "pa:ss"},
	} {
		got := Message(c.msg, c.dsn)
		if strings.Contains(got, c.secret) || !strings.Contains(got, Mask) {
			t.Errorf("Message(%q, %q) = %q; want %q hidden", c.msg, c.dsn, got, c.secret)
		}
	}
	if got := Message("no password here", "postgres://u@h/db"); got != "no password here" {
		t.Errorf("Message without a password changed the message: %q", got)
	}
}
