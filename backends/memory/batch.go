package memory

import (
	"context"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// ClaimCandidates walks the running processes in id order and keeps what
// the SQL stores' statement keeps (queries/<dialect>, ClaimCandidates*):
// matching q, not externally owned, not owner-bound and started, the lease
// free or expired by the lease clock. No lock: a write transaction holds
// the store's one writer lock. The engine decides each row again.
func (t *tx) ClaimCandidates(ctx context.Context, q driver.ListQuery, limit int) ([]driver.ProcessRow, error) {
	now, err := t.LeaseNow(ctx)
	if err != nil {
		return nil, err
	}
	nowMs := now.UnixMilli()
	c := criteria(q)
	var out []driver.ProcessRow
	t.s.order.ids(q).ascend("", func(id string) bool {
		row := t.s.procs[id]
		switch {
		case !c.Matches(row.Status, row.DefinitionFingerprint, row.Waiting),
			row.Disposition == string(procreg.DispositionExternallyOwned),
			row.Disposition == string(procreg.DispositionOwnerBound) && row.FirstStartedOwner != "",
			row.LeaseToken != "" && row.LeaseExpiresAtMs > nowMs:
		default:
			out = append(out, row)
		}
		return len(out) < limit
	})
	return out, nil
}

// UpdateProcessLeases writes each row's lease as UpdateProcessLease does.
func (t *tx) UpdateProcessLeases(ctx context.Context, rows []driver.ProcessRow) error {
	for _, row := range rows {
		if err := t.UpdateProcessLease(ctx, row); err != nil {
			return err
		}
	}
	return nil
}
