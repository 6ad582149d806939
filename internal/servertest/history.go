package servertest

import (
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/history"
)

// Histories runs linearizability-checked histories (internal/history) on
// one fresh database (migrated by Open): 8 clients over two registries (two connection
// pools), until history.TotalOps() calls were checked.
func (b Backend) Histories(t *testing.T) {
	if testing.Short() {
		t.Skip("histories: skipped in -short mode")
	}
	// An empty database that the first Open migrates: MySQLMigrated's
	// template copy does not carry migration 00003's view yet.
	dsn := b.EmptyDatabase(t).DSN
	var regs []procreg.Registry
	for range 2 {
		r := b.Open(t, dsn, nil)
		t.Cleanup(func() { _ = r.Close() })
		regs = append(regs, r)
	}
	history.Backend(t, history.TotalOps(), func(*testing.T) []procreg.Registry { return regs })
}
