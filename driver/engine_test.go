package driver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
)

// fakeClock is a settable clock for tests that move time without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func setup(t *testing.T) (procreg.Registry, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC)}
	r := memory.New(memory.WithClock(clk.now))
	t.Cleanup(func() { r.Close() })
	return r, clk
}

func reg(id string) procreg.Registration {
	return procreg.Registration{ID: id, Input: procreg.ProcessInput{Kind: procreg.InputTool}, Disposition: procreg.DispositionRerunnable,
		EnvRef: "env", EventTypes: []procreg.EventType{{Name: "log"}}}
}

func mustRegister(t *testing.T, r procreg.Registry, id string) procreg.Record {
	t.Helper()
	rec, err := r.RegisterProcess(context.Background(), reg(id))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestRegisterIdempotentAndConflict(t *testing.T) {
	r, clk := setup(t)
	ctx := context.Background()
	first := mustRegister(t, r, "p")
	if !first.CreatedAt.Equal(clk.now().Truncate(time.Millisecond)) || first.CreatedAt.Location() != time.UTC || first.Status.State != procreg.StateRunning {
		t.Fatalf("first record: %+v", first)
	}
	clk.add(time.Second)
	again, err := r.RegisterProcess(ctx, reg("p"))
	if err != nil || !reflect.DeepEqual(first, again) {
		t.Fatalf("re-register: %v\n%+v\n%+v", err, first, again)
	}
	other := reg("p")
	other.EnvRef = "env2"
	if _, err := r.RegisterProcess(ctx, other); !errors.Is(err, procreg.ErrRegistrationConflict) {
		t.Fatalf("conflict: %v", err)
	}
	got, err := r.GetProcess(ctx, "p")
	if err != nil || !reflect.DeepEqual(first, got) {
		t.Fatalf("get: %v", err)
	}
}

func TestCancelledContextWritesNothing(t *testing.T) {
	r, _ := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.RegisterProcess(ctx, reg("p")); !errors.Is(err, context.Canceled) {
		t.Fatalf("register: %v", err)
	}
	if _, err := r.GetProcess(context.Background(), "p"); !errors.Is(err, procreg.ErrNotFound) {
		t.Fatalf("process was written: %v", err)
	}
	mustRegister(t, r, "q")
	if _, err := r.AppendEvent(ctx, "q", procreg.AppendRequest{EventType: "log"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("append: %v", err)
	}
	if evs, _ := r.EventsAfter(context.Background(), "q", 0); len(evs) != 0 {
		t.Fatalf("event was written")
	}
}

func TestTransferIsAllOrNothing(t *testing.T) {
	r, _ := setup(t)
	ctx := context.Background()
	from, to := procreg.SessionScope{SessionID: "a"}, procreg.SessionScope{SessionID: "b", AgentFrameID: "f"}
	for _, id := range []string{"p1", "p2", "p3"} {
		mustRegister(t, r, id)
	}
	for _, id := range []string{"p1", "p2"} {
		if _, err := r.GrantHandle(ctx, from, id, procreg.HandleDescriptor{Kind: "k", Label: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.TransferHandleGrants(ctx, from, to, []string{"p1", "p3"}); !errors.Is(err, procreg.ErrNotGranted) {
		t.Fatalf("transfer: %v", err)
	}
	if has, _ := r.HasHandleGrant(ctx, from, "p1"); !has {
		t.Fatalf("p1 moved despite the failure")
	}
	if err := r.TransferHandleGrants(ctx, from, to, []string{"p2", "p1"}); err != nil {
		t.Fatal(err)
	}
	got, err := r.ListHandleGrants(ctx, to)
	if err != nil || len(got) != 2 || got[0].Grant.ProcessID != "p1" || got[0].Grant.SessionID != "b" || got[0].Grant.Descriptor.Label != "p1" {
		t.Fatalf("moved grants: %+v, %v", got, err)
	}
}

func TestDeleteSessionReport(t *testing.T) {
	r, clk := setup(t)
	ctx := context.Background()
	s := procreg.SessionScope{SessionID: "s"}
	frame := procreg.SessionScope{SessionID: "s", AgentFrameID: "f"}
	other := procreg.SessionScope{SessionID: "o"}
	for _, id := range []string{"orphan", "kept", "done"} {
		mustRegister(t, r, id)
	}
	w := reg("woken")
	w.WakeTarget = &procreg.SessionScope{SessionID: "s", AgentFrameID: "x"}
	if _, err := r.RegisterProcess(ctx, w); err != nil {
		t.Fatal(err)
	}
	grant := func(sc procreg.SessionScope, id string) {
		if _, err := r.GrantHandle(ctx, sc, id, procreg.HandleDescriptor{Kind: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	grant(s, "orphan")
	grant(frame, "orphan")
	grant(s, "kept")
	grant(other, "kept")
	grant(frame, "done")
	if _, err := r.CompleteProcess(ctx, "done", procreg.AwaitOutput{Kind: procreg.OutputSuccess}); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	rep, err := r.DeleteSessionProcessState(ctx, "s")
	want := procreg.SessionDeleteReport{SessionID: "s", RevokedHandles: 4, OrphanedProcessIDs: []string{"orphan"}, PreservedProcessIDs: []string{"kept"}}
	if err != nil || !reflect.DeepEqual(rep, want) {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	rec, _ := r.GetProcess(ctx, "woken")
	if rec.WakeTarget != nil || !rec.UpdatedAt.Equal(clk.now().Truncate(time.Millisecond)) {
		t.Fatalf("wake target not cleared: %+v", rec)
	}
}

func TestAppendReplayAndTerminal(t *testing.T) {
	r, _ := setup(t)
	ctx := context.Background()
	mustRegister(t, r, "p")
	req := procreg.CancelRequested("p", "why")
	a, err := r.AppendEvent(ctx, "p", req)
	if err != nil || a.Event.Sequence != 1 {
		t.Fatal(a, err)
	}
	b, err := r.AppendEvent(ctx, "p", req)
	if err != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("replay: %+v %v", b, err)
	}
	if _, err := r.AppendEvent(ctx, "p", procreg.CancelRequested("p", "other")); !errors.Is(err, procreg.ErrReplayConflict) {
		t.Fatalf("replay conflict: %v", err)
	}
	out := procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "c", Code: "x", Message: "m"}
	rec, err := r.CompleteProcess(ctx, "p", out)
	if err != nil || rec.Status.State != procreg.StateFailed || !reflect.DeepEqual(*rec.Status.AwaitOutput, out) {
		t.Fatalf("complete: %+v, %v", rec.Status, err)
	}
	if rec2, err := r.CompleteProcess(ctx, "p", out); err != nil || !reflect.DeepEqual(rec, rec2) {
		t.Fatalf("repeat completion: %v", err)
	}
	if _, err := r.CompleteProcess(ctx, "p", procreg.AwaitOutput{Kind: procreg.OutputSuccess}); !errors.Is(err, procreg.ErrTerminal) {
		t.Fatalf("other kind: %v", err)
	}
	if _, err := r.AppendEvent(ctx, "p", procreg.AppendRequest{EventType: "log"}); err != nil {
		t.Fatalf("late event: %v", err)
	}
	n, err := r.CountEventsThrough(ctx, "p", "log", math.MaxUint64)
	if err != nil || n != 1 {
		t.Fatalf("count: %d, %v", n, err)
	}
	evs, err := r.EventsAfter(ctx, "p", math.MaxUint64)
	if err != nil || len(evs) != 0 {
		t.Fatalf("events after max: %v %v", evs, err)
	}
	if _, err := r.RecentEvents(ctx, "p", -1); !errors.Is(err, procreg.ErrInvalid) {
		t.Fatalf("negative limit: %v", err)
	}
	recent, _ := r.RecentEvents(ctx, "p", 2)
	if len(recent) != 2 || recent[0].Sequence != 2 || recent[1].Sequence != 3 {
		t.Fatalf("recent: %+v", recent)
	}
}

func TestWaitOrdinalAndTimesRoundTrip(t *testing.T) {
	r, _ := setup(t)
	ctx := context.Background()
	mustRegister(t, r, "p")
	since := time.Date(2030, 1, 1, 0, 0, 0, 999999999, time.FixedZone("x", 3600))
	w := procreg.WaitState{Kind: procreg.WaitSignal, Name: "n", EventType: "log", Key: "k", Ordinal: math.MaxUint64, Since: since}
	rec, err := r.SetProcessWait(ctx, "p", w)
	if err != nil {
		t.Fatal(err)
	}
	want := w
	want.Since = since.UTC().Truncate(time.Millisecond)
	if !reflect.DeepEqual(*rec.Wait, want) {
		t.Fatalf("wait = %+v, want %+v", *rec.Wait, want)
	}
	yes := true
	if l, _ := r.ListProcesses(ctx, procreg.ListFilter{Waiting: &yes}); len(l) != 1 {
		t.Fatalf("waiting list: %v", l)
	}
	if rec, _ = r.ClearProcessWait(ctx, "p"); rec.Wait != nil {
		t.Fatalf("wait not cleared")
	}
}

func TestLeaseClockAndFencing(t *testing.T) {
	r, clk := setup(t)
	ctx := context.Background()
	mustRegister(t, r, "p")
	a := procreg.LeaseOwner{OwnerID: "a", IncarnationID: "1"}
	b := procreg.LeaseOwner{OwnerID: "b", IncarnationID: "1"}
	c1, err := r.ClaimProcessLease(ctx, "p", a, time.Minute)
	if err != nil || !c1.Acquired || c1.Lease.FencingToken != 1 {
		t.Fatal(c1, err)
	}
	if c, _ := r.ClaimProcessLease(ctx, "p", b, time.Minute); c.Acquired || !reflect.DeepEqual(c.Lease, c1.Lease) {
		t.Fatalf("busy claim: %+v", c)
	}
	clk.add(30 * time.Second)
	renewed, err := r.RenewProcessLease(ctx, c1.Lease, time.Minute)
	if err != nil || !renewed.ExpiresAt.After(c1.Lease.ExpiresAt) {
		t.Fatalf("renew: %+v %v", renewed, err)
	}
	clk.add(61 * time.Second)
	if _, err := r.RenewProcessLease(ctx, renewed, time.Minute); !errors.Is(err, procreg.ErrLeaseLost) {
		t.Fatalf("expired renew: %v", err)
	}
	c2, _ := r.ClaimProcessLease(ctx, "p", b, time.Minute)
	if !c2.Acquired || c2.Lease.FencingToken != 2 {
		t.Fatalf("claim after expiry: %+v", c2)
	}
	if err := r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "p", Token: c1.Lease.Token}); err != nil {
		t.Fatal(err)
	}
	if l, _ := r.GetProcessLease(ctx, "p"); l == nil || l.Token != c2.Lease.Token {
		t.Fatalf("stale completion released: %+v", l)
	}
	if err := r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "p", Token: c2.Lease.Token}); err != nil {
		t.Fatal(err)
	}
	if l, _ := r.GetProcessLease(ctx, "p"); l != nil {
		t.Fatalf("released lease still there: %+v", l)
	}
	c3, _ := r.ClaimProcessLease(ctx, "p", a, time.Minute)
	if c3.Lease.FencingToken != 3 {
		t.Fatalf("fencing after release: %d", c3.Lease.FencingToken)
	}
	if _, err := r.RenewProcessLease(ctx, procreg.Lease{ProcessID: "nope"}, time.Minute); !errors.Is(err, procreg.ErrLeaseLost) {
		t.Fatalf("renew unknown: %v", err)
	}
}

func TestPruneInBatches(t *testing.T) {
	r, clk := setup(t)
	ctx := context.Background()
	const n = 1203
	for i := range n {
		id := fmt.Sprintf("p%04d", i)
		mustRegister(t, r, id)
		if _, err := r.GrantHandle(ctx, procreg.SessionScope{SessionID: "s"}, id, procreg.HandleDescriptor{Kind: "k"}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`1`)}); err != nil {
			t.Fatal(err)
		}
	}
	mustRegister(t, r, "running")
	clk.add(time.Hour)
	rep, err := r.PruneTerminalProcesses(ctx, clk.now())
	if err != nil || rep.PrunedProcesses != n || rep.PrunedEvents != n {
		t.Fatalf("prune: %+v, %v", rep, err)
	}
	left, _ := r.ListProcesses(ctx, procreg.ListFilter{Status: procreg.StatusAny})
	if len(left) != 1 || left[0].ID != "running" {
		t.Fatalf("left: %d", len(left))
	}
	if g, _ := r.ListHandleGrants(ctx, procreg.SessionScope{SessionID: "s"}); len(g) != 0 {
		t.Fatalf("grants left: %d", len(g))
	}
	if rep, _ := r.PruneTerminalProcesses(ctx, time.Unix(1<<40, 0)); rep.PrunedProcesses != 0 {
		t.Fatalf("second prune: %+v", rep)
	}
}
