package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/procreg/procreg/backends/sqlite"
	"github.com/procreg/procreg/internal/servertest"
)

// Queries that read a whole table on purpose, with the reason.
var fullScanAllowed = map[string]string{
	"ListProcessesAll":  "ListFilter{Status: any} with no other filter asks for every process",
	"DatabaseNowMs":     "reads no table",
	"CountProcessesAll": "CountProcesses(any) with no other filter counts every process (the primary key, covering)",
	"LastProcessIDAll":  "ORDER BY id DESC LIMIT 1 over the primary key reads its last entry only",
}

// The index each key query must use: the plan check alone would accept a
// walk of a whole process log or status range through some other index.
var wantIndex = map[string]string{
	"EventByReplayKey":                       "events_process_replay_key",
	"WakeEventsAfter":                        "events_process_wake_sequence",
	"CountEventsThrough":                     "COVERING INDEX events_process_type_sequence_ordinal (process_id=? AND event_type=? AND sequence<?)",
	"InsertEvent":                            "COVERING INDEX events_process_type_sequence_ordinal (process_id=? AND event_type=?)",
	"ListProcessesByStatus":                  "processes_status_id",
	"ListProcessesByStatusWaiting":           "processes_status_waiting_id",
	"ListProcessesByWaiting":                 "processes_status_waiting_id",
	"ListProcessesByDefinition":              "processes_definition_status_waiting",
	"ListProcessesByDefinitionStatus":        "processes_definition_status_waiting (definition_fingerprint=? AND status=?)",
	"ListProcessesByDefinitionWaiting":       "processes_definition_status_waiting",
	"ListProcessesByDefinitionStatusWaiting": "processes_definition_status_waiting (definition_fingerprint=? AND status=? AND waiting=?)",
	"ListProcessesByWakeTargetSession":       "processes_wake_target_session_id",
	"PruneCandidates":                        "SEARCH processes USING INDEX processes_prune_at (prune_at_ms<?)",
	"ListGrantsByProcess":                    "grants_process_session_scope",
	"ListGrantsBySession":                    "grants_session_process_scope",
	"ListGrantsByScope":                      "SEARCH grants USING PRIMARY KEY (scope_id=?)",
	"EventsAfter":                            "SEARCH events USING PRIMARY KEY (process_id=? AND sequence>?)",
	// Pages: one id range of the filter's index per arm.
	"PageProcessesAll":                       "SEARCH processes USING INDEX sqlite_autoindex_processes_1 (id>? AND id<?)",
	"PageProcessesByStatus":                  "processes_status_id (status=? AND id>? AND id<?)",
	"PageProcessesByStatusWaiting":           "processes_status_waiting_id (status=? AND waiting=? AND id>? AND id<?)",
	"PageProcessesByWaiting":                 "processes_status_waiting_id (status=? AND waiting=? AND id>? AND id<?)",
	"PageProcessesByDefinition":              "processes_definition_status_waiting (definition_fingerprint=? AND status=? AND waiting=? AND id>? AND id<?)",
	"PageProcessesByDefinitionStatus":        "processes_definition_status_waiting (definition_fingerprint=? AND status=? AND waiting=? AND id>? AND id<?)",
	"PageProcessesByDefinitionWaiting":       "processes_definition_status_waiting (definition_fingerprint=? AND status=? AND waiting=? AND id>? AND id<?)",
	"PageProcessesByDefinitionStatusWaiting": "processes_definition_status_waiting (definition_fingerprint=? AND status=? AND waiting=? AND id>? AND id<?)",
	"LastProcessIDByStatus":                  "processes_status_id (status=?)",
	"LastProcessIDByWaiting":                 "processes_status_waiting_id (status=? AND waiting=?)",
	"LastProcessIDByDefinition":              "processes_definition_status_waiting (definition_fingerprint=? AND status=? AND waiting=?)",
	"CountProcessesByStatus":                 "COVERING INDEX processes_status_", // (status, id) or (status, waiting, id): both cover
	"CountProcessesByWaiting":                "COVERING INDEX processes_status_waiting_id (status=? AND waiting=?)",
	"CountProcessesByDefinition":             "COVERING INDEX processes_definition_status_waiting (definition_fingerprint=?)",
	// Batch claims: the running rows of the filter's index, in id order
	// (the definition filter without waiting sorts its matching rows).
	"ClaimCandidatesByStatus":                  "processes_status_id (status=?)",
	"ClaimCandidatesByStatusWaiting":           "processes_status_waiting_id (status=? AND waiting=?)",
	"ClaimCandidatesByDefinitionStatus":        "processes_definition_status_waiting (definition_fingerprint=? AND status=?)",
	"ClaimCandidatesByDefinitionStatusWaiting": "processes_definition_status_waiting (definition_fingerprint=? AND status=? AND waiting=?)",
}

