package servertest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/internal/dialectgen"
)

// notHot are the statements that legitimately touch no index: listing every
// process (StatusFilter any, no other filter), reading the clock, and the
// inserts.
var notHot = map[string]bool{
	"ListProcessesAll": true, "DatabaseNowMs": true,
	"InsertProcess": true, "InsertEvent": true, "InsertWakeAck": true, "UpsertGrant": true,
}

// argValues are the literals bound to each named query parameter for
// EXPLAIN; they match rows SeedForExplain writes.
var argValues = map[string]string{
	"id": "'seed-0001'", "process_id": "'seed-0001'", "status": "'running'", "waiting": "TRUE",
	"definition_fingerprint": "'0000'", "wake_target_session": "'sess-1'",
	"replay_key": "'key-3'", "after_sequence": "5", "up_to_sequence": "40", "event_type": "'process.waiting'",
	"row_limit": "10", "after_id": "'seed-0000'", "bound_id": "'seed-9999'", "scope_id": "'session:sess-1'", "session_id": "'sess-1'", "cutoff_ms": "9000000000000",
	"ids": "'seed-0001', 'seed-0002'", "sequence": "3",
	"after_pos": "0",
}

// boundedProbes are the statements whose cost must not grow with the rows
// they match: each reads the first entry of an index range in the range's
// order and stops (LIMIT 1). CountEventsThrough reads the ordinal of the
// last matching event; SeedForExplain gives its range about 40 events, so
// a count that walked them (COUNT(*) over the range) reads 40 entries.
var boundedProbes = []string{"CountEventsThrough"}

// Statement is one named query of the query files: from ReadQueries as
// written (sqlc's macros intact, comment lines dropped), from HotStatements
// with its parameters bound to literals.
type Statement struct{ Name, SQL string }

var (
	argRef    = regexp.MustCompile(`sqlc\.(arg|slice)\((\w+)\)`)
	embedRef  = regexp.MustCompile(`sqlc\.embed\((\w+)\)`)
	pgArray   = regexp.MustCompile(`ANY\(([^)]*?)::text\[\]\)`)
	bareParam = regexp.MustCompile(`\?`)
	// PostgreSQL's array parameters, sqlc.arg(x)::<type>[] (UpdateProcessLeases).
	pgArrayArg = regexp.MustCompile(`sqlc\.arg\((\w+)\)::(text|bigint)\[\]`)
)

