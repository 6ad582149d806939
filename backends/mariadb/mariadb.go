// Package mariadb is the MariaDB backend of procreg (MariaDB 10.10 and
// later, standalone or as a Galera cluster): a driver.Store over
// database/sql with github.com/go-sql-driver/mysql and the sqlc-generated
// queries in gen/mariadb, driven by the shared engine (package driver), so
// it behaves exactly like every other backend. It reports
// procreg.TierDurable. It was written by `procreg dialect new mariadb
// --from mysql` and keeps the mysql dialect's SQL where MariaDB spells it
// the same (docs/dialects.md lists the differences); the mysql dialect
// stays MySQL 8's.
//
// # Opening
//
// Open takes a DSN in the URL form mariadb://user:pass@host:port/db (or
// mysql://…) or the driver's native form user:pass@tcp(host:port)/db (see
// ParseDSN) and owns the pool it creates; New takes the caller's *sql.DB
// and leaves it open on Close. Both apply the embedded migrations
// (schema/mariadb) unless WithoutMigrations is given; migrations are safe
// to run from many processes at once, connected to any nodes of a cluster
// (a committed lease row, see migrate.go).
//
// Ids, names and keys are VARBINARY columns: they compare byte-wise with no
// trailing-space padding.
//
// # Galera
//
// A Galera cluster (docs/galera.md) takes reads and writes on every node.
// The dialect makes that safe:
//
//   - causal reads: ParseDSN sets wsrep_sync_wait=7 on every connection
//     unless the DSN names it, so a write committed through one node is
//     seen through every other at once (a pool given to New should set it
//     too);
//   - conflicts: certification failures at COMMIT and brute-force aborts
//     are 1213, classified transient and retried, for up to two minutes
//     when the caller's context has no deadline (sqlkit.Retry's 10
//     attempts are too few when the writers of three nodes race for the
//     same rows); a node not ready for queries (1047) is unavailable;
//   - the migration lock holds across nodes (GET_LOCK does not);
//   - the schema is InnoDB with a primary key on every table, and nothing
//     Galera rejects is used (no LOCK TABLES, no XA, no sequences).
//
// Row locks (SELECT … FOR UPDATE) are local to a node; writers on
// different nodes serialize at certification instead. Every record change
// advances the change feed's one-row counter, which is therefore a
// cluster-wide hotspot: concurrent record changes through different nodes
// conflict on it and retry (docs/galera.md measures the cost); send the
// writes to one node when that matters.
//
// # Clock
//
// Every lease decision and lease timestamp uses the database clock (of the
// node the transaction runs on), read in the same statement that locks the
// process row, so worker clock skew can neither steal a live lease nor
// make one look expired; the nodes of a cluster must keep their clocks in
// step. Open also sets the session time zone to UTC. WithClock changes
// only the other timestamps (CreatedAt, UpdatedAt, event times), which are
// informational.
//
// # Transactions and locking
//
// Each mutating method is one InnoDB transaction that first locks the process
// row (SELECT … FOR UPDATE), so concurrent appends to one process serialize
// and their sequences have no gaps. A read of several statements runs in one
// READ ONLY transaction; a read of one statement runs on the pool in
// autocommit (one statement sees one snapshot on its own).
// A transaction that fails with a deadlock or certification conflict
// (1213), a lock wait timeout (1205), "record changed" (1020), or that lost
// a race to insert the same new process (1062), is retried (bounded, with
// jittered backoff).
//
// Writes keep InnoDB's default REPEATABLE READ, so a registration of a new
// id takes a gap lock while it finds no row; registrations of new ids
// racing into the same gap deadlock and are retried. READ COMMITTED
// (MariaDB's tx_isolation, settable in the DSN at no cost) would avoid it
// but would also weaken the multi-statement reads, which would then need a
// SET TRANSACTION round trip each.
//
// # Round trips
//
// Open enables interpolateParams (mysql.ParseDSN: not with an encoding for
// which inlining arguments is unsafe), so a parameterized statement is one
// round trip; wsrep_sync_wait and the time zone are sent with the
// connection's setup, not per statement. The statements are the mysql
// dialect's, one round trip each (counted on the wire by TestRoundTrips):
// AppendEvent is START TRANSACTION, LockProcess, [EventByReplayKey when a
// replay key is given], InsertEvent, BumpChangeCounter, UpdateProcess,
// COMMIT, that is 6–7 round trips; a lease claim, renewal or release is 4;
// a read of one statement is 1, with no transaction, and so is a read of a
// process's events or grants that finds some (5 when it finds none). MariaDB's
// INSERT … RETURNING and DELETE … RETURNING (10.5+) would fold a write and
// the read after it, but sqlc's MySQL engine does not parse them (syntax
// error near "RETURNING", sqlc 1.31), and no statement pair here would fold:
// InsertEvent computes its sequence from the locked row, and the counter
// bump is an UPDATE (MariaDB has no UPDATE … RETURNING).
//
// # Notifications
//
// None: await's waiters poll. (Galera replicates no notifications between
// nodes; a trigger-based scheme would see only the local node's writes.)
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
package mariadb

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
// ParseDSN for when that is safe) and,
// on a Galera cluster, wsrep_sync_wait=7 (causal reads); ParseDSN returns
// such a configuration. Times do not depend on its time zone settings.
func New(ctx context.Context, db *sql.DB, opts ...Option) (procreg.Registry, error) {
	return newRegistry(ctx, db, false, opts)
}

// Open connects to the database named by dsn (see ParseDSN) and returns a
// Registry that owns its connection pool.
func Open(ctx context.Context, dsn string, opts ...Option) (procreg.Registry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mariadb: open: %w", err)
	}
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mariadb: open: %w", err)
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
		return driver.SchemaStatus{}, fmt.Errorf("mariadb: open: %w", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	return SchemaStatus(ctx, db)
}

// newRegistry is New and Open once the pool exists; on error it closes
// the pool if owned. The registry is no await.Notifier: waiters poll.
func newRegistry(ctx context.Context, db *sql.DB, owned bool, opts []Option) (procreg.Registry, error) {
	migrate := func(ctx context.Context) (int64, error) { return Migrate(ctx, db) }
	opts = append([]Option{sqlkit.DefaultGroupCommit(db.Stats().MaxOpenConnections)}, opts...)
	return sqlkit.NewRegistry(ctx, "mariadb", &myStore{db: db, owned: owned}, migrate, opts)
}
