package mariadb

import (
	"context"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// The mariadb dialect serves "mariadb://user:pass@host:port/db": the DSN
// of the mysql driver under this dialect's scheme (see baseDSN).
func init() {
	driver.Register(driver.Dialect{Name: "mariadb", Schemes: []string{"mariadb"}, Usage: "mariadb://user:pass@host:port/db", Open: openDSN})
}

func openDSN(ctx context.Context, dsn string, o driver.OpenOptions) (procreg.Registry, error) {
	dsn = baseDSN(dsn)
	if o.Existing {
		return Open(ctx, dsn, WithoutMigrations())
	}
	return Open(ctx, dsn)
}

// baseDSN spells a mariadb:// DSN the way Open (the mysql driver) parses
// it: mysql://…
func baseDSN(dsn string) string {
	if s, ok := driver.Scheme(dsn); ok && s == "mariadb" {
		return "mysql://" + driver.Rest(dsn)
	}
	return dsn
}
