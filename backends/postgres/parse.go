package postgres

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/redact"
)

// parseConfig parses a DSN for Open. A DSN pgx cannot parse is
// procreg.ErrInvalid, and the error never shows its password: pgx quotes
// the DSN in its parse errors with a best-effort redaction that misses a
// password holding ':' in a malformed URL ("postgres:/u:pa:ss@h") or a
// keyword/value "password = secret" with spaces, and its keyword/value
// errors quote fragments of the DSN as they are (`missing "=" after
// "://:secret@"`). So the DSN is redacted again (redact.DSN) before pgx's
// error is formatted, and so is every quoted fragment of the message; last,
// every password text the DSN holds is hidden wherever the message still
// repeats it (redact.Message: a URL error quotes the fragment "0000@0 0"
// of "postgres://u@h:0000@0 0", which no DSN redaction recognizes).
func parseConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) {
			pe.ConnString = redact.DSN(pe.ConnString)
		}
		return nil, fmt.Errorf("%w: postgres: parse DSN: %s", procreg.ErrInvalid, redact.Message(redactQuoted(err.Error()), dsn))
	}
	return cfg, nil
}

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// redactQuoted applies redact.DSN to every Go-quoted string in msg.
func redactQuoted(msg string) string {
	return quoted.ReplaceAllStringFunc(msg, func(q string) string {
		s, err := strconv.Unquote(q)
		if err != nil {
			return q
		}
		return strconv.Quote(redact.DSN(s))
	})
}
