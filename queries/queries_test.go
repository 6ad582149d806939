// Package queries holds the SQL that sqlc compiles into gen/<dialect>:
// shared/ is portable SQL built for every dialect, and sqlite/, postgres/
// and mysql/ hold what each dialect spells its own way. A file of sqlite/
// that another dialect spells the same is listed for it by path in
// sqlc.yaml (upsert.sql and limit.sql for PostgreSQL, inlist.sql for
// MySQL) rather than copied. This package has no Go code of its own; its
// test keeps the dialects in step, with the checks of `procreg dialect
// check` (internal/dialectgen).
package queries

import (
	"testing"

	"github.com/procreg/procreg/internal/dialectgen"
)

// TestDialectsDeclareTheSameQueries fails when a query is compiled for one
// dialect but not for another, when the files of one dialect declare a
// name twice (sqlc would reject the duplicate anyway, but say it plainly),
// or when a directory under queries/ is neither shared nor one dialect's
// (sharing beyond that is a file listed by path in sqlc.yaml).
func TestDialectsDeclareTheSameQueries(t *testing.T) {
	cfg, err := dialectgen.ReadConfig("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range dialectgen.QueryFindings(cfg) {
		t.Error(f)
	}
	b, ok := cfg.Block("sqlite")
	if !ok {
		t.Fatal("sqlc.yaml has no sqlite block")
	}
	if st, err := cfg.Queries(b); err != nil || len(st) < 20 {
		t.Fatalf("found %d queries for sqlite in %v: %v", len(st), b.Queries, err)
	}
}
