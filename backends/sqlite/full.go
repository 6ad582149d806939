package sqlite

import (
	"errors"
	"fmt"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrDiskFull is wrapped by the error of a write that failed because the
// file system holding the database is full (SQLITE_FULL). Such a write
// was rolled back: nothing of it is stored, what was stored before is
// intact, and the same write succeeds once space is freed. The engine
// does not retry it by itself, and it is not procreg.ErrUnavailable: a
// full disk needs someone to free space.
var ErrDiskFull = errors.New("sqlite: the disk is full")

// isFull reports whether err is SQLITE_FULL (any extended code).
func isFull(err error) bool {
	var e *sqlitedrv.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_FULL
}

// diskFull returns err unchanged unless it is SQLITE_FULL, which it
// rewrites into a diskFullError.
func diskFull(path string, err error) error {
	if err == nil || !isFull(err) {
		return err
	}
	var e *sqlitedrv.Error
	errors.As(err, &e)
	return &diskFullError{path: path, cause: e}
}

// diskFullError is a write that met SQLITE_FULL. It wraps ErrDiskFull and
// the driver's error, and deliberately not driver.ErrCommitFailed even when
// the COMMIT is what failed: SQLite rolls a transaction back when its
// commit meets SQLITE_FULL, so the outcome is known (not applied), and the
// engine must not call it unknown.
type diskFullError struct {
	path  string
	cause *sqlitedrv.Error
}

func (e *diskFullError) Error() string {
	return fmt.Sprintf("%v: %s: the write was rolled back and nothing of it is stored; free space on the file system holding the database, then retry (%v)",
		ErrDiskFull, e.path, e.cause)
}

func (e *diskFullError) Unwrap() []error { return []error{ErrDiskFull, e.cause} }
