package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/redact"
)

// parseConfig parses a DSN for Open. A DSN pgx cannot parse is
// procreg.ErrInvalid, and the error never shows its password: pgx quotes
// the DSN in its parse errors with a best-effort redaction that misses a
// password holding ':' in a malformed URL ("postgres:/u:pa:ss@h") or a
// keyword/value "password = secret" with spaces, so the DSN is redacted
// again here (redact.DSN) before pgx's error is formatted.
func parseConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) {
			pe.ConnString = redact.DSN(pe.ConnString)
		}
		return nil, fmt.Errorf("%w: postgres: parse DSN: %w", procreg.ErrInvalid, err)
	}
	return cfg, nil
}
