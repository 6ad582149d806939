package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// workerFunc is one worker of an operation: it calls the operation until
// m.running() is false, recording each completed one.
type workerFunc func(ctx context.Context, w int, m *meter) error

// work is a prepared operation.
type work struct {
	worker workerFunc
	// stop, when set, ends what the operation runs beside its workers
	// (lifecycle's producers); measure calls it once the workers are done.
	stop func()
}

// opSpec is one operation the bench measures.
type opSpec struct {
	name string
	// what it measures, for the help text and docs.
	what string
	// unit is what one counted operation is.
	unit string
	// floor is the floor operation it is compared with, given the
	// dialect's floor for appends.
	floor func(appendFloor driver.FloorOp) driver.FloorOp
	// prepare registers what the workers need, outside the measurement.
	prepare func(ctx context.Context, e *env) (work, error)
}

func fixed(fo driver.FloorOp) func(driver.FloorOp) driver.FloorOp {
	return func(driver.FloorOp) driver.FloorOp { return fo }
}

func appendFloor(fo driver.FloorOp) driver.FloorOp { return fo }

// specs are the operations, in the order a run measures them.
var specs = []opSpec{
	{name: "register", what: "RegisterProcess of a new process", unit: "processes", floor: fixed(driver.FloorInsert), prepare: prepRegister},
	{name: "append", what: "AppendEvent to the worker's own process", unit: "events", floor: appendFloor, prepare: prepAppend},
	{name: "fenced-append", what: "AppendEventWithLease under the worker's lease", unit: "events", floor: appendFloor, prepare: prepFencedAppend},
	{name: "claim-complete", what: "ClaimProcessLease then CompleteProcessLease of the worker's own process", unit: "cycles", floor: fixed(driver.FloorUpdate), prepare: prepClaimComplete},
	{name: "get", what: "GetProcess", unit: "reads", floor: fixed(driver.FloorSelect), prepare: prepGet},
	{name: "list-page", what: "ListProcessesPage of 100 records (a definition filter, 200 match)", unit: "pages", floor: fixed(driver.FloorSelect), prepare: prepListPage},
	{name: "events-after", what: "EventsAfter returning 10 events", unit: "reads", floor: fixed(driver.FloorSelect), prepare: prepEventsAfter},
	{name: "count-through", what: "CountEventsThrough over 20 events", unit: "reads", floor: fixed(driver.FloorSelect), prepare: prepCountThrough},
	{name: "recent", what: "RecentEvents, the last 10", unit: "reads", floor: fixed(driver.FloorSelect), prepare: prepRecent},
	lifecycleSpec,
}

// OpNames are the operations' names, in the order a run measures them.
func OpNames() []string {
	out := make([]string, len(specs))
	for i, o := range specs {
		out[i] = o.name
	}
	return out
}

// OpHelp describes each operation on one line: "name  what (floor)".
func OpHelp() string {
	var b strings.Builder
	for _, o := range specs {
		fo := string(o.floor(driver.FloorUpdate))
		if o.name == "append" || o.name == "fenced-append" {
			fo = "update; insert on SQLite"
		}
		fmt.Fprintf(&b, "  %-15s %s (floor: %s)\n", o.name, o.what, fo)
	}
	return b.String()
}

// ParseOps checks operation names and returns their specs in the order of
// OpNames, each once; empty means all.
func ParseOps(names []string) ([]opSpec, error) {
	if len(names) == 0 {
		return specs, nil
	}
	var out []opSpec
	for _, o := range specs {
		if slices.Contains(names, o.name) {
			out = append(out, o)
		}
	}
	for _, n := range names {
		if !slices.Contains(OpNames(), n) {
			return nil, fmt.Errorf("%w: bench: unknown operation %q (want %s)", procreg.ErrInvalid, n, strings.Join(OpNames(), ", "))
		}
	}
	return out, nil
}

// floorSpec is the floor operation fo as an operation: its rows are the
// run's, one per worker for UPDATE and SELECT, new ones for INSERT.
func floorSpec(f driver.Floor, fo driver.FloorOp) opSpec {
	return opSpec{name: "floor " + string(fo), unit: "statements", floor: fixed(fo), prepare: func(ctx context.Context, e *env) (work, error) {
		rows := e.perWorker("floor")
		e.floorOnce.Do(func() { e.floorErr = f.Prepare(ctx, rows) })
		if e.floorErr != nil {
			return work{}, e.floorErr
		}
		switch fo {
		case driver.FloorSelect:
			return work{worker: loop(func(ctx context.Context, w int) error { return f.Select(ctx, rows[w]) })}, nil
		case driver.FloorUpdate:
			return work{worker: loop(func(ctx context.Context, w int) error { return f.Update(ctx, rows[w]) })}, nil
		}
		next := make([]int, e.workers)
		return work{worker: loop(func(ctx context.Context, w int) error {
			next[w]++
			return f.Insert(ctx, e.id("floor", "ins", w, next[w]))
		})}, nil
	}}
}

