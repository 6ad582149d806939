package history

import (
	"context"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
)

// TestSequentialHistoryReplays: one client's history replays step by
// step through the model (a model bug shows up here with the failing call).
func TestSequentialHistoryReplays(t *testing.T) {
	c := TestConfig("seq", 0)
	c.Clients = 1
	c.OpsPerRound = 200
	ops, unexp, err := Run(context.Background(), []procreg.Registry{memory.New()}, c)
	if err != nil || len(unexp) > 0 {
		t.Fatal(err, unexp)
	}
	states := map[string][]state{}
	for i, op := range ops {
		cur, ok := states[op.In.Process]
		if !ok {
			cur = []state{{}}
		}
		var next []state
		for _, s := range cur {
			next = append(next, step(s, op.In, op.Out)...)
		}
		if len(next) == 0 {
			t.Fatalf("op %d %+v -> %+v impossible from %+v", i, op.In, op.Out, cur)
		}
		states[op.In.Process] = dedupe(next)
	}
}
