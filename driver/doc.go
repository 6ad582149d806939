// Package driver is the seam between procreg's engine and its storage
// backends: what a backend implements (Store and Tx over flat rows), the
// constructor that turns a Store into a procreg.Registry (NewRegistry),
// the classes of storage errors (ErrorClass), and the registry of dialects
// that backends.Open selects by DSN (Register).
//
// # Experimental
//
// This package is for backend authors, not for users of a registry, and
// it is experimental: its interfaces may change in any minor release as
// the engine gains operations shaped for fewer round trips, the way River
// marks riverdriver. A user of procreg needs only the root package and a
// backend's constructor (or backends.Open).
//
// # The division of work
//
// Every rule of the contract (validation, registration hashing, event
// planning, terminal and wake semantics, lease decisions, replay) is
// implemented once, by the engine behind NewRegistry. A backend stores and
// fetches rows and nothing else: it never decides whether a lease is live
// or an event is allowed. What differs between databases stays in the
// backend's package: how rows map to columns, how a row is locked, which
// clock decides leases (Tx.LeaseNow), which errors mean what
// (Store.Classify) and how a transaction is retried.
//
// # Writing a backend
//
//  1. Implement Store: Write (one read-write transaction; the backend may
//     run fn again after a transient conflict, so fn keeps no state
//     between attempts), Read (a consistent read-only view), ReadOne (one
//     statement without BEGIN/COMMIT), Tier, Classify and Close.
//  2. Implement Tx over your database: every method is one statement (or
//     a fixed few), with the row conventions below. LockProcess must hold
//     a write lock on the row until the transaction ends, so that
//     concurrent appends to one process serialize; LeaseNow is the clock
//     every lease decision uses (a database's own clock where it has one,
//     read in the same statement as LockProcess where possible).
//     LockProcesses locks several rows in id order (RegisterProcesses);
//     ClaimCandidates is the pre-filter of a batch claim (ClaimNext): the
//     claimable rows in id order, locked SKIP LOCKED where the database
//     can, with the lease clock read in the same statement (the engine
//     decides every row again); UpdateProcessLeases writes the leases of a
//     batch (one statement where the database takes array parameters, else
//     one UpdateProcessLease per row).
//  3. Give the backend a constructor that returns
//     NewRegistry(store, Options{Clock: …}), and register a Dialect with
//     its DSN schemes from an init function, so backends.Open and the
//     procreg command find it.
//  4. Prove it: conformance.Run(t, open) runs every rule of the contract
//     against fresh registries; a durable backend adds
//     conformance.RunDurable (reopen checks and races across
//     connections).
//
// Classify decides what the caller sees: the engine wraps
// procreg.ErrUnavailable around ClassTransient (after the store's own
// retries) and ClassUnavailable (a lost or refused connection), and, when
// the error wraps ErrCommitFailed and is not a definite rollback, says
// that the outcome of the write is unknown. A store that retries must not
// run a write again after its COMMIT failed (sqlkit.Retryable).
//
// A SQL dialect needs less: its schema and queries, compiled by sqlc, and
// the adapter and registration that procreg's generator writes (see
// docs/design.md, "Adding a dialect", and the built-in sqlite, postgres and
// mysql backends). The memory backend (backends/memory) is the smallest
// complete Store to read.
//
// # The change feed
//
// Registry.ProcessesChangedSince is served from a change position that
// every record-changing write stamps on its process row (ProcessRow.
// ChangePos) in the same statement as the row write: InsertProcess and
// UpdateProcess stamp, UpdateProcessLease and UpdateProcessLeases (lease
// claims, renewals and releases) do not. The feed reads rows whose
// (ChangePos, ID) is after the cursor, in that order (an index on
// (change_pos, id); on PostgreSQL on the narrow table process_changes,
// which a trigger keeps equal to processes.change_pos, so that no indexed
// column of the wide row changes on an append), and only below
// the store's visibility horizon, so a change that commits after a
// follower's read can never land behind the follower's cursor; the
// follower sees at least the latest state of every record changed since
// its cursor. The cursor (authenticated, kind "changes") holds the last
// (position, id) served, and Next is never "": on an empty page it stays
// where the follower was. Per store:
//
//   - memory and SQLite: one writer at a time (the store lock, BEGIN
//     IMMEDIATE across connections and OS processes), so a position taken
//     inside the write is ordered like the commits: memory counts in the
//     store; SQLite takes the greatest stamp plus one (view
//     procreg_change_clock), never below a floor that a delete trigger
//     raises, so pruning the newest row cannot hand its position out
//     again. The horizon is everything committed.
//   - PostgreSQL: writers run concurrently, so the stamp is the writing
//     transaction's id (pg_current_xact_id(), 64 bits, never wraps) and
//     the feed serves only rows stamped below the xmin of its statement's
//     snapshot (pg_snapshot_xmin(pg_current_snapshot())): every
//     transaction below it has ended, and any transaction still running or
//     yet to start has an id at or above it. A long-running transaction
//     anywhere on the server (xids are cluster-wide; a forgotten prepared
//     transaction most of all) holds the horizon back: the feed is delayed
//     while it runs, never loses a change.
//   - MySQL/MariaDB: no cheap horizon (information_schema.innodb_trx needs
//     PROCESS and is node-local on Galera), so a one-row counter is
//     advanced (BumpChangeCounter) just before each record-changing row
//     write, which reads it as its stamp; the counter row stays locked
//     until commit, so stamps are handed out in commit order. The price:
//     the tails of record-changing transactions (row write and commit)
//     serialize on that row.
//
// A new statement that changes a process row's record columns must stamp
// change_pos like UpdateProcess (or the feed misses that change); one that
// writes only lease columns must not.
//
// # Row conventions
//
// The rows are flat and every SQL column can be NOT NULL: times are epoch
// milliseconds (UTC); an empty string or a zero flag means "absent"; JSON
// documents are compact JSON text; ids, names and keys compare byte-wise.
package driver
