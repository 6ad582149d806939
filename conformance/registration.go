package conformance

import (
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/procreg/procreg"
)

// coreTypes are the event types every registration gets, with whether they are terminal.
var coreTypes = map[string]procreg.TerminalState{
	"process.cancel_requested": "",
	"process.waiting":          "",
	"process.resumed":          "",
	"process.completed":        procreg.StateCompleted,
	"process.failed":           procreg.StateFailed,
	"process.cancelled":        procreg.StateCancelled,
	"process.abandoned":        procreg.StateAbandoned,
}

func registrationRules() []rule {
	return []rule{
		{"NewRecordStartsRunning", testRegisterNewRecord},
		{"CoreEventTypesAdded", testRegisterCoreTypes},
		{"IdempotentSameSpec", testRegisterIdempotent},
		{"IdempotentByMeaning", testRegisterByMeaning},
		{"AbsentJSONIsNilEmptyOrNull", testRegisterAbsentJSON},
		{"HashConflict", testRegisterConflict},
		{"DefaultIdentity", testRegisterDefaultIdentity},
		{"CallerIdentityKept", testRegisterCallerIdentity},
		{"ValidationFailures", testRegisterValidation},
		{"ReadBackEqualsWritten", testRegisterReadBack},
	}
}

func testRegisterNewRecord(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1", eventType(noteType))
	reg.WakeTarget = &procreg.SessionScope{SessionID: "s1", AgentFrameID: "f1"}
	reg.Provenance.CausedBy = raw(`{"turn":3}`)
	rec := mustRegister(t, r, reg)
	wantEqual(t, "ID", rec.ID, "p1")
	wantEqual(t, "Status.State", rec.Status.State, procreg.StateRunning)
	if rec.Status.AwaitOutput != nil {
		t.Errorf("Status.AwaitOutput = %+v; want nil for a running process", rec.Status.AwaitOutput)
	}
	if rec.IsTerminal() {
		t.Error("IsTerminal() = true; want false for a new record")
	}
	wantTime(t, "CreatedAt", rec.CreatedAt)
	if !rec.CreatedAt.Equal(rec.UpdatedAt) {
		t.Errorf("UpdatedAt = %v; want CreatedAt %v", rec.UpdatedAt, rec.CreatedAt)
	}
	if b, err := hex.DecodeString(rec.RegistrationHash); err != nil || len(b) != 32 {
		t.Errorf("RegistrationHash = %q; want 64 hex digits of a SHA-256", rec.RegistrationHash)
	}
	wantEqual(t, "Disposition", rec.Disposition, procreg.DispositionRerunnable)
	wantEqual(t, "EnvRef", rec.EnvRef, "env:1")
	wantSame(t, "Input", rec.Input, reg.Input)
	wantSame(t, "Provenance", rec.Provenance, reg.Provenance)
	wantEqual(t, "WakeTarget", rec.WakeTarget, reg.WakeTarget)
	if rec.ExternalRef != nil || rec.FirstStarted != nil || rec.AbandonRequest != nil || rec.Wait != nil {
		t.Errorf("new record has recovery facts %+v %+v %+v %+v; want none", rec.ExternalRef, rec.FirstStarted, rec.AbandonRequest, rec.Wait)
	}
}

