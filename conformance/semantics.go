package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/procreg/procreg"
)

func selectorRules() []rule {
	return []rule{
		{"Kinds", testSelectorKinds},
		{"MissingPointerIsInvalid", testSelectorMissingPointer},
		{"Truthiness", testTruthiness},
	}
}

// wakeInput registers a process whose only wake type uses sel as input,
// appends payload and returns the materialized wake input.
func wakeInput(t *testing.T, r procreg.Registry, id string, sel procreg.Selector, payload string) string {
	t.Helper()
	reg := toolReg(id, wakeType("w", procreg.WakeSpec{Input: sel}))
	reg.WakeTarget = &scopeS1
	mustRegister(t, r, reg)
	res := mustAppend(t, r, id, appendReq("w", payload))
	if res.Event.Wake == nil {
		t.Fatalf("event of wake type has no wake semantics; want a wake")
	}
	if res.WakeDelivery == nil || res.WakeDelivery.Input != res.Event.Wake.Input {
		t.Errorf("WakeDelivery = %+v; want a delivery with input %q", res.WakeDelivery, res.Event.Wake.Input)
	}
	return res.Event.Wake.Input
}

func testSelectorKinds(t *testing.T, r procreg.Registry) {
	const payload = `{"s":"text","n":42,"f":1.5,"b":false,"z":null,"o":{"k":"v"},"arr":[10,"eleven"],"a/b":"slash","m~n":"tilde","":"empty key"}`
	tmpl := procreg.Selector{Kind: procreg.SelectorTemplate, Template: "job {id} is {state}; {id}!",
		Fields: map[string]procreg.Selector{"id": pointerSel("/n"), "state": constSel(`"done"`)}}
	cases := []struct {
		name   string
		sel    procreg.Selector
		want   string
		asJSON bool // compare want by meaning (compact JSON text)
	}{
		{"PayloadWhole", procreg.Selector{Kind: procreg.SelectorPayload}, payload, true},
		{"PointerString", pointerSel("/s"), "text", false},
		{"PointerNumber", pointerSel("/n"), "42", false},
		{"PointerFloat", pointerSel("/f"), "1.5", false},
		{"PointerFalse", pointerSel("/b"), "false", false},
		{"PointerNull", pointerSel("/z"), "null", false},
		{"PointerObject", pointerSel("/o"), `{"k":"v"}`, false},
		{"PointerArrayIndex", pointerSel("/arr/1"), "eleven", false},
		{"PointerEscapedSlash", pointerSel("/a~1b"), "slash", false},
		{"PointerEscapedTilde", pointerSel("/m~0n"), "tilde", false},
		{"PointerEmptyKey", pointerSel("/"), "empty key", false},
		{"PointerRoot", pointerSel(""), payload, true},
		{"ConstString", constSel(`"hello"`), "hello", false},
		{"ConstNumber", constSel(`7`), "7", false},
		{"ConstObject", constSel(`{"x":[1]}`), `{"x":[1]}`, false},
		{"Template", tmpl, "job 42 is done; 42!", false},
		{"PresentTrue", procreg.Selector{Kind: procreg.SelectorPresent, Pointer: "/z"}, "true", false},
		{"PresentFalse", procreg.Selector{Kind: procreg.SelectorPresent, Pointer: "/missing"}, "false", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := wakeInput(t, r, "sel-"+c.name, c.sel, payload)
			if c.asJSON {
				if !json.Valid([]byte(got)) || !sameMeaning(t, raw(got), raw(c.want)) {
					t.Errorf("%s selects %q; want the JSON text of %s", c.name, got, c.want)
				}
				if compact := compactJSON(got); compact != got {
					t.Errorf("%s selects %q; want compact JSON text", c.name, got)
				}
				return
			}
			if got != c.want {
				t.Errorf("%s selects %q; want %q", c.name, got, c.want)
			}
		})
	}
}

