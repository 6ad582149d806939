package conformance

import (
	"math"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// mustTime parses an RFC 3339 time; the suite only passes literals.
func mustTime(s string) time.Time {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic("conformance: bad time literal " + s)
	}
	return tm.UTC()
}

// exampleOwner is an opaque lease owner for facts that carry one.
func exampleOwner(id string) procreg.LeaseOwner {
	return procreg.LeaseOwner{OwnerID: id, IncarnationID: id + "-inc-1"}
}

// exampleWait is a wait state with every field set.
func exampleWait() procreg.WaitState {
	return procreg.WaitState{Kind: procreg.WaitSignal, Name: "approval", EventType: "approved", Key: "k1",
		Ordinal: 3, Since: mustTime("2026-03-04T05:06:07.089Z")}
}

func completionRules() []rule {
	return []rule{
		{"EachKind", testCompleteEachKind},
		{"IdenticalRepeatIsIdempotent", testCompleteRepeat},
		{"SameKindDifferentOutputConflicts", testCompleteConflict},
		{"OtherKindIsTerminal", testCompleteOtherKind},
		{"UnknownProcessAndKind", testCompleteInvalid},
	}
}

// outputs has one await output of each kind, with every field of its shape.
func outputs() map[string]procreg.AwaitOutput {
	owner := exampleOwner("w1")
	return map[string]procreg.AwaitOutput{
		"process.completed": {Kind: procreg.OutputSuccess, Value: raw(`{"rows":[1,2]}`), Control: raw(`{"next":"x"}`)},
		"process.failed":    {Kind: procreg.OutputFailure, Class: "tool", Code: "E1", Message: "bad", Raw: raw(`{"stderr":"x"}`)},
		"process.cancelled": {Kind: procreg.OutputCancelled, Message: "stop", Raw: raw(`"by user"`)},
		"process.abandoned": {Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{Writer: procreg.WriterSweep,
			Owner: &owner, At: mustTime("2026-05-06T07:08:09.123Z")}},
	}
}

// stateOf maps an output kind to the terminal state it produces.
var stateOf = map[string]string{
	procreg.OutputSuccess:   procreg.StateCompleted,
	procreg.OutputFailure:   procreg.StateFailed,
	procreg.OutputCancelled: procreg.StateCancelled,
	procreg.OutputAbandoned: procreg.StateAbandoned,
}

func testCompleteEachKind(t *testing.T, r procreg.Registry) {
	for typ, out := range outputs() {
		t.Run(out.Kind, func(t *testing.T) {
			id := "c-" + out.Kind
			mustRegister(t, r, toolReg(id))
			rec := mustComplete(t, r, id, out)
			wantEqual(t, "Status.State", rec.Status.State, stateOf[out.Kind])
			wantSame(t, "Status.AwaitOutput", rec.Status.AwaitOutput, &out)
			wantSame(t, "stored record", mustGet(t, r, id), rec)
			evs := mustEvents(t, r, id, 0)
			if len(evs) != 1 {
				t.Fatalf("events = %d; want exactly the terminal event", len(evs))
			}
			ev := evs[0]
			wantEqual(t, "event type", ev.EventType, typ)
			wantEqual(t, "replay key", ev.ReplayKey, "process:"+id+":terminal:"+typ)
			wantSame(t, "event payload", ev.Payload, map[string]any{"await_output": out})
			if ev.Terminal == nil {
				t.Fatal("terminal event has no terminal semantics")
			}
			wantSame(t, "event await output", ev.Terminal.AwaitOutput, out)
			if !rec.UpdatedAt.Equal(ev.OccurredAt) {
				t.Errorf("UpdatedAt = %v; want the completion time %v", rec.UpdatedAt, ev.OccurredAt)
			}
		})
	}
}

