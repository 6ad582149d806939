package servertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/history"
)

// Faults is a server to inject faults into: an Instance the test started
// and how to kill its connections to the registry's database.
type Faults struct {
	// Start starts the test's own instance (StartPostgres, StartMariaDB).
	Start func(testing.TB) *Instance
	// Database is the instance's database the registries use.
	Database string
	// Kill kills, from the server side, every connection to the database
	// (KillPostgresConnections, KillMySQLConnections); admin is the
	// instance's DSN.
	Kill func(ctx context.Context, admin, db string) (int, error)
}

// FaultCounts is what one fault run injected.
type FaultCounts struct {
	KillRounds, Killed, Restarts, Crashes int
}

// Injector injects faults into inst while a run is going: every
// killEvery it kills the database's connections; after restartAfter (0:
// never) it stops the server (crash: the immediate kind) and starts it
// again after down; with repeat > 0 it restarts it again every repeat,
// alternating the fast and the immediate kind. Stop ends it (the server is
// running afterwards).
type Injector struct {
	inst   *Instance
	f      Faults
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	counts FaultCounts
	errs   []error
}

// Inject starts an injector.
func Inject(inst *Instance, f Faults, killEvery, restartAfter, repeat, down time.Duration, crash bool) *Injector {
	in := &Injector{inst: inst, f: f, stop: make(chan struct{}), done: make(chan struct{})}
	go in.loop(killEvery, restartAfter, repeat, down, crash)
	return in
}

func (in *Injector) loop(killEvery, restartAfter, repeat, down time.Duration, crash bool) {
	defer close(in.done)
	kill := time.NewTicker(killEvery)
	defer kill.Stop()
	var restart <-chan time.Time
	if restartAfter > 0 {
		restart = time.After(restartAfter)
	}
	for {
		select {
		case <-in.stop:
			return
		case <-kill.C:
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			n, err := in.f.Kill(ctx, in.inst.DSN, in.f.Database)
			cancel()
			in.mu.Lock()
			if err == nil {
				in.counts.KillRounds++
				in.counts.Killed += n
			}
			in.mu.Unlock()
		case <-restart:
			restart = nil
			err := in.inst.Stop(crash)
			time.Sleep(down)
			if err2 := in.inst.Start(); err2 != nil {
				err = errors.Join(err, err2)
			}
			in.mu.Lock()
			if crash {
				in.counts.Crashes++
			} else {
				in.counts.Restarts++
			}
			if err != nil {
				in.errs = append(in.errs, err)
			}
			in.mu.Unlock()
			if repeat > 0 {
				restart = time.After(repeat)
				crash = !crash
			}
		}
	}
}

// Counts returns what was injected so far.
func (in *Injector) Counts() FaultCounts {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.counts
}

// Stop ends the injection, makes sure the server runs, and returns the
// counts and any error restarting it.
func (in *Injector) Stop() (FaultCounts, error) {
	close(in.stop)
	<-in.done
	err := in.inst.Start()
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.counts, errors.Join(append(in.errs, err)...)
}

// FaultHistories runs checked histories (internal/history) on a server
// instance of the test's own while its connections are killed from the
// server side every 200ms, and in the second and third history the server
// is stopped (fast shutdown, then an immediate one) and restarted
// mid-run. Calls may fail only with ErrUnavailable, the context's error
// or a contract sentinel; each history must check, with calls of unknown
// outcome open-ended; every acknowledged append must be there afterwards;
// and both registries, never reopened, must answer every call again once
// the server is back. One of the registries groups every overlapping
// write (historyRegistries), so faults also strike group transactions.
func (b Backend) FaultHistories(t *testing.T, f Faults) {
	if testing.Short() {
		t.Skip("fault histories: skipped in -short mode")
	}
	inst := f.Start(t)
	regs := b.historyRegistries(t, inst.DSN)
	var total FaultCounts
	checked := 0
	for i, restart := range []struct {
		after time.Duration
		crash bool
	}{{0, false}, {700 * time.Millisecond, false}, {700 * time.Millisecond, true}} {
		c := history.TestConfig("f", i)
		c.Backoff = 50 * time.Millisecond
		c.OpTimeout = 30 * time.Second
		inj := Inject(inst, f, 200*time.Millisecond, restart.after, 0, 500*time.Millisecond, restart.crash)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		ops, unexp, err := history.Run(ctx, regs, c)
		cancel()
		counts, ierr := inj.Stop()
		if ierr != nil {
			t.Fatalf("history %d: restarting the server: %v", i, ierr)
		}
		if err != nil {
			t.Fatalf("history %d: %v", i, err)
		}
		res := history.Verify(t, fmt.Sprintf("faults-%d", i), ops, unexp)
		t.Logf("faults-%d: %d kill rounds (%d connections), %d restarts, %d crashes", i, counts.KillRounds, counts.Killed, counts.Restarts, counts.Crashes)
		checked += res.Ops
		total.KillRounds += counts.KillRounds
		total.Killed += counts.Killed
		total.Restarts += counts.Restarts
		total.Crashes += counts.Crashes
		Recovered(t, regs, c.LogProcess(0))
		if t.Failed() {
			return
		}
	}
	t.Logf("checked %d operations under %d kill rounds (%d connections killed), %d restarts and %d crashes of the server",
		checked, total.KillRounds, total.Killed, total.Restarts, total.Crashes)
}

// Recovered requires every registry to answer 20 calls in a row without
// an error once the server is back (waiting up to a minute for the first
// success): the registry works again without being reopened.
func Recovered(t testing.TB, regs []procreg.Registry, processID string) {
	t.Helper()
	for i, r := range regs {
		deadline := time.Now().Add(time.Minute)
		var err error
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			_, err = r.GetProcess(ctx, processID)
			cancel()
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("registry %d does not answer a minute after the fault: %v", i, err)
			continue
		}
		for k := range 20 {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if k%2 == 0 {
				_, err = r.AppendEvent(ctx, processID, procreg.AppendRequest{EventType: "b", Payload: json.RawMessage(`"recovered"`)})
			} else {
				_, err = r.EventsAfter(ctx, processID, 0)
			}
			cancel()
			if err != nil {
				t.Errorf("registry %d: call %d after recovery failed: %v", i, k, err)
				break
			}
		}
	}
}
