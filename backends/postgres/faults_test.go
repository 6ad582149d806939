package postgres_test

import (
	"testing"

	"github.com/procreg/procreg/internal/servertest"
)

// TestFaultHistories checks histories while connections are killed
// (pg_terminate_backend) and the server restarts, on a PostgreSQL
// instance of the test's own.
func TestFaultHistories(t *testing.T) {
	backend.FaultHistories(t, servertest.Faults{
		Start:    servertest.StartPostgres,
		Database: "postgres",
		Kill:     servertest.KillPostgresConnections,
	})
}
