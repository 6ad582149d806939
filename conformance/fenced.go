package conformance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// Fenced writes (SPEC §10): AppendEventWithLease and
// CompleteProcessWithLease write only under the live lease, checked in the
// write's own transaction; everything else is ErrLeaseLost and writes
// nothing. Expiry uses short ttls and ttl 0 (on the servers the lease
// clock is the database clock, which a test cannot move).

func fencedRules() []rule {
	return []rule{
		{"HolderAppendsAndCompletes", testFencedHolder},
		{"SupersededHolderWritesNothing", testFencedSuperseded},
		{"ExpiredHolderWritesNothing", testFencedExpired},
		{"ForgedLeaseWritesNothing", testFencedForged},
		{"UnknownUnleasedOrReleased", testFencedNoLease},
		{"TerminalProcess", testFencedTerminal},
		{"IdenticalCompletionRepeats", testFencedRepeat},
		{"DifferentCompletionAfterSuccess", testFencedDifferent},
		{"ReplayKeyReplays", testFencedReplay},
		{"RefusedCompletionKeepsTheLease", testFencedRefusedKeepsLease},
	}
}

// fencedAppend is a fenced note append.
func fencedAppend(r procreg.Registry, l procreg.Lease, payload string) error {
	_, err := r.AppendEventWithLease(context.Background(), l, appendReq(noteType, payload))
	return err
}

// wantUntouched checks that process id still runs with no events.
func wantUntouched(t *testing.T, r procreg.Registry, id, what string) {
	t.Helper()
	if evs := mustEvents(t, r, id, 0); len(evs) != 0 {
		t.Errorf("%s: %d event(s) stored (%s first); want none", what, len(evs), evs[0].EventType)
	}
	if rec := mustGet(t, r, id); rec.Status.State != procreg.StateRunning {
		t.Errorf("%s: status %s; want running", what, rec.Status.State)
	}
}

// refusedWrites tries a fenced append and a fenced completion with l and
// checks that both are ErrLeaseLost and wrote nothing.
func refusedWrites(t *testing.T, r procreg.Registry, l procreg.Lease, what string) {
	t.Helper()
	wantLeaseLost(t, fencedAppend(r, l, `{"n":1}`), l.ProcessID, "fenced append "+what)
	_, err := r.CompleteProcessWithLease(t.Context(), l, success(`1`))
	wantLeaseLost(t, err, l.ProcessID, "fenced completion "+what)
	wantUntouched(t, r, l.ProcessID, what)
}

func testFencedHolder(t *testing.T, r procreg.Registry) {
	ctx := t.Context()
	mustRegister(t, r, toolReg("p1", eventType(noteType)))
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), time.Minute)
	res, err := r.AppendEventWithLease(ctx, l, appendReq(noteType, `{"n":1}`))
	wantOK(t, err, "AppendEventWithLease by the holder")
	wantEqual(t, "sequence of the fenced append", res.Event.Sequence, uint64(1))
	wantSame(t, "payload of the fenced append", res.Event.Payload, raw(`{"n":1}`))
	// A renewed copy and the original copy are the same lease (the check
	// ignores ExpiresAt).
	renewed, err := r.RenewProcessLease(ctx, l, 2*time.Minute)
	wantOK(t, err, "RenewProcessLease")
	wantOK(t, fencedAppend(r, l, `{"n":2}`), "fenced append with the copy from before the renewal")
	rec, err := r.CompleteProcessWithLease(ctx, renewed, success(`{"ok":true}`))
	wantOK(t, err, "CompleteProcessWithLease by the holder")
	wantEqual(t, "status after the fenced completion", rec.Status.State, procreg.StateCompleted)
	wantSame(t, "await output", rec.Status.AwaitOutput, success(`{"ok":true}`))
	wantSame(t, "record returned and stored", mustGet(t, r, "p1"), rec)
	evs := mustEvents(t, r, "p1", 0)
	wantSeqs(t, "events", evs, 1, 2, 3)
	wantEqual(t, "terminal event type", evs[2].EventType, procreg.EventCompleted)
	wantEqual(t, "terminal event replay key", evs[2].ReplayKey, "process:p1:terminal:"+procreg.EventCompleted)
	if got := mustLease(t, r, "p1"); got != nil {
		t.Errorf("lease after the fenced completion = %+v; want released (nil)", got)
	}
}

