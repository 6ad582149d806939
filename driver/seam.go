package driver

import (
	"context"
	"time"

	"github.com/procreg/procreg"
)

// ProcessRow is one row of the processes table.
type ProcessRow struct {
	ID                    string
	RegistrationHash      string
	Disposition           string
	InputKind             string
	IdentityKind          string
	DefinitionFingerprint string // hex SHA-256 of the canonical definition; "" when absent
	// Spec is the immutable registration document (input, identity, event
	// types, provenance, env ref) as canonical JSON, whose SHA-256 is
	// RegistrationHash. The engine writes it once and reads it back by that
	// hash (a decoded spec is cached per hash), so a store returns it as
	// stored, byte for byte.
	Spec string

	WakeTargetSession string // "" when the process has no wake target
	WakeTargetFrame   string

	CreatedAtMs int64
	UpdatedAtMs int64

	Status      string // "running" or a terminal state
	AwaitOutput string // JSON of procreg.AwaitOutput; "" while running

	ExternalRefBackend  string // "" when no external ref is set
	ExternalRefID       string
	ExternalRefMetadata string // JSON; "" when absent

	FirstStartedOwner string // JSON of procreg.LeaseOwner; "" when not started
	FirstStartedAtMs  int64

	AbandonRequested     bool
	AbandonRequestedBy   string
	AbandonRequestedAtMs int64
	AbandonReason        string

	Waiting       bool
	WaitKind      string
	WaitName      string
	WaitEventType string
	WaitKey       string
	WaitOrdinal   int64 // stored as a signed 64-bit integer; see the engine for the mapping
	WaitSinceMs   int64

	LastSequence int64 // the highest event sequence; 0 before the first event

	LeaseToken         string // "" when unleased or released
	LeaseOwner         string // JSON of procreg.LeaseOwner; "" when released
	LeaseOwnerID       string
	LeaseIncarnationID string
	LeaseFencingToken  int64 // survives release; only grows
	LeaseClaimedAtMs   int64
	LeaseExpiresAtMs   int64

	// ChangePos is the change-feed position of the row's latest record
	// change. The store stamps it on InsertProcess and UpdateProcess (never
	// on UpdateProcessLease) and ignores the value the engine passes; what
	// it counts is the store's (see ProcessesChangedSince and the package
	// docs, "The change feed").
	ChangePos int64
}

// EventRow is one row of the events table.
type EventRow struct {
	ProcessID     string
	Sequence      int64
	EventType     string
	Payload       string // JSON
	ReplayKey     string // "" when none
	TerminalState string // "" when the event has no terminal semantics
	AwaitOutput   string // JSON of procreg.AwaitOutput; "" when not terminal
	HasWake       bool   // the event materialized wake semantics
	WakeInput     string
	WakeDedupeKey string
	// WakeTargetSession and WakeTargetFrame are the scope the wake delivery
	// was addressed to when the event was appended ("" = no delivery), so a
	// replay re-materializes that delivery whatever the target is now.
	WakeTargetSession string
	WakeTargetFrame   string
	OccurredAtMs      int64
}

// GrantRow is one row of the handle grants table, keyed by (ScopeID, ProcessID).
type GrantRow struct {
	ScopeID         string
	ProcessID       string
	SessionID       string
	DescriptorKind  string
	DescriptorLabel string
}

// GrantEntryRow is a grant joined with its process.
type GrantEntryRow struct {
	Grant   GrantRow
	Process ProcessRow
}

// ListQuery selects processes. Every field is already normalized by the engine.
type ListQuery struct {
	Status                string  // a state, or "" for every state
	DefinitionFingerprint *string // nil: no filter
	Waiting               *bool   // nil: no filter
}