func prepRegister(_ context.Context, e *env) (work, error) {
	next := make([]int, e.workers)
	return work{worker: loop(func(ctx context.Context, w int) error {
		next[w]++
		_, err := e.reg.RegisterProcess(ctx, e.registration(e.id("reg", w, next[w]), "register"))
		return err
	})}, nil
}

func prepAppend(ctx context.Context, e *env) (work, error) {
	ids := e.perWorker("append")
	if err := e.register(ctx, "append", ids); err != nil {
		return work{}, err
	}
	return work{worker: loop(func(ctx context.Context, w int) error {
		_, err := e.reg.AppendEvent(ctx, ids[w], procreg.AppendRequest{EventType: stepType, Payload: stepPayload})
		return err
	})}, nil
}

func prepFencedAppend(ctx context.Context, e *env) (work, error) {
	ids := e.perWorker("fenced")
	if err := e.register(ctx, "fenced-append", ids); err != nil {
		return work{}, err
	}
	leases := make([]procreg.Lease, e.workers)
	for w, id := range ids {
		c, err := e.reg.ClaimProcessLease(ctx, id, e.owner(w), time.Hour)
		if err != nil {
			return work{}, err
		}
		if !c.Acquired {
			return work{}, fmt.Errorf("claim of %s: held by %s", id, c.Lease.Owner.OwnerID)
		}
		leases[w] = c.Lease
	}
	return work{worker: loop(func(ctx context.Context, w int) error {
		_, err := e.reg.AppendEventWithLease(ctx, leases[w], procreg.AppendRequest{EventType: stepType, Payload: stepPayload})
		return err
	})}, nil
}

func prepClaimComplete(ctx context.Context, e *env) (work, error) {
	ids := e.perWorker("lease")
	if err := e.register(ctx, "claim-complete", ids); err != nil {
		return work{}, err
	}
	return work{worker: loop(func(ctx context.Context, w int) error {
		c, err := e.reg.ClaimProcessLease(ctx, ids[w], e.owner(w), time.Minute)
		if err != nil {
			return err
		}
		if !c.Acquired {
			return fmt.Errorf("claim of %s: held by %s (each worker claims its own process)", ids[w], c.Lease.Owner.IncarnationID)
		}
		return e.reg.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: ids[w], Token: c.Lease.Token})
	})}, nil
}

// reads prepares a read operation on the reader processes.
func reads(call func(ctx context.Context, r procreg.Registry, id string) error) func(ctx context.Context, e *env) (work, error) {
	return func(ctx context.Context, e *env) (work, error) {
		ids := e.readers(ctx)
		if e.readersErr != nil {
			return work{}, e.readersErr
		}
		return work{worker: loop(func(ctx context.Context, w int) error { return call(ctx, e.reg, ids[w]) })}, nil
	}
}

// want checks that a read returned what the bench set up: a read that
// finds nothing would measure nothing.
func want(what, id string, got, wanted int) error {
	if got != wanted {
		return fmt.Errorf("%s of %s: %d, want %d", what, id, got, wanted)
	}
	return nil
}

var prepGet = reads(func(ctx context.Context, r procreg.Registry, id string) error {
	_, err := r.GetProcess(ctx, id)
	return err
})

var prepEventsAfter = reads(func(ctx context.Context, r procreg.Registry, id string) error {
	evs, err := r.EventsAfter(ctx, id, readEvents-10)
	if err != nil {
		return err
	}
	return want("EventsAfter", id, len(evs), 10)
})

var prepCountThrough = reads(func(ctx context.Context, r procreg.Registry, id string) error {
	n, err := r.CountEventsThrough(ctx, id, stepType, math.MaxUint64)
	if err != nil {
		return err
	}
	return want("CountEventsThrough", id, int(n), readEvents)
})

var prepRecent = reads(func(ctx context.Context, r procreg.Registry, id string) error {
	evs, err := r.RecentEvents(ctx, id, 10)
	if err != nil {
		return err
	}
	return want("RecentEvents", id, len(evs), 10)
})

// listed is the number of processes list-page's filter matches.
const listed = 200

func prepListPage(ctx context.Context, e *env) (work, error) {
	ids := make([]string, listed)
	for i := range ids {
		ids[i] = e.id("list", fmt.Sprintf("%04d", i))
	}
	if err := e.register(ctx, "list", ids); err != nil {
		return work{}, err
	}
	f := procreg.ListFilter{Definition: e.definition("list")}
	return work{worker: loop(func(ctx context.Context, w int) error {
		p, err := e.reg.ListProcessesPage(ctx, f, 100, "")
		if err != nil {
			return err
		}
		return want("ListProcessesPage", "the list processes", len(p.Records), 100)
	})}, nil
}
