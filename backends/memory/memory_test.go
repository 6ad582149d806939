package memory_test

import (
	"context"
	"encoding/json"
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
