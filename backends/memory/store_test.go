package memory

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/procreg/procreg/driver"
)

// snapshot reads everything the store holds about processes "a" and "b".
func snapshot(t *testing.T, s *memStore) map[string]any {
	t.Helper()
	out := map[string]any{}
	err := s.Read(context.Background(), func(ctx context.Context, tx driver.Tx) error {
		for _, id := range []string{"a", "b"} {
			row, found, _ := tx.GetProcess(ctx, id)
			evs, _ := tx.EventsAfter(ctx, id, 0)
			wakes, _ := tx.WakeEventsAfter(ctx, id, 0)
			grants, _ := tx.ListGrantsByProcess(ctx, id)
			rk, rkFound, _ := tx.EventByReplayKey(ctx, id, "k")
			var counts []int64
			for _, typ := range []string{"w", "x"} {
				n, _ := tx.CountEventsThrough(ctx, id, typ, 10)
				counts = append(counts, n)
			}
			out[id] = []any{row, found, evs, wakes, grants, rk, rkFound, counts}
		}
		bySession, _ := tx.ListGrantsBySession(ctx, "s")
		out["session"] = bySession
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriteRollsBackEverything(t *testing.T) {
	s := newStore(time.Now)
	ctx := context.Background()
	seed := func(ctx context.Context, tx driver.Tx) error {
		if err := tx.InsertProcess(ctx, driver.ProcessRow{ID: "a", Status: "completed", UpdatedAtMs: 1}); err != nil {
			return err
		}
		if err := tx.InsertEvent(ctx, driver.EventRow{ProcessID: "a", Sequence: 1, EventType: "w", HasWake: true, ReplayKey: "k"}); err != nil {
			return err
		}
		return tx.UpsertGrant(ctx, driver.GrantRow{ScopeID: "session:s", ProcessID: "a", SessionID: "s", DescriptorKind: "k"})
	}
	if err := s.Write(ctx, seed); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s)
	boom := errors.New("boom")
	err := s.Write(ctx, func(ctx context.Context, tx driver.Tx) error {
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(tx.InsertProcess(ctx, driver.ProcessRow{ID: "b", Status: "running"}))
		must(tx.InsertEvent(ctx, driver.EventRow{ProcessID: "b", Sequence: 1, EventType: "x", ReplayKey: "k"}))
		must(tx.InsertEvent(ctx, driver.EventRow{ProcessID: "a", Sequence: 2, EventType: "w"}))
		if n, err := tx.CountEventsThrough(ctx, "a", "w", 10); err != nil || n != 2 {
			t.Fatalf("count inside the write: %d, %v; want 2", n, err)
		}
		must(tx.InsertWakeAck(ctx, "a", 1))
		must(tx.UpsertGrant(ctx, driver.GrantRow{ScopeID: "session:s", ProcessID: "a", SessionID: "s", DescriptorKind: "changed"}))
		must(tx.UpsertGrant(ctx, driver.GrantRow{ScopeID: "session:s/frame:f", ProcessID: "b", SessionID: "s"}))
		row, _, _ := tx.GetProcess(ctx, "a")
		row.Status = "running"
		must(tx.UpdateProcess(ctx, row))
		if n, err := tx.DeleteGrantsBySession(ctx, "s"); err != nil || n != 2 {
			t.Fatalf("delete by session: %d, %v", n, err)
		}
		row.Status = "failed"
		must(tx.UpdateProcess(ctx, row))
		if p, e, err := tx.PruneBatch(ctx, 10, 5); err != nil || p != 1 || e != 2 {
			t.Fatalf("prune: %d %d %v", p, e, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write error = %v", err)
	}
	if after := snapshot(t, s); !reflect.DeepEqual(before, after) {
		t.Fatalf("rollback incomplete:\nbefore %#v\nafter  %#v", before, after)
	}
}

func TestWriteRollsBackOnPanic(t *testing.T) {
	s := newStore(time.Now)
	ctx := context.Background()
	before := snapshot(t, s)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not propagate out of Write")
			}
		}()
		_ = s.Write(ctx, func(ctx context.Context, tx driver.Tx) error {
			if err := tx.InsertProcess(ctx, driver.ProcessRow{ID: "a", Status: "running"}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if after := snapshot(t, s); !reflect.DeepEqual(before, after) {
		t.Fatalf("a write that panicked left changes behind:\nbefore %#v\nafter  %#v", before, after)
	}
	// The lock was released: another write goes through.
	if err := s.Write(ctx, func(ctx context.Context, tx driver.Tx) error {
		return tx.InsertProcess(ctx, driver.ProcessRow{ID: "b", Status: "running"})
	}); err != nil {
		t.Fatalf("write after a recovered panic: %v", err)
	}
}

func TestReadIsReadOnly(t *testing.T) {
	s := newStore(time.Now)
	err := s.Read(context.Background(), func(ctx context.Context, tx driver.Tx) error {
		return tx.InsertProcess(ctx, driver.ProcessRow{ID: "a"})
	})
	if err == nil {
		t.Fatal("insert inside a read transaction succeeded")
	}
}
