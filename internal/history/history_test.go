package history_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/history"
)

// TestMemoryHistories: the in-memory backend's histories are linearizable.
func TestMemoryHistories(t *testing.T) {
	history.Backend(t, history.TotalOps(), func(t *testing.T) []procreg.Registry { return []procreg.Registry{memory.New()} })
}

// broken runs one history on a registry over store and requires the
// checker to reject it.
func broken(t *testing.T, store driver.Store) {
	reg := driver.NewRegistry(store, driver.Options{})
	defer reg.Close()
	c := history.TestConfig("broken", 0)
	ops, unexp, err := history.Run(context.Background(), []procreg.Registry{reg}, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(unexp) > 0 {
		t.Logf("unexpected errors (a broken store may cause them): %d, first %s", len(unexp), unexp[0])
	}
	res := history.Check(ops, history.CheckTimeout)
	t.Logf("%s", res)
	if res.Outcome != "Illegal" {
		t.Fatalf("the checker did not catch the broken store: %s", res)
	}
}

// TestCheckerCatchesLeaseCheckIgnoringExpiry: a store whose locked reads
// make every lease with a token look live (the lease check ignores
// expiry) is not linearizable: ttl-0 leases keep others out.
func TestCheckerCatchesLeaseCheckIgnoringExpiry(t *testing.T) {
	broken(t, ignoreExpiry{memory.NewStore()})
}

// TestCheckerCatchesSequenceReadOutsideTheLock: a store whose appends
// number the event from a sequence read before the transaction took the
// row lock hands out duplicate sequences.
func TestCheckerCatchesSequenceReadOutsideTheLock(t *testing.T) {
	broken(t, &staleSequence{Store: memory.NewStore(), last: map[string]int64{}})
}

// ignoreExpiry: LockProcess reports every lease that has a token as
// expiring at MaxTime.
type ignoreExpiry struct{ driver.Store }

func (s ignoreExpiry) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return s.Store.Write(ctx, func(ctx context.Context, tx driver.Tx) error { return fn(ctx, ignoreExpiryTx{tx}) })
}

type ignoreExpiryTx struct{ driver.Tx }

func (t ignoreExpiryTx) LockProcess(ctx context.Context, id string) (driver.ProcessRow, bool, error) {
	row, found, err := t.Tx.LockProcess(ctx, id)
	if row.LeaseToken != "" {
		row.LeaseExpiresAtMs = procreg.MaxTime.UnixMilli()
	}
	return row, found, err
}

// staleSequence reads every known process's last sequence in a read
// transaction before each write, and the locked row reports that stale
// value to the engine; the event is still stored at the true next
// sequence (a store without a unique key would store a duplicate), so the
// engine acknowledges a sequence another append may also get.
type staleSequence struct {
	driver.Store
	mu   sync.Mutex
	last map[string]int64
}

func (s *staleSequence) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	s.mu.Lock()
	ids := make([]string, 0, len(s.last))
	for id := range s.last {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	snap := map[string]int64{}
	_ = s.Store.Read(ctx, func(ctx context.Context, tx driver.Tx) error {
		for _, id := range ids {
			if row, found, err := tx.GetProcess(ctx, id); err == nil && found {
				snap[id] = row.LastSequence
			}
		}
		return nil
	})
	runtime.Gosched()
	time.Sleep(100 * time.Microsecond) // the window between the read and the lock
	return s.Store.Write(ctx, func(ctx context.Context, tx driver.Tx) error {
		return fn(ctx, &staleTx{Tx: tx, s: s, snap: snap, real: map[string]int64{}})
	})
}

type staleTx struct {
	driver.Tx
	s    *staleSequence
	snap map[string]int64
	real map[string]int64
}

func (t *staleTx) LockProcess(ctx context.Context, id string) (driver.ProcessRow, bool, error) {
	row, found, err := t.Tx.LockProcess(ctx, id)
	if err != nil || !found {
		return row, found, err
	}
	t.s.mu.Lock()
	t.s.last[id] = row.LastSequence
	t.s.mu.Unlock()
	t.real[id] = row.LastSequence
	if v, ok := t.snap[id]; ok {
		row.LastSequence = v
	}
	return row, found, err
}

func (t *staleTx) InsertEvent(ctx context.Context, row driver.EventRow) error {
	t.real[row.ProcessID]++
	row.Sequence = t.real[row.ProcessID]
	return t.Tx.InsertEvent(ctx, row)
}

func (t *staleTx) UpdateProcess(ctx context.Context, row driver.ProcessRow) error {
	if r, ok := t.real[row.ID]; ok {
		row.LastSequence = r
	}
	return t.Tx.UpdateProcess(ctx, row)
}

// TestFlakyStoreHistories: a memory store that fails one write in ten —
// before the transaction (nothing written), or at its commit after fn ran
// (applied or rolled back, the caller cannot tell) — still yields
// linearizable histories once failed calls are modeled as the checker
// does, and its own classification makes them ErrUnavailable.
func TestFlakyStoreHistories(t *testing.T) {
	var n int
	history.Backend(t, history.TotalOps(), func(t *testing.T) []procreg.Registry {
		n++
		return []procreg.Registry{driver.NewRegistry(&flaky{Store: memory.NewStore(), seed: n}, driver.Options{})}
	})
}

var errFlaky = errors.New("flaky store: connection lost")

type flaky struct {
	driver.Store
	mu   sync.Mutex
	seed int
	i    int
}

func (f *flaky) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	f.mu.Lock()
	f.i++
	k := (f.i*7 + f.seed) % 30
	f.mu.Unlock()
	switch k {
	case 0: // lost before anything ran
		return errFlaky
	case 1: // applied, then the acknowledgement was lost
		if err := f.Store.Write(ctx, fn); err != nil {
			return err
		}
		return fmt.Errorf("%w: %w", driver.ErrCommitFailed, errFlaky)
	case 2: // rolled back at the commit
		err := f.Store.Write(ctx, func(ctx context.Context, tx driver.Tx) error {
			if err := fn(ctx, tx); err != nil {
				return err
			}
			return errFlaky
		})
		if errors.Is(err, errFlaky) {
			return fmt.Errorf("%w: %w", driver.ErrCommitFailed, err)
		}
		return err
	}
	return f.Store.Write(ctx, fn)
}

func (f *flaky) Classify(err error) driver.ErrorClass {
	if errors.Is(err, errFlaky) {
		return driver.ClassUnavailable
	}
	return f.Store.Classify(err)
}
