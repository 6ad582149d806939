package demo

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"regexp"
	"testing"
	"time"
)

func TestJSONLogRecordsAreStructured(t *testing.T) {
	d := &demoRun{start: time.Now().Add(-1500 * time.Millisecond)}
	var out bytes.Buffer
	d.log = newLog(true, func() time.Time { return d.start }, &out, nil, &d.notes)
	d.note(slog.LevelInfo, "crash", "SIGKILL worker-2 (pid 4242)", "worker", 2, "pid", 4242)
	d.note(slog.LevelWarn, "timeout", "timeout after 1s with 3/4 processes finished", "finished", 3, "processes", 4)
	if out.Len() != 0 {
		t.Fatalf("--json printed log lines: %q", out.String())
	}
	if len(d.notes) != 2 {
		t.Fatalf("%d records, want 2", len(d.notes))
	}
	var r struct {
		Time      time.Time `json:"time"`
		Level     string    `json:"level"`
		Msg       string    `json:"msg"`
		Event     string    `json:"event"`
		ElapsedMs int64     `json:"elapsed_ms"`
		Worker    int       `json:"worker"`
		PID       int       `json:"pid"`
	}
	if err := json.Unmarshal(d.notes[0], &r); err != nil {
		t.Fatal(err)
	}
	if r.Level != "INFO" || r.Msg != "SIGKILL worker-2 (pid 4242)" || r.Event != "crash" || r.Worker != 2 || r.PID != 4242 ||
		r.ElapsedMs < 1500 || r.Time.IsZero() {
		t.Fatalf("record %s", d.notes[0])
	}
	// The summary embeds the records as objects, not strings.
	b, err := json.Marshal(Summary{Log: d.notes})
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Log []map[string]any `json:"log"`
	}
	if err := json.Unmarshal(b, &sum); err != nil || len(sum.Log) != 2 || sum.Log[1]["level"] != "WARN" || sum.Log[1]["finished"] != float64(3) {
		t.Fatalf("summary log %s (%v)", b, err)
	}
}

func TestTextLogLines(t *testing.T) {
	d := &demoRun{start: time.Now().Add(-2 * time.Second)}
	var out bytes.Buffer
	cleared := 0
	d.log = newLog(false, func() time.Time { return d.start }, &out, func() { cleared++ }, &d.notes)
	d.note(slog.LevelInfo, "resume", "SIGCONT worker-0 (pid 7): it resumes with a lapsed lease", "worker", 0)
	if got := out.String(); !regexp.MustCompile(`^ +[2-9]\.\ds  SIGCONT worker-0 \(pid 7\): it resumes with a lapsed lease\n$`).MatchString(got) {
		t.Fatalf("line %q", got)
	}
	if cleared != 1 || len(d.notes) != 0 {
		t.Fatalf("cleared %d times, %d records kept", cleared, len(d.notes))
	}
}
