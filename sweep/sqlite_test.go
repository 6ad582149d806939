package sweep_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
)

// Every sweep test also runs on SQLite, the embedded default.
func init() {
	backends = append(backends, backend{name: "sqlite", open: func(t *testing.T, c *clock) procreg.Registry {
		r, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sweep.db"), sqlite.WithClock(c.Now))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}})
}
