package backends_test

import (
	"context"
	"strings"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// TestOpenServerDSNs opens each server database through every URL spelling
// backends.Open accepts and checks that they all reach the same database.
func TestOpenServerDSNs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		database func(testing.TB) testdb.Database
		spell    func(url string) []string
	}{
		{"postgres", testdb.PostgresMigrated, func(u string) []string {
			rest := strings.TrimPrefix(u, "postgres://")
			return []string{"postgres://" + rest, "postgresql://" + rest}
		}},
		{"mysql", testdb.MySQLMigrated, func(u string) []string { return []string{u} }},
		{"mariadb", func(tb testing.TB) testdb.Database { return testdb.MySQLFrom(tb, "PROCREG_MARIADB_DSN") },
			func(u string) []string { return []string{"mariadb://" + strings.TrimPrefix(u, "mysql://")} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dsns := tc.spell(tc.database(t).URL)
			for i, dsn := range dsns {
				reg, err := backends.Open(ctx, dsn)
				if err != nil {
					t.Fatalf("Open(%q): %v", dsn, err)
				}
				if got := reg.DurabilityTier(); got != procreg.TierDurable {
					t.Errorf("Open(%q) tier = %v, want TierDurable", dsn, got)
				}
				id := "opened-" + strings.SplitN(dsn, ":", 2)[0]
				if _, err := reg.RegisterProcess(ctx, procreg.Registration{
					ID:          id,
					Input:       procreg.ProcessInput{Kind: procreg.InputExternal, Payload: []byte(`{"label":"x"}`)},
					Disposition: procreg.DispositionExternallyOwned,
				}); err != nil {
					t.Fatalf("RegisterProcess via %q: %v", dsn, err)
				}
				// Every spelling sees what the earlier ones wrote.
				all, err := reg.ListProcesses(ctx, procreg.ListFilter{})
				if err != nil {
					t.Fatal(err)
				}
				if len(all) != i+1 {
					t.Errorf("Open(%q) lists %d processes, want %d (the same database for every spelling)", dsn, len(all), i+1)
				}
				if err := reg.Close(); err != nil {
					t.Errorf("Close(%q): %v", dsn, err)
				}
			}
		})
	}
}
