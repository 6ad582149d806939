package sqlkit

import (
	"context"
	"fmt"

	"github.com/procreg/procreg/driver"
)

// ClaimArgs are the parameters of the claim statements
// (ClaimCandidates<Filter>); each statement reads the ones its filter uses.
// NowMs is the lease clock in epoch milliseconds for a dialect whose
// statements take it (SQLite: Dialect.LeaseClock); the servers' statements
// read the database clock themselves and have no such parameter.
type ClaimArgs struct {
	DefinitionFingerprint string
	Status                string
	Waiting               bool
	NowMs                 int64
	RowLimit              int
}

// ClaimFilters are the filter combinations with a claim statement: those
// that set status, since ClaimNext claims only running processes.
func ClaimFilters() []Filter {
	return []Filter{FilterByStatus, FilterByStatusWaiting, FilterByDefinitionStatus, FilterByDefinitionStatusWaiting}
}

// ProcessClaimer runs the claim statement of a filter combination. A
// generated adapter implements it over its *Queries, one case per
// ClaimFilters entry.
type ProcessClaimer interface {
	// ClaimCandidates runs ClaimCandidates<f> and returns its rows (see
	// driver.Tx.ClaimCandidates) and the database clock the statement read
	// (meaningless when there are no rows).
	ClaimCandidates(ctx context.Context, f Filter, a ClaimArgs) (rows []driver.ProcessRow, nowMs int64, err error)
}

// ClaimCandidates answers driver.Tx.ClaimCandidates with the claim
// statement of q's filter combination; q.Status must be set. nowMs is the
// NowMs parameter (see ClaimArgs).
func ClaimCandidates(ctx context.Context, c ProcessClaimer, q driver.ListQuery, limit int, nowMs int64) ([]driver.ProcessRow, int64, error) {
	if q.Status == "" {
		return nil, 0, fmt.Errorf("claim candidates need a status filter (ClaimNext claims running processes)")
	}
	f, p := FilterOf(q)
	return c.ClaimCandidates(ctx, f, ClaimArgs{DefinitionFingerprint: p.DefinitionFingerprint, Status: p.Status,
		Waiting: p.Waiting, NowMs: nowMs, RowLimit: limit})
}
