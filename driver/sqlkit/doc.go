// Package sqlkit is what every SQL dialect of procreg shares: the pieces a
// backend needs around its sqlc-generated queries to become a driver.Store.
// It is EXPERIMENTAL: its API may change in any release until a dialect
// outside this module has been built on it.
//
// # The generated adapter
//
// A dialect does not write its driver.Tx by hand. sqlc compiles the shared
// queries (queries/shared and the dialect's own spellings, same query names
// for every dialect) into a gen package, and procreg's adapter generator
// (internal/adaptergen; `make generate`) writes one more file into that
// package, adapter.go, with
//
//	func NewTx(q *Queries, d *sqlkit.Dialect) driver.Tx
//
// The rule of that file: every driver.Tx method calls the generated query
// of the same meaning, builds its parameters as a plain struct literal
// (field by field from the driver row or the method's arguments) and maps
// each model to its driver row field by field; it decides nothing. What a
// statement's error means is asked of Dialect.Classify; how an error reads
// is Dialect.Fail, Check and Found; which statement answers a
// driver.ListQuery is ListProcesses (and, for pages, bounds and counts,
// PageProcesses, LastProcessID and CountProcesses over FilterOf); the order of a prune batch's deletes
// is PruneBatch. The generated file imports only public packages (driver,
// sqlkit, the standard library), so a dialect in another module can be
// generated the same way.
//
// # The store around it
//
// A backend's driver.Store opens transactions its own way (pgx for
// PostgreSQL, InTx over database/sql for MySQL and SQLite), wraps each in
// NewTx, retries transient conflicts with Retry, answers ReadOne with
// ReadOne, and finishes New/Open with NewRegistry. Database error codes are
// read only in the backend package, by the function it gives as
// Dialect.Classify (also its Store.Classify).
package sqlkit
