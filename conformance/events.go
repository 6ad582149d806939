package conformance

import (
	"math"
	"strings"
	"testing"

	"github.com/procreg/procreg"
)

func eventRules() []rule {
	return []rule{
		{"SequencesStartAtOneWithoutGaps", testEventSequences},
		{"EventsAfterCursor", testEventCursors},
		{"UnknownProcess", testEventUnknownProcess},
		{"ReplaySameReturnsStored", testReplaySame},
		{"ReplayConflict", testReplayConflict},
		{"ReplayTerminalKeepsStatus", testReplayTerminal},
		{"UndeclaredType", testEventUndeclared},
		{"SchemaFailure", testEventSchema},
		{"MissingReplayKey", testEventMissingReplayKey},
		{"CancelRequested", testEventCancelRequested},
		{"TerminalOnTerminal", testEventTerminalOnTerminal},
		{"NonTerminalOnTerminalAllowed", testEventAfterTerminal},
		{"ConcurrentAppends", func(t *testing.T, r procreg.Registry) {
			concurrentAppends(t, []procreg.Registry{r, r, r, r, r, r, r, r}, 10)
		}},
		{"Acks", testAcks},
		{"CountEventsThrough", testCount},
		{"RecentEvents", testRecent},
	}
}

// progressSchema requires an integer pct between 0 and 100.
const progressSchema = `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","required":["pct"],"properties":{"pct":{"type":"integer","minimum":0,"maximum":100}}}`

// eventReg is a registration with the event types the event rules use.
func eventReg(id string) procreg.Registration {
	return toolReg(id,
		eventType(noteType),
		eventType("other"),
		procreg.EventType{Name: "progress", PayloadSchema: raw(progressSchema)},
		terminalType("done", procreg.StateCompleted, ptrSel("/result")),
		terminalType("oops", procreg.StateFailed, ptrSel("/error")),
	)
}

// appendNotes appends n note events with payloads {"i":1}, {"i":2}, ...
func appendNotes(t *testing.T, r procreg.Registry, id string, n int) []procreg.Event {
	t.Helper()
	out := make([]procreg.Event, 0, n)
	for i := 1; i <= n; i++ {
		res := mustAppend(t, r, id, appendReq(noteType, `{"i":`+itoa(i)+`}`))
		out = append(out, res.Event)
	}
	return out
}

func testEventSequences(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	mustRegister(t, r, eventReg("p2"))
	written := appendNotes(t, r, "p1", 5)
	for i, ev := range written {
		wantEqual(t, "sequence of append "+itoa(i+1), ev.Sequence, uint64(i+1))
		wantEqual(t, "ProcessID", ev.ProcessID, "p1")
		wantEqual(t, "EventType", ev.EventType, noteType)
		wantTime(t, "OccurredAt", ev.OccurredAt)
		if ev.Terminal != nil || ev.Wake != nil {
			t.Errorf("plain event has semantics %+v %+v; want none", ev.Terminal, ev.Wake)
		}
		if i > 0 && ev.OccurredAt.Before(written[i-1].OccurredAt) {
			t.Errorf("OccurredAt of event %d is before event %d; want non-decreasing", i+1, i)
		}
	}
	wantSame(t, "EventsAfter(0) equals the appended events", mustEvents(t, r, "p1", 0), written)
	wantSeqs(t, "another process's sequences are independent", appendNotes(t, r, "p2", 2), 1, 2)
	rec := mustGet(t, r, "p1")
	if !rec.UpdatedAt.Equal(written[4].OccurredAt) {
		t.Errorf("UpdatedAt = %v; want the last event time %v", rec.UpdatedAt, written[4].OccurredAt)
	}
}

func testEventCursors(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	wantSeqs(t, "EventsAfter(0) with no events", mustEvents(t, r, "p1", 0))
	appendNotes(t, r, "p1", 5)
	wantSeqs(t, "EventsAfter(2)", mustEvents(t, r, "p1", 2), 3, 4, 5)
	wantSeqs(t, "EventsAfter(4)", mustEvents(t, r, "p1", 4), 5)
	wantSeqs(t, "EventsAfter(5)", mustEvents(t, r, "p1", 5))
	wantSeqs(t, "EventsAfter(1000)", mustEvents(t, r, "p1", 1000))
	wantSeqs(t, "EventsAfter(MaxUint64)", mustEvents(t, r, "p1", math.MaxUint64))
}

