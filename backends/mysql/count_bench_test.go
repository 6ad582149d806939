package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
	gen "github.com/procreg/procreg/gen/mysql"
	"github.com/procreg/procreg/internal/servertest"
	"github.com/procreg/procreg/internal/testdb"
)

// BenchmarkCountEventsThrough counts through the last of 10 and of 50,000
// matching events (servertest.CountEventsThroughBench):
//
//	go test -run '^$' -bench CountEventsThrough ./backends/mysql
func BenchmarkCountEventsThrough(b *testing.B) {
	ctx := context.Background()
	dsn := testdb.MySQLMigrated(b).DSN
	r, err := mysql.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	servertest.CountEventsThroughBench(b, r, func(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := fn(ctx, gen.NewTx(gen.New(tx), seedDialect)); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// seedDialect is enough of the backend's dialect for seeding: the
// adapter asks it only whether a statement found no row.
var seedDialect = &sqlkit.Dialect{Name: "mysql", Classify: func(err error) driver.ErrorClass {
	if errors.Is(err, sql.ErrNoRows) {
		return driver.ClassNoRows
	}
	return driver.ClassOther
}}
