package conformance

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

func edgeRules() []rule {
	return []rule{
		{"DurabilityTier", testTier},
		{"CaseAndTrailingSpaceAreDistinctIDs", testDistinctIDs},
		{"SpecialCharactersAreData", testSpecialIDs},
		{"TimestampsUTCMillisecond", testTimestamps},
		{"CancelledContextWritesNothing", testCancelledWrites},
		{"CancelledContextReads", testCancelledReads},
		{"BlankIDIsInvalid", testBlankIDs},
		{"StoredTextIsUTF8WithoutNUL", testNULText},
		{"NULInJSONIsData", testNULInJSON},
		{"NamesAtMost1024Bytes", testLongNames},
		{"SessionIDWithoutFrameSeparator", testFrameSeparator},
		{"JSONNumbersCompareByValue", testNumbersByValue},
		{"JSONNumbersInRange", testNumbersInRange},
		{"RecordsAreCopies", testRecordsAreCopies},
	}
}

func testTier(t *testing.T, r procreg.Registry) {
	switch tier := r.DurabilityTier(); tier {
	case procreg.TierInline, procreg.TierDurable:
	default:
		t.Errorf("DurabilityTier() = %v; want TierInline or TierDurable", tier)
	}
}

func testDistinctIDs(t *testing.T, r procreg.Registry) {
	ids := []string{"proc", "Proc", "proc "}
	for i, id := range ids {
		reg := eventReg(id)
		reg.EnvRef = "env:" + itoa(i)
		mustRegister(t, r, reg)
		appendNotes(t, r, id, i+1)
		mustGrant(t, r, scopeS1, id, procreg.HandleDescriptor{Kind: "k", Label: id})
	}
	for i, id := range ids {
		rec := mustGet(t, r, id)
		wantEqual(t, "id read back", rec.ID, id)
		wantEqual(t, "EnvRef of "+id, rec.EnvRef, "env:"+itoa(i))
		if n := len(mustEvents(t, r, id, 0)); n != i+1 {
			t.Errorf("events of %q = %d; want %d", id, n, i+1)
		}
	}
	wantStrings(t, "grants in byte order", entryIDs(mustList(t, r, scopeS1)), "Proc", "proc", "proc ")
	mustComplete(t, r, "proc ", success(`1`))
	wantEqual(t, "status of \"proc\" after completing \"proc \"", mustGet(t, r, "proc").Status.State, procreg.StateRunning)
	_, err := r.GetProcess(t.Context(), "PROC")
	wantErr(t, err, procreg.ErrNotFound, "PROC", "GetProcess(\"PROC\")")
}

func testSpecialIDs(t *testing.T, r procreg.Registry) {
	ids := []string{`it's`, `say "hi"`, `back\slash`, `100%`, `under_score`, `semi;colon' OR '1'='1`, `--comment`,
		"tab\there", "new\nline", "日本語", "emoji 🎉", "\x01ctrl", `{"json":true}`, `$1`, `?`, `*`}
	for _, id := range ids {
		mustRegister(t, r, eventReg(id))
		res := mustAppend(t, r, id, appendReq(noteType, `{"id":"x"}`))
		wantEqual(t, "event process id", res.Event.ProcessID, id)
		session := "s-" + id
		mustGrant(t, r, procreg.SessionScope{SessionID: session, AgentFrameID: id}, id, descA)
		if got := mustGet(t, r, id); got.ID != id {
			t.Errorf("GetProcess(%q).ID = %q; want it unchanged", id, got.ID)
		}
	}
	for _, absent := range []string{"100_", "100", "under%", "under_scor_", `back\\slash`, "%", "_"} {
		_, err := r.GetProcess(t.Context(), absent)
		wantErr(t, err, procreg.ErrNotFound, absent, "GetProcess of an id that only matches as a pattern")
	}
	rep, err := r.DeleteSessionProcessState(t.Context(), "s-100_")
	wantOK(t, err, "DeleteSessionProcessState(s-100_)")
	wantEqual(t, "grants revoked by a session id that only matches as a pattern", rep.RevokedHandles, 0)
	rep, err = r.DeleteSessionProcessState(t.Context(), "s-100%")
	wantOK(t, err, "DeleteSessionProcessState(s-100%)")
	wantEqual(t, "grants revoked for session s-100%", rep.RevokedHandles, 1)
	wantStrings(t, "orphaned by deleting s-100%", rep.OrphanedProcessIDs, "100%")
	recs, err := r.ListProcesses(t.Context(), procreg.ListFilter{})
	wantOK(t, err, "ListProcesses")
	got := recordIDs(recs)
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			t.Errorf("ListProcesses order %q before %q; want byte order", got[i-1], got[i])
		}
	}
	if len(got) != len(ids) {
		t.Errorf("ListProcesses = %d processes; want %d", len(got), len(ids))
	}
}

