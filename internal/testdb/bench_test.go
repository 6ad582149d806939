package testdb_test

import (
	"context"
	"testing"

	"github.com/procreg/procreg/internal/testdb"
)

// BenchmarkProvision measures what a server test pays for its database
// before it runs: provisioning plus the migration the backend's Open runs
// (all of it on an empty database, nothing on a migrated one). Dropping the
// databases happens in b.Cleanup, outside the timing; it costs the same
// either way. Run it with a fixed count, e.g. -benchtime 20x, since every
// iteration leaves a database until the end.
func BenchmarkProvision(b *testing.B) {
	for _, d := range dialects {
		for _, v := range []struct {
			name string
			db   func(testing.TB) testdb.Database
		}{{"empty+migrate", d.empty}, {"template", d.migrated}} {
			b.Run(string(d.name)+"/"+v.name, func(b *testing.B) {
				v.db(b) // the server lookup and any template build stay out of the timing
				b.ResetTimer()
				for b.Loop() {
					db := sqlOpenTB(b, d.driver, d.dsn(b, v.db(b)))
					if _, err := d.up(context.Background(), db); err != nil {
						b.Fatal(err)
					}
					db.Close()
				}
			})
		}
	}
}
