package conformance

import (
	"testing"

	"github.com/procreg/procreg"
)

// Opener opens an independent registry (its own connection or pool) on one
// database. The suite closes every registry it opens.
type Opener func(t *testing.T) procreg.Registry

// RunDurable checks what only durable backends promise: facts survive
// close and reopen, and registries sharing one database stay consistent
// under concurrent appends and lease claims. newDatabase is called once per
// subtest and returns an Opener for a fresh, empty database.
func RunDurable(t *testing.T, newDatabase func(t *testing.T) Opener) {
	t.Helper()
	for _, rl := range durableRules() {
		t.Run(rl.name, func(t *testing.T) {
			t.Parallel()
			rl.run(t, newDatabase(t))
		})
	}
}

// durableRule is one named check over a fresh database.
type durableRule struct {
	name string
	run  func(t *testing.T, open Opener)
}

func durableRules() []durableRule {
	return []durableRule{}
}