func testEventUnknownProcess(t *testing.T, r procreg.Registry) {
	ctx := t.Context()
	_, err := r.AppendEvent(ctx, "ghost", appendReq("undeclared", `{}`))
	wantErr(t, err, procreg.ErrNotFound, "ghost", "AppendEvent on an unknown process (checked before the type)")
	_, err = r.EventsAfter(ctx, "ghost", 0)
	wantErr(t, err, procreg.ErrNotFound, "ghost", "EventsAfter on an unknown process")
	_, err = r.WakeEventsAfter(ctx, "ghost", 0)
	wantErr(t, err, procreg.ErrNotFound, "ghost", "WakeEventsAfter on an unknown process")
	_, err = r.CountEventsThrough(ctx, "ghost", noteType, 10)
	wantErr(t, err, procreg.ErrNotFound, "ghost", "CountEventsThrough on an unknown process")
	_, err = r.RecentEvents(ctx, "ghost", 3)
	wantErr(t, err, procreg.ErrNotFound, "ghost", "RecentEvents on an unknown process")
	err = r.AckWake(ctx, "ghost", 1)
	wantErr(t, err, procreg.ErrNotFound, "ghost", "AckWake on an unknown process")
	_, err = r.GetProcess(ctx, "ghost")
	wantErr(t, err, procreg.ErrNotFound, "ghost", "GetProcess on an unknown process")
}

func testReplaySame(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	req := procreg.AppendRequest{EventType: noteType, Payload: raw(`{"a":1,"b":[2,3]}`), ReplayKey: "k1"}
	first := mustAppend(t, r, "p1", req)
	req.Payload = raw(`{ "b": [2, 3], "a": 1 }`)
	again := mustAppend(t, r, "p1", req)
	wantSame(t, "replayed event", again.Event, first.Event)
	wantEqual(t, "replayed ReplayKey", again.Event.ReplayKey, "k1")
	wantSeqs(t, "events after replay (no new row)", mustEvents(t, r, "p1", 0), 1)
	next := mustAppend(t, r, "p1", appendReq(noteType, `{}`))
	wantEqual(t, "sequence after a replay", next.Event.Sequence, uint64(2))
}

func testReplayConflict(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	mustAppend(t, r, "p1", procreg.AppendRequest{EventType: noteType, Payload: raw(`{"a":1}`), ReplayKey: "k1"})
	_, err := r.AppendEvent(t.Context(), "p1", procreg.AppendRequest{EventType: noteType, Payload: raw(`{"a":2}`), ReplayKey: "k1"})
	wantErr(t, err, procreg.ErrReplayConflict, "p1", "replay key with a different payload")
	_, err = r.AppendEvent(t.Context(), "p1", procreg.AppendRequest{EventType: "other", Payload: raw(`{"a":1}`), ReplayKey: "k1"})
	wantErr(t, err, procreg.ErrReplayConflict, "p1", "replay key with a different event type")
	wantSeqs(t, "events after conflicts", mustEvents(t, r, "p1", 0), 1)
	mustRegister(t, r, eventReg("p2"))
	res := mustAppend(t, r, "p2", procreg.AppendRequest{EventType: noteType, Payload: raw(`{"a":2}`), ReplayKey: "k1"})
	wantEqual(t, "same replay key on another process", res.Event.Sequence, uint64(1))
}

func testReplayTerminal(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	req := procreg.AppendRequest{EventType: "done", Payload: raw(`{"result":7}`), ReplayKey: "fin"}
	first := mustAppend(t, r, "p1", req)
	rec := mustGet(t, r, "p1")
	again, err := r.AppendEvent(t.Context(), "p1", req)
	wantOK(t, err, "replaying a terminal event on the terminal process")
	wantSame(t, "replayed terminal event", again.Event, first.Event)
	wantSame(t, "record after replay", mustGet(t, r, "p1"), rec)
	wantEqual(t, "status after replay", rec.Status.State, procreg.StateCompleted)
}

func testEventUndeclared(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	_, err := r.AppendEvent(t.Context(), "p1", appendReq("nope", `{}`))
	wantErr(t, err, procreg.ErrInvalid, "p1", "AppendEvent with an undeclared type")
	if !strings.Contains(err.Error(), "nope") {
		t.Errorf("error %q does not name the undeclared type \"nope\"", err)
	}
	wantSeqs(t, "events after rejected append", mustEvents(t, r, "p1", 0))
}

