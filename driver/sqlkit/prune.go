package sqlkit

import (
	"context"
	"fmt"
)

// Pruner is the statements of one prune batch (PruneCandidates and the
// Delete…Of / DeleteProcessesIn queries). A generated adapter implements
// it over its *Queries.
type Pruner interface {
	// Candidates selects at most limit prunable process ids (the server
	// dialects lock them, skipping rows locked elsewhere).
	Candidates(ctx context.Context, cutoffMs int64, limit int) ([]string, error)
	DeleteEvents(ctx context.Context, ids []string) (int64, error)
	DeleteWakeAcks(ctx context.Context, ids []string) (int64, error)
	DeleteGrants(ctx context.Context, ids []string) (int64, error)
	DeleteProcesses(ctx context.Context, ids []string) (int64, error)
}

// PruneBatch is driver.Tx.PruneBatch over p: the candidates first, then
// their events, wake acks and grants, then the process rows, so foreign keys
// hold at every statement. Its errors name the failing step.
func PruneBatch(ctx context.Context, p Pruner, cutoffMs int64, limit int) (processes, events int64, err error) {
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
