package mariadb_test

import (
	"testing"

	"github.com/procreg/procreg/internal/servertest"
)

// TestFaultHistories checks histories while connections are killed
// (KILL CONNECTION) and the server restarts, on a MariaDB instance of the
// test's own (ported from the mysql dialect's test).
func TestFaultHistories(t *testing.T) {
	backend.FaultHistories(t, servertest.Faults{
		Start:    servertest.StartMariaDB,
		Database: "procreg",
		Kill:     servertest.KillMySQLConnections,
	})
}
