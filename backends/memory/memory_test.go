package memory_test

import (
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/conformance"
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
