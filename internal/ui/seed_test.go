package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
)

// Hostile strings: markup, quotes and control characters in ids, labels,
// payloads and event types. A page that renders them must show them as
// text; the browser test also checks that nothing sets window.__pwned.
const (
	evilScriptID = `<script>window.__pwned=1</script>"id'`
	evilCtlID    = "ctl\x1b[31m\u202eid\t\"'&amp;"
	evilLabel    = `<img src=x onerror="window.__pwned=2">label`
	evilPayload  = `{"html":"</script><script>window.__pwned=3</script>","q":"\"'","ctl":"\u0001\u001b[2J\u2028"}`
	evilEvent    = `ev<b onmouseover="window.__pwned=4">"`
)

var evilIDs = []string{evilScriptID, evilCtlID}

func openSQLite(t testing.TB) (procreg.Registry, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ui-test.db")
	reg, err := backends.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg, path
}

func owner(name string) procreg.LeaseOwner {
	return procreg.LeaseOwner{OwnerID: name, IncarnationID: name + "-inc-1", Liveness: procreg.Liveness{Kind: procreg.LivenessOpaque}}
}

func registration(id, label string, payload string) procreg.Registration {
	session := procreg.SessionScope{SessionID: "operator"}
	return procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputEngine, EngineKind: "build", Payload: json.RawMessage(payload)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:ui-test",
		Identity:    procreg.Identity{Kind: "build", Label: label, Definition: json.RawMessage(`{"pipeline":"ui"}`)},
		Provenance:  procreg.Provenance{Originator: procreg.Originator{Kind: procreg.OriginatorHost}},
		WakeTarget:  &session,
		EventTypes: []procreg.EventType{
			{Name: "progress", Wake: &procreg.WakeSpec{
				When:  &procreg.Selector{Kind: procreg.SelectorPresent, Pointer: "/notify"},
				Input: procreg.Selector{Kind: procreg.SelectorTemplate, Template: "at {pct}%", Fields: map[string]procreg.Selector{"pct": {Kind: procreg.SelectorPointer, Pointer: "/pct"}}}}},
			{Name: "log"},
			{Name: evilEvent},
		},
	}
}

// seedVaried registers a varied registry: running (leased, expired lease,
// waiting, with grants and wake events), completed, failed, cancelled,
// abandoned, and the hostile ids. It returns the id of a leased running
// process for the tests to follow.
func seedVaried(t testing.TB, reg procreg.Registry) string {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	reg1 := func(id, label, payload string) {
		t.Helper()
		_, err := reg.RegisterProcess(ctx, registration(id, label, payload))
		must(err)
	}
	for i := 0; i < 24; i++ {
		id := fmt.Sprintf("build-%03d", i)
		reg1(id, fmt.Sprintf("nightly build #%d", i), fmt.Sprintf(`{"commit":"%07x","steps":%d}`, i*7919, 3+i%4))
		_, err := reg.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"line":"checkout ok"}`)})
		must(err)
		switch i % 6 {
		case 0: // completed
			_, err = reg.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`{"artifacts":3}`)})
		case 1: // failed
			_, err = reg.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "test", Code: "E_TESTS", Message: fmt.Sprintf("%d tests failed", i)})
		case 2: // running, leased, with a wake event and a grant
			_, err = reg.ClaimProcessLease(ctx, id, owner(fmt.Sprintf("worker-%d", i%3)), 10*time.Minute)
			must(err)
			_, err = reg.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "progress", Payload: json.RawMessage(`{"pct":40,"notify":true}`)})
			must(err)
			_, err = reg.GrantHandle(ctx, procreg.SessionScope{SessionID: "operator"}, id, procreg.HandleDescriptor{Kind: "build", Label: "nightly"})
		case 3: // running, waiting, lease expired
			_, err = reg.ClaimProcessLease(ctx, id, owner("worker-gone"), time.Millisecond)
			must(err)
			_, err = reg.SetProcessWait(ctx, id, procreg.WaitState{Kind: procreg.WaitSignal, Name: "approval", EventType: "log", Key: "approve-" + id, Ordinal: 1, Since: time.Now()})
		case 4: // cancelled
			_, err = reg.AppendEvent(ctx, id, procreg.CancelRequested(id, "superseded"))
			must(err)
			_, err = reg.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputCancelled, Message: "superseded by a newer build"})
		case 5: // abandoned, or running and free
			if i == 5 {
				_, err = reg.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{Writer: procreg.WriterSweep, At: time.Now()}})
			}
		}
		must(err)
	}
	for _, id := range evilIDs {
		reg1(id, evilLabel, evilPayload)
		_, err := reg.AppendEvent(ctx, id, procreg.AppendRequest{EventType: evilEvent, Payload: json.RawMessage(evilPayload)})
		must(err)
		_, err = reg.ClaimProcessLease(ctx, id, procreg.LeaseOwner{OwnerID: evilLabel, IncarnationID: evilCtlID, Liveness: procreg.Liveness{Kind: procreg.LivenessOpaque}}, time.Hour)
		must(err)
		_, err = reg.GrantHandle(ctx, procreg.SessionScope{SessionID: evilLabel}, id, procreg.HandleDescriptor{Kind: "x", Label: evilScriptID})
		must(err)
	}
	return "build-002"
}
