package ui

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/procreg/procreg"
)

const (
	defaultPageSize = 50
	maxPageSize     = 500
	// prefixScanLimit and prefixScanBudget bound one prefix search: the
	// Registry API pages from the start of the id order and cannot seek to
	// a prefix, so a search scans pages in id order and stops after this
	// many rows or, at the end of a page, once the page has taken this
	// long to make (a registry of a million processes on a loaded machine
	// reads a thousand records in ~100 ms).
	prefixScanLimit  = 5000
	prefixScanBudget = 150 * time.Millisecond
	prefixScanPage   = 250
)

type listRow struct {
	Rec   procreg.Record
	Lease *procreg.Lease
	Live  bool // the lease is live now
}

type sortLink struct {
	Key, Label, URL, Arrow string
}

type listData struct {
	Status     string
	Definition string
	Waiting    string
	Prefix     string
	Limit      int
	Sort, Dir  string
	Cursor     string
	Rows       []listRow
	Count      figure // CountProcesses for the filter (without the prefix), from the counter
	Next       string
	NextURL    string
	FirstURL   string
	Sorts      []sortLink
	// Prefix search: how many rows were scanned, and whether the scan
	// stopped at its limit before the prefix's end.
	Scanned    int
	ScanCapped bool
	ExactID    string // the prefix is an existing id
	ScanLimit  int
	ScanBudget time.Duration // counted from the start of the request
	start      time.Time
	Statuses   []string
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	d, err := s.list(r.Context(), r.URL.Query())
	var bad *badRequest
	switch {
	case errors.As(err, &bad):
		s.fail(w, http.StatusBadRequest, bad.msg)
		return
	case errors.Is(err, procreg.ErrInvalid):
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, "list", http.StatusOK, page{Title: "Processes", Nav: "list", Data: d, Elapsed: time.Since(start)})
}

type badRequest struct{ msg string }

func (b *badRequest) Error() string { return b.msg }

func (s *Server) list(ctx context.Context, q url.Values) (*listData, error) {
	p := s.reg
	d := &listData{start: time.Now(),
		Status: q.Get("status"), Definition: strings.TrimSpace(q.Get("definition")),
		Waiting: q.Get("waiting"), Prefix: q.Get("q"), Cursor: q.Get("cursor"),
		Sort: q.Get("sort"), Dir: q.Get("dir"), Limit: defaultPageSize, ScanLimit: prefixScanLimit, ScanBudget: prefixScanBudget,
		Statuses: []string{"any", "running", "completed", "failed", "cancelled", "abandoned"},
	}
	if d.Status == "" {
		d.Status = "any"
	}
	f := procreg.ListFilter{Status: procreg.StatusFilter(d.Status)}
	if d.Definition != "" {
		if !json.Valid([]byte(d.Definition)) {
			return nil, &badRequest{"definition must be JSON"}
		}
		f.Definition = json.RawMessage(d.Definition)
	}
	switch d.Waiting {
	case "":
	case "yes", "no":
		w := d.Waiting == "yes"
		f.Waiting = &w
	default:
		return nil, &badRequest{"waiting must be yes, no or empty"}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPageSize {
			return nil, &badRequest{"limit must be 1.." + strconv.Itoa(maxPageSize)}
		}
		d.Limit = n
	}
	figs, err := s.counts.get(ctx, f)
	if err != nil {
		return nil, err
	}
	d.Count = figs[0]
	var recs []procreg.Record
	if d.Prefix == "" {
		pg, err := p.ListProcessesPage(ctx, f, d.Limit, d.Cursor)
		if err != nil {
			return nil, err
		}
		recs, d.Next = pg.Records, pg.Next
	} else {
		if recs, d.Next, err = s.prefixScan(ctx, p, f, d); err != nil {
			return nil, err
		}
		if _, err := s.reg.GetProcess(ctx, d.Prefix); err == nil {
			d.ExactID = d.Prefix
		}
	}
	now := s.now()
	for _, rec := range recs {
		l, err := s.reg.GetProcessLease(ctx, rec.ID)
		if err != nil {
			return nil, err
		}
		d.Rows = append(d.Rows, listRow{Rec: rec, Lease: l, Live: l.IsLive(now)})
	}
	d.sortRows()
	base := url.Values{}
	for k, v := range map[string]string{"status": d.Status, "definition": d.Definition, "waiting": d.Waiting, "q": d.Prefix} {
		if v != "" {
			base.Set(k, v)
		}
	}
	if d.Limit != defaultPageSize {
		base.Set("limit", strconv.Itoa(d.Limit))
	}
	withSort := cloneValues(base)
	if d.Sort != "" {
		withSort.Set("sort", d.Sort)
		withSort.Set("dir", d.Dir)
	}
	d.FirstURL = "/processes?" + withSort.Encode()
	if d.Next != "" {
		n := cloneValues(withSort)
		n.Set("cursor", d.Next)
		d.NextURL = "/processes?" + n.Encode()
	}
	for _, c := range [][2]string{{"id", "Id"}, {"status", "Status"}, {"updated", "Updated"}, {"holder", "Lease holder"}} {
		v := cloneValues(base)
		if d.Cursor != "" {
			v.Set("cursor", d.Cursor)
		}
		link := sortLink{Key: c[0], Label: c[1]}
		dir := "asc"
		cur := d.Sort == c[0] || (d.Sort == "" && c[0] == "id")
		if cur {
			link.Arrow = "▲"
			if d.Dir == "desc" {
				link.Arrow = "▼"
			} else {
				dir = "desc"
			}
		}
		if c[0] != "id" || dir == "desc" {
			v.Set("sort", c[0])
			v.Set("dir", dir)
		}
		link.URL = "/processes?" + v.Encode()
		d.Sorts = append(d.Sorts, link)
	}
	return d, nil
}

