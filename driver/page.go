package driver

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/core"
)

// Pages and counts (ListProcessesPage, ListNonTerminalPage, CountProcesses).
//
// A scan is keyset paging over the filter's index in id (byte) order. The
// first call (cursor "") runs two statements in one Read, a consistent
// snapshot: Tx.LastProcessID captures the greatest matching id as the
// scan's inclusive upper bound, and Tx.ListProcessesPage reads the first
// page up to it. A later call is one statement in one ReadOne: the page
// after the previous page's last id, up to the same bound. The cursor
// carries (last id, bound), sealed by sealCursor with kind "page" and the
// call's shape (method and normalized filter), so a cursor of another
// method, filter or database, or any altered byte, is ErrInvalid.
//
// Each page asks the store for limit+1 rows: when the extra row exists the
// page is full and Next resumes after its last row; otherwise Next is ""
// (so a scan whose remaining rows exactly fill a page ends there, with no
// empty page after it). The extra row is only a look-ahead: the next page
// reads it again, so a row that stops matching in between is not returned.

// maxPageLimit is the largest page a caller may ask for (SPEC §10).
const maxPageLimit = 10000

// PageQuery selects one page of a keyset scan: the rows matching ListQuery
// with After < ID <= Bound, in id order, at most Limit (> 0) of them. After
// is "" for the first page (every id is longer than "").
type PageQuery struct {
	ListQuery
	After string // exclusive lower bound: the last id of the previous page
	Bound string // inclusive upper bound captured when the scan began
	Limit int
}

// cursorKindPage is the cursor kind of both page methods; the method name
// in the shape keeps their cursors apart.
const cursorKindPage = "page"

func (e *engine) ListProcessesPage(ctx context.Context, f procreg.ListFilter, limit int, cursor string) (procreg.Page, error) {
	const op = "list processes page"
	if err := ctx.Err(); err != nil {
		return procreg.Page{}, fmt.Errorf("procreg: %s: %w", op, err)
	}
	c, err := core.Criteria(f)
	if err != nil {
		return procreg.Page{}, err
	}
	q := ListQuery{Status: c.State, DefinitionFingerprint: c.DefinitionFingerprint, Waiting: c.Waiting}
	return e.page(ctx, op, "ListProcessesPage", q, limit, cursor)
}

func (e *engine) ListNonTerminalPage(ctx context.Context, limit int, cursor string) (procreg.Page, error) {
	const op = "list non-terminal page"
	if err := ctx.Err(); err != nil {
		return procreg.Page{}, fmt.Errorf("procreg: %s: %w", op, err)
	}
	return e.page(ctx, op, "ListNonTerminalPage", ListQuery{Status: procreg.StateRunning}, limit, cursor)
}

func (e *engine) CountProcesses(ctx context.Context, f procreg.ListFilter) (int, error) {
	const op = "count processes"
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("procreg: %s: %w", op, err)
	}
	c, err := core.Criteria(f)
	if err != nil {
		return 0, err
	}
	q := ListQuery{Status: c.State, DefinitionFingerprint: c.DefinitionFingerprint, Waiting: c.Waiting}
	var n int64
	err = e.readOne(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		n, err = tx.CountProcesses(ctx, q)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("procreg: %s: %w", op, err)
	}
	return int(n), nil
}

// pageShape is the normalized call a cursor belongs to: the method and
// every filter field, absent ones spelled apart from any value.
func pageShape(method string, q ListQuery) string {
	def, waiting := "-", "-"
	if q.DefinitionFingerprint != nil {
		def = "=" + *q.DefinitionFingerprint
	}
	if q.Waiting != nil {
		waiting = fmt.Sprint(*q.Waiting)
	}
	return method + "\x00status=" + q.Status + "\x00definition" + def + "\x00waiting=" + waiting
}

// page runs one page of a scan (see the comment at the top of this file).
func (e *engine) page(ctx context.Context, op, method string, q ListQuery, limit int, cursor string) (procreg.Page, error) {
	if limit < 1 || limit > maxPageLimit {
		return procreg.Page{}, fmt.Errorf("%w: %s: limit %d is outside 1..%d", procreg.ErrInvalid, op, limit, maxPageLimit)
	}
	shape := pageShape(method, q)
	pq := PageQuery{ListQuery: q, Limit: limit + 1}
	var rows []ProcessRow
	if cursor == "" {
		err := e.read(ctx, func(ctx context.Context, tx Tx) error {
			bound, found, err := tx.LastProcessID(ctx, q)
			if err != nil || !found {
				rows = nil
				return err
			}
			pq.Bound = bound
			rows, err = tx.ListProcessesPage(ctx, pq)
			return err
		})
		if err != nil {
			return procreg.Page{}, fmt.Errorf("procreg: %s: %w", op, err)
		}
	} else {
		payload, err := e.openCursor(ctx, cursorKindPage, shape, cursor)
		if err != nil {
			return procreg.Page{}, fmt.Errorf("procreg: %s: %w", op, err)
		}
		if pq.After, pq.Bound, err = decodePagePosition(payload); err != nil {
			return procreg.Page{}, fmt.Errorf("%w: %s: %s cursor: %v", procreg.ErrInvalid, op, cursorKindPage, err)
		}
		err = e.readOne(ctx, func(ctx context.Context, tx Tx) error {
			var err error
			rows, err = tx.ListProcessesPage(ctx, pq)
			return err
		})
		if err != nil {
			return procreg.Page{}, fmt.Errorf("procreg: %s: %w", op, err)
		}
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	recs, err := mapRows(rows, toRecord)
	if err != nil {
		return procreg.Page{}, fmt.Errorf("procreg: %s: %w", op, err)
	}
	page := procreg.Page{Records: recs}
	if more {
		last := rows[len(rows)-1].ID
		if page.Next, err = e.sealCursor(ctx, cursorKindPage, shape, encodePagePosition(last, pq.Bound)); err != nil {
			return procreg.Page{}, fmt.Errorf("procreg: %s: %w", op, err)
		}
	}
	return page, nil
}

// encodePagePosition is a page cursor's payload: the length of after as a
// uvarint, after, then bound. Ids are at most procreg.MaxIDBytes, so the
// sealed cursor stays under core.MaxCursorBytes.
func encodePagePosition(after, bound string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(after)))
	b = append(b, after...)
	return append(b, bound...)
}

// decodePagePosition reverses encodePagePosition. The payload was
// authenticated before, so a failure here means a bug, not an attack; it
// is still ErrInvalid rather than a wrong page.
func decodePagePosition(p []byte) (after, bound string, err error) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return "", "", fmt.Errorf("malformed position")
	}
	after, bound = string(p[k:k+int(n)]), string(p[k+int(n):])
	if after == "" || bound == "" || after >= bound {
		return "", "", fmt.Errorf("position %q..%q is not a range", after, bound)
	}
	return after, bound, nil
}
