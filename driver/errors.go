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
	default:
		return "other"
	}
}

// ErrSchemaMissing is wrapped by every error the engine returns for a
// storage failure of class ClassSchemaMissing, so a tool can tell "this
// database needs Migrate" from other failures with errors.Is.
var ErrSchemaMissing = errors.New("the database lacks the current procreg schema (run the backend's Migrate, or `procreg migrate`)")
