package conformance

import (
	"fmt"
	"strings"
	"testing"

	"github.com/procreg/procreg"
)

// Pages and counts (SPEC §10): ListProcessesPage, ListNonTerminalPage and
// CountProcesses.

func pageRules() []rule {
	return []rule{
		{"Boundaries", testPageBoundaries},
		{"EmptyRegistryAndEmptyFilter", testPageEmpty},
		{"LimitOne", testPageLimitOne},
		{"LimitOutOfRangeIsInvalid", testPageLimitInvalid},
		{"BoundCapturedAtScanStart", testPageBound},
		{"CompletedBetweenPagesNotReturned", testPageCompletedBetween},
		{"StopsMatchingFilterBetweenPages", testPageStopsMatching},
		{"InvalidCursors", testPageInvalidCursors},
		{"CountsAndPagesMatchLists", testPageCountsMatchLists},
	}
}

// pageFn is one page call: ListProcessesPage with a filter or
// ListNonTerminalPage.
type pageFn func(limit int, cursor string) (procreg.Page, error)

func listPages(t *testing.T, r procreg.Registry, f procreg.ListFilter) pageFn {
	return func(limit int, cursor string) (procreg.Page, error) {
		return r.ListProcessesPage(t.Context(), f, limit, cursor)
	}
}

func nonTerminalPages(t *testing.T, r procreg.Registry) pageFn {
	return func(limit int, cursor string) (procreg.Page, error) {
		return r.ListNonTerminalPage(t.Context(), limit, cursor)
	}
}

// mustPage reads one page and checks that its records are in ascending id
// order and at most limit.
func mustPage(t *testing.T, page pageFn, limit int, cursor, what string) procreg.Page {
	t.Helper()
	p, err := page(limit, cursor)
	wantOK(t, err, what)
	if len(p.Records) > limit {
		t.Fatalf("%s: %d records; want at most limit %d", what, len(p.Records), limit)
	}
	for i := 1; i < len(p.Records); i++ {
		if p.Records[i-1].ID >= p.Records[i].ID {
			t.Fatalf("%s: records %v not in ascending byte order", what, recordIDs(p.Records))
		}
	}
	return p
}

// walkPages reads a whole scan and returns each page's ids.
func walkPages(t *testing.T, page pageFn, limit int) [][]string {
	t.Helper()
	var pages [][]string
	cursor := ""
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("scan does not end: Next is never empty")
		}
		p := mustPage(t, page, limit, cursor, fmt.Sprintf("page %d (limit %d)", i+1, limit))
		pages = append(pages, recordIDs(p.Records))
		if p.Next == "" {
			return pages
		}
		cursor = p.Next
	}
}

func flatten(pages [][]string) []string {
	var out []string
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

func registerIDs(t *testing.T, r procreg.Registry, ids ...string) {
	t.Helper()
	for _, id := range ids {
		mustRegister(t, r, toolReg(id))
	}
}

func testPageBoundaries(t *testing.T, r procreg.Registry) {
	// Byte order: upper case before lower case, a trailing space after,
	// multi-byte UTF-8 last.
	ids := []string{"P", "Proc", "p", "proc", "proc ", "proc-2", "é"}
	registerIDs(t, r, ids[3], ids[0], ids[6], ids[2], ids[5], ids[1], ids[4])
	for _, tc := range []struct {
		limit int
		want  [][]string
	}{
		{3, [][]string{ids[0:3], ids[3:6], ids[6:]}},
		{6, [][]string{ids[0:6], ids[6:]}},
		// The rest fits the page exactly: no empty page follows.
		{7, [][]string{ids}},
		{10000, [][]string{ids}},
	} {
		for name, page := range map[string]pageFn{
			"ListNonTerminalPage":    nonTerminalPages(t, r),
			"ListProcessesPage(any)": listPages(t, r, procreg.ListFilter{Status: procreg.StatusAny}),
		} {
			got := walkPages(t, page, tc.limit)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s with limit %d: pages %q; want %q", name, tc.limit, got, tc.want)
			}
		}
	}
	// A limit may change between pages of a scan: it is not part of the call.
	p := mustPage(t, nonTerminalPages(t, r), 2, "", "first page, limit 2")
	p = mustPage(t, nonTerminalPages(t, r), 4, p.Next, "second page, limit 4")
	wantStrings(t, "second page with another limit", recordIDs(p.Records), ids[2:6]...)
}

