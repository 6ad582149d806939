// Package sqlstore holds the storage compositions that every SQL backend
// shares: which generated query answers a driver.ListQuery, how a prune
// batch deletes a process with its children, which columns UpdateProcess
// writes (UpdateOf), and the row-slice conversion.
// internal/sqladapter, the one adapter of every SQL backend, fills the
// function fields with a dialect's generated queries, so each idea has one
// home and the adapter is only the mapping from driver.Tx to generated calls.
package sqlstore

import (
	"context"
	"fmt"

	"github.com/procreg/procreg/driver"
)

// Map converts a slice of generated rows to store rows (usually with a plain
// type conversion in f). It returns nil for an empty input.
func Map[S, D any](in []S, f func(S) D) []D {
	if len(in) == 0 {
		return nil
	}
	out := make([]D, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// Lister answers driver.ListQuery with one statement per filter combination,
// because an optional-filter OR in a single statement defeats the indexes.
// R is the row type the functions return (driver.ProcessRow in
// internal/sqladapter, which converts the generated models first).
type Lister[R any] struct {
	All                    func(ctx context.Context) ([]R, error)
	ByStatus               func(ctx context.Context, status string) ([]R, error)
	ByStatusWaiting        func(ctx context.Context, status string, waiting bool) ([]R, error)
	ByWaiting              func(ctx context.Context, waiting bool) ([]R, error)
	ByDefinition           func(ctx context.Context, fingerprint string) ([]R, error)
	ByDefinitionStatus     func(ctx context.Context, fingerprint, status string) ([]R, error)
	ByDefinitionWaiting    func(ctx context.Context, fingerprint string, waiting bool) ([]R, error)
	ByDefinitionStatusWait func(ctx context.Context, fingerprint, status string, waiting bool) ([]R, error)
}

// List runs the statement that matches q.
func (l Lister[R]) List(ctx context.Context, q driver.ListQuery) ([]R, error) {
	status, def, waiting := q.Status, q.DefinitionFingerprint, q.Waiting
	switch {
	case def == nil && status == "" && waiting == nil:
		return l.All(ctx)
	case def == nil && status == "":
		return l.ByWaiting(ctx, *waiting)
	case def == nil && waiting == nil:
		return l.ByStatus(ctx, status)
	case def == nil:
		return l.ByStatusWaiting(ctx, status, *waiting)
	case status == "" && waiting == nil:
		return l.ByDefinition(ctx, *def)
	case status == "":
		return l.ByDefinitionWaiting(ctx, *def, *waiting)
	case waiting == nil:
		return l.ByDefinitionStatus(ctx, *def, status)
	default:
		return l.ByDefinitionStatusWait(ctx, *def, status, *waiting)
	}
}

// Pruner deletes one batch of prunable processes: candidates first (the
// server dialects lock them), then their events, wake acks and grants, then
// the process rows, so foreign keys hold at every statement.
type Pruner struct {
	Candidates      func(ctx context.Context, cutoffMs int64, limit int) ([]string, error)
	DeleteEvents    func(ctx context.Context, ids []string) (int64, error)
	DeleteWakeAcks  func(ctx context.Context, ids []string) (int64, error)
	DeleteGrants    func(ctx context.Context, ids []string) (int64, error)
	DeleteProcesses func(ctx context.Context, ids []string) (int64, error)
}

// Batch implements driver.Tx.PruneBatch.
func (p Pruner) Batch(ctx context.Context, cutoffMs int64, limit int) (processes, events int64, err error) {
	ids, err := p.Candidates(ctx, cutoffMs, limit)
	if err != nil || len(ids) == 0 {
		return 0, 0, wrapPrune("select candidates", err)
	}
	if events, err = p.DeleteEvents(ctx, ids); err != nil {
		return 0, 0, wrapPrune("delete events", err)
	}
	if _, err = p.DeleteWakeAcks(ctx, ids); err != nil {
		return 0, 0, wrapPrune("delete wake acks", err)
	}
	if _, err = p.DeleteGrants(ctx, ids); err != nil {
		return 0, 0, wrapPrune("delete grants", err)
	}
	if processes, err = p.DeleteProcesses(ctx, ids); err != nil {
		return 0, 0, wrapPrune("delete processes", err)
	}
	return processes, events, nil
}

func wrapPrune(step string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("prune: %s: %w", step, err)
}
