package ui

import (
	"context"
	"sort"

	"github.com/procreg/procreg"
)

// TEMPORARY: until SPEC §10's bounded listing lands on Registry, tests give
// the UI a naive implementation (a full ListProcesses per call, cursor =
// last id). Removed when the real one is merged.
type pagedRegistry struct{ procreg.Registry }

func paged(reg procreg.Registry) procreg.Registry {
	if _, ok := reg.(pager); ok {
		return reg
	}
	return pagedRegistry{reg}
}

func (p pagedRegistry) ListProcessesPage(ctx context.Context, f procreg.ListFilter, limit int, cursor string) (procreg.Page, error) {
	all, err := p.ListProcesses(ctx, f)
	if err != nil {
		return procreg.Page{}, err
	}
	i := sort.Search(len(all), func(i int) bool { return all[i].ID > cursor })
	if cursor == "" {
		i = 0
	}
	page := procreg.Page{Records: all[i:min(len(all), i+limit)]}
	if i+limit < len(all) {
		page.Next = page.Records[len(page.Records)-1].ID
	}
	return page, nil
}

func (p pagedRegistry) ListNonTerminalPage(ctx context.Context, limit int, cursor string) (procreg.Page, error) {
	return p.ListProcessesPage(ctx, procreg.ListFilter{}, limit, cursor)
}

func (p pagedRegistry) CountProcesses(ctx context.Context, f procreg.ListFilter) (int, error) {
	all, err := p.ListProcesses(ctx, f)
	return len(all), err
}
