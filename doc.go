// Package procreg is a durable process registry for background work: tool
// calls, agent sub-sessions, engine jobs and externally run jobs. It records
// facts about processes and never runs, kills or supervises anything.
//
// # Model
//
// A host registers a process with RegisterProcess. The Registration is the
// immutable spec: input, identity, declared event types, recovery
// disposition, provenance and execution environment. Registration adds the
// core event types (process.cancel_requested, process.waiting,
// process.resumed and the four terminal types process.completed, .failed,
// .cancelled and .abandoned) when the spec lacks them, validates the spec and
// hashes its canonical JSON (sorted keys, no insignificant whitespace) with
// SHA-256. Registering the same spec twice returns the stored record; a
// different spec under the same id is ErrRegistrationConflict.
//
// Every process has an append-only event log with sequences 1, 2, 3 … and no
// gaps. An event's type must be declared; its payload must satisfy the type's
// JSON Schema (draft 2020-12). A type may carry semantics: a terminal type
// moves the process to a terminal status with an AwaitOutput; a wake type
// materializes a WakeDelivery for a target session. Appends with a replay key
// are idempotent: the same (type, payload) under a stored key returns the
// stored event, anything else is ErrReplayConflict. Terminal types and
// process.cancel_requested require a replay key.
//
// Handle grants say which session scopes may address which processes. A
// fenced single-owner lease per process lets exactly one worker run it at a
// time; its fencing token only grows. Recovery facts (disposition, the
// first-started fact, an abandon request, a wait state) let a sweep decide
// what to do after a crash, and PruneTerminalProcesses deletes old terminal
// processes with everything that belongs to them.
//
// # What every backend shares
//
// This package holds the contract (types, Registry, sentinel errors) and the
// pure rules every backend shares: PrepareRegistration, PlanAppend, the lease
// decisions (DecideClaim, DecideReclaim, DecideRenew, DecideRelease),
// liveness (LeaseOwner.IsDefinitelyDeadFor, CurrentProcessLiveness) and
// list-filter matching. Backends only store and load; they all run the same
// engine, so they behave the same.
//
// Rules this package fixes where the contract is silent:
//
//   - JSON values are compared by meaning; the optional JSON fields treat
//     nil, empty and null as absent and read back as nil. An absent event
//     payload is JSON null.
//   - A selected terminal value is used as the AwaitOutput only when it is an
//     object that decodes as one whose kind matches the terminal state
//     (completed↔success, failed↔failure, cancelled↔cancelled,
//     abandoned↔abandoned); otherwise it is wrapped by state.
//   - A template placeholder without a matching field is left as written.
//   - A process id is checked by every method that takes one, lookups
//     included: empty or only white space, longer than MaxIDBytes, invalid
//     UTF-8 or containing U+0000 is ErrInvalid, never ErrNotFound. Because
//     registration trims white space to decide emptiness, a blank id can
//     never name a process, so it is malformed rather than unknown. This
//     holds where the contract forgives unknown ids too: GetProcessLease and
//     CompleteProcessLease of a blank id are ErrInvalid (an unknown
//     well-formed id is still nil and a no-op), and RenewProcessLease of a
//     lease with a blank process id is ErrInvalid, not ErrLeaseLost.
//     Arguments are checked before any storage work, after the context: a
//     cancelled call reports the cancellation even if its arguments are bad.
//   - Stored text: every string the registry stores in a column or uses as a
//     key must be valid UTF-8 without U+0000 (ValidateText), on every
//     backend alike (PostgreSQL TEXT cannot hold U+0000). That covers process
//     ids; session and agent frame ids; event type names, replay keys and
//     const dedupe keys; engine kind, env ref, identity kind and label; external
//     ref backend and id; handle descriptor kind and label; abandon
//     requested_by and reason; wait kind, name, event type and key; lease
//     owner and incarnation ids and liveness strings; and the event type
//     CountEventsThrough counts. A violation is ErrInvalid naming the field
//     and the process, and nothing is written. JSON documents (payloads,
//     await outputs, definitions, metadata) may hold "\u0000" in their
//     strings: JSON text escapes it. A wake input or dedupe key selected from
//     such a string would be stored as a column, so that append is ErrInvalid.
//     JSON text itself must be valid UTF-8 (RFC 8259): invalid bytes are
//     ErrInvalid, not silently replaced.
//   - Name lengths: names, keys and ids other than process ids (session and
//     frame ids, event type names, replay keys, wait names/keys/event types,
//     owner and incarnation ids, external ref backend and id, descriptor
//     kinds, abandon requested_by, identity and engine kinds) are at most
//     MaxNameBytes (1024) bytes, a scope id ("session:<sid>/frame:<fid>")
//     included; a wait kind at most MaxWaitKindBytes (64). Longer is
//     ErrInvalid on every backend (MySQL's columns are that narrow).
//   - JSON numbers are bounded in every document the registry accepts
//     (CheckNumbers): a literal is at most MaxNumberBytes (1024) bytes and its
//     decimal exponent, as written and of the value, within
//     ±MaxNumberExponent (1000). Beyond is ErrInvalid naming the process, so
//     schema validation stays cheap (exact rationals) and cannot panic.
//   - A session id may not contain FrameSeparator ("/frame:"), so each scope
//     id names one (session, frame) pair; frame ids may contain it.
//   - A core event type (process.cancel_requested, process.waiting,
//     process.resumed, process.completed|failed|cancelled|abandoned) may be
//     declared only as built in, as MarshalCanonical(CoreEventTypes()) spells
//     it after normalization (then it is the same registration as leaving it
//     out); any other declaration of a core name is ErrInvalid.
//   - A payload schema of {} or true accepts every payload and is stored,
//     hashed and compared as no schema.
//   - A negative lease ttl is ErrInvalid; a ttl of 0 yields an expired lease.
//   - Leases do not bump UpdatedAt: a lease is not a fact about the process.
//   - Grants are keyed by (SessionScope.ID(), process id); HandleGrant.SessionID
//     is the raw session id. HasHandleGrant on an unknown process is false.
//   - AckWake records an ack for any sequence of a known process.
//   - Stored JSON is compact; the spec is stored canonically, so optional
//     fields read back as nil and other JSON compares equal by meaning.
//   - A holder is definitely dead only when both owners are local_process
//     liveness on this very machine and PID namespace (same host and boot id
//     as the caller; the host id is "<machine id>/pidns:<inode>", so
//     containers sharing a kernel and /etc/machine-id are still told apart)
//     and the holder's pid is gone, a zombie, or started at another time.
package procreg
