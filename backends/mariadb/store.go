package mariadb

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"io"
	"net"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
	gen "github.com/procreg/procreg/gen/mariadb"
)

// dialect names and classifies go-sql-driver errors for the generated
// adapter; leases use the database clock that LockProcess reads (no
// LeaseClock): the clock of the node the transaction runs on. On a Galera
// cluster the nodes' clocks must be kept in step (NTP), as for any
// database clock shared by workers; a skew of s between two nodes moves
// lease decisions made through them by s.
var dialect = &sqlkit.Dialect{Name: "mariadb", Classify: classify}

// newTx adapts the generated queries of one transaction to driver.Tx.
// db is a transaction, or the pool for ReadOne.
func newTx(db gen.DBTX) driver.Tx { return gen.NewTx(gen.New(db), dialect) }

// classify maps go-sql-driver errors to the engine's error classes.
// Transient are deadlocks (1213), lock wait timeouts (1205, after which
// InnoDB rolls back only the statement, so the whole transaction is rolled
// back and redone) and "record has changed since last read" (1020). On a
// Galera cluster 1213 is also a failed certification (at COMMIT: another
// node committed a conflicting write-set first) and a brute-force abort
// (at any statement: an incoming write-set took a row this transaction
// held); either way the transaction was rolled back on every node and is
// run again. A node that is not synced or not in the primary component
// answers 1047 ("WSREP has not yet prepared node for application use"):
// unavailable, not data.
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
	case 1047: // ER_UNKNOWN_COM_ERROR: a Galera node not ready for queries
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

// retryBudget bounds the retries of one transaction when the caller's
// context has no deadline (with one, sqlkit's budget follows the
// deadline): sqlkit.RetryWithin keeps retrying, the delay growing to a
// second, until the next attempt would end after it. sqlkit.Retry's ten
// attempts are too few on a Galera cluster, where the writers of every
// node race for the same rows and only one per round commits: measured
// with 9 writers on 3 nodes on one process, 10 attempts left about one
// append in six failed, 50 still left a session delete (one transaction
// locking 48 processes that 4 writers on other nodes kept changing)
// failing after 26 s.
const retryBudget = 2 * time.Minute

// myStore is driver.Store over a database/sql pool. Writes run at the
// server's default isolation (REPEATABLE READ on InnoDB: a registration of
// a new id takes a gap lock, and registrations racing into one gap may
// deadlock, then retry) and serialize per process on the row lock
// LockProcess takes. On a Galera cluster that lock is local to the node;
// writers on different nodes serialize at certification instead (COMMIT
// fails with 1213 for all but the first) and are retried, so the
// outcome is the same. Reads of several statements run in one READ ONLY
// transaction, a consistent snapshot, and reads of one statement on the
// pool directly (autocommit); both wait for the cluster's earlier commits
// first (wsrep_sync_wait, see ParseDSN).
type myStore struct {
	db    *sql.DB
	owned bool // Close closes the pool only when Open created it
}

func (s *myStore) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.RetryWithin(ctx, retryBudget, retryable, func() error { return sqlkit.InTx(ctx, "mariadb", s.db, nil, txOn, fn) })
}

func (s *myStore) Read(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return sqlkit.RetryWithin(ctx, retryBudget, retryable, func() error {
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