// Store is a backend's storage. Implementations are safe for concurrent use.
type Store interface {
	// Write runs fn in one read-write transaction and commits when fn returns
	// nil; any error rolls everything back. SQLite takes the write lock up
	// front. A backend may run fn again after a transient conflict
	// (deadlock, serialization failure, busy), so fn must not leak state
	// between attempts.
	Write(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Read runs fn with a consistent read-only view.
	Read(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// ReadOne runs fn, which issues exactly one reading statement, outside
	// any explicit transaction: one round trip on a server, where Read
	// costs three (BEGIN, the statement, COMMIT). One statement sees one
	// consistent snapshot on its own, so the result is the same as Read's.
	// fn must not write, lock or call LeaseNow, and a multi-statement read
	// that needs one view of several statements uses Read. A ctx already
	// cancelled returns its error without touching storage.
	ReadOne(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Tier reports the durability tier.
	Tier() procreg.DurabilityTier
	// Classify says what a storage error returned by this store's
	// transactions means (see ErrorClass). It is the only place a
	// database's error codes are interpreted; the engine and every tool
	// above it ask the store instead of matching driver errors.
	Classify(err error) ErrorClass
	// Close releases the store's resources.
	Close() error
}

// Tx is the set of storage operations the engine composes. All ids and keys
// compare byte-wise. Unless a method says otherwise, methods that return
// lists return them in the order named.
type Tx interface {
	// LeaseNow is the clock every lease decision and lease timestamp uses:
	// the database clock on PostgreSQL and MySQL (read inside this
	// transaction, ideally in the same statement as LockProcess), the
	// injected clock elsewhere.
	LeaseNow(ctx context.Context) (time.Time, error)

	// GetProcess reads a process; found is false when it does not exist.
	GetProcess(ctx context.Context, id string) (row ProcessRow, found bool, err error)
	// LockProcess reads a process and holds a write lock on its row until
	// the transaction ends (SELECT … FOR UPDATE where the database has it).
	LockProcess(ctx context.Context, id string) (row ProcessRow, found bool, err error)
	// LockProcesses is LockProcess for several processes at once: ids is
	// sorted and distinct, and it returns the rows of the registered ones,
	// sorted by id, each locked until the transaction ends. The locks are
	// taken in id order, the order every multi-process writer uses, so two
	// such transactions cannot deadlock on each other. The lease clock
	// (LeaseNow) is read by the same statement, as by LockProcess.
	LockProcesses(ctx context.Context, ids []string) ([]ProcessRow, error)
	// InsertProcess inserts a new process row, stamping its ChangePos (a
	// record change, see ProcessesChangedSince).
	InsertProcess(ctx context.Context, row ProcessRow) error
	// UpdateProcess writes every mutable column of an existing row (all but
	// ID, RegistrationHash, Disposition, InputKind, IdentityKind,
	// DefinitionFingerprint, Spec and CreatedAtMs). It is a record change:
	// the store stamps ChangePos in the same statement (MySQL: just after
	// one statement that advances its change counter).
	UpdateProcess(ctx context.Context, row ProcessRow) error
	// ListProcesses returns matching rows sorted by id.
	ListProcesses(ctx context.Context, q ListQuery) ([]ProcessRow, error)
	// ListProcessesByWakeTargetSession returns the rows whose wake target
	// session is sessionID, sorted by id.
	ListProcessesByWakeTargetSession(ctx context.Context, sessionID string) ([]ProcessRow, error)

	// InsertEvent inserts an event row.
	InsertEvent(ctx context.Context, row EventRow) error
	// EventByReplayKey finds the event stored under a replay key.
	EventByReplayKey(ctx context.Context, processID, replayKey string) (row EventRow, found bool, err error)
	// EventsAfter returns events with Sequence > after, ascending.
	EventsAfter(ctx context.Context, processID string, after int64) ([]EventRow, error)
	// WakeEventsAfter returns events with HasWake, Sequence > after and no
	// wake ack, ascending.
	WakeEventsAfter(ctx context.Context, processID string, after int64) ([]EventRow, error)
	// CountEventsThrough counts events of eventType with Sequence <= upTo.
	// It is the per-signal query, so its cost must not grow with the
	// count: the SQL stores keep each event's ordinal among its process's
	// events of the same type (events.type_ordinal, computed by
	// InsertEvent) and read the ordinal of the last such event at or
	// before upTo, one index probe; the memory store binary-searches the
	// type's sequences.
	CountEventsThrough(ctx context.Context, processID, eventType string, upTo int64) (int64, error)
	// RecentEvents returns the last limit events (limit > 0), ascending.
	RecentEvents(ctx context.Context, processID string, limit int64) ([]EventRow, error)
	// InsertWakeAck records an ack; an existing ack is left as it is.
	InsertWakeAck(ctx context.Context, processID string, sequence int64) error

	// GetGrant reads one grant.
	GetGrant(ctx context.Context, scopeID, processID string) (row GrantRow, found bool, err error)
	// UpsertGrant inserts a grant or overwrites its session and descriptor.
	UpsertGrant(ctx context.Context, row GrantRow) error
	// DeleteGrant removes one grant; a missing grant is not an error.
	DeleteGrant(ctx context.Context, scopeID, processID string) error
	// ListGrantsByScope returns the scope's grants with their processes,
	// sorted by process id.
	ListGrantsByScope(ctx context.Context, scopeID string) ([]GrantEntryRow, error)
	// ListGrantsByProcess returns a process's grants sorted by session id,
	// then scope id.
	ListGrantsByProcess(ctx context.Context, processID string) ([]GrantRow, error)
	// ListGrantsBySession returns every grant whose SessionID is sessionID,
	// in any scope, sorted by process id, then scope id.
	ListGrantsBySession(ctx context.Context, sessionID string) ([]GrantRow, error)
	// DeleteGrantsBySession removes every grant of a session and returns how many.
	DeleteGrantsBySession(ctx context.Context, sessionID string) (int64, error)
	// CountGrantsForProcess counts a process's grants.
	CountGrantsForProcess(ctx context.Context, processID string) (int64, error)

	// PruneBatch deletes at most limit terminal processes with UpdatedAtMs <
	// cutoffMs, with their events, wake acks and grants, and reports how
	// many processes and events it deleted. A backend with row locks skips
	// the rows other transactions hold locked instead of waiting for them
	// (SKIP LOCKED), so a batch may come back short while more remain. The
	// SQL stores find the candidates in an index on a column set only
	// while a process is terminal (processes.prune_at_ms, generated from
	// status and updated_at_ms): a range read of at most limit entries,
	// and no index entry changes while a process runs, so its appends can
	// be HOT updates on PostgreSQL.
	PruneBatch(ctx context.Context, cutoffMs int64, limit int) (processes, events int64, err error)

	// CursorKey returns the database's cursor secret: random text made
	// once, when the database was created (a SQL dialect's migration
	// stores it in procreg_meta), and never changed. The engine
	// authenticates page and change-feed cursors with it, so that a cursor
	// made by another database is rejected.
	CursorKey(ctx context.Context) (string, error)

	// UpdateProcessLease writes only the lease columns of an existing row
	// (LeaseToken through LeaseExpiresAtMs). A lease claim, renewal or
	// release is not a record change: ChangePos is left as it is, so the
	// process keeps its place in the change feed.
	UpdateProcessLease(ctx context.Context, row ProcessRow) error
	// UpdateProcessLeases is UpdateProcessLease for several existing rows
	// (sorted by id, distinct): a batch of lease writes, not record
	// changes. PostgreSQL writes them in one statement; a store may also
	// write them one UpdateProcessLease at a time.
	UpdateProcessLeases(ctx context.Context, rows []ProcessRow) error
	// ClaimCandidates returns the rows ClaimNext may lease, sorted by id,
	// at most limit (1..procreg.MaxBatch): rows matching q (whose Status
	// is always "running"), not externally owned, not owner-bound with a
	// first-started fact, whose lease is free (LeaseToken "") or expired
	// (LeaseExpiresAtMs <= the lease clock, read by this same statement on
	// the servers, which LeaseNow then returns). PostgreSQL and MySQL lock
	// them FOR UPDATE SKIP LOCKED: rows other transactions hold locked are
	// skipped, not waited for. A store with one writer reads them plainly.
	// It is a pre-filter: the engine decides every row again with
	// core.Claimable and core.DecideClaim at LeaseNow and leases only the
	// rows they accept, so a store may return more than the rules allow,
	// but every row it leaves out is a claim lost.
	ClaimCandidates(ctx context.Context, q ListQuery, limit int) ([]ProcessRow, error)
	// ProcessesChangedSince returns at most limit rows (limit > 0) whose
	// (ChangePos, ID) is after (afterPos, afterID), in (ChangePos, ID)
	// order, leaving out rows the store cannot yet place for good: a row
	// is returned only when no transaction that has not yet committed can
	// stamp a position at or below it. Stores whose stamps are handed out
	// in commit order (one writer, or a counter held until commit) return
	// every committed row; PostgreSQL, whose stamps are transaction ids,
	// returns rows below its visibility horizon (the snapshot's xmin).
	ProcessesChangedSince(ctx context.Context, afterPos int64, afterID string, limit int) ([]ProcessRow, error)
	// ListProcessesPage returns the rows matching q.ListQuery with
	// q.After < ID <= q.Bound (byte order), sorted by id, at most q.Limit
	// (> 0) of them. It reads an index range in id order, not every
	// matching row (see PageQuery).
	ListProcessesPage(ctx context.Context, q PageQuery) ([]ProcessRow, error)
	// LastProcessID returns the greatest id matching q; found is false when
	// no row matches. It is the bound a keyset scan captures: an index
	// probe, not a walk.
	LastProcessID(ctx context.Context, q ListQuery) (id string, found bool, err error)
	// CountProcesses counts the rows ListProcesses(q) would return, from
	// an index (an index-only read where the database has it).
	CountProcesses(ctx context.Context, q ListQuery) (int64, error)
}
