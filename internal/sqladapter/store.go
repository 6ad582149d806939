package sqladapter

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// Options are the settings the server backends share; each backend exposes
// them through its own Option constructors.
type Options struct {
	// Clock supplies non-lease timestamps (CreatedAt, UpdatedAt, event
	// times); nil means time.Now. Lease decisions never use it.
	Clock func() time.Time
	// SkipMigrations leaves the schema alone on New/Open.
	SkipMigrations bool
}

// Option changes Options.
type Option func(*Options)

// WithClock sets Options.Clock.
func WithClock(clock func() time.Time) Option { return func(o *Options) { o.Clock = clock } }

// WithoutMigrations sets Options.SkipMigrations.
func WithoutMigrations() Option { return func(o *Options) { o.SkipMigrations = true } }

// NewRegistry finishes a backend's New/Open: it applies opts, runs migrate
// unless migrations are disabled, and returns the engine over s. On error it
// closes s, which releases the connection pool only when s owns it (Open),
// never the caller's (New).
func NewRegistry(ctx context.Context, name string, s driver.Store, migrate func(context.Context) (int64, error), opts []Option) (procreg.Registry, error) {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	err := ctx.Err()
	if err != nil {
		err = fmt.Errorf("%s: open: %w", name, err)
	} else if !o.SkipMigrations {
		_, err = migrate(ctx)
	}
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return driver.NewRegistry(s, driver.Options{Clock: o.Clock}), nil
}

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
