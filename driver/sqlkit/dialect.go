package sqlkit

import (
	"errors"
	"fmt"
	"time"

	"github.com/procreg/procreg/driver"
)

// Dialect is what a generated adapter needs from its backend at run time.
// A backend builds one per store (or one for the package) and passes it to
// every NewTx; the adapter only reads it.
type Dialect struct {
	// Name prefixes error messages ("postgres", "mysql", "sqlite").
	Name string
	// Classify says what a storage error means; it is the backend's
	// Store.Classify. The adapter asks it for ClassNoRows (a :one query
	// found nothing) and ClassUniqueViolation (an insert lost a race, see
	// ErrRetry), and only for errors.
	Classify func(error) driver.ErrorClass
	// LeaseClock, when set, decides leases instead of the database clock
	// (SQLite: an embedded file has no server clock every caller shares);
	// the adapter truncates it to the millisecond. Nil means the database
	// clock, read by LockProcess or, failing that, DatabaseNowMs.
	LeaseClock func() time.Time
}

// ErrRetry marks a conflict that the transaction cannot resolve but a fresh
// attempt can: two transactions inserting the same new process both found
// no row under READ COMMITTED, and the loser hit the key of the winner. On
// retry it finds the winner's row. Retry retries it.
var ErrRetry = errors.New("transient conflict, retry the transaction")

// Fail wraps a statement's error with the dialect, the operation and the
// process (or scope, session) id. An adapter whose op is built (Sprintf,
// concatenation) calls it only on error, so a statement that succeeds
// allocates no message.
func (d *Dialect) Fail(op, id string, err error) error {
	return fmt.Errorf("%s: %s %q: %w", d.Name, op, id, err)
}

// Check is Fail for a non-nil err and nil otherwise.
func (d *Dialect) Check(op, id string, err error) error {
	if err == nil {
		return nil
	}
	return d.Fail(op, id, err)
}

// Found maps a :one query's error to found: nil is found, ClassNoRows is
// not found and no error, anything else is a failure (see Fail).
func (d *Dialect) Found(op, id string, err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case d.Classify(err) == driver.ClassNoRows:
		return false, nil
	default:
		return false, d.Fail(op, id, err)
	}
}

// CheckInsert is Check for the insert of a new process: a unique violation
// means a concurrent transaction inserted the same id after this one found
// none, so the error also wraps ErrRetry.
func (d *Dialect) CheckInsert(op, id string, err error) error {
	if err != nil && d.Classify(err) == driver.ClassUniqueViolation {
		err = fmt.Errorf("%w: %w", ErrRetry, err)
	}
	return d.Check(op, id, err)
}

// Wrap prefixes err with the dialect's name (nil stays nil).
func (d *Dialect) Wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", d.Name, err)
}