func testTimestamps(t *testing.T, r procreg.Registry) {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	odd := time.Date(2026, 7, 8, 9, 10, 11, 123_987_654, zone) // rounding would give .124
	want := odd.Truncate(time.Millisecond).UTC()
	rec := mustRegister(t, r, eventReg("p1"))
	wantTime(t, "CreatedAt", rec.CreatedAt)
	wantTime(t, "UpdatedAt", rec.UpdatedAt)
	res := mustAppend(t, r, "p1", appendReq(noteType, `{}`))
	wantTime(t, "OccurredAt", res.Event.OccurredAt)

	rec, err := r.RecordFirstStarted(t.Context(), "p1", procreg.Started{Owner: exampleOwner("w"), At: odd})
	wantOK(t, err, "RecordFirstStarted")
	rec, err = r.RequestProcessAbandon(t.Context(), "p1", procreg.AbandonRequest{RequestedBy: "op", RequestedAt: odd})
	wantOK(t, err, "RequestProcessAbandon")
	w := exampleWait()
	w.Since = odd
	rec, err = r.SetProcessWait(t.Context(), "p1", w)
	wantOK(t, err, "SetProcessWait")
	got := mustGet(t, r, "p1")
	wantSame(t, "record read back equals the record written", got, rec)
	for what, tm := range map[string]time.Time{
		"FirstStarted.At": got.FirstStarted.At, "AbandonRequest.RequestedAt": got.AbandonRequest.RequestedAt, "Wait.Since": got.Wait.Since,
	} {
		if !tm.Equal(want) || tm.Location() != time.UTC {
			t.Errorf("%s = %v; want %v (truncated, not rounded, to ms; UTC)", what, tm, want)
		}
	}
	wantTime(t, "UpdatedAt", got.UpdatedAt)

	mustRegister(t, r, toolReg("p2"))
	out := procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{Writer: procreg.WriterSweep, At: odd}}
	done := mustComplete(t, r, "p2", out)
	if ev := done.Status.AwaitOutput; ev == nil || ev.Evidence == nil || !ev.Evidence.At.Equal(want) || ev.Evidence.At.Location() != time.UTC {
		t.Errorf("abandon evidence read back as %+v; want At %v", ev, want)
	}
	l := mustAcquire(t, r, "p1", selfOwner(t, "w"), time.Minute)
	wantTime(t, "lease ClaimedAt", l.ClaimedAt)
	wantTime(t, "lease ExpiresAt", l.ExpiresAt)
}

// cancelled returns a context that is already cancelled.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// wantCanceled checks that err wraps context.Canceled.
func wantCanceled(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%s with a cancelled context: got %v; want an error wrapping context.Canceled", what, err)
	}
}

// snapshot captures everything observable about the given processes.
func snapshot(t *testing.T, r procreg.Registry, ids ...string) map[string]any {
	t.Helper()
	out := map[string]any{}
	all, err := r.ListProcesses(t.Context(), procreg.ListFilter{Status: procreg.StatusAny})
	wantOK(t, err, "ListProcesses(any)")
	out["list"] = all
	for _, id := range ids {
		rec, err := r.GetProcess(t.Context(), id)
		out[id+"/record"] = rec
		out[id+"/err"] = err != nil
		if err != nil {
			continue
		}
		out[id+"/events"] = mustEvents(t, r, id, 0)
		out[id+"/wakes"] = mustWakeEvents(t, r, id, 0)
		out[id+"/lease"] = mustLease(t, r, id)
		grants, err := r.HandleGrantsForProcess(t.Context(), id)
		wantOK(t, err, "HandleGrantsForProcess")
		out[id+"/grants"] = grants
	}
	return out
}

