package dialectgen

import (
	"fmt"
	"regexp"
	"strings"
)

// Topic is one difference between databases that a new dialect's author
// must review; New marks every copied line it touches with
// "TODO(dialect): <topic>: …".
type Topic struct {
	Name string
	What string // what to review, for the checklist
}

// Topics is the review checklist, in the order New prints it.
var Topics = []Topic{
	{"row locks", "LockProcess must hold the process row until commit (SELECT ... FOR UPDATE; SQLite: the database write lock of BEGIN IMMEDIATE), and PruneCandidates should skip rows other transactions hold (FOR UPDATE SKIP LOCKED) rather than wait for them"},
	{"lease clock", "which clock decides leases: a database clock read in the same statement as the row lock (LockProcess's now_ms, epoch milliseconds, independent of the session time zone), or the injected client clock (sqlkit.Dialect.LeaseClock) where there is no shared server"},
	{"upserts", "InsertWakeAck (insert or do nothing) and UpsertGrant (insert or update): ON CONFLICT ... DO NOTHING / DO UPDATE, or ON DUPLICATE KEY UPDATE; a duplicate must not swallow other errors"},
	{"LIMIT", "RecentEventsDesc and PruneCandidates: a named LIMIT parameter sqlc.arg(row_limit), or a bare ? that sqlc.yaml renames to RowLimit; the adapter needs the parameter named RowLimit"},
	{"IN-lists", "the batch deletes (DeleteEventsOf, ..., DeleteProcessesIn): IN (sqlc.slice(ids)) or = ANY(array), and how the planner runs them on a large table"},
	{"migration lock", "what serializes concurrent migrators (a file lock, pg_advisory_lock, GET_LOCK): it must be held around the whole goose run, be scoped to one database, and die with a crashed holder"},
	{"notifications", "whether waiters can be woken early (an await.Notifier such as PostgreSQL's LISTEN/NOTIFY) or poll; a cluster may deliver them only on some nodes"},
	{"isolation level", "the isolation of Write and Read transactions, the anomalies and gap locks it brings, and whether a cluster certifies transactions at commit (conflicts surface there, not at the lock)"},
	{"transient error codes", "classify: which errors a fresh attempt can cure (deadlock, serialization failure, lock wait timeout, busy, cluster certification failure), and the codes of unique violation and of a missing table or column"},
	{"schema", "column types (ids, names and keys compare byte-wise), defaults, index and table options, and statements only BASE understands"},
	{"floor", "procreg bench's floor (floor.go, floor/*.sql): the scratch table and its INSERT, UPDATE and SELECT in the new database's spelling, the bare driver opened with exactly Open's connection settings, and which floor appends are held to (AppendFloor)"},
	{"CI", "the database the tests run against in the matrix and CI"},
}

// marker is the text of one TODO(dialect) comment (without the comment
// leader).
func marker(topic, text string) string {
	return fmt.Sprintf("%s: %s: %s", Marker, topic, text)
}

var (
	forUpdate   = regexp.MustCompile(`(?i)\bFOR\s+UPDATE(\s+SKIP\s+LOCKED)?`)
	upsert      = regexp.MustCompile(`(?i)\bON\s+(CONFLICT|DUPLICATE\s+KEY)\b`)
	limitClause = regexp.MustCompile(`(?i)\bLIMIT\b`)
	inList      = regexp.MustCompile(`(?i)sqlc\.slice\(|=\s*ANY\(`)
	nowMs       = regexp.MustCompile(`(?i)\bnow_ms\b`)
)

// sqlTopics returns the markers for one named statement of base.
func sqlTopics(st Statement, base string) []string {
	var out []string
	switch m := forUpdate.FindString(st.SQL); {
	case m != "":
		out = append(out, marker("row locks", fmt.Sprintf("%s spells this row lock %s", base, strings.ToUpper(strings.Join(strings.Fields(m), " ")))))
	case st.Name == "LockProcess":
		out = append(out, marker("row locks", base+" has no row locks (its write transaction holds the database lock); this must lock the row until commit"))
	}
	if nowMs.MatchString(st.SQL) {
		out = append(out, marker("lease clock", base+"'s database clock in epoch ms; check the function, its precision and time zone"))
	}
	if m := upsert.FindStringSubmatch(st.SQL); m != nil {
		out = append(out, marker("upserts", base+" spells this upsert ON "+strings.ToUpper(strings.Join(strings.Fields(m[1]), " "))))
	}
	if limitClause.MatchString(st.SQL) {
		spell := "a named parameter sqlc.arg(row_limit)"
		if strings.Contains(st.SQL, "LIMIT ?") {
			spell = "a bare ? (renamed RowLimit in sqlc.yaml)"
		}
		out = append(out, marker("LIMIT", base+" binds the LIMIT as "+spell))
	}
	if inList.MatchString(st.SQL) {
		out = append(out, marker("IN-lists", base+" spells the id list "+strings.TrimSpace(inList.FindString(st.SQL))+"...)"))
	}
	return out
}

