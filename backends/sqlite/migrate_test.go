package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestFileLockWaitHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	holder := newFileLocker(path)
	if err := holder.SessionLock(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := newFileLocker(path).SessionLock(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second locker while the first holds the lock: %v, want a deadline error", err)
	}
	if err := holder.SessionUnlock(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	next := newFileLocker(path)
	if err := next.SessionLock(context.Background(), nil); err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	next.SessionUnlock(context.Background(), nil)
}
