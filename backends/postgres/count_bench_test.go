package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
	gen "github.com/procreg/procreg/gen/postgres"
	"github.com/procreg/procreg/internal/servertest"
	"github.com/procreg/procreg/internal/testdb"
)

// BenchmarkCountEventsThrough counts through the last of 10 and of 50,000
// matching events (servertest.CountEventsThroughBench):
//
//	go test -run '^$' -bench CountEventsThrough ./backends/postgres
func BenchmarkCountEventsThrough(b *testing.B) {
	ctx := context.Background()
	dsn := testdb.PostgresMigrated(b).DSN
	r, err := postgres.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	servertest.CountEventsThroughBench(b, r, func(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return fn(ctx, gen.NewTx(gen.New(tx), seedDialect))
		})
	})
}

// seedDialect is enough of the backend's dialect for seeding: the
// adapter asks it only whether a statement found no row.
var seedDialect = &sqlkit.Dialect{Name: "postgres", Classify: func(err error) driver.ErrorClass {
	if errors.Is(err, pgx.ErrNoRows) {
		return driver.ClassNoRows
	}
	return driver.ClassOther
}}