func testCancelledWrites(t *testing.T, r procreg.Registry) {
	reg := toolReg("p1", eventType(noteType), wakeType("ping", procreg.WakeSpec{Input: constSel(`"x"`)}))
	mustRegister(t, r, reg)
	mustRegister(t, r, toolReg("p2"))
	mustRegister(t, r, toolReg("old"))
	mustAppend(t, r, "p1", appendReq("ping", `{}`))
	mustGrant(t, r, scopeS1, "p1", descA)
	_, err := r.SetProcessWait(t.Context(), "p1", exampleWait())
	wantOK(t, err, "SetProcessWait")
	held := mustAcquire(t, r, "p1", deadOwner(t, "dead"), time.Hour)
	mustComplete(t, r, "old", success(`1`))
	me := selfOwner(t, "me")

	ops := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"RegisterProcess", func(ctx context.Context) error { _, err := r.RegisterProcess(ctx, toolReg("new")); return err }},
		{"SetExternalRef", func(ctx context.Context) error { _, err := r.SetExternalRef(ctx, "p1", exampleRef()); return err }},
		{"GrantHandle", func(ctx context.Context) error { _, err := r.GrantHandle(ctx, scopeS2, "p1", descB); return err }},
		{"RevokeHandle", func(ctx context.Context) error { return r.RevokeHandle(ctx, scopeS1, "p1") }},
		{"TransferHandleGrants", func(ctx context.Context) error {
			return r.TransferHandleGrants(ctx, scopeS1, scopeS2, []string{"p1"})
		}},
		{"DeleteSessionProcessState", func(ctx context.Context) error { _, err := r.DeleteSessionProcessState(ctx, "s1"); return err }},
		{"AppendEvent", func(ctx context.Context) error {
			_, err := r.AppendEvent(ctx, "p1", appendReq(noteType, `{}`))
			return err
		}},
		{"CompleteProcess", func(ctx context.Context) error { _, err := r.CompleteProcess(ctx, "p1", success(`1`)); return err }},
		{"RecordFirstStarted", func(ctx context.Context) error {
			_, err := r.RecordFirstStarted(ctx, "p1", procreg.Started{Owner: me, At: time.Now()})
			return err
		}},
		{"RequestProcessAbandon", func(ctx context.Context) error {
			_, err := r.RequestProcessAbandon(ctx, "p1", procreg.AbandonRequest{RequestedBy: "op", RequestedAt: time.Now()})
			return err
		}},
		{"SetProcessWait", func(ctx context.Context) error { _, err := r.SetProcessWait(ctx, "p2", exampleWait()); return err }},
		{"ClearProcessWait", func(ctx context.Context) error { _, err := r.ClearProcessWait(ctx, "p1"); return err }},
		{"AckWake", func(ctx context.Context) error { return r.AckWake(ctx, "p1", 1) }},
		{"ClaimProcessLease", func(ctx context.Context) error { _, err := r.ClaimProcessLease(ctx, "p2", me, time.Minute); return err }},
		{"ReclaimProcessLease", func(ctx context.Context) error {
			_, err := r.ReclaimProcessLease(ctx, "p1", me, held, time.Minute)
			return err
		}},
		{"RenewProcessLease", func(ctx context.Context) error { _, err := r.RenewProcessLease(ctx, held, 2*time.Hour); return err }},
		{"CompleteProcessLease", func(ctx context.Context) error {
			return r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "p1", Token: held.Token})
		}},
		{"PruneTerminalProcesses", func(ctx context.Context) error { _, err := r.PruneTerminalProcesses(ctx, farFuture); return err }},
		{"RegisterProcesses", func(ctx context.Context) error {
			_, err := r.RegisterProcesses(ctx, []procreg.Registration{toolReg("new")})
			return err
		}},
		{"ClaimNext", func(ctx context.Context) error {
			_, err := r.ClaimNext(ctx, me, time.Minute, procreg.ListFilter{}, 10)
			return err
		}},
	}
	for _, op := range ops {
		before := snapshot(t, r, "p1", "p2", "old", "new")
		wantCanceled(t, op.call(cancelled(t)), op.name)
		wantSame(t, op.name+" with a cancelled context wrote something; state", snapshot(t, r, "p1", "p2", "old", "new"), before)
	}
}

