package core

import (
	"fmt"

	"github.com/procreg/procreg"
)

// ListCriteria is a ListFilter normalized for matching and for queries.
type ListCriteria struct {
	// State is the state to match, or "" for every state.
	State string
	// DefinitionFingerprint, when non-nil, must equal the process's fingerprint.
	DefinitionFingerprint *string
	// Waiting, when non-nil, must equal whether the process has a wait state.
	Waiting *bool
}

// Criteria validates and normalizes a list filter: the zero status means
// running, "any" every state, an unknown status is ErrInvalid; an absent
// definition is no filter, otherwise it matches by meaning (fingerprint).
func Criteria(f procreg.ListFilter) (ListCriteria, error) {
	var c ListCriteria
	switch f.Status {
	case "":
		c.State = procreg.StateRunning
	case procreg.StatusRunning, procreg.StatusCompleted, procreg.StatusFailed, procreg.StatusCancelled, procreg.StatusAbandoned:
		c.State = string(f.Status)
	case procreg.StatusAny:
	default:
		return ListCriteria{}, fmt.Errorf("%w: unknown status filter %q", procreg.ErrInvalid, f.Status)
	}
	if !IsAbsentJSON(f.Definition) {
		fp, err := DefinitionFingerprint(f.Definition)
		if err != nil {
			return ListCriteria{}, fmt.Errorf("list filter definition: %w", err)
		}
		c.DefinitionFingerprint = &fp
	}
	if f.Waiting != nil {
		w := *f.Waiting
		c.Waiting = &w
	}
	return c, nil
}

// Matches reports whether a process with the given state, definition
// fingerprint and waiting flag satisfies the criteria.
func (c ListCriteria) Matches(state, fingerprint string, waiting bool) bool {
	if c.State != "" && c.State != state {
		return false
	}
	if c.DefinitionFingerprint != nil && *c.DefinitionFingerprint != fingerprint {
		return false
	}
	if c.Waiting != nil && *c.Waiting != waiting {
		return false
	}
	return true
}

// MatchesRecord reports whether a record satisfies the criteria.
func (c ListCriteria) MatchesRecord(r procreg.Record) bool {
	fp, err := DefinitionFingerprint(r.Identity.Definition)
	if err != nil {
		return false
	}
	return c.Matches(r.Status.State, fp, r.Wait != nil)
}
