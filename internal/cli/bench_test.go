package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/bench"
)

// runCLI runs the command line args and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, &Env{Stdout: &out, Stderr: &errb}, Commands())
	return code, out.String(), errb.String()
}

// Bad flags are usage errors (exit 2) that say what is wrong, and a run
// needs an explicit DSN: bench writes scratch processes.
func TestBenchFlagErrors(t *testing.T) {
	t.Setenv("PROCREG_DSN", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench"}, "name a scratch database with --dsn"},
		{[]string{"bench", "--dsn", "memory:", "--workers", "0"}, "--workers 0: want 1 to 1000"},
		{[]string{"bench", "--dsn", "memory:", "--duration", "0s"}, "--duration 0s: want a positive duration"},
		{[]string{"bench", "--dsn", "memory:", "--warmup", "-1s"}, "--warmup -1s"},
		{[]string{"bench", "--dsn", "memory:", "--duration", "soon"}, `invalid argument "soon"`},
		{[]string{"bench", "--dsn", "memory:", "--ops", "get,teleport"}, `unknown operation "teleport"`},
		{[]string{"bench", "--dsn", "memory:", "--ops", ","}, "--ops is empty"},
		{[]string{"bench", "--dsn", "memory:", "--wokers", "2"}, "did you mean --workers?"},
		{[]string{"bench", "--dsn", "memory:", "extra"}, `unknown command "extra"`},
		{[]string{"bench", "table"}, "want at least 1 argument"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", tc.args, code, stderr, ExitUsage, tc.want)
		}
	}
}

// The flags become the run's configuration: operations in the order given
// are kept as given (the run orders them), a zero warm-up is none.
func TestBenchOptionsConfig(t *testing.T) {
	c, err := BenchOptions{Workers: 3, Duration: time.Second, Warmup: 0, Ops: []string{"recent", " get"}}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if c.Workers != 3 || c.Duration != time.Second || c.Warmup >= 0 || !slices.Equal(c.Ops, []string{"recent", "get"}) {
		t.Fatalf("Config() = %+v", c)
	}
	c, err = BenchOptions{Workers: 8, Duration: time.Second, Warmup: time.Second}.Config()
	if err != nil || c.Warmup != time.Second || c.Ops != nil {
		t.Fatalf("Config() = %+v, %v", c, err)
	}
}

// benchJSON runs bench -o json and decodes its output both as a Result and
// as plain JSON (for the shape).
func benchJSON(t *testing.T, args ...string) (*bench.Result, map[string]any, string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"bench", "-o", "json", "--warmup", "0", "--workers", "2"}, args...)...)
	if code != ExitOK {
		t.Fatalf("bench %v: exit %d\nstderr: %s", args, code, stderr)
	}
	var r bench.Result
	var shape map[string]any
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not one JSON result: %v\n%s", err, stdout)
	}
	if err := json.Unmarshal([]byte(stdout), &shape); err != nil {
		t.Fatal(err)
	}
	return &r, shape, stderr
}