func testCancelledReads(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, eventReg("p1"))
	ops := map[string]func(ctx context.Context) error{
		"GetProcess":             func(ctx context.Context) error { _, err := r.GetProcess(ctx, "p1"); return err },
		"ListProcesses":          func(ctx context.Context) error { _, err := r.ListProcesses(ctx, procreg.ListFilter{}); return err },
		"ListNonTerminal":        func(ctx context.Context) error { _, err := r.ListNonTerminal(ctx); return err },
		"EventsAfter":            func(ctx context.Context) error { _, err := r.EventsAfter(ctx, "p1", 0); return err },
		"WakeEventsAfter":        func(ctx context.Context) error { _, err := r.WakeEventsAfter(ctx, "p1", 0); return err },
		"CountEventsThrough":     func(ctx context.Context) error { _, err := r.CountEventsThrough(ctx, "p1", noteType, 1); return err },
		"RecentEvents":           func(ctx context.Context) error { _, err := r.RecentEvents(ctx, "p1", 1); return err },
		"ListHandleGrants":       func(ctx context.Context) error { _, err := r.ListHandleGrants(ctx, scopeS1); return err },
		"ListLiveHandleGrants":   func(ctx context.Context) error { _, err := r.ListLiveHandleGrants(ctx, scopeS1); return err },
		"HasHandleGrant":         func(ctx context.Context) error { _, err := r.HasHandleGrant(ctx, scopeS1, "p1"); return err },
		"HandleGrantsForProcess": func(ctx context.Context) error { _, err := r.HandleGrantsForProcess(ctx, "p1"); return err },
		"GetProcessLease":        func(ctx context.Context) error { _, err := r.GetProcessLease(ctx, "p1"); return err },
	}
	for name, call := range ops {
		err := call(cancelled(t))
		wantCanceled(t, err, name)
		if err != nil && !strings.Contains(err.Error(), "cancel") {
			t.Errorf("%s: error %q; want it to say the context was cancelled", name, err)
		}
	}
}

// badInputFixture registers p1 (with a wake type, a grant, a lease, an
// event) so that rejected calls have something they could wrongly change.
func badInputFixture(t *testing.T, r procreg.Registry) procreg.Lease {
	t.Helper()
	mustRegister(t, r, toolReg("p1", eventType(noteType), wakeType("ping", procreg.WakeSpec{Input: pointerSel("/msg")})))
	mustAppend(t, r, "p1", appendReq(noteType, `{}`))
	mustGrant(t, r, scopeS1, "p1", descA)
	return mustAcquire(t, r, "p1", exampleOwner("w"), time.Hour)
}

// wantRejected runs each call and checks that it is ErrInvalid (naming id
// when id is not empty) and that it changed nothing observable.
func wantRejected(t *testing.T, r procreg.Registry, id string, calls map[string]func(ctx context.Context) error) {
	t.Helper()
	for name, call := range calls {
		before := snapshot(t, r, "p1")
		err := call(t.Context())
		wantErrNamed(t, err, procreg.ErrInvalid, id, name)
		wantSame(t, name+" was rejected but changed the state", snapshot(t, r, "p1"), before)
	}
}

// wantErrNamed is wantErr that reports instead of stopping, so one case's
// failure does not hide the others.
func wantErrNamed(t *testing.T, err, sentinel error, id, what string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: got %v; want an error wrapping %v", what, err, sentinel)
		return
	}
	if id != "" && !namesID(err.Error(), id) {
		t.Errorf("%s: error %q does not name the process id %q", what, err.Error(), id)
	}
}

