package procreg

import "time"

// Limits a caller must respect: longer or larger is ErrInvalid on every
// backend.

// MaxIDBytes is the longest process id, in bytes.
const MaxIDBytes = 255

// MaxNameBytes is the longest name, key or id other than a process id that
// the registry stores in an indexed column: session and frame ids (the whole
// scope id, "session:<sid>/frame:<fid>", is at most this long), event type
// names, replay keys, wait names, keys and event types, lease owner and
// incarnation ids, external ref backend and id, handle descriptor kinds,
// abandon requested_by, identity and engine kinds. It is the narrowest
// column any backend gives them (MySQL VARBINARY(1024)), so the same call is
// ErrInvalid on every backend rather than a storage error on one.
const MaxNameBytes = 1024

// MaxWaitKindBytes is the longest wait kind (a short tag; MySQL
// VARBINARY(64)).
const MaxWaitKindBytes = 64

// FrameSeparator joins a session id and an agent frame id in a scope id
// (SessionScope.ID). A session id may not contain it, so that every scope id
// names exactly one (session, frame) pair: otherwise session "x/frame:y" and
// session "x" with frame "y" would share grants and wake ids. Frame ids may
// contain it (the first separator in a scope id ends the session id).
const FrameSeparator = "/frame:"

// MaxNumberBytes is the longest JSON number literal the registry accepts, in
// bytes (sign, digits, point and exponent). Longer literals are ErrInvalid:
// the registry never needs them, and bounding them keeps parsing and
// canonicalizing linear.
const MaxNumberBytes = 1024

// MaxNumberExponent bounds the decimal exponent of every JSON number the
// registry accepts, both as written (the e±x part) and of the value in
// scientific notation (1.5e3 has 3, 0.001 has -3): beyond ±MaxNumberExponent
// a number is ErrInvalid. JSON Schema validation turns numbers into exact
// rationals; an exponent of 10^6 and more made the schema library panic, and
// one near 10^6 cost tens of milliseconds per number. At 1,000 the largest
// rational is about 3,300 bits, microseconds of arithmetic.
const MaxNumberExponent = 1000

// MaxTime is the latest instant a registry stores or returns: later times
// (a huge ttl, a cutoff far in the future) saturate to it instead of
// overflowing. It is also the last instant time.Time.MarshalJSON can encode,
// so a saturated Lease still round-trips through JSON.
var MaxTime = time.Date(9999, time.December, 31, 23, 59, 59, 999_000_000, time.UTC)

// MaxBatch is the largest batch of the batch methods (SPEC §10): ClaimNext
// claims at most MaxBatch processes per call (its limit is 1..MaxBatch) and
// RegisterProcesses takes at most MaxBatch registrations. Each batch is one
// transaction holding a row lock per process, so the bound keeps a batch's
// locks, its statement parameters and its wait for the slowest row small.
const MaxBatch = 1000
