package sqlkit

import (
	"context"

	"github.com/procreg/procreg/driver"
)

// ProcessLister is one generated query per filter combination of a
// driver.ListQuery (ListProcessesAll, ListProcessesByStatus, …), each
// returning driver rows. A generated adapter implements it over its
// *Queries.
type ProcessLister interface {
	ListAll(ctx context.Context) ([]driver.ProcessRow, error)
	ListByStatus(ctx context.Context, status string) ([]driver.ProcessRow, error)
	ListByStatusWaiting(ctx context.Context, status string, waiting bool) ([]driver.ProcessRow, error)
	ListByWaiting(ctx context.Context, waiting bool) ([]driver.ProcessRow, error)
	ListByDefinition(ctx context.Context, fingerprint string) ([]driver.ProcessRow, error)
	ListByDefinitionStatus(ctx context.Context, fingerprint, status string) ([]driver.ProcessRow, error)
	ListByDefinitionWaiting(ctx context.Context, fingerprint string, waiting bool) ([]driver.ProcessRow, error)
	ListByDefinitionStatusWaiting(ctx context.Context, fingerprint, status string, waiting bool) ([]driver.ProcessRow, error)
}

// ListProcesses answers q with the one statement of l that matches its
// filters. There is a statement per combination because an optional-filter
// OR in a single statement defeats the indexes.
func ListProcesses(ctx context.Context, l ProcessLister, q driver.ListQuery) ([]driver.ProcessRow, error) {
	status, def, waiting := q.Status, q.DefinitionFingerprint, q.Waiting
	switch {
	case def == nil && status == "" && waiting == nil:
		return l.ListAll(ctx)
	case def == nil && status == "":
		return l.ListByWaiting(ctx, *waiting)
	case def == nil && waiting == nil:
		return l.ListByStatus(ctx, status)
	case def == nil:
		return l.ListByStatusWaiting(ctx, status, *waiting)
	case status == "" && waiting == nil:
		return l.ListByDefinition(ctx, *def)
	case status == "":
		return l.ListByDefinitionWaiting(ctx, *def, *waiting)
	case waiting == nil:
		return l.ListByDefinitionStatus(ctx, *def, status)
	default:
		return l.ListByDefinitionStatusWaiting(ctx, *def, status, *waiting)
	}
}
