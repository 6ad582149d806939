package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
	"github.com/procreg/procreg/internal/cli"
	"github.com/procreg/procreg/internal/demo"
)

// binary is the procreg command built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "procreg-cli-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "procreg")
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// runBinary runs the binary with args in dir, bounded by a minute.
func runBinary(t *testing.T, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PROCREG_DSN=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("procreg %s: did not finish within a minute\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out.String(), errb.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("procreg %s: %v", strings.Join(args, " "), err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func mustRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := runBinary(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("procreg %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("output is not JSON (%v):\n%s", err, s)
	}
}

// TestDemoAndTour runs the demo with crashes on a fresh SQLite file, checks
// its report, then tours the other subcommands over what it left behind.
func TestDemoAndTour(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	var sum demo.Summary
	decode(t, mustRun(t, dir, "demo", "--json", "--crash-rate", "1"), &sum)
	t.Logf("demo: %v, %d crashes, %d takeovers, %d fenced-off writes, outcomes %v", time.Since(start).Round(time.Millisecond),
		sum.Stats.Crashes, sum.Stats.Takeovers, sum.Stats.Refused, sum.Outcomes)
	if !sum.OK || len(sum.Invariants) == 0 {
		t.Fatalf("demo report not ok: %+v", sum.Invariants)
	}
	for _, inv := range sum.Invariants {
		if !inv.OK {
			t.Errorf("invariant %q: %s", inv.Name, inv.Detail)
		}
	}
	total := 0
	for _, n := range sum.Outcomes {
		total += n
	}
	if total != sum.Processes || sum.Processes == 0 {
		t.Fatalf("outcomes %v do not add up to %d processes", sum.Outcomes, sum.Processes)
	}
	if sum.Stats.Crashes == 0 || sum.Stats.Spawned <= 4 {
		t.Fatalf("stats %+v: no crash was injected", sum.Stats)
	}
	if sum.Events == 0 || sum.Wakes == 0 || sum.AbandonedBy[procreg.WriterReconciledRequest] != 1 || sum.Outcomes[procreg.StateCancelled] != 1 {
		t.Fatalf("summary %+v: want events, wakes, one operator cancel and one reconciled abandon request", sum)
	}
	if _, err := os.Stat(filepath.Join(dir, "procreg.db")); err != nil {
		t.Fatalf("the default DSN did not create procreg.db in the working directory: %v", err)
	}

	// ls: every process of the run, filterable.
	var all []procreg.Record
	decode(t, mustRun(t, dir, "ls", "--json", "--definition", `{ "demo" : "`+sum.Run+`" }`), &all)
	if len(all) != sum.Processes {
		t.Fatalf("ls --definition: %d records, want %d", len(all), sum.Processes)
	}
	var abandoned []procreg.Record
	decode(t, mustRun(t, dir, "ls", "--json", "--status", "abandoned"), &abandoned)
	if len(abandoned) != sum.Outcomes[procreg.StateAbandoned] {
		t.Fatalf("ls --status abandoned: %d, want %d", len(abandoned), sum.Outcomes[procreg.StateAbandoned])
	}
	for _, r := range abandoned {
		if r.Status.State != procreg.StateAbandoned {
			t.Fatalf("ls --status abandoned listed %s (%s)", r.ID, r.Status.State)
		}
	}
	var waiting []procreg.Record
	decode(t, mustRun(t, dir, "ls", "--json", "--waiting=true"), &waiting)
	if len(waiting) != 0 {
		t.Fatalf("ls --waiting=true: %d, want 0", len(waiting))
	}
	if r := runBinary(t, dir, "ls", "--status", "running"); r.code != 0 || r.stderr != "0 process(es)\n" {
		t.Fatalf("ls --status running after the demo: %+v", r)
	}
	if out := mustRun(t, dir, "ls"); !strings.Contains(out, "STATUS") || !strings.Contains(out, all[0].ID) {
		t.Fatalf("ls table:\n%s", out)
	}

	// show: record, lease and grants.
	id := all[0].ID
	var view cli.ShowView
	decode(t, mustRun(t, dir, "show", id, "--json"), &view)
	if view.Process.ID != id || len(view.Grants) != 1 || view.Grants[0].SessionID != demo.OperatorSession {
		t.Fatalf("show --json: %+v", view)
	}
	if out := mustRun(t, dir, "show", "--dsn", "procreg.db", id); !strings.Contains(out, "grants") || !strings.Contains(out, "session "+demo.OperatorSession) {
		t.Fatalf("show:\n%s", out)
	}

	// events: the whole log, a cursor, and follow on a finished process.
	var events []procreg.Event
	decode(t, mustRun(t, dir, "events", "--json", id), &events)
	if len(events) < 3 || events[0].Sequence != 1 || events[len(events)-1].Terminal == nil {
		t.Fatalf("events --json: %+v", events)
	}
	var after []procreg.Event
	decode(t, mustRun(t, dir, "events", "--json", "--after", "2", id), &after)
	if len(after) != len(events)-2 || after[0].Sequence != 3 {
		t.Fatalf("events --after 2: %d events from %d", len(after), after[0].Sequence)
	}
	lines := strings.Split(strings.TrimSpace(mustRun(t, dir, "events", "--follow", "--json", id)), "\n")
	if len(lines) != len(events) {
		t.Fatalf("events --follow --json printed %d lines, want %d", len(lines), len(events))
	}
	for _, l := range lines {
		var ev procreg.Event
		decode(t, l, &ev)
	}
	if out := mustRun(t, dir, "events", id); !strings.Contains(out, "terminal:") {
		t.Fatalf("events table:\n%s", out)
	}

	// sweep on a finished run: nothing to do.
	var rep struct {
		Outcomes []json.RawMessage `json:"outcomes"`
	}
	decode(t, mustRun(t, dir, "sweep", "--json"), &rep)
	if len(rep.Outcomes) != 0 {
		t.Fatalf("sweep after the demo: %d outcomes, want none", len(rep.Outcomes))
	}

	// prune: everything is terminal and older than a millisecond.
	time.Sleep(5 * time.Millisecond)
	var pr struct {
		PrunedProcesses int `json:"pruned_processes"`
		PrunedEvents    int `json:"pruned_events"`
	}
	decode(t, mustRun(t, dir, "prune", "--older-than", "1ms", "--json"), &pr)
	if pr.PrunedProcesses != sum.Processes || pr.PrunedEvents != sum.Events {
		t.Fatalf("prune: %+v, want %d processes and %d events", pr, sum.Processes, sum.Events)
	}
	if r := runBinary(t, dir, "show", id); r.code != cli.ExitNotFound {
		t.Fatalf("show after prune: exit %d, want %d", r.code, cli.ExitNotFound)
	}
}

