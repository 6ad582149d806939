package await_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/await"
	"github.com/procreg/procreg/backends/memory"
)

func newRegistry(t *testing.T) procreg.Registry {
	t.Helper()
	reg := memory.New()
	t.Cleanup(func() { reg.Close() })
	return reg
}

func register(t *testing.T, reg procreg.Registry, id string) {
	t.Helper()
	_, err := reg.RegisterProcess(context.Background(), procreg.Registration{
		ID:          id,
		Disposition: procreg.DispositionRerunnable,
		Input:       procreg.ProcessInput{Kind: procreg.InputTool},
		EnvRef:      "env",
		Provenance:  procreg.Provenance{Originator: procreg.Originator{Kind: procreg.OriginatorHost}},
		EventTypes:  []procreg.EventType{{Name: "note"}, {Name: "ready"}},
	})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
}

func TestTerminalAlreadyDoneReturnsOutput(t *testing.T) {
	reg := newRegistry(t)
	register(t, reg, "p")
	want := procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`{"n":1}`)}
	if _, err := reg.CompleteProcess(context.Background(), "p", want); err != nil {
		t.Fatal(err)
	}
	// The answer must come from the first read, without polling again.
	c := &counting{Registry: reg}
	got, err := await.Terminal(context.Background(), c, "p")
	if err != nil || got.Kind != procreg.OutputSuccess || string(got.Value) != `{"n":1}` {
		t.Fatalf("Terminal = %+v, %v", got, err)
	}
	if _, err := reg.AppendEvent(context.Background(), "p", procreg.AppendRequest{EventType: "ready"}); err != nil {
		t.Fatal(err)
	}
	if ev, err := await.Event(context.Background(), c, "p", "ready", 0); err != nil || ev.EventType != "ready" {
		t.Fatalf("Event = %+v, %v", ev, err)
	}
	if c.reads != 2 {
		t.Fatalf("%d reads, want one per wait", c.reads)
	}
}

// counting counts the point reads a wait makes.
type counting struct {
	procreg.Registry
	reads int
}

func (c *counting) GetProcess(ctx context.Context, id string) (procreg.Record, error) {
	c.reads++
	return c.Registry.GetProcess(ctx, id)
}

func (c *counting) EventsAfter(ctx context.Context, id string, after uint64) ([]procreg.Event, error) {
	c.reads++
	return c.Registry.EventsAfter(ctx, id, after)
}

func TestTerminalWaitsForCompletion(t *testing.T) {
	reg := newRegistry(t)
	register(t, reg, "p")
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Complete once the waiter has certainly polled at least once.
		time.Sleep(60 * time.Millisecond)
		_, _ = reg.CompleteProcess(context.Background(), "p", procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "c", Code: "x", Message: "m"})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := await.Terminal(ctx, reg, "p")
	<-done
	if err != nil || got.Kind != procreg.OutputFailure || got.Code != "x" {
		t.Fatalf("Terminal = %+v, %v", got, err)
	}
}

func TestUnknownProcessIsNotFound(t *testing.T) {
	reg := newRegistry(t)
	if _, err := await.Terminal(context.Background(), reg, "nope"); !errors.Is(err, procreg.ErrNotFound) {
		t.Fatalf("Terminal: %v, want ErrNotFound", err)
	}
	if _, err := await.Event(context.Background(), reg, "nope", "note", 0); !errors.Is(err, procreg.ErrNotFound) {
		t.Fatalf("Event: %v, want ErrNotFound", err)
	}
}

func TestCancellationEndsTheWait(t *testing.T) {
	reg := newRegistry(t)
	register(t, reg, "p")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(30 * time.Millisecond)
		cancel()
	}()
	if _, err := await.Terminal(ctx, reg, "p"); !errors.Is(err, context.Canceled) || !await.IsTimeout(err) {
		t.Fatalf("Terminal: %v, want context.Canceled", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer dcancel()
	if _, err := await.Event(dctx, reg, "p", "ready", 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Event: %v, want context.DeadlineExceeded", err)
	}
	done, stop := context.WithCancel(context.Background())
	stop()
	if _, err := await.Terminal(done, reg, "p"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Terminal with a cancelled context: %v", err)
	}
}

func TestEventFindsExistingAndFutureEvents(t *testing.T) {
	reg := newRegistry(t)
	register(t, reg, "p")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, typ := range []string{"note", "ready", "note"} {
		if _, err := reg.AppendEvent(ctx, "p", procreg.AppendRequest{EventType: typ}); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := await.Event(ctx, reg, "p", "ready", 0)
	if err != nil || ev.Sequence != 2 || ev.EventType != "ready" {
		t.Fatalf("Event = %+v, %v; want the stored ready at 2", ev, err)
	}
	go func() {
		time.Sleep(60 * time.Millisecond)
		_, _ = reg.AppendEvent(context.Background(), "p", procreg.AppendRequest{EventType: "note"})
		_, _ = reg.AppendEvent(context.Background(), "p", procreg.AppendRequest{EventType: "ready", Payload: json.RawMessage(`{"second":true}`)})
	}()
	ev, err = await.Event(ctx, reg, "p", "ready", 2)
	if err != nil || ev.Sequence != 5 || string(ev.Payload) != `{"second":true}` {
		t.Fatalf("Event after 2 = %+v, %v; want the ready at 5", ev, err)
	}
	if _, err := await.Event(ctx, reg, "p", "", 0); !errors.Is(err, procreg.ErrInvalid) {
		t.Fatalf("empty event type: %v, want ErrInvalid", err)
	}
}

func TestBackoffIsBoundedExponential(t *testing.T) {
	var b await.Backoff
	want := []time.Duration{25, 50, 100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := b.Next(); got != w*time.Millisecond {
			t.Fatalf("delay %d = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	b.Reset()
	if got := b.Next(); got != await.Floor {
		t.Fatalf("after Reset: %v, want the floor", got)
	}
	c := await.Backoff{Min: time.Second, Max: time.Millisecond}
	if got := c.Next(); got != time.Second {
		t.Fatalf("max below min: %v, want the min", got)
	}
}
