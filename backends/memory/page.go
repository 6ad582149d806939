package memory

import (
	"context"
	"slices"
	"strings"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/core"
)

// Pages and counts over ordered id sets.
//
// procs is a map, so the store also keeps its ids in byte order: one
// ordered set of every id and one per status (pageIndex), updated by
// setProc, the only way a process row is stored or removed. A change
// costs O(log n + b) (b = blockSize), a status change two of them.
//
// Costs, with n the ids of the status the query names (every id when it
// names none) and k the page size:
//   - ListProcessesPage: O(log n + s), s the ids walked from the cursor to
//     the k+1-th match. A query walks the ids of what it names of
//     definition and status (n is then theirs); a waiting criterion is
//     checked per id, so s grows with the non-matching ids in between;
//     without one s = k+1.
//   - LastProcessID: O(log n) when every id of the walked set matches,
//     else a walk back from its greatest id to the first match.
//   - CountProcesses: O(1) for a status-only filter, else O(n).
//
// No call sorts: a page never copies or sorts the whole id set.

// blockSize bounds an ordered set's block; a full block splits in two.
const blockSize = 512

// orderedIDs is a set of ids in byte order: sorted blocks, each non-empty,
// every id of a block less than every id of the next.
type orderedIDs struct {
	blocks [][]string
	n      int
}

// block returns the index of the first block whose last id is >= id
// (len(blocks) when there is none).
func (o *orderedIDs) block(id string) int {
	i, _ := slices.BinarySearchFunc(o.blocks, id, func(b []string, id string) int {
		return strings.Compare(b[len(b)-1], id)
	})
	return i
}

func (o *orderedIDs) insert(id string) {
	if len(o.blocks) == 0 {
		o.blocks = [][]string{{id}}
		o.n = 1
		return
	}
	i := min(o.block(id), len(o.blocks)-1)
	b := o.blocks[i]
	j, found := slices.BinarySearch(b, id)
	if found {
		return
	}
	b = slices.Insert(b, j, id)
	o.n++
	if len(b) <= blockSize {
		o.blocks[i] = b
		return
	}
	half := len(b) / 2
	lo, hi := slices.Clone(b[:half]), slices.Clone(b[half:])
	o.blocks[i] = lo
	o.blocks = slices.Insert(o.blocks, i+1, hi)
}

func (o *orderedIDs) remove(id string) {
	i := o.block(id)
	if i == len(o.blocks) {
		return
	}
	b := o.blocks[i]
	j, found := slices.BinarySearch(b, id)
	if !found {
		return
	}
	o.n--
	if len(b) == 1 {
		o.blocks = slices.Delete(o.blocks, i, i+1)
		return
	}
	o.blocks[i] = slices.Delete(b, j, j+1)
}

// ascend calls fn with every id greater than after, in order, until fn
// returns false.
func (o *orderedIDs) ascend(after string, fn func(id string) bool) {
	for i := o.block(after); i < len(o.blocks); i++ {
		b := o.blocks[i]
		j, found := slices.BinarySearch(b, after)
		if found {
			j++
		}
		for _, id := range b[j:] {
			if !fn(id) {
				return
			}
		}
		after = "" // every id of the later blocks is greater
	}
}

// descend calls fn with every id from the greatest down, until fn returns
// false.
func (o *orderedIDs) descend(fn func(id string) bool) {
	for i := len(o.blocks) - 1; i >= 0; i-- {
		b := o.blocks[i]
		for j := len(b) - 1; j >= 0; j-- {
			if !fn(b[j]) {
				return
			}
		}
	}
}

// pageIndex orders the ids of procs: all of them, per status, per
// definition fingerprint (which never changes after registration), and per
// (definition, status).
type pageIndex struct {
	all          orderedIDs
	byStatus     map[string]*orderedIDs
	byDefinition map[string]*orderedIDs
	byDefStatus  map[defStatus]*orderedIDs
}

// defStatus keys byDefStatus.
type defStatus struct{ definition, status string }

