// Package conformance is the public conformance suite of procreg: every rule
// of the contract (SPEC §5), written once against the procreg.Registry
// interface and run against every backend.
//
// A new dialect proves itself with one call from its own test file:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T) procreg.Registry {
//			return mybackend.New(...) // a fresh, empty registry
//		})
//	}
//
// Run starts one named subtest per rule (grouped by topic: Registration,
// Grants, Events, Leases, ...). Each subtest calls open for a fresh, empty
// registry, may run in parallel with the others, and closes the registry
// through t.Cleanup, so open must not close it itself. The suite only uses
// the public interface: time-dependent rules (lease expiry) use short real
// ttls, never an injected clock, and dead lease holders are made from the
// current OS process's local_process liveness with the pid of an exited
// child or a different process start time.
//
// Durable backends also call RunDurable, which needs a fresh database per
// subtest and opens several independent registries (each with its own
// connection or pool) on it: facts must survive close and reopen, and
// appends and lease claims racing across registries must stay gap-free and
// mutually exclusive:
//
//	func TestConformanceDurable(t *testing.T) {
//		conformance.RunDurable(t, func(t *testing.T) conformance.Opener {
//			dsn := freshDatabase(t) // one empty database per subtest
//			return func(t *testing.T) procreg.Registry {
//				return mybackend.Open(dsn) // a new connection pool each call
//			}
//		})
//	}
//
// A SQL dialect also registers a floor (driver.Floor: the bare driver that
// `procreg bench` measures the registry against) and checks it with
// RunFloor.
//
// Every rule has its own subtest name (Group/Rule), so a failure names the
// rule of the contract that was broken, and `go test -run` can rerun one.
package conformance
