package sqlite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
	"github.com/procreg/procreg/internal/history"
)

// TestHistories checks concurrent histories for linearizability
// (internal/history): half the operations from 8 goroutines over two
// registries on one file, half from 8 clients in 4 OS processes (the test
// binary re-executed, 2 clients each).
func TestHistories(t *testing.T) {
	if os.Getenv(histRoleEnv) == "worker" {
		historyWorker(t)
		return
	}
	if testing.Short() {
		t.Skip("histories: skipped in -short mode")
	}
	half := (history.TotalOps() + 1) / 2
	t.Run("Goroutines", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hist.db")
		var regs []procreg.Registry
		for range 2 {
			r, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Close() })
			regs = append(regs, r)
		}
		history.Backend(t, half, func(*testing.T) []procreg.Registry { return regs })
	})
	t.Run("Processes", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hist.db")
		checked := 0
		for i := 0; checked < half; i++ {
			c := history.TestConfig("p", i)
			ops, unexp := processHistory(t, path, c)
			checked += history.Verify(t, fmt.Sprintf("history-%d", i), ops, unexp).Ops
			if t.Failed() {
				return
			}
		}
		t.Logf("checked %d operations", checked)
	})
}

const (
	histRoleEnv    = "PROCREG_SQLITE_HISTORY_ROLE"
	histPathEnv    = "PROCREG_SQLITE_HISTORY_PATH"
	histConfigEnv  = "PROCREG_SQLITE_HISTORY_CONFIG"
	histClientsEnv = "PROCREG_SQLITE_HISTORY_CLIENTS" // comma-free: first client id
	histOutEnv     = "PROCREG_SQLITE_HISTORY_OUT"
	histProcesses  = 4
)

// workerResult is what a worker process writes to its output file.
type workerResult struct {
	Ops        []history.Op `json:"ops"`
	Unexpected []string     `json:"unexpected"`
}

// processHistory runs one history of c with its clients spread over
// histProcesses worker processes, then reads the database back.
func processHistory(t *testing.T, path string, c history.Config) ([]history.Op, []string) {
	ctx := context.Background()
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if err := history.Register(ctx, reg, c); err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(c)
	per := c.Clients / histProcesses
	dir := t.TempDir()
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, histProcesses)
	errs := make([]error, histProcesses)
	gates := make([]io.WriteCloser, histProcesses)
	for w := range histProcesses {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHistories$", "-test.count=1")
		cmd.Env = append(os.Environ(), histRoleEnv+"=worker", histPathEnv+"="+path, histConfigEnv+"="+string(cfg),
			histClientsEnv+"="+strconv.Itoa(w*per)+"/"+strconv.Itoa(per), histOutEnv+"="+filepath.Join(dir, fmt.Sprintf("w%d.json", w)))
		cmd.Stdout, cmd.Stderr = &outs[w], &outs[w]
		gate, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		gates[w] = gate
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { errs[w] = cmd.Wait() })

	}
	// Start barrier: every worker has opened the database.
	for w := range histProcesses {
		for {
			if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("w%d.json.ready", w))); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for _, g := range gates {
		g.Close()
	}
	// Every worker has written its records: let them exit. (Until then
	// each stays alive, so a lease of a live client never becomes
	// reclaimable because its process ended.)
	for w := range histProcesses {
		for {
			if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("w%d.json", w))); err == nil || errs[w] != nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var ops []history.Op
	var unexp []string
	for w := range histProcesses {
		if errs[w] != nil {
			t.Fatalf("worker %d: %v\n%s", w, errs[w], outs[w].String())
		}
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("w%d.json", w)))
		if err != nil {
			t.Fatal(err)
		}
		var res workerResult
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, res.Ops...)
		unexp = append(unexp, res.Unexpected...)
	}
	fin, err := history.Final(ctx, reg, c, c.Clients)
	if err != nil {
		t.Fatal(err)
	}
	return append(ops, fin...), unexp
}

// historyWorker is one worker process: it runs its clients and writes
// their records.
func historyWorker(t *testing.T) {
	var c history.Config
	if err := json.Unmarshal([]byte(os.Getenv(histConfigEnv)), &c); err != nil {
		t.Fatal(err)
	}
	var first, n int
	if _, err := fmt.Sscanf(os.Getenv(histClientsEnv), "%d/%d", &first, &n); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reg, err := sqlite.Open(ctx, os.Getenv(histPathEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	out := os.Getenv(histOutEnv)
	if err := os.WriteFile(out+".ready", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, os.Stdin) // the start barrier
	dir := filepath.Dir(out)
	c.Barrier = func(round, client int) { fileBarrier(dir, round, client, c.Clients) }
	var unexp history.Unexpected
	per := make([][]history.Op, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { per[i] = history.Client(ctx, reg, c, first+i, &unexp) })
	}
	wg.Wait()
	res := workerResult{Unexpected: unexp.List()}
	for _, p := range per {
		res.Ops = append(res.Ops, p...)
	}
	b, _ := json.Marshal(res)
	if err := os.WriteFile(out+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(out+".tmp", out); err != nil {
		t.Fatal(err)
	}
	waitFile(filepath.Join(dir, "done"))
}

// fileBarrier marks client at round and waits for all clients there.
func fileBarrier(dir string, round, client, clients int) {
	_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("b%d-c%d", round, client)), nil, 0o644)
	for k := range clients {
		waitFile(filepath.Join(dir, fmt.Sprintf("b%d-c%d", round, k)))
	}
}

func waitFile(path string) {
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}
