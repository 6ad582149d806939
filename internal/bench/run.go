package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// Defaults of Config.
const (
	DefaultWorkers  = 8
	DefaultDuration = 5 * time.Second
	DefaultWarmup   = time.Second
)

// Config is how a run measures.
type Config struct {
	// Workers is the number of goroutines calling each operation at once
	// (default DefaultWorkers).
	Workers int
	// Duration is the measured time of each operation (default
	// DefaultDuration); Warmup runs it before that, unmeasured (default
	// DefaultWarmup; negative means none).
	Duration, Warmup time.Duration
	// Ops are the operations to measure, in the order of OpNames (empty:
	// all). ParseOps checks a list.
	Ops []string
	// NoFloor skips the floor.
	NoFloor bool
	// Progress reports each operation while it runs (nil: silent).
	Progress *Progress
}

// Target is what a run measures.
type Target struct {
	// Dialect names the backend ("sqlite"); DSN is the DSN as the result
	// shows it (with any password redacted).
	Dialect, DSN string
	// Registry is the registry under test, opened (and migrated) by the
	// caller.
	Registry procreg.Registry
	// Floor is the dialect's floor on the same database (nil: none).
	Floor driver.Floor
	// FloorNote says why there is no floor, when Floor is nil.
	FloorNote string
}

// Run measures every operation of c on t: first the floor operations the
// chosen operations are compared with, then the operations, one after
// another, each with c.Workers workers for c.Warmup and then c.Duration.
// It works on processes of its own (ids Result.Prefix…), which it leaves
// behind, and on the floor's rows of the same prefix, which it deletes.
func Run(ctx context.Context, t Target, c Config) (res *Result, err error) {
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	switch {
	case c.Warmup == 0:
		c.Warmup = DefaultWarmup
	case c.Warmup < 0:
		c.Warmup = 0
	}
	if c.Workers < 1 || c.Duration < 0 {
		return nil, fmt.Errorf("%w: bench: want at least one worker and a positive duration", procreg.ErrInvalid)
	}
	ops, err := ParseOps(c.Ops)
	if err != nil {
		return nil, err
	}
	run, err := newRunID()
	if err != nil {
		return nil, err
	}
	e := &env{reg: t.Registry, run: run, prefix: "procreg-bench-" + run + "-", workers: c.Workers}
	res = &Result{
		Dialect: t.Dialect, DSN: t.DSN, Run: run, Prefix: e.prefix, StartedAt: time.Now().UTC().Truncate(time.Second),
		Workers: c.Workers, DurationSeconds: c.Duration.Seconds(), WarmupSeconds: c.Warmup.Seconds(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Floor: []OpResult{}, Ops: []OpResult{},
	}

	floor := t.Floor
	if c.NoFloor {
		floor, res.FloorNote = nil, "not measured (--no-floor)"
	} else if floor == nil {
		res.FloorNote = t.FloorNote
	}
	floorRates := map[driver.FloorOp]float64{}
	if floor != nil {
		defer func() {
			// The floor's rows go even when the run was interrupted.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if cerr := floor.Cleanup(cctx, e.prefix); cerr != nil && err == nil {
				err = cerr
			}
		}()
		for _, fo := range floorOps(ops, floor.AppendFloor()) {
			r, merr := measure(ctx, e, floorSpec(floor, fo), c)
			if merr != nil {
				return nil, merr
			}
			res.Floor = append(res.Floor, r)
			floorRates[fo] = r.OpsPerSec
		}
	}
	for _, o := range ops {
		r, merr := measure(ctx, e, o, c)
		if merr != nil {
			return nil, merr
		}
		if floor != nil {
			fo := o.floor(floor.AppendFloor())
			r.Floor = string(fo)
			if rate := floorRates[fo]; rate > 0 {
				ratio := r.OpsPerSec / rate
				r.FloorRatio = &ratio
			}
		}
		res.Ops = append(res.Ops, r)
	}
	res.LoadAverage = loadAverage()
	return res, nil
}

// floorOps are the floor operations ops are compared with, in a fixed
// order.
func floorOps(ops []opSpec, appendFloor driver.FloorOp) []driver.FloorOp {
	var out []driver.FloorOp
	for _, fo := range []driver.FloorOp{driver.FloorSelect, driver.FloorInsert, driver.FloorUpdate} {
		for _, o := range ops {
			if o.floor(appendFloor) == fo {
				out = append(out, fo)
				break
			}
		}
	}
	return out
}

// newRunID names a run by its start time and a random suffix:
// "20260102t150405-9f3a".
func newRunID() (string, error) {
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("bench: run id: %w", err)
	}
	return strings.ToLower(time.Now().UTC().Format("20060102T150405")) + "-" + hex.EncodeToString(b), nil
}

// loadAverage reads the 1, 5 and 15 minute load averages (Linux's
// /proc/loadavg); nil where there is none.
func loadAverage() []float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return nil
	}
	var out []float64
	for _, s := range f[:3] {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

// env is what the operations of one run share.
type env struct {
	reg     procreg.Registry
	run     string
	prefix  string
	workers int

	readersOnce sync.Once
	readersErr  error
	floorOnce   sync.Once
	floorErr    error
}

// stepType is the event type every bench process declares and appends.
const stepType = "bench.step"

var stepPayload = json.RawMessage(`{"progress":0.5,"note":"procreg bench"}`)

// id is a process id of this run: the prefix, then parts joined by '-'.
func (e *env) id(parts ...any) string {
	var b strings.Builder
	b.WriteString(e.prefix)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('-')
		}
		fmt.Fprint(&b, p)
	}
	return b.String()
}