func testRegisterCoreTypes(t *testing.T, r procreg.Registry) {
	rec := mustRegister(t, r, toolReg("p1", eventType(noteType)))
	seen := map[string]int{}
	for _, et := range rec.EventTypes {
		seen[et.Name]++
		state, core := coreTypes[et.Name]
		if !core {
			continue
		}
		if state == "" {
			if et.Terminal != nil || et.Wake != nil {
				t.Errorf("core type %s has semantics %+v %+v; want none", et.Name, et.Terminal, et.Wake)
			}
			continue
		}
		if et.Terminal == nil {
			t.Errorf("core type %s is not terminal; want terminal state %s", et.Name, state)
			continue
		}
		wantEqual(t, et.Name+" terminal state", et.Terminal.State, state)
		if et.Terminal.AwaitOutput == nil || et.Terminal.AwaitOutput.Kind != procreg.SelectorPointer || et.Terminal.AwaitOutput.Pointer != "/await_output" {
			t.Errorf("core type %s selector = %+v; want pointer /await_output", et.Name, et.Terminal.AwaitOutput)
		}
	}
	for name := range coreTypes {
		if seen[name] != 1 {
			t.Errorf("core type %s appears %d times; want exactly once", name, seen[name])
		}
	}
	if seen[noteType] != 1 {
		t.Errorf("declared type %s appears %d times; want once", noteType, seen[noteType])
	}
}

func testRegisterIdempotent(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1", eventType(noteType))
	first := mustRegister(t, r, reg)
	pause()
	again := mustRegister(t, r, reg)
	wantSame(t, "second registration", again, first)
	wantSame(t, "stored record", mustGet(t, r, "p1"), first)
	all, err := r.ListProcesses(t.Context(), procreg.ListFilter{Status: procreg.StatusAny})
	wantOK(t, err, "ListProcesses(any)")
	wantStrings(t, "processes after registering twice", recordIDs(all), "p1")

	// Re-registering never resets what happened since.
	mustAppend(t, r, "p1", appendReq(noteType, `{}`))
	done := mustComplete(t, r, "p1", success(`1`))
	again = mustRegister(t, r, reg)
	wantSame(t, "re-registering a completed process returns it unchanged", again, done)
	wantSeqs(t, "events after re-registering", mustEvents(t, r, "p1", 0), 1, 2)
}

func testRegisterByMeaning(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1")
	reg.Input.Payload = raw(`{"a":1,"b":[true,null]}`)
	reg.Identity = procreg.Identity{Kind: "tool", Definition: raw(`{"x":{"y":1,"z":2}}`)}
	first := mustRegister(t, r, reg)
	reg.Input.Payload = raw("{ \"b\" : [ true , null ],\n \"a\" : 1 }")
	reg.Identity.Definition = raw(`{"x": {"z": 2, "y": 1}}`)
	again, err := r.RegisterProcess(t.Context(), reg)
	wantOK(t, err, "re-registering the same spec with reordered keys and whitespace")
	wantEqual(t, "RegistrationHash", again.RegistrationHash, first.RegistrationHash)
}

func testRegisterAbsentJSON(t *testing.T, r procreg.Registry) {
	forms := []string{"", "null"}
	base := toolReg("p1", procreg.EventType{Name: noteType})
	first := mustRegister(t, r, base)
	if first.Identity.Definition != nil || first.Provenance.CausedBy != nil {
		t.Errorf("absent optional JSON read back as %q / %q; want nil", first.Identity.Definition, first.Provenance.CausedBy)
	}
	for _, et := range first.EventTypes {
		if et.PayloadSchema != nil {
			t.Errorf("event type %s PayloadSchema = %q; want nil when absent", et.Name, et.PayloadSchema)
		}
	}
	for _, f := range forms {
		reg := toolReg("p1", procreg.EventType{Name: noteType, PayloadSchema: raw(f)})
		reg.Identity.Definition = raw(f)
		reg.Provenance.CausedBy = raw(f)
		rec, err := r.RegisterProcess(t.Context(), reg)
		wantOK(t, err, "registering with optional JSON "+strconv.Quote(f))
		wantEqual(t, "RegistrationHash with optional JSON "+strconv.Quote(f), rec.RegistrationHash, first.RegistrationHash)
		if rec.Identity.Definition != nil || rec.Provenance.CausedBy != nil {
			t.Errorf("optional JSON %q read back as %q / %q; want nil", f, rec.Identity.Definition, rec.Provenance.CausedBy)
		}
	}
}

