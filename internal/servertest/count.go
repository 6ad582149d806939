package servertest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// CountSizes are the numbers of matching events CountEventsThroughBench
// counts through: the contract calls CountEventsThrough the per-signal
// query whose cost should stay flat, so the largest should cost about what
// the smallest does (issue 14: within 2x).
var CountSizes = []int{10, 50000}

// Write runs fn in one write transaction over a backend's storage seam
// (driver.Store.Write, or the generated adapter over one database
// transaction).
type Write func(ctx context.Context, fn func(ctx context.Context, tx driver.Tx) error) error

// countRegistration declares the event types CountEventsThroughBench
// writes.
func countRegistration(id string) procreg.Registration {
	return procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"tool":"count"}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:servertest",
		EventTypes:  []procreg.EventType{{Name: "signal"}, {Name: "progress"}},
	}
}

// SeedEvents appends events of the given types, in order, to the
// registered process id in one transaction of write, with the statements
// an append runs (LockProcess, InsertEvent per event, UpdateProcess for
// the new last sequence): the store computes whatever it keeps per event
// (events.type_ordinal) as an append would, and tens of thousands of
// events take seconds, not the minutes of one transaction each.
func SeedEvents(ctx context.Context, write Write, id string, types []string) error {
	return write(ctx, func(ctx context.Context, tx driver.Tx) error {
		row, found, err := tx.LockProcess(ctx, id)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("seed events: no process %q", id)
		}
		for _, typ := range types {
			row.LastSequence++
			if err := tx.InsertEvent(ctx, driver.EventRow{
				ProcessID: id, Sequence: row.LastSequence, EventType: typ,
				Payload: `{}`, OccurredAtMs: row.UpdatedAtMs,
			}); err != nil {
				return err
			}
		}
		return tx.UpdateProcess(ctx, row)
	})
}

// CountEventsThroughBench measures CountEventsThrough through the last
// event, on a process holding n events of the counted type (every tenth
// followed by one of another type), for each n of CountSizes. Every
// process is seeded before the first measurement, so each size is counted
// in the same table and only the number of matching events differs. write
// seeds the events (SeedEvents) in the store r runs on.
func CountEventsThroughBench(b *testing.B, r procreg.Registry, write Write) {
	ctx := context.Background()
	id := func(n int) string { return fmt.Sprintf("count-%d", n) }
	for _, n := range CountSizes {
		if _, err := r.RegisterProcess(ctx, countRegistration(id(n))); err != nil {
			b.Fatal(err)
		}
		var types []string
		for i := 1; i <= n; i++ {
			types = append(types, "signal")
			if i%10 == 0 {
				types = append(types, "progress")
			}
		}
		if err := SeedEvents(ctx, write, id(n), types); err != nil {
			b.Fatalf("seed %d events of %s: %v", len(types), id(n), err)
		}
	}
	for _, n := range CountSizes {
		b.Run(fmt.Sprintf("matching=%d", n), func(b *testing.B) {
			for b.Loop() {
				got, err := r.CountEventsThrough(ctx, id(n), "signal", math.MaxUint64)
				if err != nil {
					b.Fatal(err)
				}
				if got != uint64(n) {
					b.Fatalf("CountEventsThrough(%s, signal) = %d; want %d", id(n), got, n)
				}
			}
		})
	}
}
