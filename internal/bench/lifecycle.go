package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// The lifecycle operation is a worker pool: producers register processes
// in batches, workers claim runnable ones in batches and run each to its
// end.
const (
	// lifecycleBatch is the registrations of one RegisterProcesses.
	lifecycleBatch = 100
	// lifecycleClaim is ClaimNext's limit.
	lifecycleClaim = 32
)

var lifecycleSpec = opSpec{
	name: "lifecycle",
	what: "a whole process in a worker pool: RegisterProcesses (batches of 100), ClaimNext (up to 32), then AppendEventWithLease and CompleteProcessWithLease (completion and release in one transaction); counts completed processes",
	unit: "processes", floor: fixed(driver.FloorUpdate), prepare: prepLifecycle,
}

var lifecycleOutput = procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`{"ok":true}`)}

// prepLifecycle starts the producers (a quarter as many as the workers,
// at least one), which keep a bounded backlog of registered, unfinished
// processes, and returns the workers: each claims up to lifecycleClaim
// processes at a time and appends to and completes each under its lease.
// A completed process is one operation; its latency is that of its append
// and completion (the batch calls are shared by the processes they serve).
// The processes are the run's alone: ClaimNext filters on the run's
// definition.
func prepLifecycle(ctx context.Context, e *env) (work, error) {
	f := procreg.ListFilter{Definition: e.definition("lifecycle")}
	backlogCap := int64(max(4*lifecycleBatch, 2*e.workers*lifecycleClaim))
	var (
		backlog atomic.Int64 // registered and not yet completed
		next    atomic.Int64 // the next process number
		prodErr atomic.Pointer[error]
		wg      sync.WaitGroup
	)
	batch := func(regs []procreg.Registration) []procreg.Registration {
		base := next.Add(lifecycleBatch) - lifecycleBatch
		for i := range regs {
			regs[i] = e.registration(e.id("life", fmt.Sprintf("%010d", base+int64(i))), "lifecycle")
		}
		return regs
	}
	// The first batch before the workers start, so that they have work
	// from the first moment (as a pool that has been running has).
	if _, err := e.reg.RegisterProcesses(ctx, batch(make([]procreg.Registration, lifecycleBatch))); err != nil {
		return work{}, err
	}
	backlog.Add(lifecycleBatch)
	pctx, cancel := context.WithCancel(ctx)
	for range max(1, e.workers/4) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			regs := make([]procreg.Registration, lifecycleBatch)
			for pctx.Err() == nil {
				if backlog.Load() >= backlogCap {
					select {
					case <-pctx.Done():
					case <-time.After(time.Millisecond):
					}
					continue
				}
				_, err := e.reg.RegisterProcesses(pctx, batch(regs))
				switch {
				case err == nil:
					backlog.Add(lifecycleBatch)
				case pctx.Err() != nil:
				case errors.Is(err, procreg.ErrUnavailable):
				default:
					err = fmt.Errorf("RegisterProcesses: %w", err)
					prodErr.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	stop := func() {
		cancel()
		wg.Wait()
	}
	worker := func(ctx context.Context, w int, m *meter) error {
		owner := e.owner(w)
		for m.running() {
			if err := prodErr.Load(); err != nil {
				return *err
			}
			claimed, err := e.reg.ClaimNext(ctx, owner, time.Minute, f, lifecycleClaim)
			if err != nil {
				if err := m.failed(err); err != nil {
					return fmt.Errorf("ClaimNext: %w", err)
				}
				continue
			}
			if len(claimed) == 0 {
				// The producers are behind: let them run.
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Millisecond):
				}
				continue
			}
			for _, c := range claimed {
				if !m.running() {
					break
				}
				t0 := time.Now()
				_, err := e.reg.AppendEventWithLease(ctx, c.Lease, procreg.AppendRequest{EventType: stepType, Payload: stepPayload})
				if err == nil {
					_, err = e.reg.CompleteProcessWithLease(ctx, c.Lease, lifecycleOutput)
				}
				backlog.Add(-1)
				if err != nil {
					if err := m.failed(err); err != nil {
						return fmt.Errorf("process %s: %w", c.Record.ID, err)
					}
					continue
				}
				m.record(t0)
			}
		}
		return nil
	}
	return work{worker: worker, stop: stop}, nil
}