func testCompleteRepeat(t *testing.T, r procreg.Registry) {
	for _, out := range outputs() {
		id := "c-" + out.Kind
		mustRegister(t, r, toolReg(id))
		first := mustComplete(t, r, id, out)
		again := mustComplete(t, r, id, out)
		wantSame(t, out.Kind+" record after identical repeat", again, first)
		wantSeqs(t, out.Kind+" events after identical repeat", mustEvents(t, r, id, 0), 1)
	}
	// Absent optional JSON (nil, empty, null) is the same completion.
	mustRegister(t, r, toolReg("absent"))
	first := mustComplete(t, r, "absent", procreg.AwaitOutput{Kind: procreg.OutputCancelled, Message: "m"})
	if first.Status.AwaitOutput == nil || first.Status.AwaitOutput.Raw != nil || first.Status.AwaitOutput.Control != nil {
		t.Errorf("await output without raw/control read back as %+v; want Raw and Control nil", first.Status.AwaitOutput)
	}
	again := mustComplete(t, r, "absent", procreg.AwaitOutput{Kind: procreg.OutputCancelled, Message: "m", Raw: raw(`null`), Control: raw(``)})
	wantSame(t, "repeat with null raw and empty control", again, first)
}

func testCompleteConflict(t *testing.T, r procreg.Registry) {
	for _, out := range outputs() {
		id := "c-" + out.Kind
		mustRegister(t, r, toolReg(id))
		first := mustComplete(t, r, id, out)
		other := out
		other.Control = raw(`{"different":true}`)
		_, err := r.CompleteProcess(t.Context(), id, other)
		wantErr(t, err, procreg.ErrReplayConflict, id, "a different "+out.Kind+" completion")
		wantSame(t, out.Kind+" record after conflict", mustGet(t, r, id), first)
	}
}

func testCompleteOtherKind(t *testing.T, r procreg.Registry) {
	outs := outputs()
	for _, out := range outs {
		id := "c-" + out.Kind
		mustRegister(t, r, toolReg(id))
		first := mustComplete(t, r, id, out)
		for _, other := range outs {
			if other.Kind == out.Kind {
				continue
			}
			_, err := r.CompleteProcess(t.Context(), id, other)
			wantErr(t, err, procreg.ErrTerminal, id, other.Kind+" completion after "+out.Kind)
		}
		wantSame(t, "record after other kinds", mustGet(t, r, id), first)
	}
}

func testCompleteInvalid(t *testing.T, r procreg.Registry) {
	_, err := r.CompleteProcess(t.Context(), "ghost", success(`1`))
	wantErr(t, err, procreg.ErrNotFound, "ghost", "CompleteProcess of an unknown process")
	mustRegister(t, r, toolReg("p1"))
	_, err = r.CompleteProcess(t.Context(), "p1", procreg.AwaitOutput{Kind: "exploded"})
	wantErr(t, err, procreg.ErrInvalid, "p1", "CompleteProcess with an unknown output kind")
	wantEqual(t, "status after invalid completion", mustGet(t, r, "p1").Status.State, procreg.StateRunning)
}

func recoveryRules() []rule {
	return []rule{
		{"FirstStartedFirstWriterWins", testFirstStarted},
		{"AbandonRequestFirstWriterWins", testAbandonRequest},
		{"AbandonRequestOnTerminal", testAbandonTerminal},
		{"WaitSetAndClear", testWait},
		{"WaitOnTerminal", testWaitTerminal},
		{"UnknownProcess", testRecoveryUnknown},
	}
}