// ids returns the set to walk for q: the ids of its definition and status,
// of its definition, or of its status, whichever it names (every id when it
// names neither). The query's waiting criterion is checked per id.
func (p *pageIndex) ids(q driver.ListQuery) *orderedIDs {
	var set *orderedIDs
	switch {
	case q.DefinitionFingerprint != nil && q.Status != "":
		set = p.byDefStatus[defStatus{*q.DefinitionFingerprint, q.Status}]
	case q.DefinitionFingerprint != nil:
		set = p.byDefinition[*q.DefinitionFingerprint]
	case q.Status != "":
		set = p.byStatus[q.Status]
	default:
		return &p.all
	}
	if set == nil {
		return &orderedIDs{}
	}
	return set
}

// indexed returns the set of key in sets, made when missing.
func indexed[K comparable](sets *map[K]*orderedIDs, key K) *orderedIDs {
	if *sets == nil {
		*sets = map[K]*orderedIDs{}
	}
	set := (*sets)[key]
	if set == nil {
		set = &orderedIDs{}
		(*sets)[key] = set
	}
	return set
}

// setProc stores row under id (present) or removes id, keeping pageIndex in
// step with procs. Every write and undo of procs goes through it.
func (s *memStore) setProc(id string, row driver.ProcessRow, present bool) {
	old, had := s.procs[id]
	p := &s.order
	if had && (!present || old.Status != row.Status) {
		p.byStatus[old.Status].remove(id)
		if old.DefinitionFingerprint != "" {
			p.byDefStatus[defStatus{old.DefinitionFingerprint, old.Status}].remove(id)
		}
	}
	if present && (!had || old.Status != row.Status) {
		indexed(&p.byStatus, row.Status).insert(id)
		if row.DefinitionFingerprint != "" {
			indexed(&p.byDefStatus, defStatus{row.DefinitionFingerprint, row.Status}).insert(id)
		}
	}
	switch {
	case present && !had:
		p.all.insert(id)
		if row.DefinitionFingerprint != "" {
			indexed(&p.byDefinition, row.DefinitionFingerprint).insert(id)
		}
	case !present && had:
		p.all.remove(id)
		if old.DefinitionFingerprint != "" {
			p.byDefinition[old.DefinitionFingerprint].remove(id)
		}
	}
	if present {
		s.procs[id] = row
	} else {
		delete(s.procs, id)
	}
}

// criteria is q as matching criteria.
func criteria(q driver.ListQuery) core.ListCriteria {
	return core.ListCriteria{State: q.Status, DefinitionFingerprint: q.DefinitionFingerprint, Waiting: q.Waiting}
}

func (t *tx) ListProcessesPage(_ context.Context, q driver.PageQuery) ([]driver.ProcessRow, error) {
	c := criteria(q.ListQuery)
	var out []driver.ProcessRow
	t.s.order.ids(q.ListQuery).ascend(q.After, func(id string) bool {
		if id > q.Bound {
			return false
		}
		if row := t.s.procs[id]; c.Matches(row.Status, row.DefinitionFingerprint, row.Waiting) {
			out = append(out, row)
		}
		return len(out) < q.Limit
	})
	return out, nil
}

func (t *tx) LastProcessID(_ context.Context, q driver.ListQuery) (id string, found bool, err error) {
	c := criteria(q)
	t.s.order.ids(q).descend(func(cand string) bool {
		if row := t.s.procs[cand]; c.Matches(row.Status, row.DefinitionFingerprint, row.Waiting) {
			id, found = cand, true
		}
		return !found
	})
	return id, found, nil
}

func (t *tx) CountProcesses(_ context.Context, q driver.ListQuery) (int64, error) {
	set := t.s.order.ids(q)
	if q.DefinitionFingerprint == nil && q.Waiting == nil {
		return int64(set.n), nil
	}
	c := criteria(q)
	var n int64
	set.ascend("", func(id string) bool {
		if row := t.s.procs[id]; c.Matches(row.Status, row.DefinitionFingerprint, row.Waiting) {
			n++
		}
		return true
	})
	return n, nil
}
