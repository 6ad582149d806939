package history

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/procreg/procreg"
)

// Run registers c's processes on regs[0], runs c.Clients clients at once
// (client k on regs[k%len(regs)]), then appends the final reads (Final).
// The result is ready for Check.
func Run(ctx context.Context, regs []procreg.Registry, c Config) ([]Op, []string, error) {
	if err := Register(ctx, regs[0], c); err != nil {
		return nil, nil, err
	}
	if c.Barrier == nil {
		c.Barrier = newBarrier(c.Clients).wait
	}
	var unexp Unexpected
	per := make([][]Op, c.Clients)
	var wg sync.WaitGroup
	for k := range c.Clients {
		wg.Go(func() { per[k] = Client(ctx, regs[k%len(regs)], c, k, &unexp) })
	}
	wg.Wait()
	var ops []Op
	for _, p := range per {
		ops = append(ops, p...)
	}
	fin, err := Final(ctx, regs[0], c, c.Clients)
	if err != nil {
		return ops, unexp.List(), err
	}
	return append(ops, fin...), unexp.List(), nil
}

// Final reads back every process once all clients have finished, retrying
// through outages: the lease and the log length of each lease process, the
// whole log of each log process. They are recorded as calls of client
// `client`, so the checker holds the final state to the history and
// AckedLost can look for every acknowledged append.
func Final(ctx context.Context, reg procreg.Registry, c Config, client int) ([]Op, error) {
	var ops []Op
	rec := func(in Input, f func(ctx context.Context) (Output, error)) error {
		in.Call = time.Now().UnixNano()
		var out Output
		err := retry(ctx, func(ctx context.Context) error {
			var err error
			out, err = f(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("final %s of %s: %w", in.Kind, in.Process, err)
		}
		out.Status, out.Ret = StOK, time.Now().UnixNano()
		ops = append(ops, Op{Client: client, In: in, Out: out})
		return nil
	}
	for r := range c.Rounds {
		id := c.LeaseProcess(r)
		if err := rec(Input{Kind: OpRead, Process: id}, func(ctx context.Context) (Output, error) {
			l, err := reg.GetProcessLease(ctx, id)
			if err != nil || l == nil {
				return Output{Nil: true}, err
			}
			o := leaseOut(*l)
			o.Long = l.ExpiresAt.After(time.Now().Add(30 * time.Minute))
			return o, nil
		}); err != nil {
			return ops, err
		}
		if err := rec(Input{Kind: OpLogLen, Process: id}, func(ctx context.Context) (Output, error) {
			evs, err := reg.EventsAfter(ctx, id, 0)
			return Output{Count: uint64(len(evs))}, err
		}); err != nil {
			return ops, err
		}
		id = c.LogProcess(r)
		if err := rec(Input{Kind: OpAfter, Process: id}, func(ctx context.Context) (Output, error) {
			evs, err := reg.EventsAfter(ctx, id, 0)
			return Output{Evs: Encode(evs)}, err
		}); err != nil {
			return ops, err
		}
	}
	return ops, nil
}

// Result is the outcome of Check.
type Result struct {
	Ops        int                   // operations checked
	Partitions int                   // processes
	Maybe      int                   // calls of unknown outcome (open return)
	Failed     int                   // calls that failed before committing
	Outcome    porcupine.CheckResult // Ok, Illegal or Unknown (timed out)
	Info       porcupine.LinearizationInfo
	Elapsed    time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%s: %d operations on %d processes (%d of unknown outcome, %d failed before commit), checked in %v",
		r.Outcome, r.Ops, r.Partitions, r.Maybe, r.Failed, r.Elapsed.Round(time.Millisecond))
}

// Check checks ops for linearizability against Model, giving up after
// timeout (Outcome Unknown).
func Check(ops []Op, timeout time.Duration) Result {
	res := Result{Ops: len(ops)}
	procs := map[string]bool{}
	hist := make([]porcupine.Operation, len(ops))
	for i, op := range ops {
		procs[op.In.Process] = true
		switch op.Out.Status {
		case StMaybe:
			res.Maybe++
		case StFailed:
			res.Failed++
		}
		hist[i] = porcupine.Operation{ClientId: op.Client, Input: op.In, Call: op.In.Call, Output: op.Out, Return: op.Out.Ret}
	}
	res.Partitions = len(procs)
	start := time.Now()
	res.Outcome, res.Info = porcupine.CheckOperationsVerbose(Model(), hist, timeout)
	res.Elapsed = time.Since(start)
	return res
}

// Visualize writes porcupine's HTML view of a checked history to dir and
// returns its path ("" on error), for a failing test to point at.
func Visualize(res Result, dir, name string) string {
	path := filepath.Join(dir, name+".html")
	if err := porcupine.VisualizePath(Model(), res.Info, path); err != nil {
		return ""
	}
	return path
}

// AckedLost returns every acknowledged write missing from the final reads
// (Final): an append answered with a sequence whose event is not that
// append, and a fenced append beyond its process's final log length.
func AckedLost(ops []Op) []string {
	finalLog := map[string]map[uint64]string{} // process -> seq -> type:payload
	finalLen := map[string]uint64{}
	for _, op := range ops {
		switch {
		case op.In.Kind == OpAfter && op.In.After == 0 && op.Out.Status == StOK:
			m := map[uint64]string{}
			if op.Out.Evs != "" {
				for _, e := range strings.Split(op.Out.Evs, ";") {
					seq, rest, _ := strings.Cut(e, ":")
					n, _ := strconv.ParseUint(seq, 10, 64)
					m[n] = rest
				}
			}
			if len(m) >= len(finalLog[op.In.Process]) {
				finalLog[op.In.Process] = m
			}
		case op.In.Kind == OpLogLen && op.Out.Status == StOK:
			finalLen[op.In.Process] = max(finalLen[op.In.Process], op.Out.Count)
		}
	}
	var lost []string
	for _, op := range ops {
		if op.Out.Status != StOK {
			continue
		}
		switch op.In.Kind {
		case OpAppend:
			log, ok := finalLog[op.In.Process]
			if want := op.In.Type + ":" + op.In.Payload; ok && log[op.Out.Seq] != want {
				lost = append(lost, fmt.Sprintf("%s: append %s acknowledged at #%d, the log holds %q there", op.In.Process, want, op.Out.Seq, log[op.Out.Seq]))
			}
		case OpFAppend:
			if n, ok := finalLen[op.In.Process]; ok && op.Out.Seq > n {
				lost = append(lost, fmt.Sprintf("%s: fenced append acknowledged at #%d, the log has %d events", op.In.Process, op.Out.Seq, n))
			}
		}
	}
	sort.Strings(lost)
	return lost
}

// Count tallies ops by status, for reports.
func Count(ops []Op) map[string]int {
	m := map[string]int{}
	for _, op := range ops {
		m[op.Out.Status]++
	}
	return m
}

// Env names the variables that configure history runs in tests.
const (
	// OpsEnv overrides the number of operations per backend (default
	// DefaultOps); the CI default keeps each backend's run short.
	OpsEnv = "PROCREG_HISTORY_OPS"
)

// DefaultOps is the operations per backend a test runs by default.
const DefaultOps = 10_000

// TotalOps returns the operations per backend to run: OpsEnv, else
// DefaultOps (at least 1).
func TotalOps() int {
	if n, err := strconv.Atoi(os.Getenv(OpsEnv)); err == nil && n > 0 {
		return n
	}
	return DefaultOps
}

// Unbounded is the Return of an operation of unknown outcome.
const Unbounded = math.MaxInt64

// Dump writes the operations of every process whose own history is not
// linearizable to dir/name.txt, in call order with times relative to the
// first call (ms), and returns the path ("" when none or on error).
func Dump(ops []Op, dir, name string) string {
	by := map[string][]Op{}
	for _, op := range ops {
		by[op.In.Process] = append(by[op.In.Process], op)
	}
	var b strings.Builder
	for p, pops := range by {
		if Check(pops, time.Minute).Outcome == porcupine.Ok {
			continue
		}
		sort.Slice(pops, func(i, j int) bool { return pops[i].In.Call < pops[j].In.Call })
		t0 := pops[0].In.Call
		fmt.Fprintf(&b, "== %s\n", p)
		for _, op := range pops {
			ret := "open"
			if op.Out.Ret != Unbounded {
				ret = fmt.Sprintf("%.3f", float64(op.Out.Ret-t0)/1e6)
			}
			in := op.In
			in.Call = 0
			out := op.Out
			out.Ret = 0
			fmt.Fprintf(&b, "%9.3f %9s c%d %+v -> %+v %s\n", float64(op.In.Call-t0)/1e6, ret, op.Client, in, out, op.Err)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	path := filepath.Join(dir, name+".txt")
	if os.WriteFile(path, []byte(b.String()), 0o644) != nil {
		return ""
	}
	return path
}

// barrier keeps in-process clients' rounds aligned.
type barrier struct {
	mu      sync.Mutex
	cond    *sync.Cond
	n       int
	arrived map[int]int
}

func newBarrier(n int) *barrier {
	b := &barrier{n: n, arrived: map[int]int{}}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *barrier) wait(round, _ int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.arrived[round]++
	b.cond.Broadcast()
	for b.arrived[round] < b.n {
		b.cond.Wait()
	}
}
