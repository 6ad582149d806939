package ui

import (
	"context"
	"sync"
	"time"

	"github.com/procreg/procreg"
)

// feedPage is the change-feed page size.
const feedPage = 1000

// ringSize bounds the recent changes and failures the feed remembers.
const ringSize = 12

// change is one record change as the browsers see it.
type change struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`
	UpdatedAt time.Time `json:"updated_at"`
}

// feed is the server's one change-feed poller. It follows
// ProcessesChangedSince and fans each batch of changes out to the
// subscribed browsers (server-sent events). The Registry API has no
// cursor at the head of the feed, so the poller first reads the feed from
// its beginning, in pages of feedPage ("catching up"), before it reports
// live changes: once per server, a read of every record in change order.
// On the way it remembers the latest changes and failures, which the
// overview shows.
type feed struct {
	reg      procreg.Registry
	interval time.Duration
	logf     func(string, ...any)

	mu       sync.Mutex
	subs     map[chan feedMsg]struct{}
	running  bool
	caughtUp bool
	read     int64
	lastErr  string
	lastPoll time.Time
	changes  []change         // newest last, at most ringSize
	failures []procreg.Record // newest last, at most ringSize
}

func newFeed(reg procreg.Registry, interval time.Duration, logf func(string, ...any)) *feed {
	return &feed{reg: reg, interval: interval, logf: logf, subs: map[chan feedMsg]struct{}{}}
}

// feedStatus is a snapshot of the poller for the pages.
type feedStatus struct {
	Running  bool
	CaughtUp bool
	Read     int64
	LastErr  string
	LastPoll time.Time
	Changes  []change
	Failures []procreg.Record
}

func (f *feed) status() feedStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := feedStatus{Running: f.running, CaughtUp: f.caughtUp, Read: f.read, LastErr: f.lastErr, LastPoll: f.lastPoll}
	for i := len(f.changes) - 1; i >= 0; i-- {
		st.Changes = append(st.Changes, f.changes[i])
	}
	for i := len(f.failures) - 1; i >= 0; i-- {
		st.Failures = append(st.Failures, f.failures[i])
	}
	return st
}

func (f *feed) subscribe() chan feedMsg {
	ch := make(chan feedMsg, 16)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	return ch
}

func (f *feed) unsubscribe(ch chan feedMsg) {
	f.mu.Lock()
	delete(f.subs, ch)
	f.mu.Unlock()
}

func (f *feed) run(ctx context.Context) {
	f.mu.Lock()
	if f.running {
		f.mu.Unlock()
		return
	}
	f.running = true
	f.mu.Unlock()
	cursor := ""
	backoff := f.interval
	for {
		page, err := f.reg.ProcessesChangedSince(ctx, cursor, feedPage)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			f.mu.Lock()
			f.lastErr = err.Error()
			f.mu.Unlock()
			f.logf("procreg ui: change feed: %v", err)
			backoff = min(backoff*2, 30*time.Second)
			if !sleep(ctx, backoff) {
				return
			}
			continue
		}
		backoff = f.interval
		cursor = page.Next
		f.absorb(page.Records, len(page.Records) < feedPage)
		if len(page.Records) == feedPage {
			continue // more to read now
		}
		if !sleep(ctx, f.interval) {
			return
		}
	}
}

// absorb records a page of changes and, once the poller has caught up,
// sends them to every subscriber. A subscriber that is behind misses the
// batch: browsers re-fetch the page they show on any change, so a missed
// batch only delays nothing.
func (f *feed) absorb(recs []procreg.Record, atHead bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.read += int64(len(recs))
	f.lastErr = ""
	f.lastPoll = time.Now()
	batch := make([]change, 0, len(recs))
	for _, r := range recs {
		c := change{ID: r.ID, State: r.Status.State, UpdatedAt: r.UpdatedAt}
		batch = append(batch, c)
		f.changes = appendRing(f.changes, c)
		if r.Status.State == procreg.StateFailed {
			f.failures = appendRing(dropID(f.failures, r.ID), r)
		}
	}
	wasLive := f.caughtUp
	if atHead {
		f.caughtUp = true
	}
	if !wasLive || len(batch) == 0 {
		if f.caughtUp && !wasLive {
			batch = []change{} // tell the browsers the feed is live
		} else {
			return
		}
	}
	f.sendLocked(feedMsg{Changes: batch})
}

// feedMsg is one message to the browsers: a batch of changes, or word that
// a background count (see counter) has a new figure.
type feedMsg struct {
	Changes []change
	Counts  bool
}

// countsChanged tells the browsers that a count has a new figure.
func (f *feed) countsChanged() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sendLocked(feedMsg{Counts: true})
}

// sendLocked sends m to every subscriber that has room. f.mu is held.
func (f *feed) sendLocked(m feedMsg) {
	for ch := range f.subs {
		select {
		case ch <- m:
		default:
		}
	}
}

func appendRing[T any](ring []T, v T) []T {
	if len(ring) == ringSize {
		copy(ring, ring[1:])
		ring = ring[:ringSize-1]
	}
	return append(ring, v)
}

func dropID(recs []procreg.Record, id string) []procreg.Record {
	out := recs[:0]
	for _, r := range recs {
		if r.ID != id {
			out = append(out, r)
		}
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
