package mariadb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
)

// The floor's statements (driver.Floor) are files, not sqlc queries: sqlc
// types queries against the registry's schema, and the floor's scratch
// table is not part of it (see sqlkit.FloorSQL).
//
//go:embed floor/*.sql
var floorFiles embed.FS

// openFloor opens the floor of the database dsn names with Open's
// connection settings: the DSN as ParseDSN reads it (interpolateParams,
// the session time zone and variables) and the same pool sizes. Its writes
// are transactions at the server's default isolation, as the registry's
// are; its statements are sent with their parameters interpolated, not
// prepared, as the registry's sqlc queries are.
func openFloor(ctx context.Context, dsn string) (driver.Floor, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mariadb: floor: %w", err)
	}
	sub, err := fs.Sub(floorFiles, "floor")
	if err != nil {
		return nil, err
	}
	q, err := sqlkit.ReadFloorSQL(sub)
	if err != nil {
		return nil, fmt.Errorf("mariadb: %w", err)
	}
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mariadb: floor: open: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxIdleConns(idleConns)
	// Appends are held to the UPDATE floor: an append locks and updates
	// its process row.
	return &sqlkit.DBFloor{Name: "mariadb", Writer: db, Reader: db, SQL: q, Append: driver.FloorUpdate}, nil
}