func testFirstStarted(t *testing.T, r procreg.Registry) {
	before := mustRegister(t, r, toolReg("p1"))
	pause()
	s := procreg.Started{Owner: exampleOwner("w1"), At: time.Date(2026, 1, 2, 3, 4, 5, 678_901_234, time.FixedZone("X", 3600))}
	rec, err := r.RecordFirstStarted(t.Context(), "p1", s)
	wantOK(t, err, "RecordFirstStarted")
	want := procreg.Started{Owner: s.Owner, At: s.At.Truncate(time.Millisecond).UTC()}
	if rec.FirstStarted == nil {
		t.Fatal("FirstStarted = nil; want the stored fact")
	}
	wantSame(t, "FirstStarted", rec.FirstStarted, &want)
	if !rec.FirstStarted.At.Equal(want.At) || rec.FirstStarted.At.Location() != time.UTC {
		t.Errorf("FirstStarted.At = %v; want %v (truncated to ms, UTC)", rec.FirstStarted.At, want.At)
	}
	if !rec.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("UpdatedAt = %v; want bumped past %v", rec.UpdatedAt, before.UpdatedAt)
	}
	again, err := r.RecordFirstStarted(t.Context(), "p1", procreg.Started{Owner: exampleOwner("w2"), At: time.Now()})
	wantOK(t, err, "second RecordFirstStarted")
	wantSame(t, "record after a second writer", again, rec)
	wantSame(t, "stored record", mustGet(t, r, "p1"), rec)
}

func testAbandonRequest(t *testing.T, r procreg.Registry) {
	before := mustRegister(t, r, toolReg("p1"))
	pause()
	req := procreg.AbandonRequest{RequestedBy: "operator", RequestedAt: mustTime("2026-02-03T04:05:06.007Z"), Reason: "stuck"}
	rec, err := r.RequestProcessAbandon(t.Context(), "p1", req)
	wantOK(t, err, "RequestProcessAbandon")
	wantSame(t, "AbandonRequest", rec.AbandonRequest, &req)
	wantEqual(t, "status after abandon request", rec.Status.State, procreg.StateRunning)
	if !rec.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("UpdatedAt = %v; want bumped past %v", rec.UpdatedAt, before.UpdatedAt)
	}
	again, err := r.RequestProcessAbandon(t.Context(), "p1", procreg.AbandonRequest{RequestedBy: "other", RequestedAt: time.Now()})
	wantOK(t, err, "second RequestProcessAbandon")
	wantSame(t, "record after a second request", again, rec)
}

func testAbandonTerminal(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	done := mustComplete(t, r, "p1", success(`1`))
	_, err := r.RequestProcessAbandon(t.Context(), "p1", procreg.AbandonRequest{RequestedBy: "op", RequestedAt: time.Now()})
	wantErr(t, err, procreg.ErrTerminal, "p1", "RequestProcessAbandon on a terminal process")
	wantSame(t, "record after rejected request", mustGet(t, r, "p1"), done)
}

func testWait(t *testing.T, r procreg.Registry) {
	before := mustRegister(t, r, toolReg("p1"))
	pause()
	w := exampleWait()
	w.Ordinal = math.MaxUint64
	rec, err := r.SetProcessWait(t.Context(), "p1", w)
	wantOK(t, err, "SetProcessWait")
	wantSame(t, "Wait", rec.Wait, &w)
	wantSame(t, "stored Wait", mustGet(t, r, "p1").Wait, &w)
	if !rec.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("UpdatedAt = %v; want bumped past %v", rec.UpdatedAt, before.UpdatedAt)
	}
	w2 := exampleWait()
	w2.Key = "k2"
	rec, err = r.SetProcessWait(t.Context(), "p1", w2)
	wantOK(t, err, "SetProcessWait again")
	wantSame(t, "replaced Wait", rec.Wait, &w2)
	pause()
	cleared, err := r.ClearProcessWait(t.Context(), "p1")
	wantOK(t, err, "ClearProcessWait")
	if cleared.Wait != nil {
		t.Errorf("Wait = %+v; want nil after clearing", cleared.Wait)
	}
	if !cleared.UpdatedAt.After(rec.UpdatedAt) {
		t.Errorf("UpdatedAt = %v; want bumped past %v by clearing", cleared.UpdatedAt, rec.UpdatedAt)
	}
	pause()
	again, err := r.ClearProcessWait(t.Context(), "p1")
	wantOK(t, err, "ClearProcessWait without a wait")
	wantSame(t, "record after clearing no wait (nothing changed, UpdatedAt kept)", again, cleared)
}