// processIDCalls calls every method that takes a process id with id.
func processIDCalls(r procreg.Registry, id string, held procreg.Lease) map[string]func(ctx context.Context) error {
	me := exampleOwner("me")
	return map[string]func(ctx context.Context) error{
		"RegisterProcess": func(ctx context.Context) error { _, err := r.RegisterProcess(ctx, toolReg(id)); return err },
		"GetProcess":      func(ctx context.Context) error { _, err := r.GetProcess(ctx, id); return err },
		"AppendEvent": func(ctx context.Context) error {
			_, err := r.AppendEvent(ctx, id, appendReq(noteType, `{}`))
			return err
		},
		"CompleteProcess":        func(ctx context.Context) error { _, err := r.CompleteProcess(ctx, id, success(`1`)); return err },
		"SetExternalRef":         func(ctx context.Context) error { _, err := r.SetExternalRef(ctx, id, exampleRef()); return err },
		"GrantHandle":            func(ctx context.Context) error { _, err := r.GrantHandle(ctx, scopeS2, id, descB); return err },
		"RevokeHandle":           func(ctx context.Context) error { return r.RevokeHandle(ctx, scopeS1, id) },
		"HasHandleGrant":         func(ctx context.Context) error { _, err := r.HasHandleGrant(ctx, scopeS1, id); return err },
		"HandleGrantsForProcess": func(ctx context.Context) error { _, err := r.HandleGrantsForProcess(ctx, id); return err },
		"TransferHandleGrants": func(ctx context.Context) error {
			return r.TransferHandleGrants(ctx, scopeS1, scopeS2, []string{"p1", id})
		},
		"EventsAfter":        func(ctx context.Context) error { _, err := r.EventsAfter(ctx, id, 0); return err },
		"WakeEventsAfter":    func(ctx context.Context) error { _, err := r.WakeEventsAfter(ctx, id, 0); return err },
		"CountEventsThrough": func(ctx context.Context) error { _, err := r.CountEventsThrough(ctx, id, noteType, 9); return err },
		"RecentEvents":       func(ctx context.Context) error { _, err := r.RecentEvents(ctx, id, 5); return err },
		"AckWake":            func(ctx context.Context) error { return r.AckWake(ctx, id, 1) },
		"RecordFirstStarted": func(ctx context.Context) error {
			_, err := r.RecordFirstStarted(ctx, id, procreg.Started{Owner: me, At: time.Now()})
			return err
		},
		"RequestProcessAbandon": func(ctx context.Context) error {
			_, err := r.RequestProcessAbandon(ctx, id, procreg.AbandonRequest{RequestedBy: "op", RequestedAt: time.Now()})
			return err
		},
		"SetProcessWait":    func(ctx context.Context) error { _, err := r.SetProcessWait(ctx, id, exampleWait()); return err },
		"ClearProcessWait":  func(ctx context.Context) error { _, err := r.ClearProcessWait(ctx, id); return err },
		"ClaimProcessLease": func(ctx context.Context) error { _, err := r.ClaimProcessLease(ctx, id, me, time.Minute); return err },
		"ReclaimProcessLease": func(ctx context.Context) error {
			_, err := r.ReclaimProcessLease(ctx, id, me, held, time.Minute)
			return err
		},
		"RenewProcessLease": func(ctx context.Context) error {
			l := held
			l.ProcessID = id
			_, err := r.RenewProcessLease(ctx, l, time.Hour)
			return err
		},
		"GetProcessLease": func(ctx context.Context) error { _, err := r.GetProcessLease(ctx, id); return err },
		"CompleteProcessLease": func(ctx context.Context) error {
			return r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: id, Token: held.Token})
		},
	}
}

// testBlankIDs: an empty or white-space-only process id can never name a
// process (registration trims), so every method rejects it as ErrInvalid,
// including the lease reads and releases that forgive unknown ids.
func testBlankIDs(t *testing.T, r procreg.Registry) {
	held := badInputFixture(t, r)
	for _, id := range []string{"", " ", "\t\n "} {
		t.Run(strconv.Quote(id), func(t *testing.T) {
			wantRejected(t, r, "", processIDCalls(r, id, held))
		})
	}
	// A well-formed unknown id keeps the contract's forgiving answers.
	l, err := r.GetProcessLease(t.Context(), "ghost")
	wantOK(t, err, "GetProcessLease(ghost)")
	if l != nil {
		t.Errorf("GetProcessLease(ghost) = %+v; want nil", l)
	}
	wantOK(t, r.CompleteProcessLease(t.Context(), procreg.LeaseCompletion{ProcessID: "ghost", Token: "t"}), "CompleteProcessLease(ghost)")
}

