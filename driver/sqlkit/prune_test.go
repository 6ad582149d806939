package sqlkit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/procreg/procreg/driver/sqlkit"
)

// fakePruner records its calls; candidates and failAt set its answers.
type fakePruner struct {
	calls      []string
	candidates []string
	failAt     string // the delete step that fails, "" for none
}

var errBoom = errors.New("boom")

func (p *fakePruner) Candidates(_ context.Context, cutoff int64, limit int) ([]string, error) {
	p.calls = append(p.calls, fmt.Sprintf("candidates(%d,%d)", cutoff, limit))
	return p.candidates, nil
}

func (p *fakePruner) step(name string, ids []string, n int64) (int64, error) {
	p.calls = append(p.calls, fmt.Sprintf("%s%v", name, ids))
	if name == p.failAt {
		return 0, errBoom
	}
	return n, nil
}

func (p *fakePruner) DeleteEvents(_ context.Context, ids []string) (int64, error) {
	return p.step("events", ids, 7)
}
func (p *fakePruner) DeleteWakeAcks(_ context.Context, ids []string) (int64, error) {
	return p.step("acks", ids, 1)
}
func (p *fakePruner) DeleteGrants(_ context.Context, ids []string) (int64, error) {
	return p.step("grants", ids, 3)
}
func (p *fakePruner) DeleteProcesses(_ context.Context, ids []string) (int64, error) {
	return p.step("processes", ids, 2)
}

func TestPruneBatchDeletesChildrenBeforeProcesses(t *testing.T) {
	p := &fakePruner{candidates: []string{"a", "b"}}
	procs, events, err := sqlkit.PruneBatch(context.Background(), p, 100, 10)
	if err != nil || procs != 2 || events != 7 {
		t.Fatalf("PruneBatch = %d, %d, %v; want 2, 7", procs, events, err)
	}
	want := []string{"candidates(100,10)", "events[a b]", "acks[a b]", "grants[a b]", "processes[a b]"}
	if !slices.Equal(p.calls, want) {
		t.Fatalf("calls %v, want %v", p.calls, want)
	}

	// No candidates: nothing is deleted.
	p = &fakePruner{}
	if procs, events, err := sqlkit.PruneBatch(context.Background(), p, 1, 1); err != nil || procs != 0 || events != 0 || len(p.calls) != 1 {
		t.Fatalf("empty batch: %d, %d, %v, calls %v", procs, events, err, p.calls)
	}

	// A failing step stops the batch and names itself.
	p = &fakePruner{candidates: []string{"a"}, failAt: "acks"}
	if _, _, err := sqlkit.PruneBatch(context.Background(), p, 1, 1); !errors.Is(err, errBoom) || err.Error() != "prune: delete wake acks: boom" {
		t.Fatalf("failing step: %v", err)
	}
	if slices.Contains(p.calls, "processes[a]") {
		t.Fatalf("processes deleted after a failed step: %v", p.calls)
	}
}
