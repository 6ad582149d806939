package memory

import (
	"context"
	"fmt"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// The memory dialect serves the DSNs "memory:" and "memory://": each open
// is a new, empty registry.
func init() {
	driver.Register(driver.Dialect{Name: "memory", Schemes: []string{"memory"}, Usage: "memory:", Open: openDSN})
}

func openDSN(_ context.Context, dsn string, _ driver.OpenOptions) (procreg.Registry, error) {
	if rest := driver.Rest(dsn); rest != "" {
		return nil, fmt.Errorf("%w: memory: the DSN is \"memory:\" alone, not %q", procreg.ErrInvalid, dsn)
	}
	return New(), nil
}
