package procreg

import (
	"context"
	"time"
)

// Registry is a durable process registry. Every method honours ctx, and is
// safe for concurrent use from many goroutines, connections and OS processes
// sharing one database. Errors wrap the sentinels in errors.go.
//
// Every method that takes a process id rejects a malformed one (empty or
// only white space, over MaxIDBytes, invalid UTF-8, containing U+0000) with
// ErrInvalid, and strings stored as columns or keys must be valid UTF-8
// without U+0000; see docs/design.md for the full rules.
type Registry interface {
	// DurabilityTier says whether facts survive a restart.
	DurabilityTier() DurabilityTier
	// RegisterProcess records a process spec. Registering an identical spec
	// again returns the stored record; a different spec under the same id is
	// ErrRegistrationConflict.
	RegisterProcess(ctx context.Context, reg Registration) (Record, error)
	// SetExternalRef stores the external reference once; the same reference
	// again is a no-op, a different one ErrExternalRefConflict.
	SetExternalRef(ctx context.Context, processID string, ref ExternalRef) (Record, error)
	// GrantHandle lets scope address processID, overwriting any descriptor.
	GrantHandle(ctx context.Context, scope SessionScope, processID string, d HandleDescriptor) (HandleGrant, error)
	// RevokeHandle removes a grant; revoking a missing grant is a no-op.
	RevokeHandle(ctx context.Context, scope SessionScope, processID string) error
	// TransferHandleGrants moves the named grants from one scope to another,
	// all or nothing (ErrNotGranted when from lacks one).
	TransferHandleGrants(ctx context.Context, from, to SessionScope, processIDs []string) error
	// ListHandleGrants lists the scope's grants with their processes, by process id.
	ListHandleGrants(ctx context.Context, scope SessionScope) ([]HandleGrantEntry, error)
	// ListLiveHandleGrants is ListHandleGrants without terminal processes.
	ListLiveHandleGrants(ctx context.Context, scope SessionScope) ([]HandleGrantEntry, error)
	// HasHandleGrant reports whether scope holds a grant to processID.
	HasHandleGrant(ctx context.Context, scope SessionScope, processID string) (bool, error)
	// HandleGrantsForProcess lists a known process's grants by session id.
	HandleGrantsForProcess(ctx context.Context, processID string) ([]HandleGrant, error)
	// DeleteSessionProcessState removes every grant of a session (any frame)
	// and clears wake targets that name it.
	DeleteSessionProcessState(ctx context.Context, sessionID string) (SessionDeleteReport, error)
	// AppendEvent appends one event, materializing its terminal and wake semantics.
	AppendEvent(ctx context.Context, processID string, req AppendRequest) (AppendResult, error)
	// EventsAfter returns the events with sequence > afterSequence, ascending.
	EventsAfter(ctx context.Context, processID string, afterSequence uint64) ([]Event, error)
	// WakeEventsAfter returns unacknowledged wake events with sequence > afterSequence.
	WakeEventsAfter(ctx context.Context, processID string, afterSequence uint64) ([]Event, error)
	// CountEventsThrough counts events of eventType with sequence <= upToSequence.
	CountEventsThrough(ctx context.Context, processID, eventType string, upToSequence uint64) (uint64, error)
	// RecentEvents returns the last limit events in ascending order.
	RecentEvents(ctx context.Context, processID string, limit int) ([]Event, error)
	// CompleteProcess appends the terminal event for out.Kind and returns the record.
	CompleteProcess(ctx context.Context, processID string, out AwaitOutput) (Record, error)
	// RecordFirstStarted stores the first-started fact; the first writer wins.
	RecordFirstStarted(ctx context.Context, processID string, s Started) (Record, error)
	// RequestProcessAbandon stores an abandon request; the first writer wins.
	RequestProcessAbandon(ctx context.Context, processID string, r AbandonRequest) (Record, error)
	// SetProcessWait parks a running process on a wait state.
	SetProcessWait(ctx context.Context, processID string, w WaitState) (Record, error)
	// ClearProcessWait clears the wait state, if any.
	ClearProcessWait(ctx context.Context, processID string) (Record, error)
	// GetProcess returns the record, or ErrNotFound.
	GetProcess(ctx context.Context, processID string) (Record, error)
	// ListProcesses returns the records matching f, sorted by id.
	ListProcesses(ctx context.Context, f ListFilter) ([]Record, error)
	// AckWake records that the wake event at sequence was handled (idempotent).
	AckWake(ctx context.Context, processID string, sequence uint64) error
	// ListNonTerminal returns every running process, sorted by id.
	ListNonTerminal(ctx context.Context) ([]Record, error)
	// ClaimProcessLease claims the process's single-owner lease.
	ClaimProcessLease(ctx context.Context, processID string, owner LeaseOwner, ttl time.Duration) (LeaseClaim, error)
	// ReclaimProcessLease takes a live lease from a holder that is definitely
	// dead, fenced on the observed holder.
	ReclaimProcessLease(ctx context.Context, processID string, owner LeaseOwner, observed Lease, ttl time.Duration) (LeaseClaim, error)
	// RenewProcessLease extends a live lease the caller still holds, else ErrLeaseLost.
	RenewProcessLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// GetProcessLease reads the lease without mutating it; nil when unleased,
	// released or unknown (a malformed id is ErrInvalid, not unknown). The
	// lease returned may be expired.
	GetProcessLease(ctx context.Context, processID string) (*Lease, error)
	// CompleteProcessLease releases the lease when the token matches;
	// otherwise, and for an unknown process, a no-op. A malformed process
	// id is ErrInvalid.
	CompleteProcessLease(ctx context.Context, c LeaseCompletion) error
	// PruneTerminalProcesses deletes terminal processes last updated before
	// cutoff, with everything that belongs to them.
	PruneTerminalProcesses(ctx context.Context, cutoff time.Time) (PruneReport, error)
	// Close releases the registry's resources.
	Close() error

	// AppendEventWithLease is AppendEvent fenced by a lease (SPEC §10): the
	// event is written only while lease is the live lease of
	// lease.ProcessID (same owner incarnation, token and fencing token, not
	// expired by the lease clock), checked in the same transaction as the
	// write; otherwise ErrLeaseLost and nothing is written. An unknown
	// process, a released lease and a terminal process whose lease was
	// released are ErrLeaseLost too. While the lease is live the append
	// follows AppendEvent's rules (replay keys, ErrTerminal for a terminal
	// event on a terminal process).
	AppendEventWithLease(ctx context.Context, lease Lease, req AppendRequest) (AppendResult, error)
	// CompleteProcessWithLease is CompleteProcess fenced by a lease, and
	// releases the lease in the same transaction. Repeating an identical
	// completion after success returns the stored record (not
	// ErrLeaseLost); any other call without the live lease is ErrLeaseLost.
	CompleteProcessWithLease(ctx context.Context, lease Lease, out AwaitOutput) (Record, error)

	// ProcessesChangedSince is the change feed: records whose stored state
	// changed after cursor ("" = from the beginning), in the order the
	// changes became visible, at most limit (1..10000, else ErrInvalid). A
	// follower that calls again with Next sees every committed change: at
	// least the latest state of every record changed since its cursor, even
	// when concurrent transactions commit in another order than they
	// started. Lease claims, renewals and releases are not record changes.
	// Pruned records leave the feed. Next is never "": on an empty page it
	// is a cursor at the same place, to poll with. A cursor of another call
	// or registry, or garbage, is ErrInvalid.
	ProcessesChangedSince(ctx context.Context, cursor string, limit int) (Page, error)

	// ListProcessesPage is ListProcesses one bounded page at a time, in
	// ascending id (byte) order. limit must be 1..10000 (else ErrInvalid);
	// cursor is "" to start a scan or the Next of the previous page of the
	// same call (same method and filter, same registry), and anything else
	// is ErrInvalid. The first call captures the greatest matching id as
	// an inclusive upper bound that every later page of the scan keeps, so
	// a process that matches when the scan starts is returned exactly once
	// unless it stops matching before its page is read, and processes
	// registered with greater ids wait for the next scan. Next is "" on the
	// last page: no empty page follows a full one when the registry knows
	// nothing more matches. See docs/design.md, "Pages and counts".
	ListProcessesPage(ctx context.Context, f ListFilter, limit int, cursor string) (Page, error)
	// ListNonTerminalPage is ListNonTerminal one page at a time, with the
	// rules of ListProcessesPage; its cursors are its own (a cursor of
	// ListProcessesPage, even for running processes, is ErrInvalid).
	ListNonTerminalPage(ctx context.Context, limit int, cursor string) (Page, error)
	// CountProcesses returns how many processes ListProcesses(f) would
	// return, counted from an index without reading the records.
	CountProcesses(ctx context.Context, f ListFilter) (int, error)

	// ClaimNext is the batch claim of a worker pool (SPEC §10): it
	// acquires, as ClaimProcessLease would, up to limit (1..1000)
	// processes that a worker may run: running, not externally owned, not
	// owner-bound-and-already-started, whose lease is free or expired,
	// matching f (f.Status must be "" or running), in id order, skipping
	// rows another transaction holds locked. Fewer (or none) is not an
	// error. Each Claimed carries the record and the new lease (fencing
	// token incremented), to present to the fenced writes. owner and ttl
	// are checked as by ClaimProcessLease; bad arguments are ErrInvalid
	// before any storage access. See docs/design.md, "Batches".
	ClaimNext(ctx context.Context, owner LeaseOwner, ttl time.Duration, f ListFilter, limit int) ([]Claimed, error)
	// RegisterProcesses registers each as RegisterProcess would, all or
	// nothing (SPEC §10): one transaction, and on an error nothing is
	// registered and the error names the index. Records come back in the
	// order of regs. The same id twice with the same spec gives both
	// indexes the same record; with different specs it is
	// ErrRegistrationConflict naming both indexes. An empty regs returns an
	// empty slice without touching storage; more than MaxBatch (1000)
	// registrations is ErrInvalid. See docs/design.md, "Batches".
	RegisterProcesses(ctx context.Context, regs []Registration) ([]Record, error)
}
