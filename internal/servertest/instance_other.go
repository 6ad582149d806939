//go:build !unix

package servertest

import "testing"

// PostgresBin is where the PostgreSQL 15 binaries are.
const PostgresBin = "/usr/lib/postgresql/15/bin"

// StartPostgres skips: starting a server as another user needs Unix.
func StartPostgres(t testing.TB) *Instance {
	t.Skip("servertest: server instances need a Unix system")
	return nil
}

// StartMariaDB skips: starting a server as another user needs Unix.
func StartMariaDB(t testing.TB) *Instance {
	t.Skip("servertest: server instances need a Unix system")
	return nil
}
