// Package soak holds `make soak` (TestSoak, run only when
// PROCREG_SOAK_BACKEND is set): the demo fleet (internal/demo, the procreg
// binary's `demo --json`, round after round, with its worker SIGKILLs and
// SIGSTOP stalls) and, next to it on the same database, checked histories
// (internal/history), for PROCREG_SOAK_DURATION (default 10m). On
// postgres and mysql the server is an instance of the soak's own
// (servertest.StartPostgres / StartMariaDB, never the shared services):
// every 3s every connection to its database is killed from the server
// side, and from 45s on the server is restarted every minute, alternating
// a fast shutdown and an immediate one (a crash). SQLite, embedded, gets
// the fleet's process faults only. It ends with the invariant table over
// all demo rounds and the counts of faults injected and operations
// checked, and fails on any violated invariant, non-linearizable history,
// lost acknowledged write or untyped error.
package soak
