// Package queries holds the SQL that sqlc compiles into gen/<dialect>:
// shared/ is portable SQL built for every dialect, onconflict/ and inlist/
// are shared by two dialects each, and sqlite/, postgres/ and mysql/ hold
// the statements only that dialect spells its way (sqlc.yaml maps the
// directories to dialects). This package has no Go code of its own; its
// test keeps the dialects in step.
package queries

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/procreg/procreg/internal/servertest"
)

var nameLine = regexp.MustCompile(`(?m)^--\s*name:\s*(\w+)\s`)

// queryNames returns the query names declared in a directory's .sql files.
func queryNames(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range nameLine.FindAllSubmatch(b, -1) {
			names = append(names, string(m[1]))
		}
	}
	return names
}

// dialectDirs maps each engine in sqlc.yaml to its query directories.
func dialectDirs(t *testing.T) map[string][]string {
	out := map[string][]string{}
	for _, e := range []string{"sqlite", "postgresql", "mysql"} {
		out[e] = servertest.QueryDirs(t, e)
	}
	return out
}

// TestDialectsDeclareTheSameQueries fails when a query is compiled for one
// dialect but not for another, or when one dialect's directories declare a
// name twice (sqlc would reject the duplicate anyway, but say it plainly).
func TestDialectsDeclareTheSameQueries(t *testing.T) {
	dirs := dialectDirs(t)
	names := map[string][]string{}
	for engine, ds := range dirs {
		for _, d := range ds {
			names[engine] = append(names[engine], queryNames(t, d)...)
		}
		slices.Sort(names[engine])
		if c := slices.Compact(slices.Clone(names[engine])); len(c) != len(names[engine]) {
			t.Errorf("%s: a query name is declared twice across %v", engine, ds)
		}
	}
	want := names["sqlite"]
	if len(want) == 0 {
		t.Fatalf("no queries found for sqlite in %v", dirs["sqlite"])
	}
	for engine, got := range names {
		for _, n := range want {
			if !slices.Contains(got, n) {
				t.Errorf("query %s is compiled for sqlite but not for %s", n, engine)
			}
		}
		for _, n := range got {
			if !slices.Contains(want, n) {
				t.Errorf("query %s is compiled for %s but not for sqlite", n, engine)
			}
		}
	}
}