func testEventSchema(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	for _, bad := range []string{`{}`, `{"pct":"ten"}`, `{"pct":101}`, `[1]`, `"x"`} {
		_, err := r.AppendEvent(t.Context(), "p1", appendReq("progress", bad))
		wantErr(t, err, procreg.ErrInvalid, "p1", "AppendEvent progress with payload "+bad)
	}
	wantSeqs(t, "events after rejected payloads", mustEvents(t, r, "p1", 0))
	res := mustAppend(t, r, "p1", appendReq("progress", `{"pct":50,"extra":true}`))
	wantEqual(t, "sequence of the first valid event", res.Event.Sequence, uint64(1))
}

func testEventMissingReplayKey(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	for _, typ := range []string{"done", "oops", "process.completed", "process.cancel_requested"} {
		_, err := r.AppendEvent(t.Context(), "p1", appendReq(typ, `{"result":1,"error":"e","await_output":{"kind":"success","value":1}}`))
		wantErr(t, err, procreg.ErrInvalid, "p1", "AppendEvent "+typ+" without a replay key")
	}
	wantSeqs(t, "events after rejected appends", mustEvents(t, r, "p1", 0))
	wantEqual(t, "status", mustGet(t, r, "p1").Status.State, procreg.StateRunning)
}

func testEventCancelRequested(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	req := procreg.CancelRequested("p1", "user pressed stop")
	if req.EventType != "process.cancel_requested" || req.ReplayKey == "" {
		t.Fatalf("CancelRequested = %+v; want type process.cancel_requested with a replay key", req)
	}
	if again := procreg.CancelRequested("p1", "user pressed stop"); again.ReplayKey != req.ReplayKey {
		t.Errorf("CancelRequested replay key %q then %q; want deterministic", req.ReplayKey, again.ReplayKey)
	}
	first := mustAppend(t, r, "p1", req)
	again := mustAppend(t, r, "p1", req)
	wantEqual(t, "repeated cancel request sequence", again.Event.Sequence, first.Event.Sequence)
	wantEqual(t, "status after cancel request", mustGet(t, r, "p1").Status.State, procreg.StateRunning)
}

func testEventTerminalOnTerminal(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	mustAppend(t, r, "p1", procreg.AppendRequest{EventType: "done", Payload: raw(`{"result":1}`), ReplayKey: "a"})
	rec := mustGet(t, r, "p1")
	_, err := r.AppendEvent(t.Context(), "p1", procreg.AppendRequest{EventType: "oops", Payload: raw(`{"error":"x"}`), ReplayKey: "b"})
	wantErr(t, err, procreg.ErrTerminal, "p1", "a second terminal event of another type")
	_, err = r.AppendEvent(t.Context(), "p1", procreg.AppendRequest{EventType: "done", Payload: raw(`{"result":2}`), ReplayKey: "c"})
	wantErr(t, err, procreg.ErrTerminal, "p1", "a second terminal event of the same type")
	wantSame(t, "record after rejected terminal events", mustGet(t, r, "p1"), rec)
	wantSeqs(t, "events after rejected terminal events", mustEvents(t, r, "p1", 0), 1)
}

func testEventAfterTerminal(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	mustAppend(t, r, "p1", procreg.AppendRequest{EventType: "done", Payload: raw(`{"result":1}`), ReplayKey: "a"})
	before := mustGet(t, r, "p1")
	res := mustAppend(t, r, "p1", appendReq(noteType, `{"late":"output"}`))
	wantEqual(t, "late event sequence", res.Event.Sequence, uint64(2))
	after := mustGet(t, r, "p1")
	wantEqual(t, "status after a late event", after.Status.State, procreg.StateCompleted)
	wantSame(t, "await output after a late event", after.Status.AwaitOutput, before.Status.AwaitOutput)
	_, err := r.AppendEvent(t.Context(), "p1", procreg.CancelRequested("p1", "too late"))
	wantOK(t, err, "cancel request on a terminal process (non-terminal event)")
}

