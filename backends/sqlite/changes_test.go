package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
	"github.com/procreg/procreg/conformance"
)

// The change feed across OS processes: the test binary re-executes itself
// as writers on one database file while this process follows the feed;
// once the writers exit, the follower must hold every record's final
// state (no committed change skipped, whichever process committed it).
const (
	feedRoleEnv   = "PROCREG_SQLITE_FEED_ROLE"
	feedPathEnv   = "PROCREG_SQLITE_FEED_PATH"
	feedWorkerEnv = "PROCREG_SQLITE_FEED_WORKER"

	feedWorkers = 3
	feedProcs   = 8
	feedSteps   = 60 // per worker
)

func TestChangeFeedAcrossProcesses(t *testing.T) {
	if os.Getenv(feedRoleEnv) == "writer" {
		feedWriter(t)
		return
	}
	if testing.Short() {
		t.Skip("spawns writer processes")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "feed.db")
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	for i := range feedProcs {
		if _, err := reg.RegisterProcess(ctx, feedRegistration(i)); err != nil {
			t.Fatal(err)
		}
	}
	f := conformance.NewChangeFollower(reg, 5)

	var wg sync.WaitGroup
	outs := make([][]byte, feedWorkers)
	errs := make([]error, feedWorkers)
	for w := range feedWorkers {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChangeFeedAcrossProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), feedRoleEnv+"=writer", feedPathEnv+"="+path, feedWorkerEnv+"="+strconv.Itoa(w))
		wg.Go(func() { outs[w], errs[w] = cmd.CombinedOutput() })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	polls := 0
	for running := true; running; polls++ {
		select {
		case <-done:
			running = false
		default:
			f.Poll(t)
			time.Sleep(time.Millisecond)
		}
	}
	for w := range feedWorkers {
		if errs[w] != nil {
			t.Fatalf("writer %d: %v\n%s", w, errs[w], outs[w])
		}
	}
	f.Sync(t, reg)
	f.WantCurrent(t, reg)
	t.Logf("followed %d writer processes over %d polls", feedWorkers, polls)
}

func feedRegistration(i int) procreg.Registration {
	return procreg.Registration{
		ID:          fmt.Sprintf("p%d", i),
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:feed",
		EventTypes:  []procreg.EventType{{Name: "tick"}},
	}
}

// feedWriter is one writer process: appends, waits and lease cycles on the
// shared processes.
func feedWriter(t *testing.T) {
	ctx := context.Background()
	w, _ := strconv.Atoi(os.Getenv(feedWorkerEnv))
	reg, err := sqlite.Open(ctx, os.Getenv(feedPathEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	me, err := procreg.CurrentProcessLiveness()
	if err != nil {
		t.Fatal(err)
	}
	owner := procreg.LeaseOwner{OwnerID: "w" + strconv.Itoa(w), IncarnationID: "i", Liveness: me}
	for n := range feedSteps {
		id := fmt.Sprintf("p%d", (w*3+n)%feedProcs)
		switch n % 3 {
		case 0, 1:
			_, err = reg.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "tick",
				Payload: json.RawMessage(fmt.Sprintf(`{"w":%d,"n":%d}`, w, n))})
		case 2:
			_, err = reg.SetProcessWait(ctx, id, procreg.WaitState{Kind: procreg.WaitSignal, Name: "s",
				Ordinal: uint64(n), Since: time.Now()})
			if err == nil {
				var c procreg.LeaseClaim
				c, err = reg.ClaimProcessLease(ctx, id, owner, time.Minute)
				if err == nil && c.Acquired {
					err = reg.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: id, Token: c.Lease.Token})
				}
			}
		}
		if err != nil {
			t.Fatalf("writer %d step %d on %s: %v", w, n, id, err)
		}
	}
}
