package driver_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/driver"
)

// failingStore is a memory store whose writes fail with err, classified as class.
type failingStore struct {
	driver.Store
	err   error
	class driver.ErrorClass
}

func (s failingStore) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.err
}

func (s failingStore) Classify(error) driver.ErrorClass { return s.class }

// The engine is the one place that wraps procreg.ErrUnavailable: around the
// transient classes after the store's retries, with "outcome unknown" when
// the COMMIT failed on a lost connection, never around a cancellation.
func TestStorageFailuresWrapErrUnavailable(t *testing.T) {
	lost := errors.New("read tcp: connection reset by peer")
	commit := fmt.Errorf("postgres: commit: %w: %w", driver.ErrCommitFailed, lost)
	cases := []struct {
		name        string
		err         error
		class       driver.ErrorClass
		unavailable bool
		unknown     bool
	}{
		{"deadlock after the retries", errors.New("deadlock detected"), driver.ClassTransient, true, false},
		{"connection lost", lost, driver.ClassUnavailable, true, false},
		{"connection lost during the commit", commit, driver.ClassUnavailable, true, true},
		{"serialization failure at commit (rolled back)", fmt.Errorf("commit: %w: 40001", driver.ErrCommitFailed), driver.ClassTransient, true, false},
		{"other", errors.New("disk full"), driver.ClassOther, false, false},
	}
	for _, c := range cases {
		r := driver.NewRegistry(failingStore{Store: memory.NewStore(), err: c.err, class: c.class}, driver.Options{})
		_, err := r.AppendEvent(context.Background(), "p1", procreg.AppendRequest{EventType: "log"})
		if got := errors.Is(err, procreg.ErrUnavailable); got != c.unavailable {
			t.Errorf("%s: %v; ErrUnavailable = %v, want %v", c.name, err, got, c.unavailable)
		}
		if !errors.Is(err, c.err) {
			t.Errorf("%s: %v does not wrap the storage error", c.name, err)
		}
		if !strings.Contains(err.Error(), `"p1"`) {
			t.Errorf("%s: %v does not name the process", c.name, err)
		}
		if got := strings.Contains(err.Error(), "outcome of this write is unknown"); got != c.unknown {
			t.Errorf("%s: %v; says the outcome is unknown = %v, want %v", c.name, err, got, c.unknown)
		}
	}
	// A context that ends is the context's error, not ErrUnavailable.
	ctx, cancel := context.WithCancel(context.Background())
	r := driver.NewRegistry(cancellingStore{failingStore{Store: memory.NewStore(), err: lost, class: driver.ClassUnavailable}, cancel}, driver.Options{})
	_, err := r.AppendEvent(ctx, "p1", procreg.AppendRequest{EventType: "log"})
	if !errors.Is(err, context.Canceled) || errors.Is(err, procreg.ErrUnavailable) {
		t.Errorf("cancelled during the write: %v; want the context's error, not ErrUnavailable", err)
	}
}

// cancellingStore cancels the caller's context during the write, which
// then fails as a lost connection would.
type cancellingStore struct {
	failingStore
	cancel context.CancelFunc
}

func (s cancellingStore) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	s.cancel()
	return s.err
}
