//go:build !unix

package sqlite

import (
	"errors"
	"os"
)

// tryLockFile is not implemented off unix; SQLite migrations there must be
// serialized by the caller (Up with a nil locker).
func tryLockFile(*os.File) (bool, error) {
	return false, errors.New("file locks are not supported on this platform")
}
