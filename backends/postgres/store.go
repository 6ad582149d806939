package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
	gen "github.com/procreg/procreg/gen/postgres"
)

// dialect names and classifies pgx errors for the generated adapter;
// leases use the database clock.
var dialect = &sqlkit.Dialect{Name: "postgres", Classify: classify}

// newTx adapts the generated queries of one transaction to driver.Tx.
func newTx(db gen.DBTX) driver.Tx { return gen.NewTx(gen.New(db), dialect) }

// transient reports errors a fresh attempt of the transaction can cure.
func transient(err error) bool { return classify(err) == driver.ClassTransient }

// pgStore is driver.Store over a pgx pool. Writes run at READ COMMITTED and
// serialize per process on the row lock LockProcess takes; reads of several
// statements run in a REPEATABLE READ, READ ONLY transaction for a
// consistent view, and reads of one statement on the pool directly.
type pgStore struct {
	pool  *pgxpool.Pool
	owned bool // Close closes the pool only when Open created it
}

var readOnly = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

func (s *pgStore) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.Retry(ctx, transient, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(ctx, newTx(tx)) })
	})
}

func (s *pgStore) Read(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.Retry(ctx, transient, func() error {
		return pgx.BeginTxFunc(ctx, s.pool, readOnly, func(tx pgx.Tx) error { return fn(ctx, newTx(tx)) })
	})
}

func (s *pgStore) ReadOne(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.ReadOne(ctx, "postgres", newTx(s.pool), fn)
}

func (s *pgStore) Tier() procreg.DurabilityTier { return procreg.TierDurable }

// Classify maps pgx errors and SQLSTATEs to the engine's error classes.
func (s *pgStore) Classify(err error) driver.ErrorClass { return classify(err) }

func classify(err error) driver.ErrorClass {
	if errors.Is(err, pgx.ErrNoRows) {
		return driver.ClassNoRows
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return driver.ClassOther
	}
	switch pe.Code { // SQLSTATE
	case "23505": // unique_violation
		return driver.ClassUniqueViolation
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return driver.ClassTransient
	case "42P01", "42703": // undefined_table, undefined_column
		return driver.ClassSchemaMissing
	}
	return driver.ClassOther
}

func (s *pgStore) Close() error {
	if s.owned {
		s.pool.Close()
	}
	return nil
}
