package sqlkit_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
)

// recordingLister answers every query with one row whose ID names the query
// and its arguments.
type recordingLister struct{}

func say(format string, a ...any) ([]driver.ProcessRow, error) {
	return []driver.ProcessRow{{ID: fmt.Sprintf(format, a...)}}, nil
}

func (recordingLister) ListAll(context.Context) ([]driver.ProcessRow, error) { return say("All") }
func (recordingLister) ListByStatus(_ context.Context, s string) ([]driver.ProcessRow, error) {
	return say("ByStatus(%s)", s)
}
func (recordingLister) ListByStatusWaiting(_ context.Context, s string, w bool) ([]driver.ProcessRow, error) {
	return say("ByStatusWaiting(%s,%v)", s, w)
}
func (recordingLister) ListByWaiting(_ context.Context, w bool) ([]driver.ProcessRow, error) {
	return say("ByWaiting(%v)", w)
}
func (recordingLister) ListByDefinition(_ context.Context, d string) ([]driver.ProcessRow, error) {
	return say("ByDefinition(%s)", d)
}
func (recordingLister) ListByDefinitionStatus(_ context.Context, d, s string) ([]driver.ProcessRow, error) {
	return say("ByDefinitionStatus(%s,%s)", d, s)
}
func (recordingLister) ListByDefinitionWaiting(_ context.Context, d string, w bool) ([]driver.ProcessRow, error) {
	return say("ByDefinitionWaiting(%s,%v)", d, w)
}
func (recordingLister) ListByDefinitionStatusWaiting(_ context.Context, d, s string, w bool) ([]driver.ProcessRow, error) {
	return say("ByDefinitionStatusWaiting(%s,%s,%v)", d, s, w)
}

func TestListProcessesPicksTheStatementForEachFilter(t *testing.T) {
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
		{driver.ListQuery{DefinitionFingerprint: &def, Status: "running", Waiting: &no}, "ByDefinitionStatusWaiting(fp,running,false)"},
	} {
		got, err := sqlkit.ListProcesses(context.Background(), recordingLister{}, tc.q)
		if err != nil || len(got) != 1 || got[0].ID != tc.want {
			t.Errorf("ListProcesses(%+v) ran %v (%v), want %s", tc.q, got, err, tc.want)
		}
	}
}
