package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
)

// TestLsReadsPagesLikeOneList: ls without --limit reads the registry page
// by page (pages of 7 here) and prints what printing the whole
// ListProcesses result at once printed: the same JSON array byte for byte,
// the same jsonl lines, the same table cells under one header (a table's
// columns are aligned per page).
func TestLsReadsPagesLikeOneList(t *testing.T) {
	defer func(n int) { lsPageSize = n }(lsPageSize)
	lsPageSize = 7
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 23; i++ {
		r := procreg.Registration{
			ID:          fmt.Sprintf("p%03d", i),
			Disposition: procreg.DispositionRerunnable,
			Identity:    procreg.Identity{Kind: "t", Label: fmt.Sprintf("label <%d> & more", i), Definition: json.RawMessage(`{"k": [1, 2]}`)},
			Input:       procreg.ProcessInput{Kind: procreg.InputExternal, Payload: json.RawMessage(`{"n":` + fmt.Sprint(i) + `}`)},
			Provenance:  procreg.Provenance{Originator: procreg.Originator{Kind: procreg.OriginatorHost}},
		}
		if _, err := reg.RegisterProcess(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	all, err := reg.ListProcesses(ctx, procreg.ListFilter{Status: procreg.StatusAny})
	if err != nil {
		t.Fatal(err)
	}
	reg.Close()

	run := func(args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Run(ctx, append(args, "--dsn", path), &Env{Stdout: &out, Stderr: &errb}, Commands()); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String(), errb.String()
	}
	for _, o := range []string{OutputJSON, OutputJSONL, OutputTable, OutputWide} {
		c := &Common{Output: o}
		var want bytes.Buffer
		if c.JSON() {
			if err := EmitList(c, &want, all); err != nil {
				t.Fatal(err)
			}
		} else {
			tab := c.Table(&want, lsHeader(c)...)
			for _, r := range all {
				tab.Row(lsRow(c, r)...)
			}
			tab.Flush()
		}
		got, stderr := run("ls", "-o", o)
		wantText := want.String()
		if !c.JSON() {
			// A table aligns its columns per page: compare the cells.
			got, wantText = cells(got), cells(wantText)
			if !strings.HasPrefix(got, "ID|STATUS|") || strings.Count(got, "ID|") != 1 {
				t.Errorf("ls -o %s: want one header:\n%s", o, got)
			}
		}
		if got != wantText {
			t.Errorf("ls -o %s over pages of %d:\n%s\nwant\n%s", o, lsPageSize, got, wantText)
		}
		if !c.JSON() && stderr != "23 process(es)\n" {
			t.Errorf("ls -o %s: stderr %q", o, stderr)
		}
	}
	// No process: an empty array, no jsonl line, a header alone.
	for o, want := range map[string]string{OutputJSON: "[]\n", OutputJSONL: "", OutputTable: "ID  STATUS  DISPOSITION  IDENTITY  WAITING  UPDATED\n"} {
		if got, _ := run("ls", "--status", "failed", "-o", o); got != want {
			t.Errorf("ls -o %s of nothing: %q, want %q", o, got, want)
		}
	}
	// --after without --limit lists the rest, over pages too.
	out, _ := run("ls", "--limit", "5", "-o", "jsonl")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var next struct{ Next string }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &next); err != nil || next.Next == "" || len(lines) != 6 {
		t.Fatalf("ls --limit 5 -o jsonl:\n%s", out)
	}
	rest, stderr := run("ls", "--after", next.Next, "--no-headers")
	if n := strings.Count(rest, "\n"); n != 18 || !strings.HasPrefix(rest, "p005 ") || stderr != "18 process(es)\n" {
		t.Errorf("ls --after (the rest): %d rows\n%s%s", n, rest, stderr)
	}
}

// TestLsNextHintNeverCarriesAPassword: the next-page command line leaves
// a DSN's password out (and reads $PROCREG_DSN), quotes what needs it,
// and keeps the filters and table flags.
func TestLsNextHintNeverCarriesAPassword(t *testing.T) {
	o := &lsOptions{status: "running", waiting: "1", definition: "{ \"a\" :\n \"it's\" }", definitionGiven: true, limit: 10}
	c := &Common{DSN: "postgres://u:s3cret@h/db", Output: OutputWide, NoHeaders: true}
	line, note := CommandLine(c.DSN, c.DSNFromEnv, o.nextArgs(c, "v1.abc.def")...)
	want := `procreg ls --status running --waiting true --definition '{"a":"it'\''s"}' -o wide --no-headers --limit 10 --after v1.abc.def --dsn "$PROCREG_DSN"`
	if line != want || note == "" || strings.Contains(line+note, "s3cret") {
		t.Errorf("hint %q (note %q), want %q", line, note, want)
	}
}

// cells is a table with each line's cells joined by "|": cells are split
// at runs of two or more spaces (no cell here has two spaces in a row).
func cells(table string) string {
	var b strings.Builder
	for _, l := range strings.Split(table, "\n") {
		var cs []string
		for _, c := range strings.Split(l, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				cs = append(cs, c)
			}
		}
		b.WriteString(strings.Join(cs, "|") + "\n")
	}
	return b.String()
}
