package sqlkit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// Options are the settings the server backends share; each backend exposes
// them through its own Option constructors (an alias of Option and wrappers
// of WithClock and WithoutMigrations, documented for that backend).
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
