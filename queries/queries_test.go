// Package queries holds the SQL that sqlc compiles into gen/<dialect>:
// shared/ is portable SQL built for every dialect, onconflict/ and inlist/
// are shared by two dialects each, and sqlite/, postgres/ and mysql/ hold
// the statements only that dialect spells its way (sqlc.yaml maps the
// directories to dialects). This package has no Go code of its own; its
// test keeps the dialects in step.
package queries

import (
	"slices"
	"testing"

	"github.com/procreg/procreg/internal/servertest"
)

// TestDialectsDeclareTheSameQueries fails when a query is compiled for one
// dialect but not for another, or when one dialect's directories declare a
// name twice (sqlc would reject the duplicate anyway, but say it plainly).
func TestDialectsDeclareTheSameQueries(t *testing.T) {
	names := map[string][]string{}
	for _, engine := range []string{"sqlite", "postgresql", "mysql"} {
		for _, q := range servertest.ReadQueries(t, engine) {
			names[engine] = append(names[engine], q.Name)
		}
		slices.Sort(names[engine])
		if c := slices.Compact(slices.Clone(names[engine])); len(c) != len(names[engine]) {
			t.Errorf("%s: a query name is declared twice across %v", engine, servertest.QueryDirs(t, engine))
		}
	}
	want := names["sqlite"]
	if len(want) == 0 {
		t.Fatalf("no queries found for sqlite in %v", servertest.QueryDirs(t, "sqlite"))
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
