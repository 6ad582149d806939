//go:build unix

package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/procreg/procreg"
)

// TestDemoOnTerminal80 runs the demo in tmux at 80×24: the progress line
// must fit the width and be redrawn in place, so the screen and its
// scrollback end up with the log lines and the summary but no leftover
// progress text, and no line wider than the terminal. CI (CI=true)
// installs tmux; elsewhere the test skips without it.
func TestDemoOnTerminal80(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed (CI=true: .ci/run installs it)")
		}
		t.Skip("tmux is not installed: apt-get install tmux to run the demo on an 80-column terminal")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "tmux.sock")
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g history-limit 10000\nset -g remain-on-exit on\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tm := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-S", sock, "-f", conf}, args...)...).CombinedOutput()
		return string(out), err
	}
	script := "cd " + dir + " && PROCREG_DSN= " + binary + " demo --processes 12 --duration 2s --crash-rate 1.5 --stalls 1; echo \"demo exit $?\""
	if out, err := tm("new-session", "-d", "-x", "80", "-y", "24", "-s", "demo", "sh", "-c", script); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	defer tm("kill-server")
	var screen string
	deadline := time.Now().Add(90 * time.Second)
	sawProgress := false
	for {
		out, err := tm("capture-pane", "-p", "-J", "-S", "-", "-t", "demo")
		if err != nil {
			t.Fatalf("capture-pane: %v\n%s", err, out)
		}
		screen = out
		sawProgress = sawProgress || regexp.MustCompile(`\d+\.\ds  finished \d+/12`).MatchString(out)
		if strings.Contains(out, "demo exit ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not finish in tmux:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(screen, "demo exit 0") || !strings.Contains(screen, "all invariants held") {
		t.Fatalf("demo in tmux failed:\n%s", screen)
	}
	if !sawProgress {
		t.Logf("no progress line was caught on screen (the run was quick); checking the final screen only")
	}
	// Capture without -J: rows as the terminal shows them.
	rows, _ := tm("capture-pane", "-p", "-S", "-", "-t", "demo")
	for _, l := range strings.Split(rows, "\n") {
		if utf8.RuneCountInString(l) > 80 {
			t.Errorf("a row wider than 80 columns: %q", l)
		}
	}
	progress := regexp.MustCompile(`finished \d+/12|takeovers \d|workers \d/\d`)
	for _, l := range strings.Split(screen, "\n") {
		if progress.MatchString(l) {
			t.Errorf("progress text left on the screen (not redrawn in place): %q\nscreen:\n%s", l, screen)
		}
	}
	// The closing hint can be pasted as it is.
	if !regexp.MustCompile(`procreg ls --definition '\{"demo":"demo-[0-9a-z]+"\}' --dsn procreg\.db`).MatchString(screen) {
		t.Errorf("closing hint is not a pasteable command:\n%s", screen)
	}
}

// TestDemoTimeoutIsUnfinished: a run cut short by --timeout is reported
// as unfinished (exit 1, not an invariant FAIL), and its processes are not
// left running for good.
func TestDemoTimeoutIsUnfinished(t *testing.T) {
	dir := t.TempDir()
	r := runBinary(t, dir, "demo", "--processes", "24", "--duration", "30s", "--crash-rate", "0", "--stalls", "0", "--steps", "20", "--step", "200ms", "--timeout", "2s")
	if r.code != 1 || !strings.Contains(r.stdout, "UNFINISHED") || strings.Contains(r.stdout, "FAIL") || !strings.Contains(r.stderr, "unfinished") {
		t.Fatalf("demo --timeout: %+v", r)
	}
	checkNothingLeftRunning(t, dir, r)
}

// TestDemoInterruptAbandonsItsProcesses: Ctrl-C (SIGINT) ends the demo with
// exit 1, and it requests abandon of its unfinished processes.
func TestDemoInterruptAbandonsItsProcesses(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "demo", "--processes", "24", "--duration", "30s", "--steps", "20", "--step", "200ms", "--stalls", "0", "--crash-rate", "0.5")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PROCREG_DSN=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	var out strings.Builder
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if regexp.MustCompile(`^\s*[1-9]\d*\.\ds  finished \d+/24`).MatchString(sc.Text()) {
			break // the fleet has been running for a second: its processes are registered
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(90 * time.Second):
		t.Fatalf("the interrupted demo did not exit\n%s\n%s", out.String(), stderr.String())
	}
	r := result{stdout: out.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	if r.code != 1 || !strings.Contains(r.stderr, "interrupted") || !strings.Contains(r.stderr, "unfinished process(es)") {
		t.Fatalf("interrupted demo: %+v", r)
	}
	checkNothingLeftRunning(t, dir, r)
}

// checkNothingLeftRunning: the demo in dir abandoned its unfinished
// processes by request, or said how many remain and printed the command
// that clears them, which then does.
func checkNothingLeftRunning(t *testing.T, dir string, r result) {
	t.Helper()
	var recs []procreg.Record
	decode(t, mustRun(t, dir, "ls", "--status", "running", "--json"), &recs)
	if len(recs) == 0 {
		if !strings.Contains(r.stderr, "abandon requested and reconciled") && !strings.Contains(r.stdout, "abandon requested and reconciled") {
			t.Errorf("no process left running, but the demo did not say so:\n%s\n%s", r.stdout, r.stderr)
		}
		return
	}
	hint := regexp.MustCompile(`procreg sweep --dsn procreg\.db`)
	if !hint.MatchString(r.stderr) && !hint.MatchString(r.stdout) {
		t.Fatalf("%d processes left running and no command to clear them:\n%s\n%s", len(recs), r.stdout, r.stderr)
	}
	for _, rec := range recs {
		if rec.AbandonRequest == nil || rec.AbandonRequest.RequestedBy != "procreg demo" {
			t.Fatalf("%s left running without the demo's abandon request", rec.ID)
		}
	}
	// The printed command finishes them once the leases lapse.
	deadline := time.Now().Add(30 * time.Second)
	for len(recs) > 0 && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		mustRun(t, dir, "sweep")
		decode(t, mustRun(t, dir, "ls", "--status", "running", "--json"), &recs)
	}
	if len(recs) > 0 {
		t.Fatalf("%d processes still running after the printed sweep", len(recs))
	}
}