// compactJSON removes insignificant whitespace from JSON text.
func compactJSON(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

func testSelectorMissingPointer(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1",
		wakeType("w", procreg.WakeSpec{Input: pointerSel("/missing")}),
		wakeType("tw", procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorTemplate, Template: "{x}",
			Fields: map[string]procreg.Selector{"x": pointerSel("/gone")}}}),
		terminalType("done", procreg.StateCompleted, ptrSel("/result")),
	)
	mustRegister(t, r, reg)
	_, err := r.AppendEvent(t.Context(), "p1", appendReq("w", `{"other":1}`))
	wantErr(t, err, procreg.ErrInvalid, "p1", "wake input pointer that is missing")
	_, err = r.AppendEvent(t.Context(), "p1", appendReq("tw", `{"other":1}`))
	wantErr(t, err, procreg.ErrInvalid, "p1", "template field pointer that is missing")
	_, err = r.AppendEvent(t.Context(), "p1", procreg.AppendRequest{EventType: "done", Payload: raw(`{"other":1}`), ReplayKey: "k"})
	wantErr(t, err, procreg.ErrInvalid, "p1", "terminal selector pointer that is missing")
	wantSeqs(t, "events after rejected appends", mustEvents(t, r, "p1", 0))
	wantEqual(t, "status", mustGet(t, r, "p1").Status.State, procreg.StateRunning)
}

func testTruthiness(t *testing.T, r procreg.Registry) {
	cases := []struct {
		value  string
		truthy bool
	}{
		{`null`, false}, {`false`, false}, {`""`, false}, {`[]`, false}, {`{}`, false},
		{`true`, true}, {`0`, true}, {`-1.5`, true}, {`"0"`, true}, {`"false"`, true}, {`" "`, true},
		{`[0]`, true}, {`[null]`, true}, {`{"a":null}`, true},
	}
	reg := toolReg("p1", wakeType("w", procreg.WakeSpec{When: ptrSel("/v"), Input: constSel(`"in"`)}),
		wakeType("present", procreg.WakeSpec{When: &procreg.Selector{Kind: procreg.SelectorPresent, Pointer: "/v"}, Input: constSel(`"in"`)}))
	reg.WakeTarget = &scopeS1
	mustRegister(t, r, reg)
	var wantWake []uint64
	for _, c := range cases {
		res := mustAppend(t, r, "p1", appendReq("w", `{"v":`+c.value+`}`))
		if c.truthy {
			wantWake = append(wantWake, res.Event.Sequence)
		}
		if got := res.Event.Wake != nil; got != c.truthy {
			t.Errorf("when=%s: event wake = %v; want %v", c.value, got, c.truthy)
		}
		if got := res.WakeDelivery != nil; got != c.truthy {
			t.Errorf("when=%s: delivery = %v; want %v", c.value, got, c.truthy)
		}
	}
	res := mustAppend(t, r, "p1", appendReq("present", `{"other":1}`))
	if res.Event.Wake != nil || res.WakeDelivery != nil {
		t.Errorf("when present(/v) on a payload without v woke %+v; want no wake", res.Event.Wake)
	}
	res = mustAppend(t, r, "p1", appendReq("present", `{"v":false}`))
	if res.Event.Wake == nil || res.WakeDelivery == nil {
		t.Error("when present(/v) on a payload with v=false did not wake; want a wake")
	} else {
		wantWake = append(wantWake, res.Event.Sequence)
	}
	_, err := r.AppendEvent(t.Context(), "p1", appendReq("w", `{"other":1}`))
	wantErr(t, err, procreg.ErrInvalid, "p1", "when pointer that is missing")
	wantSeqs(t, "WakeEventsAfter lists exactly the truthy events", mustWakeEvents(t, r, "p1", 0), wantWake...)
}

func terminalRules() []rule {
	return []rule{
		{"MaterializedByState", testTerminalMaterialized},
		{"ClearsWait", testTerminalClearsWait},
	}
}