func testAcks(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1", eventType(noteType), wakeType("ping", procreg.WakeSpec{Input: constSel(`"x"`)}))
	mustRegister(t, r, reg)
	for _, typ := range []string{"ping", noteType, "ping", "ping"} {
		mustAppend(t, r, "p1", appendReq(typ, `{}`))
	}
	wantSeqs(t, "WakeEventsAfter(0)", mustWakeEvents(t, r, "p1", 0), 1, 3, 4)
	wantSeqs(t, "WakeEventsAfter(1)", mustWakeEvents(t, r, "p1", 1), 3, 4)
	wantOK(t, r.AckWake(t.Context(), "p1", 3), "AckWake(3)")
	wantOK(t, r.AckWake(t.Context(), "p1", 3), "AckWake(3) again (idempotent)")
	wantSeqs(t, "WakeEventsAfter(0) after acking 3", mustWakeEvents(t, r, "p1", 0), 1, 4)
	wantOK(t, r.AckWake(t.Context(), "p1", 1), "AckWake(1)")
	wantOK(t, r.AckWake(t.Context(), "p1", 4), "AckWake(4)")
	wantSeqs(t, "WakeEventsAfter(0) after acking all", mustWakeEvents(t, r, "p1", 0))
	wantSeqs(t, "WakeEventsAfter(MaxUint64)", mustWakeEvents(t, r, "p1", math.MaxUint64))
	wantSeqs(t, "EventsAfter(0) still lists acked events", mustEvents(t, r, "p1", 0), 1, 2, 3, 4)
}

func testCount(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	// p2's events of the same types, appended in between, count for p2
	// only: a count is per process.
	mustRegister(t, r, eventReg("p2"))
	mustAppend(t, r, "p2", appendReq(noteType, `{}`))
	for _, typ := range []string{noteType, noteType, "other", noteType} {
		mustAppend(t, r, "p1", appendReq(typ, `{}`))
		mustAppend(t, r, "p2", appendReq("other", `{}`))
	}
	cases := []struct {
		typ  string
		upTo uint64
		want uint64
	}{
		{noteType, 0, 0}, {noteType, 1, 1}, {noteType, 2, 2}, {noteType, 3, 2}, {noteType, 4, 3},
		{noteType, 5, 3}, {noteType, math.MaxInt64, 3}, {noteType, math.MaxUint64, 3},
		{"other", 0, 0}, {"other", 2, 0}, {"other", 3, 1}, {"other", 4, 1}, {"other", 100, 1},
		{"progress", 0, 0}, {"progress", 4, 0}, {"progress", math.MaxUint64, 0},
	}
	for _, c := range cases {
		got, err := r.CountEventsThrough(t.Context(), "p1", c.typ, c.upTo)
		wantOK(t, err, "CountEventsThrough")
		if got != c.want {
			t.Errorf("CountEventsThrough(%s, %d) = %d; want %d", c.typ, c.upTo, got, c.want)
		}
	}
	for _, c := range []struct {
		typ  string
		upTo uint64
		want uint64
	}{{noteType, 1, 1}, {noteType, math.MaxUint64, 1}, {"other", 1, 0}, {"other", 2, 1}, {"other", 3, 2}, {"other", 9, 4}} {
		got, err := r.CountEventsThrough(t.Context(), "p2", c.typ, c.upTo)
		wantOK(t, err, "CountEventsThrough of p2")
		if got != c.want {
			t.Errorf("CountEventsThrough(p2, %s, %d) = %d; want %d", c.typ, c.upTo, got, c.want)
		}
	}
}

func testRecent(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	got, err := r.RecentEvents(t.Context(), "p1", 3)
	wantOK(t, err, "RecentEvents with no events")
	wantSeqs(t, "RecentEvents(3) with no events", got)
	written := appendNotes(t, r, "p1", 5)
	for _, c := range []struct {
		limit int
		want  []uint64
	}{{0, nil}, {1, []uint64{5}}, {2, []uint64{4, 5}}, {5, []uint64{1, 2, 3, 4, 5}}, {100, []uint64{1, 2, 3, 4, 5}}, {math.MaxInt, []uint64{1, 2, 3, 4, 5}}} {
		got, err := r.RecentEvents(t.Context(), "p1", c.limit)
		wantOK(t, err, "RecentEvents("+itoa(c.limit)+")")
		wantSeqs(t, "RecentEvents("+itoa(c.limit)+")", got, c.want...)
	}
	got, err = r.RecentEvents(t.Context(), "p1", 2)
	wantOK(t, err, "RecentEvents(2)")
	wantSame(t, "RecentEvents(2) events", got, written[3:])
	_, err = r.RecentEvents(t.Context(), "p1", -1)
	wantErr(t, err, procreg.ErrInvalid, "p1", "RecentEvents with a negative limit")
}
