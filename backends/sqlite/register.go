package sqlite

import (
	"context"
	"fmt"
	"os"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// The sqlite dialect serves "sqlite:<path>", "sqlite:///abs/path",
// "sqlite://rel/path" and a bare path ending in ".db".
func init() {
	driver.Register(driver.Dialect{
		Name:         "sqlite",
		Schemes:      []string{"sqlite"},
		FileSuffixes: []string{".db"},
		Usage:        "sqlite:<path>, <path>.db",
		Open:         openDSN,
		Schema: func(ctx context.Context, dsn string) (driver.SchemaStatus, error) {
			return SchemaStatus(ctx, driver.Rest(dsn))
		},
		Floor: func(ctx context.Context, dsn string) (driver.Floor, error) {
			return openFloor(ctx, driver.Rest(dsn))
		},
	})
}

func openDSN(ctx context.Context, dsn string, o driver.OpenOptions) (procreg.Registry, error) {
	path := driver.Rest(dsn)
	if !o.Existing {
		return Open(ctx, path)
	}
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("sqlite: open existing database %q: %w", path, err)
		}
	}
	return Open(ctx, path, WithoutMigrations())
}
