package memory_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/conformance"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/servertest"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) procreg.Registry {
		r := memory.New()
		t.Cleanup(func() { r.Close() })
		return r
	})
}

func TestTier(t *testing.T) {
	if got := memory.New().DurabilityTier(); got != procreg.TierInline {
		t.Fatalf("tier = %v, want inline", got)
	}
}

func BenchmarkAppendEvent(b *testing.B) {
	ctx := context.Background()
	r := memory.New()
	defer r.Close()
	_, err := r.RegisterProcess(ctx, procreg.Registration{ID: "p", Input: procreg.ProcessInput{Kind: procreg.InputTool},
		Disposition: procreg.DispositionRerunnable, EnvRef: "env",
		EventTypes: []procreg.EventType{{Name: "log", PayloadSchema: json.RawMessage(`{"type":"object","required":["n"]}`)}}})
	if err != nil {
		b.Fatal(err)
	}
	req := procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"n":1}`)}
	for b.Loop() {
		if _, err := r.AppendEvent(ctx, "p", req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCountEventsThrough counts through the last of 10 and of 50,000
// matching events (servertest.CountEventsThroughBench).
func BenchmarkCountEventsThrough(b *testing.B) {
	s := memory.NewStore()
	r := driver.NewRegistry(s, driver.Options{})
	defer r.Close()
	servertest.CountEventsThroughBench(b, r, s.Write)
}

// BenchmarkDefinitionPage reads the first page of a definition's 200
// processes among 20,000 others whose ids sort after them: the walk is
// over the definition's own ids (its index), not over the others.
func BenchmarkDefinitionPage(b *testing.B) {
	ctx := context.Background()
	r := memory.New()
	defer r.Close()
	reg := func(id, def string) procreg.Registration {
		return procreg.Registration{ID: id, Input: procreg.ProcessInput{Kind: procreg.InputTool},
			Disposition: procreg.DispositionRerunnable, EnvRef: "env",
			Identity: procreg.Identity{Kind: "tool", Definition: json.RawMessage(def)}}
	}
	var regs []procreg.Registration
	for i := range 200 {
		regs = append(regs, reg(fmt.Sprintf("a-%05d", i), `{"def":"listed"}`))
	}
	for i := range 20_000 {
		regs = append(regs, reg(fmt.Sprintf("b-%05d", i), `{"def":"other"}`))
	}
	for chunk := range slices.Chunk(regs, procreg.MaxBatch) {
		if _, err := r.RegisterProcesses(ctx, chunk); err != nil {
			b.Fatal(err)
		}
	}
	f := procreg.ListFilter{Definition: json.RawMessage(`{"def":"listed"}`)}
	for b.Loop() {
		p, err := r.ListProcessesPage(ctx, f, 100, "")
		if err != nil || len(p.Records) != 100 {
			b.Fatalf("page: %d records, %v", len(p.Records), err)
		}
	}
}
