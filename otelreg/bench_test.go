package otelreg_test

import (
	"context"
	"fmt"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/otelreg"
)

// benchVariants: the bare registry; the wrapper with OpenTelemetry's
// no-op providers; with the global providers (no SDK installed, unless a
// test of this process installed one); the wrapper with the SDK sampling and exporting every span (to an
// exporter that drops them) and aggregating the metrics.
var benchVariants = []struct {
	name string
	wrap func(b *testing.B, reg procreg.Registry) procreg.Registry
}{
	{"bare", func(b *testing.B, reg procreg.Registry) procreg.Registry { return reg }},
	{"noop", func(b *testing.B, reg procreg.Registry) procreg.Registry {
		return otelreg.New(reg, otelreg.WithTracerProvider(tracenoop.NewTracerProvider()), otelreg.WithMeterProvider(metricnoop.NewMeterProvider()))
	}},
	{"global", func(b *testing.B, reg procreg.Registry) procreg.Registry { return otelreg.New(reg) }},
	{"sdk", func(b *testing.B, reg procreg.Registry) procreg.Registry {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() {
			_ = tp.Shutdown(context.Background())
			_ = mp.Shutdown(context.Background())
		})
		return otelreg.New(reg, otelreg.WithTracerProvider(tp), otelreg.WithMeterProvider(mp))
	}},
}

// discard is a span exporter that drops what it is given.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkWrapped compares GetProcess and AppendEvent on a memory
// registry, bare and wrapped (see benchVariants):
//
//	go test -run '^$' -bench . -benchmem ./otelreg
func BenchmarkWrapped(b *testing.B) {
	for _, v := range benchVariants {
		b.Run("GetProcess/"+v.name, func(b *testing.B) {
			ctx := context.Background()
			reg := v.wrap(b, memory.New())
			if _, err := reg.RegisterProcess(ctx, registration("p")); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.GetProcess(ctx, "p"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("AppendEvent/"+v.name, func(b *testing.B) {
			ctx := context.Background()
			reg := v.wrap(b, memory.New())
			// A fresh process every 1000 events keeps the log short, so
			// the append costs the same throughout the run.
			n := 0
			id := ""
			b.ReportAllocs()
			for b.Loop() {
				if n%1000 == 0 {
					b.StopTimer()
					id = fmt.Sprintf("p%d", n)
					if _, err := reg.RegisterProcess(ctx, registration(id)); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				n++
				if _, err := reg.AppendEvent(ctx, id, logEvent); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOverhead isolates the wrapper's own cost: the wrapped registry
// answers at once, without storage, so what remains is the wrapper's.
func BenchmarkOverhead(b *testing.B) {
	for _, v := range benchVariants {
		b.Run("GetProcess/"+v.name, func(b *testing.B) {
			ctx := context.Background()
			reg := v.wrap(b, instant{})
			b.ReportAllocs()
			for b.Loop() {
				_, _ = reg.GetProcess(ctx, "p")
			}
		})
		b.Run("AppendEvent/"+v.name, func(b *testing.B) {
			ctx := context.Background()
			reg := v.wrap(b, instant{})
			b.ReportAllocs()
			for b.Loop() {
				_, _ = reg.AppendEvent(ctx, "p", logEvent)
			}
		})
	}
}

// instant is a registry whose GetProcess and AppendEvent succeed at once.
type instant struct{ procreg.Registry }

func (instant) GetProcess(context.Context, string) (procreg.Record, error) {
	return procreg.Record{}, nil
}

func (instant) AppendEvent(context.Context, string, procreg.AppendRequest) (procreg.AppendResult, error) {
	return procreg.AppendResult{}, nil
}
