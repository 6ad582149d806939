package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/await"
	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/internal/testdb"
)

// notifyingDSN turns on early-wake notifications for the registry's sessions.
func notifyingDSN(t testing.TB) string {
	dsn := testdb.PostgresMigrated(t).DSN
	if strings.Contains(dsn, "?") {
		return dsn + "&procreg.notify=on"
	}
	return dsn + "?procreg.notify=on"
}

// openPG opens a registry on dsn, closed when the test ends.
func openPG(t *testing.T, dsn string) procreg.Registry {
	t.Helper()
	r, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func registerExternal(t *testing.T, r procreg.Registry, id string) {
	t.Helper()
	if _, err := r.RegisterProcess(context.Background(), procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputExternal, Payload: json.RawMessage(`{"label":"` + id + `"}`)},
		Disposition: procreg.DispositionExternallyOwned,
		EventTypes:  []procreg.EventType{{Name: "ready"}},
	}); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds, failing the test after a generous
// bound (a hang guard, not a speed assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readCounter counts a registry's point reads and the wakes its waits
// take, and keeps its Notifier.
type readCounter struct {
	procreg.Registry
	reads atomic.Int64
	taken atomic.Int64 // wakes a wait received
}

// GetProcess and EventsAfter count a read once it has returned, so that a
// wait counted asleep has finished its poll: a write committed after that
// cannot be seen by the poll (an empty EventsAfter reads the events again
// after its existence check, and an append is two round trips, so a read
// counted when it starts could still see it).
func (c *readCounter) GetProcess(ctx context.Context, id string) (procreg.Record, error) {
	defer c.reads.Add(1)
	return c.Registry.GetProcess(ctx, id)
}

func (c *readCounter) EventsAfter(ctx context.Context, id string, after uint64) ([]procreg.Event, error) {
	defer c.reads.Add(1)
	return c.Registry.EventsAfter(ctx, id, after)
}

// WatchProcess hands the registry's wakes to the wait through an unbuffered
// channel, so taken counts only the wakes the wait actually received.
func (c *readCounter) WatchProcess(ctx context.Context, id string) (<-chan struct{}, func(), error) {
	inner, stop, err := c.Registry.(await.Notifier).WatchProcess(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	out, quit := make(chan struct{}), make(chan struct{})
	go func() {
		for {
			select {
			case <-inner:
			case <-quit:
				return
			}
			select {
			case out <- struct{}{}:
				c.taken.Add(1)
			case <-quit:
				return
			}
		}
	}()
	var once sync.Once
	return out, func() { once.Do(func() { close(quit); stop() }) }, nil
}

// asleep waits until a wait on c has polled six times since reads was
// `since`: its next poll is then 800 ms away (25 ms floor, doubling), so a
// commit made now is seen by the notification, not by that poll, unless the
// machine stalls for most of a second.
func asleep(t *testing.T, c *readCounter, since int64) {
	t.Helper()
	eventually(t, "the wait to back off", func() bool { return c.reads.Load() >= since+6 })
}

func stats(t *testing.T, r procreg.Registry) postgres.ListenerStats {
	t.Helper()
	if c, ok := r.(*readCounter); ok {
		r = c.Registry
	}
	s, ok := postgres.Stats(r)
	if !ok {
		t.Fatal("postgres.Stats: not a postgres registry")
	}
	return s
}

// listening waits until r's listener is connected with n open watchers.
func listening(t *testing.T, r procreg.Registry, watchers int) postgres.ListenerStats {
	t.Helper()
	var s postgres.ListenerStats
	eventually(t, fmt.Sprintf("a connected listener with %d watchers", watchers), func() bool {
		s = stats(t, r)
		return s.PID != 0 && s.Watchers == watchers
	})
	return s
}

type terminalResult struct {
	out procreg.AwaitOutput
	err error
}

func awaitTerminal(ctx context.Context, r procreg.Registry, id string) <-chan terminalResult {
	ch := make(chan terminalResult, 1)
	go func() {
		out, err := await.Terminal(ctx, r, id)
		ch <- terminalResult{out, err}
	}()
	return ch
}

// TestNotificationsAreOptIn: a writer whose sessions lack procreg.notify=on
// sends no notification (appends keep their full speed); the waiter still
// gets its answer, by polling.
func TestNotificationsAreOptIn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := testdb.PostgresMigrated(t)
	waiter, writer := &readCounter{Registry: openPG(t, db.DSN)}, openPG(t, db.DSN)
	registerExternal(t, writer, "quiet")
	done := awaitTerminal(ctx, waiter, "quiet")
	listening(t, waiter, 1)
	if _, err := writer.CompleteProcess(ctx, "quiet", procreg.AwaitOutput{Kind: procreg.OutputSuccess}); err != nil {
		t.Fatal(err)
	}
	if res := <-done; res.err != nil || res.out.Kind != procreg.OutputSuccess {
		t.Fatalf("Terminal = %+v, %v; want success found by polling", res.out, res.err)
	}
	if s := stats(t, waiter); s.Notifications != 0 {
		t.Fatalf("listener stats %+v: a writer without procreg.notify=on sent a notification", s)
	}
}