func testRegisterConflict(t *testing.T, r procreg.Registry) {
	first := mustRegister(t, r, toolReg("p1", eventType(noteType)))
	cases := map[string]func(*procreg.Registration){
		"payload":     func(g *procreg.Registration) { g.Input.Payload = raw(`{"tool":"grep","args":["-r"]}`) },
		"disposition": func(g *procreg.Registration) { g.Disposition = procreg.DispositionOwnerBound },
		"env ref":     func(g *procreg.Registration) { g.EnvRef = "env:2" },
		"event types": func(g *procreg.Registration) { g.EventTypes = append(g.EventTypes, eventType("other")) },
		"wake target": func(g *procreg.Registration) { g.WakeTarget = &procreg.SessionScope{SessionID: "s"} },
		"caused by":   func(g *procreg.Registration) { g.Provenance.CausedBy = raw(`1`) },
	}
	for what, change := range cases {
		reg := toolReg("p1", eventType(noteType))
		change(&reg)
		_, err := r.RegisterProcess(t.Context(), reg)
		wantErr(t, err, procreg.ErrRegistrationConflict, "p1", "re-registering p1 with a different "+what)
	}
	wantSame(t, "record after conflicts", mustGet(t, r, "p1"), first)
}

func testRegisterDefaultIdentity(t *testing.T, r procreg.Registry) {
	cases := []struct {
		name  string
		input procreg.ProcessInput
		env   string
		want  procreg.Identity
	}{
		{"tool", procreg.ProcessInput{Kind: procreg.InputTool, Payload: raw(`{}`)}, "env", procreg.Identity{Kind: "tool"}},
		{"engine", procreg.ProcessInput{Kind: procreg.InputEngine, EngineKind: "dagger", Payload: raw(`{}`)}, "env", procreg.Identity{Kind: "dagger"}},
		{"session_turn", procreg.ProcessInput{Kind: procreg.InputSessionTurn, Payload: raw(`{}`)}, "", procreg.Identity{Kind: "session_turn"}},
		{"external-label", procreg.ProcessInput{Kind: procreg.InputExternal, Payload: raw(`{"title":"T","name":"N","label":"L"}`)}, "", procreg.Identity{Kind: "external", Label: "L"}},
		{"external-name", procreg.ProcessInput{Kind: procreg.InputExternal, Payload: raw(`{"title":"T","name":"N"}`)}, "", procreg.Identity{Kind: "external", Label: "N"}},
		{"external-title", procreg.ProcessInput{Kind: procreg.InputExternal, Payload: raw(`{"title":"T"}`)}, "", procreg.Identity{Kind: "external", Label: "T"}},
		{"external-none", procreg.ProcessInput{Kind: procreg.InputExternal, Payload: raw(`[1]`)}, "", procreg.Identity{Kind: "external"}},
	}
	for _, c := range cases {
		reg := procreg.Registration{ID: c.name, Input: c.input, Disposition: procreg.DispositionExternallyOwned, EnvRef: c.env,
			Provenance: procreg.Provenance{Originator: procreg.Originator{Kind: procreg.OriginatorHost}}}
		rec := mustRegister(t, r, reg)
		wantSame(t, c.name+" default identity", rec.Identity, c.want)
	}
}

func testRegisterCallerIdentity(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1")
	reg.Identity = procreg.Identity{Kind: "custom", Label: "my job", Definition: raw(`{"def":[1,2]}`)}
	rec := mustRegister(t, r, reg)
	wantSame(t, "caller-supplied identity", rec.Identity, reg.Identity)
}