func testWaitTerminal(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	mustComplete(t, r, "p1", success(`1`))
	_, err := r.SetProcessWait(t.Context(), "p1", exampleWait())
	wantErr(t, err, procreg.ErrTerminal, "p1", "SetProcessWait on a terminal process")
	rec, err := r.ClearProcessWait(t.Context(), "p1")
	wantOK(t, err, "ClearProcessWait on a terminal process")
	if rec.Wait != nil {
		t.Errorf("Wait = %+v; want nil", rec.Wait)
	}
}

func testRecoveryUnknown(t *testing.T, r procreg.Registry) {
	ctx := t.Context()
	_, err := r.RecordFirstStarted(ctx, "ghost", procreg.Started{Owner: exampleOwner("w"), At: time.Now()})
	wantErr(t, err, procreg.ErrNotFound, "ghost", "RecordFirstStarted on an unknown process")
	_, err = r.RequestProcessAbandon(ctx, "ghost", procreg.AbandonRequest{RequestedBy: "op", RequestedAt: time.Now()})
	wantErr(t, err, procreg.ErrNotFound, "ghost", "RequestProcessAbandon on an unknown process")
	_, err = r.SetProcessWait(ctx, "ghost", exampleWait())
	wantErr(t, err, procreg.ErrNotFound, "ghost", "SetProcessWait on an unknown process")
	_, err = r.ClearProcessWait(ctx, "ghost")
	wantErr(t, err, procreg.ErrNotFound, "ghost", "ClearProcessWait on an unknown process")
}

func listingRules() []rule {
	return []rule{
		{"ByStatus", testListByStatus},
		{"Waiting", testListWaiting},
		{"DefinitionByMeaning", testListDefinition},
		{"UnknownStatusIsInvalid", testListInvalid},
		{"NonTerminal", testListNonTerminal},
		{"SortedByteOrder", testListByteOrder},
	}
}

// mustList lists processes matching f.
func mustListProcesses(t *testing.T, r procreg.Registry, f procreg.ListFilter) []string {
	t.Helper()
	recs, err := r.ListProcesses(t.Context(), f)
	wantOK(t, err, "ListProcesses")
	return recordIDs(recs)
}

// registerEachState registers one process per state, named after it, plus
// a second running process "running2".
func registerEachState(t *testing.T, r procreg.Registry) {
	t.Helper()
	for _, id := range []string{"running2", "running", "completed", "failed", "cancelled", "abandoned"} {
		mustRegister(t, r, toolReg(id))
	}
	for _, out := range outputs() {
		mustComplete(t, r, stateOf[out.Kind], out)
	}
}

func testListByStatus(t *testing.T, r procreg.Registry) {
	registerEachState(t, r)
	cases := []struct {
		f    procreg.StatusFilter
		want []string
	}{
		{"", []string{"running", "running2"}},
		{procreg.StatusRunning, []string{"running", "running2"}},
		{procreg.StatusCompleted, []string{"completed"}},
		{procreg.StatusFailed, []string{"failed"}},
		{procreg.StatusCancelled, []string{"cancelled"}},
		{procreg.StatusAbandoned, []string{"abandoned"}},
		{procreg.StatusAny, []string{"abandoned", "cancelled", "completed", "failed", "running", "running2"}},
	}
	for _, c := range cases {
		wantStrings(t, "ListProcesses(status "+string(c.f)+")", mustListProcesses(t, r, procreg.ListFilter{Status: c.f}), c.want...)
	}
	recs, err := r.ListProcesses(t.Context(), procreg.ListFilter{Status: procreg.StatusCompleted})
	wantOK(t, err, "ListProcesses(completed)")
	if len(recs) == 1 {
		wantSame(t, "listed record", recs[0], mustGet(t, r, "completed"))
	}
}