func testTerminalMaterialized(t *testing.T, r procreg.Registry) {
	types := []procreg.EventType{
		terminalType("done", procreg.StateCompleted, ptrSel("/result")),
		terminalType("done-whole", procreg.StateCompleted, nil),
		terminalType("oops", procreg.StateFailed, ptrSel("/error")),
		terminalType("stop", procreg.StateCancelled, ptrSel("/why")),
		terminalType("gone", procreg.StateAbandoned, &procreg.Selector{Kind: procreg.SelectorPayload}),
	}
	cases := []struct {
		name, typ, payload string
		state              procreg.TerminalState
		want               procreg.AwaitOutput // Evidence.At is not compared for raw abandoned values
	}{
		{"CompletedRawValue", "done", `{"result":{"answer":42}}`, procreg.StateCompleted,
			procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: raw(`{"answer":42}`)}},
		{"CompletedRawString", "done", `{"result":"ok"}`, procreg.StateCompleted,
			procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: raw(`"ok"`)}},
		{"CompletedStructured", "done", `{"result":{"kind":"success","value":5,"control":{"c":1}}}`, procreg.StateCompleted,
			procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: raw(`5`), Control: raw(`{"c":1}`)}},
		{"CompletedWithoutSelector", "done-whole", `{"rows":3,"ok":true}`, procreg.StateCompleted,
			procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: raw(`{"rows":3,"ok":true}`)}},
		{"FailedRawString", "oops", `{"error":"boom"}`, procreg.StateFailed,
			procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "execution", Code: "process_failed", Message: "boom", Raw: raw(`"boom"`)}},
		{"FailedRawObject", "oops", `{"error":{"code":7}}`, procreg.StateFailed,
			procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "execution", Code: "process_failed", Message: `{"code":7}`, Raw: raw(`{"code":7}`)}},
		{"FailedStructured", "oops", `{"error":{"kind":"failure","class":"tool","code":"E42","message":"bad input","raw":[1]}}`, procreg.StateFailed,
			procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "tool", Code: "E42", Message: "bad input", Raw: raw(`[1]`)}},
		{"CancelledRaw", "stop", `{"why":"user pressed stop"}`, procreg.StateCancelled,
			procreg.AwaitOutput{Kind: procreg.OutputCancelled, Message: "user pressed stop", Raw: raw(`"user pressed stop"`)}},
		{"CancelledStructured", "stop", `{"why":{"kind":"cancelled","message":"deadline"}}`, procreg.StateCancelled,
			procreg.AwaitOutput{Kind: procreg.OutputCancelled, Message: "deadline"}},
		{"AbandonedRaw", "gone", `{"note":"host drained"}`, procreg.StateAbandoned,
			procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{Writer: procreg.WriterOwnerDrain}}},
		{"AbandonedStructured", "gone", `{"kind":"abandoned","evidence":{"writer":"sweep","at":"2026-01-02T03:04:05.678Z"}}`, procreg.StateAbandoned,
			procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{Writer: procreg.WriterSweep, At: mustTime("2026-01-02T03:04:05.678Z")}}},
		{"CoreCompletedType", "process.completed", `{"await_output":{"kind":"success","value":[1,2]}}`, procreg.StateCompleted,
			procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: raw(`[1,2]`)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := "term-" + c.name
			mustRegister(t, r, toolReg(id, types...))
			res := mustAppend(t, r, id, procreg.AppendRequest{EventType: c.typ, Payload: raw(c.payload), ReplayKey: "fin"})
			ev := res.Event
			wantEqual(t, "sequence", ev.Sequence, uint64(1))
			if ev.Terminal == nil {
				t.Fatalf("event %s has no terminal semantics; want state %s", c.typ, c.state)
			}
			wantEqual(t, "Terminal.State", ev.Terminal.State, c.state)
			got := ev.Terminal.AwaitOutput
			if c.name == "AbandonedRaw" && got.Evidence != nil {
				ev := *got.Evidence
				ev.At = c.want.Evidence.At // the time of a raw abandon is the registry's choice
				got.Evidence = &ev
			}
			wantSame(t, "materialized await output", got, c.want)
			rec := mustGet(t, r, id)
			wantEqual(t, "Status.State", rec.Status.State, string(c.state))
			wantSame(t, "Status.AwaitOutput equals the event's", rec.Status.AwaitOutput, &ev.Terminal.AwaitOutput)
			if !rec.UpdatedAt.Equal(ev.OccurredAt) {
				t.Errorf("UpdatedAt = %v; want the terminal event time %v", rec.UpdatedAt, ev.OccurredAt)
			}
			if !rec.IsTerminal() {
				t.Error("IsTerminal() = false; want true after a terminal event")
			}
			wantSame(t, "stored terminal event", mustEvents(t, r, id, 0), []procreg.Event{ev})
		})
	}
}