// testNULText: a string the registry stores as a column or key may not
// contain U+0000, and stored text and JSON documents must be valid UTF-8,
// on every backend alike (PostgreSQL TEXT rejects both).
func testNULText(t *testing.T, r procreg.Registry) {
	held := badInputFixture(t, r)
	t.Run("ProcessID", func(t *testing.T) {
		wantRejected(t, r, "", processIDCalls(r, "p\x001", held))
	})
	nulOwner := exampleOwner("me")
	nulOwner.IncarnationID = "inc\x00"
	nulScope := procreg.SessionScope{SessionID: "s\x001"}
	nulFrame := procreg.SessionScope{SessionID: "s1", AgentFrameID: "f\x00"}
	wantRejected(t, r, "p1", map[string]func(ctx context.Context) error{
		"AppendEvent event type": func(ctx context.Context) error {
			_, err := r.AppendEvent(ctx, "p1", appendReq(noteType+"\x00", `{}`))
			return err
		},
		"AppendEvent replay key": func(ctx context.Context) error {
			req := appendReq(noteType, `{}`)
			req.ReplayKey = "k\x00"
			_, err := r.AppendEvent(ctx, "p1", req)
			return err
		},
		"AppendEvent wake target session id": func(ctx context.Context) error {
			req := appendReq("ping", `{"msg":"m"}`)
			req.WakeTarget = &nulScope
			_, err := r.AppendEvent(ctx, "p1", req)
			return err
		},
		"AppendEvent wake input selected from a NUL string": func(ctx context.Context) error {
			_, err := r.AppendEvent(ctx, "p1", appendReq("ping", `{"msg":"a\u0000b"}`))
			return err
		},
		"AppendEvent payload that is not UTF-8": func(ctx context.Context) error {
			_, err := r.AppendEvent(ctx, "p1", appendReq(noteType, "{\"s\":\"\xff\"}"))
			return err
		},
		"CountEventsThrough event type": func(ctx context.Context) error {
			_, err := r.CountEventsThrough(ctx, "p1", noteType+"\x00", 9)
			return err
		},
		"GrantHandle session id": func(ctx context.Context) error {
			_, err := r.GrantHandle(ctx, nulScope, "p1", descA)
			return err
		},
		"GrantHandle agent frame id": func(ctx context.Context) error {
			_, err := r.GrantHandle(ctx, nulFrame, "p1", descA)
			return err
		},
		"GrantHandle descriptor label": func(ctx context.Context) error {
			_, err := r.GrantHandle(ctx, scopeS2, "p1", procreg.HandleDescriptor{Kind: "tool", Label: "A\x00"})
			return err
		},
		"HasHandleGrant session id": func(ctx context.Context) error { _, err := r.HasHandleGrant(ctx, nulScope, "p1"); return err },
		"SetExternalRef id": func(ctx context.Context) error {
			ref := exampleRef()
			ref.ID = "job\x007"
			_, err := r.SetExternalRef(ctx, "p1", ref)
			return err
		},
		"RequestProcessAbandon reason": func(ctx context.Context) error {
			_, err := r.RequestProcessAbandon(ctx, "p1", procreg.AbandonRequest{RequestedBy: "op", Reason: "why\x00", RequestedAt: time.Now()})
			return err
		},
		"SetProcessWait key": func(ctx context.Context) error {
			w := exampleWait()
			w.Key = "k\x00"
			_, err := r.SetProcessWait(ctx, "p1", w)
			return err
		},
		"RecordFirstStarted owner": func(ctx context.Context) error {
			_, err := r.RecordFirstStarted(ctx, "p1", procreg.Started{Owner: nulOwner, At: time.Now()})
			return err
		},
		"ReclaimProcessLease owner": func(ctx context.Context) error {
			_, err := r.ReclaimProcessLease(ctx, "p1", nulOwner, held, time.Minute)
			return err
		},
	})
	wantRejected(t, r, "", map[string]func(ctx context.Context) error{
		"ListHandleGrants session id": func(ctx context.Context) error { _, err := r.ListHandleGrants(ctx, nulScope); return err },
		"DeleteSessionProcessState session id": func(ctx context.Context) error {
			_, err := r.DeleteSessionProcessState(ctx, "s1\x00")
			return err
		},
		"TransferHandleGrants target session id": func(ctx context.Context) error {
			return r.TransferHandleGrants(ctx, scopeS1, nulScope, []string{"p1"})
		},
	})
	regs := map[string]func(g *procreg.Registration){
		"EventTypeName":       func(g *procreg.Registration) { g.EventTypes = []procreg.EventType{eventType("note\x00")} },
		"EnvRef":              func(g *procreg.Registration) { g.EnvRef = "env\x00" },
		"InputPayloadNotUTF8": func(g *procreg.Registration) { g.Input.Payload = raw("{\"s\":\"\xff\"}") },
		"IdentityLabel":       func(g *procreg.Registration) { g.Identity = procreg.Identity{Kind: "tool", Label: "l\x00"} },
		"WakeTarget":          func(g *procreg.Registration) { g.WakeTarget = &nulFrame },
		"ConstDedupeKey": func(g *procreg.Registration) {
			g.EventTypes = []procreg.EventType{wakeType("w", procreg.WakeSpec{Input: constSel(`1`),
				DedupeKey: procreg.DedupeKey{Kind: procreg.DedupeConst, Const: "k\x00"}})}
		},
	}
	wantRegistrationsRejected(t, r, "bad text in", regs)
}

