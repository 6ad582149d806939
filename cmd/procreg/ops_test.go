package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
	"github.com/procreg/procreg/internal/cli"
	"github.com/procreg/procreg/internal/demo"
)

// runEnv is runBinary with extra environment variables.
func runEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "PROCREG_DSN="), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("procreg %s: did not finish\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out.String(), errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// seed makes a migrated SQLite file with processes of run "op" (0:
// rerunnable, 3: owner-bound, 5: externally owned), all running.
func seed(t *testing.T, path string, n int) []string {
	t.Helper()
	ctx := context.Background()
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	var ids []string
	for i := 0; i < n; i++ {
		r := demo.Registration("op", i, 2)
		if _, err := reg.RegisterProcess(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

// TestHelpVersionAndCompletion: help goes to stdout, `help CMD` works,
// --version / version print the build info's version and, with --dsn, the
// schema version; completion scripts for bash, zsh and fish.
func TestHelpVersionAndCompletion(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{nil, {"help"}, {"--help"}, {"-h"}} {
		r := runBinary(t, dir, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Available Commands") || !strings.Contains(r.stdout, "demo") || r.stderr != "" {
			t.Fatalf("procreg %v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{{"help", "ls"}, {"ls", "--help"}, {"help", "migrate", "status"}, {"help", "dialect"}} {
		r := runBinary(t, dir, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") || r.stderr != "" {
			t.Fatalf("procreg %v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	if r := runBinary(t, dir, "help", "lss"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, `did you mean "ls"?`) {
		t.Fatalf("help lss: %+v", r)
	}
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "version", "-m", binary).Output()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s+mod\s+(\S+)\s+(\S+)`).FindStringSubmatch(string(out))
	if m == nil || m[1] != "github.com/procreg/procreg" {
		t.Fatalf("go version -m: no main module line:\n%s", out)
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := runBinary(t, dir, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "procreg "+m[2]) {
			t.Fatalf("procreg %v: %+v, want version %s", args, r, m[2])
		}
	}
	mustRun(t, dir, "migrate", "--dsn", "v.db")
	for _, args := range [][]string{{"--version", "--dsn", "v.db"}, {"version", "--dsn", "v.db"}} {
		r := runBinary(t, dir, args...)
		if r.code != 0 || !regexp.MustCompile(`schema: version (\d+) of (\d+) \(sqlite, up to date\)`).MatchString(r.stdout) {
			t.Fatalf("procreg %v: %+v", args, r)
		}
	}
	var v cli.VersionView
	decode(t, mustRun(t, dir, "version", "--dsn", "v.db", "-o", "json"), &v)
	if v.Schema == nil || !v.Schema.Current || v.Schema.Applied == 0 || v.Module != "github.com/procreg/procreg" {
		t.Fatalf("version -o json: %+v", v)
	}

	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if out := mustRun(t, dir, "completion", shell); !strings.Contains(out, "procreg") || len(out) < 500 {
			t.Fatalf("completion %s: %q", shell, out)
		}
	}
	if r := runBinary(t, dir, "completion", "tcsh"); r.code != cli.ExitUsage {
		t.Fatalf("completion tcsh: %+v", r)
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		script := filepath.Join(dir, "c.bash")
		if err := os.WriteFile(script, []byte(mustRun(t, dir, "completion", "bash")), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bash, "-c", "source "+script+" && complete -p procreg").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "procreg") {
			t.Fatalf("bash does not load the completion: %v\n%s", err, out)
		}
	}
	// The completion engine answers for commands and flag values.
	if out := mustRun(t, dir, "__complete", "l"); !strings.Contains(out, "ls") {
		t.Fatalf("__complete l: %q", out)
	}
	if out := mustRun(t, dir, "__complete", "ls", "--status", ""); !strings.Contains(out, "abandoned") {
		t.Fatalf("__complete ls --status: %q", out)
	}
}

// TestUsageErrors: one error line, a suggestion for a close match, flags
// before the command explained, invalid values listing the valid ones,
// and the demo naming the wrong flag.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, dir, "migrate", "--dsn", "u.db")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"lss"}, `unknown command "lss"; did you mean "ls"?`},
		{[]string{"frobnicate"}, `unknown command "frobnicate" (procreg help lists the commands)`},
		{[]string{"ls", "--stauts", "running"}, "unknown flag --stauts; did you mean --status?"},
		{[]string{"events", "--folow", "x"}, "did you mean --follow?"},
		{[]string{"--follow", "events", "x"}, "unknown flag --follow before the command: flags go after it, as in procreg events --follow x"},
		{[]string{"--dsn", "u.db"}, "no command given"},
		{[]string{"migrate", "stauts"}, `unknown command "stauts"; did you mean "status"?`},
		{[]string{"dialect", "chek"}, `did you mean "check"?`},
		{[]string{"ls", "--dsn", "u.db", "--status", "sleeping"}, `invalid --status "sleeping": want one of any, running, completed, failed, cancelled, abandoned`},
		{[]string{"ls", "--dsn", "u.db", "-o", "yaml"}, `invalid -o "yaml": want one of table, wide, json, jsonl`},
		{[]string{"ls", "--dsn", "u.db", "--waiting", "maybe"}, `invalid --waiting "maybe": want true or false`},
		{[]string{"show", "--dsn", "u.db"}, "want 1 argument(s) (PROCESS-ID), got 0"},
		{[]string{"demo", "--workers", "0"}, "invalid --workers 0"},
		{[]string{"demo", "--processes", "-1"}, "invalid --processes -1"},
		{[]string{"demo", "--crash-rate", "-1"}, "invalid --crash-rate -1"},
		{[]string{"demo", "--step", "0s"}, "invalid --step 0s"},
		{[]string{"demo", "--ttl", "120ms"}, "invalid --ttl 120ms: want it longer than --step (120ms)"},
		{[]string{"demo", "--ttl", "50ms", "--step", "100ms"}, "invalid --ttl 50ms: want it longer than --step (100ms)"},
		{[]string{"demo", "--timeout", "0s"}, "invalid --timeout 0s"},
		{[]string{"demo", "--stalls", "x"}, `"--stalls"`},
		{[]string{"demo", "--dsn", "memory:"}, `invalid --dsn "memory:"`},
		{[]string{"abandon", "--dsn", "u.db", "p1"}, "--reason is required"},
		{[]string{"cancel", "--dsn", "u.db"}, "name the processes to cancel"},
		{[]string{"prune", "--dsn", "u.db"}, "--older-than must be a positive duration"},
		{[]string{"dialect", "check", "--dsn", "u.db"}, "--dsn does not apply"},
	}
	for _, c := range cases {
		r := runBinary(t, dir, c.args...)
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if r.code != cli.ExitUsage || len(lines) != 1 || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("procreg %s: exit %d (want 2), stdout %q, stderr %q (want one line with %q)", strings.Join(c.args, " "), r.code, r.stdout, r.stderr, c.want)
		}
	}
	// Flags before the command work as after it.
	if r := runBinary(t, dir, "--dsn", "u.db", "-o", "json", "ls"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("flags before the command: %+v", r)
	}
}

// TestOpenErrors: the migrate hint only where a migration would help, no
// internal names, and unknown ids name the database searched.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "garbage.db"), []byte(strings.Repeat("not a database ", 512)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "migrate", "--dsn", "ok.db")
	mustRun(t, dir, "migrate", "--dsn", "old.db")
	// old.db: as if an older procreg had migrated it (its latest version rolled back in the table).
	db, err := sql.Open("sqlite", filepath.Join(dir, "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM procreg_schema_version WHERE version_id = (SELECT MAX(version_id) FROM procreg_schema_version)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	hint := "procreg migrate brings its schema up to date"
	cases := []struct {
		args       []string
		code       int
		want       string
		wantsHint  bool
		createHint bool
	}{
		{[]string{"ls", "--dsn", "empty.db"}, cli.ExitOpen, `database "empty.db" is not migrated`, false, true},
		{[]string{"ls", "--dsn", "old.db"}, cli.ExitOpen, "has procreg schema version", true, false},
		{[]string{"events", "--dsn", "old.db", "x"}, cli.ExitOpen, "has procreg schema version", true, false},
		{[]string{"ls", "--dsn", "garbage.db"}, cli.ExitOpen, `cannot open database "garbage.db"`, false, false},
		{[]string{"ls", "--dsn", "missing.db"}, cli.ExitOpen, `no such database file "missing.db"`, false, true},
		{[]string{"ls", "--dsn", "bogus://x"}, cli.ExitUsage, "bad DSN", false, false},
		{[]string{"ls", "--dsn", "sqlite:"}, cli.ExitUsage, "bad DSN", false, false},
		{[]string{"show", "--dsn", "ok.db", "nope"}, cli.ExitNotFound, `no process "nope" in database "ok.db"`, false, false},
		{[]string{"events", "--dsn", "ok.db", "nope"}, cli.ExitNotFound, `no process "nope" in database "ok.db"`, false, false},
		{[]string{"events", "--follow", "--dsn", "ok.db", "nope"}, cli.ExitNotFound, `no process "nope" in database "ok.db"`, false, false},
		{[]string{"migrate", "--dsn", filepath.Join(dir, "no", "x.db")}, cli.ExitOpen, "does not exist", false, false},
	}
	for _, c := range cases {
		r := runBinary(t, dir, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("procreg %s: exit %d (want %d), stderr %q (want one line with %q)", strings.Join(c.args, " "), r.code, c.code, r.stderr, c.want)
		}
		if strings.Contains(r.stderr, hint) != c.wantsHint {
			t.Errorf("procreg %s: migrate hint present = %v, want %v: %q", strings.Join(c.args, " "), !c.wantsHint, c.wantsHint, r.stderr)
		}
		if c.createHint != strings.Contains(r.stderr, "procreg migrate creates") {
			t.Errorf("procreg %s: create hint present = %v, want %v: %q", strings.Join(c.args, " "), !c.createHint, c.createHint, r.stderr)
		}
		for _, internal := range []string{"sqlite.Migrate", "WithoutMigrations", "probe", "procreg: procreg", ": procreg:", "procreg ls: procreg", "Migrate,"} {
			if strings.Contains(r.stderr, internal) {
				t.Errorf("procreg %s: error names %q: %q", strings.Join(c.args, " "), internal, r.stderr)
			}
		}
	}
}

// TestMigrateStatusAndValidate: status lists applied and pending
// migrations; validate exits 1 while the schema is behind.
func TestMigrateStatusAndValidate(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var st cli.MigrateStatusView
	decode(t, mustRun(t, dir, "migrate", "status", "--dsn", "m.db", "--json"), &st)
	if st.Applied != 0 || st.Latest == 0 || st.Current || len(st.Pending) != len(st.Migrations) || st.Dialect != "sqlite" {
		t.Fatalf("status of an empty file: %+v", st)
	}
	r := runBinary(t, dir, "migrate", "validate", "--dsn", "m.db")
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "is behind") || !strings.Contains(r.stderr, st.Migrations[0].Name) {
		t.Fatalf("validate before migrate: %+v", r)
	}
	if out := mustRun(t, dir, "migrate", "status", "--dsn", "m.db"); !strings.Contains(out, "pending") || !strings.Contains(out, "VERSION") {
		t.Fatalf("status table:\n%s", out)
	}
	if out := mustRun(t, dir, "migrate", "up", "--dsn", "m.db"); !strings.Contains(out, "schema up to date at version") {
		t.Fatalf("migrate up: %s", out)
	}
	decode(t, mustRun(t, dir, "migrate", "status", "--dsn", "m.db", "-o", "json"), &st)
	if !st.Current || st.Applied != st.Latest || len(st.Pending) != 0 {
		t.Fatalf("status after migrate: %+v", st)
	}
	if out := mustRun(t, dir, "migrate", "validate", "--dsn", "m.db"); !strings.Contains(out, "up to date") {
		t.Fatalf("validate: %s", out)
	}
	if r := runBinary(t, dir, "migrate", "status", "--dsn", "nope.db"); r.code != cli.ExitOpen {
		t.Fatalf("status of a missing file: %+v", r)
	}
	if out := mustRun(t, dir, "migrate", "status", "--dsn", "memory:"); !strings.Contains(out, "no versioned schema") {
		t.Fatalf("status of memory: %s", out)
	}
	// Only migrate (and demo) create files.
	if _, err := os.Stat(filepath.Join(dir, "nope.db")); err == nil {
		t.Fatal("migrate status created a file")
	}
}

// TestOperatorCommands: cancel and abandon by id and by definition, with
// --dry-run; prune --dry-run changes nothing.
func TestOperatorCommands(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "o.db")
	ids := seed(t, path, 6)
	def := `{"demo":"op"}`

	// cancel: appended once, reported again as already requested.
	out := mustRun(t, dir, "cancel", ids[0], "--reason", "not needed", "--dsn", path)
	if !strings.Contains(out, ids[0]) || !strings.Contains(out, "requested") {
		t.Fatalf("cancel:\n%s", out)
	}
	var events []procreg.Event
	decode(t, mustRun(t, dir, "events", ids[0], "--dsn", path, "--json"), &events)
	if len(events) != 1 || events[0].EventType != procreg.EventCancelRequested || !strings.Contains(string(events[0].Payload), "not needed") {
		t.Fatalf("events after cancel: %+v", events)
	}
	if out := mustRun(t, dir, "cancel", ids[0], "--dsn", path); !strings.Contains(out, "already requested") {
		t.Fatalf("second cancel:\n%s", out)
	}
	r := runBinary(t, dir, "cancel", "nope", "--dsn", path)
	if r.code != cli.ExitNotFound || !strings.Contains(r.stdout, "not found") || !strings.Contains(r.stderr, `in database "`+path+`"`) {
		t.Fatalf("cancel of an unknown id: %+v", r)
	}

	// abandon --definition --dry-run: lists, changes nothing.
	var res struct {
		DryRun  bool                 `json:"dry_run"`
		Results []cli.OperatorResult `json:"results"`
	}
	decode(t, mustRun(t, dir, "abandon", "--definition", def, "--reason", "r", "--dry-run", "--dsn", path, "--json"), &res)
	if !res.DryRun || len(res.Results) != len(ids) {
		t.Fatalf("abandon --dry-run: %+v", res)
	}
	for _, x := range res.Results {
		if x.Result != "would request" {
			t.Fatalf("abandon --dry-run: %+v", res)
		}
	}
	var recs []procreg.Record
	decode(t, mustRun(t, dir, "ls", "--dsn", path, "--json"), &recs)
	for _, rec := range recs {
		if rec.AbandonRequest != nil {
			t.Fatalf("--dry-run filed an abandon request on %s", rec.ID)
		}
	}
	// abandon by id and definition together: each once.
	r = runBinary(t, dir, "abandon", ids[1], "--definition", def, "--reason", "operator test", "--dsn", path)
	if r.code != 0 || strings.Count(r.stdout, "requested") != len(ids) || !strings.Contains(r.stderr, "abandon requested on 6 of 6") {
		t.Fatalf("abandon: %+v", r)
	}
	var view cli.ShowView
	decode(t, mustRun(t, dir, "show", ids[2], "--dsn", path, "--json"), &view)
	if a := view.Process.AbandonRequest; a == nil || a.Reason != "operator test" || !strings.HasPrefix(a.RequestedBy, "procreg (") {
		t.Fatalf("abandon request: %+v", view.Process.AbandonRequest)
	}
	// The sweep reconciles the requests (no lease is held).
	mustRun(t, dir, "sweep", "--dsn", path)
	decode(t, mustRun(t, dir, "ls", "--dsn", path, "--status", "abandoned", "--json"), &recs)
	if len(recs) != len(ids) {
		t.Fatalf("after sweep: %d abandoned, want %d", len(recs), len(ids))
	}
	if out := mustRun(t, dir, "cancel", ids[3], "--dsn", path); !strings.Contains(out, "already abandoned") {
		t.Fatalf("cancel of an abandoned process:\n%s", out)
	}

	// prune --dry-run: lists them, deletes nothing.
	time.Sleep(5 * time.Millisecond)
	var pr struct {
		DryRun    bool `json:"dry_run"`
		Processes int  `json:"would_prune_processes"`
		Events    int  `json:"would_prune_events"`
	}
	decode(t, mustRun(t, dir, "prune", "--older-than", "1ms", "--dry-run", "--dsn", path, "--json"), &pr)
	if !pr.DryRun || pr.Processes != len(ids) || pr.Events < len(ids) {
		t.Fatalf("prune --dry-run: %+v", pr)
	}
	r = runBinary(t, dir, "prune", "--older-than", "1ms", "--dry-run", "--dsn", path)
	if r.code != 0 || strings.Count(r.stdout, "abandoned") != len(ids) || !strings.Contains(r.stderr, "nothing was deleted") {
		t.Fatalf("prune --dry-run table: %+v", r)
	}
	decode(t, mustRun(t, dir, "ls", "--dsn", path, "--json"), &recs)
	if len(recs) != len(ids) {
		t.Fatalf("prune --dry-run deleted: %d left", len(recs))
	}
	var done struct {
		Pruned int `json:"pruned_processes"`
	}
	decode(t, mustRun(t, dir, "prune", "--older-than", "1ms", "--dsn", path, "--json"), &done)
	if done.Pruned != len(ids) {
		t.Fatalf("prune: %+v", done)
	}
}

// TestOutputFormats: -o table|wide|json|jsonl, --no-headers, counts on
// stderr, times with their zone, and --follow columns that line up.
func TestOutputFormats(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.db")
	ids := seed(t, path, 3)
	ctx := context.Background()
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for i, typ := range []string{demo.EventExternal, procreg.EventCancelRequested} {
		req := procreg.AppendRequest{EventType: typ, Payload: json.RawMessage(`{"n":1}`)}
		if i == 1 {
			req = procreg.CancelRequested(ids[0], "x")
		}
		if _, err := reg.AppendEvent(ctx, ids[0], req); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.CompleteProcess(ctx, ids[0], procreg.AwaitOutput{Kind: procreg.OutputCancelled, Message: "x"}); err != nil {
		t.Fatal(err)
	}
	reg.Close()
	zoned := regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z`)

	r := runBinary(t, dir, "ls", "--dsn", path)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ID ") || strings.Contains(r.stdout, "process(es)") || r.stderr != "3 process(es)\n" || !zoned.MatchString(r.stdout) {
		t.Fatalf("ls: %+v", r)
	}
	if out := mustRun(t, dir, "ls", "--dsn", path, "--no-headers"); strings.Contains(out, "STATUS") || strings.Count(out, "\n") != 3 {
		t.Fatalf("ls --no-headers:\n%s", out)
	}
	if out := mustRun(t, dir, "ls", "--dsn", path, "-o", "wide"); !strings.Contains(out, "DEFINITION") || !strings.Contains(out, `{"demo":"op"}`) {
		t.Fatalf("ls -o wide:\n%s", out)
	}
	var recs []procreg.Record
	decode(t, mustRun(t, dir, "ls", "--dsn", path, "-o", "json"), &recs)
	lines := strings.Split(strings.TrimSpace(mustRun(t, dir, "ls", "--dsn", path, "-o", "jsonl")), "\n")
	if len(recs) != 3 || len(lines) != 3 {
		t.Fatalf("ls json: %d records, jsonl: %d lines", len(recs), len(lines))
	}
	for _, l := range lines {
		var rec procreg.Record
		decode(t, l, &rec)
	}
	if r := runBinary(t, dir, "ls", "--dsn", path, "--json", "-o", "wide"); r.code != cli.ExitUsage {
		t.Fatalf("--json with -o wide: %+v", r)
	}
	if out := mustRun(t, dir, "show", ids[0], "--dsn", path); !zoned.MatchString(out) {
		t.Fatalf("show without zones:\n%s", out)
	}
	if out := mustRun(t, dir, "events", ids[0], "--dsn", path, "-o", "wide"); !strings.Contains(out, "REPLAY KEY") || !strings.Contains(out, "process:"+ids[0]+":cancel_requested") {
		t.Fatalf("events -o wide:\n%s", out)
	}
	if out := mustRun(t, dir, "events", ids[0], "--dsn", path, "--no-headers"); strings.Contains(out, "SEQ") {
		t.Fatalf("events --no-headers:\n%s", out)
	}
	if out := mustRun(t, dir, "sweep", "--dsn", path, "-o", "jsonl"); strings.Count(out, "\n") != 2 {
		t.Fatalf("sweep -o jsonl:\n%s", out)
	}
	// --follow on a finished process: every line's columns start where the header's do.
	out := mustRun(t, dir, "events", "--follow", ids[0], "--dsn", path)
	fl := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(fl) != 4 {
		t.Fatalf("events --follow: %d lines\n%s", len(fl), out)
	}
	for _, col := range []string{"TYPE", "OCCURRED", "SEMANTICS", "PAYLOAD"} {
		at := strings.Index(fl[0], col)
		for _, l := range fl[1:] {
			if at <= 0 || len(l) <= at || l[at-1] != ' ' || l[at] == ' ' {
				t.Fatalf("events --follow: column %s (at %d) does not line up:\n%s", col, at, out)
			}
		}
	}
}

// TestSQLiteFilesArePrivate: the files the tool creates are 0600.
func TestSQLiteFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.db")
	mustRun(t, dir, "migrate", "--dsn", path)
	ctx := context.Background()
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if _, err := reg.RegisterProcess(ctx, demo.Registration("perm", 0, 1)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(f), st.Mode().Perm())
		}
	}
}
