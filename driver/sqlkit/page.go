package sqlkit

import (
	"context"
	"fmt"

	"github.com/procreg/procreg/driver"
)

// Filter names one combination of a driver.ListQuery's filters: which of
// definition, status and waiting it sets. Each has its own statements
// (PageProcesses<Filter>, LastProcessID<Filter>, CountProcesses<Filter>),
// because an optional-filter OR in one statement defeats the indexes.
type Filter int

// The filter combinations; String gives the suffix of their statements.
const (
	FilterAll Filter = iota
	FilterByStatus
	FilterByStatusWaiting
	FilterByWaiting
	FilterByDefinition
	FilterByDefinitionStatus
	FilterByDefinitionWaiting
	FilterByDefinitionStatusWaiting
)

var filterNames = [...]string{"All", "ByStatus", "ByStatusWaiting", "ByWaiting",
	"ByDefinition", "ByDefinitionStatus", "ByDefinitionWaiting", "ByDefinitionStatusWaiting"}

// Filters lists every combination, in declaration order (the adapter
// generator writes one case per entry).
func Filters() []Filter {
	out := make([]Filter, len(filterNames))
	for i := range out {
		out[i] = Filter(i)
	}
	return out
}

func (f Filter) String() string {
	if f < 0 || int(f) >= len(filterNames) {
		return fmt.Sprintf("Filter(%d)", int(f))
	}
	return filterNames[f]
}

// PageArgs are the parameters of the page, bound and count statements;
// each statement reads the ones its filter and kind use. RowLimit is the
// page statements' LIMIT.
type PageArgs struct {
	DefinitionFingerprint string
	Status                string
	Waiting               bool
	AfterID, BoundID      string
	RowLimit              int
}

// FilterOf names the combination q sets and binds its filter parameters.
func FilterOf(q driver.ListQuery) (Filter, PageArgs) {
	var a PageArgs
	a.Status = q.Status
	if q.DefinitionFingerprint != nil {
		a.DefinitionFingerprint = *q.DefinitionFingerprint
	}
	if q.Waiting != nil {
		a.Waiting = *q.Waiting
	}
	def, status, waiting := q.DefinitionFingerprint != nil, q.Status != "", q.Waiting != nil
	switch {
	case !def && !status && !waiting:
		return FilterAll, a
	case !def && !status:
		return FilterByWaiting, a
	case !def && !waiting:
		return FilterByStatus, a
	case !def:
		return FilterByStatusWaiting, a
	case !status && !waiting:
		return FilterByDefinition, a
	case !status:
		return FilterByDefinitionWaiting, a
	case !waiting:
		return FilterByDefinitionStatus, a
	default:
		return FilterByDefinitionStatusWaiting, a
	}
}

// ProcessPager runs the page, bound and count statement of a filter
// combination. A generated adapter implements it over its *Queries, one
// case per Filter.
type ProcessPager interface {
	// PageProcesses runs PageProcesses<f>: the rows with AfterID < id <=
	// BoundID matching the filter, in id order, at most RowLimit.
	PageProcesses(ctx context.Context, f Filter, a PageArgs) ([]driver.ProcessRow, error)
	// LastProcessID runs LastProcessID<f>: the greatest matching id, or the
	// dialect's no-rows error when nothing matches.
	LastProcessID(ctx context.Context, f Filter, a PageArgs) (string, error)
	// CountProcesses runs CountProcesses<f>.
	CountProcesses(ctx context.Context, f Filter, a PageArgs) (int64, error)
}

// PageProcesses answers a driver.PageQuery with the page statement of its
// filter combination.
func PageProcesses(ctx context.Context, p ProcessPager, q driver.PageQuery) ([]driver.ProcessRow, error) {
	f, a := FilterOf(q.ListQuery)
	a.AfterID, a.BoundID, a.RowLimit = q.After, q.Bound, q.Limit
	return p.PageProcesses(ctx, f, a)
}

// LastProcessID runs the bound statement of q's filter combination.
func LastProcessID(ctx context.Context, p ProcessPager, q driver.ListQuery) (string, error) {
	f, a := FilterOf(q)
	return p.LastProcessID(ctx, f, a)
}

// CountProcesses runs the count statement of q's filter combination.
func CountProcesses(ctx context.Context, p ProcessPager, q driver.ListQuery) (int64, error) {
	f, a := FilterOf(q)
	return p.CountProcesses(ctx, f, a)
}