// keys are the keys of a JSON object, sorted.
func keys(v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A short run on memory measures every operation (each completes some),
// reports no floor and says why, and its JSON has the documented shape;
// the progress goes to stderr, one plain line per operation.
func TestBenchMemoryJSON(t *testing.T) {
	r, shape, stderr := benchJSON(t, "--dsn", "memory:", "--duration", "200ms")
	wantTop := []string{"dialect", "dsn", "duration_seconds", "floor", "floor_note", "gomaxprocs", "id_prefix", "ops", "run", "started_at", "warmup_seconds", "workers"}
	if _, ok := shape["load_average"]; ok {
		wantTop = append(wantTop, "load_average")
		slices.Sort(wantTop)
	}
	if got := keys(shape); !slices.Equal(got, wantTop) {
		t.Errorf("result keys %v, want %v", got, wantTop)
	}
	ops, _ := shape["ops"].([]any)
	if len(ops) == 0 {
		t.Fatalf("no ops in %v", shape)
	}
	if got, want := keys(ops[0]), []string{"count", "name", "ops_per_sec", "p50_ms", "p99_ms", "unit"}; !slices.Equal(got, want) {
		t.Errorf("op keys %v, want %v (no floor keys without a floor)", got, want)
	}
	if r.Dialect != "memory" || r.Workers != 2 || r.DurationSeconds != 0.2 || len(r.Floor) != 0 || !strings.Contains(r.FloorNote, "no database under the memory backend") {
		t.Errorf("result %+v", r)
	}
	var names []string
	for _, o := range r.Ops {
		names = append(names, o.Name)
		if o.Count <= 0 || o.OpsPerSec <= 0 || o.P99Ms < o.P50Ms || o.FloorRatio != nil {
			t.Errorf("%s: %+v", o.Name, o)
		}
		if !strings.Contains(stderr, o.Name+" ") {
			t.Errorf("no progress line for %s on stderr:\n%s", o.Name, stderr)
		}
	}
	if !slices.Equal(names, bench.OpNames()) {
		t.Errorf("ops %v, want every operation %v", names, bench.OpNames())
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("progress to a non-terminal updates a line in place:\n%q", stderr)
	}
}

// A short run on SQLite measures every operation and the three floors, and
// gives every operation a ratio to the floor it is held to; the floor's
// rows are gone afterwards and the scratch processes are left, under the
// run's prefix.
func TestBenchSQLite(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "bench.db")
	r, _, _ := benchJSON(t, "--dsn", dsn, "--duration", "500ms")
	if r.Dialect != "sqlite" || r.FloorNote != "" {
		t.Fatalf("result %+v", r)
	}
	var floors []string
	for _, f := range r.Floor {
		floors = append(floors, f.Name)
		if f.Count <= 0 || f.OpsPerSec <= 0 {
			t.Errorf("%s: %+v", f.Name, f)
		}
	}
	if want := []string{"floor select", "floor insert", "floor update"}; !slices.Equal(floors, want) {
		t.Errorf("floors %v, want %v", floors, want)
	}
	wantFloor := map[string]string{
		"register": "insert", "append": "insert", "fenced-append": "insert", "claim-complete": "update", "lifecycle": "update",
		"get": "select", "list-page": "select", "events-after": "select", "count-through": "select", "recent": "select",
	}
	if len(r.Ops) != len(bench.OpNames()) {
		t.Errorf("%d ops, want %d", len(r.Ops), len(bench.OpNames()))
	}
	for _, o := range r.Ops {
		if o.Count <= 0 || o.FloorRatio == nil || *o.FloorRatio <= 0 || o.Floor != wantFloor[o.Name] {
			t.Errorf("%s: %+v, want ops and a ratio to the %s floor", o.Name, o, wantFloor[o.Name])
		}
	}

	ctx := context.Background()
	d, _ := driver.Lookup(dsn)
	f, err := d.Floor(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Select(ctx, r.Prefix+"floor-0"); err == nil {
		t.Errorf("the floor's row %sfloor-0 is still there", r.Prefix)
	}
	reg, err := backends.OpenExisting(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	all, err := reg.ListProcesses(ctx, procreg.ListFilter{Status: procreg.StatusAny})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no scratch processes left")
	}
	for _, rec := range all {
		if !strings.HasPrefix(rec.ID, r.Prefix) {
			t.Errorf("process %s is not under the run's prefix %s", rec.ID, r.Prefix)
		}
	}
}

// Without -o json the progress (plain lines) and the table go to stdout;
// --ops limits the run to the operations named and the floors they need;
// `bench table` turns JSON results into Markdown.
func TestBenchTextAndTable(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "bench.db")
	code, stdout, stderr := runCLI(t, "bench", "--dsn", dsn, "--ops", "get", "--duration", "100ms", "--warmup", "0")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"procreg bench: sqlite, 8 workers, 100ms per operation", "floor select", "× select", "scratch processes left behind"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "floor insert") || strings.Contains(stdout, "register") {
		t.Errorf("--ops get measured more than get and its floor:\n%s", stdout)
	}

	var files []string
	for _, d := range []string{"memory:", dsn} {
		code, out, stderr := runCLI(t, "bench", "--dsn", d, "--ops", "get,recent", "--duration", "100ms", "--warmup", "0", "-o", "json")
		if code != ExitOK {
			t.Fatalf("%s: exit %d: %s", d, code, stderr)
		}
		p := filepath.Join(dir, strings.TrimSuffix(strings.SplitN(d, ":", 2)[0], ":")+".json")
		if err := os.WriteFile(p, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	code, md, stderr := runCLI(t, append([]string{"bench", "table"}, files...)...)
	if code != ExitOK {
		t.Fatalf("bench table: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"| operation | memory | sqlite |", "| get |", "× select |", "#### sqlite", "| floor select |", "No floor: there is no database under the memory backend."} {
		if !strings.Contains(md, want) {
			t.Errorf("bench table lacks %q:\n%s", want, md)
		}
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"hello":1}`), 0o600)
	if code, _, stderr := runCLI(t, "bench", "table", bad); code != ExitUsage || !strings.Contains(stderr, "not a procreg bench") {
		t.Errorf("bench table of a foreign file: exit %d, %q", code, stderr)
	}
}
