package sweep_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/sweep"
)

// TestPassWalksEveryPage: a pass reads the worklist page by page and
// considers every running process once, in id order, whatever the page size.
func TestPassWalksEveryPage(t *testing.T) {
	eachBackend(t, func(t *testing.T, reg procreg.Registry, c *clock) {
		var want []string
		for i := range 7 {
			id := fmt.Sprintf("job-%d", i)
			register(t, reg, id, procreg.DispositionRerunnable)
			want = append(want, id)
		}
		for _, size := range []int{1, 2, 7, 0} {
			s := sweeper(t, reg, c, nil)
			s.PageSize = size
			rep, err := s.Pass(context.Background())
			if err != nil {
				t.Fatalf("page size %d: %v", size, err)
			}
			var got []string
			for _, o := range rep.Outcomes {
				got = append(got, o.ProcessID)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || rep.Count(sweep.Claimable) != len(want) {
				t.Errorf("page size %d: outcomes %v (%d claimable); want %v, all claimable", size, got, rep.Count(sweep.Claimable), want)
			}
		}
	})
}
