package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/await"
)

// listenEvents subscribes a connection to the notifications the schema's
// events_notify trigger sends (channel procreg_events, payload: the process
// id). It is SQL in Go because it has no twin in the other dialects, and
// every sqlc query must exist in all three (queries/queries_test.go); the
// channel name must match the trigger function in schema/postgres.
const listenEvents = "LISTEN procreg_events"

// Reconnect backoff of the listener: quick after a blip, at most one attempt
// every few seconds while the server is away. Waiters poll meanwhile.
const (
	reconnectMin = 50 * time.Millisecond
	reconnectMax = 5 * time.Second
)

// registry is the engine's Registry plus the notification listener, so a
// PostgreSQL registry is an await.Notifier.
type registry struct {
	procreg.Registry
	l *listener
}

var _ await.Notifier = (*registry)(nil)

// WatchProcess implements await.Notifier: wake receives after each event
// committed to processID, and after the listener (re)connects, when a
// notification may have been missed. The first call starts the listener.
func (r *registry) WatchProcess(ctx context.Context, processID string) (<-chan struct{}, func(), error) {
	return r.l.watch(ctx, processID)
}

// Close stops the listener (closing its connection), then the registry.
func (r *registry) Close() error {
	r.l.close()
	return r.Registry.Close()
}

// ListenerStats describes a registry's notification listener.
type ListenerStats struct {
	// Connects counts the times the listener connected and ran LISTEN: one
	// after the first WatchProcess, one more per reconnect.
	Connects uint64
	// PID is the server process id of the listener's connection (as in
	// pg_stat_activity), 0 while it is not connected.
	PID uint32
	// Notifications counts the notifications received, for any process.
	Notifications uint64
	// Wakes counts the notifications handed to a watcher's wake channel
	// (a send that coalesced with a pending wake is not counted).
	Wakes uint64
	// Watchers is the number of subscriptions open now.
	Watchers int
	// LastError is why the listener last lost or failed to get its
	// connection (nil until then); waits poll until it reconnects.
	LastError error
}

// Stats returns the listener statistics of a registry from New or Open, and
// false for any other registry.
func Stats(reg procreg.Registry) (ListenerStats, bool) {
	r, ok := reg.(*registry)
	if !ok {
		return ListenerStats{}, false
	}
	return r.l.stats(), true
}

// listener owns one dedicated connection (not from the pool, so it never
// takes a slot the registry's queries need) that LISTENs for event
// notifications and fans them out to watchers by process id. It connects
// lazily on the first watch, reconnects with backoff when the connection
// drops, and stops on close.
type listener struct {
	cfg    *pgxpool.Config // the pool's settings, for dialling like the pool
	ctx    context.Context // ends on close
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	mu       sync.Mutex
	started  bool
	closed   bool
	watchers map[string]map[chan struct{}]struct{}
	st       ListenerStats
}

func newListener(cfg *pgxpool.Config) *listener {
	ctx, cancel := context.WithCancel(context.Background())
	return &listener{cfg: cfg, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		watchers: map[string]map[chan struct{}]struct{}{}}
}

func (l *listener) watch(ctx context.Context, processID string) (<-chan struct{}, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("postgres: watch process %q: %w", processID, err)
	}
	ch := make(chan struct{}, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, nil, fmt.Errorf("postgres: watch process %q: registry is closed", processID)
	}
	if !l.started {
		l.started = true
		go l.run()
	}
	if l.watchers[processID] == nil {
		l.watchers[processID] = map[chan struct{}]struct{}{}
	}
	l.watchers[processID][ch] = struct{}{}
	l.st.Watchers++
	var once sync.Once
	stop := func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			// A set leaves the map only once empty, so while ch is
			// subscribed, the set in the map is the one holding it.
			set := l.watchers[processID]
			delete(set, ch)
			if len(set) == 0 {
				delete(l.watchers, processID)
			}
			l.st.Watchers--
		})
	}
	return ch, stop, nil
}

func (l *listener) stats() ListenerStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}

// close stops the listener and waits for its goroutine, then wakes every
// remaining watcher so it re-reads (and learns the registry is closed)
// instead of sleeping out its timer.
func (l *listener) close() {
	l.mu.Lock()
	l.closed = true
	started := l.started
	l.mu.Unlock()
	l.cancel()
	if started {
		<-l.done
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wakeAll()
}

// run keeps a listening connection until close, reconnecting with backoff.
func (l *listener) run() {
	defer close(l.done)
	b := await.Backoff{Min: reconnectMin, Max: reconnectMax}
	for {
		// Waiters poll meanwhile, and the registry's own queries report a
		// server that stays away; Stats shows the listener's error.
		err := l.listen(&b)
		if l.ctx.Err() != nil {
			return
		}
		l.mu.Lock()
		l.st.LastError = err
		l.mu.Unlock()
		if b.Wait(l.ctx) != nil {
			return
		}
	}
}

// listen connects, runs LISTEN and dispatches notifications until the
// connection fails or the listener closes.
func (l *listener) listen(b *await.Backoff) error {
	cc := l.cfg.ConnConfig.Copy()
	if l.cfg.BeforeConnect != nil {
		// The pool's hook may set fresh credentials (rotated passwords).
		if err := l.cfg.BeforeConnect(l.ctx, cc); err != nil {
			return fmt.Errorf("postgres: listener: before connect: %w", err)
		}
	}
	conn, err := pgx.ConnectConfig(l.ctx, cc)
	if err != nil {
		return fmt.Errorf("postgres: listener: connect: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	}()
	if _, err := conn.Exec(l.ctx, listenEvents); err != nil {
		return fmt.Errorf("postgres: listener: %s: %w", listenEvents, err)
	}
	b.Reset()
	l.up(conn.PgConn().PID())
	defer l.down()
	for {
		n, err := conn.WaitForNotification(l.ctx)
		if err != nil {
			return fmt.Errorf("postgres: listener connection lost: %w", err)
		}
		l.dispatch(n.Payload)
	}
}

// up records a listening connection and wakes every watcher: a commit
// before LISTEN took effect (the first connect, or a gap while reconnecting)
// sent no notification this listener heard.
func (l *listener) up(pid uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.Connects++
	l.st.PID = pid
	l.wakeAll()
}

func (l *listener) down() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.PID = 0
}

// dispatch wakes the watchers of one process without blocking.
func (l *listener) dispatch(processID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.Notifications++
	for ch := range l.watchers[processID] {
		select {
		case ch <- struct{}{}:
			l.st.Wakes++
		default: // a wake is already pending; it covers this one
		}
	}
}

// wakeAll wakes every watcher without blocking; l.mu must be held.
func (l *listener) wakeAll() {
	for _, set := range l.watchers {
		for ch := range set {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}
