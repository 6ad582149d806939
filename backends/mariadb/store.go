package mariadb

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"io"
	"net"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
	gen "github.com/procreg/procreg/gen/mariadb"
)

// dialect names and classifies go-sql-driver errors for the generated
// adapter; leases use the database clock.
// TODO(dialect): lease clock: leases use the database clock that LockProcess reads (no LeaseClock)
var dialect = &sqlkit.Dialect{Name: "mariadb", Classify: classify}

// newTx adapts the generated queries of one transaction to driver.Tx.
// db is a transaction, or the pool for ReadOne.
func newTx(db gen.DBTX) driver.Tx { return gen.NewTx(gen.New(db), dialect) }

// classify maps go-sql-driver errors to the engine's error classes.
// Transient are deadlocks (1213), lock wait timeouts (1205, after which
// InnoDB rolls back only the statement, so the whole transaction is rolled
// back and redone) and MariaDB's "record has changed since last read"
// (1020).
// TODO(dialect): transient error codes: 1213 deadlock, 1205 lock wait timeout, 1020 record changed; 1062 duplicate; 1146/1054 schema missing
func classify(err error) driver.ErrorClass {
	if errors.Is(err, sql.ErrNoRows) {
		return driver.ClassNoRows
	}
	var me *mysqldrv.MySQLError
	if !errors.As(err, &me) {
		if connectionLost(err) {
			return driver.ClassUnavailable
		}
		return driver.ClassOther
	}
	switch me.Number {
	case 1062: // ER_DUP_ENTRY
		return driver.ClassUniqueViolation
	case 1213, 1205, 1020:
		return driver.ClassTransient
	case 1146, 1054: // ER_NO_SUCH_TABLE, ER_BAD_FIELD_ERROR
		return driver.ClassSchemaMissing
	case 1040, 1053, 1927: // ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED
		return driver.ClassUnavailable
	}
	return driver.ClassOther
}

// connectionLost reports a failure to reach the server or a connection
// lost under a statement: database/sql's ErrBadConn, the driver's
// ErrInvalidConn, a network error, or the stream ending. A context's
// cancellation or deadline is the caller's, never unavailability.
func connectionLost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	return errors.Is(err, sqldriver.ErrBadConn) || errors.Is(err, mysqldrv.ErrInvalidConn) ||
		errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// retryable reports errors a fresh attempt of the transaction can cure:
// transient conflicts, and a lost connection unless the COMMIT was sent
// (sqlkit.Retryable).
var retryable = sqlkit.Retryable(classify)

// myStore is driver.Store over a database/sql pool. Writes run at the
// server's default isolation (REPEATABLE READ on InnoDB) and serialize per
// process on the row lock LockProcess takes; reads of several statements run
// in one READ ONLY transaction, a consistent snapshot, and reads of one
// statement on the pool directly (autocommit).
type myStore struct {
	db    *sql.DB
	owned bool // Close closes the pool only when Open created it
}

// TODO(dialect): isolation level: the server default, REPEATABLE READ on InnoDB (gap locks on registration)
func (s *myStore) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.Retry(ctx, retryable, func() error { return sqlkit.InTx(ctx, "mariadb", s.db, nil, txOn, fn) })
}

func (s *myStore) Read(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.Retry(ctx, retryable, func() error {
		return sqlkit.InTx(ctx, "mariadb", s.db, &sql.TxOptions{ReadOnly: true}, txOn, fn)
	})
}

func (s *myStore) ReadOne(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.ReadOne(ctx, "mariadb", newTx(s.db), fn)
}

// txOn is newTx for InTx.
func txOn(t *sql.Tx) driver.Tx { return newTx(t) }

func (s *myStore) Tier() procreg.DurabilityTier { return procreg.TierDurable }

// Classify maps go-sql-driver errors to the engine's error classes.
func (s *myStore) Classify(err error) driver.ErrorClass { return classify(err) }

func (s *myStore) Close() error {
	if s.owned {
		return s.db.Close()
	}
	return nil
}