func testTerminalClearsWait(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	_, err := r.SetProcessWait(t.Context(), "p1", exampleWait())
	wantOK(t, err, "SetProcessWait")
	mustAppend(t, r, "p1", procreg.AppendRequest{EventType: "oops", Payload: raw(`{"error":"x"}`), ReplayKey: "k"})
	rec := mustGet(t, r, "p1")
	if rec.Wait != nil {
		t.Errorf("Wait = %+v; want cleared by the terminal event", rec.Wait)
	}
	wantEqual(t, "Status.State", rec.Status.State, procreg.StateFailed)
}

func wakeRules() []rule {
	return []rule{
		{"WhenUnsetAlwaysWakes", testWakeNoWhen},
		{"DedupeKinds", testWakeDedupeKinds},
		{"TargetFromRequest", testWakeTargetRequest},
		{"TargetFromRecord", testWakeTargetRecord},
		{"NoTargetStillStored", testWakeNoTarget},
		{"DeliveryFields", testWakeDelivery},
		{"ReplaySameWakeID", testWakeReplay},
		{"ReplayAfterTargetCleared", testWakeReplayTargetCleared},
		{"ReplayKeepsOriginalTarget", testWakeReplayOtherTarget},
		{"SameDedupeKeyBothStored", testWakeSameDedupe},
	}
}

// wakeID computes "wake:" + SHA-256 hex of the canonical JSON [scope id, dedupe key].
func wakeID(t *testing.T, scopeID, dedupe string) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode([]string{scopeID, dedupe}); err != nil {
		t.Fatalf("encoding wake id input: %v", err)
	}
	sum := sha256.Sum256(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return "wake:" + hex.EncodeToString(sum[:])
}

func testWakeNoWhen(t *testing.T, r procreg.Registry) {
	for i, payload := range []string{`{}`, `{"v":false}`, `[]`} {
		res := mustAppend(t, r, mustWakeProcess(t, r, "p"+itoa(i)), appendReq("ping", payload))
		if res.Event.Wake == nil || res.WakeDelivery == nil {
			t.Errorf("wake type without when, payload %s: wake %+v delivery %+v; want both", payload, res.Event.Wake, res.WakeDelivery)
		}
	}
}

// mustWakeProcess registers id with a "ping" wake type (input /msg or
// constant) targeting session s1, and returns id.
func mustWakeProcess(t *testing.T, r procreg.Registry, id string) string {
	t.Helper()
	reg := toolReg(id, wakeType("ping", procreg.WakeSpec{Input: constSel(`"wake up"`)}))
	reg.WakeTarget = &scopeS1
	mustRegister(t, r, reg)
	return id
}

func testWakeDedupeKinds(t *testing.T, r procreg.Registry) {
	types := []procreg.EventType{
		wakeType("default", procreg.WakeSpec{Input: constSel(`"i"`)}),
		wakeType("identity", procreg.WakeSpec{Input: constSel(`"i"`), DedupeKey: procreg.DedupeKey{Kind: procreg.DedupeEventIdentity}}),
		wakeType("selector", procreg.WakeSpec{Input: constSel(`"i"`), DedupeKey: procreg.DedupeKey{Kind: procreg.DedupeSelector, Selector: ptrSel("/key")}}),
		wakeType("selector-num", procreg.WakeSpec{Input: constSel(`"i"`), DedupeKey: procreg.DedupeKey{Kind: procreg.DedupeSelector, Selector: ptrSel("/n")}}),
		wakeType("const", procreg.WakeSpec{Input: constSel(`"i"`), DedupeKey: procreg.DedupeKey{Kind: procreg.DedupeConst, Const: "the-one"}}),
	}
	reg := toolReg("p:1", types...)
	reg.WakeTarget = &scopeS1
	mustRegister(t, r, reg)
	want := []struct{ typ, key string }{
		{"default", "p:1:1"}, {"identity", "p:1:2"}, {"selector", "abc"}, {"selector-num", "12"}, {"const", "the-one"},
	}
	for _, w := range want {
		res := mustAppend(t, r, "p:1", appendReq(w.typ, `{"key":"abc","n":12}`))
		if res.Event.Wake == nil || res.WakeDelivery == nil {
			t.Fatalf("%s: wake %+v delivery %+v; want both", w.typ, res.Event.Wake, res.WakeDelivery)
		}
		wantEqual(t, w.typ+" event dedupe key", res.Event.Wake.DedupeKey, w.key)
		wantEqual(t, w.typ+" delivery dedupe key", res.WakeDelivery.DedupeKey, w.key)
		wantEqual(t, w.typ+" wake id", res.WakeDelivery.WakeID, wakeID(t, scopeS1.ID(), w.key))
	}
}

