package sweep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/procreg/procreg"
)

// Work is one process held under a lease by this worker. Hold starts it; the
// Sweeper hands one to its Run function for every claimed process.
//
// While a Work is held, a background goroutine renews the lease every
// RenewEvery. Every write made through the Work is fenced. AppendEvent and
// Complete use the registry's fenced writes (AppendEventWithLease,
// CompleteProcessWithLease): the lease check and the write are one
// transaction, so once another owner took the lease over, or it expired, no
// write of this Work can land, however long the worker was paused before
// it. Complete also releases the lease. RecordFirstStarted and Do, which
// have no fenced form in the registry, renew the lease first and write only
// when the renewal succeeded; a stall longer than the ttl between the two
// could still land that one write late (first-started is first-writer-wins,
// so a late one changes nothing once the new owner recorded its own). Once
// the lease was lost, every write is refused with an error wrapping
// procreg.ErrLeaseLost.
type Work struct {
	// Record is the process as read after the lease was acquired.
	Record procreg.Record

	reg   procreg.Registry
	ttl   time.Duration
	clock func() time.Time
	log   *slog.Logger

	mu        sync.Mutex
	lease     procreg.Lease
	renewedAt time.Time // monotonic time of the last successful renewal or claim
	lost      error     // non-nil once the lease is lost; wraps procreg.ErrLeaseLost
	refused   int
	completed bool // a fenced completion released the lease: nothing left to renew

	lostCh chan struct{}
	cancel context.CancelCauseFunc
	done   chan struct{}
	stop   sync.Once
}

// HoldOptions tune Hold. The zero value renews every ttl/3 with the system clock.
type HoldOptions struct {
	// RenewEvery is the background renewal period (ttl/3 when zero).
	RenewEvery time.Duration
	// Clock stamps the facts the Work writes (first-started time); nil = time.Now.
	Clock func() time.Time
	// Logger, if set, receives the Work's structured records: the lease
	// lost (Warn), a renewal that failed but may be retried (Warn), a
	// write refused by the fence (Info), a failed release (Warn). Nil logs
	// nothing.
	Logger *slog.Logger
}

// Hold starts keeping lease, which the caller has just acquired over rec with
// the given ttl. It returns the Work and a context derived from ctx that is
// cancelled (with cause ErrLeaseLost) once the lease is lost or the Work is
// released. Call Release when done.
func Hold(ctx context.Context, reg procreg.Registry, rec procreg.Record, lease procreg.Lease, ttl time.Duration, o HoldOptions) (*Work, context.Context) {
	runCtx, cancel := context.WithCancelCause(ctx)
	w := &Work{
		Record:    rec,
		reg:       reg,
		ttl:       ttl,
		clock:     o.Clock,
		log:       o.Logger,
		lease:     lease,
		renewedAt: time.Now(),
		lostCh:    make(chan struct{}),
		cancel:    cancel,
		done:      make(chan struct{}),
	}
	if w.clock == nil {
		w.clock = time.Now
	}
	if w.log == nil {
		w.log = discardLogger
	}
	every := o.RenewEvery
	if every <= 0 {
		every = ttl / 3
	}
	if every <= 0 {
		every = time.Millisecond
	}
	go w.keep(runCtx, every)
	return w, runCtx
}

// keep renews the lease in the background until the Work is released or lost.
func (w *Work) keep(ctx context.Context, every time.Duration) {
	defer close(w.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := w.renew(ctx); err != nil && w.Err() != nil {
				return
			}
		}
	}
}

// renew extends the lease once. A rejection (ErrLeaseLost) marks the Work
// lost for good; a transient failure marks it lost only when the last
// successful renewal is older than the ttl, because then the lease may have
// expired and another owner may hold it.
func (w *Work) renew(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lost != nil {
		return w.lost
	}
	if w.completed {
		return nil
	}
	l, err := w.reg.RenewProcessLease(ctx, w.lease, w.ttl)
	switch {
	case err == nil:
		w.lease = l
		w.renewedAt = time.Now()
		return nil
	case errors.Is(err, procreg.ErrLeaseLost):
		w.markLostLocked(err)
		return w.lost
	case time.Since(w.renewedAt) >= w.ttl && ctx.Err() == nil:
		w.markLostLocked(fmt.Errorf("could not renew for a whole ttl (%v): %v: %w", w.ttl, err, procreg.ErrLeaseLost))
		return w.lost
	default:
		err = fmt.Errorf("renew lease of process %q: %w", w.lease.ProcessID, err)
		if ctx.Err() == nil {
			w.log.LogAttrs(ctx, slog.LevelWarn, "lease renewal failed; retrying", w.leaseAttrs(slog.String("error", err.Error()))...)
		}
		return err
	}
}

func (w *Work) markLostLocked(cause error) {
	w.lost = fmt.Errorf("lease of process %q (fencing token %d) lost: %w", w.lease.ProcessID, w.lease.FencingToken, cause)
	close(w.lostCh)
	w.cancel(w.lost)
	w.log.LogAttrs(context.Background(), slog.LevelWarn, "lease lost", w.leaseAttrs(slog.String("error", w.lost.Error()))...)
}

