package ui

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// slowCounts is a registry whose counts take delay (and are counted).
type slowCounts struct {
	procreg.Registry
	delay    time.Duration
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	calls    atomic.Int32
}

func (r *slowCounts) CountProcesses(ctx context.Context, f procreg.ListFilter) (int, error) {
	n := r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	for {
		m := r.maxSeen.Load()
		if n <= m || r.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	r.calls.Add(1)
	select {
	case <-time.After(r.delay):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return r.Registry.CountProcesses(ctx, f)
}

// TestCountsInBackground: with counts slower than countWait, the overview
// and the list render without waiting for them ("counting…"), one count
// runs at a time, the browsers are told when a figure arrives, and the
// next render shows it with its time. A slow figure is not recounted on
// every view.
func TestCountsInBackground(t *testing.T) {
	base, _ := openSQLite(t)
	seedVaried(t, base)
	reg := &slowCounts{Registry: base, delay: 300 * time.Millisecond}
	ts := newTestServer(t, reg, Config{})
	ch := ts.s.feed.subscribe()
	defer ts.s.feed.unsubscribe(ch)

	start := time.Now()
	code, _, body := ts.get(t, "/")
	if took := time.Since(start); code != 200 || took > time.Second { // six counts would take 1.8 s
		t.Fatalf("overview: %d in %s, want 200 without waiting on the counts", code, took)
	}
	if !strings.Contains(body, "Counting in the background") {
		t.Errorf("overview does not say it is counting:\n%s", body)
	}
	// Six counts, one at a time: wait for the figures to arrive.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, body = ts.get(t, "/")
		if strings.Contains(body, "Counts as of") && !strings.Contains(body, "Counting in the background") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts never arrived:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if m := reg.maxSeen.Load(); m != 1 {
		t.Errorf("%d counts ran at once, want 1", m)
	}
	sawCounts := false
	for len(ch) > 0 {
		if m := <-ch; m.Counts {
			sawCounts = true
		}
	}
	if !sawCounts {
		t.Error("the browsers were not told about the new figures")
	}
	if !strings.Contains(body, `<span class="num">26</span><span class="lbl">processes</span>`) {
		t.Errorf("overview lacks the total of 26:\n%s", body)
	}
	// The figures are fresh (20 × 300 ms): another view counts nothing.
	calls := reg.calls.Load()
	ts.get(t, "/")
	time.Sleep(50 * time.Millisecond)
	if n := reg.calls.Load(); n != calls {
		t.Errorf("a view of fresh figures counted again (%d counts, then %d)", calls, n)
	}

	if _, _, body = ts.get(t, "/processes?status=running&waiting=no"); !strings.Contains(body, "Counting the matches in the background") {
		t.Errorf("list does not say it is counting:\n%s", body)
	}
}
