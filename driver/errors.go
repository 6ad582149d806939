package driver

import "errors"

// ErrorClass is what a storage error means to the engine, independent of
// the database that raised it. Each backend classifies its own driver's
// errors (Store.Classify); nothing outside a backend package reads a
// database error code.
type ErrorClass int

const (
	// ClassOther is any error the classes below do not cover.
	ClassOther ErrorClass = iota
	// ClassNoRows: a query that returns one row found none.
	ClassNoRows
	// ClassUniqueViolation: an insert hit an existing primary or unique key.
	ClassUniqueViolation
	// ClassTransient: the transaction failed for a reason a fresh attempt
	// may not meet again (deadlock, serialization failure, lock wait
	// timeout, SQLite busy, a certification conflict on a cluster).
	ClassTransient
	// ClassSchemaMissing: a table or column the queries need does not
	// exist; the database was never migrated, or by an older release.
	ClassSchemaMissing
	// ClassUnavailable: the database could not be reached or the
	// connection was lost (a network error, a server shutting down or
	// failing over, too many connections, a broken pooled connection). A
	// fresh attempt on another connection may succeed. When the failed
	// statement was the COMMIT (the error wraps ErrCommitFailed) the
	// transaction may or may not have been applied.
	ClassUnavailable
)

// String names the class, for messages and tests.
func (c ErrorClass) String() string {
	switch c {
	case ClassNoRows:
		return "no rows"
	case ClassUniqueViolation:
		return "unique violation"
	case ClassTransient:
		return "transient"
	case ClassSchemaMissing:
		return "schema missing"
	case ClassUnavailable:
		return "unavailable"
	default:
		return "other"
	}
}

// ErrSchemaMissing is wrapped by every error the engine returns for a
// storage failure of class ClassSchemaMissing, so a tool can tell "this
// database needs Migrate" from other failures with errors.Is.
var ErrSchemaMissing = errors.New("the database lacks the current procreg schema (run the backend's Migrate, or `procreg migrate`)")

// ErrCommitFailed is wrapped by a store's error when the COMMIT of a write
// transaction failed (sqlkit.InTx and the PostgreSQL store do). With a
// lost connection (ClassUnavailable) or a cancelled context the outcome of
// the write is then unknown, and the engine says so; a store must not run
// such a transaction again by itself, since it may have been applied.
var ErrCommitFailed = errors.New("the commit failed")