// leaseAttrs are the attributes of a record about the Work's lease (the
// caller holds w.mu or owns the Work alone), followed by more.
func (w *Work) leaseAttrs(more ...slog.Attr) []slog.Attr {
	return append([]slog.Attr{slog.String("process_id", w.lease.ProcessID), slog.Uint64("fencing_token", w.lease.FencingToken)}, more...)
}

// Lease returns the lease as last renewed.
func (w *Work) Lease() procreg.Lease {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lease
}

// Lost is closed once the lease is lost.
func (w *Work) Lost() <-chan struct{} { return w.lostCh }

// Err returns nil while the lease is held, and an error wrapping
// procreg.ErrLeaseLost once it was lost.
func (w *Work) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lost
}

// Refused counts the writes the fence refused because the lease was lost.
func (w *Work) Refused() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refused
}

// Do runs one write under the fence: it renews the lease and calls write only
// when the renewal succeeded. After the lease is lost it refuses every write
// with an error wrapping procreg.ErrLeaseLost.
func (w *Work) Do(ctx context.Context, write func(ctx context.Context) error) error {
	if err := w.renew(ctx); err != nil {
		if errors.Is(err, procreg.ErrLeaseLost) {
			w.mu.Lock()
			w.refused++
			w.mu.Unlock()
		}
		return fmt.Errorf("fenced write refused: %w", err)
	}
	return write(ctx)
}

// fenced runs a fenced registry write with the lease as last renewed. An
// ErrLeaseLost from it marks the Work lost; after that every write is
// refused without a call.
func (w *Work) fenced(ctx context.Context, write func(ctx context.Context, l procreg.Lease) error) error {
	w.mu.Lock()
	if w.lost != nil {
		w.refused++
		lost := w.lost
		w.log.LogAttrs(ctx, slog.LevelInfo, "fenced write refused", w.leaseAttrs(slog.String("error", lost.Error()))...)
		w.mu.Unlock()
		return fmt.Errorf("fenced write refused: %w", lost)
	}
	l := w.lease
	w.mu.Unlock()
	err := write(ctx, l)
	if errors.Is(err, procreg.ErrLeaseLost) {
		w.mu.Lock()
		w.refused++
		if w.lost == nil && !w.completed {
			w.markLostLocked(err)
		}
		w.log.LogAttrs(ctx, slog.LevelInfo, "fenced write refused", w.leaseAttrs(slog.String("error", err.Error()))...)
		w.mu.Unlock()
		return fmt.Errorf("fenced write refused: %w", err)
	}
	return err
}

// AppendEvent appends an event with AppendEventWithLease: it lands only
// while this Work's lease is the live lease of the process.
func (w *Work) AppendEvent(ctx context.Context, req procreg.AppendRequest) (procreg.AppendResult, error) {
	var res procreg.AppendResult
	err := w.fenced(ctx, func(ctx context.Context, l procreg.Lease) (err error) {
		res, err = w.reg.AppendEventWithLease(ctx, l, req)
		return err
	})
	return res, err
}

// RecordFirstStarted records, under the fence, that this lease's owner started
// the process now. The first writer wins: a process started before keeps its fact.
func (w *Work) RecordFirstStarted(ctx context.Context) (procreg.Record, error) {
	var rec procreg.Record
	err := w.Do(ctx, func(ctx context.Context) (err error) {
		rec, err = w.reg.RecordFirstStarted(ctx, w.Record.ID, procreg.Started{Owner: w.Lease().Owner, At: w.clock()})
		return err
	})
	return rec, err
}

// Complete writes the process's terminal outcome with
// CompleteProcessWithLease, which also releases the lease, so the Work
// stops renewing it. Repeating an identical completion returns the stored
// record.
func (w *Work) Complete(ctx context.Context, out procreg.AwaitOutput) (procreg.Record, error) {
	var rec procreg.Record
	err := w.fenced(ctx, func(ctx context.Context, l procreg.Lease) (err error) {
		rec, err = w.reg.CompleteProcessWithLease(ctx, l, out)
		if err == nil {
			w.mu.Lock()
			w.completed = true
			w.mu.Unlock()
		}
		return err
	})
	return rec, err
}

// Release stops the renewal and releases the lease (fenced by its token, so
// releasing a lease another owner took over is a no-op). It runs even when
// ctx is already cancelled, bounded by a short timeout, so a worker that is
// shutting down frees its work for others at once instead of after the ttl.
func (w *Work) Release(ctx context.Context) error {
	w.stop.Do(func() { w.cancel(errReleased) })
	<-w.done
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	l := w.Lease()
	if err := w.reg.CompleteProcessLease(rctx, procreg.LeaseCompletion{ProcessID: l.ProcessID, Token: l.Token}); err != nil {
		err = fmt.Errorf("release lease of process %q: %w", l.ProcessID, err)
		w.log.LogAttrs(rctx, slog.LevelWarn, "lease release failed", slog.String("process_id", l.ProcessID),
			slog.Uint64("fencing_token", l.FencingToken), slog.String("error", err.Error()))
		return err
	}
	return nil
}

// releaseTimeout bounds a release made while shutting down.
const releaseTimeout = 5 * time.Second

var errReleased = errors.New("sweep: work released")
