package conformance

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/procreg/procreg"
)

// testRecordsAreCopies: a Record belongs to its caller. Changing one in
// place — its JSON texts, event types, selectors, scopes — changes neither
// the stored process nor the records later reads return, however the
// registry builds records (a backend may keep decoded specs in a cache).
func testRecordsAreCopies(t *testing.T, r procreg.Registry) {
	ctx := context.Background()
	reg := toolReg("copies", procreg.EventType{
		Name:          "progress",
		PayloadSchema: json.RawMessage(`{"type":"object"}`),
		Wake: &procreg.WakeSpec{
			When:  &procreg.Selector{Kind: procreg.SelectorPresent, Pointer: "/msg"},
			Input: procreg.Selector{Kind: procreg.SelectorTemplate, Template: "{m}", Fields: map[string]procreg.Selector{"m": {Kind: procreg.SelectorPointer, Pointer: "/msg"}}},
		},
	})
	reg.Identity = procreg.Identity{Kind: "tool", Label: "copies", Definition: json.RawMessage(`{"v":1}`)}
	reg.Provenance = procreg.Provenance{Originator: procreg.Originator{Kind: procreg.OriginatorSession,
		Scope: &procreg.SessionScope{SessionID: "s"}}, CausedBy: json.RawMessage(`{"by":"x"}`)}
	reg.WakeTarget = &procreg.SessionScope{SessionID: "s"}
	first := mustRegister(t, r, reg)
	want := mustGet(t, r, "copies")
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("GetProcess = %+v; want the registered record %+v", want, first)
	}
	scribble := func(rec *procreg.Record) {
		for _, raw := range []json.RawMessage{rec.Input.Payload, rec.Identity.Definition, rec.Provenance.CausedBy} {
			for i := range raw {
				raw[i] = '#'
			}
		}
		rec.Provenance.Originator.Scope.SessionID = "scribbled"
		rec.WakeTarget.SessionID = "scribbled"
		for i := range rec.EventTypes {
			et := &rec.EventTypes[i]
			et.Name = "scribbled"
			for j := range et.PayloadSchema {
				et.PayloadSchema[j] = '#'
			}
			if et.Terminal != nil {
				et.Terminal.State = "scribbled"
				if et.Terminal.AwaitOutput != nil {
					et.Terminal.AwaitOutput.Pointer = "/scribbled"
				}
			}
			if et.Wake != nil {
				et.Wake.When.Pointer = "/scribbled"
				et.Wake.Input.Fields["m"] = procreg.Selector{Kind: "scribbled"}
				et.Wake.Input.Fields["extra"] = procreg.Selector{Kind: "scribbled"}
			}
		}
	}
	for _, read := range []struct {
		name string
		get  func() procreg.Record
	}{
		{"RegisterProcess", func() procreg.Record { return mustRegister(t, r, reg) }},
		{"GetProcess", func() procreg.Record { return mustGet(t, r, "copies") }},
		{"ListProcesses", func() procreg.Record {
			recs, err := r.ListProcesses(ctx, procreg.ListFilter{})
			if err != nil || len(recs) != 1 {
				t.Fatalf("ListProcesses = %d records, %v; want 1", len(recs), err)
			}
			return recs[0]
		}},
	} {
		rec := read.get()
		scribble(&rec)
		if got := mustGet(t, r, "copies"); !reflect.DeepEqual(got, want) {
			t.Fatalf("after changing the record %s returned, GetProcess = %+v; want %+v", read.name, got, want)
		}
	}
}
