package procreg

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestCancelRequested(t *testing.T) {
	r := CancelRequested("p1", "user asked")
	var payload map[string]any
	if err := json.Unmarshal(r.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	if r.EventType != EventCancelRequested || r.ReplayKey != "process:p1:cancel_requested" || !reflect.DeepEqual(payload, map[string]any{"reason": "user asked"}) {
		t.Fatalf("CancelRequested = %+v", r)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 123000000, time.UTC)
	owner := LeaseOwner{OwnerID: "o", IncarnationID: "i", Liveness: Liveness{Kind: LivenessLocalProcess, HostID: "h", BootID: "b", PID: 9, ProcessStart: "77"}}
	values := []any{
		&Record{ID: "p", RegistrationHash: "h", Input: ProcessInput{Kind: InputEngine, EngineKind: "e", Payload: json.RawMessage(`{"a":1}`)},
			Disposition: DispositionOwnerBound, Identity: Identity{Kind: "k", Label: "l", Definition: json.RawMessage(`[1]`)},
			EventTypes: []EventType{{Name: "x", PayloadSchema: json.RawMessage(`true`),
				Terminal: &TerminalSpec{State: StateFailed, AwaitOutput: &Selector{Kind: SelectorTemplate, Template: "{a}", Fields: map[string]Selector{"a": {Kind: SelectorConst, Const: json.RawMessage(`1`)}}}},
				Wake:     &WakeSpec{When: &Selector{Kind: SelectorPresent, Pointer: "/a"}, Input: Selector{Kind: SelectorPayload}, DedupeKey: DedupeKey{Kind: DedupeConst, Const: "c"}}}},
			Provenance: Provenance{Originator: Originator{Kind: OriginatorSession, Scope: &SessionScope{SessionID: "s", AgentFrameID: "f"}}, CausedBy: json.RawMessage(`"c"`)},
			EnvRef:     "env", WakeTarget: &SessionScope{SessionID: "s"}, CreatedAt: at, UpdatedAt: at,
			ExternalRef: &ExternalRef{Backend: "b", ID: "i", Metadata: json.RawMessage(`{}`)}, FirstStarted: &Started{Owner: owner, At: at},
			AbandonRequest: &AbandonRequest{RequestedBy: "op", RequestedAt: at, Reason: "r"},
			Wait:           &WaitState{Kind: WaitSignal, Name: "n", EventType: "e", Key: "k", Ordinal: 1 << 63, Since: at},
			Status: Status{State: StateAbandoned, AwaitOutput: &AwaitOutput{Kind: OutputAbandoned,
				Evidence: &AbandonEvidence{Writer: WriterSweep, Owner: &owner, At: at}, Control: json.RawMessage(`{"c":1}`)}}},
		&AppendResult{Event: Event{ProcessID: "p", Sequence: 3, EventType: "t", Payload: json.RawMessage(`{}`), ReplayKey: "r",
			Terminal: &TerminalSemantics{State: StateFailed, AwaitOutput: AwaitOutput{Kind: OutputFailure, Class: "c", Code: "d", Message: "m", Raw: json.RawMessage(`1`)}},
			Wake:     &Wake{Input: "i", DedupeKey: "d"}, OccurredAt: at},
			WakeDelivery: &WakeDelivery{WakeID: "w", TargetSessionID: "s", TargetScopeID: "session:s", ProcessID: "p", Sequence: 3, EventType: "t",
				ProcessCausedBy: json.RawMessage(`"c"`), DedupeKey: "d", Input: "i", CreatedAt: at}},
		&HandleGrantEntry{Grant: HandleGrant{SessionID: "s", ProcessID: "p", Descriptor: HandleDescriptor{Kind: "k", Label: "l"}}},
		&SessionDeleteReport{SessionID: "s", RevokedHandles: 2, OrphanedProcessIDs: []string{"a"}, PreservedProcessIDs: []string{"b"}},
		&AppendRequest{EventType: "t", Payload: json.RawMessage(`1`), ReplayKey: "r", WakeTarget: &SessionScope{SessionID: "s"}},
		&LeaseClaim{Acquired: true, Lease: Lease{ProcessID: "p", Owner: owner, Token: "t", FencingToken: 5, ClaimedAt: at, ExpiresAt: at}},
		&LeaseCompletion{ProcessID: "p", Token: "t"},
		&ListFilter{Status: StatusAny, Definition: json.RawMessage(`{"a":1}`), Waiting: new(bool)},
		&PruneReport{PrunedProcesses: 1, PrunedEvents: 2},
	}
	for _, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		back := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		if err := json.Unmarshal(b, back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(v, back) {
			t.Errorf("%T does not round-trip:\n%s", v, b)
		}
	}
	var tier DurabilityTier
	if b, _ := json.Marshal(TierDurable); string(b) != `"durable"` || json.Unmarshal(b, &tier) != nil || tier != TierDurable {
		t.Errorf("tier JSON %s", b)
	}
}
