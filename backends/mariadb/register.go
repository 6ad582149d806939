package mariadb

import (
	"context"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// The mariadb dialect serves "mariadb://user:pass@host:port/db" (see
// ParseDSN).
func init() {
	driver.Register(driver.Dialect{Name: "mariadb", Schemes: []string{"mariadb"}, Usage: "mariadb://user:pass@host:port/db", Open: openDSN, Schema: schemaStatusDSN, Floor: openFloor})
}

func openDSN(ctx context.Context, dsn string, o driver.OpenOptions) (procreg.Registry, error) {
	if o.Existing {
		return Open(ctx, dsn, WithoutMigrations())
	}
	return Open(ctx, dsn)
}
