package core

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

func toolReg(id string, types ...procreg.EventType) procreg.Registration {
	return procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"b":1,"a":2}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:1",
		EventTypes:  types,
	}
}

func TestCanonicalJSON(t *testing.T) {
	got, err := CanonicalJSON([]byte(" { \"b\" : [1, 2.50, \"<x>\"], \"a\": {\"d\":null,\"c\":true} } "))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":{"c":true,"d":null},"b":[1,2.5,"<x>"]}`
	if string(got) != want {
		t.Fatalf("canonical = %s, want %s", got, want)
	}
	if _, err := CanonicalJSON([]byte(`{"a":1} x`)); !errors.Is(err, procreg.ErrInvalid) {
		t.Fatalf("trailing data: err = %v, want ErrInvalid", err)
	}
}

func TestJSONEqualAndAbsent(t *testing.T) {
	cases := []struct {
		a, b string
		eq   bool
	}{
		{`{"a":1,"b":2}`, `{ "b":2, "a":1 }`, true},
		{`{"a":1}`, `{"a":2}`, false},
		{``, `null`, true},
		{` `, ``, true},
		{`null`, `{}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`{`, `{`, false},
	}
	for _, c := range cases {
		if got := JSONEqual([]byte(c.a), []byte(c.b)); got != c.eq {
			t.Errorf("JSONEqual(%q,%q) = %v, want %v", c.a, c.b, got, c.eq)
		}
	}
	for _, raw := range []string{"", "  ", "null", " null "} {
		n, err := NormalizeOptionalJSON([]byte(raw))
		if err != nil || n != nil {
			t.Errorf("NormalizeOptionalJSON(%q) = %q, %v; want nil, nil", raw, n, err)
		}
	}
}

func TestPrepareRegistrationAddsCoreTypesAndHashes(t *testing.T) {
	p, err := PrepareRegistration(toolReg("p1", procreg.EventType{Name: "log"}))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, et := range p.Registration.EventTypes {
		names = append(names, et.Name)
	}
	want := []string{"log", procreg.EventCancelRequested, procreg.EventWaiting, procreg.EventResumed, procreg.EventCompleted, procreg.EventFailed, procreg.EventCancelled, procreg.EventAbandoned}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("event types = %v, want %v", names, want)
	}
	if p.Registration.Identity.Kind != "tool" {
		t.Fatalf("default identity kind = %q", p.Registration.Identity.Kind)
	}
	// Key order and absent-vs-null do not change the hash.
	r2 := toolReg("p1", procreg.EventType{Name: "log", PayloadSchema: json.RawMessage(`null`)})
	r2.Input.Payload = json.RawMessage(`{"a":2, "b":1}`)
	r2.Provenance.CausedBy = json.RawMessage(`null`)
	p2, err := PrepareRegistration(r2)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hash != p2.Hash {
		t.Fatalf("hash differs for equal-by-meaning registrations")
	}
	r3 := toolReg("p1", procreg.EventType{Name: "log2"})
	p3, err := PrepareRegistration(r3)
	if err != nil {
		t.Fatal(err)
	}
	if p3.Hash == p.Hash {
		t.Fatalf("hash equal for different registrations")
	}
}

func TestDefaultIdentity(t *testing.T) {
	ext := procreg.Registration{ID: "e", Input: procreg.ProcessInput{Kind: procreg.InputExternal, Payload: json.RawMessage(`{"name":"N","title":"T"}`)},
		Disposition: procreg.DispositionExternallyOwned}
	p, err := PrepareRegistration(ext)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Registration.Identity; got.Kind != "external" || got.Label != "N" {
		t.Fatalf("external identity = %+v", got)
	}
	eng := procreg.Registration{ID: "g", Input: procreg.ProcessInput{Kind: procreg.InputEngine, EngineKind: "spark"}, Disposition: procreg.DispositionOwnerBound, EnvRef: "e"}
	if p, err = PrepareRegistration(eng); err != nil || p.Registration.Identity.Kind != "spark" {
		t.Fatalf("engine identity = %+v, %v", p, err)
	}
	given := toolReg("x")
	given.Identity = procreg.Identity{Kind: "custom", Label: "L"}
	if p, err = PrepareRegistration(given); err != nil || !reflect.DeepEqual(p.Registration.Identity, procreg.Identity{Kind: "custom", Label: "L"}) {
		t.Fatalf("caller identity not kept: %+v, %v", p, err)
	}
}

func TestPrepareRegistrationRejects(t *testing.T) {
	sel := &procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "/x"}
	cases := map[string]func(r *procreg.Registration){
		"empty id":             func(r *procreg.Registration) { r.ID = "  " },
		"long id":              func(r *procreg.Registration) { r.ID = strings.Repeat("x", 256) },
		"bad utf8 id":          func(r *procreg.Registration) { r.ID = "a\xffb" },
		"no disposition":       func(r *procreg.Registration) { r.Disposition = "" },
		"unknown disposition":  func(r *procreg.Registration) { r.Disposition = "whenever" },
		"unknown input kind":   func(r *procreg.Registration) { r.Input.Kind = "robot" },
		"tool without env":     func(r *procreg.Registration) { r.EnvRef = "" },
		"external with env":    func(r *procreg.Registration) { r.Input.Kind = procreg.InputExternal },
		"engine without kind":  func(r *procreg.Registration) { r.Input.Kind = procreg.InputEngine },
		"tool with enginekind": func(r *procreg.Registration) { r.Input.EngineKind = "x" },
		"empty type name":      func(r *procreg.Registration) { r.EventTypes = []procreg.EventType{{Name: ""}} },
		"duplicate type":       func(r *procreg.Registration) { r.EventTypes = []procreg.EventType{{Name: "a"}, {Name: "a"}} },
		"failed w/o selector": func(r *procreg.Registration) {
			r.EventTypes = []procreg.EventType{{Name: "f", Terminal: &procreg.TerminalSpec{State: procreg.StateFailed}}}
		},
		"bad terminal state": func(r *procreg.Registration) {
			r.EventTypes = []procreg.EventType{{Name: "f", Terminal: &procreg.TerminalSpec{State: "running", AwaitOutput: sel}}}
		},
		"bad pointer": func(r *procreg.Registration) {
			r.EventTypes = []procreg.EventType{{Name: "w", Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "x"}}}}
		},
		"bad pointer escape": func(r *procreg.Registration) {
			r.EventTypes = []procreg.EventType{{Name: "w", Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorPresent, Pointer: "/a~2"}}}}
		},
		"unknown selector kind": func(r *procreg.Registration) {
			r.EventTypes = []procreg.EventType{{Name: "w", Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: "magic"}}}}
		},
		"bad template field": func(r *procreg.Registration) {
			r.EventTypes = []procreg.EventType{{Name: "w", Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorTemplate, Template: "{a}",
				Fields: map[string]procreg.Selector{"a": {Kind: ""}}}}}}
		},
		"unknown dedupe kind": func(r *procreg.Registration) {
			r.EventTypes = []procreg.EventType{{Name: "w", Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorPayload}, DedupeKey: procreg.DedupeKey{Kind: "x"}}}}
		},
		"selector dedupe without selector": func(r *procreg.Registration) {
			r.EventTypes = []procreg.EventType{{Name: "w", Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorPayload}, DedupeKey: procreg.DedupeKey{Kind: procreg.DedupeSelector}}}}
		},
		"invalid schema": func(r *procreg.Registration) {
			r.EventTypes = []procreg.EventType{{Name: "s", PayloadSchema: json.RawMessage(`{"type":5}`)}}
		},
		"malformed schema": func(r *procreg.Registration) {
			r.EventTypes = []procreg.EventType{{Name: "s", PayloadSchema: json.RawMessage(`{`)}}
		},
		"external ref file": func(r *procreg.Registration) {
			r.EventTypes = []procreg.EventType{{Name: "s", PayloadSchema: json.RawMessage(`{"$ref":"file:///etc/passwd"}`)}}
		},
		"empty wake target": func(r *procreg.Registration) { r.WakeTarget = &procreg.SessionScope{} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			r := toolReg("p")
			mutate(&r)
			if _, err := PrepareRegistration(r); !errors.Is(err, procreg.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestSelectors(t *testing.T) {
	payload := json.RawMessage(`{"a":{"b/c":[10,"x"]},"s":"str","n":null,"t~":true}`)
	cases := []struct {
		sel  procreg.Selector
		want string
	}{
		{procreg.Selector{Kind: procreg.SelectorPayload}, `{"a":{"b/c":[10,"x"]},"n":null,"s":"str","t~":true}`},
		{procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "/a/b~1c/1"}, `x`},
		{procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "/a/b~1c/0"}, `10`},
		{procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "/t~0"}, `true`},
		{procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "/n"}, `null`},
		{procreg.Selector{Kind: procreg.SelectorConst, Const: json.RawMessage(`{"k": 1}`)}, `{"k":1}`},
		{procreg.Selector{Kind: procreg.SelectorPresent, Pointer: "/s"}, `true`},
		{procreg.Selector{Kind: procreg.SelectorPresent, Pointer: "/zz"}, `false`},
		{procreg.Selector{Kind: procreg.SelectorTemplate, Template: "{s}-{num}-{missing}", Fields: map[string]procreg.Selector{
			"s": {Kind: procreg.SelectorPointer, Pointer: "/s"}, "num": {Kind: procreg.SelectorPointer, Pointer: "/a/b~1c/0"}}}, `str-10-{missing}`},
	}
	for _, c := range cases {
		got, err := SelectString(c.sel, payload)
		if err != nil || got != c.want {
			t.Errorf("SelectString(%+v) = %q, %v; want %q", c.sel, got, err, c.want)
		}
	}
	for _, p := range []string{"/zz", "/a/b~1c/2", "/a/b~1c/01", "/a/b~1c/-", "/s/x"} {
		if _, err := SelectString(procreg.Selector{Kind: procreg.SelectorPointer, Pointer: p}, payload); !errors.Is(err, procreg.ErrInvalid) {
			t.Errorf("missing pointer %q: err = %v, want ErrInvalid", p, err)
		}
	}
}

func TestTruthy(t *testing.T) {
	cases := map[string]bool{`null`: false, `false`: false, `""`: false, `[]`: false, `{}`: false,
		`true`: true, `0`: true, `-1.5`: true, `"x"`: true, `[0]`: true, `{"a":null}`: true}
	for raw, want := range cases {
		if got := Truthy(json.RawMessage(raw)); got != want {
			t.Errorf("Truthy(%s) = %v, want %v", raw, got, want)
		}
	}
}

func prepared(t testing.TB, types ...procreg.EventType) *Prepared {
	t.Helper()
	p, err := PrepareRegistration(toolReg("p", types...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var now = time.Date(2026, 1, 2, 3, 4, 5, 6000000, time.UTC)

func plan(t testing.TB, p *Prepared, state string, req procreg.AppendRequest) (AppendPlan, error) {
	t.Helper()
	return PlanAppend(AppendInput{ProcessID: "p", Prepared: p, State: state, LastSequence: 4, Now: now}, req)
}

func TestTerminalMaterialization(t *testing.T) {
	sel := &procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "/v"}
	p := prepared(t,
		procreg.EventType{Name: "done", Terminal: &procreg.TerminalSpec{State: procreg.StateCompleted}},
		procreg.EventType{Name: "done_sel", Terminal: &procreg.TerminalSpec{State: procreg.StateCompleted, AwaitOutput: sel}},
		procreg.EventType{Name: "fail", Terminal: &procreg.TerminalSpec{State: procreg.StateFailed, AwaitOutput: sel}},
		procreg.EventType{Name: "cancel", Terminal: &procreg.TerminalSpec{State: procreg.StateCancelled, AwaitOutput: sel}},
		procreg.EventType{Name: "abandon", Terminal: &procreg.TerminalSpec{State: procreg.StateAbandoned, AwaitOutput: sel}},
	)
	cases := []struct {
		typ, payload string
		want         procreg.AwaitOutput
	}{
		{"done", `{"x":1}`, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`{"x":1}`)}},
		{"done_sel", `{"v":[1]}`, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`[1]`)}},
		{"done_sel", `{"v":{"kind":"success","value":7,"control":null}}`, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`7`)}},
		{"fail", `{"v":"boom"}`, procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "execution", Code: "process_failed", Message: "boom", Raw: json.RawMessage(`"boom"`)}},
		{"fail", `{"v":{"e":1}}`, procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "execution", Code: "process_failed", Message: `{"e":1}`, Raw: json.RawMessage(`{"e":1}`)}},
		{"fail", `{"v":{"kind":"failure","class":"c","code":"k","message":"m"}}`, procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "c", Code: "k", Message: "m"}},
		{"cancel", `{"v":"stop"}`, procreg.AwaitOutput{Kind: procreg.OutputCancelled, Message: "stop", Raw: json.RawMessage(`"stop"`)}},
		{"abandon", `{"v":1}`, procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{Writer: procreg.WriterOwnerDrain, At: now}}},
	}
	for _, c := range cases {
		pl, err := plan(t, p, procreg.StateRunning, procreg.AppendRequest{EventType: c.typ, Payload: json.RawMessage(c.payload), ReplayKey: "k"})
		if err != nil {
			t.Fatalf("%s %s: %v", c.typ, c.payload, err)
		}
		if pl.Event.Terminal == nil || !reflect.DeepEqual(pl.Event.Terminal.AwaitOutput, c.want) {
			t.Errorf("%s %s: terminal = %+v, want %+v", c.typ, c.payload, pl.Event.Terminal, c.want)
		}
		if pl.Status == nil || pl.Status.State == procreg.StateRunning || pl.Event.Sequence != 5 {
			t.Errorf("%s: status %+v seq %d", c.typ, pl.Status, pl.Event.Sequence)
		}
	}
}

func TestPlanAppendChecksInOrder(t *testing.T) {
	p := prepared(t,
		procreg.EventType{Name: "typed", PayloadSchema: json.RawMessage(`{"type":"object","required":["n"]}`)},
		procreg.EventType{Name: "log"},
	)
	stored := procreg.Event{ProcessID: "p", Sequence: 2, EventType: "log", Payload: json.RawMessage(`{"a":1,"b":2}`), ReplayKey: "r"}
	in := AppendInput{ProcessID: "p", Prepared: p, State: procreg.StateRunning, LastSequence: 3, Now: now, Replayed: &stored}

	pl, err := PlanAppend(in, procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"b":2,"a":1}`), ReplayKey: "r"})
	if err != nil || pl.Insert || pl.Event.Sequence != 2 {
		t.Fatalf("replay: %+v, %v", pl, err)
	}
	if _, err := PlanAppend(in, procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{}`), ReplayKey: "r"}); !errors.Is(err, procreg.ErrReplayConflict) {
		t.Fatalf("replay conflict: %v", err)
	}
	// The replay check comes before the declared-type check.
	if _, err := PlanAppend(in, procreg.AppendRequest{EventType: "nope", ReplayKey: "r"}); !errors.Is(err, procreg.ErrReplayConflict) {
		t.Fatalf("replay before declaration: %v", err)
	}
	checks := []struct {
		req  procreg.AppendRequest
		want error
	}{
		{procreg.AppendRequest{EventType: "nope"}, procreg.ErrInvalid},
		{procreg.AppendRequest{EventType: procreg.EventCancelRequested, Payload: json.RawMessage(`{}`)}, procreg.ErrInvalid},
		{procreg.AppendRequest{EventType: procreg.EventCompleted, Payload: json.RawMessage(`{"await_output":{"kind":"success"}}`)}, procreg.ErrInvalid},
		{procreg.AppendRequest{EventType: "typed", Payload: json.RawMessage(`{"m":1}`)}, procreg.ErrInvalid},
		{procreg.AppendRequest{EventType: "typed", Payload: json.RawMessage(`{`)}, procreg.ErrInvalid},
		{procreg.AppendRequest{EventType: procreg.EventFailed, Payload: json.RawMessage(`{}`), ReplayKey: "x"}, procreg.ErrInvalid},
	}
	for _, c := range checks {
		if _, err := plan(t, p, procreg.StateRunning, c.req); !errors.Is(err, c.want) {
			t.Errorf("%+v: err = %v, want %v", c.req, err, c.want)
		}
	}
	if pl, err := plan(t, p, procreg.StateRunning, procreg.AppendRequest{EventType: "typed", Payload: json.RawMessage(`{"n":1}`)}); err != nil || !pl.Insert {
		t.Fatalf("valid typed append: %+v, %v", pl, err)
	}
	term := procreg.AppendRequest{EventType: procreg.EventCompleted, Payload: json.RawMessage(`{"await_output":{"kind":"success"}}`), ReplayKey: "t"}
	if _, err := plan(t, p, procreg.StateFailed, term); !errors.Is(err, procreg.ErrTerminal) {
		t.Fatalf("terminal on terminal: %v", err)
	}
	if pl, err := plan(t, p, procreg.StateFailed, procreg.AppendRequest{EventType: "log"}); err != nil || pl.Status != nil {
		t.Fatalf("late non-terminal event: %+v, %v", pl, err)
	}
}

func TestReplayRepairsStatus(t *testing.T) {
	p := prepared(t)
	out := procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`1`)}
	req, err := CompletionRequest("p", out)
	if err != nil {
		t.Fatal(err)
	}
	stored := procreg.Event{ProcessID: "p", Sequence: 1, EventType: req.EventType, Payload: req.Payload, ReplayKey: req.ReplayKey,
		Terminal: &procreg.TerminalSemantics{State: procreg.StateCompleted, AwaitOutput: out}}
	pl, err := PlanAppend(AppendInput{ProcessID: "p", Prepared: p, State: procreg.StateRunning, LastSequence: 1, Now: now, Replayed: &stored}, req)
	if err != nil || pl.Insert || pl.Status == nil || pl.Status.State != procreg.StateCompleted {
		t.Fatalf("repair: %+v, %v", pl, err)
	}
	if req.ReplayKey != "process:p:terminal:process.completed" {
		t.Fatalf("replay key %q", req.ReplayKey)
	}
	if _, err := CompletionRequest("p", procreg.AwaitOutput{Kind: "meh"}); !errors.Is(err, procreg.ErrInvalid) {
		t.Fatalf("unknown output kind: %v", err)
	}
}

func TestWakeMaterialization(t *testing.T) {
	reg := toolReg("p",
		procreg.EventType{Name: "ping", Wake: &procreg.WakeSpec{When: &procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "/go"},
			Input: procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "/msg"}}},
		procreg.EventType{Name: "sel", Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorConst, Const: json.RawMessage(`{"x":1}`)},
			DedupeKey: procreg.DedupeKey{Kind: procreg.DedupeSelector, Selector: &procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "/k"}}}},
		procreg.EventType{Name: "const", Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorPayload}, DedupeKey: procreg.DedupeKey{Kind: procreg.DedupeConst, Const: "once"}}},
	)
	reg.Provenance.CausedBy = json.RawMessage(`{"by": 1}`)
	p, err := PrepareRegistration(reg)
	if err != nil {
		t.Fatal(err)
	}
	target := &procreg.SessionScope{SessionID: "s", AgentFrameID: "f"}
	in := AppendInput{ProcessID: "p", Prepared: p, State: procreg.StateRunning, LastSequence: 6, Now: now,
		WakeTarget: &procreg.SessionScope{SessionID: "rec"}}

	pl, err := PlanAppend(in, procreg.AppendRequest{EventType: "ping", Payload: json.RawMessage(`{"go":0,"msg":"hi"}`), WakeTarget: target})
	if err != nil {
		t.Fatal(err)
	}
	want := &procreg.WakeDelivery{WakeID: WakeID("session:s/frame:f", "p:7"), TargetSessionID: "s", TargetScopeID: "session:s/frame:f",
		ProcessID: "p", Sequence: 7, EventType: "ping", ProcessCausedBy: json.RawMessage(`{"by":1}`), DedupeKey: "p:7", Input: "hi", CreatedAt: now}
	if !reflect.DeepEqual(pl.WakeDelivery, want) {
		t.Fatalf("delivery = %+v\nwant %+v", pl.WakeDelivery, want)
	}
	if pl, err = PlanAppend(in, procreg.AppendRequest{EventType: "ping", Payload: json.RawMessage(`{"go":"","msg":"hi"}`)}); err != nil || pl.Event.Wake != nil || pl.WakeDelivery != nil {
		t.Fatalf("when false: %+v, %v", pl, err)
	}
	if pl, err = PlanAppend(in, procreg.AppendRequest{EventType: "sel", Payload: json.RawMessage(`{"k":[1]}`)}); err != nil ||
		pl.Event.Wake == nil || *pl.Event.Wake != (procreg.Wake{Input: `{"x":1}`, DedupeKey: "[1]"}) || pl.WakeDelivery.TargetScopeID != "session:rec" {
		t.Fatalf("selector dedupe: %+v, %v", pl, err)
	}
	in.WakeTarget = nil
	if pl, err = PlanAppend(in, procreg.AppendRequest{EventType: "const", Payload: json.RawMessage(`"x"`)}); err != nil ||
		pl.Event.Wake == nil || pl.Event.Wake.DedupeKey != "once" || pl.WakeDelivery != nil {
		t.Fatalf("no target: %+v, %v", pl, err)
	}
	if !strings.HasPrefix(WakeID("a", "b"), "wake:") || WakeID("a", "b") == WakeID("b", "a") || len(WakeID("a", "b")) != 69 {
		t.Fatalf("wake id %q", WakeID("a", "b"))
	}
}

func TestLeaseDecisions(t *testing.T) {
	a := procreg.LeaseOwner{OwnerID: "a", IncarnationID: "1"}
	b := procreg.LeaseOwner{OwnerID: "b", IncarnationID: "1"}
	d, err := DecideClaim("p", LeaseState{FencingToken: 3}, a, time.Minute, now)
	if err != nil || !d.Claim.Acquired || d.Claim.Lease.FencingToken != 4 || d.Claim.Lease.Token == "" ||
		!d.Claim.Lease.ExpiresAt.Equal(now.Add(time.Minute).Truncate(time.Millisecond)) {
		t.Fatalf("first claim: %+v, %v", d, err)
	}
	st := d.Next
	busy, _ := DecideClaim("p", st, b, time.Minute, now)
	if busy.Claim.Acquired || busy.Write || busy.Claim.Lease.Owner != a {
		t.Fatalf("busy: %+v", busy)
	}
	again, _ := DecideClaim("p", st, a, time.Hour, now.Add(time.Second))
	if !again.Claim.Acquired || again.Claim.Lease.Token != st.Current.Token || again.Claim.Lease.FencingToken != 4 {
		t.Fatalf("re-entry: %+v", again)
	}
	zero, _ := DecideClaim("p", LeaseState{}, a, 0, now)
	if zero.Claim.Lease.IsLive(now) {
		t.Fatalf("ttl 0 lease is live")
	}
	huge, err := DecideClaim("p", LeaseState{}, a, time.Duration(1<<63-1), now)
	if err != nil || !huge.Claim.Lease.ExpiresAt.After(now) {
		t.Fatalf("huge ttl: %+v, %v", huge, err)
	}
	if _, err := DecideClaim("p", LeaseState{}, a, -time.Second, now); !errors.Is(err, procreg.ErrInvalid) {
		t.Fatalf("negative ttl: %v", err)
	}
	later := now.Add(2 * time.Minute)
	if _, err := DecideRenew(st, *st.Current, time.Minute, later); !errors.Is(err, procreg.ErrLeaseLost) {
		t.Fatalf("renew expired: %v", err)
	}
	stale := *st.Current
	stale.Token = "old"
	if _, err := DecideRenew(st, stale, time.Minute, now); !errors.Is(err, procreg.ErrLeaseLost) {
		t.Fatalf("renew superseded: %v", err)
	}
	rn, err := DecideRenew(st, *st.Current, time.Hour, now)
	if err != nil || !rn.Claim.Lease.ExpiresAt.Equal(now.Add(time.Hour).Truncate(time.Millisecond)) {
		t.Fatalf("renew: %+v, %v", rn, err)
	}
	if DecideRelease(st, "wrong").Write {
		t.Fatalf("stale release wrote")
	}
	rel := DecideRelease(st, st.Current.Token)
	if !rel.Write || rel.Next.Current != nil || rel.Next.FencingToken != 4 {
		t.Fatalf("release: %+v", rel)
	}
	// Reclaim: opaque holders are never dead; an expired lease is free.
	rc, _ := DecideReclaim("p", st, b, *st.Current, time.Minute, now)
	if rc.Claim.Acquired {
		t.Fatalf("reclaimed an opaque holder")
	}
	rc, _ = DecideReclaim("p", st, b, *st.Current, time.Minute, later)
	if !rc.Claim.Acquired || rc.Claim.Lease.FencingToken != 5 {
		t.Fatalf("reclaim of expired lease: %+v", rc)
	}
}

func TestLivenessAndReclaimOfDeadHolder(t *testing.T) {
	me, err := procreg.CurrentProcessLiveness()
	if err != nil {
		t.Skipf("no /proc here: %v", err) // liveness is Linux-only
	}
	if me.Kind != procreg.LivenessLocalProcess || me.PID != os.Getpid() || me.ProcessStart == "" || me.HostID == "" || me.BootID == "" {
		t.Fatalf("liveness = %+v", me)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := me
	dead.PID = cmd.Process.Pid
	holder := procreg.LeaseOwner{OwnerID: "h", IncarnationID: "1", Liveness: dead}
	claimant := procreg.LeaseOwner{OwnerID: "c", IncarnationID: "1", Liveness: me}
	if !holder.IsDefinitelyDeadFor(claimant) {
		t.Fatalf("exited pid %d is not dead", dead.PID)
	}
	alive := procreg.LeaseOwner{OwnerID: "h", IncarnationID: "1", Liveness: me}
	if alive.IsDefinitelyDeadFor(claimant) {
		t.Fatalf("this process is dead")
	}
	restarted := me
	restarted.ProcessStart = "1"
	if !(procreg.LeaseOwner{Liveness: restarted}).IsDefinitelyDeadFor(claimant) {
		t.Fatalf("pid reused with another start time is not dead")
	}
	otherHost := dead
	otherHost.HostID = "elsewhere"
	if (procreg.LeaseOwner{Liveness: otherHost}).IsDefinitelyDeadFor(procreg.LeaseOwner{Liveness: procreg.Liveness{Kind: procreg.LivenessLocalProcess, HostID: "elsewhere", BootID: me.BootID}}) {
		t.Fatalf("another host's holder is dead")
	}
	if (procreg.LeaseOwner{Liveness: procreg.Liveness{PID: dead.PID}}).IsDefinitelyDeadFor(claimant) {
		t.Fatalf("opaque holder is dead")
	}

	l := procreg.Lease{ProcessID: "p", Owner: holder, Token: "t", FencingToken: 2, ExpiresAt: now.Add(time.Hour)}
	st := LeaseState{Current: &l, FencingToken: 2}
	rc, _ := DecideReclaim("p", st, claimant, l, time.Minute, now)
	if !rc.Claim.Acquired || rc.Claim.Lease.FencingToken != 3 || rc.Claim.Lease.Owner != claimant {
		t.Fatalf("reclaim of dead holder: %+v", rc)
	}
	stale := l
	stale.FencingToken = 1
	if rc, _ = DecideReclaim("p", st, claimant, stale, time.Minute, now); rc.Claim.Acquired {
		t.Fatalf("reclaim with stale observation acquired")
	}
}

func TestListCriteria(t *testing.T) {
	if _, err := Criteria(procreg.ListFilter{Status: "zombie"}); !errors.Is(err, procreg.ErrInvalid) {
		t.Fatalf("unknown status: %v", err)
	}
	yes := true
	c, err := Criteria(procreg.ListFilter{Definition: json.RawMessage(`{"b":1,"a":2}`), Waiting: &yes})
	if err != nil || c.State != procreg.StateRunning {
		t.Fatal(c, err)
	}
	rec := procreg.Record{Status: procreg.Status{State: procreg.StateRunning}, Identity: procreg.Identity{Definition: json.RawMessage(`{"a":2,"b":1}`)}, Wait: &procreg.WaitState{}}
	if !c.MatchesRecord(rec) {
		t.Fatalf("record should match")
	}
	rec.Wait = nil
	if c.MatchesRecord(rec) {
		t.Fatalf("non-waiting record matched")
	}
	any, _ := Criteria(procreg.ListFilter{Status: procreg.StatusAny})
	if !any.MatchesRecord(procreg.Record{Status: procreg.Status{State: procreg.StateFailed}}) {
		t.Fatalf("any did not match failed")
	}
}

func BenchmarkPrepareRegistration(b *testing.B) {
	reg := toolReg("bench",
		procreg.EventType{Name: "typed", PayloadSchema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`)},
		procreg.EventType{Name: "ping", Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "/msg"}}},
	)
	for b.Loop() {
		if _, err := PrepareRegistration(reg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlanAppendWithSchema(b *testing.B) {
	p := prepared(b, procreg.EventType{Name: "typed", PayloadSchema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`),
		Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "/n"}}})
	in := AppendInput{ProcessID: "p", Prepared: p, State: procreg.StateRunning, LastSequence: 10, Now: now, WakeTarget: &procreg.SessionScope{SessionID: "s"}}
	req := procreg.AppendRequest{EventType: "typed", Payload: json.RawMessage(`{"n": 42, "extra": "text"}`)}
	for b.Loop() {
		if _, err := PlanAppend(in, req); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	c := newLRU[string, int](2)
	c.put("a", 1)
	c.put("b", 2)
	if v, ok := c.get("a"); !ok || v != 1 {
		t.Fatalf("a = %d, %v", v, ok)
	}
	c.put("c", 3) // evicts b, the least recently used
	if _, ok := c.get("b"); ok {
		t.Fatalf("b survived eviction")
	}
	for k, want := range map[string]int{"a": 1, "c": 3} {
		if v, ok := c.get(k); !ok || v != want {
			t.Fatalf("%s = %d, %v", k, v, ok)
		}
	}
}
