package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
)

func TestOpenRejectsBadPaths(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"empty":             "",
		"blank":             "   ",
		"missing directory": filepath.Join(dir, "no", "such", "dir", "x.db"),
		"parent is a file":  filepath.Join(file, "x.db"),
		"path is a dir":     dir,
		"memory":            ":memory:",
	} {
		t.Run(name, func(t *testing.T) {
			reg, err := sqlite.Open(context.Background(), path)
			if !errors.Is(err, procreg.ErrInvalid) {
				if reg != nil {
					reg.Close()
				}
				t.Fatalf("Open(%q) = %v, want ErrInvalid", path, err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed Open created directories: %v", err)
	}
}

func TestOpenWithCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	path := filepath.Join(t.TempDir(), "x.db")
	if _, err := sqlite.Open(ctx, path); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open with a cancelled context created the file: %v", err)
	}
}

// TestBadInputChangesNothing checks that rejected calls are ErrInvalid and
// leave the stored state exactly as it was, across a reopen.
func TestBadInputChangesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bad.db")
	reg := openAt(t, path)
	if _, err := reg.RegisterProcess(ctx, toolRegistration("p")); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.AppendEvent(ctx, "p", procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"ok":true}`)}); err != nil {
		t.Fatal(err)
	}
	before, err := reg.GetProcess(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}

	for name, call := range map[string]func() error{
		"register empty id": func() error {
			_, err := reg.RegisterProcess(ctx, toolRegistration(""))
			return err
		},
		"register blank id": func() error {
			_, err := reg.RegisterProcess(ctx, toolRegistration("  "))
			return err
		},
		"register non-JSON input": func() error {
			r := toolRegistration("q")
			r.Input.Payload = json.RawMessage(`{not json`)
			return errOnly(reg.RegisterProcess(ctx, r))
		},
		"append non-JSON payload": func() error {
			return errOnly(reg.AppendEvent(ctx, "p", procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"a":`)}))
		},
		"grant empty session": func() error {
			return errOnly(reg.GrantHandle(ctx, procreg.SessionScope{}, "p", procreg.HandleDescriptor{Kind: "tool"}))
		},
		"append undeclared type": func() error {
			return errOnly(reg.AppendEvent(ctx, "p", procreg.AppendRequest{EventType: "nope", Payload: json.RawMessage(`{}`)}))
		},
		// An empty id can never name a process (registration trims white
		// space), so it is malformed, not unknown.
		"append empty id": func() error {
			return errOnly(reg.AppendEvent(ctx, "", procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{}`)}))
		},
		"grant empty id": func() error {
			return errOnly(reg.GrantHandle(ctx, procreg.SessionScope{SessionID: "s"}, "", procreg.HandleDescriptor{Kind: "tool"}))
		},
		"get blank id": func() error {
			return errOnly(reg.GetProcess(ctx, " "))
		},
		"append NUL in event type": func() error {
			return errOnly(reg.AppendEvent(ctx, "p", procreg.AppendRequest{EventType: "log\x00", Payload: json.RawMessage(`{}`)}))
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, procreg.ErrInvalid) {
				t.Fatalf("%s: %v, want ErrInvalid", name, err)
			}
		})
	}

	reg.Close()
	reg = openAt(t, path)
	after, err := reg.GetProcess(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if !after.UpdatedAt.Equal(before.UpdatedAt) || after.RegistrationHash != before.RegistrationHash {
		t.Fatalf("rejected calls changed the process: %+v -> %+v", before, after)
	}
	events, err := reg.EventsAfter(ctx, "p", 0)
	if err != nil || len(events) != 1 {
		t.Fatalf("after rejected calls: %d events (%v), want the 1 appended before", len(events), err)
	}
	list, err := reg.ListProcesses(ctx, procreg.ListFilter{Status: procreg.StatusAny})
	if err != nil || len(list) != 1 {
		t.Fatalf("after rejected calls: %d processes (%v), want 1", len(list), err)
	}
}

func errOnly[T any](_ T, err error) error { return err }

func TestWithoutMigrationsNeedsAMigratedFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	if reg, err := sqlite.Open(ctx, path, sqlite.WithoutMigrations()); err == nil {
		reg.Close()
		t.Fatal("Open WithoutMigrations accepted an unmigrated file")
	}

	v, err := sqlite.Migrate(ctx, path)
	if err != nil || v < 1 {
		t.Fatalf("Migrate = %d, %v", v, err)
	}
	again, err := sqlite.Migrate(ctx, path)
	if err != nil || again != v {
		t.Fatalf("second Migrate = %d, %v; want %d", again, err, v)
	}
	reg := openAt(t, path, sqlite.WithoutMigrations())
	if _, err := reg.RegisterProcess(ctx, toolRegistration("p")); err != nil {
		t.Fatalf("RegisterProcess after Migrate: %v", err)
	}
}

func TestClockOptionSetsTimestamps(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 3, 4, 5, 6_789_000, time.UTC)
	reg := openAt(t, filepath.Join(t.TempDir(), "c.db"), sqlite.WithClock(func() time.Time { return at }))
	rec, err := reg.RegisterProcess(ctx, toolRegistration("p"))
	if err != nil {
		t.Fatal(err)
	}
	if want := at.Truncate(time.Millisecond); !rec.CreatedAt.Equal(want) {
		t.Fatalf("CreatedAt = %v, want %v", rec.CreatedAt, want)
	}
	claim, err := reg.ClaimProcessLease(ctx, "p", procreg.LeaseOwner{OwnerID: "o", IncarnationID: "i"}, time.Minute)
	if err != nil || !claim.Acquired {
		t.Fatalf("claim: %+v, %v", claim, err)
	}
	if want := at.Truncate(time.Millisecond).Add(time.Minute); !claim.Lease.ExpiresAt.Equal(want) {
		t.Fatalf("lease expires %v, want %v (from the injected clock)", claim.Lease.ExpiresAt, want)
	}
	if reg.DurabilityTier() != procreg.TierDurable {
		t.Fatalf("tier %v, want durable", reg.DurabilityTier())
	}
}

// TestReadersDoNotWaitForTheWriter holds a write transaction open in
// another connection and checks that reads still answer (WAL snapshot).
func TestReadersDoNotWaitForTheWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	reg := openAt(t, path)
	if _, err := reg.RegisterProcess(ctx, toolRegistration("p")); err != nil {
		t.Fatal(err)
	}
	other := openRaw(t, path)
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// Take the write lock and keep it.
	if _, err := tx.ExecContext(ctx, "UPDATE processes SET updated_at_ms = updated_at_ms WHERE id = 'p'"); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := reg.GetProcess(rctx, "p"); err != nil {
		t.Fatalf("read while another connection holds the write lock: %v", err)
	}
	if _, err := reg.ListProcesses(rctx, procreg.ListFilter{}); err != nil {
		t.Fatalf("list while another connection holds the write lock: %v", err)
	}
}

// TestConcurrentOpensOfAFreshFile opens one new file from several
// registries at once (each its own connections, as separate processes
// would be): the migration runs once and every open succeeds.
func TestConcurrentOpensOfAFreshFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fresh.db")
	const n = 4
	regs := make([]procreg.Registry, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { regs[i], errs[i] = sqlite.Open(ctx, path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		defer regs[i].Close()
	}
	for i, r := range regs {
		if _, err := r.RegisterProcess(ctx, toolRegistration(fmt.Sprintf("p%d", i))); err != nil {
			t.Fatalf("register through registry %d: %v", i, err)
		}
	}
	all, err := regs[0].ListProcesses(ctx, procreg.ListFilter{})
	if err != nil || len(all) != n {
		t.Fatalf("listed %d processes (%v), want %d", len(all), err, n)
	}
}
