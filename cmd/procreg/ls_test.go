package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/internal/cli"
	"github.com/procreg/procreg/internal/demo"
	"github.com/procreg/procreg/internal/testdb"
)

// lsFixture is what seedLs registered: 25 processes of run "op" and 4 of
// run "zz" (definitions {"demo":"op"} and {"demo":"zz"}); every third
// completed, every fourth of the rest waiting.
type lsFixture struct {
	dsn  string
	recs map[string]lsFact // by id
}

type lsFact struct {
	run     string
	status  string
	waiting bool
}

func seedLs(t *testing.T, dsn string) lsFixture {
	t.Helper()
	ctx := context.Background()
	reg, err := backends.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	fx := lsFixture{dsn: dsn, recs: map[string]lsFact{}}
	for _, run := range []struct {
		name string
		n    int
	}{{"op", 25}, {"zz", 4}} {
		for i := 0; i < run.n; i++ {
			r := demo.Registration(run.name, i, 2)
			if _, err := reg.RegisterProcess(ctx, r); err != nil {
				t.Fatal(err)
			}
			fact := lsFact{run: run.name, status: procreg.StateRunning}
			switch {
			case i%3 == 0:
				if _, err := reg.CompleteProcess(ctx, r.ID, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`1`)}); err != nil {
					t.Fatal(err)
				}
				fact.status = procreg.StateCompleted
			case i%4 == 1:
				if _, err := reg.SetProcessWait(ctx, r.ID, procreg.WaitState{Kind: procreg.WaitSignal, Name: "s", Ordinal: 1, Since: time.Now()}); err != nil {
					t.Fatal(err)
				}
				fact.waiting = true
			}
			fx.recs[r.ID] = fact
		}
	}
	return fx
}

