package sqlite

// Migrations: the SQLite dialect's embedded files (schema/sqlite), run by
// driver/migrate under an exclusive file lock on "<database path>.lock".

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/procreg/procreg/driver/migrate"
	"github.com/procreg/procreg/schema"
)

// newFileLocker returns a session locker holding an exclusive flock(2) on
// path (created if missing) for the duration of a migration. flock locks
// belong to the open file, so the lock excludes other OS processes and
// other lockers in this process alike, and the kernel drops it when a
// process dies. The connection argument is ignored.
func newFileLocker(path string) *fileLocker { return &fileLocker{path: path} }

type fileLocker struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// fileLockPoll is how often a waiting migrator retries the file lock.
const fileLockPoll = 10 * time.Millisecond

func (l *fileLocker) SessionLock(ctx context.Context, _ *sql.Conn) error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock file: %w", err)
	}
	for {
		ok, err := tryLockFile(f)
		if err != nil {
			f.Close()
			return fmt.Errorf("lock %s: %w", l.path, err)
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			f.Close()
			return fmt.Errorf("waiting for %s: %w", l.path, ctx.Err())
		case <-time.After(fileLockPoll):
		}
	}
	l.mu.Lock()
	l.f = f
	l.mu.Unlock()
	return nil
}

func (l *fileLocker) SessionUnlock(context.Context, *sql.Conn) error {
	l.mu.Lock()
	f := l.f
	l.f = nil
	l.mu.Unlock()
	if f == nil {
		return nil
	}
	// Closing the file releases the flock.
	if err := f.Close(); err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}

// migrateDB migrates the SQLite database at path (db must be open on that
// file), serialized across processes by a file lock on path + ".lock",
// held around the whole goose run like the server locks. The file lock
// needs no connection, so this works when db allows only one.
func migrateDB(ctx context.Context, db *sql.DB, path string) (v int64, err error) {
	l := newFileLocker(path + ".lock")
	if err := l.SessionLock(ctx, nil); err != nil {
		return 0, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	defer func() {
		if uerr := l.SessionUnlock(context.WithoutCancel(ctx), nil); uerr != nil && err == nil {
			err = fmt.Errorf("sqlite: migrate %s: %w", path, uerr)
		}
	}()
	v, err = migrate.Up(ctx, db, source, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	return v, nil
}

// source is the SQLite dialect's migrations.
var source = migrate.Source{Dialect: "sqlite", FS: schema.FS, Dir: "sqlite", Goose: goose.DialectSQLite3}