func testRegisterValidation(t *testing.T, r procreg.Registry) {
	long := strings.Repeat("x", 256)
	cases := []struct {
		name   string
		change func(*procreg.Registration)
	}{
		{"EmptyID", func(g *procreg.Registration) { g.ID = "" }},
		{"BlankID", func(g *procreg.Registration) { g.ID = " \t " }},
		{"IDOver255Bytes", func(g *procreg.Registration) { g.ID = long }},
		{"IDInvalidUTF8", func(g *procreg.Registration) { g.ID = "bad\xff\xfeid" }},
		{"IDWithNUL", func(g *procreg.Registration) { g.ID = "nul\x00id" }},
		{"EventTypeNameInvalidUTF8", func(g *procreg.Registration) { g.EventTypes = []procreg.EventType{eventType("bad\xffname")} }},
		{"EngineKindWithNUL", func(g *procreg.Registration) {
			g.Input = procreg.ProcessInput{Kind: procreg.InputEngine, EngineKind: "dag\x00ger", Payload: raw(`{}`)}
		}},
		{"UnknownInputKind", func(g *procreg.Registration) { g.Input.Kind = "script" }},
		{"EmptyInputKind", func(g *procreg.Registration) { g.Input.Kind = "" }},
		{"UnknownDisposition", func(g *procreg.Registration) { g.Disposition = "forever" }},
		{"MissingDisposition", func(g *procreg.Registration) { g.Disposition = "" }},
		{"EngineWithoutEngineKind", func(g *procreg.Registration) { g.Input.Kind = procreg.InputEngine }},
		{"ToolWithEngineKind", func(g *procreg.Registration) { g.Input.EngineKind = "dagger" }},
		{"ToolWithoutEnvRef", func(g *procreg.Registration) { g.EnvRef = "" }},
		{"EngineWithoutEnvRef", func(g *procreg.Registration) {
			g.Input = procreg.ProcessInput{Kind: procreg.InputEngine, EngineKind: "dagger", Payload: raw(`{}`)}
			g.EnvRef = ""
		}},
		{"ExternalWithEnvRef", func(g *procreg.Registration) { g.Input.Kind = procreg.InputExternal }},
		{"SessionTurnWithEnvRef", func(g *procreg.Registration) { g.Input.Kind = procreg.InputSessionTurn }},
		{"EmptyEventTypeName", func(g *procreg.Registration) { g.EventTypes = []procreg.EventType{eventType("")} }},
		{"DuplicateEventTypeNames", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{eventType(noteType), eventType(noteType)}
		}},
		{"FailedWithoutSelector", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{terminalType("x", procreg.StateFailed, nil)}
		}},
		{"CancelledWithoutSelector", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{terminalType("x", procreg.StateCancelled, nil)}
		}},
		{"AbandonedWithoutSelector", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{terminalType("x", procreg.StateAbandoned, nil)}
		}},
		{"UnknownTerminalState", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{terminalType("x", "exploded", ptrSel("/a"))}
		}},
		{"SchemaNotJSON", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{{Name: "x", PayloadSchema: raw(`{"type":`)}}
		}},
		{"SchemaAgainstMetaSchema", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{{Name: "x", PayloadSchema: raw(`{"type":12}`)}}
		}},
		{"SchemaBadMinimum", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{{Name: "x", PayloadSchema: raw(`{"minimum":"zero"}`)}}
		}},
		{"UnknownSelectorKind", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{wakeType("x", procreg.WakeSpec{Input: procreg.Selector{Kind: "magic"}})}
		}},
		{"InvalidPointer", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{wakeType("x", procreg.WakeSpec{Input: pointerSel("no-slash")})}
		}},
		{"UnknownDedupeKind", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{wakeType("x", procreg.WakeSpec{Input: constSel(`1`), DedupeKey: procreg.DedupeKey{Kind: "random"}})}
		}},
		{"WakeTargetWithoutSession", func(g *procreg.Registration) { g.WakeTarget = &procreg.SessionScope{} }},
		// A core type may be declared only exactly as the core declares it.
		{"CoreCompletedWithoutTerminal", func(g *procreg.Registration) { g.EventTypes = []procreg.EventType{eventType("process.completed")} }},
		{"CoreCompletedOtherSelector", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{terminalType("process.completed", procreg.StateCompleted, ptrSel("/result"))}
		}},
		{"CoreFailedAsCancelled", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{terminalType("process.failed", procreg.StateCancelled, ptrSel("/await_output"))}
		}},
		{"CoreCancelRequestedTerminal", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{terminalType("process.cancel_requested", procreg.StateFailed, ptrSel("/a"))}
		}},
		{"CoreWaitingWithSchema", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{{Name: "process.waiting", PayloadSchema: raw(`{"type":"object"}`)}}
		}},
		{"CoreResumedWithWake", func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{wakeType("process.resumed", procreg.WakeSpec{Input: constSel(`1`)})}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := toolReg("v-" + c.name)
			c.change(&reg)
			_, err := r.RegisterProcess(t.Context(), reg)
			wantErr(t, err, procreg.ErrInvalid, "", "RegisterProcess with "+c.name)
			if _, err := r.GetProcess(t.Context(), reg.ID); err == nil {
				t.Errorf("invalid registration %s was stored; want nothing stored", c.name)
			}
		})
	}
	// Declaring core types exactly as the core does is the same registration.
	same := toolReg("core-declared", eventType(noteType), eventType("process.cancel_requested"),
		terminalType("process.completed", procreg.StateCompleted, ptrSel("/await_output")))
	wantEqual(t, "hash with core types declared identically", mustRegister(t, r, same).RegistrationHash,
		mustRegister(t, r, toolReg("core-declared", eventType(noteType))).RegistrationHash)
	// A payload schema of {} or true accepts any payload, like no schema:
	// a core type declared with one is the built-in type, and the spelling
	// does not change the registration.
	for _, anyPayload := range []string{`{}`, `true`, ` { } `} {
		spelled := toolReg("core-declared", procreg.EventType{Name: noteType, PayloadSchema: raw(anyPayload)},
			procreg.EventType{Name: "process.cancel_requested", PayloadSchema: raw(anyPayload)})
		wantEqual(t, "hash with payload schema "+anyPayload+" for none", mustRegister(t, r, spelled).RegistrationHash,
			mustRegister(t, r, same).RegistrationHash)
	}
	max := strings.Repeat("é", 127) + "x" // 255 bytes of valid UTF-8
	mustRegister(t, r, toolReg(max))
	wantEqual(t, "255-byte id read back", mustGet(t, r, max).ID, max)
}