func testFencedSuperseded(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1", eventType(noteType)))
	a := mustAcquire(t, r, "p1", selfOwner(t, "w1"), 0)
	b := mustAcquire(t, r, "p1", selfOwner(t, "w2"), time.Minute)
	refusedWrites(t, r, a, "by a holder another owner superseded")
	wantSame(t, "lease after refused writes", mustLease(t, r, "p1"), &b)
	// The same incarnation claiming again after expiry gets a new fencing
	// token: its old copy is stale too.
	mustRegister(t, r, toolReg("p2", eventType(noteType)))
	o := selfOwner(t, "w3")
	old := mustAcquire(t, r, "p2", o, 0)
	cur := mustAcquire(t, r, "p2", o, time.Minute)
	wantEqual(t, "fencing token of the re-claim", cur.FencingToken, old.FencingToken+1)
	refusedWrites(t, r, old, "with the same incarnation's superseded lease")
	wantOK(t, fencedAppend(r, cur, `{"n":1}`), "fenced append under the current lease")
}

func testFencedExpired(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1", eventType(noteType)))
	zero := mustAcquire(t, r, "p1", selfOwner(t, "w1"), 0)
	refusedWrites(t, r, zero, "under a ttl-0 lease")
	mustRegister(t, r, toolReg("p2", eventType(noteType)))
	short := mustAcquire(t, r, "p2", selfOwner(t, "w1"), 30*time.Millisecond)
	time.Sleep(80 * time.Millisecond)
	refusedWrites(t, r, short, "under an expired lease nobody took over")
	wantSame(t, "expired lease is left as it was", mustLease(t, r, "p2"), &short)
}

func testFencedForged(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1", eventType(noteType)))
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), time.Minute)
	forged := []struct {
		what   string
		change func(*procreg.Lease)
	}{
		{"a higher fencing token", func(l *procreg.Lease) { l.FencingToken++ }},
		{"a lower fencing token", func(l *procreg.Lease) { l.FencingToken-- }},
		{"a wrong token", func(l *procreg.Lease) { l.Token = "forged" }},
		{"an empty token", func(l *procreg.Lease) { l.Token = "" }},
		{"another incarnation", func(l *procreg.Lease) { l.Owner.IncarnationID = "other" }},
		{"another owner", func(l *procreg.Lease) { l.Owner.OwnerID = "thief" }},
	}
	for _, f := range forged {
		bad := l
		f.change(&bad)
		refusedWrites(t, r, bad, "with "+f.what)
	}
	wantSame(t, "lease after forged writes", mustLease(t, r, "p1"), &l)
	wantOK(t, fencedAppend(r, l, `{"n":1}`), "fenced append by the real holder")
}

func testFencedNoLease(t *testing.T, r procreg.Registry) {
	ghost := procreg.Lease{ProcessID: "ghost", Owner: selfOwner(t, "w1"), Token: "t", FencingToken: 1}
	wantLeaseLost(t, fencedAppend(r, ghost, `1`), "ghost", "fenced append to an unknown process")
	_, err := r.CompleteProcessWithLease(t.Context(), ghost, success(`1`))
	wantLeaseLost(t, err, "ghost", "fenced completion of an unknown process")

	mustRegister(t, r, toolReg("p1", eventType(noteType)))
	never := ghost
	never.ProcessID = "p1"
	refusedWrites(t, r, never, "on a process never leased")
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), time.Minute)
	wantOK(t, r.CompleteProcessLease(t.Context(), procreg.LeaseCompletion{ProcessID: "p1", Token: l.Token}), "CompleteProcessLease")
	refusedWrites(t, r, l, "under a released lease")

	_, err = r.AppendEventWithLease(t.Context(), procreg.Lease{Token: "t"}, appendReq(noteType, `1`))
	wantErr(t, err, procreg.ErrInvalid, "", "fenced append with a blank process id")
}

