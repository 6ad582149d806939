package bench

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Progress shows each operation while it runs: on a terminal one line that
// updates in place (the operation, the phase, its count and rate so far),
// elsewhere one plain line per finished operation.
type Progress struct {
	w    io.Writer
	live bool
	mu   sync.Mutex
}

// NewProgress writes to w, updating a line in place when live (w is a
// terminal; see IsTerminal).
func NewProgress(w io.Writer, live bool) *Progress { return &Progress{w: w, live: live} }

// tick is how often the live line is redrawn.
const tick = 200 * time.Millisecond

func (p *Progress) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\x1b[K%s", s)
}

// setup shows that an operation is being prepared.
func (p *Progress) setup(name string) {
	if p == nil || !p.live {
		return
	}
	p.line(fmt.Sprintf("%-16s setting up", name))
}

// watch redraws the live line until done is closed.
func (p *Progress) watch(name string, start, end time.Time, count *atomic.Int64, done <-chan struct{}) {
	if p == nil || !p.live {
		<-done
		return
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			if now.Before(start) {
				p.line(fmt.Sprintf("%-16s warming up, %.1fs", name, start.Sub(now).Seconds()))
				continue
			}
			if now.After(end) {
				now = end
			}
			el := now.Sub(start)
			n := count.Load()
			r := 0.0
			if el > 0 {
				r = float64(n) / el.Seconds()
			}
			p.line(fmt.Sprintf("%-16s %4.1fs of %.1fs  %10s done  %10s/s", name, el.Seconds(), end.Sub(start).Seconds(), rate(float64(n)), rate(r)))
		}
	}
}

// done finishes an operation's line.
func (p *Progress) done(r OpResult) {
	if p == nil {
		return
	}
	s := fmt.Sprintf("%-16s %10s/s  p50 %-8s p99 %-8s (%d %s)", r.Name, rate(r.OpsPerSec), latency(r.P50Ms), latency(r.P99Ms), r.Count, r.Unit)
	if p.live {
		p.line(s + "\n")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, s)
}

// abort clears the live line of an operation that failed.
func (p *Progress) abort() {
	if p == nil || !p.live {
		return
	}
	p.line("")
}
