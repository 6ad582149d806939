package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
)

// The two-OS-process race: the test binary re-executes itself as workers
// that share one database file. Each worker appends to one process and
// cycles a lease on another; the lease holder brackets its critical
// section with "enter" and "exit" events, so the (serialized) event log
// shows whether two holders ever overlapped.
const (
	raceRoleEnv   = "PROCREG_SQLITE_RACE_ROLE"
	racePathEnv   = "PROCREG_SQLITE_RACE_PATH"
	raceWorkerEnv = "PROCREG_SQLITE_RACE_WORKER"

	raceWorkers = 2
	raceAppends = 150 // per worker
	raceCycles  = 25  // lease acquisitions per worker
	resultTag   = "RACE-RESULT "
)

type raceMark struct {
	Worker  int    `json:"worker"`
	Fencing uint64 `json:"fencing"`
	I       int    `json:"i"`
}

func raceRegistration(id string) procreg.Registration {
	return procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputEngine, EngineKind: "race", Payload: json.RawMessage(`{}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:race",
		EventTypes:  []procreg.EventType{{Name: "tick"}, {Name: "enter"}, {Name: "exit"}},
	}
}

func TestTwoProcessRace(t *testing.T) {
	if os.Getenv(raceRoleEnv) == "worker" {
		raceWorker(t)
		return
	}
	if testing.Short() {
		t.Skip("spawns worker processes")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "race.db")
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"shared", "leased"} {
		if _, err := reg.RegisterProcess(ctx, raceRegistration(id)); err != nil {
			t.Fatal(err)
		}
	}
	reg.Close()

	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, raceWorkers)
	errs := make([]error, raceWorkers)
	gates := make([]io.WriteCloser, raceWorkers)
	for w := range raceWorkers {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcessRace$", "-test.count=1")
		cmd.Env = append(os.Environ(), raceRoleEnv+"=worker", racePathEnv+"="+path, raceWorkerEnv+"="+strconv.Itoa(w))
		cmd.Stdout = &outs[w]
		cmd.Stderr = &outs[w]
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
	// Start barrier: every worker has opened the registry (its ready file
	// exists) before any of them starts, so they really race.
	for w := range raceWorkers {
		for {
			if _, err := os.Stat(readyFile(path, w)); err == nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	for _, g := range gates {
		g.Close()
	}
	wg.Wait()

	var seqs []uint64
	for w := range raceWorkers {
		if errs[w] != nil {
			t.Fatalf("worker %d: %v\n%s", w, errs[w], outs[w].String())
		}
		got := 0
		sc := bufio.NewScanner(&outs[w])
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), resultTag); ok {
				var s []uint64
				if err := json.Unmarshal([]byte(line), &s); err != nil {
					t.Fatal(err)
				}
				seqs = append(seqs, s...)
				got++
			}
		}
		if got != 1 {
			t.Fatalf("worker %d printed %d results:\n%s", w, got, outs[w].String())
		}
	}

	// Appends: every returned sequence is distinct and together they are
	// exactly 1..N, so none was lost, duplicated or skipped.
	slices.Sort(seqs)
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("append sequences are not 1..%d: position %d holds %d", raceWorkers*raceAppends, i, s)
		}
	}
	if len(seqs) != raceWorkers*raceAppends {
		t.Fatalf("%d appends acknowledged, want %d", len(seqs), raceWorkers*raceAppends)
	}

	reg, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	shared, err := reg.EventsAfter(ctx, "shared", 0)
	if err != nil || len(shared) != raceWorkers*raceAppends {
		t.Fatalf("stored %d events on shared (%v), want %d", len(shared), err, raceWorkers*raceAppends)
	}

	// Leases: the log alternates enter/exit by one holder at a time, and
	// fencing tokens grow by one per acquisition.
	log, err := reg.EventsAfter(ctx, "leased", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2*raceWorkers*raceCycles {
		t.Fatalf("leased log has %d events, want %d", len(log), 2*raceWorkers*raceCycles)
	}
	var lastFencing uint64
	for i := 0; i < len(log); i += 2 {
		enter, exit := log[i], log[i+1]
		var a, b raceMark
		if enter.EventType != "enter" || exit.EventType != "exit" ||
			json.Unmarshal(enter.Payload, &a) != nil || json.Unmarshal(exit.Payload, &b) != nil || a != b {
			t.Fatalf("two holders overlapped at sequence %d: %s %s, then %s %s",
				enter.Sequence, enter.EventType, enter.Payload, exit.EventType, exit.Payload)
		}
		if a.Fencing != lastFencing+1 {
			t.Fatalf("fencing token %d after %d at sequence %d", a.Fencing, lastFencing, enter.Sequence)
		}
		lastFencing = a.Fencing
	}
}

// raceWorker is the body of one worker process.
func raceWorker(t *testing.T) {
	ctx := context.Background()
	w, _ := strconv.Atoi(os.Getenv(raceWorkerEnv))
	reg, err := sqlite.Open(ctx, os.Getenv(racePathEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if err := os.WriteFile(readyFile(os.Getenv(racePathEnv), w), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, os.Stdin) // wait for the start barrier

	var wg sync.WaitGroup
	var appendErr, leaseErr error
	seqs := make([]uint64, 0, raceAppends)
	wg.Go(func() {
		for i := range raceAppends {
			p, _ := json.Marshal(raceMark{Worker: w, I: i})
			res, err := reg.AppendEvent(ctx, "shared", procreg.AppendRequest{EventType: "tick", Payload: p})
			if err != nil {
				appendErr = err
				return
			}
			seqs = append(seqs, res.Event.Sequence)
		}
	})
	wg.Go(func() { leaseErr = leaseCycles(ctx, reg, w) })
	wg.Wait()
	if appendErr != nil || leaseErr != nil {
		t.Fatalf("worker %d: append: %v; lease: %v", w, appendErr, leaseErr)
	}
	b, _ := json.Marshal(seqs)
	fmt.Println(resultTag + string(b))
}

func readyFile(dbPath string, w int) string { return fmt.Sprintf("%s.ready-%d", dbPath, w) }

func leaseCycles(ctx context.Context, reg procreg.Registry, w int) error {
	owner := procreg.LeaseOwner{OwnerID: fmt.Sprintf("worker-%d", w), IncarnationID: fmt.Sprintf("pid-%d", os.Getpid())}
	for i := 0; i < raceCycles; {
		claim, err := reg.ClaimProcessLease(ctx, "leased", owner, time.Minute)
		if err != nil {
			return err
		}
		if !claim.Acquired {
			// Busy: yield the write lock to the holder (not a timing assertion).
			time.Sleep(time.Millisecond)
			continue
		}
		mark, _ := json.Marshal(raceMark{Worker: w, Fencing: claim.Lease.FencingToken, I: i})
		for _, typ := range []string{"enter", "exit"} {
			if _, err := reg.AppendEvent(ctx, "leased", procreg.AppendRequest{EventType: typ, Payload: mark}); err != nil {
				return err
			}
		}
		if err := reg.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "leased", Token: claim.Lease.Token}); err != nil {
			return err
		}
		i++
	}
	return nil
}
