package ui

import (
	"context"
	"sync"
	"time"

	"github.com/procreg/procreg"
)

// Counts are the one thing on a page that is not bounded: CountProcesses
// reads the whole range of an index (hundreds of milliseconds at a million
// processes on SQLite). So pages never count themselves. They ask the
// server's counter, which keeps the latest figure per filter and refreshes
// figures in the background, one count at a time (at most one refresh in
// flight per server):
//
//   - A figure is refreshed when a page asks for it and it is older than
//     countStaleFactor times its last count's duration: a cheap count is
//     refreshed on every page view, a count that took 400 ms at most every
//     8 s, so counting takes at most about a twentieth of one connection's
//     time per filter shown.
//   - A page waits up to countWait for the figures it asked for (when it has
//     none yet, or their last count took less than countWait), then renders
//     with what it has: a figure with its time ("counts as of 15:04:05"), or
//     "counting…" for a filter never counted yet. So no page waits longer
//     than countWait on counts, and on a small registry the figures are
//     always fresh.
//   - When a background count finishes, the browsers are told (as a change
//     event) and re-fetch the page, which then shows the new figure.
const (
	countWait        = 100 * time.Millisecond
	countStaleFactor = 20
	countTimeout     = 2 * time.Minute
	countMaxFilters  = 64 // figures kept; the least recently asked for goes
)

// countKey is a ListFilter as a map key (its definition as given).
type countKey struct {
	status     procreg.StatusFilter
	definition string
	waiting    int8 // 0 any, 1 yes, 2 no
}

func keyOf(f procreg.ListFilter) countKey {
	k := countKey{status: f.Status, definition: string(f.Definition)}
	if k.status == "" {
		k.status = procreg.StatusRunning
	}
	if f.Waiting != nil {
		k.waiting = 2
		if *f.Waiting {
			k.waiting = 1
		}
	}
	return k
}

type countEntry struct {
	filter  procreg.ListFilter
	n       int
	at      time.Time     // when the count that gave n started
	took    time.Duration // how long it took
	known   bool          // n is set
	err     error         // the last count failed
	queued  bool
	askedAt time.Time
}

// figure is one count as a page shows it.
type figure struct {
	N     int
	Known bool // false: never counted yet ("counting…")
	At    time.Time
}

type counter struct {
	reg    procreg.Registry
	notify func() // a background count finished

	mu      sync.Mutex
	base    context.Context // the counts' context: the server's
	entries map[countKey]*countEntry
	queue   []countKey
	busy    bool          // a refresh is in flight
	done    chan struct{} // closed (and replaced) when a count finishes
	now     func() time.Time
}

func newCounter(reg procreg.Registry, notify func()) *counter {
	return &counter{reg: reg, notify: notify, base: context.Background(),
		entries: map[countKey]*countEntry{}, done: make(chan struct{}), now: time.Now}
}

// setContext sets the context background counts run under (Run's).
func (c *counter) setContext(ctx context.Context) {
	c.mu.Lock()
	c.base = ctx
	c.mu.Unlock()
}

// get returns a figure per filter, queueing stale ones for the background
// refresh and waiting at most countWait for those worth waiting for. An
// error is returned only for a filter whose every count failed.
func (c *counter) get(ctx context.Context, fs ...procreg.ListFilter) ([]figure, error) {
	keys := make([]countKey, len(fs))
	now := c.now()
	c.mu.Lock()
	wait := false
	for i, f := range fs {
		k := keyOf(f)
		keys[i] = k
		e := c.entries[k]
		if e == nil {
			c.evict()
			e = &countEntry{filter: f}
			c.entries[k] = e
		}
		e.askedAt = now
		if e.queued {
			wait = wait || !e.known || e.took < countWait
			continue
		}
		if !e.known || e.err != nil || now.Sub(e.at) > countStaleFactor*e.took {
			e.queued = true
			c.queue = append(c.queue, k)
			wait = wait || !e.known || e.took < countWait
		}
	}
	c.start()
	c.mu.Unlock()

	if wait {
		timer := time.NewTimer(countWait)
		defer timer.Stop()
	waiting:
		for {
			c.mu.Lock()
			pending, done := false, c.done
			for _, k := range keys {
				pending = pending || c.entries[k].queued
			}
			c.mu.Unlock()
			if !pending {
				break
			}
			select {
			case <-done:
			case <-timer.C:
				break waiting
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]figure, len(keys))
	for i, k := range keys {
		e := c.entries[k]
		if e.err != nil && !e.known {
			return nil, e.err
		}
		out[i] = figure{N: e.n, Known: e.known, At: e.at}
	}
	return out, nil
}

// evict drops the least recently asked-for idle figure when the counter
// is full. c.mu is held.
func (c *counter) evict() {
	if len(c.entries) < countMaxFilters {
		return
	}
	var victim countKey
	var oldest *countEntry
	for k, e := range c.entries {
		if !e.queued && (oldest == nil || e.askedAt.Before(oldest.askedAt)) {
			victim, oldest = k, e
		}
	}
	if oldest != nil {
		delete(c.entries, victim)
	}
}

// start starts the refresher unless it is running. c.mu is held.
func (c *counter) start() {
	if c.busy || len(c.queue) == 0 {
		return
	}
	c.busy = true
	go c.refresh()
}

// refresh counts the queued filters one at a time until the queue is empty.
func (c *counter) refresh() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.busy = false
			c.mu.Unlock()
			return
		}
		k := c.queue[0]
		c.queue = c.queue[1:]
		e := c.entries[k]
		base := c.base
		c.mu.Unlock()

		ctx, cancel := context.WithTimeout(base, countTimeout)
		start := c.now()
		n, err := c.reg.CountProcesses(ctx, e.filter)
		took := c.now().Sub(start)
		cancel()

		c.mu.Lock()
		e.queued = false
		changed := err == nil && (!e.known || e.n != n)
		if err == nil {
			e.n, e.known, e.at, e.took, e.err = n, true, start, took, nil
		} else {
			e.err = err
		}
		close(c.done)
		c.done = make(chan struct{})
		c.mu.Unlock()
		// Tell the browsers only when the figure changed: a re-fetch asks
		// again, and an unchanged figure must not start another round.
		if changed && c.notify != nil {
			c.notify()
		}
	}
}
