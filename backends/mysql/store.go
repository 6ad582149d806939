package mysql

import (
	"context"
	"database/sql"
	"errors"

	driver "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg"
	gen "github.com/procreg/procreg/gen/mysql"
	"github.com/procreg/procreg/internal/sqladapter"
	"github.com/procreg/procreg/internal/store"
)

// dialect classifies go-sql-driver errors for the shared adapter.
var dialect = &sqladapter.Dialect{
	Name:              "mysql",
	IsNoRows:          func(err error) bool { return errors.Is(err, sql.ErrNoRows) },
	IsUniqueViolation: func(err error) bool { return errorNumber(err) == 1062 }, // ER_DUP_ENTRY
}

// adapter is the shared store.Tx implementation bound to gen/mysql.
var adapter = sqladapter.Bind[gen.Process, gen.Event, gen.Grant, gen.LockProcessRow, gen.ListGrantsByScopeRow,
	gen.InsertProcessParams, gen.UpdateProcessParams, gen.InsertEventParams, gen.UpsertGrantParams,
	gen.EventByReplayKeyParams, gen.EventsAfterParams, gen.WakeEventsAfterParams,
	gen.CountEventsThroughParams, gen.RecentEventsDescParams, gen.InsertWakeAckParams,
	gen.GetGrantParams, gen.DeleteGrantParams, gen.PruneCandidatesParams,
	gen.ListProcessesByStatusWaitingParams, gen.ListProcessesByDefinitionStatusParams,
	gen.ListProcessesByDefinitionWaitingParams, gen.ListProcessesByDefinitionStatusWaitingParams, int32, *gen.Queries,
](dialect)

// newTx adapts the generated queries of one transaction to store.Tx.
// db is a transaction, or the pool for ReadOne.
func newTx(db gen.DBTX) store.Tx { return adapter.Tx(gen.New(db)) }

// errorNumber returns the server error number, 0 for any other error.
func errorNumber(err error) uint16 {
	var me *driver.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// transient reports errors a fresh attempt of the transaction can cure:
// deadlocks (1213), lock wait timeouts (1205, after which InnoDB rolls back
// only the statement, so the whole transaction is rolled back and redone)
// and MariaDB's "record has changed since last read" (1020).
func transient(err error) bool {
	switch errorNumber(err) {
	case 1213, 1205, 1020:
		return true
	}
	return false
}

// myStore is store.Store over a database/sql pool. Writes run at the
// server's default isolation (REPEATABLE READ on InnoDB) and serialize per
// process on the row lock LockProcess takes; reads of several statements run
// in one READ ONLY transaction, a consistent snapshot, and reads of one
// statement on the pool directly (autocommit).
type myStore struct {
	db    *sql.DB
	owned bool // Close closes the pool only when Open created it
}

func (s *myStore) Write(ctx context.Context, fn func(context.Context, store.Tx) error) error {
	return sqladapter.Retry(ctx, transient, func() error { return sqladapter.InTx(ctx, "mysql", s.db, nil, txOn, fn) })
}

func (s *myStore) Read(ctx context.Context, fn func(context.Context, store.Tx) error) error {
	return sqladapter.Retry(ctx, transient, func() error {
		return sqladapter.InTx(ctx, "mysql", s.db, &sql.TxOptions{ReadOnly: true}, txOn, fn)
	})
}

func (s *myStore) ReadOne(ctx context.Context, fn func(context.Context, store.Tx) error) error {
	return sqladapter.ReadOne(ctx, "mysql", newTx(s.db), fn)
}

// txOn is newTx for InTx.
func txOn(t *sql.Tx) store.Tx { return newTx(t) }

func (s *myStore) Tier() procreg.DurabilityTier { return procreg.TierDurable }

func (s *myStore) Close() error {
	if s.owned {
		return s.db.Close()
	}
	return nil
}