func testWakeTargetRequest(t *testing.T, r procreg.Registry) {
	mustWakeProcess(t, r, "p1") // record target s1
	req := appendReq("ping", `{}`)
	req.WakeTarget = &scopeS2F0
	res := mustAppend(t, r, "p1", req)
	if res.WakeDelivery == nil {
		t.Fatal("WakeDelivery = nil; want a delivery to the request's target")
	}
	wantEqual(t, "TargetSessionID", res.WakeDelivery.TargetSessionID, "s2")
	wantEqual(t, "TargetScopeID", res.WakeDelivery.TargetScopeID, "session:s2/frame:f0")
	wantEqual(t, "WakeID", res.WakeDelivery.WakeID, wakeID(t, "session:s2/frame:f0", "p1:1"))

	reg := toolReg("p2", wakeType("ping", procreg.WakeSpec{Input: constSel(`"x"`)})) // no record target
	mustRegister(t, r, reg)
	res = mustAppend(t, r, "p2", req)
	if res.WakeDelivery == nil || res.WakeDelivery.TargetScopeID != "session:s2/frame:f0" {
		t.Errorf("WakeDelivery = %+v; want a delivery to session:s2/frame:f0 from the request", res.WakeDelivery)
	}
}

// scopeS2F0 is a frame scope used as a per-request wake target.
var scopeS2F0 = procreg.SessionScope{SessionID: "s2", AgentFrameID: "f0"}

func testWakeTargetRecord(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1", wakeType("ping", procreg.WakeSpec{Input: constSel(`"x"`)}))
	reg.WakeTarget = &scopeS1F
	mustRegister(t, r, reg)
	res := mustAppend(t, r, "p1", appendReq("ping", `{}`))
	if res.WakeDelivery == nil {
		t.Fatal("WakeDelivery = nil; want a delivery to the record's target")
	}
	wantEqual(t, "TargetSessionID", res.WakeDelivery.TargetSessionID, "s1")
	wantEqual(t, "TargetScopeID", res.WakeDelivery.TargetScopeID, scopeS1F.ID())
	wantEqual(t, "WakeID", res.WakeDelivery.WakeID, wakeID(t, scopeS1F.ID(), "p1:1"))
}

func testWakeNoTarget(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1", wakeType("ping", procreg.WakeSpec{Input: pointerSel("/msg")})))
	res := mustAppend(t, r, "p1", appendReq("ping", `{"msg":"hello"}`))
	if res.WakeDelivery != nil {
		t.Errorf("WakeDelivery = %+v; want nil without any target", res.WakeDelivery)
	}
	if res.Event.Wake == nil {
		t.Fatal("event Wake = nil; want the wake semantics materialized without a target")
	}
	wantEqual(t, "event wake", *res.Event.Wake, procreg.Wake{Input: "hello", DedupeKey: "p1:1"})
	wakes := mustWakeEvents(t, r, "p1", 0)
	wantSame(t, "WakeEventsAfter lists the targetless wake event", wakes, []procreg.Event{res.Event})
}

