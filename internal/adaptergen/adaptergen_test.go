package adaptergen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/procreg/procreg/internal/adaptergen"
)

const root = "../.."

// TestAdaptersAreCurrent fails when a gen/<dialect>/adapter.go differs from
// what the generator makes of its gen package now (so `go test ./...`
// catches what `make generate-check` does).
func TestAdaptersAreCurrent(t *testing.T) {
	dialects, err := adaptergen.ReadConfig(filepath.Join(root, "sqlc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dialects) < 3 {
		t.Fatalf("sqlc.yaml has %d Go entries, want the 3 built-in ones at least: %+v", len(dialects), dialects)
	}
	stale, err := adaptergen.Stale(root, dialects)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		t.Fatalf("stale adapters %v: run 'make generate'", stale)
	}
}

// TestGenerateNamesTheMismatch: a gen package whose shapes differ from the
// driver rows is refused with the struct and field named, not turned into
// an adapter that does not compile.
func TestGenerateNamesTheMismatch(t *testing.T) {
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(root, "gen", "mysql", "*.go"))
	for _, f := range files {
		if filepath.Base(f) == adaptergen.FileName {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(b), "RowLimit  int32", "Limit     int32", 1) // RecentEventsDescParams, as sqlc names it unrenamed
		s = strings.Replace(s, "\tAbandonReason         string\n", "", 1)        // the Process model
		// A column the Event model has and no driver row does, which is
		// not one of the store's own (storageOnly, like TypeOrdinal).
		s = strings.Replace(s, "type Event struct {\n", "type Event struct {\n\tStrayColumn int64\n", 1)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := adaptergen.Generate(dir, "mysqlgen")
	if err == nil {
		t.Fatal("Generate accepted a gen package without RecentEventsDescParams.RowLimit or Process.AbandonReason")
	}
	for _, want := range []string{"RecentEventsDescParams", "rename limit: RowLimit", "Process lacks driver.ProcessRow.AbandonReason",
		"Event.StrayColumn has no field of driver.EventRow"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}