// runShell runs line with sh in dir, with env added, bounded by a minute.
func runShell(t *testing.T, dir, env, line string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PROCREG_DSN=", env)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("sh -c %s: %v", line, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// want returns the ids, sorted, that ls with these filters lists.
func (fx lsFixture) want(status, run string, waiting *bool) []string {
	var ids []string
	for id, f := range fx.recs {
		if (status == "" || status == "any" || f.status == status) && (run == "" || f.run == run) && (waiting == nil || *waiting == f.waiting) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestLsPagesAndCount: ls --limit/--after pages through a registry (the
// table's next-page hint pasted into a shell, -o json's "next", -o jsonl's
// last line), each process once, in id order; --count agrees with ls under
// every combination of filters; bad cursors and flag combinations exit 2.
// On SQLite, and on PostgreSQL and MySQL when their DSNs are set.
func TestLsPagesAndCount(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "ls.db")
		mustRun(t, dir, "migrate", "--dsn", path)
		testLs(t, dir, seedLs(t, path))
	})
	for _, srv := range []struct {
		name, env string
		db        func(testing.TB) testdb.Database
	}{{"postgres", testdb.PostgresEnv, testdb.PostgresMigrated}, {"mysql", testdb.MySQLEnv, testdb.MySQLMigrated}} {
		t.Run(srv.name, func(t *testing.T) {
			if os.Getenv(srv.env) == "" {
				t.Skipf("%s unset", srv.env)
			}
			testLs(t, t.TempDir(), seedLs(t, srv.db(t).URL))
		})
	}
}

func testLs(t *testing.T, dir string, fx lsFixture) {
	dsn := fx.dsn
	op := `{ "demo" : "op" }` // the definition by meaning: spacing does not matter
	wantOp := fx.want("", "op", nil)
	if len(wantOp) != 25 {
		t.Fatalf("fixture: %d processes of run op", len(wantOp))
	}

	// Tables: follow the hint on stderr, as a shell would run it.
	pathEnv := "PATH=" + filepath.Dir(binary) + string(os.PathListSeparator) + os.Getenv("PATH")
	var seen []string
	r := runBinary(t, dir, "ls", "--definition", op, "--limit", "10", "--no-headers", "--dsn", dsn)
	for page := 1; ; page++ {
		if r.code != 0 {
			t.Fatalf("page %d: %+v", page, r)
		}
		lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
		for _, l := range lines {
			seen = append(seen, strings.Fields(l)[0])
		}
		if page == 3 {
			if len(lines) != 5 || r.stderr != "5 process(es), the last page\n" {
				t.Fatalf("page 3: %d rows, stderr %q", len(lines), r.stderr)
			}
			break
		}
		head, hint, ok := strings.Cut(strings.TrimRight(r.stderr, "\n"), "\n")
		if len(lines) != 10 || !ok || head != "10 process(es); the next page:" || !strings.HasPrefix(hint, "procreg ls --definition '{\"demo\":\"op\"}' --no-headers --limit 10 --after ") {
			t.Fatalf("page %d: %d rows, stderr:\n%s", page, len(lines), r.stderr)
		}
		r = runShell(t, dir, pathEnv, hint) // "procreg" is the binary under test
	}
	if !slices.Equal(seen, wantOp) {
		t.Fatalf("3 table pages listed\n%v\nwant\n%v", seen, wantOp)
	}

	// -o json: {"records", "next"}; -o jsonl: records, then {"next"} while there is more.
	seen = nil
	var pages []int
	for cursor := ""; ; {
		args := []string{"ls", "--definition", op, "--limit", "10", "-o", "json", "--dsn", dsn}
		if cursor != "" {
			args = append(args, "--after", cursor)
		}
		var pg struct {
			Records []procreg.Record `json:"records"`
			Next    *string          `json:"next"`
		}
		decode(t, mustRun(t, dir, args...), &pg)
		if pg.Records == nil || pg.Next == nil {
			t.Fatalf("ls -o json --limit: want records and next, got %+v", pg)
		}
		pages = append(pages, len(pg.Records))
		for _, rec := range pg.Records {
			seen = append(seen, rec.ID)
		}
		if cursor = *pg.Next; cursor == "" {
			break
		}
	}
	if !slices.Equal(seen, wantOp) || !slices.Equal(pages, []int{10, 10, 5}) {
		t.Fatalf("-o json pages %v listed %v", pages, seen)
	}
	seen, pages = nil, nil
	for cursor := ""; ; {
		args := []string{"ls", "--definition", op, "--limit", "10", "-o", "jsonl", "--dsn", dsn}
		if cursor != "" {
			args = append(args, "--after", cursor)
		}
		lines := strings.Split(strings.TrimRight(mustRun(t, dir, args...), "\n"), "\n")
		cursor = ""
		var last struct {
			Next string `json:"next"`
			ID   string `json:"id"`
		}
		decode(t, lines[len(lines)-1], &last)
		if last.Next != "" {
			cursor, lines = last.Next, lines[:len(lines)-1]
		}
		pages = append(pages, len(lines))
		for _, l := range lines {
			var rec procreg.Record
			decode(t, l, &rec)
			seen = append(seen, rec.ID)
		}
		if cursor == "" {
			break
		}
	}
	if !slices.Equal(seen, wantOp) || !slices.Equal(pages, []int{10, 10, 5}) {
		t.Fatalf("-o jsonl pages %v listed %v", pages, seen)
	}
	// A page that ends exactly at the last process has no next cursor.
	var exact procreg.Page
	decode(t, mustRun(t, dir, "ls", "--definition", op, "--limit", "25", "-o", "json", "--dsn", dsn), &exact)
	if len(exact.Records) != 25 || exact.Next != "" {
		t.Fatalf("--limit 25 of 25: %d records, next %q", len(exact.Records), exact.Next)
	}
	// Without --limit, --after lists the rest.
	var first procreg.Page
	decode(t, mustRun(t, dir, "ls", "--definition", op, "--limit", "7", "-o", "json", "--dsn", dsn), &first)
	var rest []procreg.Record
	decode(t, mustRun(t, dir, "ls", "--definition", op, "--after", first.Next, "-o", "json", "--dsn", dsn), &rest)
	if len(first.Records) != 7 || len(rest) != 18 || rest[0].ID != wantOp[7] {
		t.Fatalf("--limit 7 then --after: %d + %d records", len(first.Records), len(rest))
	}

	// --count agrees with ls and with the fixture under combined filters.
	yes, no := true, false
	for _, c := range []struct {
		args    []string
		status  string
		run     string
		waiting *bool
	}{
		{nil, "", "", nil},
		{[]string{"--status", "running"}, "running", "", nil},
		{[]string{"--status", "completed"}, "completed", "", nil},
		{[]string{"--status", "failed"}, "failed", "", nil},
		{[]string{"--waiting", "true"}, "", "", &yes},
		{[]string{"--status", "running", "--waiting", "false"}, "running", "", &no},
		{[]string{"--definition", op}, "", "op", nil},
		{[]string{"--definition", `{"demo":"zz"}`, "--status", "running"}, "running", "zz", nil},
		{[]string{"--definition", op, "--waiting", "true"}, "", "op", &yes},
		{[]string{"--definition", op, "--status", "running", "--waiting", "false"}, "running", "op", &no},
	} {
		name := strings.Join(c.args, " ")
		want := fx.want(c.status, c.run, c.waiting)
		args := append([]string{"--dsn", dsn}, c.args...)
		count := strings.TrimSpace(mustRun(t, dir, append([]string{"ls", "--count"}, args...)...))
		var listed []string
		if out := mustRun(t, dir, append([]string{"ls", "--no-headers"}, args...)...); out != "" {
			for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
				listed = append(listed, strings.Fields(l)[0])
			}
		}
		if count != strconv.Itoa(len(listed)) || !slices.Equal(listed, want) {
			t.Errorf("ls %s: --count %s, %d lines %v, want %v", name, count, len(listed), listed, want)
		}
		var js struct{ Count *int }
		decode(t, mustRun(t, dir, append([]string{"ls", "--count", "-o", "json"}, args...)...), &js)
		if js.Count == nil || *js.Count != len(want) {
			t.Errorf("ls --count -o json %s: %v, want %d", name, js.Count, len(want))
		}
		// Paging with these filters lists the same processes.
		var paged []string
		for cursor := ""; ; {
			pargs := append([]string{"ls", "--limit", "4", "-o", "json"}, args...)
			if cursor != "" {
				pargs = append(pargs, "--after", cursor)
			}
			var pg procreg.Page
			decode(t, mustRun(t, dir, pargs...), &pg)
			for _, rec := range pg.Records {
				paged = append(paged, rec.ID)
			}
			if cursor = pg.Next; cursor == "" {
				break
			}
		}
		if !slices.Equal(paged, want) {
			t.Errorf("ls --limit 4 %s: paged %v, want %v", name, paged, want)
		}
	}

	// Cursors of another filter, garbage and bad combinations: exit 2.
	var running procreg.Page
	decode(t, mustRun(t, dir, "ls", "--status", "running", "--limit", "3", "-o", "json", "--dsn", dsn), &running)
	for _, args := range [][]string{
		{"ls", "--after", "garbage"},
		{"ls", "--limit", "5", "--after", "v1.AAAA.BBBB"},
		{"ls", "--limit", "5", "--after", running.Next},                       // another filter: any
		{"ls", "--limit", "5", "--after", running.Next, "--waiting", "false"}, // another filter
		{"ls", "--status", "running", "--limit", "5", "--after", running.Next + "x"},
	} {
		r := runBinary(t, dir, append(args, "--dsn", dsn)...)
		if r.code != cli.ExitUsage || r.stdout != "" || !strings.HasPrefix(r.stderr, "procreg ls: invalid --after cursor: ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: %+v", strings.Join(args, " "), r)
		}
	}
	if r := runBinary(t, dir, "ls", "--status", "running", "--limit", "5", "--after", running.Next, "--dsn", dsn); r.code != 0 {
		t.Errorf("the cursor with its own filter: %+v", r)
	}
	for _, args := range [][]string{
		{"ls", "--count", "--after", running.Next}, {"ls", "--count", "--limit", "3"},
		{"ls", "--limit", "0"}, {"ls", "--limit", "10001"}, {"ls", "--limit", "-1"}, {"ls", "--limit", "x"},
		{"ls", "--after", ""}, {"ls", "--limit", "3", "--after="},
	} {
		if r := runBinary(t, dir, append(args, "--dsn", dsn)...); r.code != cli.ExitUsage || r.stdout != "" {
			t.Errorf("%s: %+v", strings.Join(args, " "), r)
		}
	}
}
