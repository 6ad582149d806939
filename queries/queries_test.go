// Package queries holds the SQL that sqlc compiles into gen/<dialect>:
// shared/ is portable SQL built for every dialect, and sqlite/, postgres/
// and mysql/ hold what each dialect spells its own way. A file of sqlite/
// that another dialect spells the same is listed for it by path in
// sqlc.yaml (upsert.sql and limit.sql for PostgreSQL, inlist.sql for
// MySQL) rather than copied. This package has no Go code of its own; its
// test keeps the dialects in step.
package queries

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/procreg/procreg/internal/servertest"
)

// dialectOnly are the queries one dialect alone declares, with that
// dialect: the adapter generator emits their calls only where they exist.
var dialectOnly = map[string]string{
	// The commit-ordered change counter that stamps the change feed on
	// MySQL (schema/mysql/00003_changes.sql); the other dialects stamp in
	// the row write itself.
	"BumpChangeCounter": "mysql",
}

// TestDialectsDeclareTheSameQueries fails when a query is compiled for one
// dialect but not for another (dialectOnly aside), or when the files of one
// dialect declare a name twice (sqlc would reject the duplicate anyway, but
// say it plainly).
func TestDialectsDeclareTheSameQueries(t *testing.T) {
	names := map[string][]string{}
	for _, engine := range []string{"sqlite", "postgresql", "mysql"} {
		for _, q := range servertest.ReadQueries(t, engine) {
			if only, ok := dialectOnly[q.Name]; ok {
				if only != engine {
					t.Errorf("query %s is declared for %s; only %s may declare it", q.Name, engine, only)
				}
				continue
			}
			names[engine] = append(names[engine], q.Name)
		}
		slices.Sort(names[engine])
		if c := slices.Compact(slices.Clone(names[engine])); len(c) != len(names[engine]) {
			t.Errorf("%s: a query name is declared twice across %v", engine, servertest.QueryPaths(t, engine))
		}
	}
	want := names["sqlite"]
	if len(want) == 0 {
		t.Fatalf("no queries found for sqlite in %v", servertest.QueryPaths(t, "sqlite"))
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

// TestEveryDirectoryIsSharedOrOneDialect keeps the naming scheme: sqlc.yaml
// compiles shared/ for every dialect and each other directory for exactly
// one, the dialect it names; sharing beyond that is a file listed by path.
func TestEveryDirectoryIsSharedOrOneDialect(t *testing.T) {
	engines := []string{"sqlite", "postgresql", "mysql"}
	users := map[string][]string{} // directory -> engines compiling it whole
	for _, engine := range engines {
		for _, p := range servertest.QueryPaths(t, engine) {
			if filepath.Ext(p) != ".sql" {
				users[filepath.Base(p)] = append(users[filepath.Base(p)], engine)
			}
		}
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		switch got := users[e.Name()]; {
		case e.Name() == "shared":
			if !slices.Equal(got, engines) {
				t.Errorf("queries/shared is compiled for %v; want every dialect %v", got, engines)
			}
		case len(got) != 1:
			t.Errorf("queries/%s is compiled whole for %v; a directory other than shared belongs to one dialect (list a file by path to share it)", e.Name(), got)
		}
	}
}