func testPageEmpty(t *testing.T, r procreg.Registry) {
	for name, page := range map[string]pageFn{
		"ListNonTerminalPage":        nonTerminalPages(t, r),
		"ListProcessesPage(any)":     listPages(t, r, procreg.ListFilter{Status: procreg.StatusAny}),
		"ListProcessesPage(waiting)": listPages(t, r, procreg.ListFilter{Waiting: boolPtr(true)}),
	} {
		p := mustPage(t, page, 10, "", name+" on an empty registry")
		if len(p.Records) != 0 || p.Next != "" {
			t.Errorf("%s on an empty registry: %d records, Next %q; want none and \"\"", name, len(p.Records), p.Next)
		}
	}
	n, err := r.CountProcesses(t.Context(), procreg.ListFilter{Status: procreg.StatusAny})
	wantOK(t, err, "CountProcesses on an empty registry")
	wantEqual(t, "count of an empty registry", n, 0)

	registerIDs(t, r, "a", "b")
	mustComplete(t, r, "b", success(`1`))
	for name, f := range map[string]procreg.ListFilter{
		"failed":             {Status: procreg.StatusFailed},
		"running waiting":    {Waiting: boolPtr(true)},
		"unknown definition": {Status: procreg.StatusAny, Definition: raw(`{"nope":1}`)},
	} {
		p := mustPage(t, listPages(t, r, f), 1, "", name)
		if len(p.Records) != 0 || p.Next != "" {
			t.Errorf("ListProcessesPage(%s) matching nothing: %v, Next %q; want no records and \"\"", name, recordIDs(p.Records), p.Next)
		}
	}
}

func testPageLimitOne(t *testing.T, r procreg.Registry) {
	registerIDs(t, r, "c", "a", "b")
	got := walkPages(t, nonTerminalPages(t, r), 1)
	if fmt.Sprint(got) != fmt.Sprint([][]string{{"a"}, {"b"}, {"c"}}) {
		t.Errorf("limit 1: pages %q; want [[a] [b] [c]]", got)
	}
}

func testPageLimitInvalid(t *testing.T, r procreg.Registry) {
	registerIDs(t, r, "a")
	for _, limit := range []int{0, -1, 10001, 1 << 40} {
		_, err := r.ListNonTerminalPage(t.Context(), limit, "")
		wantErr(t, err, procreg.ErrInvalid, "", fmt.Sprintf("ListNonTerminalPage(limit %d)", limit))
		_, err = r.ListProcessesPage(t.Context(), procreg.ListFilter{}, limit, "")
		wantErr(t, err, procreg.ErrInvalid, "", fmt.Sprintf("ListProcessesPage(limit %d)", limit))
	}
	// The limit is checked on later pages too.
	registerIDs(t, r, "b")
	p := mustPage(t, nonTerminalPages(t, r), 1, "", "first page")
	_, err := r.ListNonTerminalPage(t.Context(), 0, p.Next)
	wantErr(t, err, procreg.ErrInvalid, "", "ListNonTerminalPage(limit 0, a valid cursor)")
	_, err = r.ListProcessesPage(t.Context(), procreg.ListFilter{Status: "nonsense"}, 10, "")
	wantErr(t, err, procreg.ErrInvalid, "", "ListProcessesPage with an unknown status")
	_, err = r.CountProcesses(t.Context(), procreg.ListFilter{Status: "nonsense"})
	wantErr(t, err, procreg.ErrInvalid, "", "CountProcesses with an unknown status")
	mustPage(t, nonTerminalPages(t, r), 10000, "", "limit 10000")
}

