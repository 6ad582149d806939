package sweep_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/sweep"
)

// logRecords is a JSON slog handler's output, decoded.
type logRecords struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logRecords) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logRecords) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// find returns the records with message msg and process_id id.
func (l *logRecords) find(t *testing.T, msg, id string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(l.buf.Bytes()))
	for dec.More() {
		var r map[string]any
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("a log record is not JSON: %v\n%s", err, l.buf.String())
		}
		if r["msg"] == msg && (id == "" || r["process_id"] == id) {
			out = append(out, r)
		}
	}
	return out
}

func TestLoggerRecordsDecisionsAsStructuredFields(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	reg := memory.New(memory.WithClock(c.Now))
	defer reg.Close()
	register(t, reg, "taken", procreg.DispositionRerunnable)
	register(t, reg, "busy", procreg.DispositionRerunnable)
	register(t, reg, "stale", procreg.DispositionRerunnable)
	other := liveOwner(t, "other")
	claim(t, reg, "taken", other, time.Second)
	started(t, reg, "taken", other, c.Now()) // so the claim phase reports the takeover from other
	c.Advance(2 * time.Second)               // other's lease on "taken" expires
	claim(t, reg, "busy", other, time.Hour)

	// "stale": while its run writes, the clock jumps past the ttl and
	// another owner claims the lease, so the write is fenced off.
	var once sync.Once
	stalled := stallingRegistry{Registry: reg, stall: func() {
		once.Do(func() {
			c.Advance(ttl + time.Second)
			claim(t, reg, "stale", liveOwner(t, "newer"), time.Hour)
		})
	}}
	var logs logRecords
	run := func(ctx context.Context, w *sweep.Work) error {
		if w.Record.ID != "stale" {
			_, err := w.Complete(ctx, procreg.AwaitOutput{Kind: procreg.OutputSuccess})
			return err
		}
		if _, err := w.AppendEvent(ctx, procreg.AppendRequest{EventType: "step"}); !errors.Is(err, procreg.ErrLeaseLost) {
			t.Errorf("stale append: %v, want ErrLeaseLost", err)
		}
		return nil
	}
	// The pass claims one process at a time, by id: stale's append is the
	// first fenced write, and taken is claimed after the clock jumped.
	s := &sweep.Sweeper{Registry: stalled, Owner: liveOwner(t, "sweeper"), TTL: ttl, Clock: c.Now, RenewEvery: time.Hour,
		Run: run, Logger: logs.logger(), ClaimBatch: 1}
	if _, err := s.Pass(ctx); err != nil {
		t.Fatal(err)
	}

	taken := logs.find(t, "sweep outcome", "taken")
	if len(taken) != 1 {
		t.Fatalf("%d outcome records for taken", len(taken))
	}
	r := taken[0]
	holder, _ := r["holder"].(map[string]any)
	if r["level"] != "INFO" || r["action"] != "ran" || r["takeover"] != true || r["disposition"] != "rerunnable" ||
		r["fencing_token"] != float64(2) || holder["owner_id"] != "other" || holder["incarnation_id"] != "other-inc" || holder["pid"] == nil {
		t.Errorf("takeover record %v", r)
	}
	if busy := logs.find(t, "sweep outcome", "busy"); len(busy) != 1 || busy[0]["level"] != "DEBUG" || busy[0]["action"] != "busy" {
		t.Errorf("busy records %v", busy)
	}
	if lost := logs.find(t, "lease lost", "stale"); len(lost) != 1 || lost[0]["level"] != "WARN" || lost[0]["fencing_token"] != float64(1) || lost[0]["error"] == nil {
		t.Errorf("lease lost records %v", lost)
	}
	if refused := logs.find(t, "fenced write refused", "stale"); len(refused) != 1 || refused[0]["level"] != "INFO" {
		t.Errorf("refused write records %v", refused)
	}
	if done := logs.find(t, "sweep pass done", ""); len(done) != 1 || done[0]["level"] != "DEBUG" || done[0]["outcomes"] != float64(3) || done[0]["ran"] != float64(2) {
		t.Errorf("pass records %v", done)
	}
}

// A nil Logger logs nothing and changes nothing.
func TestNilLoggerIsSilent(t *testing.T) {
	c := newClock()
	reg := memory.New(memory.WithClock(c.Now))
	defer reg.Close()
	register(t, reg, "p", procreg.DispositionRerunnable)
	var r runner
	wantAction(t, pass(t, sweeper(t, reg, c, r.run), "p"), sweep.Ran)
}
