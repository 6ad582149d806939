package sqlite

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
)

// The floor's statements (driver.Floor) are files, not sqlc queries: sqlc
// types queries against the registry's schema, and the floor's scratch
// table is not part of it (see sqlkit.FloorSQL).
//
//go:embed floor/*.sql
var floorFiles embed.FS

// openFloor opens the floor of the SQLite file at path with Open's
// connection settings (defaultConfig: WAL, synchronous=FULL, the busy
// timeout, one writer connection beginning with BEGIN IMMEDIATE and the
// pool of read-only readers), on the same file. The file must exist (an
// error wrapping fs.ErrNotExist otherwise): the floor creates no database.
func openFloor(ctx context.Context, path string) (driver.Floor, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: floor: %w", err)
	}
	abs, err := checkPath(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("sqlite: floor: %w", err)
	}
	sub, err := fs.Sub(floorFiles, "floor")
	if err != nil {
		return nil, err
	}
	q, err := sqlkit.ReadFloorSQL(sub)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	c := defaultConfig()
	w, err := openDB(abs, c, true)
	if err != nil {
		return nil, err
	}
	r, err := openDB(abs, c, false)
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	// Appends are held to the INSERT floor: every write transaction holds
	// the file's one write lock anyway, and an append's own work is its
	// event row.
	return &sqlkit.DBFloor{Name: "sqlite", Writer: w, Reader: r, SQL: q, Prepared: true, Append: driver.FloorInsert}, nil
}
