package cli

import "github.com/procreg/procreg/internal/redact"

// redactMask replaces a password in printed DSNs.
const redactMask = redact.Mask

// Redact hides the password of a DSN for printing, in every form a
// dialect reads one from, whether or not the DSN parses (see redact.DSN).
func Redact(dsn string) string { return redact.DSN(dsn) }
