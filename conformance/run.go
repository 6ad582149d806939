package conformance

import (
	"testing"

	"github.com/procreg/procreg"
)

// rule is one named check of the contract, run against a fresh registry.
type rule struct {
	name string
	run  func(t *testing.T, r procreg.Registry)
}

// group is a topic of the contract: a named list of rules.
type group struct {
	name  string
	rules []rule
}

// groups lists every topic of the suite, in SPEC §5 order.
func groups() []group {
	return []group{
		{"Registration", registrationRules()},
		{"ExternalRef", externalRefRules()},
		{"Grants", grantRules()},
		{"Events", eventRules()},
		{"Selectors", selectorRules()},
		{"Terminal", terminalRules()},
		{"Wakes", wakeRules()},
		{"Completion", completionRules()},
		{"Recovery", recoveryRules()},
		{"Listing", listingRules()},
		{"Leases", leaseRules()},
		{"Prune", pruneRules()},
		{"Edges", edgeRules()},
		{"Fenced", fencedRules()},
		{"Changes", changeRules()},
		{"Pages", pageRules()},
		{"Batches", batchRules()},
	}
}

// Run checks every rule of the procreg contract against the registries open
// returns. open is called once per subtest and must return a fresh, empty
// registry; the suite closes it when the subtest ends. Subtests run in
// parallel.
func Run(t *testing.T, open func(t *testing.T) procreg.Registry) {
	t.Helper()
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, rl := range g.rules {
				t.Run(rl.name, func(t *testing.T) {
					t.Parallel()
					r := openFresh(t, open)
					wantEmpty(t, r)
					rl.run(t, r)
				})
			}
		})
	}
	t.Run("ChangesForeignCursor", func(t *testing.T) {
		t.Parallel()
		testChangesForeignCursor(t, openFresh(t, open), openFresh(t, open))
	})
	// Rules over two fresh registries.
	t.Run("PagesAcrossRegistries", func(t *testing.T) {
		t.Parallel()
		t.Run("CursorOfAnotherRegistryIsInvalid", func(t *testing.T) { testPageCursorOfAnotherRegistry(t, open) })
	})
}

// openFresh opens a registry for one subtest and closes it at the end.
func openFresh(t *testing.T, open func(t *testing.T) procreg.Registry) procreg.Registry {
	t.Helper()
	r := open(t)
	if r == nil {
		t.Fatal("open returned a nil registry; want a fresh, empty registry")
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v; want nil", err)
		}
	})
	return r
}

// wantEmpty checks that open returned an empty registry, so that no rule
// passes or fails because of another rule's data.
func wantEmpty(t *testing.T, r procreg.Registry) {
	t.Helper()
	recs, err := r.ListProcesses(t.Context(), procreg.ListFilter{Status: procreg.StatusAny})
	if err != nil {
		t.Fatalf("ListProcesses(any) on a fresh registry: %v; want success", err)
	}
	if len(recs) != 0 {
		t.Fatalf("fresh registry holds %d processes (%q, ...); open must return an empty registry", len(recs), recs[0].ID)
	}
}