func testWakeDelivery(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1", eventType(noteType), wakeType("ping", procreg.WakeSpec{Input: pointerSel("/msg"),
		DedupeKey: procreg.DedupeKey{Kind: procreg.DedupeSelector, Selector: ptrSel("/id")}}))
	reg.WakeTarget = &scopeS1F
	reg.Provenance.CausedBy = raw(`{"tool_call":"c-9","turn":2}`)
	mustRegister(t, r, reg)
	mustAppend(t, r, "p1", appendReq(noteType, `{}`))
	res := mustAppend(t, r, "p1", appendReq("ping", `{"msg":"ready","id":"x1"}`))
	d := res.WakeDelivery
	if d == nil {
		t.Fatal("WakeDelivery = nil; want a delivery")
	}
	wantEqual(t, "WakeID", d.WakeID, wakeID(t, scopeS1F.ID(), "x1"))
	wantEqual(t, "TargetSessionID", d.TargetSessionID, "s1")
	wantEqual(t, "TargetScopeID", d.TargetScopeID, scopeS1F.ID())
	wantEqual(t, "ProcessID", d.ProcessID, "p1")
	wantEqual(t, "Sequence", d.Sequence, uint64(2))
	wantEqual(t, "EventType", d.EventType, "ping")
	wantEqual(t, "DedupeKey", d.DedupeKey, "x1")
	wantEqual(t, "Input", d.Input, "ready")
	wantSame(t, "ProcessCausedBy", d.ProcessCausedBy, reg.Provenance.CausedBy)
	wantTime(t, "CreatedAt", d.CreatedAt)

	plain := mustWakeProcess(t, r, "p2")
	d2 := mustAppend(t, r, plain, appendReq("ping", `{}`)).WakeDelivery
	if d2 == nil || d2.ProcessCausedBy != nil {
		t.Errorf("delivery of a process without caused_by = %+v; want ProcessCausedBy nil", d2)
	}
}

func testWakeReplay(t *testing.T, r procreg.Registry) {
	mustWakeProcess(t, r, "p1")
	req := procreg.AppendRequest{EventType: "ping", Payload: raw(`{"n":1}`), ReplayKey: "once"}
	first := mustAppend(t, r, "p1", req)
	again := mustAppend(t, r, "p1", req)
	if first.WakeDelivery == nil || again.WakeDelivery == nil {
		t.Fatalf("deliveries %+v then %+v; want a delivery both times", first.WakeDelivery, again.WakeDelivery)
	}
	wantEqual(t, "replayed WakeID", again.WakeDelivery.WakeID, first.WakeDelivery.WakeID)
	wantEqual(t, "replayed delivery sequence", again.WakeDelivery.Sequence, first.WakeDelivery.Sequence)
	wantSame(t, "replayed delivery", again.WakeDelivery, first.WakeDelivery)
	wantSeqs(t, "wake events after replay", mustWakeEvents(t, r, "p1", 0), 1)
}

func testWakeSameDedupe(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1", wakeType("ping", procreg.WakeSpec{Input: constSel(`"x"`), DedupeKey: procreg.DedupeKey{Kind: procreg.DedupeConst, Const: "same"}}))
	reg.WakeTarget = &scopeS1
	mustRegister(t, r, reg)
	a := mustAppend(t, r, "p1", appendReq("ping", `{"n":1}`))
	b := mustAppend(t, r, "p1", appendReq("ping", `{"n":2}`))
	if a.WakeDelivery == nil || b.WakeDelivery == nil {
		t.Fatal("missing delivery; want a delivery for both events")
	}
	wantEqual(t, "WakeID of the second event (same dedupe key)", b.WakeDelivery.WakeID, a.WakeDelivery.WakeID)
	wantSeqs(t, "events with the same dedupe key are both stored", mustEvents(t, r, "p1", 0), 1, 2)
	wantSeqs(t, "and both listed as wake events", mustWakeEvents(t, r, "p1", 0), 1, 2)
}

