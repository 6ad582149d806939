package redact

import (
	"strings"
	"unicode"
)

// Echoes reports whether msg, the error a DSN parser returned for dsn,
// shows pw, the password dsn spells: whether msg holds pw more often than
// the error of the same DSN whose password has other letters and digits
// (parse returns it; "" when that DSN parses). An occurrence both messages
// have is their own wording — the password "stgr" inside "postgres" — not
// the DSN's password. The fuzz tests of the DSN parsers use it.
func Echoes(msg, dsn, pw string, parse func(dsn string) string) bool {
	other := strings.Map(func(r rune) rune {
		switch {
		case r == 'Q':
			return 'W'
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			return 'Q'
		}
		return r
	}, pw)
	return strings.Count(msg, pw) > strings.Count(parse(strings.Replace(dsn, pw, other, 1)), pw)
}