func testListWaiting(t *testing.T, r procreg.Registry) {
	for _, id := range []string{"a", "b", "c"} {
		mustRegister(t, r, toolReg(id))
	}
	_, err := r.SetProcessWait(t.Context(), "b", exampleWait())
	wantOK(t, err, "SetProcessWait(b)")
	wantStrings(t, "waiting=true", mustListProcesses(t, r, procreg.ListFilter{Waiting: boolPtr(true)}), "b")
	wantStrings(t, "waiting=false", mustListProcesses(t, r, procreg.ListFilter{Waiting: boolPtr(false)}), "a", "c")
	wantStrings(t, "waiting unset", mustListProcesses(t, r, procreg.ListFilter{}), "a", "b", "c")
	_, err = r.ClearProcessWait(t.Context(), "b")
	wantOK(t, err, "ClearProcessWait(b)")
	wantStrings(t, "waiting=true after clear", mustListProcesses(t, r, procreg.ListFilter{Waiting: boolPtr(true)}))
}

func testListDefinition(t *testing.T, r procreg.Registry) {
	defs := map[string]string{
		"a": `{"name":"build","params":{"x":1,"y":[1,2]}}`,
		"b": `{"params":{"y":[1,2],"x":1},"name":"build"}`,
		"c": `{"name":"test"}`,
		"d": ``,
	}
	for id, def := range defs {
		reg := toolReg(id)
		reg.Identity = procreg.Identity{Kind: "job", Definition: raw(def)}
		mustRegister(t, r, reg)
	}
	mustComplete(t, r, "b", success(`1`))
	f := procreg.ListFilter{Definition: raw("{ \"params\": {\"y\": [1, 2], \"x\": 1},\n \"name\": \"build\" }")}
	wantStrings(t, "running with definition (by meaning)", mustListProcesses(t, r, f), "a")
	f.Status = procreg.StatusAny
	wantStrings(t, "any status with definition", mustListProcesses(t, r, f), "a", "b")
	wantStrings(t, "other definition", mustListProcesses(t, r, procreg.ListFilter{Definition: raw(`{"name":"test"}`)}), "c")
	wantStrings(t, "unmatched definition", mustListProcesses(t, r, procreg.ListFilter{Definition: raw(`{"name":"build"}`)}))
	wantStrings(t, "null definition filter means no filter", mustListProcesses(t, r, procreg.ListFilter{Definition: raw(`null`)}), "a", "c", "d")
}

func testListInvalid(t *testing.T, r procreg.Registry) {
	_, err := r.ListProcesses(t.Context(), procreg.ListFilter{Status: "sleeping"})
	wantErr(t, err, procreg.ErrInvalid, "", "ListProcesses with an unknown status filter")
}

func testListNonTerminal(t *testing.T, r procreg.Registry) {
	recs, err := r.ListNonTerminal(t.Context())
	wantOK(t, err, "ListNonTerminal on an empty registry")
	wantStrings(t, "ListNonTerminal on an empty registry", recordIDs(recs))
	registerEachState(t, r)
	_, err = r.SetProcessWait(t.Context(), "running2", exampleWait())
	wantOK(t, err, "SetProcessWait")
	recs, err = r.ListNonTerminal(t.Context())
	wantOK(t, err, "ListNonTerminal")
	wantStrings(t, "ListNonTerminal", recordIDs(recs), "running", "running2")
	if len(recs) == 2 {
		wantSame(t, "listed waiting record", recs[1], mustGet(t, r, "running2"))
	}
}

func testListByteOrder(t *testing.T, r procreg.Registry) {
	for _, id := range []string{"proc", "Proc", "proc ", "b", "Z", "é", "a_b", "a%b"} {
		mustRegister(t, r, toolReg(id))
	}
	want := []string{"Proc", "Z", "a%b", "a_b", "b", "proc", "proc ", "é"}
	wantStrings(t, "ListProcesses in byte order", mustListProcesses(t, r, procreg.ListFilter{}), want...)
	recs, err := r.ListNonTerminal(t.Context())
	wantOK(t, err, "ListNonTerminal")
	wantStrings(t, "ListNonTerminal in byte order", recordIDs(recs), want...)
}
