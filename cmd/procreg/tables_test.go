package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
	"github.com/procreg/procreg/internal/demo"
)

// Stored text reaches the terminal escaped in tables and unchanged in
// --json: a label and a payload with an escape sequence and a
// bidirectional override are registered, then shown by the binary.
func TestTablesEscapeStoredControlCharacters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	ctx := context.Background()
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r := demo.Registration("c", 0, 1)
	r.Identity.Label = "evil\x1b[2J\x1b[Hlabel"
	r.Input.Payload = json.RawMessage("{\"note\":\"\u202eevil\"}")
	if _, err := reg.RegisterProcess(ctx, r); err != nil {
		t.Fatal(err)
	}
	p := json.RawMessage("{\"fence\":1,\"worker\":\"w\u202e\"}")
	if _, err := reg.AppendEvent(ctx, r.ID, procreg.AppendRequest{EventType: demo.EventRunStarted, Payload: p}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"ls"}, {"show", r.ID}, {"events", r.ID}} {
		out := mustRun(t, dir, append(args, "--dsn", path)...)
		if strings.ContainsAny(out, "\x1b\u202e") {
			t.Errorf("%s printed a raw control character:\n%q", args[0], out)
		}
		if args[0] != "events" && !strings.Contains(out, `evil\x1b[2J\x1b[Hlabel`) {
			t.Errorf("%s does not show the escaped label:\n%s", args[0], out)
		}
		if args[0] != "ls" && !strings.Contains(out, `\u202e`) {
			t.Errorf("%s does not show the escaped override:\n%s", args[0], out)
		}
	}
	var rec procreg.Record
	decode(t, mustRun(t, dir, "show", r.ID, "--dsn", path, "--json"), &struct {
		Process *procreg.Record `json:"process"`
	}{&rec})
	if rec.Identity.Label != r.Identity.Label {
		t.Errorf("--json label = %q, want the stored %q", rec.Identity.Label, r.Identity.Label)
	}
}
