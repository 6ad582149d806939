package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// The demo's log goes through log/slog. Each record's message is the
// sentence a person reads; its fields say the same for a program: event
// (a stable name: crash, stall, resume, takeover, fenced_off, abandoned,
// reconciled, cancel_requested, abandon_requested, unexpected_exit,
// respawn_failed, timeout), elapsed_ms since the start, and what the event
// is about (worker slot, pid, process_id, holder, fencing_token, ...).
//
// On a terminal or a pipe the parent prints each message as a line,
// prefixed with the elapsed seconds (lineHandler). With --json the records
// are slog.JSONHandler objects, collected into Summary.Log.

// LogRecord is one record of the demo's log, as slog.JSONHandler wrote it.
type LogRecord = json.RawMessage

// newLog returns the parent's logger: JSON records collected into notes
// with --json, else lines on out after before() (which clears the
// progress line).
func newLog(jsonOut bool, start func() time.Time, out io.Writer, before func(), notes *[]json.RawMessage) *slog.Logger {
	if jsonOut {
		return slog.New(slog.NewJSONHandler(&recordCollector{out: notes}, nil))
	}
	return slog.New(&lineHandler{start: start, out: out, before: before, mu: &sync.Mutex{}})
}

// recordCollector keeps each JSON record a handler writes as one entry.
type recordCollector struct {
	mu  sync.Mutex
	out *[]json.RawMessage
}

func (c *recordCollector) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		if len(line) > 0 {
			*c.out = append(*c.out, json.RawMessage(bytes.Clone(line)))
		}
	}
	return len(p), nil
}

// lineHandler prints "  1.2s  message" per record: the message already
// says what the fields do, for a person.
type lineHandler struct {
	start  func() time.Time
	out    io.Writer
	before func()
	mu     *sync.Mutex
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.before != nil {
		h.before()
	}
	_, err := fmt.Fprintf(h.out, "%5.1fs  %s\n", r.Time.Sub(h.start()).Seconds(), r.Message)
	return err
}

func (h *lineHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *lineHandler) WithGroup(string) slog.Handler      { return h }

// note logs an injection, operator action or recovery step: event is its
// stable name, msg the sentence, args more fields (slog key-value pairs).
func (d *demoRun) note(level slog.Level, event, msg string, args ...any) {
	if d.log == nil {
		return
	}
	attrs := append([]any{slog.String("event", event), slog.Int64("elapsed_ms", time.Since(d.start).Milliseconds())}, args...)
	d.log.Log(context.Background(), level, msg, attrs...)
}

// workerLog is a worker's logger: its sweeper's warnings (a lease lost, a
// write fenced off) as text on stderr, which the parent shows when the
// worker exits unexpectedly, or passes through with --verbose.
func workerLog(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
