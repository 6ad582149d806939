package conformance

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/procreg/procreg"
)

// testNumbersByValue: JSON numbers compare by their exact value wherever the
// contract compares JSON by meaning: a replay with 1.0 where 1 was stored is
// idempotent, external ref metadata 1e0 is the same ref, a definition filter
// 1.0 matches a definition 1, and re-registering with 2.50 for 2.5 is the
// same registration. Distinct big integers stay distinct.
func testNumbersByValue(t *testing.T, r procreg.Registry) {
	reg := eventReg("p1")
	reg.Input.Payload = raw(`{"n":2.5}`)
	reg.Identity = procreg.Identity{Kind: "tool", Definition: raw(`{"v":1}`)}
	first := mustRegister(t, r, reg)
	reg.Input.Payload = raw(`{"n":2.50}`)
	reg.Identity.Definition = raw(`{"v":1.0}`)
	wantEqual(t, "hash of the registration with 2.50 for 2.5", mustRegister(t, r, reg).RegistrationHash, first.RegistrationHash)

	req := appendReq(noteType, `{"a":1,"big":9007199254740993}`)
	req.ReplayKey = "k"
	stored := mustAppend(t, r, "p1", req).Event
	for _, payload := range []string{`{"a":1.0,"big":9007199254740993}`, `{"a":1e0,"big":9007199254740993.0}`, `{"a":10E-1,"big":9007199254740993}`} {
		again := req
		again.Payload = raw(payload)
		res := mustAppend(t, r, "p1", again)
		wantEqual(t, "sequence of the replay with "+payload, res.Event.Sequence, stored.Sequence)
	}
	other := req
	other.Payload = raw(`{"a":1,"big":9007199254740992}`)
	_, err := r.AppendEvent(t.Context(), "p1", other)
	wantErr(t, err, procreg.ErrReplayConflict, "p1", "replay with a neighbouring big integer")
	wantSeqs(t, "events after the replays", mustEvents(t, r, "p1", 0), 1)

	ref := procreg.ExternalRef{Backend: "ci", ID: "7", Metadata: raw(`{"attempt":1}`)}
	_, err = r.SetExternalRef(t.Context(), "p1", ref)
	wantOK(t, err, "SetExternalRef")
	ref.Metadata = raw(`{"attempt":1e0}`)
	_, err = r.SetExternalRef(t.Context(), "p1", ref)
	wantOK(t, err, "SetExternalRef with the same metadata written 1e0")

	for _, def := range []string{`{"v":1.0}`, `{"v":1}`, `{"v":100e-2}`} {
		ids := mustListProcesses(t, r, procreg.ListFilter{Status: procreg.StatusAny, Definition: raw(def)})
		wantStrings(t, "processes with definition "+def, ids, "p1")
	}
	wantStrings(t, "processes with definition {\"v\":1.5}",
		mustListProcesses(t, r, procreg.ListFilter{Status: procreg.StatusAny, Definition: raw(`{"v":1.5}`)}))
}

// testNumbersInRange: every JSON document the registry accepts bounds its
// numbers (procreg.MaxNumberBytes of literal text, a decimal exponent of at
// most ±procreg.MaxNumberExponent): beyond that a number is ErrInvalid
// naming the process, and nothing is written. The bounds keep JSON Schema
// validation cheap and safe (a huge exponent made the schema library panic
// or spend tens of milliseconds per number); the largest allowed numbers are
// accepted and validated against a maximum/multipleOf schema.
func testNumbersInRange(t *testing.T, r procreg.Registry) {
	huge := "1e" + strconv.Itoa(procreg.MaxNumberExponent+1)
	tiny := "1e-" + strconv.Itoa(procreg.MaxNumberExponent+1)
	long := strings.Repeat("7", procreg.MaxNumberBytes+1)
	bounded := procreg.EventType{Name: "bounded", PayloadSchema: raw(`{"type":"number","maximum":5,"multipleOf":0.5}`)}
	badInputFixture(t, r)
	reg := toolReg("p1", eventType(noteType), wakeType("ping", procreg.WakeSpec{Input: pointerSel("/msg")}))
	calls := map[string]func(ctx context.Context) error{}
	schemas := map[string]func(ctx context.Context) error{}
	for _, n := range []string{"1e1000001", huge, "-" + huge, tiny, long, "0." + long} {
		calls["AppendEvent payload "+n[:min(len(n), 12)]] = func(ctx context.Context) error {
			_, err := r.AppendEvent(ctx, "p1", appendReq(noteType, `{"n":[`+n+`]}`))
			return err
		}
		calls["CompleteProcess value "+n[:min(len(n), 12)]] = func(ctx context.Context) error {
			_, err := r.CompleteProcess(ctx, "p1", success(`{"n":`+n+`}`))
			return err
		}
		calls["SetExternalRef metadata "+n[:min(len(n), 12)]] = func(ctx context.Context) error {
			_, err := r.SetExternalRef(ctx, "p1", procreg.ExternalRef{Backend: "ci", ID: "1", Metadata: raw(`{"n":` + n + `}`)})
			return err
		}
		calls["RegisterProcess input "+n[:min(len(n), 12)]] = func(ctx context.Context) error {
			bad := reg
			bad.Input.Payload = raw(`{"n":` + n + `}`)
			_, err := r.RegisterProcess(ctx, bad)
			return err
		}
		schemas["RegisterProcess schema "+n[:min(len(n), 12)]] = func(ctx context.Context) error {
			bad := toolReg("p2", procreg.EventType{Name: "x", PayloadSchema: raw(`{"multipleOf":` + n + `}`)})
			_, err := r.RegisterProcess(ctx, bad)
			return err
		}
	}
	wantRejected(t, r, "p1", calls)
	wantRejected(t, r, "p2", schemas)
	if _, err := r.GetProcess(t.Context(), "p2"); !errors.Is(err, procreg.ErrNotFound) {
		t.Errorf("GetProcess(p2) after rejected registrations: %v; want ErrNotFound", err)
	}

	mustRegister(t, r, toolReg("p3", bounded))
	edge := strconv.Itoa(procreg.MaxNumberExponent)
	longest := "4." + strings.Repeat("0", procreg.MaxNumberBytes-3) + "1"
	for _, n := range []string{"1e" + edge, "1e-" + edge, "4.5", "45e-1", longest} {
		_, err := r.AppendEvent(t.Context(), "p3", appendReq("bounded", n))
		if n == "4.5" || strings.HasPrefix(n, "45e") {
			wantOK(t, err, "append in-range "+n[:min(len(n), 12)]+" to a maximum/multipleOf schema")
		} else {
			wantErr(t, err, procreg.ErrInvalid, "p3", "append "+n[:min(len(n), 12)]+" that breaks a maximum/multipleOf schema")
		}
	}
	for _, n := range []string{"1e1000001", huge} {
		_, err := r.AppendEvent(t.Context(), "p3", appendReq("bounded", n))
		wantErr(t, err, procreg.ErrInvalid, "p3", "append out-of-range "+n+" to a maximum/multipleOf schema")
	}
	wantSeqs(t, "events of p3", mustEvents(t, r, "p3", 0), 1, 2)
}
