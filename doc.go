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
//   - Process ids in lookups are checked for length and UTF-8 (ErrInvalid);
//     an empty id is simply unknown.
//   - A negative lease ttl is ErrInvalid; a ttl of 0 yields an expired lease.
//   - Leases do not bump UpdatedAt: a lease is not a fact about the process.
//   - Grants are keyed by (SessionScope.ID(), process id); HandleGrant.SessionID
//     is the raw session id. HasHandleGrant on an unknown process is false.
//   - AckWake records an ack for any sequence of a known process.
//   - Stored JSON is compact; the spec is stored canonically, so optional
//     fields read back as nil and other JSON compares equal by meaning.
//   - A holder is definitely dead only when both owners are local_process
//     liveness on this very machine (same host and boot id as the caller)
//     and the holder's pid is gone, a zombie, or started at another time.
package procreg