// TestDemoHumanOutput checks the plain (non-terminal) progress and summary.
func TestDemoHumanOutput(t *testing.T) {
	dir := t.TempDir()
	out := mustRun(t, dir, "demo", "--dsn", "sqlite:"+filepath.Join(dir, "h.db"), "--processes", "8", "--duration", "1500ms", "--crash-rate", "2", "--stalls", "0")
	for _, want := range []string{"finished 0/8", "OUTCOME", "completed", "fenced-off stale writes", "throughput", "ok    " + demo.InvariantFencing, "ok    " + demo.InvariantAbandon, "all invariants held"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\033[") {
		t.Errorf("escape sequences written to a non-terminal:\n%s", out)
	}
}

// TestSweepCommandRecovers sets up work a dead worker left behind and checks
// that `procreg sweep` abandons and reconciles what it may, and only that.
func TestSweepCommandRecovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.db")
	ctx := context.Background()
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	live, err := procreg.CurrentProcessLiveness()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	deadLive := live
	deadLive.PID, deadLive.ProcessStart = child.ProcessState.Pid(), "1"
	dead := procreg.LeaseOwner{OwnerID: "crashed", IncarnationID: "c1", Liveness: deadLive}
	mk := func(i int) string {
		r := demo.Registration("t", i, 3)
		if _, err := reg.RegisterProcess(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	ownerBound, rerunnable, external, requested := mk(3), mk(0), mk(5), mk(1)
	for _, id := range []string{ownerBound, rerunnable} {
		if c, err := reg.ClaimProcessLease(ctx, id, dead, time.Hour); err != nil || !c.Acquired {
			t.Fatalf("claim %s: %v", id, err)
		}
		if _, err := reg.RecordFirstStarted(ctx, id, procreg.Started{Owner: dead, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.RequestProcessAbandon(ctx, requested, procreg.AbandonRequest{RequestedBy: "op", RequestedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	reg.Close()

	var rep struct {
		Outcomes []struct {
			ProcessID string `json:"process_id"`
			Action    string `json:"action"`
		} `json:"outcomes"`
	}
	decode(t, mustRun(t, dir, "sweep", "--dsn", path, "--json"), &rep)
	got := map[string]string{}
	for _, o := range rep.Outcomes {
		got[o.ProcessID] = o.Action
	}
	want := map[string]string{ownerBound: "abandoned", rerunnable: "claimable", external: "externally_owned", requested: "reconciled"}
	for id, a := range want {
		if got[id] != a {
			t.Errorf("sweep: %s → %q, want %q (all: %v)", id, got[id], a, got)
		}
	}
	r := runBinary(t, dir, "sweep", "--dsn", path)
	if r.code != 0 || !strings.Contains(r.stdout, "claimable") || !strings.Contains(r.stderr, "0 abandoned") {
		t.Fatalf("second sweep: %+v", r)
	}
	var view cli.ShowView
	decode(t, mustRun(t, dir, "show", "--dsn", path, "--json", ownerBound), &view)
	if o := view.Process.Status.AwaitOutput; o == nil || o.Evidence == nil || o.Evidence.Writer != procreg.WriterSweep {
		t.Fatalf("owner-bound after sweep: %+v", view.Process.Status)
	}
}

// TestEventsFollowStopsAtTerminal follows a running process that completes.
func TestEventsFollowStopsAtTerminal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.db")
	ctx := context.Background()
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	r := demo.Registration("f", 0, 1)
	if _, err := reg.RegisterProcess(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.AppendEvent(ctx, r.ID, procreg.AppendRequest{EventType: demo.EventExternal}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "events", "--dsn", path, "--follow", "--json", r.ID)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatal("follow printed nothing for the existing event")
	}
	// The first event is out, so the follower is running: finish the process.
	if _, err := reg.CompleteProcess(ctx, r.ID, procreg.AwaitOutput{Kind: procreg.OutputSuccess}); err != nil {
		t.Fatal(err)
	}
	var last procreg.Event
	n := 1
	for sc.Scan() {
		decode(t, sc.Text(), &last)
		n++
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("follow exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("follow did not stop after the terminal event")
	}
	if n != 2 || last.Terminal == nil {
		t.Fatalf("followed %d events, last %+v; want the terminal event second", n, last)
	}
}

// TestExitCodes checks the documented exit codes and that errors name the cause.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "garbage.db"), bytes.Repeat([]byte("not a database "), 512), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "migrate", "--dsn", "ok.db")
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown command", []string{"frobnicate"}, cli.ExitUsage, "unknown command"},
		{"unknown flag", []string{"ls", "--frob"}, cli.ExitUsage, "frob"},
		{"bad DSN", []string{"ls", "--dsn", "bogus://x"}, cli.ExitUsage, "bad DSN"},
		{"missing directory", []string{"ls", "--dsn", filepath.Join(dir, "no", "such", "x.db")}, cli.ExitOpen, "no such database file"},
		{"migrate into missing directory", []string{"migrate", "--dsn", filepath.Join(dir, "no", "such", "x.db")}, cli.ExitOpen, "does not exist"},
		{"mistyped file ls", []string{"ls", "--dsn", "typo.db"}, cli.ExitOpen, "no such database file"},
		{"mistyped file show", []string{"show", "--dsn", "sqlite:typo.db", "p"}, cli.ExitOpen, "no such database file"},
		{"mistyped file events", []string{"events", "--dsn", "sqlite://typo.db", "p"}, cli.ExitOpen, "no such database file"},
		{"mistyped file sweep", []string{"sweep", "--dsn", "typo.db"}, cli.ExitOpen, "no such database file"},
		{"mistyped file prune", []string{"prune", "--dsn", "typo.db", "--older-than", "1h"}, cli.ExitOpen, "no such database file"},
		{"unmigrated file", []string{"ls", "--dsn", "empty.db"}, cli.ExitOpen, "not migrated"},
		{"definition null", []string{"ls", "--dsn", "ok.db", "--definition", " null "}, cli.ExitUsage, "null"},
		{"definition empty", []string{"ls", "--dsn", "ok.db", "--definition="}, cli.ExitUsage, "not JSON"},
		{"unopenable database", []string{"ls", "--dsn", "garbage.db"}, cli.ExitOpen, "cannot open database"},
		{"unknown process", []string{"show", "--dsn", "ok.db", "no-such-process"}, cli.ExitNotFound, "no-such-process"},
		{"unknown process events", []string{"events", "--dsn", "ok.db", "no-such-process"}, cli.ExitNotFound, "no-such-process"},
		{"show without id", []string{"show", "--dsn", "ok.db"}, cli.ExitUsage, "want 1 argument"},
		{"prune without cutoff", []string{"prune", "--dsn", "ok.db"}, cli.ExitUsage, "--older-than"},
		{"bad status", []string{"ls", "--dsn", "ok.db", "--status", "sleeping"}, cli.ExitUsage, "sleeping"},
		{"bad definition", []string{"ls", "--dsn", "ok.db", "--definition", "{"}, cli.ExitUsage, "not JSON"},
		{"demo on memory", []string{"demo", "--dsn", "memory:"}, cli.ExitUsage, "share"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runBinary(t, dir, c.args...)
			if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want it to mention %q)", r.code, c.code, r.stderr, c.msg)
			}
		})
	}
	// Only migrate and demo create a database; the commands above did not.
	if _, err := os.Stat(filepath.Join(dir, "typo.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a command other than migrate created typo.db: %v", err)
	}
	var m struct {
		Migrated bool   `json:"migrated"`
		Tier     string `json:"tier"`
	}
	decode(t, mustRun(t, dir, "migrate", "--dsn", "sqlite:"+filepath.Join(dir, "m.db"), "--json"), &m)
	if !m.Migrated || m.Tier != "durable" {
		t.Fatalf("migrate --json: %+v", m)
	}
	if r := runBinary(t, dir, "help"); r.code != cli.ExitOK || !strings.Contains(r.stdout, "demo") {
		t.Fatalf("help: exit %d\n%s", r.code, r.stdout)
	}
}