func testFencedTerminal(t *testing.T, r procreg.Registry) {
	ctx := t.Context()
	// Completed under the lease: the lease is released, so a later fenced
	// append is ErrLeaseLost (a released lease is not live) and names the
	// terminal state.
	mustRegister(t, r, toolReg("p1", eventType(noteType)))
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), time.Minute)
	_, err := r.CompleteProcessWithLease(ctx, l, success(`1`))
	wantOK(t, err, "CompleteProcessWithLease")
	err = fencedAppend(r, l, `{"late":true}`)
	wantLeaseLost(t, err, "p1", "fenced append after the fenced completion")
	if !strings.Contains(err.Error(), procreg.StateCompleted) {
		t.Errorf("fenced append to a completed process: error %q; want it to name the state %q", err, procreg.StateCompleted)
	}
	wantSeqs(t, "events after the refused append", mustEvents(t, r, "p1", 0), 1)

	// Completed by a plain write while the lease is still live: the holder
	// may still append non-terminal events (late output, SPEC §5), and a
	// terminal event of another kind is ErrTerminal.
	mustRegister(t, r, toolReg("p2", eventType(noteType)))
	l2 := mustAcquire(t, r, "p2", selfOwner(t, "w1"), time.Minute)
	mustComplete(t, r, "p2", success(`2`))
	wantOK(t, fencedAppend(r, l2, `{"late":true}`), "fenced late note on a process completed by a plain write")
	_, err = r.AppendEventWithLease(ctx, l2, procreg.AppendRequest{EventType: procreg.EventFailed, ReplayKey: "k",
		Payload: raw(`{"await_output":{"kind":"failure","class":"c","code":"x","message":"m"}}`)})
	wantErr(t, err, procreg.ErrTerminal, "p2", "fenced terminal append to a terminal process")
	_, err = r.CompleteProcessWithLease(ctx, l2, procreg.AwaitOutput{Kind: procreg.OutputCancelled, Message: "m"})
	wantErr(t, err, procreg.ErrTerminal, "p2", "fenced completion of another kind on a terminal process")
	wantSeqs(t, "events of p2", mustEvents(t, r, "p2", 0), 1, 2)
	wantSame(t, "lease after refused terminal writes", mustLease(t, r, "p2"), &l2)
	// The identical completion replays the plain one and releases the lease.
	rec, err := r.CompleteProcessWithLease(ctx, l2, success(`2`))
	wantOK(t, err, "fenced completion identical to the plain one")
	wantEqual(t, "status", rec.Status.State, procreg.StateCompleted)
	wantSeqs(t, "events of p2 after the replayed completion", mustEvents(t, r, "p2", 0), 1, 2)
	if got := mustLease(t, r, "p2"); got != nil {
		t.Errorf("lease after a replayed fenced completion = %+v; want released", got)
	}
}

func testFencedRepeat(t *testing.T, r procreg.Registry) {
	ctx := t.Context()
	mustRegister(t, r, toolReg("p1", eventType(noteType)))
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), time.Minute)
	out := procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "tool", Code: "exit_1", Message: "boom", Raw: raw(`{"a":1,"b":2}`)}
	first, err := r.CompleteProcessWithLease(ctx, l, out)
	wantOK(t, err, "CompleteProcessWithLease")
	wantEqual(t, "status", first.Status.State, procreg.StateFailed)
	pause()
	again := out
	again.Raw = raw(`{ "b": 2, "a": 1 }`) // the same output by meaning
	second, err := r.CompleteProcessWithLease(ctx, l, again)
	wantOK(t, err, "repeating the identical fenced completion (the lease is already released)")
	wantSame(t, "record of the repeat", second, first)
	wantSeqs(t, "events after the repeat", mustEvents(t, r, "p1", 0), 1)
	// An expired copy of the same lease repeats it too: the fencing token
	// decides, not the expiry.
	expired := l
	expired.ExpiresAt = l.ClaimedAt
	_, err = r.CompleteProcessWithLease(ctx, expired, out)
	wantOK(t, err, "repeat with an older copy of the lease")
}

