package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/sqlstore"
)

// recordingLister answers every query with its own name and arguments.
func recordingLister() sqlstore.Lister[string] {
	say := func(format string, a ...any) ([]string, error) { return []string{fmt.Sprintf(format, a...)}, nil }
	return sqlstore.Lister[string]{
		All:      func(context.Context) ([]string, error) { return say("All") },
		ByStatus: func(_ context.Context, s string) ([]string, error) { return say("ByStatus(%s)", s) },
		ByStatusWaiting: func(_ context.Context, s string, w bool) ([]string, error) {
			return say("ByStatusWaiting(%s,%v)", s, w)
		},
		ByWaiting:    func(_ context.Context, w bool) ([]string, error) { return say("ByWaiting(%v)", w) },
		ByDefinition: func(_ context.Context, d string) ([]string, error) { return say("ByDefinition(%s)", d) },
		ByDefinitionStatus: func(_ context.Context, d, s string) ([]string, error) {
			return say("ByDefinitionStatus(%s,%s)", d, s)
		},
		ByDefinitionWaiting: func(_ context.Context, d string, w bool) ([]string, error) {
			return say("ByDefinitionWaiting(%s,%v)", d, w)
		},
		ByDefinitionStatusWait: func(_ context.Context, d, s string, w bool) ([]string, error) {
			return say("ByDefinitionStatusWait(%s,%s,%v)", d, s, w)
		},
	}
}

func TestListerPicksTheStatementForEachFilter(t *testing.T) {
	def, yes, no := "fp", true, false
	for _, tc := range []struct {
		q    driver.ListQuery
		want string
	}{
		{driver.ListQuery{}, "All"},
		{driver.ListQuery{Status: "running"}, "ByStatus(running)"},
		{driver.ListQuery{Status: "running", Waiting: &yes}, "ByStatusWaiting(running,true)"},
		{driver.ListQuery{Waiting: &no}, "ByWaiting(false)"},
		{driver.ListQuery{DefinitionFingerprint: &def}, "ByDefinition(fp)"},
		{driver.ListQuery{DefinitionFingerprint: &def, Status: "failed"}, "ByDefinitionStatus(fp,failed)"},
		{driver.ListQuery{DefinitionFingerprint: &def, Waiting: &yes}, "ByDefinitionWaiting(fp,true)"},
		{driver.ListQuery{DefinitionFingerprint: &def, Status: "running", Waiting: &no}, "ByDefinitionStatusWait(fp,running,false)"},
	} {
		got, err := recordingLister().List(context.Background(), tc.q)
		if err != nil || len(got) != 1 || got[0] != tc.want {
			t.Errorf("List(%+v) ran %v (%v), want %s", tc.q, got, err, tc.want)
		}
	}
}

func TestPrunerDeletesChildrenBeforeProcesses(t *testing.T) {
	var calls []string
	step := func(name string, n int64) func(context.Context, []string) (int64, error) {
		return func(_ context.Context, ids []string) (int64, error) {
			calls = append(calls, fmt.Sprintf("%s%v", name, ids))
			return n, nil
		}
	}
	p := sqlstore.Pruner{
		Candidates: func(_ context.Context, cutoff int64, limit int) ([]string, error) {
			calls = append(calls, fmt.Sprintf("candidates(%d,%d)", cutoff, limit))
			return []string{"a", "b"}, nil
		},
		DeleteEvents:    step("events", 7),
		DeleteWakeAcks:  step("acks", 1),
		DeleteGrants:    step("grants", 3),
		DeleteProcesses: step("processes", 2),
	}
	procs, events, err := p.Batch(context.Background(), 100, 10)
	if err != nil || procs != 2 || events != 7 {
		t.Fatalf("Batch = %d, %d, %v; want 2, 7", procs, events, err)
	}
	want := []string{"candidates(100,10)", "events[a b]", "acks[a b]", "grants[a b]", "processes[a b]"}
	if !slices.Equal(calls, want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}

	// No candidates: nothing is deleted.
	calls = nil
	p.Candidates = func(context.Context, int64, int) ([]string, error) { return nil, nil }
	if procs, events, err := p.Batch(context.Background(), 1, 1); err != nil || procs != 0 || events != 0 || len(calls) != 0 {
		t.Fatalf("empty batch: %d, %d, %v, calls %v", procs, events, err, calls)
	}

	// A failing step stops the batch and names itself.
	boom := errors.New("boom")
	p.Candidates = func(context.Context, int64, int) ([]string, error) { return []string{"a"}, nil }
	p.DeleteWakeAcks = func(context.Context, []string) (int64, error) { return 0, boom }
	calls = nil
	if _, _, err := p.Batch(context.Background(), 1, 1); !errors.Is(err, boom) {
		t.Fatalf("failing step: %v", err)
	}
	if slices.Contains(calls, "processes[a]") {
		t.Fatalf("processes deleted after a failed step: %v", calls)
	}
}

func TestMap(t *testing.T) {
	double := func(n int) int { return 2 * n }
	if got := sqlstore.Map([]int{1, 2}, double); !slices.Equal(got, []int{2, 4}) {
		t.Errorf("Map = %v", got)
	}
	if got := sqlstore.Map(nil, double); got != nil {
		t.Errorf("Map(nil) = %v", got)
	}
}

func TestUpdateOfKeepsMutableColumns(t *testing.T) {
	r := driver.ProcessRow{ID: "p", Spec: "{}", Status: "failed", LastSequence: 9, LeaseFencingToken: 4, Waiting: true}
	u := sqlstore.UpdateOf(r)
	if u.ID != "p" || u.Status != "failed" || u.LastSequence != 9 || u.LeaseFencingToken != 4 || !u.Waiting {
		t.Fatalf("UpdateOf(%+v) = %+v", r, u)
	}
}
