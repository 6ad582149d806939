// Package otelreg instruments a procreg.Registry with OpenTelemetry traces
// and metrics. It is a package of its own so that the root package, the
// backends and everything else that does not import it stay free of any
// telemetry dependency.
//
//	reg, err := backends.Open(ctx, dsn)
//	if err != nil {
//		return err
//	}
//	reg = otelreg.New(reg) // the global providers; or otelreg.WithTracerProvider(tp), otelreg.WithMeterProvider(mp)
//	defer reg.Close()
//
// # Spans
//
// Every call of a Registry method opens one span named "procreg.<Method>"
// (procreg.AppendEvent, procreg.ClaimProcessLease, …), of kind internal,
// as a child of the span in the call's context; the wrapped registry gets
// the span's context, so spans of a database driver's own instrumentation
// nest under it. Attributes: procreg.method; procreg.process_id when the
// call names a process (a lease's process for the lease methods);
// procreg.session_id for the calls on a session scope; procreg.outcome,
// "ok" or the error's class (see Classify); error.type, the class, when
// there was an error; procreg.lease.result, "acquired" or "busy", on a
// successful claim or reclaim; procreg.batch.size (ClaimNext's limit,
// RegisterProcesses' number of registrations) on the batch calls and
// procreg.batch.results (processes claimed, records returned) when they
// succeed. DurabilityTier, a constant answered without
// I/O, is forwarded with neither span nor metrics; Close, which takes no
// context, is a root span.
//
// A span ends with status Error, and the error recorded as an event, when
// the call failed: every class except not_found, lease_lost and terminal
// (see IsFailure). Those three are answers about a process that other
// actors change concurrently — a probe for an unknown or pruned process, a
// fenced write refused because the lease was taken over (the fence working
// as designed), a completion racing another — which callers such as sweep
// handle in normal operation; an error status there would page someone
// for a healthy system. They keep their class in procreg.outcome and
// error.type and are counted in procreg.errors.
//
// # Metrics
//
// Instruments of the meter named ScopeName:
//
//   - procreg.calls (counter, {call}): every call, by procreg.method and
//     procreg.outcome;
//   - procreg.errors (counter, {error}): calls that returned an error, by
//     procreg.method and error.type (the class, whether or not IsFailure);
//   - procreg.duration (histogram, seconds): call latency, by
//     procreg.method and procreg.outcome, with buckets from 10µs to 10s;
//   - procreg.lease.claims (counter, {claim}): successful
//     ClaimProcessLease and ReclaimProcessLease calls by procreg.method and
//     procreg.lease.result, acquired or busy (a claim that errs counts in
//     the three above only), and for ClaimNext one acquired claim per
//     process it claimed;
//   - procreg.fenced_writes.refused (counter, {write}):
//     AppendEventWithLease and CompleteProcessWithLease calls refused with
//     ErrLeaseLost, by procreg.method — a stale worker fenced off.
//
// Process and session ids are span attributes only, never metric
// attributes: their cardinality is unbounded.
//
// # Error classes
//
// Classify maps an error to the first sentinel it wraps: not_found,
// invalid, registration_conflict, external_ref_conflict, replay_conflict,
// terminal, not_granted, lease_lost, unavailable (procreg's sentinels, in
// that order), canceled and deadline_exceeded (the context's), and other
// for anything else (a storage failure no backend classified).
//
// # Optional interfaces
//
// New returns a procreg.Registry. When the wrapped registry is an
// await.Notifier (PostgreSQL's), the wrapper is one too and forwards
// WatchProcess untraced, so await.Terminal and await.Event keep waking
// early through it; when it is not, the wrapper is not either, so await
// polls as it would on the bare registry. Every wrapper also implements
// Unwrapper: Unwrap returns the wrapped registry, for any other interface
// a caller wants to type-assert.
//
// # Cost
//
// Per call, with OpenTelemetry's no-op providers the wrapper allocates
// one object (48 B: the context carrying the non-recording span); with
// the global providers while no SDK is installed, three (240 B); with the
// SDK sampling every span, eight (about 1.5 KB, the span itself). A
// successful call builds no metric attributes: their sets are computed
// once per method in New. BenchmarkOverhead measures the wrapper alone
// (over a registry that answers at once), BenchmarkWrapped the wrapper
// over the memory backend.
package otelreg