func testPageBound(t *testing.T, r procreg.Registry) {
	registerIDs(t, r, "b", "d", "f")
	page := nonTerminalPages(t, r)
	p := mustPage(t, page, 1, "", "first page")
	wantStrings(t, "first page", recordIDs(p.Records), "b")
	// Registered after the scan began: c and e are below the bound f and
	// not yet seen, so this scan returns them; a is below the cursor, g
	// beyond the bound: both wait for the next scan.
	registerIDs(t, r, "g", "c", "a", "e")
	rest := flatten(walkRest(t, page, 2, p.Next))
	wantStrings(t, "rest of the scan", rest, "c", "d", "e", "f")
	wantStrings(t, "next scan", flatten(walkPages(t, page, 3)), "a", "b", "c", "d", "e", "f", "g")

	// The same holds for a filtered scan.
	fp := listPages(t, r, procreg.ListFilter{Status: procreg.StatusAny})
	p = mustPage(t, fp, 2, "", "first page of any")
	wantStrings(t, "first page of any", recordIDs(p.Records), "a", "b")
	registerIDs(t, r, "h", "bb")
	wantStrings(t, "rest of the scan of any", flatten(walkRest(t, fp, 100, p.Next)), "bb", "c", "d", "e", "f", "g")
}

// walkRest continues a scan from cursor.
func walkRest(t *testing.T, page pageFn, limit int, cursor string) [][]string {
	t.Helper()
	var pages [][]string
	for i := 0; cursor != ""; i++ {
		if i > 10000 {
			t.Fatal("scan does not end: Next is never empty")
		}
		p := mustPage(t, page, limit, cursor, fmt.Sprintf("later page %d", i+1))
		pages = append(pages, recordIDs(p.Records))
		cursor = p.Next
	}
	return pages
}

func testPageCompletedBetween(t *testing.T, r procreg.Registry) {
	registerIDs(t, r, "a", "b", "c", "d", "e")
	page := nonTerminalPages(t, r)
	p := mustPage(t, page, 2, "", "first page")
	wantStrings(t, "first page", recordIDs(p.Records), "a", "b")
	// Completed before its page is read: not returned. Completed after its
	// page was read: not returned again either.
	mustComplete(t, r, "c", success(`1`))
	mustComplete(t, r, "a", success(`1`))
	p = mustPage(t, page, 2, p.Next, "second page")
	wantStrings(t, "second page", recordIDs(p.Records), "d", "e")
	if p.Next != "" {
		t.Errorf("second page ends at the bound; Next %q; want \"\"", p.Next)
	}

	// The bound itself stops matching: the scan ends with what is left.
	registerIDs(t, r, "f", "g", "h")
	p = mustPage(t, page, 3, "", "first page of a new scan")
	wantStrings(t, "first page of a new scan", recordIDs(p.Records), "b", "d", "e")
	mustComplete(t, r, "h", success(`1`))
	rest := walkRest(t, page, 3, p.Next)
	wantStrings(t, "rest after the bound completed", flatten(rest), "f", "g")
}

func testPageStopsMatching(t *testing.T, r procreg.Registry) {
	registerIDs(t, r, "a", "b", "c", "d")
	for _, id := range []string{"a", "b", "c", "d"} {
		_, err := r.SetProcessWait(t.Context(), id, procreg.WaitState{Kind: "signal", Name: "go"})
		wantOK(t, err, "SetProcessWait "+id)
	}
	page := listPages(t, r, procreg.ListFilter{Waiting: boolPtr(true)})
	p := mustPage(t, page, 2, "", "first page of waiting")
	wantStrings(t, "first page of waiting", recordIDs(p.Records), "a", "b")
	_, err := r.ClearProcessWait(t.Context(), "c")
	wantOK(t, err, "ClearProcessWait c")
	wantStrings(t, "rest of waiting", flatten(walkRest(t, page, 2, p.Next)), "d")
}

