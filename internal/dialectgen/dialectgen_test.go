package dialectgen

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/procreg/procreg/backends" // the built-in dialects, registered
)

const root = "../.."

// TestTreeIsClean: the repository's own dialects pass Check (the sqlc diff
// is make generate-check's; the end-to-end tests run it too).
func TestTreeIsClean(t *testing.T) {
	findings, sum, err := Check(context.Background(), root, nil, CheckOptions{SkipSQLC: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Error(f)
	}
	if !slices.Equal(sum.Dialects, []string{"sqlite", "postgres", "mysql", "mariadb"}) || sum.Queries < 20 || sum.Migrations < 1 {
		t.Errorf("summary %+v", sum)
	}
}

// TestNewRefuses: a bad or taken name is refused before anything is written.
func TestNewRefuses(t *testing.T) {
	abs, _ := filepath.Abs(root)
	for name, base := range map[string]string{
		"Maria": "mysql", "1db": "mysql", "maria-db": "mysql", "func": "mysql", "x": "sqlite", // not a package name / scheme
		"mysql": "mysql", "sqlite": "postgres", "memory": "sqlite", "postgresql": "postgres", // exists
		"conformance": "sqlite", // a package the generated test imports
		"mariadb":     "mysql",  // exists (a dialect of the tree)
		"cockroach":   "oracle", // no such base
	} {
		_, err := New(context.Background(), NewOptions{Root: abs, Name: name, Base: base})
		var inv *InvalidError
		if !errors.As(err, &inv) {
			t.Errorf("New(%s --from %s) = %v; want a refusal", name, base, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "backends", "func")); err == nil {
		t.Error("a refused New wrote backends/func")
	}
}

func TestRequiredColumns(t *testing.T) {
	cols := RequiredColumns()
	for table, want := range map[string][]string{
		"processes": {"id", "external_ref_id", "abandon_requested_at_ms", "lease_fencing_token"},
		"events":    {"process_id", "wake_dedupe_key", "occurred_at_ms"},
		"grants":    {"scope_id", "descriptor_label"},
		"wake_acks": {"process_id", "sequence"},
	} {
		for _, c := range want {
			if !slices.Contains(cols[table], c) {
				t.Errorf("RequiredColumns()[%s] = %v; lacks %s", table, cols[table], c)
			}
		}
	}
}

func TestColumnsFollowMigrations(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "s"), 0o755)
	os.WriteFile(filepath.Join(dir, "s", "00001_init.sql"), []byte(`-- +goose Up
CREATE TABLE t (
    a TEXT NOT NULL DEFAULT '', -- a, b
    "b" INTEGER NOT NULL DEFAULT 0,
    c DECIMAL(10, 2),
    PRIMARY KEY (a, b)
);
`), 0o644)
	os.WriteFile(filepath.Join(dir, "s", "00002_more.sql"), []byte(`-- +goose Up
ALTER TABLE t ADD COLUMN d TEXT NOT NULL DEFAULT '';
ALTER TABLE t RENAME COLUMN a TO aa;
ALTER TABLE t DROP COLUMN c;
`), 0o644)
	got, err := Columns(dir, "s")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"aa", "b", "d"}; !slices.Equal(got["t"], want) {
		t.Errorf("columns of t = %v; want %v", got["t"], want)
	}
}

// TestMarkQueries: the markers go before the name line, in ASCII (sqlc's
// SQLite engine rejects a comment with a non-ASCII character before a
// query).
func TestMarkQueries(t *testing.T) {
	src := "-- LockProcess locks.\n-- name: LockProcess :one\nSELECT sqlc.embed(processes), 1 AS now_ms FROM processes WHERE id = sqlc.arg(id)\nFOR UPDATE;\n\n-- name: Other :exec\nDELETE FROM x WHERE id IN (sqlc.slice(ids));\n"
	got := markQueries("q.sql", src, "mysql")
	lines := strings.Split(got, "\n")
	if !strings.HasPrefix(lines[1], "-- "+Marker+": row locks:") || !strings.HasPrefix(lines[2], "-- "+Marker+": lease clock:") || lines[3] != "-- name: LockProcess :one" {
		t.Errorf("markers of LockProcess:\n%s", got)
	}
	if !strings.Contains(got, "-- "+Marker+": IN-lists: mysql spells the id list sqlc.slice(...)\n-- name: Other :exec") {
		t.Errorf("marker of Other:\n%s", got)
	}
	for _, r := range got {
		if r > 127 {
			t.Fatalf("non-ASCII %q in marked SQL", r)
		}
	}
}

// TestGoMarkersFindTheirAnchors: every base's marker anchors are in its
// backend (a rename there fails here, not in a colleague's New).
func TestGoMarkersFindTheirAnchors(t *testing.T) {
	for base, ms := range goMarkers {
		for _, m := range ms {
			b, err := os.ReadFile(filepath.Join(root, "backends", base, m.file))
			if err != nil {
				t.Errorf("%s: %v", base, err)
				continue
			}
			if _, err := markGo(string(b), base, m.file); err != nil {
				t.Error(err)
			}
		}
	}
}
