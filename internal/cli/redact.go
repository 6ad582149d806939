package cli

import (
	"regexp"
	"strings"
)

// redactMask replaces a password in printed DSNs (as url.URL.Redacted does).
const redactMask = "xxxxx"

// passwordParam matches a password setting in a URL query or a
// keyword/value DSN: the key (password, passwd, sslpassword, any case,
// libpq allows spaces around '='), then its value, quoted with escapes or
// up to the next separator. An unterminated quote runs to the end.
var passwordParam = regexp.MustCompile(`(?i)((?:^|[?&;\s])(?:ssl)?passw(?:or)?d\s*=\s*)('(?:[^'\\]|\\.)*(?:'|\\?$)|[^&;\s]*)`)

// Redact hides the password of a DSN for printing, in every form a
// dialect reads one from, whether or not the DSN parses (a malformed DSN
// is exactly what error messages print):
//
//   - user information, "scheme://user:PASSWORD@host" and MySQL's native
//     "user:PASSWORD@tcp(host)/db": everything between the first ':' and
//     the last '@' is masked (a password may hold '/' or '@', and the
//     parsers read up to the last '@');
//   - a password setting: "?password=…" in a URL, "password=…" (quoted or
//     not) in PostgreSQL's keyword/value form.
//
// A DSN without '@' and without a password setting is returned unchanged.
func Redact(dsn string) string {
	out := dsn
	prefix, rest := "", dsn
	if i := strings.Index(dsn, "://"); i >= 0 {
		prefix, rest = dsn[:i+3], dsn[i+3:]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if colon := strings.IndexByte(rest[:at], ':'); colon >= 0 {
			out = prefix + rest[:colon+1] + redactMask + rest[at:]
		}
	}
	return passwordParam.ReplaceAllString(out, "${1}"+redactMask)
}
