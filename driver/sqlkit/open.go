package sqlkit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
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
	// Group configures the engine's group commit (driver.GroupCommit);
	// each backend puts its default first in the options it passes to
	// NewRegistry, so a caller's WithGroupCommit overrides it.
	Group driver.GroupCommit
}

// Option changes Options.
type Option func(*Options)

// WithClock sets Options.Clock.
func WithClock(clock func() time.Time) Option { return func(o *Options) { o.Clock = clock } }

// WithoutMigrations sets Options.SkipMigrations.
func WithoutMigrations() Option { return func(o *Options) { o.SkipMigrations = true } }

// WithGroupCommit sets Options.Group: at most transactions write
// transactions of single-process calls at once, the calls beyond them
// coalesced into groups of at most maxCalls (0 or less: GroupMaxCalls).
// transactions 0 or less turns group commit off: every call is its own
// transaction.
func WithGroupCommit(transactions, maxCalls int) Option {
	if maxCalls <= 0 {
		maxCalls = GroupMaxCalls
	}
	return func(o *Options) { o.Group = driver.GroupCommit{Transactions: max(transactions, 0), MaxCalls: maxCalls} }
}

// GroupMaxCalls is the server backends' default bound of a group commit:
// a group's statements run one after another on its connection, so a
// larger group holds its rows and its callers longer for little less work
// per call (docs/design.md, "Group commit", has the measurements).
const GroupMaxCalls = 16

// DefaultGroupCommit is a server backend's default group commit over a
// pool of at most maxConns connections (0 or less: unlimited): as many
// write transactions at once as the process has CPUs (GOMAXPROCS, at
// least 2), never more than the pool's connections, in groups of at most
// GroupMaxCalls. With pipelined transactions a group costs about what one
// call costs, so the calls that queue behind a few busy transactions and
// share the next one do more per second than as many transactions at once
// (PostgreSQL, 8 workers appending on 2 cores: 3,850–3,950 appends/s with
// one transaction per connection (16), 4,700–5,200 with 2; 32 workers:
// 5,900 against 9,900; MariaDB, 8 workers: 1,440 against 1,650). A server
// far away or with many more cores than the client may want more: set
// WithGroupCommit. A backend puts it before the caller's options.
func DefaultGroupCommit(maxConns int) Option {
	n := max(2, runtime.GOMAXPROCS(0))
	if maxConns > 0 {
		n = min(n, maxConns)
	}
	return WithGroupCommit(n, GroupMaxCalls)
}

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
	return driver.NewRegistry(s, driver.Options{Clock: o.Clock, Group: o.Group}), nil
}
