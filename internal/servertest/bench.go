package servertest

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// Workers is the concurrency of the benchmarks: eight workers, each on a
// process of its own (the throughput floors are stated for it).
const Workers = 8

// parallel runs b.N operations spread over Workers goroutines; worker w calls
// op with its own process id. It reports the throughput as unit/s.
func parallel(b *testing.B, r procreg.Registry, prefix, unit string, op func(ctx context.Context, id string) error) {
	b.Helper()
	parallelN(b, r, Workers, prefix, unit, op)
}

// parallelN is parallel with n workers.
func parallelN(b *testing.B, r procreg.Registry, n int, prefix, unit string, op func(ctx context.Context, id string) error) {
	b.Helper()
	procs := ids(prefix, n)
	for _, id := range procs {
		register(b, r, id)
	}
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	b.ResetTimer()
	start := time.Now()
	for _, id := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for next.Add(1) <= int64(b.N) {
				if err := op(ctx, id); err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if first != nil {
		b.Fatal(first)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), unit+"/s")
}

// AppendEventParallel measures AppendEvent from Workers goroutines, each
// appending to its own process.
func AppendEventParallel(b *testing.B, r procreg.Registry) {
	AppendEventWorkers(b, r, Workers)
}

// AppendEventWorkers is AppendEventParallel with n workers: with more
// workers than the registry runs write transactions at once, group commit
// coalesces their appends (driver.GroupCommit).
func AppendEventWorkers(b *testing.B, r procreg.Registry, n int) {
	payload := json.RawMessage(`{"progress":0.5,"note":"benchmark"}`)
	parallelN(b, r, n, "append", "appends", func(ctx context.Context, id string) error {
		_, err := r.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.waiting", Payload: payload})
		return err
	})
}

// ClaimComplete measures ClaimProcessLease + CompleteProcessLease cycles from
// Workers goroutines, each cycling the lease of its own process.
func ClaimComplete(b *testing.B, r procreg.Registry) {
	parallel(b, r, "lease", "cycles", func(ctx context.Context, id string) error {
		c, err := r.ClaimProcessLease(ctx, id, owner(id), time.Minute)
		if err != nil {
			return err
		}
		if !c.Acquired {
			b.Errorf("claim of %s: busy with %+v; want acquired (each worker owns its process)", id, c.Lease)
		}
		return r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: id, Token: c.Lease.Token})
	})
}

// GetProcess measures the latency of one GetProcess at a time on a warm
// connection: a point read, so its cost is its round trips.
func GetProcess(b *testing.B, r procreg.Registry) {
	const id = "get"
	register(b, r, id)
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.GetProcess(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// AppendEventWithLeaseParallel is AppendEventParallel through the fenced
// append: each worker claims its process once (on its first operation) and
// then appends under that lease, so the two benchmarks differ only by the
// lease check inside the write (SPEC §10: at most 10% dearer).
func AppendEventWithLeaseParallel(b *testing.B, r procreg.Registry) {
	payload := json.RawMessage(`{"progress":0.5,"note":"benchmark"}`)
	var mu sync.Mutex
	leases := map[string]procreg.Lease{}
	parallel(b, r, "fenced", "appends", func(ctx context.Context, id string) error {
		mu.Lock()
		l, ok := leases[id]
		mu.Unlock()
		if !ok {
			c, err := r.ClaimProcessLease(ctx, id, owner(id), time.Hour)
			if err != nil {
				return err
			}
			l = c.Lease
			mu.Lock()
			leases[id] = l
			mu.Unlock()
		}
		_, err := r.AppendEventWithLease(ctx, l, procreg.AppendRequest{EventType: "process.waiting", Payload: payload})
		return err
	})
}
