package history

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// Shape of the histories a backend test runs: 8 clients, rounds of 25
// calls each (two processes a round, so about 100 calls per process with
// all eight clients on it at once), 5 rounds: about 1,000 calls a history.
const (
	TestClients     = 8
	TestOpsPerRound = 25
	TestRounds      = 5
	// CheckTimeout bounds porcupine on one history; running out is a
	// failure (Outcome Unknown), never a pass.
	CheckTimeout = 3 * time.Minute
)

// TestConfig is history i of a backend test.
func TestConfig(name string, i int) Config {
	return Config{
		Run:         fmt.Sprintf("%s%d-%d", name, i, time.Now().UnixNano()%1e9),
		Clients:     TestClients,
		Rounds:      TestRounds,
		OpsPerRound: TestOpsPerRound,
		Seed:        uint64(time.Now().UnixNano()),
	}
}

// Verify checks one recorded history and fails t for an error the
// contract does not allow, a non-linearizable (or unchecked) history, or
// an acknowledged write that is missing afterwards. It returns the result.
func Verify(t testing.TB, name string, ops []Op, unexpected []string) Result {
	t.Helper()
	if len(unexpected) > 0 {
		t.Errorf("%s: %d calls failed with an error that wraps neither a contract sentinel, ErrUnavailable nor the context's; first: %s",
			name, len(unexpected), unexpected[0])
	}
	res := Check(ops, CheckTimeout)
	if res.Outcome != "Ok" {
		dir := t.TempDir()
		if d := os.Getenv("PROCREG_HISTORY_DUMP"); d != "" {
			dir = d
		}
		t.Errorf("%s: history is not linearizable: %s (porcupine's view: %s; the processes that fail: %s)",
			name, res, Visualize(res, dir, name), Dump(ops, dir, name))
	}
	if lost := AckedLost(ops); len(lost) > 0 {
		t.Errorf("%s: %d acknowledged writes lost; first: %s", name, len(lost), strings.Join(lost[:min(3, len(lost))], "; "))
	}
	t.Logf("%s: %s; statuses %v", name, res, Count(ops))
	return res
}

// Backend runs histories on registries from open until at least total
// calls were checked (TotalOps() is the default), each history on fresh registries
// (open's; client k uses regs[k%len(regs)]). It is the body of a
// backend's history test.
func Backend(t *testing.T, total int, open func(t *testing.T) []procreg.Registry) {
	checked := 0
	for i := 0; checked < total; i++ {
		c := TestConfig("h", i)
		regs := open(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		ops, unexp, err := Run(ctx, regs, c)
		cancel()
		if err != nil {
			t.Fatalf("history %d: %v", i, err)
		}
		res := Verify(t, fmt.Sprintf("history-%d", i), ops, unexp)
		checked += res.Ops
		if t.Failed() {
			return
		}
	}
	t.Logf("checked %d operations", checked)
}