func testPageInvalidCursors(t *testing.T, r procreg.Registry) {
	registerIDs(t, r, "a", "b", "c")
	mustComplete(t, r, "c", success(`1`))
	nt := mustPage(t, nonTerminalPages(t, r), 1, "", "ListNonTerminalPage")
	run := mustPage(t, listPages(t, r, procreg.ListFilter{}), 1, "", "ListProcessesPage(running)")
	anyP := mustPage(t, listPages(t, r, procreg.ListFilter{Status: procreg.StatusAny}), 1, "", "ListProcessesPage(any)")
	if nt.Next == "" || run.Next == "" || anyP.Next == "" {
		t.Fatalf("first pages of limit 1 over 2+ matches have no Next: %q %q %q", nt.Next, run.Next, anyP.Next)
	}
	// A valid cursor works, twice (pages are reads).
	for range 2 {
		p := mustPage(t, nonTerminalPages(t, r), 1, nt.Next, "ListNonTerminalPage with its cursor")
		wantStrings(t, "second page", recordIDs(p.Records), "b")
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	bad := map[string]string{
		"garbage":               "not a cursor",
		"forged":                "v1.AAAA.AAAAAAAAAAAAAAAAAAAAAA",
		"truncated":             nt.Next[:len(nt.Next)-3],
		"truncated to a dot":    nt.Next[:strings.LastIndex(nt.Next, ".")+1],
		"payload only":          nt.Next[:strings.LastIndex(nt.Next, ".")],
		"altered payload":       flip(nt.Next, 4),
		"altered mac":           flip(nt.Next, len(nt.Next)-2),
		"extended":              nt.Next + "AA",
		"very long":             strings.Repeat("v1.", 2000),
		"non-UTF-8":             "v1.\xff\xfe.\x00",
		"ListProcessesPage's":   run.Next,
		"another filter's":      anyP.Next,
		"ListNonTerminalPage's": nt.Next,
	}
	for name, c := range bad {
		if name == "ListNonTerminalPage's" {
			continue
		}
		_, err := r.ListNonTerminalPage(t.Context(), 1, c)
		wantErr(t, err, procreg.ErrInvalid, "", "ListNonTerminalPage with a "+name+" cursor")
	}
	for name, c := range bad {
		if name == "ListProcessesPage's" {
			continue
		}
		_, err := r.ListProcessesPage(t.Context(), procreg.ListFilter{}, 1, c)
		wantErr(t, err, procreg.ErrInvalid, "", "ListProcessesPage(running) with a "+name+" cursor")
	}
	// The same filter spelled another way is the same call.
	p := mustPage(t, listPages(t, r, procreg.ListFilter{Status: procreg.StatusRunning, Definition: raw(`null`)}), 1, run.Next,
		"ListProcessesPage(running, null definition) with ListProcessesPage(zero filter)'s cursor")
	wantStrings(t, "same call, other spelling", recordIDs(p.Records), "b")
	// A definition filter's cursor is not another definition's.
	registerDefined(t, r, "d1", `{"k":1}`)
	registerDefined(t, r, "d2", `{"k":1}`)
	def := mustPage(t, listPages(t, r, procreg.ListFilter{Definition: raw(`{"k":1}`)}), 1, "", "definition page")
	_, err := r.ListProcessesPage(t.Context(), procreg.ListFilter{Definition: raw(`{"k":2}`)}, 1, def.Next)
	wantErr(t, err, procreg.ErrInvalid, "", "ListProcessesPage with another definition's cursor")
	_, err = r.ListProcessesPage(t.Context(), procreg.ListFilter{Definition: raw(`{"k":1}`), Waiting: boolPtr(false)}, 1, def.Next)
	wantErr(t, err, procreg.ErrInvalid, "", "ListProcessesPage with a cursor of the filter without waiting")
}

func registerDefined(t *testing.T, r procreg.Registry, id, definition string) {
	t.Helper()
	reg := toolReg(id)
	reg.Identity = procreg.Identity{Kind: "job", Definition: raw(definition)}
	mustRegister(t, r, reg)
}

// testPageCountsMatchLists: for every filter combination, CountProcesses is
// the length of ListProcesses and a paged walk returns exactly its ids.
func testPageCountsMatchLists(t *testing.T, r procreg.Registry) {
	outs := outputs()
	kinds := []string{"", "process.completed", "process.failed", "process.cancelled", "process.abandoned"}
	defs := []string{"", `{"d":"x"}`, `{"d":"y"}`}
	n := 0
	for i, kind := range kinds {
		for j, def := range defs {
			for w := range 2 {
				for k := range 2 { // two of each, so pages of 1 cross within a group
					id := fmt.Sprintf("p%d%d%d%d", (i*7+j*3+w+k)%5, i, j, w*2+k)
					reg := toolReg(id)
					if def != "" {
						reg.Identity = procreg.Identity{Kind: "job", Definition: raw(def)}
					}
					mustRegister(t, r, reg)
					n++
					if w == 1 {
						_, err := r.SetProcessWait(t.Context(), id, procreg.WaitState{Kind: "signal", Name: "go"})
						wantOK(t, err, "SetProcessWait "+id)
					}
					if kind != "" {
						mustComplete(t, r, id, outs[kind])
					}
				}
			}
		}
	}
	statuses := []procreg.StatusFilter{"", procreg.StatusRunning, procreg.StatusCompleted, procreg.StatusFailed,
		procreg.StatusCancelled, procreg.StatusAbandoned, procreg.StatusAny}
	waits := []*bool{nil, boolPtr(true), boolPtr(false)}
	total := 0
	for _, st := range statuses {
		for _, def := range append(defs, `{"d":"none"}`) {
			for _, w := range waits {
				f := procreg.ListFilter{Status: st, Waiting: w}
				if def != "" {
					f.Definition = raw(def)
				}
				name := fmt.Sprintf("status %q definition %s waiting %v", st, def, fmtBool(w))
				want := mustListProcesses(t, r, f)
				c, err := r.CountProcesses(t.Context(), f)
				wantOK(t, err, "CountProcesses "+name)
				if c != len(want) {
					t.Errorf("CountProcesses(%s) = %d; ListProcesses returns %d", name, c, len(want))
				}
				for _, limit := range []int{2, 7} {
					got := flatten(walkPages(t, listPages(t, r, f), limit))
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("paged walk (limit %d) of %s: %q; ListProcesses: %q", limit, name, got, want)
					}
				}
				if st == procreg.StatusAny && def == "" && w == nil {
					total = c
				}
			}
		}
	}
	wantEqual(t, "count of every process", total, n)
}

