// Package await waits for facts to appear in a procreg.Registry: a process
// reaching a terminal state, or an event of a given type being appended.
//
// Waiting is deliberately not a registry method (SPEC §9): it is built here,
// above any Registry, from point reads. A wait reads once immediately, so a
// fact that already exists is returned without sleeping; after that it polls
// with bounded exponential backoff (25 ms floor, doubling, 1 s cap), so a
// fresh fact is seen quickly and a long wait costs about one read a second.
// Every wait honours its context: cancellation or a deadline ends it with an
// error wrapping ctx.Err(). An unknown process ends it with an error wrapping
// procreg.ErrNotFound (a pruned process is unknown too).
//
// # Early wake
//
// A Registry that also implements Notifier (the PostgreSQL backend does,
// through LISTEN/NOTIFY, when the writers opt in with procreg.notify=on —
// see backends/postgres) lets a wait end its sleep as soon as the process
// may have changed, instead of at the next poll. The wait subscribes before
// its first read, so a change committed between the read and the sleep is
// not missed; it sleeps until the earlier of the backoff timer and a wake
// (but at least the 25 ms floor after its last read, so a process that
// appends quickly costs a waiter at most 40 reads a second), and always
// re-reads after a wake: a notification is a hint, never the fact.
// Polling with the same backoff stays the fallback: a registry without a
// Notifier, a subscription that fails, or a notification that is lost or
// never sent (for example while the listener reconnects) only makes the
// wait slower.
package await

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/procreg/procreg"
)

// Default polling bounds: the first retry comes after Floor, each further one
// after twice the previous delay, never more than Cap.
const (
	Floor = 25 * time.Millisecond
	Cap   = time.Second
)

// Backoff is a bounded exponential delay for polling loops. The zero value
// uses Floor and Cap. It is not safe for concurrent use.
type Backoff struct {
	// Min is the first delay (Floor when zero); Max bounds every delay (Cap when zero).
	Min, Max time.Duration
	next     time.Duration
}

// Next returns the delay to sleep before the next poll and doubles the one after it.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.bounds()
	d := b.next
	if d < lo {
		d = lo
	}
	if d > hi {
		d = hi
	}
	b.next = min(d*2, hi)
	return d
}

// bounds returns the effective minimum and maximum delays.
func (b *Backoff) bounds() (lo, hi time.Duration) {
	lo, hi = b.Min, b.Max
	if lo <= 0 {
		lo = Floor
	}
	if hi <= 0 {
		hi = Cap
	}
	return lo, max(lo, hi)
}

// Reset makes the next delay the minimum again; call it when a poll found
// something, so a busy stream is followed closely.
func (b *Backoff) Reset() { b.next = 0 }

// Wait sleeps for the next delay, or returns ctx.Err() when the context ends
// first (callers wrap it with what they were waiting for).
func (b *Backoff) Wait(ctx context.Context) error {
	_, err := b.WaitOrWake(ctx, nil)
	return err
}

// WaitOrWake is Wait cut short by a receive on wake: it reports whether the
// wake ended the sleep (false: the delay ran out). A nil wake never fires.
// A wake ends the sleep no sooner than the minimum delay after it began, so
// a storm of wakes (a process appending events quickly) costs at most one
// poll per minimum delay. The next delay doubles either way, so wakes that
// each turn out to be nothing do not keep the timer at the floor.
func (b *Backoff) WaitOrWake(ctx context.Context, wake <-chan struct{}) (woken bool, err error) {
	lo, _ := b.bounds()
	start := time.Now()
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
		return false, nil
	case <-wake:
	}
	if rest := lo - time.Since(start); rest > 0 {
		t.Reset(rest)
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
		}
	}
	return true, nil
}

// Terminal waits until the process is terminal and returns its await output.
// It returns at once when the process is already terminal.
func Terminal(ctx context.Context, reg procreg.Registry, processID string) (procreg.AwaitOutput, error) {
	if err := ctx.Err(); err != nil {
		return procreg.AwaitOutput{}, fmt.Errorf("await terminal of process %q: %w", processID, err)
	}
	wake, stop := watch(ctx, reg, processID)
	defer stop()
	var b Backoff
	for {
		if err := ctx.Err(); err != nil {
			return procreg.AwaitOutput{}, fmt.Errorf("await terminal of process %q: %w", processID, err)
		}
		rec, err := reg.GetProcess(ctx, processID)
		if err != nil {
			return procreg.AwaitOutput{}, fmt.Errorf("await terminal of process %q: %w", processID, err)
		}
		if rec.IsTerminal() {
			if rec.Status.AwaitOutput == nil {
				// A registry must store the outcome with the terminal state;
				// report the broken record instead of inventing an output.
				return procreg.AwaitOutput{}, fmt.Errorf("await terminal of process %q: state %q has no await output: %w",
					processID, rec.Status.State, procreg.ErrInvalid)
			}
			return *rec.Status.AwaitOutput, nil
		}
		if _, err := b.WaitOrWake(ctx, wake); err != nil {
			return procreg.AwaitOutput{}, fmt.Errorf("await terminal of process %q: %w", processID, err)
		}
	}
}

// Event waits for the first event of eventType with a sequence greater than
// afterSequence and returns it. It returns at once when such an event is
// already stored. The wait continues after the process turns terminal, since
// non-terminal events may still be appended to a terminal process; bound it
// with the context.
func Event(ctx context.Context, reg procreg.Registry, processID, eventType string, afterSequence uint64) (procreg.Event, error) {
	if eventType == "" {
		return procreg.Event{}, fmt.Errorf("await event of process %q: empty event type: %w", processID, procreg.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return procreg.Event{}, fmt.Errorf("await %q event of process %q: %w", eventType, processID, err)
	}
	wake, stop := watch(ctx, reg, processID)
	defer stop()
	var b Backoff
	cursor := afterSequence
	for {
		if err := ctx.Err(); err != nil {
			return procreg.Event{}, fmt.Errorf("await %q event of process %q: %w", eventType, processID, err)
		}
		events, err := reg.EventsAfter(ctx, processID, cursor)
		if err != nil {
			return procreg.Event{}, fmt.Errorf("await %q event of process %q: %w", eventType, processID, err)
		}
		for _, ev := range events {
			if ev.EventType == eventType {
				return ev, nil
			}
		}
		if n := len(events); n > 0 {
			// Read only what is new next time; seen events never match later.
			cursor = events[n-1].Sequence
			b.Reset()
		}
		if _, err := b.WaitOrWake(ctx, wake); err != nil {
			return procreg.Event{}, fmt.Errorf("await %q event of process %q: %w", eventType, processID, err)
		}
	}
}

// IsTimeout reports whether err ended a wait because its context was
// cancelled or ran out of time, rather than because the registry failed.
func IsTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
