package conformance

import (
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