func fmtBool(b *bool) string {
	if b == nil {
		return "any"
	}
	return fmt.Sprint(*b)
}

// testPageCursorOfAnotherRegistry: a cursor is ErrInvalid on another,
// fresh registry, even one holding the same processes.
func testPageCursorOfAnotherRegistry(t *testing.T, open func(t *testing.T) procreg.Registry) {
	a, b := openFresh(t, open), openFresh(t, open)
	for _, r := range []procreg.Registry{a, b} {
		registerIDs(t, r, "x", "y", "z")
	}
	p := mustPage(t, nonTerminalPages(t, a), 1, "", "first page on registry A")
	_, err := b.ListNonTerminalPage(t.Context(), 1, p.Next)
	wantErr(t, err, procreg.ErrInvalid, "", "ListNonTerminalPage on registry B with registry A's cursor")
	q := mustPage(t, listPages(t, b, procreg.ListFilter{Status: procreg.StatusAny}), 1, "", "first page on registry B")
	_, err = a.ListProcessesPage(t.Context(), procreg.ListFilter{Status: procreg.StatusAny}, 1, q.Next)
	wantErr(t, err, procreg.ErrInvalid, "", "ListProcessesPage on registry A with registry B's cursor")
}

// testPageCursorAcrossConnections (durable): a cursor belongs to the
// database, so another registry on the same database continues the scan.
func testPageCursorAcrossConnections(t *testing.T, open Opener) {
	rs := openMany(t, open, 2)
	registerIDs(t, rs[0], "a", "b", "c")
	p := mustPage(t, nonTerminalPages(t, rs[0]), 2, "", "first page on registry A")
	rest := walkRest(t, nonTerminalPages(t, rs[1]), 2, p.Next)
	wantStrings(t, "rest of the scan on registry B", flatten(rest), "c")
}