// prefixScan reads pages in id order from the cursor (or the start) and
// keeps the ids with the prefix, until a page is full, the ids pass the
// prefix (ids compare byte-wise, so the matches are contiguous), or
// prefixScanLimit rows were read, or prefixScanBudget has passed since
// the request began. Next resumes the scan where it stopped.
// Every match on the pages read is kept (a cursor cannot resume mid-page),
// so a result may hold more than the page size.
func (s *Server) prefixScan(ctx context.Context, p procreg.Registry, f procreg.ListFilter, d *listData) ([]procreg.Record, string, error) {
	cursor := d.Cursor
	var out []procreg.Record
	for {
		pg, err := p.ListProcessesPage(ctx, f, prefixScanPage, cursor)
		if err != nil {
			return nil, "", err
		}
		for _, rec := range pg.Records {
			d.Scanned++
			if strings.HasPrefix(rec.ID, d.Prefix) {
				out = append(out, rec)
			} else if rec.ID > d.Prefix {
				return out, "", nil // past the prefix: done
			}
		}
		if pg.Next == "" {
			return out, "", nil
		}
		cursor = pg.Next
		if len(out) >= d.Limit || d.Scanned >= prefixScanLimit || time.Since(d.start) >= prefixScanBudget {
			d.ScanCapped = len(out) < d.Limit
			return out, cursor, nil
		}
	}
}

func (d *listData) sortRows() {
	if d.Sort == "" || d.Sort == "id" {
		if d.Dir == "desc" {
			sort.SliceStable(d.Rows, func(i, j int) bool { return d.Rows[i].Rec.ID > d.Rows[j].Rec.ID })
		}
		return
	}
	key := func(r listRow) string {
		switch d.Sort {
		case "status":
			return r.Rec.Status.State
		case "updated":
			return r.Rec.UpdatedAt.UTC().Format(time.RFC3339Nano)
		case "holder":
			if r.Lease != nil && r.Lease.Token != "" {
				return r.Lease.Owner.OwnerID
			}
			return "\U0010FFFF" // unleased last
		}
		return r.Rec.ID
	}
	desc := d.Dir == "desc"
	sort.SliceStable(d.Rows, func(i, j int) bool {
		a, b := key(d.Rows[i]), key(d.Rows[j])
		if desc {
			return a > b
		}
		return a < b
	})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
