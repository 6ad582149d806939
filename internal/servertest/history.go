package servertest

import (
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/history"
)

// Histories runs linearizability-checked histories (internal/history) on
// one fresh database (migrated by Open): 8 clients over two registries (two connection
// pools, one grouping every overlapping write: historyRegistries), until
// history.TotalOps() calls were checked.
func (b Backend) Histories(t *testing.T) {
	if testing.Short() {
		t.Skip("histories: skipped in -short mode")
	}
	// An empty database that the first Open migrates: MySQLMigrated's
	// template copy does not carry migration 00003's view yet.
	dsn := b.EmptyDatabase(t).DSN
	regs := b.historyRegistries(t, dsn)
	history.Backend(t, history.TotalOps(), func(*testing.T) []procreg.Registry { return regs })
}
