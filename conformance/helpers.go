package conformance

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// raw turns JSON text into a json.RawMessage.
func raw(s string) json.RawMessage { return json.RawMessage(s) }

// toolReg builds a valid tool registration with the given extra event types.
func toolReg(id string, types ...procreg.EventType) procreg.Registration {
	return procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: raw(`{"tool":"grep","args":["-n"]}`)},
		Disposition: procreg.DispositionRerunnable,
		Provenance:  procreg.Provenance{Originator: procreg.Originator{Kind: procreg.OriginatorHost}},
		EnvRef:      "env:1",
		EventTypes:  types,
	}
}

// eventType declares a plain event type without semantics.
func eventType(name string) procreg.EventType { return procreg.EventType{Name: name} }

// terminalType declares a terminal event type.
func terminalType(name string, state procreg.TerminalState, sel *procreg.Selector) procreg.EventType {
	return procreg.EventType{Name: name, Terminal: &procreg.TerminalSpec{State: state, AwaitOutput: sel}}
}

// wakeType declares a wake event type.
func wakeType(name string, w procreg.WakeSpec) procreg.EventType {
	return procreg.EventType{Name: name, Wake: &w}
}

// pointerSel selects the value at an RFC 6901 pointer.
func pointerSel(p string) procreg.Selector {
	return procreg.Selector{Kind: procreg.SelectorPointer, Pointer: p}
}

// ptrSel is pointerSel as a pointer, for optional selector fields.
func ptrSel(p string) *procreg.Selector { s := pointerSel(p); return &s }

// constSel selects a constant JSON value.
func constSel(v string) procreg.Selector {
	return procreg.Selector{Kind: procreg.SelectorConst, Const: raw(v)}
}

// noteType is the plain event type most rules append.
const noteType = "note"

// appendReq builds an append request without replay key or wake target.
func appendReq(eventType, payload string) procreg.AppendRequest {
	return procreg.AppendRequest{EventType: eventType, Payload: raw(payload)}
}

// mustRegister registers reg and fails the test on error.
func mustRegister(t *testing.T, r procreg.Registry, reg procreg.Registration) procreg.Record {
	t.Helper()
	rec, err := r.RegisterProcess(t.Context(), reg)
	if err != nil {
		t.Fatalf("RegisterProcess(%q): %v; want success", reg.ID, err)
	}
	return rec
}

// mustGet reads a process and fails the test on error.
func mustGet(t *testing.T, r procreg.Registry, id string) procreg.Record {
	t.Helper()
	rec, err := r.GetProcess(t.Context(), id)
	if err != nil {
		t.Fatalf("GetProcess(%q): %v; want the record", id, err)
	}
	return rec
}

// mustAppend appends an event and fails the test on error.
func mustAppend(t *testing.T, r procreg.Registry, id string, req procreg.AppendRequest) procreg.AppendResult {
	t.Helper()
	res, err := r.AppendEvent(t.Context(), id, req)
	if err != nil {
		t.Fatalf("AppendEvent(%q, %s): %v; want success", id, req.EventType, err)
	}
	return res
}

// mustEvents lists every event of a process.
func mustEvents(t *testing.T, r procreg.Registry, id string, after uint64) []procreg.Event {
	t.Helper()
	evs, err := r.EventsAfter(t.Context(), id, after)
	if err != nil {
		t.Fatalf("EventsAfter(%q, %d): %v; want the events", id, after, err)
	}
	return evs
}

// mustWakeEvents lists the unacked wake events of a process.
func mustWakeEvents(t *testing.T, r procreg.Registry, id string, after uint64) []procreg.Event {
	t.Helper()
	evs, err := r.WakeEventsAfter(t.Context(), id, after)
	if err != nil {
		t.Fatalf("WakeEventsAfter(%q, %d): %v; want the wake events", id, after, err)
	}
	return evs
}

// mustComplete completes a process successfully.
func mustComplete(t *testing.T, r procreg.Registry, id string, out procreg.AwaitOutput) procreg.Record {
	t.Helper()
	rec, err := r.CompleteProcess(t.Context(), id, out)
	if err != nil {
		t.Fatalf("CompleteProcess(%q, %s): %v; want success", id, out.Kind, err)
	}
	return rec
}

