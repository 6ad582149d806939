// Package queries holds the SQL that sqlc compiles into gen/<dialect>:
// shared/ is portable SQL built for every dialect, and sqlite/, postgres/
// and mysql/ hold the few statements that differ. This package has no Go
// code of its own; its test keeps the dialect directories in step.
package queries

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

var nameLine = regexp.MustCompile(`(?m)^--\s*name:\s*(\w+)\s`)

// queryNames returns the sorted query names declared in a directory's .sql files.
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
	slices.Sort(names)
	return names
}

// TestDialectsDeclareTheSameQueries fails when a query exists in one
// dialect directory but not in the others, or when a dialect redeclares a
// shared query (sqlc would reject the duplicate anyway, but say it plainly).
func TestDialectsDeclareTheSameQueries(t *testing.T) {
	dialects := []string{"sqlite", "postgres", "mysql"}
	want := queryNames(t, dialects[0])
	if len(want) == 0 {
		t.Fatalf("no queries found in %s", dialects[0])
	}
	for _, d := range dialects[1:] {
		got := queryNames(t, d)
		for _, n := range want {
			if !slices.Contains(got, n) {
				t.Errorf("query %s is in queries/%s but not in queries/%s", n, dialects[0], d)
			}
		}
		for _, n := range got {
			if !slices.Contains(want, n) {
				t.Errorf("query %s is in queries/%s but not in queries/%s", n, d, dialects[0])
			}
		}
	}
	shared := queryNames(t, "shared")
	for _, d := range dialects {
		for _, n := range queryNames(t, d) {
			if slices.Contains(shared, n) {
				t.Errorf("query %s is in both queries/shared and queries/%s", n, d)
			}
		}
	}
	if dup := slices.Compact(slices.Clone(shared)); len(dup) != len(shared) {
		t.Errorf("queries/shared declares a name twice")
	}
}
