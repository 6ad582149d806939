package driver

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/core"
)

// benchRow is the stored row of a typical registration: a tool input, a
// definition, one declared event type with a payload schema and a wake.
func benchRow(b *testing.B) ProcessRow {
	b.Helper()
	p, err := core.PrepareRegistration(procreg.Registration{
		ID:          "bench-record",
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"tool":"search","args":{"q":"x","n":10}}`)},
		Disposition: procreg.DispositionRerunnable,
		Identity:    procreg.Identity{Kind: "tool", Label: "search", Definition: json.RawMessage(`{"name":"search","version":3}`)},
		EventTypes: []procreg.EventType{{Name: "progress", PayloadSchema: json.RawMessage(`{"type":"object"}`),
			Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorPointer, Pointer: "/msg"},
				DedupeKey: procreg.DedupeKey{Kind: procreg.DedupeEventIdentity}}}},
		EnvRef:     "env-1",
		WakeTarget: &procreg.SessionScope{SessionID: "s1"},
	})
	if err != nil {
		b.Fatal(err)
	}
	return newProcessRow(p, time.Unix(1700000000, 0))
}

// BenchmarkToRecord is the cost of building a Record from a stored row, the
// CPU GetProcess and every listing spend per process beside the database.
func BenchmarkToRecord(b *testing.B) {
	row := benchRow(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := toRecord(row); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepareRegistration is the CPU a registration spends before
// storage: validation, canonical JSON, hashing and the schema compile.
func BenchmarkPrepareRegistration(b *testing.B) {
	reg := procreg.Registration{
		ID:          "bench-register",
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"tool":"search","args":{"q":"x","n":10}}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env-1",
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := core.PrepareRegistration(reg); err != nil {
			b.Fatal(err)
		}
	}
}