// TestAwaitWakesOnNotification: a waiter on one registry is woken by the
// notification of an event another registry (another process, in
// production) commits, and the waiter's result is the re-read record.
func TestAwaitWakesOnNotification(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := notifyingDSN(t)
	reg, writer := openPG(t, dsn), openPG(t, dsn)
	if _, ok := reg.(await.Notifier); !ok {
		t.Fatal("a postgres registry is not an await.Notifier")
	}
	waiter := &readCounter{Registry: reg}
	if s := stats(t, waiter); s.Connects != 0 || s.PID != 0 {
		t.Fatalf("listener before any wait = %+v; want it not started (lazy)", s)
	}
	registerExternal(t, writer, "job")

	done := awaitTerminal(ctx, waiter, "job")
	listening(t, waiter, 1)
	asleep(t, waiter, 0)
	taken := waiter.taken.Load()
	want := procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`{"ok":true}`)}
	if _, err := writer.CompleteProcess(ctx, "job", want); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil || res.out.Kind != procreg.OutputSuccess || string(res.out.Value) != `{"ok":true}` {
		t.Fatalf("Terminal = %+v, %v", res.out, res.err)
	}
	s := stats(t, waiter)
	if s.Notifications == 0 || s.Wakes == 0 {
		t.Fatalf("listener stats %+v: the completion's notification never reached the waiter", s)
	}
	if waiter.taken.Load() <= taken {
		t.Fatal("the wait never received the completion's wake")
	}
	if s.Watchers != 0 {
		t.Fatalf("%d watchers left after the wait returned; want 0", s.Watchers)
	}

	// Event waits are woken the same way; a watch only hears its process.
	registerExternal(t, writer, "other")
	before := stats(t, waiter).Wakes
	reads := waiter.reads.Load()
	evDone := make(chan error, 1)
	go func() {
		ev, err := await.Event(ctx, waiter, "job", "ready", 0)
		if err == nil && ev.EventType != "ready" {
			err = fmt.Errorf("got event %+v", ev)
		}
		evDone <- err
	}()
	listening(t, waiter, 1)
	if _, err := writer.AppendEvent(ctx, "other", procreg.AppendRequest{EventType: "ready"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the other process's notification", func() bool { return stats(t, waiter).Notifications > s.Notifications })
	if got := stats(t, waiter).Wakes; got != before {
		t.Fatalf("a notification for another process woke the waiter (wakes %d → %d)", before, got)
	}
	asleep(t, waiter, reads)
	taken = waiter.taken.Load()
	if _, err := writer.AppendEvent(ctx, "job", procreg.AppendRequest{EventType: "ready"}); err != nil {
		t.Fatal(err)
	}
	if err := <-evDone; err != nil {
		t.Fatalf("Event: %v", err)
	}
	if got := stats(t, waiter).Wakes; got <= before || waiter.taken.Load() <= taken {
		t.Fatalf("the ready event's notification did not wake the waiter (wakes %d → %d)", before, got)
	}
}

// TestListenerReconnects: when the listener's connection is killed, a wait
// still completes (by polling, or by the wake-all after reconnecting), the
// listener reconnects on a new server process, and notifications flow again.
func TestListenerReconnects(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := notifyingDSN(t)
	waiter, writer := &readCounter{Registry: openPG(t, dsn)}, openPG(t, dsn)
	registerExternal(t, writer, "a")
	registerExternal(t, writer, "b")

	done := awaitTerminal(ctx, waiter, "a")
	first := listening(t, waiter, 1)
	terminateBackend(t, ctx, dsn, first.PID)
	if _, err := writer.CompleteProcess(ctx, "a", procreg.AwaitOutput{Kind: procreg.OutputSuccess}); err != nil {
		t.Fatal(err)
	}
	if res := <-done; res.err != nil || res.out.Kind != procreg.OutputSuccess {
		t.Fatalf("Terminal after the listener was killed = %+v, %v", res.out, res.err)
	}

	eventually(t, "the listener to reconnect on a new server process", func() bool {
		s := stats(t, waiter)
		return s.Connects >= 2 && s.PID != 0 && s.PID != first.PID
	})
	if s := stats(t, waiter); s.LastError == nil {
		t.Fatalf("listener stats after the kill = %+v; want the lost connection's error", s)
	}
	reads := waiter.reads.Load()
	done = awaitTerminal(ctx, waiter, "b")
	second := listening(t, waiter, 1)
	asleep(t, waiter, reads)
	if _, err := writer.CompleteProcess(ctx, "b", procreg.AwaitOutput{Kind: procreg.OutputSuccess}); err != nil {
		t.Fatal(err)
	}
	if res := <-done; res.err != nil {
		t.Fatalf("Terminal after reconnecting: %v", res.err)
	}
	if s := stats(t, waiter); s.Wakes <= second.Wakes {
		t.Fatalf("stats %+v after reconnecting (before the completion: %+v): no notification woke the waiter", s, second)
	}
}

// terminateBackend kills the server process pid, as a failover or an
// administrator would. pg_terminate_backend is test-only administration on
// a connection of its own, like the database set-up in internal/testdb, so
// it is SQL in Go rather than a sqlc query the registry would never run.
func terminateBackend(t *testing.T, ctx context.Context, dsn string, pid uint32) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int32(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
	}
}

