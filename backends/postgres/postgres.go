// Package postgres is the PostgreSQL backend of procreg: a driver.Store over a
// pgx pool and the sqlc-generated queries in gen/postgres, driven by the
// shared engine (package driver), so it behaves exactly like every other
// backend. It reports procreg.TierDurable.
//
// # Opening
//
// Open takes a DSN (postgres://… or postgresql://…, or a keyword/value
// string) and owns the pool it creates; New takes the caller's pool and
// leaves it open on Close. Both apply the embedded migrations
// (schema/postgres) unless WithoutMigrations is given; migrations are safe to
// run from many processes at once (advisory lock, see migrate.go).
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
// serialize and their sequences have no gaps. A read of several statements
// runs in one REPEATABLE READ, READ ONLY transaction; a read of one statement
// runs on the pool without a transaction (one statement sees one snapshot on
// its own), saving BEGIN and COMMIT. A transaction that fails with a serialization
// failure (40001) or deadlock (40P01), or that lost a race to insert the
// same new process, is retried (bounded, with jittered backoff).
//
// # Round trips
//
// A transaction's statements travel in pgx batches (pipe.go; pgx sends a
// batch's statements in one pipeline with one Sync, so a batch is one round
// trip). BEGIN is queued and goes with the first statement whose result
// the engine reads (LockProcess, which also reads the lease clock); the
// writes whose result it does not read (sqlc's :exec queries: InsertEvent,
// UpdateProcess, UpdateProcessLease, …) are queued and go with the next
// read, or with COMMIT. The engine's lock–decide–write is unchanged: it
// still decides in Go on the row it locked. A read of one statement runs on
// the pool without a transaction. Measured on a warm connection, and held
// to these figures, by TestRoundTrips:
//
//	method                             trips  round trips
//	RegisterProcess                    2      [BEGIN, LockProcess] [InsertProcess, COMMIT]
//	AppendEvent                        2      [BEGIN, LockProcess] [InsertEvent, UpdateProcess, COMMIT]
//	AppendEvent with a replay key      3      [BEGIN, LockProcess] [EventByReplayKey] [InsertEvent, UpdateProcess, COMMIT]
//	CompleteProcess                    3      as AppendEvent with a replay key
//	ClaimProcessLease, Reclaim…,
//	RenewProcessLease,
//	CompleteProcessLease               2      [BEGIN, LockProcess (+ database clock)] [UpdateProcessLease, COMMIT]
//	SetExternalRef, RecordFirstStarted,
//	RequestProcessAbandon,
//	SetProcessWait, ClearProcessWait   2      [BEGIN, LockProcess] [UpdateProcess when something changes, COMMIT]
//	GrantHandle, AckWake,
//	RevokeHandle                       2      [BEGIN, LockProcess] [UpsertGrant / InsertWakeAck / DeleteGrant, COMMIT]
//	TransferHandleGrants               1+2n   per process: [LockProcess] [GetGrant]; DeleteGrant and UpsertGrant
//	                                          go with the next lock or with COMMIT
//	DeleteSessionProcessState          4+     [BEGIN, ListGrantsBySession] [ListProcessesByWakeTargetSession]
//	                                          [DeleteGrantsBySession] [COMMIT], then per process touched
//	GetProcess, GetProcessLease,
//	ListProcesses, ListNonTerminal,
//	HasHandleGrant, ListHandleGrants,
//	ListLiveHandleGrants               1      one query, no transaction
//	EventsAfter, WakeEventsAfter,
//	CountEventsThrough, RecentEvents,
//	HandleGrantsForProcess             1      the query, no transaction, when it finds something (events
//	                                          and grants are deleted with their process, so they prove it
//	                                          exists); otherwise 4: that, then [BEGIN, GetProcess] [the
//	                                          query] [COMMIT], so that ErrNotFound is decided in one snapshot
//	RegisterProcesses(n)               2      [BEGIN, LockProcesses] [n × InsertProcess, COMMIT]
//	ClaimNext(limit)                   2      [BEGIN, ClaimCandidates (+ database clock)]
//	                                          [UpdateProcessLeases (one statement), COMMIT]
//	PruneTerminalProcesses             2 when nothing is due: [BEGIN, PruneCandidates] [COMMIT];
//	                                   6      per batch of up to 500: [BEGIN, PruneCandidates], 4 deletes
//	                                          (their counts are read), [COMMIT]
//
// A failed statement fails the transaction from then on, whichever
// statement reports it; see pipe for what a failure in the batch holding
// COMMIT means.
//
// # Group commit
//
// Concurrent writes to single processes — appends, completions, the fenced
// writes, lease claims, reclaims, renewals and releases, AckWake and the
// record writes (SetProcessWait, RecordFirstStarted, …) — may share one
// transaction (driver.GroupCommit; docs/design.md, "Group commit"). The
// registry runs as many of their transactions at once as the process has
// CPUs (GOMAXPROCS, at least 2; never more than the pool's connections,
// max(16, 4×GOMAXPROCS) from Open); a call that finds them all busy, or
// its process in one of them, queues, and the next transaction to finish
// takes up to 16 queued calls on distinct processes: [BEGIN, one
// LockProcesses for all of them], the replay-key reads of those that have
// one, [every call's writes, COMMIT] — for n appends 2 round trips and one
// commit (one WAL flush) instead of 2n and n. Each call still succeeds or
// fails on its own and returns once the group has committed. A call that
// does not wait runs alone and sends exactly the statements of the table
// above. Few transactions with the rest queued beat one transaction per
// connection once a group costs about one call (sqlkit.DefaultGroupCommit
// has the measurements); a server far away or with many more cores may
// want more: WithGroupCommit changes the two numbers; WithGroupCommit(0, 0)
// turns it off.
//
// # Early wake for waiters
//
// A registry from New or Open is an await.Notifier, so await.Terminal and
// await.Event can return as soon as the awaited fact is committed, by any
// registry on the same database, rather than at their next poll. It is
// opt-in on the writers' side: an AFTER INSERT trigger on events
// (schema/postgres) sends NOTIFY procreg_events with the process id only
// when the writing session has procreg.notify = on — add procreg.notify=on
// to the DSN of every registry that appends (pgx sends unknown DSN
// parameters as session settings), or set it for all writers with ALTER
// DATABASE … SET procreg.notify = on (or ALTER ROLE). Waiters need nothing:
// without notifications they simply poll.
//
// The trigger runs inside the INSERT, so it adds no round trip, and NOTIFY
// is delivered only on commit. The registry keeps one dedicated connection,
// outside the pool, that LISTENs on that channel: dialled on the first
// WatchProcess, closed by Close. One goroutine fans notifications out to the
// watchers of each process id without blocking (coalescing wakes). When the
// connection drops it reconnects with backoff (50 ms, doubling, up to 5 s);
// waiters keep polling meanwhile, and every watcher is woken once LISTEN is
// back, since a commit in the gap went unheard. Stats reports the listener's
// state (connects, server pid, notifications, wakes).
//
// Why it is opt-in: a notifying commit takes PostgreSQL's cluster-wide
// notify lock through its WAL flush, whether or not anyone listens. Measured
// on a 2-core machine (PostgreSQL 15, fsync on): with notifications on,
// BenchmarkBackend/AppendEventParallel went from a median of 4,790 to 3,600
// appends/s (about −25%), ClaimComplete about −5%, and pgbench single-row
// inserts from 8 clients from 12,000 to 5,500 commits/s. With the setting
// off, the trigger only reads one setting.
package postgres

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
)

