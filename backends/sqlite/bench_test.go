package sqlite

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/servertest"
)

// benchSync lets a run compare synchronous settings:
// go test -run '^$' -bench . ./backends/sqlite -args -sqlite.sync=NORMAL
var benchSync = flag.String("sqlite.sync", "FULL", "synchronous setting for the benchmarks (FULL or NORMAL)")

func benchRegistry(b *testing.B) (procreg.Registry, *sqliteStore) {
	b.Helper()
	c := defaultConfig()
	c.synchronous = *benchSync
	s, err := openStore(context.Background(), filepath.Join(b.TempDir(), "bench.db"), c)
	if err != nil {
		b.Fatal(err)
	}
	reg := driver.NewRegistry(s, driver.Options{Clock: c.clock, Group: c.group})
	b.Cleanup(func() { reg.Close() })
	return reg, s
}

// ToolRegistration is a minimal tool registration; exported (test-only) so
// the external tests share it.
func ToolRegistration(id string) procreg.Registration {
	return procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"cmd":"make test"}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:bench",
		EventTypes:  []procreg.EventType{{Name: "log"}},
	}
}

// BenchmarkAppendEvent appends to one process; ops/s = 1e9 / ns/op.
func BenchmarkAppendEvent(b *testing.B) {
	reg, _ := benchRegistry(b)
	ctx := context.Background()
	if _, err := reg.RegisterProcess(ctx, ToolRegistration("p")); err != nil {
		b.Fatal(err)
	}
	req := procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"line":"compiling"}`)}
	b.ResetTimer()
	for b.Loop() {
		if _, err := reg.AppendEvent(ctx, "p", req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkAppendEventWorkers appends from 8, 32 and 100 goroutines, each
// to a process of its own, with the default group commit ("grouped": the
// appends that queue behind the one writer share its next transaction and
// its fsync) and with group commit off ("alone": one transaction each).
func BenchmarkAppendEventWorkers(b *testing.B) {
	for _, n := range []int{servertest.Workers, 32, 100} {
		for _, mode := range []string{"grouped", "alone"} {
			b.Run(fmt.Sprintf("%d/%s", n, mode), func(b *testing.B) {
				c := defaultConfig()
				c.synchronous = *benchSync
				if mode == "alone" {
					c.group = driver.GroupCommit{}
				}
				s, err := openStore(context.Background(), filepath.Join(b.TempDir(), "bench.db"), c)
				if err != nil {
					b.Fatal(err)
				}
				reg := driver.NewRegistry(s, driver.Options{Clock: c.clock, Group: c.group})
				defer reg.Close()
				servertest.AppendEventWorkers(b, reg, n)
			})
		}
	}
}

// BenchmarkAppendEventWithLease is BenchmarkAppendEvent through the fenced
// append, under a lease claimed once: the difference is the lease check
// inside the write (SPEC §10: at most 10% dearer).
func BenchmarkAppendEventWithLease(b *testing.B) {
	reg, _ := benchRegistry(b)
	ctx := context.Background()
	if _, err := reg.RegisterProcess(ctx, ToolRegistration("p")); err != nil {
		b.Fatal(err)
	}
	c, err := reg.ClaimProcessLease(ctx, "p", procreg.LeaseOwner{OwnerID: "bench", IncarnationID: "bench-1"}, time.Hour)
	if err != nil || !c.Acquired {
		b.Fatalf("claim: %+v %v", c, err)
	}
	req := procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"line":"compiling"}`)}
	b.ResetTimer()
	for b.Loop() {
		if _, err := reg.AppendEventWithLease(ctx, c.Lease, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkRegisterProcess registers distinct processes.
func BenchmarkRegisterProcess(b *testing.B) {
	reg, _ := benchRegistry(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, err := reg.RegisterProcess(ctx, ToolRegistration(fmt.Sprintf("proc-%09d", i))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkListWaiting lists the 10 waiting processes among 100,000
// running ones. The rows are cloned from one registered process through
// the store in large transactions, so setup takes seconds, not minutes.
func BenchmarkListWaiting(b *testing.B) {
	const total, waiting = 100_000, 10
	reg, s := benchRegistry(b)
	ctx := context.Background()
	if _, err := reg.RegisterProcess(ctx, ToolRegistration("template")); err != nil {
		b.Fatal(err)
	}
	var tmpl driver.ProcessRow
	err := s.Read(ctx, func(ctx context.Context, tx driver.Tx) error {
		var err error
		tmpl, _, err = tx.GetProcess(ctx, "template")
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 10_000
	for start := 1; start < total; start += batch {
		err := s.Write(ctx, func(ctx context.Context, tx driver.Tx) error {
			for i := start; i < min(start+batch, total); i++ {
				row := tmpl
				row.ID = fmt.Sprintf("proc-%09d", i)
				if i%(total/waiting) == 1 {
					row.Waiting, row.WaitKind, row.WaitName, row.WaitSinceMs = true, "signal", "approval", tmpl.CreatedAtMs
				}
				if err := tx.InsertProcess(ctx, row); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	yes := true
	f := procreg.ListFilter{Waiting: &yes}
	recs, err := reg.ListProcesses(ctx, f)
	if err != nil || len(recs) != waiting {
		b.Fatalf("setup: %d waiting, %v; want %d", len(recs), err, waiting)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := reg.ListProcesses(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCountEventsThrough counts through the last of 10 and of 50,000
// matching events (servertest.CountEventsThroughBench).
func BenchmarkCountEventsThrough(b *testing.B) {
	reg, s := benchRegistry(b)
	servertest.CountEventsThroughBench(b, reg, s.Write)
}
