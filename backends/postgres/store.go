package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg"
	gen "github.com/procreg/procreg/gen/postgres"
	"github.com/procreg/procreg/internal/sqladapter"
	"github.com/procreg/procreg/internal/store"
)

// dialect classifies pgx errors for the shared adapter.
var dialect = &sqladapter.Dialect{
	Name:              "postgres",
	IsNoRows:          func(err error) bool { return errors.Is(err, pgx.ErrNoRows) },
	IsUniqueViolation: func(err error) bool { return sqlState(err) == "23505" },
}

// adapter is the shared store.Tx implementation bound to gen/postgres.
var adapter = sqladapter.Bind[gen.Process, gen.Event, gen.Grant, gen.LockProcessRow, gen.ListGrantsByScopeRow,
	gen.InsertProcessParams, gen.UpdateProcessParams, gen.InsertEventParams, gen.UpsertGrantParams,
	gen.EventByReplayKeyParams, gen.EventsAfterParams, gen.WakeEventsAfterParams,
	gen.CountEventsThroughParams, gen.RecentEventsDescParams, gen.InsertWakeAckParams,
	gen.GetGrantParams, gen.DeleteGrantParams, gen.PruneCandidatesParams,
	gen.ListProcessesByStatusWaitingParams, gen.ListProcessesByDefinitionStatusParams,
	gen.ListProcessesByDefinitionWaitingParams, gen.ListProcessesByDefinitionStatusWaitingParams, int32, *gen.Queries,
](dialect)

// newTx adapts the generated queries of one transaction to store.Tx.
func newTx(db gen.DBTX) store.Tx { return adapter.Tx(gen.New(db)) }

// sqlState returns the SQLSTATE of a server error, "" for any other error.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// transient reports errors a fresh attempt of the transaction can cure:
// serialization_failure and deadlock_detected.
func transient(err error) bool {
	switch sqlState(err) {
	case "40001", "40P01":
		return true
	}
	return false
}

// pgStore is store.Store over a pgx pool. Writes run at READ COMMITTED and
// serialize per process on the row lock LockProcess takes; reads of several
// statements run in a REPEATABLE READ, READ ONLY transaction for a
// consistent view, and reads of one statement on the pool directly.
type pgStore struct {
	pool  *pgxpool.Pool
	owned bool // Close closes the pool only when Open created it
}

var readOnly = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

func (s *pgStore) Write(ctx context.Context, fn func(context.Context, store.Tx) error) error {
	return sqladapter.Retry(ctx, transient, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(ctx, newTx(tx)) })
	})
}

func (s *pgStore) Read(ctx context.Context, fn func(context.Context, store.Tx) error) error {
	return sqladapter.Retry(ctx, transient, func() error {
		return pgx.BeginTxFunc(ctx, s.pool, readOnly, func(tx pgx.Tx) error { return fn(ctx, newTx(tx)) })
	})
}

func (s *pgStore) ReadOne(ctx context.Context, fn func(context.Context, store.Tx) error) error {
	return sqladapter.ReadOne(ctx, "postgres", newTx(s.pool), fn)
}

func (s *pgStore) Tier() procreg.DurabilityTier { return procreg.TierDurable }

func (s *pgStore) Close() error {
	if s.owned {
		s.pool.Close()
	}
	return nil
}