// TestCloseStopsListener: Close ends the listener goroutine and connection
// (the goroutine count settles back), wakes leftover watchers, and later
// watches fail so waits fall back to polling.
func TestCloseStopsListener(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := notifyingDSN(t)
	baseline := runtime.NumGoroutine()

	r, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	registerExternal(t, r, "p")
	n := r.(await.Notifier)
	wake, stop, err := n.WatchProcess(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	listening(t, r, 1)
	<-wake // the wake-all on connecting
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	default:
		t.Fatal("Close did not wake the open watcher")
	}
	if s := stats(t, r); s.PID != 0 {
		t.Fatalf("listener still connected after Close: %+v", s)
	}
	if _, _, err := n.WatchProcess(ctx, "p"); err == nil {
		t.Fatal("WatchProcess after Close succeeded")
	}
	eventually(t, "the goroutine count to settle after Close", func() bool { return runtime.NumGoroutine() <= baseline })
}

// BenchmarkNotifyWake measures an append on one registry until a watcher on
// another registry is woken by its notification: the commit-to-wake latency
// a waiting await.Terminal or await.Event sees, instead of up to a second
// of polling backoff. Compare with AppendEventParallel's per-append cost.
func BenchmarkNotifyWake(b *testing.B) {
	ctx := context.Background()
	dsn := notifyingDSN(b)
	open := func() procreg.Registry {
		r, err := postgres.Open(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		return r
	}
	waiter, writer := open(), open()
	if _, err := writer.RegisterProcess(ctx, procreg.Registration{
		ID: "bench", Input: procreg.ProcessInput{Kind: procreg.InputExternal, Payload: json.RawMessage(`{}`)},
		Disposition: procreg.DispositionExternallyOwned, EventTypes: []procreg.EventType{{Name: "tick"}},
	}); err != nil {
		b.Fatal(err)
	}
	wake, stop, err := waiter.(await.Notifier).WatchProcess(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	for s, _ := postgres.Stats(waiter); s.PID == 0; s, _ = postgres.Stats(waiter) {
		time.Sleep(time.Millisecond)
	}
	<-wake // the wake-all on connecting
	for b.Loop() {
		if _, err := writer.AppendEvent(ctx, "bench", procreg.AppendRequest{EventType: "tick"}); err != nil {
			b.Fatal(err)
		}
		<-wake
	}
}
