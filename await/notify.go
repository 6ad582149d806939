package await

import (
	"context"

	"github.com/procreg/procreg"
)

// Notifier is an optional interface of a procreg.Registry: it tells a waiter
// early that a process may have changed. The PostgreSQL backend implements
// it with LISTEN/NOTIFY; Terminal and Event use it when the registry has it
// and poll otherwise.
//
// It lives here rather than in the root package because only waiting uses
// it: it is no part of the registry contract (SPEC §9 keeps waiting out of
// the Registry), and a registry that lacks it is complete.
type Notifier interface {
	// WatchProcess subscribes to changes of processID until stop is called.
	// After it returns, every event appended to the process and committed
	// (a terminal transition appends one too) sends on wake, as does
	// anything that may have made the notifier miss one (its listener
	// reconnecting, the registry closing). Sends never block: wake is
	// buffered, and sends that find it full coalesce. A wake is a hint to
	// re-read, never the fact; it may also come when nothing changed.
	//
	// stop ends the subscription; it must be called once the caller is done
	// and may be called more than once. On error there is no subscription
	// and the caller falls back to polling.
	WatchProcess(ctx context.Context, processID string) (wake <-chan struct{}, stop func(), err error)
}

// watch subscribes to processID when reg is a Notifier. Without one, or when
// the subscription fails, it returns a nil channel (a select never receives
// from it, so the wait is pure polling) and a stop that does nothing.
func watch(ctx context.Context, reg procreg.Registry, processID string) (<-chan struct{}, func()) {
	n, ok := reg.(Notifier)
	if !ok {
		return nil, func() {}
	}
	wake, stop, err := n.WatchProcess(ctx, processID)
	if err != nil {
		// The notification is an optimisation; polling alone is correct.
		return nil, func() {}
	}
	if stop == nil {
		stop = func() {}
	}
	return wake, stop
}