// Option configures New and Open.
type Option = sqlkit.Option

// WithClock sets the clock for non-lease timestamps (CreatedAt, UpdatedAt,
// event times). Leases always use the database clock.
func WithClock(clock func() time.Time) Option { return sqlkit.WithClock(clock) }

// WithoutMigrations makes New and Open leave the schema alone; call Migrate
// yourself (for example from a deployment step).
func WithoutMigrations() Option { return sqlkit.WithoutMigrations() }

// WithGroupCommit sets group commit (see "Group commit" above): at most
// transactions write transactions of single-process calls run at once, and
// the calls beyond them are coalesced into groups of at most maxCalls (0:
// 16). WithGroupCommit(0, 0) turns it off, so that every call is its own
// transaction.
func WithGroupCommit(transactions, maxCalls int) Option {
	return sqlkit.WithGroupCommit(transactions, maxCalls)
}

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
	cfg, err := poolConfig(dsn)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return newRegistry(ctx, pool, true, opts)
}

// poolConfig is the configuration of Open's pool (and the floor's, see
// floor.go): the DSN's, with up to max(16, 4×GOMAXPROCS) connections
// unless the DSN sets pool_max_conns.
func poolConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := parseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if !hasPoolMaxConns(dsn) {
		cfg.MaxConns = int32(max(16, 4*runtime.GOMAXPROCS(0)))
	}
	return cfg, nil
}

// Migrate applies the pending embedded migrations to the pool's database and
// returns the schema version. It is safe to run concurrently.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close() // does not close the pool
	// The migrator sizes its locking to the pool (it holds one connection
	// for the lock while goose works on others), so tell database/sql the
	// pgx pool's real limit.
	db.SetMaxOpenConns(int(pool.Config().MaxConns))
	return migrateDB(ctx, db)
}

// SchemaStatus reads the schema version of the pool's database without
// creating or changing anything (`procreg migrate status`).
func SchemaStatus(ctx context.Context, pool *pgxpool.Pool) (driver.SchemaStatus, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close() // does not close the pool
	return schemaStatus(ctx, db)
}

// schemaStatusDSN is the dialect's Schema: SchemaStatus on a pool of its own.
func schemaStatusDSN(ctx context.Context, dsn string) (driver.SchemaStatus, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return driver.SchemaStatus{}, fmt.Errorf("%w: postgres: parse DSN: %w", procreg.ErrInvalid, err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return driver.SchemaStatus{}, fmt.Errorf("postgres: open: %w", err)
	}
	defer pool.Close()
	return SchemaStatus(ctx, pool)
}

// newRegistry is New and Open once the pool exists; on error it closes
// the pool if owned.
func newRegistry(ctx context.Context, pool *pgxpool.Pool, owned bool, opts []Option) (procreg.Registry, error) {
	migrate := func(ctx context.Context) (int64, error) { return Migrate(ctx, pool) }
	opts = append([]Option{sqlkit.DefaultGroupCommit(int(pool.Config().MaxConns))}, opts...)
	reg, err := sqlkit.NewRegistry(ctx, "postgres", &pgStore{pool: pool, owned: owned}, migrate, opts)
	if err != nil {
		return nil, err
	}
	// The listener dials its own connection with the pool's settings.
	return &registry{Registry: reg, l: newListener(pool.Config())}, nil
}
