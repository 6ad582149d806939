package otelreg_test

import (
	"context"
	"encoding/json"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/otelreg"
)

// Wrap a registry, use it as any other, and read the spans it emitted
// (here from an in-memory recorder; in production, the tracer provider
// exports them).
func Example() {
	ctx := context.Background()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(ctx)

	reg := otelreg.New(memory.New(), otelreg.WithTracerProvider(tp))
	defer reg.Close()

	_, _ = reg.RegisterProcess(ctx, procreg.Registration{
		ID:          "build-42",
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"cmd":"make"}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:ci",
		EventTypes:  []procreg.EventType{{Name: "log"}},
	})
	_, _ = reg.AppendEvent(ctx, "build-42", procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"line":"ok"}`)})
	_, _ = reg.GetProcess(ctx, "build-7")

	for _, s := range spans.Ended() {
		fmt.Print(s.Name())
		for _, kv := range s.Attributes() {
			if kv.Key == otelreg.AttrProcessID || kv.Key == otelreg.AttrOutcome {
				fmt.Printf(" %s=%s", kv.Key, kv.Value.Emit())
			}
		}
		fmt.Printf(" status=%s\n", s.Status().Code)
	}
	// Output:
	// procreg.RegisterProcess procreg.process_id=build-42 procreg.outcome=ok status=Unset
	// procreg.AppendEvent procreg.process_id=build-42 procreg.outcome=ok status=Unset
	// procreg.GetProcess procreg.process_id=build-7 procreg.outcome=not_found status=Unset
}