// testWakeReplayTargetCleared: a replay re-materializes the delivery of the
// original append even after DeleteSessionProcessState cleared the record's
// wake target (same WakeID, target, input and time).
func testWakeReplayTargetCleared(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1", wakeType("ping", procreg.WakeSpec{Input: pointerSel("/msg")}))
	reg.WakeTarget = &scopeS1F
	mustRegister(t, r, reg)
	req := procreg.AppendRequest{EventType: "ping", Payload: raw(`{"msg":"hi"}`), ReplayKey: "wk"}
	first := mustAppend(t, r, "p1", req)
	if first.WakeDelivery == nil {
		t.Fatal("WakeDelivery = nil; want a delivery to the record's target")
	}
	_, err := r.DeleteSessionProcessState(t.Context(), "s1")
	wantOK(t, err, "DeleteSessionProcessState(s1)")
	if rec := mustGet(t, r, "p1"); rec.WakeTarget != nil {
		t.Fatalf("record WakeTarget = %+v after deleting session s1; want nil", rec.WakeTarget)
	}
	again := mustAppend(t, r, "p1", req)
	if again.WakeDelivery == nil {
		t.Fatal("replayed WakeDelivery = nil after the record's target was cleared; want the original delivery")
	}
	wantSame(t, "replayed delivery", again.WakeDelivery, first.WakeDelivery)
	wantEqual(t, "replayed WakeID", again.WakeDelivery.WakeID, wakeID(t, scopeS1F.ID(), "p1:1"))
	wantEqual(t, "replayed TargetScopeID", again.WakeDelivery.TargetScopeID, scopeS1F.ID())
	wantEqual(t, "replayed Input", again.WakeDelivery.Input, "hi")
	if !again.WakeDelivery.CreatedAt.Equal(first.Event.OccurredAt) {
		t.Errorf("replayed CreatedAt = %v; want the stored event time %v", again.WakeDelivery.CreatedAt, first.Event.OccurredAt)
	}
	// A new event has no target now: the replay did not use the record's.
	if res := mustAppend(t, r, "p1", appendReq("ping", `{"msg":"later"}`)); res.WakeDelivery != nil {
		t.Errorf("delivery of a new event after the target was cleared = %+v; want nil", res.WakeDelivery)
	}
}

// testWakeReplayOtherTarget: a replay naming another WakeTarget (or none)
// returns the original delivery, and an event that had no delivery gets none
// on replay.
func testWakeReplayOtherTarget(t *testing.T, r procreg.Registry) {
	mustWakeProcess(t, r, "p1") // record target s1
	req := procreg.AppendRequest{EventType: "ping", Payload: raw(`{}`), ReplayKey: "wk", WakeTarget: &scopeS2F0}
	first := mustAppend(t, r, "p1", req)
	if first.WakeDelivery == nil || first.WakeDelivery.TargetScopeID != scopeS2F0.ID() {
		t.Fatalf("WakeDelivery = %+v; want a delivery to %s", first.WakeDelivery, scopeS2F0.ID())
	}
	for _, target := range []*procreg.SessionScope{&scopeS1F, nil} {
		req.WakeTarget = target
		again := mustAppend(t, r, "p1", req)
		if again.WakeDelivery == nil {
			t.Fatalf("replay with WakeTarget %+v: WakeDelivery = nil; want the original delivery", target)
		}
		wantSame(t, "replayed delivery", again.WakeDelivery, first.WakeDelivery)
		wantEqual(t, "replayed WakeID", again.WakeDelivery.WakeID, wakeID(t, scopeS2F0.ID(), "p1:1"))
		wantEqual(t, "replayed TargetSessionID", again.WakeDelivery.TargetSessionID, "s2")
	}
	wantSeqs(t, "events after replays (no new row)", mustEvents(t, r, "p1", 0), 1)

	mustRegister(t, r, toolReg("p2", wakeType("ping", procreg.WakeSpec{Input: constSel(`"x"`)}))) // no record target
	bare := procreg.AppendRequest{EventType: "ping", Payload: raw(`{}`), ReplayKey: "wk"}
	if res := mustAppend(t, r, "p2", bare); res.WakeDelivery != nil {
		t.Fatalf("WakeDelivery = %+v; want nil without any target", res.WakeDelivery)
	}
	bare.WakeTarget = &scopeS2F0
	if res := mustAppend(t, r, "p2", bare); res.WakeDelivery != nil {
		t.Errorf("replay with a WakeTarget of an event appended without delivery: WakeDelivery = %+v; want nil (the original had none)", res.WakeDelivery)
	}
}