// definition is the identity definition of this run's processes of op:
// ListFilter.Definition finds them, and no other run's.
func (e *env) definition(op string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"procreg_bench": e.run, "op": op})
	return b
}

// registration is a minimal rerunnable tool process of op.
func (e *env) registration(id, op string) procreg.Registration {
	return procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"cmd":"procreg bench"}`)},
		Disposition: procreg.DispositionRerunnable,
		Identity:    procreg.Identity{Kind: "tool", Label: "procreg bench", Definition: e.definition(op)},
		EnvRef:      "procreg-bench",
		EventTypes:  []procreg.EventType{{Name: stepType}},
	}
}

// owner is worker w's lease owner.
func (e *env) owner(w int) procreg.LeaseOwner {
	return procreg.LeaseOwner{OwnerID: "procreg-bench", IncarnationID: e.run + "-w" + strconv.Itoa(w)}
}

// each runs fn(i) for i in [0, n) on e.workers goroutines and returns the
// first error.
func (e *env) each(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(e.workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// register registers the processes ids of op, in parallel.
func (e *env) register(ctx context.Context, op string, ids []string) error {
	return e.each(ctx, len(ids), func(ctx context.Context, i int) error {
		_, err := e.reg.RegisterProcess(ctx, e.registration(ids[i], op))
		return err
	})
}

// perWorker is one id per worker: the prefix, then parts and the worker.
func (e *env) perWorker(parts ...any) []string {
	ids := make([]string, e.workers)
	for w := range ids {
		ids[w] = e.id(append(parts, w)...)
	}
	return ids
}

// readEvents is the number of events of each reader process.
const readEvents = 20

// readers registers the processes the read operations use, once per run:
// one per worker, with readEvents events each.
func (e *env) readers(ctx context.Context) []string {
	ids := e.perWorker("read")
	e.readersOnce.Do(func() {
		if e.readersErr = e.register(ctx, "read", ids); e.readersErr != nil {
			return
		}
		e.readersErr = e.each(ctx, len(ids), func(ctx context.Context, i int) error {
			for range readEvents {
				if _, err := e.reg.AppendEvent(ctx, ids[i], procreg.AppendRequest{EventType: stepType, Payload: stepPayload}); err != nil {
					return err
				}
			}
			return nil
		})
	})
	return ids
}

// meter is one worker's measurement of one operation.
type meter struct {
	start, end  time.Time // the measured window
	hist        histogram
	count       int64
	unavailable int64
	shared      *atomic.Int64 // every worker's count, for the progress
}

// running reports whether the measurement is still on.
func (m *meter) running() bool { return time.Now().Before(m.end) }

// record counts one operation begun at t0 and ending now, when it ends
// inside the measured window.
func (m *meter) record(t0 time.Time) {
	t1 := time.Now()
	if t1.Before(m.start) || t1.After(m.end) {
		return
	}
	m.hist.Record(t1.Sub(t0))
	m.count++
	m.shared.Add(1)
}

// failed decides what an error of the operation means: a transient one
// (ErrUnavailable: a retry may succeed) is counted and the worker goes on;
// any other ends the run.
func (m *meter) failed(err error) error {
	if errors.Is(err, procreg.ErrUnavailable) {
		m.unavailable++
		return nil
	}
	return err
}

// loop is the worker of an operation made of one call.
func loop(call func(ctx context.Context, w int) error) workerFunc {
	return func(ctx context.Context, w int, m *meter) error {
		for m.running() {
			t0 := time.Now()
			if err := call(ctx, w); err != nil {
				if err := m.failed(err); err != nil {
					return err
				}
				continue
			}
			m.record(t0)
		}
		return nil
	}
}

// measure prepares one operation and runs it: c.Workers workers, c.Warmup
// unmeasured, then c.Duration measured.
func measure(ctx context.Context, e *env, o opSpec, c Config) (OpResult, error) {
	p := c.Progress
	p.setup(o.name)
	wk, err := o.prepare(ctx, e)
	if err != nil {
		p.abort()
		return OpResult{}, fmt.Errorf("bench %s: prepare: %w", o.name, err)
	}
	var (
		shared atomic.Int64
		wg     sync.WaitGroup
		once   sync.Once
		first  error
		start  = time.Now().Add(c.Warmup)
		end    = start.Add(c.Duration)
		meters = make([]*meter, c.Workers)
	)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := range meters {
		m := &meter{start: start, end: end, shared: &shared}
		meters[w] = m
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := wk.worker(wctx, w, m); err != nil {
				once.Do(func() { first = fmt.Errorf("bench %s: worker %d: %w", o.name, w, err); cancel() })
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	p.watch(o.name, start, end, &shared, done)
	if wk.stop != nil {
		wk.stop()
	}
	if first == nil && ctx.Err() != nil {
		first = fmt.Errorf("bench %s: %w", o.name, ctx.Err())
	}
	if first != nil {
		p.abort()
		return OpResult{}, first
	}
	var h histogram
	r := OpResult{Name: o.name, Unit: o.unit}
	for _, m := range meters {
		h.Merge(&m.hist)
		r.Count += m.count
		r.Unavailable += m.unavailable
	}
	r.OpsPerSec = float64(r.Count) / c.Duration.Seconds()
	r.P50Ms = ms(h.Quantile(0.50))
	r.P99Ms = ms(h.Quantile(0.99))
	p.done(r)
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
