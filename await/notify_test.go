package await_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/await"
)

// notifying is a registry with a Notifier whose wakes the test sends; it
// logs subscriptions and reads in order.
type notifying struct {
	procreg.Registry
	mu      sync.Mutex
	log     []string
	wake    chan struct{}
	failing bool // WatchProcess fails
}

func (n *notifying) note(s string) {
	n.mu.Lock()
	n.log = append(n.log, s)
	n.mu.Unlock()
}

func (n *notifying) entries() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.log...)
}

func (n *notifying) WatchProcess(ctx context.Context, id string) (<-chan struct{}, func(), error) {
	if n.failing {
		n.note("watch failed")
		return nil, nil, errors.New("listener unavailable")
	}
	n.note("watch " + id)
	return n.wake, func() { n.note("stop " + id) }, nil
}

func (n *notifying) GetProcess(ctx context.Context, id string) (procreg.Record, error) {
	n.note("read")
	return n.Registry.GetProcess(ctx, id)
}

func (n *notifying) EventsAfter(ctx context.Context, id string, after uint64) ([]procreg.Event, error) {
	n.note("read")
	return n.Registry.EventsAfter(ctx, id, after)
}

// TestWaitSubscribesBeforeReading: a wait on a Notifier subscribes before
// its first read (a commit between the two is not missed) and unsubscribes
// when it returns; with a failing subscription it still answers by polling.
func TestWaitSubscribesBeforeReading(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg := newRegistry(t)
	register(t, reg, "p")
	if _, err := reg.AppendEvent(ctx, "p", procreg.AppendRequest{EventType: "ready"}); err != nil {
		t.Fatal(err)
	}
	n := &notifying{Registry: reg, wake: make(chan struct{}, 1)}
	if _, err := await.Event(ctx, n, "p", "ready", 0); err != nil {
		t.Fatal(err)
	}
	want := []string{"watch p", "read", "stop p"}
	if got := n.entries(); !slices.Equal(got, want) {
		t.Fatalf("Event on a Notifier: %q, want %q", got, want)
	}

	// A failing subscription only loses the early wake.
	f := &notifying{Registry: reg, failing: true}
	go func() {
		time.Sleep(40 * time.Millisecond)
		_, _ = reg.CompleteProcess(context.Background(), "p", procreg.AwaitOutput{Kind: procreg.OutputSuccess})
	}()
	if out, err := await.Terminal(ctx, f, "p"); err != nil || out.Kind != procreg.OutputSuccess {
		t.Fatalf("Terminal with a failing Notifier = %+v, %v", out, err)
	}
	if got := f.entries(); got[0] != "watch failed" || got[1] != "read" {
		t.Fatalf("Terminal with a failing Notifier: %q, want a failed watch, then reads", got)
	}

	// A wait that ends by cancellation unsubscribes too.
	cctx, ccancel := context.WithCancel(ctx)
	c := &notifying{Registry: reg, wake: make(chan struct{}, 1)}
	go func() {
		time.Sleep(30 * time.Millisecond)
		ccancel()
	}()
	if _, err := await.Event(cctx, c, "p", "never", 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Event: %v, want context.Canceled", err)
	}
	if got := c.entries(); got[len(got)-1] != "stop p" {
		t.Fatalf("cancelled Event: %q, want it to end with stop", got)
	}
}

// TestWaitReceivesWakes: a waiting Event takes wakes from the notifier (the
// channel is unbuffered here, so a send completes only when the wait
// receives it; a wait that ignored wakes would hang this test) and keeps
// waiting after a wake that changed nothing.
func TestWaitReceivesWakes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg := newRegistry(t)
	register(t, reg, "p")
	n := &notifying{Registry: reg, wake: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := await.Event(ctx, n, "p", "ready", 0)
		done <- err
	}()
	for range 3 {
		select {
		case n.wake <- struct{}{}:
		case err := <-done:
			t.Fatalf("Event returned before any ready event: %v", err)
		case <-ctx.Done():
			t.Fatal("the wait never received the wake")
		}
	}
	if _, err := reg.AppendEvent(ctx, "p", procreg.AppendRequest{EventType: "ready"}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWaitOrWake: a wake ends a long sleep early and says so; the timer
// alone ends it without; cancellation is an error.
func TestWaitOrWake(t *testing.T) {
	b := await.Backoff{Min: time.Millisecond, Max: time.Hour}
	for range 40 {
		b.Next() // grow the delay to the hour cap
	}
	wake := make(chan struct{}, 1)
	wake <- struct{}{}
	if woken, err := b.WaitOrWake(context.Background(), wake); !woken || err != nil {
		t.Fatalf("WaitOrWake with a pending wake = %v, %v; want woken", woken, err)
	}
	quick := await.Backoff{Min: time.Nanosecond, Max: time.Nanosecond}
	if woken, err := quick.WaitOrWake(context.Background(), nil); woken || err != nil {
		t.Fatalf("WaitOrWake without a wake = %v, %v; want the timer", woken, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.WaitOrWake(ctx, make(chan struct{})); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitOrWake on a cancelled context: %v", err)
	}
}

// TestWakeStormIsRateLimited: a notifier that wakes without pause (a closed
// channel always receives) costs a wait at most one read per floor, not a
// busy loop of reads.
func TestWakeStormIsRateLimited(t *testing.T) {
	reg := newRegistry(t)
	register(t, reg, "p")
	storm := make(chan struct{})
	close(storm)
	n := &notifying{Registry: reg, wake: storm}
	const window = 250 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	if _, err := await.Event(ctx, n, "p", "ready", 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Event: %v, want the deadline", err)
	}
	reads := 0
	for _, e := range n.entries() {
		if e == "read" {
			reads++
		}
	}
	// One read at once, then at most one per floor; a slower machine only
	// reads less, so this bound cannot flake.
	if limit := 1 + int(window/await.Floor); reads > limit {
		t.Fatalf("%d reads in %v under a storm of wakes; want at most %d", reads, window, limit)
	}
}
