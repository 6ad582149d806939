package driver_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/driver"
)

// countingStore is a memory store that counts its Read and ReadOne calls.
type countingStore struct {
	driver.Store
	mu              sync.Mutex
	reads, readOnes int
}

func (s *countingStore) Read(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	return s.Store.Read(ctx, fn)
}

func (s *countingStore) ReadOne(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	s.mu.Lock()
	s.readOnes++
	s.mu.Unlock()
	return s.Store.ReadOne(ctx, fn)
}

// take returns and clears the counts.
func (s *countingStore) take() (reads, readOnes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reads, readOnes = s.reads, s.readOnes
	s.reads, s.readOnes = 0, 0
	return reads, readOnes
}

// The reads of a process's events and grants run their one statement in a
// ReadOne, and only a result that found nothing costs a Read (existence
// check and the query in one snapshot), which tells an empty answer from
// ErrNotFound.
func TestEventAndGrantReadsAreOneStatement(t *testing.T) {
	ctx := context.Background()
	s := &countingStore{Store: memory.NewStore()}
	r := driver.NewRegistry(s, driver.Options{})
	mustRegister(t, r, "p")
	if _, err := r.AppendEvent(ctx, "p", procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	scope := procreg.SessionScope{SessionID: "s"}
	if _, err := r.GrantHandle(ctx, scope, "p", procreg.HandleDescriptor{Kind: "k"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		found bool // the query finds something
		call  func(id string) (int, error)
	}{
		{"EventsAfter", true, func(id string) (int, error) { e, err := r.EventsAfter(ctx, id, 0); return len(e), err }},
		{"EventsAfter (none after)", false, func(id string) (int, error) { e, err := r.EventsAfter(ctx, id, 1); return len(e), err }},
		{"RecentEvents", true, func(id string) (int, error) { e, err := r.RecentEvents(ctx, id, 5); return len(e), err }},
		{"WakeEventsAfter (none)", false, func(id string) (int, error) { e, err := r.WakeEventsAfter(ctx, id, 0); return len(e), err }},
		{"CountEventsThrough", true, func(id string) (int, error) {
			n, err := r.CountEventsThrough(ctx, id, "log", 10)
			return int(n), err
		}},
		{"CountEventsThrough (none)", false, func(id string) (int, error) {
			n, err := r.CountEventsThrough(ctx, id, "other", 10)
			return int(n), err
		}},
		{"HandleGrantsForProcess", true, func(id string) (int, error) { g, err := r.HandleGrantsForProcess(ctx, id); return len(g), err }},
	}
	for _, c := range cases {
		s.take()
		n, err := c.call("p")
		reads, readOnes := s.take()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (n > 0) != c.found {
			t.Errorf("%s: %d results; want some: %v", c.name, n, c.found)
		}
		wantReads := 1
		if c.found {
			wantReads = 0
		}
		if readOnes != 1 || reads != wantReads {
			t.Errorf("%s: %d ReadOne, %d Read; want 1 ReadOne, %d Read", c.name, readOnes, reads, wantReads)
		}
		if _, err := c.call("absent"); !errors.Is(err, procreg.ErrNotFound) {
			t.Errorf("%s of an unknown process: %v; want ErrNotFound", c.name, err)
		}
	}
}