// success is a success output with the given JSON value.
func success(v string) procreg.AwaitOutput {
	return procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: raw(v)}
}

// mustGrant grants scope a handle to id.
func mustGrant(t *testing.T, r procreg.Registry, scope procreg.SessionScope, id string, d procreg.HandleDescriptor) procreg.HandleGrant {
	t.Helper()
	g, err := r.GrantHandle(t.Context(), scope, id, d)
	if err != nil {
		t.Fatalf("GrantHandle(%s, %q): %v; want success", scope.ID(), id, err)
	}
	return g
}

// wantOK fails the test when err is not nil.
func wantOK(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v; want success", what, err)
	}
}

// wantErr checks that err wraps sentinel and, when id is not empty, that
// its message names the process id (raw or Go-quoted).
func wantErr(t *testing.T, err, sentinel error, id, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got nil error; want an error wrapping %v", what, sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: got %v; want an error wrapping %v", what, err, sentinel)
	}
	if id != "" && !namesID(err.Error(), id) {
		t.Errorf("%s: error %q does not name the process id %q", what, err.Error(), id)
	}
}

// namesID reports whether msg contains id, as is or escaped like %q does.
func namesID(msg, id string) bool {
	q := strconv.Quote(id)
	return strings.Contains(msg, id) || strings.Contains(msg, q[1:len(q)-1])
}

// meaning decodes v's JSON encoding into generic values, so that two values
// compare by meaning (key order and whitespace do not matter).
func meaning(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encoding %T as JSON: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decoding JSON %s: %v", b, err)
	}
	return out
}

// sameMeaning reports whether a and b encode to the same JSON by meaning.
func sameMeaning(t *testing.T, a, b any) bool {
	t.Helper()
	return reflect.DeepEqual(meaning(t, a), meaning(t, b))
}

// wantSame fails when got and want differ in meaning (their JSON encodings
// decode to different values).
func wantSame(t *testing.T, what string, got, want any) {
	t.Helper()
	if !sameMeaning(t, got, want) {
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		t.Errorf("%s:\n got  %s\n want %s", what, gb, wb)
	}
}

// wantTime checks that a time the registry returned is UTC, non-zero and
// at millisecond precision.
func wantTime(t *testing.T, what string, tm time.Time) {
	t.Helper()
	if tm.IsZero() {
		t.Errorf("%s is zero; want a time", what)
		return
	}
	if tm.Location() != time.UTC {
		t.Errorf("%s = %v in %v; want UTC", what, tm, tm.Location())
	}
	if !tm.Equal(tm.Truncate(time.Millisecond)) {
		t.Errorf("%s = %v; want millisecond precision", what, tm.Format(time.RFC3339Nano))
	}
}

// recordIDs lists the ids of records, in order.
func recordIDs(recs []procreg.Record) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

// entryIDs lists the process ids of grant entries, in order.
func entryIDs(es []procreg.HandleGrantEntry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Grant.ProcessID)
	}
	return out
}

// sequences lists the sequence numbers of events, in order.
func sequences(evs []procreg.Event) []uint64 {
	out := make([]uint64, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Sequence)
	}
	return out
}

// wantEqual fails when got and want are not deeply equal.
func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v; want %#v", what, got, want)
	}
}

// wantStrings compares string lists; nil and empty are the same.
func wantStrings(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	wantEqual(t, what, got, want)
}

// wantSeqs compares event sequence lists; nil and empty are the same.
func wantSeqs(t *testing.T, what string, evs []procreg.Event, want ...uint64) {
	t.Helper()
	got := sequences(evs)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	wantEqual(t, what, got, want)
}

// boolPtr returns a pointer to b, for ListFilter.Waiting.
func boolPtr(b bool) *bool { return &b }

// pause sleeps long enough that the next timestamp differs at millisecond
// precision; rules that check "UpdatedAt moved" use it.
func pause() { time.Sleep(3 * time.Millisecond) }

// itoa formats an int for messages and payloads.
func itoa(i int) string { return strconv.Itoa(i) }
