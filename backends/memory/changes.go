package memory

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/procreg/procreg/driver"
)

// The change feed over maps. Writes hold the store's lock, one at a time,
// so a counter advanced inside the write is ordered like the commits:
// every record-changing write (InsertProcess, UpdateProcess) stamps the row
// with the next position; a lease-only write (UpdateProcessLease) keeps it.
// A rolled-back write leaves a gap in the positions, never a repeat: the
// counter is not undone.

// stampChange gives row the next change position.
func (t *tx) stampChange(row *driver.ProcessRow) {
	t.s.changePos++
	row.ChangePos = t.s.changePos
}

func (t *tx) UpdateProcessLease(_ context.Context, row driver.ProcessRow) error {
	if err := t.writable(); err != nil {
		return err
	}
	next, ok := t.s.procs[row.ID]
	if !ok {
		return errors.New("memory store: lease update of missing process " + row.ID)
	}
	next.LeaseToken, next.LeaseOwner, next.LeaseOwnerID = row.LeaseToken, row.LeaseOwner, row.LeaseOwnerID
	next.LeaseIncarnationID, next.LeaseFencingToken = row.LeaseIncarnationID, row.LeaseFencingToken
	next.LeaseClaimedAtMs, next.LeaseExpiresAtMs = row.LeaseClaimedAtMs, row.LeaseExpiresAtMs
	t.putProcess(next)
	return nil
}

// ProcessesChangedSince scans every process: the memory store is for tests
// and small embedded use, where a sort per page is cheap.
func (t *tx) ProcessesChangedSince(_ context.Context, afterPos int64, afterID string, limit int) ([]driver.ProcessRow, error) {
	var rows []driver.ProcessRow
	for _, r := range t.s.procs {
		if r.ChangePos > afterPos || (r.ChangePos == afterPos && r.ID > afterID) {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b driver.ProcessRow) int {
		return cmp.Or(cmp.Compare(a.ChangePos, b.ChangePos), cmp.Compare(a.ID, b.ID))
	})
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return rows, nil
}