func testRegisterReadBack(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1",
		procreg.EventType{Name: "progress", PayloadSchema: raw(`{"type":"object","properties":{"pct":{"type":"integer"}}}`)},
		terminalType("done", procreg.StateCompleted, ptrSel("/result")),
		wakeType("ping", procreg.WakeSpec{When: ptrSel("/urgent"), Input: procreg.Selector{Kind: procreg.SelectorTemplate,
			Template: "job {id}", Fields: map[string]procreg.Selector{"id": pointerSel("/id")}},
			DedupeKey: procreg.DedupeKey{Kind: procreg.DedupeConst, Const: "k"}}),
	)
	reg.Identity = procreg.Identity{Kind: "tool", Label: "grep", Definition: raw(`{"v":2}`)}
	reg.Provenance = procreg.Provenance{Originator: procreg.Originator{Kind: procreg.OriginatorSession,
		Scope: &procreg.SessionScope{SessionID: "s", AgentFrameID: "f"}}, CausedBy: raw(`{"tool_call":"c1"}`)}
	reg.WakeTarget = &procreg.SessionScope{SessionID: "s"}
	rec := mustRegister(t, r, reg)
	got := mustGet(t, r, "p1")
	wantSame(t, "GetProcess after RegisterProcess", got, rec)
	wantSame(t, "Identity", got.Identity, reg.Identity)
	wantSame(t, "Provenance", got.Provenance, reg.Provenance)
	for _, want := range reg.EventTypes {
		found := false
		for _, et := range got.EventTypes {
			if et.Name == want.Name {
				found = true
				wantSame(t, "event type "+want.Name, et, want)
			}
		}
		if !found {
			t.Errorf("event type %s missing from the record; want it as registered", want.Name)
		}
	}
}
