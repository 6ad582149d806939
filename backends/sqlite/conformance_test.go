package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
	"github.com/procreg/procreg/conformance"
)

// openAt opens a registry on the file at path and closes it with the test.
func openAt(t *testing.T, path string, opts ...sqlite.Option) procreg.Registry {
	t.Helper()
	reg, err := sqlite.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("sqlite.Open(%s): %v", path, err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) procreg.Registry {
		return openAt(t, filepath.Join(t.TempDir(), "procreg.db"))
	})
}

func TestConformanceDurable(t *testing.T) {
	conformance.RunDurable(t, func(t *testing.T) conformance.Opener {
		path := filepath.Join(t.TempDir(), "procreg.db")
		return func(t *testing.T) procreg.Registry {
			reg, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatalf("sqlite.Open(%s): %v", path, err)
			}
			return reg
		}
	})
}
