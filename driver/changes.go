package driver

import (
	"context"
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/procreg/procreg"
)

// The change feed (procreg.Registry.ProcessesChangedSince). Every write
// that changes a record stamps its process row with a change position
// (ProcessRow.ChangePos) in the same statement: InsertProcess and
// UpdateProcess stamp, UpdateProcessLease (lease claims, renewals and
// releases, which are not record changes) does not. The feed reads rows
// whose (ChangePos, ID) is after the cursor, in that order, and only
// below the store's visibility horizon (Tx.ProcessesChangedSince), so a
// change that commits after a follower's read always lands after the
// follower's cursor. The cursor carries the last (position, id) served.
// What a position is, per store, is in the package docs ("The change
// feed").

// changesKind names change-feed cursors (see sealCursor); the feed has no
// filter, so its shape is "".
const changesKind = "changes"

// maxChangesLimit bounds a change-feed page.
const maxChangesLimit = 10000

func (e *engine) ProcessesChangedSince(ctx context.Context, cursor string, limit int) (procreg.Page, error) {
	const op = "procreg: processes changed since a cursor"
	if err := ctx.Err(); err != nil {
		return procreg.Page{}, fmt.Errorf("%s: %w", op, err)
	}
	if limit < 1 || limit > maxChangesLimit {
		return procreg.Page{}, fmt.Errorf("%w: change feed limit %d is outside 1..%d", procreg.ErrInvalid, limit, maxChangesLimit)
	}
	var pos int64
	var id string
	if cursor != "" {
		payload, err := e.openCursor(ctx, changesKind, "", cursor)
		if err != nil {
			return procreg.Page{}, err
		}
		if pos, id, err = decodeChangePos(payload); err != nil {
			return procreg.Page{}, err
		}
	}
	page := procreg.Page{Records: []procreg.Record{}}
	err := e.readOne(ctx, func(ctx context.Context, tx Tx) error {
		rows, err := tx.ProcessesChangedSince(ctx, pos, id, limit)
		if err != nil {
			return err
		}
		if len(rows) > 0 {
			last := rows[len(rows)-1]
			pos, id = last.ChangePos, last.ID
		}
		page.Records, err = mapRows(rows, toRecord)
		return err
	})
	if err != nil {
		return procreg.Page{}, fmt.Errorf("%s: %w", op, err)
	}
	if page.Records == nil {
		page.Records = []procreg.Record{}
	}
	// Next is never "": on an empty page it stays where the caller was, so a
	// follower keeps its place and polls with it.
	page.Next, err = e.sealCursor(ctx, changesKind, "", encodeChangePos(pos, id))
	if err != nil {
		return procreg.Page{}, fmt.Errorf("%s: %w", op, err)
	}
	return page, nil
}

// encodeChangePos is a change-feed cursor's payload: the position as a
// signed varint, then the id's bytes.
func encodeChangePos(pos int64, id string) []byte {
	b := binary.AppendVarint(nil, pos)
	return append(b, id...)
}

// decodeChangePos reads encodeChangePos. The payload is authenticated, so
// a failure here means a bug or a cursor format of another version.
func decodeChangePos(b []byte) (int64, string, error) {
	pos, n := binary.Varint(b)
	if n <= 0 || pos < 0 || !utf8.Valid(b[n:]) || len(b[n:]) > procreg.MaxIDBytes {
		return 0, "", fmt.Errorf("%w: change feed cursor has a malformed position", procreg.ErrInvalid)
	}
	return pos, string(b[n:]), nil
}
