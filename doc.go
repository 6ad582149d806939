// Package procreg is a durable process registry for background work: tool
// calls, agent sub-sessions, engine jobs and externally run jobs. It records
// facts about processes and never runs, kills or supervises anything.
//
// # Quick start
//
//	ctx := context.Background()
//	reg, err := backends.Open(ctx, "memory:") // or "sqlite:jobs.db", "postgres://…", "mysql://…"
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer reg.Close()
//
//	_, err = reg.RegisterProcess(ctx, procreg.Registration{
//		ID:          "job-1",
//		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"cmd":"make test"}`)},
//		Disposition: procreg.DispositionRerunnable,
//		EnvRef:      "env:ci",
//		EventTypes:  []procreg.EventType{{Name: "progress"}},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	if _, err := reg.AppendEvent(ctx, "job-1", procreg.AppendRequest{EventType: "progress", Payload: json.RawMessage(`{"pct":40}`)}); err != nil {
//		log.Fatal(err)
//	}
//	rec, err := reg.CompleteProcess(ctx, "job-1", procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`"all green"`)})
//	if err != nil {
//		log.Fatal(err)
//	}
//	events, _ := reg.EventsAfter(ctx, "job-1", 0)
//	fmt.Println(rec.Status.State, string(rec.Status.AwaitOutput.Value), len(events))
//	// completed "all green" 2
//
// backends.Open picks the storage by DSN (package
// github.com/procreg/procreg/backends); each backend package
// (backends/memory, backends/sqlite, backends/postgres, backends/mysql) can
// also be imported alone.
//
// # Overview
//
// A host registers a process with [Registry.RegisterProcess]. The
// [Registration] is the immutable spec: input, identity, declared event
// types, recovery [Disposition], provenance and execution environment. The
// registry adds the core event types (process.cancel_requested,
// process.waiting, process.resumed and the terminal process.completed,
// .failed, .cancelled and .abandoned) and identifies the spec by the SHA-256
// of its canonical JSON: registering the same spec again returns the stored
// [Record], a different spec under the same id is [ErrRegistrationConflict].
//
// Every process has an append-only event log with sequences 1, 2, 3 … and no
// gaps ([Registry.AppendEvent], [Registry.EventsAfter]). An event's type
// must be declared and its payload must satisfy the type's JSON Schema
// (draft 2020-12). A terminal type moves the process to a terminal [Status]
// with an [AwaitOutput]; a wake type materializes a [WakeDelivery] for a
// session. A replay key makes an append idempotent; terminal types and
// process.cancel_requested ([CancelRequested]) require one.
//
// Handle grants say which [SessionScope] may address which processes. A
// fenced single-owner [Lease] per process lets one worker run it at a time
// ([Registry.ClaimProcessLease]); its fencing token only grows, and a live
// lease is reclaimed only from a holder that is definitely dead
// ([LeaseOwner.IsDefinitelyDeadFor]).
// Recovery facts (disposition, first start, abandon request, wait state) let
// the sweep package decide what to do after a crash; the await package waits
// for a process's outcome.
//
// Errors wrap the sentinels ([ErrNotFound], [ErrInvalid], …) and name the
// process. Strings stored as columns or keys must be valid UTF-8 without
// U+0000 and within [MaxIDBytes] or [MaxNameBytes]; JSON numbers within
// [MaxNumberBytes] and [MaxNumberExponent]. Times are milliseconds in UTC,
// saturating at [MaxTime].
//
// All backends run one engine (package driver), so they behave the same;
// package conformance proves it. The rules chosen where the contract is
// silent — id and text checks, JSON comparison, selectors, lease and
// liveness details — are listed once, in docs/design.md in this module.
package procreg
