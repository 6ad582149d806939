package sqlkit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/procreg/procreg/driver/sqlkit"
)

var errConflict = errors.New("deadlock")

func always(error) bool { return true }

// Without a deadline Retry makes a fixed number of attempts; with one it
// keeps trying until the deadline is near and returns the last transient
// error, not the context's.
func TestRetryBudgetFollowsTheDeadline(t *testing.T) {
	n := 0
	err := sqlkit.Retry(context.Background(), always, func() error { n++; return errConflict })
	if !errors.Is(err, errConflict) || n != 10 {
		t.Fatalf("no deadline: %d attempts, %v; want 10 attempts and the conflict", n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	n = 0
	err = sqlkit.Retry(ctx, always, func() error { n++; return errConflict })
	if !errors.Is(err, errConflict) || ctx.Err() != nil {
		t.Fatalf("with a deadline: %v (context %v); want the conflict before the deadline", err, ctx.Err())
	}
	if n <= 10 {
		t.Errorf("with a 1.5s deadline: %d attempts; want more than the fixed 10", n)
	}
	n = 0
	err = sqlkit.Retry(context.Background(), func(error) bool { return false }, func() error { n++; return errConflict })
	if n != 1 || !errors.Is(err, errConflict) {
		t.Errorf("permanent error: %d attempts; want 1", n)
	}
}
