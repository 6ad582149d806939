package backends_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/conformance"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/testdb"
)

// Every built-in SQL dialect registers a floor that passes
// conformance.RunFloor on the database its DSN names; memory has none.
func TestFloors(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string {
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "floor.db")
			reg, err := backends.Open(context.Background(), dsn) // the floor creates no file
			if err != nil {
				t.Fatal(err)
			}
			reg.Close()
			return dsn
		}},
		{"postgres", func(t *testing.T) string { return testdb.Postgres(t).URL }},
		{"mysql", func(t *testing.T) string { return testdb.MySQL(t).URL }},
		{"mariadb", func(t *testing.T) string {
			return "mariadb://" + strings.TrimPrefix(testdb.MySQLFrom(t, "PROCREG_MARIADB_DSN").URL, "mysql://")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conformance.RunFloor(t, func(t *testing.T) driver.Floor { return conformance.OpenFloor(t, tc.dsn(t)) })
		})
	}
	if d, _ := driver.Lookup("memory:"); d.Floor != nil {
		t.Error("memory registers a floor")
	}
}

// The SQLite floor creates no database: a missing file is an error.
func TestSQLiteFloorNeedsTheFile(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "missing.db")
	d, _ := driver.Lookup(dsn)
	if f, err := d.Floor(context.Background(), dsn); err == nil {
		f.Close()
		t.Fatal("the floor of a missing SQLite file opened")
	}
}
