// Package mysql is the MySQL 8 / MariaDB backend of procreg: a driver.Store
// over database/sql with github.com/go-sql-driver/mysql and the
// sqlc-generated queries in gen/mysql, driven by the shared engine
// (package driver), so it behaves exactly like every other backend. It
// reports procreg.TierDurable.
//
// # Opening
//
// Open takes a DSN in the URL form mysql://user:pass@host:port/db or the
// driver's native form user:pass@tcp(host:port)/db (see ParseDSN) and owns
// the pool it creates; New takes the caller's *sql.DB and leaves it open on
// Close. Both apply the embedded migrations (schema/mysql) unless
// WithoutMigrations is given; migrations are safe to run from many processes
// at once (GET_LOCK, see migrate.go).
//
// Ids, names and keys are VARBINARY columns: they compare byte-wise with no
// trailing-space padding on both MySQL 8 and MariaDB.
//
// # Clock
//
// Every lease decision and lease timestamp uses the database clock
// (UTC_TIMESTAMP(3), independent of the session time zone), read in the same
// statement that locks the process row, so worker clock skew can neither
// steal a live lease nor make one look expired. Open also sets the session
// time zone to UTC. WithClock changes only the other timestamps (CreatedAt,
// UpdatedAt, event times), which are informational.
//
// # Transactions and locking
//
// Each mutating method is one InnoDB transaction that first locks the process
// row (SELECT … FOR UPDATE), so concurrent appends to one process serialize
// and their sequences have no gaps. A read of several statements runs in one
// READ ONLY transaction; a read of one statement runs on the pool in
// autocommit (one statement sees one snapshot on its own).
// A transaction that fails with a deadlock (1213), a lock wait timeout
// (1205), MariaDB's 1020, or that lost a race to insert the same new process
// (1062), is retried (bounded, with jittered backoff).
//
// Writes keep InnoDB's default REPEATABLE READ, so a registration of a new
// id takes a gap lock while it finds no row; registrations of new ids racing
// into the same gap deadlock and are retried (measured: 16 workers
// registering 800 new ids, ~300 retries, ~1,000 registrations/s). Appends and
// lease operations lock existing rows only and never take gap locks. READ
// COMMITTED would avoid this but costs a round trip per transaction (its
// session variable is named differently on MySQL 8 and MariaDB 10).
//
// # Round trips
//
// Open enables interpolateParams (ParseDSN; not with an encoding for which
// inlining arguments is unsafe), so a statement with arguments is one round
// trip, one COM_QUERY, where the driver would otherwise prepare, execute and
// close it (two round trips, the close having no reply). Each statement is
// then one round trip: the driver sends one command and reads its reply
// (MySQL has no pipeline for database/sql to use). Counted on the wire, and
// held to these figures, by TestRoundTrips:
//
//	method                             trips  statements
//	AppendEvent                        6      START TRANSACTION, LockProcess, InsertEvent,
//	                                          BumpChangeCounter, UpdateProcess, COMMIT
//	AppendEvent with a replay key,
//	CompleteProcess                    7      … and EventByReplayKey after LockProcess
//	RegisterProcess                    5      START TRANSACTION, LockProcess, BumpChangeCounter,
//	                                          InsertProcess, COMMIT
//	ClaimProcessLease, Reclaim…,
//	RenewProcessLease,
//	CompleteProcessLease               4      START TRANSACTION, LockProcess (+ database clock),
//	                                          UpdateProcessLease, COMMIT
//	RegisterProcesses(n)               3+2n   START TRANSACTION, LockProcesses, per process
//	                                          BumpChangeCounter and InsertProcess, COMMIT
//	ClaimNext(limit)                   3+n    START TRANSACTION, ClaimCandidates, one
//	                                          UpdateProcessLease per claimed process, COMMIT
//	GetProcess, the listings, …        1      one query, autocommit
//	EventsAfter, WakeEventsAfter,
//	CountEventsThrough, RecentEvents,
//	HandleGrantsForProcess             1      the query alone, when it finds something; otherwise 5:
//	                                          that, then START TRANSACTION READ ONLY, GetProcess,
//	                                          the query, COMMIT
//
// # Group commit
//
// Concurrent writes to single processes (appends, completions, the fenced
// and lease writes, AckWake, the record writes) may share one transaction
// (driver.GroupCommit; the postgres package doc and docs/design.md, "Group
// commit"): as many of their transactions run at once as the process has
// CPUs (GOMAXPROCS, at least 2; never more than db.SetMaxOpenConns), and
// the calls that find them all busy, or their process in one of them, are
// coalesced into groups of up to 16 on distinct
// processes: one LockProcesses, each call's statements, one COMMIT. The
// record-changing writes of a group wait for the change counter row once,
// as one transaction, instead of once per call. WithGroupCommit changes
// the two numbers; WithGroupCommit(0, 0) turns it off.
package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

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

// idleConns keeps enough idle connections for a busy worker pool: the
// database/sql default of 2 would reconnect on almost every call.
const idleConns = 16

// New returns a Registry over the caller's pool, migrating the schema first
// unless WithoutMigrations is given. Close leaves the pool open. The pool's
// DSN should set interpolateParams=true (one round trip per statement, see
// ParseDSN for when that is safe); times do not depend on its time zone
// settings.
func New(ctx context.Context, db *sql.DB, opts ...Option) (procreg.Registry, error) {
	return newRegistry(ctx, db, false, opts)
}

// Open connects to the database named by dsn (see ParseDSN) and returns a
// Registry that owns its connection pool.
func Open(ctx context.Context, dsn string, opts ...Option) (procreg.Registry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mysql: open: %w", err)
	}
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: open: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxIdleConns(idleConns)
	return newRegistry(ctx, db, true, opts)
}

// Migrate applies the pending embedded migrations to db's database and
// returns the schema version. It is safe to run concurrently.
func Migrate(ctx context.Context, db *sql.DB) (int64, error) {
	return migrateDB(ctx, db)
}

// SchemaStatus reads the schema version of db's database without creating
// or changing anything (`procreg migrate status`).
func SchemaStatus(ctx context.Context, db *sql.DB) (driver.SchemaStatus, error) {
	return schemaStatus(ctx, db)
}

// schemaStatusDSN is the dialect's Schema: SchemaStatus on a pool of its own.
func schemaStatusDSN(ctx context.Context, dsn string) (driver.SchemaStatus, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return driver.SchemaStatus{}, err
	}
	conn, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return driver.SchemaStatus{}, fmt.Errorf("mysql: open: %w", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	return SchemaStatus(ctx, db)
}

// newRegistry is New and Open once the pool exists; on error it closes
// the pool if owned.
func newRegistry(ctx context.Context, db *sql.DB, owned bool, opts []Option) (procreg.Registry, error) {
	migrate := func(ctx context.Context) (int64, error) { return Migrate(ctx, db) }
	opts = append([]Option{sqlkit.DefaultGroupCommit(db.Stats().MaxOpenConnections)}, opts...)
	return sqlkit.NewRegistry(ctx, "mysql", &myStore{db: db, owned: owned}, migrate, opts)
}
