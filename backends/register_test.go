package backends_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/conformance"
	"github.com/procreg/procreg/driver"
)

// countingStore is a dialect that the backends package does not know: a
// driver.Store of its own (the in-memory store, with every transaction
// counted), as a backend in another module would be.
type countingStore struct {
	driver.Store
	txs *atomic.Int64
}

func (s countingStore) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	s.txs.Add(1)
	return s.Store.Write(ctx, fn)
}

func (s countingStore) ReadOne(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	s.txs.Add(1)
	return s.Store.ReadOne(ctx, fn)
}

var countedTxs atomic.Int64

func init() {
	driver.Register(driver.Dialect{
		Name:    "counting",
		Schemes: []string{"counting"},
		Open: func(_ context.Context, dsn string, _ driver.OpenOptions) (procreg.Registry, error) {
			return driver.NewRegistry(countingStore{Store: memory.NewStore(), txs: &countedTxs}, driver.Options{}), nil
		},
	})
}

// A dialect registered outside the module's backend list opens through
// backends.Open by its scheme, passes the whole conformance suite, and is
// really the registered store that serves the calls.
func TestOpenFindsARegisteredDialect(t *testing.T) {
	before := countedTxs.Load()
	// The suite's subtests run in parallel, after this function returns:
	// the count is checked once they are all done.
	t.Cleanup(func() {
		if countedTxs.Load() == before {
			t.Error("the conformance suite ran, but not one transaction went through the registered store")
		}
	})
	conformance.Run(t, func(t *testing.T) procreg.Registry {
		reg, err := backends.Open(t.Context(), "counting://suite")
		if err != nil {
			t.Fatalf("backends.Open(counting://suite): %v", err)
		}
		t.Cleanup(func() { reg.Close() })
		return reg
	})
}

// The registry knows the built-in dialects and the registered one, and the
// accepted DSN forms in errors come from it.
func TestDialectsListsEveryRegisteredDialect(t *testing.T) {
	var names []string
	for _, d := range driver.Dialects() {
		names = append(names, d.Name)
	}
	want := []string{"counting", "mariadb", "memory", "mysql", "postgres", "sqlite"}
	if len(names) != len(want) {
		t.Fatalf("driver.Dialects() = %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("driver.Dialects() = %v, want %v", names, want)
		}
	}
	if got := backends.Accepted(); got != "counting:…, mariadb://user:pass@host:port/db, memory:, mysql://user:pass@host:port/db, postgres://user@host:port/db, sqlite:<path>, <path>.db" {
		t.Errorf("Accepted() = %q", got)
	}
}