// wantRegistrationsRejected registers toolReg("v-<name>") changed by each
// change and checks it is ErrInvalid naming the id, with nothing stored.
func wantRegistrationsRejected(t *testing.T, r procreg.Registry, what string, changes map[string]func(g *procreg.Registration)) {
	t.Helper()
	for name, change := range changes {
		reg := toolReg("v-" + name)
		change(&reg)
		_, err := r.RegisterProcess(t.Context(), reg)
		wantErrNamed(t, err, procreg.ErrInvalid, reg.ID, "RegisterProcess with "+what+" "+name)
		if _, err := r.GetProcess(t.Context(), reg.ID); !errors.Is(err, procreg.ErrNotFound) {
			t.Errorf("RegisterProcess with %s %s: GetProcess after = %v; want ErrNotFound (nothing stored)", what, name, err)
		}
	}
}

// testNULInJSON: JSON documents are data: a string holding U+0000 (escaped
// as \u0000 in JSON text) round-trips in payloads, outputs, metadata and
// the registration's JSON fields on every backend.
func testNULInJSON(t *testing.T, r procreg.Registry) {
	const doc = `{"s":"a\u0000b","k\u0000":["\u0000"]}`
	reg := toolReg("p1", eventType(noteType), wakeType("ping", procreg.WakeSpec{Input: pointerSel("/o")}))
	reg.Input.Payload = raw(doc)
	reg.Identity = procreg.Identity{Kind: "tool", Definition: raw(doc)}
	reg.Provenance.CausedBy = raw(doc)
	rec := mustRegister(t, r, reg)
	wantSame(t, "input payload with U+0000", rec.Input.Payload, raw(doc))

	res := mustAppend(t, r, "p1", appendReq(noteType, doc))
	wantSame(t, "appended payload with U+0000", res.Event.Payload, raw(doc))
	// An object's compact JSON text escapes U+0000, so a wake input that
	// selects one stays storable.
	wake := mustAppend(t, r, "p1", appendReq("ping", `{"o":`+doc+`}`))
	if wake.Event.Wake == nil {
		t.Fatalf("wake event stored without wake semantics")
	}
	ref := exampleRef()
	ref.Metadata = raw(doc)
	_, err := r.SetExternalRef(t.Context(), "p1", ref)
	wantOK(t, err, "SetExternalRef with U+0000 in metadata")
	done := mustComplete(t, r, "p1", success(doc))

	evs := mustEvents(t, r, "p1", 0)
	if len(evs) != 3 {
		t.Fatalf("events read back = %d; want 3", len(evs))
	}
	wantSame(t, "payload read back", evs[0].Payload, raw(doc))
	wantSame(t, "wake event read back", evs[1], wake.Event)
	wantSame(t, "wake events read back", mustWakeEvents(t, r, "p1", 0), []procreg.Event{wake.Event})
	got := mustGet(t, r, "p1")
	wantSame(t, "record read back", got, done)
	wantSame(t, "definition read back", got.Identity.Definition, raw(doc))
	wantSame(t, "external ref metadata read back", got.ExternalRef.Metadata, raw(doc))
	if out := got.Status.AwaitOutput; out == nil || !sameMeaning(t, out.Value, raw(doc)) {
		t.Errorf("await output read back = %+v; want value %s", out, doc)
	}
	recs, err := r.ListProcesses(t.Context(), procreg.ListFilter{Status: procreg.StatusAny, Definition: raw(doc)})
	wantOK(t, err, "ListProcesses by a definition with U+0000")
	wantStrings(t, "processes matching the definition", recordIDs(recs), "p1")
}