func testFencedDifferent(t *testing.T, r procreg.Registry) {
	ctx := t.Context()
	mustRegister(t, r, toolReg("p1", eventType(noteType)))
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), time.Minute)
	first, err := r.CompleteProcessWithLease(ctx, l, success(`1`))
	wantOK(t, err, "CompleteProcessWithLease")
	for _, out := range []procreg.AwaitOutput{success(`2`), {Kind: procreg.OutputCancelled, Message: "stop"}} {
		_, err = r.CompleteProcessWithLease(ctx, l, out)
		wantLeaseLost(t, err, "p1", "a different "+out.Kind+" completion after the fenced success")
	}
	// The same output under another lease than the one that completed it:
	// a forged fencing token is not a repeat.
	forged := l
	forged.FencingToken++
	_, err = r.CompleteProcessWithLease(ctx, forged, success(`1`))
	wantLeaseLost(t, err, "p1", "the identical completion with another fencing token")
	wantSame(t, "record after refused completions", mustGet(t, r, "p1"), first)
	wantSeqs(t, "events", mustEvents(t, r, "p1", 0), 1)

	// A holder superseded before completing is no repeat of the new
	// holder's identical completion.
	mustRegister(t, r, toolReg("p2", eventType(noteType)))
	a := mustAcquire(t, r, "p2", selfOwner(t, "w1"), 0)
	b := mustAcquire(t, r, "p2", selfOwner(t, "w2"), time.Minute)
	_, err = r.CompleteProcessWithLease(ctx, b, success(`1`))
	wantOK(t, err, "completion by the new holder")
	_, err = r.CompleteProcessWithLease(ctx, a, success(`1`))
	wantLeaseLost(t, err, "p2", "the superseded holder's identical completion")
}

func testFencedReplay(t *testing.T, r procreg.Registry) {
	ctx := t.Context()
	mustRegister(t, r, toolReg("p1", eventType(noteType)))
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), time.Minute)
	req := procreg.AppendRequest{EventType: noteType, Payload: raw(`{"n":1}`), ReplayKey: "step-1"}
	first, err := r.AppendEventWithLease(ctx, l, req)
	wantOK(t, err, "fenced append with a replay key")
	again, err := r.AppendEventWithLease(ctx, l, req)
	wantOK(t, err, "the same fenced append again")
	wantSame(t, "replayed event", again.Event, first.Event)
	plain := mustAppend(t, r, "p1", req)
	wantSame(t, "plain replay of a fenced append", plain.Event, first.Event)
	_, err = r.AppendEventWithLease(ctx, l, procreg.AppendRequest{EventType: noteType, Payload: raw(`{"n":2}`), ReplayKey: "step-1"})
	wantErr(t, err, procreg.ErrReplayConflict, "p1", "fenced append reusing a replay key with another payload")
	wantSeqs(t, "events", mustEvents(t, r, "p1", 0), 1)
	// Without the live lease a replay is refused like any fenced write.
	wantOK(t, r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "p1", Token: l.Token}), "CompleteProcessLease")
	_, err = r.AppendEventWithLease(ctx, l, req)
	wantLeaseLost(t, err, "p1", "fenced replay under a released lease")
}

func testFencedRefusedKeepsLease(t *testing.T, r procreg.Registry) {
	ctx := t.Context()
	mustRegister(t, r, toolReg("p1", eventType(noteType)))
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), time.Minute)
	_, err := r.CompleteProcessWithLease(ctx, l, procreg.AwaitOutput{Kind: "nonsense"})
	wantErr(t, err, procreg.ErrInvalid, "p1", "fenced completion with an unknown output kind")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = r.CompleteProcessWithLease(cctx, l, success(`1`))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("fenced completion with a cancelled context: %v; want the context's error", err)
	}
	_, err = r.AppendEventWithLease(cctx, l, appendReq(noteType, `1`))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("fenced append with a cancelled context: %v; want the context's error", err)
	}
	wantUntouched(t, r, "p1", "after refused fenced writes")
	wantSame(t, "lease after refused fenced writes", mustLease(t, r, "p1"), &l)
}
