// Package core holds the pure rules every backend shares, behind the
// contract of package procreg: argument validation, canonical JSON and the
// registration hash, JSON number bounds, payload schemas (compiled once and
// cached), selectors, terminal and wake materialization, append planning,
// lease decisions and list criteria. It does no I/O; the engine (package
// driver) composes it with storage. The rules it fixes where the contract is
// silent are listed in docs/design.md.
package core
