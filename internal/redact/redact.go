// Package redact hides the passwords of DSNs for printing: the CLI's
// messages and the backends' parse errors use it.
package redact

import (
	"regexp"
	"slices"
	"strings"
)

// Mask replaces a password in printed DSNs (as url.URL.Redacted does).
const Mask = "xxxxx"

// passwordParam matches a password setting in a URL query or a
// keyword/value DSN: the key (password, passwd, sslpassword, any case,
// libpq allows spaces around '='), then its value, quoted with escapes or
// up to the next separator. An unterminated quote runs to the end.
var passwordParam = regexp.MustCompile(`(?i)((?:^|[?&;\s])(?:ssl)?passw(?:or)?d\s*=\s*)('(?:[^'\\]|\\.)*(?:'|\\?$)|[^&;\s]*)`)

// DSN hides the password of a DSN for printing, in every form a
// dialect reads one from, whether or not the DSN parses (a malformed DSN
// is exactly what error messages print):
//
//   - URL user information, "scheme://user:PASSWORD@host": everything
//     between the first ':' after "//" and the last '@' is masked (a
//     password may hold '/' or '@');
//   - MySQL's native form, "user:PASSWORD@tcp(host)/db", for any DSN that
//     is not a mysql://, postgres:// or postgresql:// URL (those are only
//     ever read as URLs) and not a sqlite: or memory: DSN or a Windows
//     path: everything between the first ':' and the last '@' (this also
//     covers a malformed "postgres:/user:PASSWORD@host");
//   - a password setting: "?password=…" in a URL, "password=…" (quoted or
//     not) in PostgreSQL's keyword/value form.
//
// A DSN without '@' and without a password setting is returned unchanged.
func DSN(dsn string) string {
	out := dsn
	if i := strings.Index(dsn, "://"); i >= 0 {
		prefix, rest := dsn[:i+3], dsn[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if colon := strings.IndexByte(rest[:at], ':'); colon >= 0 {
				out = prefix + rest[:colon+1] + Mask + rest[at:]
			}
		}
	}
	if out == dsn && !urlOnly(dsn) && !noNativeForm(dsn) {
		if colon, at := strings.IndexByte(dsn, ':'), strings.LastIndexByte(dsn, '@'); colon >= 0 && at > colon {
			out = dsn[:colon+1] + Mask + dsn[at:]
		}
	}
	return passwordParam.ReplaceAllString(out, "${1}"+Mask)
}

// Message hides, in msg (an error a parser returned for dsn), every
// password dsn holds — the texts DSN masks — wherever msg repeats it:
// parsers quote the fragments of a DSN they cannot read, and a fragment
// can hold the password ("unexpected spaces found in "s3cret@h x"").
// It may hide more than the password (the same text elsewhere in msg),
// never less.
func Message(msg, dsn string) string {
	for _, s := range secrets(dsn) {
		if s != "" && s != Mask {
			msg = strings.ReplaceAll(msg, s, Mask)
		}
	}
	return msg
}

// secrets returns the texts DSN masks in dsn (a quoted password setting
// both with and without its quotes), longest first.
func secrets(dsn string) []string {
	var out []string
	userinfo := false
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if colon := strings.IndexByte(rest[:at], ':'); colon >= 0 {
				out, userinfo = append(out, rest[colon+1:at]), true
			}
		}
	}
	if !userinfo && !urlOnly(dsn) && !noNativeForm(dsn) {
		if colon, at := strings.IndexByte(dsn, ':'), strings.LastIndexByte(dsn, '@'); colon >= 0 && at > colon {
			out = append(out, dsn[colon+1:at])
		}
	}
	for _, m := range passwordParam.FindAllStringSubmatch(dsn, -1) {
		out = append(out, m[2], strings.Trim(m[2], "'"))
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// urlOnly reports a DSN that its parser reads only as a URL (so not in
// MySQL's native user:pass@… form).
func urlOnly(dsn string) bool {
	for _, p := range []string{"mysql://", "postgres://", "postgresql://"} {
		if strings.HasPrefix(dsn, p) {
			return true
		}
	}
	return false
}

// noNativeForm reports a DSN whose text after the first ':' is a file
// path, not user information: sqlite: and memory: (a SQLite path may hold
// '@': "sqlite:/tmp/a@b.db"), or a path with a drive letter ("C:\\a@b.db").
func noNativeForm(dsn string) bool {
	head, _, _ := strings.Cut(dsn, ":")
	if len(head) < 2 {
		return true
	}
	switch strings.ToLower(head) {
	case "sqlite", "memory":
		return true
	}
	return false
}
