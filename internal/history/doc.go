// Package history checks recorded histories of concurrent registry calls
// for linearizability with porcupine (github.com/anishathalye/porcupine).
//
// A history is made by Clients clients (goroutines, or goroutines in
// several OS processes that hand their records over as JSON) calling one
// registry database at once. Round r of a history works on two fresh
// processes, and the checker partitions by process:
//
//   - a lease process (LeasePrefix): claim and reclaim (ttl one hour, or 0
//     for an already-expired lease), renew, release (CompleteProcessLease),
//     read (GetProcessLease), the fenced writes AppendEventWithLease and
//     CompleteProcessWithLease, and at the end the length of its log;
//   - a log process (LogPrefix): appends with and without replay keys
//     (replays and replay conflicts), EventsAfter and CountEventsThrough.
//
// The model (Model) is the sequential specification of SPEC §5 and §10 for
// one process. It needs no clock for one-hour leases. A ttl-0 lease is
// expired for every call that starts after the write that made it returned
// (its ExpiresAt is at most the database clock at that write); a call
// already running may still see it live (MySQL's NOW(3) is read at
// statement start, PostgreSQL's now() at transaction start), so the model
// allows both there.
//
// Failed calls: an error wrapping ErrUnavailable without
// driver.ErrCommitFailed failed before anything could commit, and the
// model requires it to have had no effect; an interrupted commit or the
// context's error has an unknown outcome: its return time is open
// (Unbounded), so porcupine may place its effect anywhere after its call,
// or nowhere. A failed read is left out. Any other error (not a contract
// sentinel) is reported as unexpected.
//
// After the clients finish, Final reads every process back (retrying
// through outages); the checker holds those reads to the history too, and
// AckedLost lists acknowledged appends the final logs do not hold.
//
// Multi-node dialects: a backend runs the same histories by calling
// Backend (or Run and Verify) with registries on different nodes, client k
// on regs[k%len(regs)]; that is the hook for a Galera or MariaDB cluster
// dialect.
package history
