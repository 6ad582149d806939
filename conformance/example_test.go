package conformance_test

import (
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/conformance"
)

// A backend's test runs the whole contract against fresh registries. (An
// Example cannot receive a *testing.T, so this one only shows the call; put
// the function body in a TestConformance of the backend's package.)
func ExampleRun() {
	testConformance := func(t *testing.T) {
		conformance.Run(t, func(t *testing.T) procreg.Registry { return memory.New() })
	}
	_ = testConformance
}
