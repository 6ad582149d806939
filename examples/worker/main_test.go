package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestWorker runs the example worker on a fresh SQLite file and checks
// what it printed: the claim, three fenced progress events, the outcome.
func TestWorker(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "jobs.db")
	var out strings.Builder
	if err := run(context.Background(), dsn, "job-42", &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	want := []string{
		"claimed job-42 (fencing token 1)",
		`event 1: resize.progress {"done":1,"of":3}`,
		`event 3: resize.progress {"done":3,"of":3}`,
		`job-42 completed {"resized":3}`,
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	// Run again: the process is terminal, so the claim is refused.
	if err := run(context.Background(), dsn, "job-42", &out); err == nil {
		t.Fatal("a second run claimed a completed job")
	}
}
