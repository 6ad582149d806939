package sqlkit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// maxAttempts bounds Retry: a transaction that keeps conflicting this often
// is returned to the caller rather than spun on.
const maxAttempts = 10

// Retry runs attempt until it succeeds, fails with an error that is neither
// ErrRetry nor transient, or maxAttempts is reached, sleeping a short
// jittered, growing delay between attempts. Deadlocks and serialization
// failures are rare here (writes lock process rows first, several of them in
// id order), so the delays start at a millisecond.
func Retry(ctx context.Context, transient func(error) bool, attempt func() error) error {
	delay := time.Millisecond
	for i := 1; ; i++ {
		err := attempt()
		if err == nil || i == maxAttempts || !(errors.Is(err, ErrRetry) || transient(err)) {
			return err
		}
		t := time.NewTimer(delay/2 + rand.N(delay))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while retrying after: %v)", ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}