// Queries that must stop after their LIMIT's first index entries: the
// index order is the ORDER BY, so no sort (a TEMP B-TREE, which reads
// every matching entry first) may appear. CountEventsThrough and
// InsertEvent read the last event of a type (the ordinal the count
// returns, the one the append continues): one probe however many events
// of the type there are.
var boundedProbe = []string{"CountEventsThrough", "InsertEvent"}

var (
	argRe   = regexp.MustCompile(`sqlc\.(arg|slice)\(\w+\)`)
	embedRe = regexp.MustCompile(`sqlc\.embed\((\w+)\)`)
	scanRe  = regexp.MustCompile(`\bSCAN (processes|events|grants|wake_acks)\b`)
)

// sqliteQueries reads every named query the SQLite block of sqlc.yaml
// compiles, with sqlc's parameter macros replaced by plain placeholders.
func sqliteQueries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, q := range servertest.ReadQueries(t, "sqlite") {
		out[q.Name] = embedRe.ReplaceAllString(argRe.ReplaceAllString(strings.TrimSpace(q.SQL), "?"), "$1.*")
	}
	if len(out) < 20 {
		t.Fatalf("found only %d queries in %v", len(out), servertest.QueryPaths(t, "sqlite"))
	}
	return out
}

// TestHotQueriesUseIndexes runs EXPLAIN QUERY PLAN for every query the
// SQLite backend issues and fails when one scans a whole table.
func TestHotQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "plan.db")
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, ctx, reg)
	reg.Close()

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, q := range sqliteQueries(t) {
		t.Run(name, func(t *testing.T) {
			plan := explain(t, db, q)
			if why, ok := fullScanAllowed[name]; ok {
				t.Logf("full scan allowed (%s): %s", why, plan)
				return
			}
			t.Logf("plan: %s", strings.ReplaceAll(plan, "\n", " | "))
			if scanRe.MatchString(plan) {
				t.Errorf("%s scans a whole table:\n%s\nplan:\n%s", name, q, plan)
			}
			if want, ok := wantIndex[name]; ok && !strings.Contains(plan, want) {
				t.Errorf("%s does not use %s:\n%s\nplan:\n%s", name, want, q, plan)
			}
			if slices.Contains(boundedProbe, name) && strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("%s sorts every matching entry before its LIMIT:\n%s\nplan:\n%s", name, q, plan)
			}
		})
	}
}

func explain(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	n := strings.Count(q, "?")
	args := make([]any, n)
	for i := range args {
		args[i] = "x"
	}
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestPlanCheckCatchesAFullScan keeps the plan check honest: a query that
// filters on an unindexed column must be reported.
func TestPlanCheckCatchesAFullScan(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "plan.db")
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	reg.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plan := explain(t, db, "SELECT * FROM events WHERE payload = ?")
	if !scanRe.MatchString(plan) {
		t.Fatalf("an unindexed filter was not flagged; plan: %s", plan)
	}
}
