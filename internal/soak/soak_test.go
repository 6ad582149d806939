package soak_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/internal/demo"
	"github.com/procreg/procreg/internal/history"
	"github.com/procreg/procreg/internal/servertest"
)

// TestSoak is `make soak`: see the package doc. It runs only when
// PROCREG_SOAK_BACKEND is set.
func TestSoak(t *testing.T) {
	backend := os.Getenv("PROCREG_SOAK_BACKEND")
	if backend == "" {
		t.Skip("soak: set PROCREG_SOAK_BACKEND (sqlite, postgres or mysql); `make soak BACKEND=postgres DURATION=10m`")
	}
	duration := 10 * time.Minute
	if d := os.Getenv("PROCREG_SOAK_DURATION"); d != "" {
		var err error
		if duration, err = time.ParseDuration(d); err != nil {
			t.Fatalf("PROCREG_SOAK_DURATION: %v", err)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "procreg")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/procreg").CombinedOutput(); err != nil {
		t.Fatalf("build procreg: %v\n%s", err, out)
	}

	var dsn string
	var inj *servertest.Injector
	switch backend {
	case "sqlite":
		dsn = "sqlite:" + filepath.Join(dir, "soak.db")
	case "postgres":
		inst := servertest.StartPostgres(t)
		dsn = inst.DSN
		inj = servertest.Inject(inst, servertest.Faults{Database: "postgres", Kill: servertest.KillPostgresConnections},
			3*time.Second, 45*time.Second, 60*time.Second, time.Second, false)
	case "mysql":
		inst := servertest.StartMariaDB(t)
		dsn = fmt.Sprintf("mysql://root@127.0.0.1:%d/procreg", inst.Port)
		inj = servertest.Inject(inst, servertest.Faults{Database: "procreg", Kill: servertest.KillMySQLConnections},
			3*time.Second, 45*time.Second, 60*time.Second, time.Second, false)
	default:
		t.Fatalf("soak: unknown backend %q (sqlite, postgres, mysql)", backend)
	}
	fmt.Printf("soak: %s for %v on %s\n", backend, duration, dsn)
	deadline := time.Now().Add(duration)

	// The checked histories, next to the demo fleet, on the same database.
	var regs []procreg.Registry
	for range 2 {
		r, err := backends.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		regs = append(regs, r)
	}
	var hist struct {
		sync.Mutex
		n, ops, maybe, failed, notOK, lost, unexpected int
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; time.Now().Before(deadline); i++ {
			c := history.TestConfig("soak", i)
			c.Backoff, c.OpTimeout = 50*time.Millisecond, 30*time.Second
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			ops, unexp, err := history.Run(ctx, regs, c)
			cancel()
			if err != nil {
				t.Errorf("history %d: %v", i, err)
				return
			}
			res := history.Verify(t, fmt.Sprintf("soak-history-%d", i), ops, unexp)
			hist.Lock()
			hist.n++
			hist.ops += res.Ops
			hist.maybe += res.Maybe
			hist.failed += res.Failed
			hist.unexpected += len(unexp)
			hist.lost += len(history.AckedLost(ops))
			if res.Outcome != "Ok" {
				hist.notOK++
			}
			hist.Unlock()
		}
	})

	// The demo fleet, round after round.
	type tally struct{ held, violated int }
	invariants := map[string]*tally{}
	var order []string
	var rounds, roundsOK, roundsFailed, roundsNoOpen int
	var stats demo.Stats
	var processes, events int
	for time.Now().Before(deadline) {
		window := min(30*time.Second, max(5*time.Second, time.Until(deadline)))
		cmd := exec.Command(bin, "demo", "--json", "--workers", "4", "--processes", "48", "--duration", window.String(),
			"--crash-rate", "0.6", "--stalls", "2", "--timeout", (window + 3*time.Minute).String())
		cmd.Env = append(os.Environ(), "PROCREG_DSN="+dsn)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		rounds++
		var sum demo.Summary
		if jerr := json.Unmarshal(stdout.Bytes(), &sum); jerr != nil && strings.Contains(stderr.String(), "cannot open database") {
			// The server was down (restarting) when the demo opened it: not
			// a round, try again once it is back.
			roundsNoOpen++
			rounds--
			time.Sleep(2 * time.Second)
			continue
		} else if jerr != nil {
			roundsFailed++
			t.Errorf("demo round %d failed without a summary: %v\n%s", rounds, err, tail(stderr.String()))
			continue
		}
		if sum.OK {
			roundsOK++
		} else {
			t.Errorf("demo round %d (%s): invariant violated: %v", rounds, sum.Run, err)
		}
		for _, inv := range sum.Invariants {
			tl, ok := invariants[inv.Name]
			if !ok {
				tl = &tally{}
				invariants[inv.Name] = tl
				order = append(order, inv.Name)
			}
			if inv.OK {
				tl.held++
			} else {
				tl.violated++
				t.Errorf("demo round %d: %s: %s", rounds, inv.Name, inv.Detail)
			}
		}
		processes += sum.Processes
		events += sum.Events
		s := sum.Stats
		stats.Crashes += s.Crashes
		stats.Stalls += s.Stalls
		stats.Spawned += s.Spawned
		stats.UnexpectedExits += s.UnexpectedExits
		stats.Takeovers += s.Takeovers
		stats.Refused += s.Refused
		stats.SweepAbandoned += s.SweepAbandoned
		stats.Reconciled += s.Reconciled
		stats.WorkerErrors += s.WorkerErrors
		stats.StorageUnavailable += s.StorageUnavailable
	}
	wg.Wait()
	var faults servertest.FaultCounts
	if inj != nil {
		var err error
		if faults, err = inj.Stop(); err != nil {
			t.Errorf("restarting the server: %v", err)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\nsoak %s, %v: %d demo rounds (%d ok, %d without a summary; %d more could not open the database while it restarted), %d processes, %d events\n",
		backend, duration, rounds, roundsOK, roundsFailed, roundsNoOpen, processes, events)
	fmt.Fprintf(&b, "%-75s %6s %9s\n", "invariant", "held", "violated")
	for _, name := range order {
		fmt.Fprintf(&b, "%-75s %6d %9d\n", name, invariants[name].held, invariants[name].violated)
	}
	fmt.Fprintf(&b, "faults injected: %d worker SIGKILLs, %d SIGSTOP stalls, %d connection-kill rounds (%d connections), %d server restarts (fast), %d server crashes (immediate)\n",
		stats.Crashes, stats.Stalls, faults.KillRounds, faults.Killed, faults.Restarts, faults.Crashes)
	fmt.Fprintf(&b, "fleet: %d workers spawned, %d unexpected exits, %d takeovers, %d fenced-off writes, %d sweep abandons, %d reconciled, %d worker errors, %d parent calls retried after ErrUnavailable\n",
		stats.Spawned, stats.UnexpectedExits, stats.Takeovers, stats.Refused, stats.SweepAbandoned, stats.Reconciled, stats.WorkerErrors, stats.StorageUnavailable)
	fmt.Fprintf(&b, "histories: %d checked, %d operations (%d of unknown outcome, %d failed before commit), %d not linearizable, %d acknowledged writes lost, %d untyped errors\n",
		hist.n, hist.ops, hist.maybe, hist.failed, hist.notOK, hist.lost, hist.unexpected)
	fmt.Print(b.String())
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
