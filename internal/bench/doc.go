// Package bench is the engine of `procreg bench`: it measures a
// registry's throughput (operations per second) and latency (p50, p99) for
// the operations a host calls most, and, in the same run and with the same
// connection settings, the database's own floor through the bare driver
// (driver.Floor: one single-row INSERT per transaction, one single-row
// UPDATE per transaction, one primary-key SELECT), and reports each
// operation as a ratio of the floor it is held to:
//
//	register                          INSERT (it inserts a process row)
//	append, fenced-append             UPDATE on the servers (an append locks and
//	                                  updates its process row), INSERT on SQLite
//	                                  (driver.Floor.AppendFloor)
//	claim-complete, lifecycle         UPDATE (they update process rows)
//	get, list-page, events-after,
//	count-through, recent             SELECT
//
// Each operation runs alone, with Config.Workers goroutines, for a warm-up
// and then the measured duration; each worker works on processes of its
// own where the operation needs one, so the figures measure throughput, not
// lock contention. Latencies go into one log-linear histogram per worker
// (hist.go), merged at the end.
//
// A run's processes are scratch: their ids start with
// "procreg-bench-<run>-" and their identity definition is
// {"procreg_bench": "<run>", "op": "<operation>"}. They are left in the
// registry (pruning is not selective: PruneTerminalProcesses would delete
// every terminal process of the database, not only the bench's), so run the
// bench on a scratch database. The floor's rows, in the table
// procreg_bench_floor, are deleted at the end of the run; the (empty) table
// stays, since another run may be using it.
package bench
