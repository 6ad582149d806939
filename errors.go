package procreg

import "errors"

// Sentinel errors. Every error a Registry returns wraps one of these (or a
// context error, or a storage failure) and names the process and the cause.
var (
	// ErrNotFound: the process is unknown.
	ErrNotFound = errors.New("procreg: process not found")
	// ErrInvalid: an argument or payload is malformed or breaks a rule.
	ErrInvalid = errors.New("procreg: invalid argument")
	// ErrRegistrationConflict: a different spec is registered under the same id.
	ErrRegistrationConflict = errors.New("procreg: registration conflict")
	// ErrExternalRefConflict: a different external reference is already stored.
	ErrExternalRefConflict = errors.New("procreg: external ref conflict")
	// ErrReplayConflict: the replay key is stored with another event type or payload.
	ErrReplayConflict = errors.New("procreg: replay conflict")
	// ErrTerminal: the process is already terminal.
	ErrTerminal = errors.New("procreg: process is terminal")
	// ErrNotGranted: the scope holds no grant to the process.
	ErrNotGranted = errors.New("procreg: handle not granted")
	// ErrLeaseLost: the lease is missing or expired, or was superseded.
	ErrLeaseLost = errors.New("procreg: lease missing or expired")
	// ErrUnavailable: the storage could not complete the call now
	// (contention that outlasted the retries, a failover, a lost
	// connection). A retry may succeed. When a write's commit was
	// interrupted its outcome is unknown, and the message says so; replay
	// keys make such a retry safe.
	ErrUnavailable = errors.New("procreg: storage unavailable")
)
