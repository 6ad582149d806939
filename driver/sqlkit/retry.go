package sqlkit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// maxAttempts bounds Retry when the caller's context has no deadline: a
// transaction that keeps conflicting this often is returned to the caller
// rather than spun on.
const maxAttempts = 10

// Retry runs attempt until it succeeds or fails with an error that is
// neither ErrRetry nor transient, sleeping a short jittered, growing delay
// between attempts. Deadlocks and serialization failures are rare here
// (writes lock process rows first, several of them in id order), so the
// delays start at a millisecond.
//
// The budget follows the caller: when ctx has a deadline, Retry keeps
// trying (the delay growing to at most a second) for as long as the next
// delay plus one more attempt, as long as the last one took, still ends
// before the deadline, and then returns the last error; without a deadline
// it makes at most maxAttempts attempts. A transient error that outlasts
// the budget is returned as it is (the engine wraps procreg.ErrUnavailable
// around it). A context that ends while waiting returns the context's
// error.
func Retry(ctx context.Context, transient func(error) bool, attempt func() error) error {
	deadline, hasDeadline := ctx.Deadline()
	return retry(ctx, deadline, hasDeadline, transient, attempt)
}

// RetryWithin is Retry with a time budget instead of maxAttempts when ctx
// has no deadline: it keeps trying as Retry does before a deadline budget
// from now (ctx's own deadline, when it has one, wins; the statements are
// never cut short by the budget). A store whose conflicts come in long
// runs — a cluster that certifies at commit, where the writers of every
// node race for the same rows and a long transaction can lose many
// rounds — gives itself more than Retry's ten attempts.
func RetryWithin(ctx context.Context, budget time.Duration, transient func(error) bool, attempt func() error) error {
	deadline, hasDeadline := ctx.Deadline()
	if !hasDeadline {
		deadline, hasDeadline = time.Now().Add(budget), true
	}
	return retry(ctx, deadline, hasDeadline, transient, attempt)
}

func retry(ctx context.Context, deadline time.Time, hasDeadline bool, transient func(error) bool, attempt func() error) error {
	delay := time.Millisecond
	for i := 1; ; i++ {
		began := time.Now()
		err := attempt()
		if err == nil || !(errors.Is(err, ErrRetry) || transient(err)) {
			return err
		}
		sleep := delay/2 + rand.N(delay)
		if hasDeadline {
			if time.Until(deadline) < sleep+time.Since(began) {
				return err
			}
		} else if i >= maxAttempts {
			return err
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while retrying after: %v)", ctx.Err(), err)
		case <-t.C:
		}
		limit := 100 * time.Millisecond
		if i >= maxAttempts {
			limit = time.Second // only with a deadline: back off further
		}
		delay = min(2*delay, limit)
	}
}