// engineDialect names the built-in dialect of each sqlc engine: another
// dialect may use the same engine (procreg dialect new).
var engineDialect = map[string]string{"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}

// block returns the sqlc.yaml block of engine's built-in dialect.
func block(t testing.TB, engine string) (*dialectgen.Config, dialectgen.Block) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	cfg, err := dialectgen.ReadConfig(filepath.Join(filepath.Dir(file), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, ok := cfg.Block(engineDialect[engine])
	if !ok || b.Engine != engine {
		t.Fatalf("sqlc.yaml has no %s block for engine %q", engineDialect[engine], engine)
	}
	return cfg, b
}

// QueryPaths returns the query directories and files sqlc.yaml compiles
// for the built-in dialect of engine ("sqlite", "postgresql", "mysql"), as
// absolute paths, so tests that read the SQL sources see exactly what sqlc
// compiles.
func QueryPaths(t testing.TB, engine string) []string {
	t.Helper()
	cfg, b := block(t, engine)
	var paths []string
	for _, q := range b.Queries {
		paths = append(paths, filepath.Join(cfg.Root, q))
	}
	return paths
}

// ReadQueries returns every named query in the directories and files
// sqlc.yaml compiles for engine's built-in dialect (the sqlc sources, so a
// new query is seen without being listed anywhere), in file order; a name
// declared twice is returned twice. The reading is internal/dialectgen's.
func ReadQueries(t testing.TB, engine string) []Statement {
	t.Helper()
	cfg, b := block(t, engine)
	st, err := cfg.Queries(b)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Statement, len(st))
	for i, s := range st {
		out[i] = Statement{Name: s.Name, SQL: s.SQL}
	}
	return out
}

// HotStatements returns every query of ReadQueries except notHot, with
// literal arguments, sorted by name.
func HotStatements(t testing.TB, engine string) []Statement {
	t.Helper()
	var out []Statement
	for _, q := range ReadQueries(t, engine) {
		if !notHot[q.Name] {
			out = append(out, Statement{Name: q.Name, SQL: bind(t, q.Name, q.SQL)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// bind replaces sqlc's parameter macros (and MySQL's bare ? in LIMIT) by
// literals.
func bind(t testing.TB, name, q string) string {
	q = strings.TrimSuffix(strings.TrimSpace(q), ";")
	q = embedRef.ReplaceAllString(q, "$1.*")
	q = pgArrayArg.ReplaceAllStringFunc(q, func(m string) string {
		sub := pgArrayArg.FindStringSubmatch(m)
		v, ok := argValues[sub[1]]
		switch {
		case ok:
		case sub[2] == "text":
			v = "''"
		default:
			v = "0"
		}
		return "ARRAY[" + v + "]::" + sub[2] + "[]"
	})
	q = argRef.ReplaceAllStringFunc(q, func(m string) string {
		arg := argRef.FindStringSubmatch(m)[2]
		if v, ok := argValues[arg]; ok {
			return v
		}
		if !strings.HasPrefix(q, "UPDATE") {
			t.Fatalf("query %s: no EXPLAIN value for parameter %q; add one to argValues", name, arg)
		}
		return "DEFAULT" // a column written by UPDATE … SET: any value plans the same

	})
	// PostgreSQL's = ANY(<list>::text[]) becomes = ANY(ARRAY[<list>]::text[]).
	q = pgArray.ReplaceAllString(q, "ANY(ARRAY[$1]::text[])")
	return bareParam.ReplaceAllString(q, argValues["row_limit"])
}

// SeedForExplain writes enough rows for the planners to prefer indexes: many
// finished processes and a few running ones, with definitions, waits, wake
// targets, grants and an event log.
func SeedForExplain(t testing.TB, r procreg.Registry) {
	t.Helper()
	ctx := context.Background()
	for i := range 300 {
		id := fmt.Sprintf("seed-%04d", i)
		reg := procreg.Registration{
			ID:          id,
			Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{}`)},
			Disposition: procreg.DispositionRerunnable,
			EnvRef:      "env:seed",
			Identity:    procreg.Identity{Kind: "tool", Definition: json.RawMessage(fmt.Sprintf(`{"def":%d}`, i%50))},
		}
		if i%30 == 1 {
			reg.WakeTarget = &procreg.SessionScope{SessionID: fmt.Sprintf("sess-%d", i%7)}
		}
		_, err := r.RegisterProcess(ctx, reg)
		seedCheck(t, "register", id, err)
		_, err = r.GrantHandle(ctx, procreg.SessionScope{SessionID: fmt.Sprintf("sess-%d", i%20)}, id, procreg.HandleDescriptor{Kind: "tool", Label: id})
		seedCheck(t, "grant", id, err)
		switch {
		case i%10 == 1:
			_, err = r.SetProcessWait(ctx, id, procreg.WaitState{Kind: "signal", Name: "go"})
		case i%10 > 1:
			_, err = r.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`1`)})
		}
		seedCheck(t, "finish or wait", id, err)
	}
	for i := range 60 {
		_, err := r.AppendEvent(ctx, "seed-0001", procreg.AppendRequest{
			EventType: "process.waiting", Payload: json.RawMessage(`{}`), ReplayKey: fmt.Sprintf("key-%d", i),
		})
		seedCheck(t, "append to", "seed-0001", err)
	}
}

func seedCheck(t testing.TB, op, id string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("seed: %s %s: %v", op, id, err)
	}
}

// ExplainPostgres checks that every hot statement reaches its tables
// through an index when sequential scans are discouraged (enable_seqscan =
// off makes the planner pick any usable index, so a remaining Seq Scan
// means there is none).
func ExplainPostgres(t *testing.T, dsn string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	for _, st := range HotStatements(t, "postgresql") {
		t.Run(st.Name, func(t *testing.T) {
			rows, err := conn.Query(ctx, "EXPLAIN "+st.SQL, pgx.QueryExecModeSimpleProtocol)
			if err != nil {
				t.Fatalf("EXPLAIN %s: %v", st.SQL, err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "Index") {
				t.Errorf("%s does not use an index:\n%s\n%s", st.Name, st.SQL, plan)
			}
			if slices.Contains(boundedProbes, st.Name) {
				probePostgres(t, ctx, conn, st)
			}
		})
	}
}

// actualRows matches the row count of an executed plan node.
var actualRows = regexp.MustCompile(`actual time=\S+ rows=(\d+)`)

// probePostgres runs st under EXPLAIN ANALYZE and fails unless every plan
// node produced at most one row: a probe, not a walk of its range.
func probePostgres(t *testing.T, ctx context.Context, conn *pgx.Conn, st Statement) {
	t.Helper()
	rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+st.SQL, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("EXPLAIN ANALYZE %s: %v", st.SQL, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	t.Logf("%s:\n%s", st.Name, plan)
	nodes := actualRows.FindAllStringSubmatch(plan, -1)
	if len(nodes) == 0 {
		t.Fatalf("no executed plan nodes in:\n%s", plan)
	}
	for _, m := range nodes {
		if n, _ := strconv.Atoi(m[1]); n > 1 {
			t.Errorf("%s reads %s rows in one plan node; want one index probe (at most 1):\n%s\n%s", st.Name, m[1], st.SQL, plan)
		}
	}
}

// ExplainMySQL checks that EXPLAIN shows a key for every table row of every
// hot statement (and no full table scan), on MySQL 8 and MariaDB alike.
func ExplainMySQL(t *testing.T, dsn string) {
	ctx := context.Background()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"processes", "events", "grants", "wake_acks"} {
		if _, err := db.ExecContext(ctx, "ANALYZE TABLE "+table); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range HotStatements(t, "mysql") {
		t.Run(st.Name, func(t *testing.T) {
			for _, row := range explainRows(t, db, st.SQL) {
				t.Logf("%s: table %q type %q key %q extra %q", st.Name, row["table"], row["type"], row["key"], row["Extra"])
				if row["table"] == "" || strings.HasPrefix(row["table"], "<") {
					// Derived tables, "no tables used", and "Impossible
					// WHERE noticed after reading const tables" (a
					// unique-key lookup that found nothing).
					continue
				}
				if row["key"] == "" || row["type"] == "ALL" {
					t.Errorf("%s reads %s with type %q, key %q (possible %q):\n%s",
						st.Name, row["table"], row["type"], row["key"], row["possible_keys"], st.SQL)
				}
			}
			if slices.Contains(boundedProbes, st.Name) {
				probeMySQL(t, ctx, db, st)
			}
		})
	}
}

// probeMySQL runs st and fails unless the storage engine stepped from the
// entry it looked up to at most one more (the session's Handler_read_next
// and Handler_read_prev counters): a probe, not a walk of its range. MySQL
// 8 and MariaDB count alike; their EXPLAIN ANALYZE forms differ.
func probeMySQL(t *testing.T, ctx context.Context, db *sql.DB, st Statement) {
	t.Helper()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	steps := func() int64 {
		// SHOW STATUS is the only portable reading of the counters.
		rows, err := conn.QueryContext(ctx, "SHOW SESSION STATUS WHERE Variable_name IN ('Handler_read_next', 'Handler_read_prev')")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var sum int64
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				t.Fatal(err)
			}
			sum += n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	// What reading the counters costs by itself, taken off the query's.
	before := steps()
	own := steps() - before
	before = steps()
	rows, err := conn.QueryContext(ctx, st.SQL)
	if err != nil {
		t.Fatalf("%s: %v", st.SQL, err)
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	n := steps() - before - own
	t.Logf("%s: %d index steps after the lookup", st.Name, n)
	if n > 1 {
		t.Errorf("%s stepped through %d index entries; want one index probe (at most 1):\n%s", st.Name, n, st.SQL)
	}
}

// explainRows runs EXPLAIN and returns its rows by column name (NULL as "").
func explainRows(t *testing.T, db *sql.DB, q string) []map[string]string {
	rows, err := db.Query("EXPLAIN " + q)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for i, c := range cols {
			m[c] = vals[i].String
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
