// Package postgres is the PostgreSQL backend of procreg: a store.Store over a
// pgx pool and the sqlc-generated queries in gen/postgres, driven by the
// shared engine (internal/engine), so it behaves exactly like every other
// backend. It reports procreg.TierDurable.
//
// # Opening
//
// Open takes a DSN (postgres://… or postgresql://…, or a keyword/value
// string) and owns the pool it creates; New takes the caller's pool and
// leaves it open on Close. Both apply the embedded migrations
// (schema/postgres) unless WithoutMigrations is given; migrations are safe to
// run from many processes at once (advisory lock, see internal/migrate).
//
// # Clock
//
// Every lease decision and lease timestamp uses the database clock
// (clock_timestamp()), read in the same statement that locks the process row,
// so worker clock skew can neither steal a live lease nor make one look
// expired. WithClock changes only the other timestamps (CreatedAt,
// UpdatedAt, event times), which are informational.
//
// # Transactions and locking
//
// Each mutating method is one READ COMMITTED transaction that first locks the
// process row (SELECT … FOR UPDATE), so concurrent appends to one process
// serialize and their sequences have no gaps. Reads run in one REPEATABLE
// READ, READ ONLY transaction. A transaction that fails with a serialization
// failure (40001) or deadlock (40P01), or that lost a race to insert the
// same new process, is retried (bounded, with jittered backoff).
//
// # Round trips
//
// Counted with a warm statement cache (pgx prepares each statement once per
// connection); BEGIN and COMMIT are one round trip each and are included:
//
//	RegisterProcess                     4  BEGIN, lock, insert (or nothing), COMMIT
//	AppendEvent, CompleteProcess        5–6  BEGIN, lock, [replay-key lookup when a replay key is given], insert event, update process, COMMIT
//	ClaimProcessLease, Reclaim, Renew   4  BEGIN, lock (+ database clock), update, COMMIT
//	CompleteProcessLease                4  (3 when the token is stale: nothing to write)
//	SetExternalRef, RecordFirstStarted,
//	RequestProcessAbandon, Set/ClearProcessWait
//	                                    4  BEGIN, lock, update, COMMIT (3 when nothing changes)
//	GrantHandle                         4  BEGIN, read process, upsert grant, COMMIT
//	RevokeHandle                        3  BEGIN, delete, COMMIT
//	GetProcess, GetProcessLease,
//	ListProcesses, ListNonTerminal      3  BEGIN, one query, COMMIT
//	EventsAfter, WakeEventsAfter,
//	RecentEvents, CountEventsThrough,
//	HasHandleGrant, ListHandleGrants,
//	HandleGrantsForProcess              4  BEGIN, process check, one query, COMMIT
//	AckWake                             4  BEGIN, process check, insert ack, COMMIT
//	PruneTerminalProcesses              per batch of ≤500: BEGIN, candidates, 4 deletes, COMMIT
//	TransferHandleGrants, DeleteSessionProcessState: proportional to the grants moved or deleted.
package postgres

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/migrate"
	"github.com/procreg/procreg/internal/sqladapter"
)

// Option configures New and Open.
type Option = sqladapter.Option

// WithClock sets the clock for non-lease timestamps (CreatedAt, UpdatedAt,
// event times). Leases always use the database clock.
func WithClock(clock func() time.Time) Option { return sqladapter.WithClock(clock) }

// WithoutMigrations makes New and Open leave the schema alone; call Migrate
// yourself (for example from a deployment step).
func WithoutMigrations() Option { return sqladapter.WithoutMigrations() }

// New returns a Registry over the caller's pool, migrating the schema first
// unless WithoutMigrations is given. Close leaves the pool open.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (procreg.Registry, error) {
	return newRegistry(ctx, pool, false, opts)
}

// Open connects to the database named by dsn and returns a Registry that owns
// its connection pool. A DSN that does not parse is procreg.ErrInvalid. Unless the DSN sets pool_max_conns, the pool holds up
// to max(16, 4×GOMAXPROCS) connections.
func Open(ctx context.Context, dsn string, opts ...Option) (procreg.Registry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, fmt.Errorf("%w: postgres: parse DSN: %w", procreg.ErrInvalid, err)
	}
	if !hasPoolMaxConns(dsn) {
		cfg.MaxConns = int32(max(16, 4*runtime.GOMAXPROCS(0)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	reg, err := newRegistry(ctx, pool, true, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return reg, nil
}

// Migrate applies the pending embedded migrations to the pool's database and
// returns the schema version. It is safe to run concurrently.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close() // does not close the pool
	v, err := migrate.UpPostgres(ctx, db)
	if err != nil {
		return 0, fmt.Errorf("postgres: %w", err)
	}
	return v, nil
}

// newRegistry is New and Open once the pool exists.
func newRegistry(ctx context.Context, pool *pgxpool.Pool, owned bool, opts []Option) (procreg.Registry, error) {
	migrate := func(ctx context.Context) error {
		_, err := Migrate(ctx, pool)
		return err
	}
	return sqladapter.NewRegistry(ctx, "postgres", &pgStore{pool: pool, owned: owned}, migrate, opts)
}