// markQueries inserts SQL comment markers before the "-- name:" line of
// every statement of a copied query file that a difference touches.
func markQueries(file, src, base string) string {
	stmts := parseQueries(file, src)
	byLine := map[int][]string{}
	for _, st := range stmts {
		byLine[st.Line] = sqlTopics(st, base)
	}
	lines := strings.Split(src, "\n")
	var b strings.Builder
	for i, line := range lines {
		for _, m := range byLine[i+1] {
			b.WriteString("-- " + m + "\n")
		}
		b.WriteString(line)
		if i < len(lines)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

var (
	gooseUp      = regexp.MustCompile(`(?m)^-- \+goose Up\s*$`)
	notifyLine   = regexp.MustCompile(`(?im)^[^-\n]*notify[^\n]*$`)
	baseOnlyLine = regexp.MustCompile(`(?m)^(ANALYZE sqlite_schema|INSERT INTO sqlite_stat1)`)
)

// markSchema inserts markers into a copied migration: the review of its
// types and options at "-- +goose Up", notifications before the first
// statement line about NOTIFY, and BASE-only statistics.
func markSchema(src, base string) string {
	src = insertBefore(src, gooseUp, "-- "+marker("schema", "column types, collations (ids compare byte-wise), defaults and index spelling are "+base+"'s"))
	src = insertBefore(src, notifyLine, "-- "+marker("notifications", base+" notifies listeners from a trigger; keep, replace or drop it"))
	src = insertBefore(src, baseOnlyLine, "-- "+marker("schema", "planner statistics only "+base+" understands"))
	return src
}

// insertBefore inserts line before the first line re matches.
func insertBefore(src string, re *regexp.Regexp, line string) string {
	loc := re.FindStringIndex(src)
	if loc == nil {
		return src
	}
	start := strings.LastIndexByte(src[:loc[0]], '\n') + 1
	return src[:start] + line + "\n" + src[start:]
}

// goMarker is a Go comment marker placed above the first line of file
// matching anchor.
type goMarker struct {
	file   string // base's file name
	anchor *regexp.Regexp
	topic  string
	text   string
}

// classifyHint is the marker on every base's classify: the codes live
// there, once, in the base backend's package, and are not repeated here.
const classifyHint = "the base's error codes are the ones classify below maps (no rows, duplicate, transient, unavailable, schema missing): check each against the new database's"

// goMarkers are the backend lines each base's difference touches.
var goMarkers = map[string][]goMarker{
	"sqlite": {
		{"store.go", regexp.MustCompile(`(?m)^func classify\(`), "transient error codes", classifyHint},
		{"store.go", regexp.MustCompile(`(?m)^func \(s \*sqliteStore\) Write\(`), "isolation level", "one writer connection, BEGIN IMMEDIATE (serializable); reads are WAL snapshots"},
		{"store.go", regexp.MustCompile(`LeaseClock: c\.clock`), "lease clock", "leases use the injected client clock (SQLite has no shared server clock)"},
		{"migrate.go", regexp.MustCompile(`(?m)^func migrateDB\(`), "migration lock", "an flock(2) on <path>.lock"},
		{"sqlite.go", regexp.MustCompile(`(?m)^func Open\(`), "notifications", "none: waiters poll"},
		{"floor.go", regexp.MustCompile(`(?m)^func openFloor\(`), "floor", "the bare driver with Open's settings (defaultConfig: WAL, synchronous, one BEGIN IMMEDIATE writer, the readers); appends are held to the INSERT floor"},
	},
	"mysql": {
		{"store.go", regexp.MustCompile(`(?m)^func classify\(`), "transient error codes", classifyHint},
		{"store.go", regexp.MustCompile(`(?m)^func \(s \*myStore\) Write\(`), "isolation level", "the server default, REPEATABLE READ on InnoDB (gap locks on registration)"},
		{"store.go", regexp.MustCompile(`(?m)^var dialect = `), "lease clock", "leases use the database clock that LockProcess reads (no LeaseClock)"},
		{"migrate.go", regexp.MustCompile(`(?m)^func \(migrationLocker\) SessionLock\(`), "migration lock", "GET_LOCK on a name derived from DATABASE()"},
		{"mysql.go", regexp.MustCompile(`(?m)^func newRegistry\(`), "notifications", "none: waiters poll"},
		{"floor.go", regexp.MustCompile(`(?m)^func openFloor\(`), "floor", "the bare driver with Open's settings (ParseDSN, interpolated parameters, the idle pool); appends are held to the UPDATE floor"},
	},
	"postgres": {
		{"store.go", regexp.MustCompile(`(?m)^func classify\(`), "transient error codes", classifyHint},
		{"store.go", regexp.MustCompile(`(?m)^var readOnly = `), "isolation level", "writes at READ COMMITTED (the default), multi-statement reads REPEATABLE READ, READ ONLY"},
		{"store.go", regexp.MustCompile(`(?m)^var dialect = `), "lease clock", "leases use the database clock that LockProcess reads (no LeaseClock)"},
		{"migrate.go", regexp.MustCompile(`(?m)^func \(migrationLocker\) SessionLock\(`), "migration lock", "pg_advisory_lock on a fixed key"},
		{"postgres.go", regexp.MustCompile(`(?m)^func newRegistry\(`), "notifications", "LISTEN procreg_events on a dedicated connection (notify.go), fed by the schema's trigger"},
		{"floor.go", regexp.MustCompile(`(?m)^func openFloor\(`), "floor", "a pgx pool configured as Open's (poolConfig), transactions at READ COMMITTED; appends are held to the UPDATE floor"},
	},
}

// markGo inserts the Go markers of base's file into src; a missing anchor
// is an error, so a change to the base backend cannot silently drop one.
func markGo(src, base, file string) (string, error) {
	for _, m := range goMarkers[base] {
		if m.file != file {
			continue
		}
		if !m.anchor.MatchString(src) {
			return "", fmt.Errorf("backends/%s/%s: no line matches %q, where the %s marker goes (update internal/dialectgen's goMarkers)", base, file, m.anchor, m.topic)
		}
		loc := m.anchor.FindStringIndex(src)
		start := strings.LastIndexByte(src[:loc[0]], '\n') + 1
		indent := src[start : start+len(src[start:])-len(strings.TrimLeft(src[start:], " \t"))]
		src = src[:start] + indent + "// " + marker(m.topic, m.text) + "\n" + src[start:]
	}
	return src, nil
}
