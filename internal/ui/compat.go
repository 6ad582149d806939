package ui

import (
	"context"
	"fmt"

	"github.com/procreg/procreg"
)

// pager is the bounded listing of SPEC §10 (ListProcessesPage,
// ListNonTerminalPage, CountProcesses). TEMPORARY: until it lands on
// Registry, the UI reaches it through this assertion.
type pager interface {
	ListProcessesPage(ctx context.Context, f procreg.ListFilter, limit int, cursor string) (procreg.Page, error)
	ListNonTerminalPage(ctx context.Context, limit int, cursor string) (procreg.Page, error)
	CountProcesses(ctx context.Context, f procreg.ListFilter) (int, error)
}

func (s *Server) pager() (pager, error) {
	p, ok := s.reg.(pager)
	if !ok {
		return nil, fmt.Errorf("this registry has no bounded listing (ListProcessesPage, SPEC §10)")
	}
	return p, nil
}
