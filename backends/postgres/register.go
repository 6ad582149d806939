package postgres

import (
	"context"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// The postgres dialect serves "postgres://…" and "postgresql://…" (see Open).
func init() {
	driver.Register(driver.Dialect{Name: "postgres", Schemes: []string{"postgres", "postgresql"}, Usage: "postgres://user@host:port/db", Open: openDSN, Schema: schemaStatusDSN, Floor: openFloor})
}

func openDSN(ctx context.Context, dsn string, o driver.OpenOptions) (procreg.Registry, error) {
	if o.Existing {
		return Open(ctx, dsn, WithoutMigrations())
	}
	return Open(ctx, dsn)
}
