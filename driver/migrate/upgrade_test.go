package migrate_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/backends/mysql"
	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/backends/sqlite"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/migrate"
	"github.com/procreg/procreg/internal/dialectgen"
	"github.com/procreg/procreg/schema"
)

// through returns the dialect's migrations up to version v, as a source.
func through(t *testing.T, src migrate.Source, v int64) migrate.Source {
	t.Helper()
	entries, err := fs.ReadDir(schema.FS, src.Dir)
	if err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{}
	for _, e := range entries {
		n, err := goose.NumericComponent(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if n <= v {
			b, err := fs.ReadFile(schema.FS, src.Dir+"/"+e.Name())
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	src.FS, src.Dir = files, ""
	return src
}

// openers open a registry on a target's database once it is migrated.
var openers = map[string]func(ctx context.Context, t *testing.T, tg target) (procreg.Registry, error){
	"sqlite": func(ctx context.Context, _ *testing.T, tg target) (procreg.Registry, error) {
		return sqlite.Open(ctx, tg.path)
	},
	"postgres": func(ctx context.Context, _ *testing.T, tg target) (procreg.Registry, error) {
		return postgres.Open(ctx, tg.dsn)
	},
	"mysql": func(ctx context.Context, _ *testing.T, tg target) (procreg.Registry, error) {
		return mysql.Open(ctx, tg.dsn)
	},
}

// TestUpgradeFrom00003 fills a database at schema version 3 with the rows
// the engine writes (made by a memory registry and copied row by row),
// migrates it to the latest version, and checks through the registry that
// 00004's backfills hold: every CountEventsThrough answer equals the
// memory registry's (events.type_ordinal), a new append continues the
// ordinals, prune removes exactly the terminal processes last updated
// before the cutoff (processes.prune_at_ms), and the change feed serves
// every process (PostgreSQL's process_changes).
func TestUpgradeFrom00003(t *testing.T) {
	forEachDialect(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		db := tg.connect(t)
		if v, err := migrate.Up(ctx, db, through(t, tg.src, 3), nil); err != nil || v != 3 {
			t.Fatalf("migrate to version 3: %d, %v", v, err)
		}
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		mem, store := engineRows(t, t0)
		copyRows(t, db, tg.src.Dialect, store)

		if _, err := tg.up(ctx, db); err != nil {
			t.Fatalf("migrate to the latest version: %v", err)
		}
		r, err := openers[tg.src.Dialect](ctx, t, tg)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()

		// Before any new write: the copied positions are far below
		// PostgreSQL's horizon, which a write made now would wait behind
		// while any older transaction runs on the server.
		page, err := r.ProcessesChangedSince(ctx, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var fed []string
		for _, rec := range page.Records {
			fed = append(fed, rec.ID)
		}
		slices.Sort(fed)
		if got := strings.Join(fed, " "); got != "new-done old-done old-run run" {
			t.Errorf("change feed after the upgrade serves %q; want every process", got)
		}

		sameCounts(t, mem, r)
		for _, reg := range []procreg.Registry{mem, r} {
			for _, typ := range []string{"a", "b"} {
				if _, err := reg.AppendEvent(ctx, "run", procreg.AppendRequest{EventType: typ, Payload: json.RawMessage(`{}`)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		sameCounts(t, mem, r)

		rep, err := r.PruneTerminalProcesses(ctx, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if rep.PrunedProcesses != 1 || rep.PrunedEvents != 3 {
			t.Errorf("prune at t0+1h removed %d processes, %d events; want old-done: 1, 3", rep.PrunedProcesses, rep.PrunedEvents)
		}
		for id, want := range map[string]bool{"run": true, "old-run": true, "new-done": true, "old-done": false} {
			_, err := r.GetProcess(ctx, id)
			if got := !errors.Is(err, procreg.ErrNotFound); got != want || (want && err != nil) {
				t.Errorf("after prune, GetProcess(%s): %v; want kept %v", id, err, want)
			}
		}
	})
}

// engineRows writes, through a memory registry whose clock starts at t0,
// a running process with events of several types, an old running one, a
// process completed at t0 and one completed two hours later.
func engineRows(t *testing.T, t0 time.Time) (procreg.Registry, driver.Store) {
	t.Helper()
	ctx := context.Background()
	now := t0
	store := memory.NewStore(memory.WithClock(func() time.Time { return now }))
	r := driver.NewRegistry(store, driver.Options{Clock: func() time.Time { return now }})
	t.Cleanup(func() { r.Close() })
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	reg := func(id string) {
		t.Helper()
		must(r.RegisterProcess(ctx, procreg.Registration{
			ID:          id,
			Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{}`)},
			Disposition: procreg.DispositionRerunnable,
			EnvRef:      "env:upgrade",
			EventTypes:  []procreg.EventType{{Name: "a"}, {Name: "b"}, {Name: "c"}},
		}))
	}
	appendAll := func(id string, types ...string) {
		t.Helper()
		for _, typ := range types {
			must(r.AppendEvent(ctx, id, procreg.AppendRequest{EventType: typ, Payload: json.RawMessage(`{}`)}))
		}
	}
	done := procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`1`)}
	reg("run")
	appendAll("run", "a", "b", "a", "a", "c", "b", "a")
	reg("old-done")
	appendAll("old-done", "a", "a")
	must(r.CompleteProcess(ctx, "old-done", done))
	reg("old-run")
	appendAll("old-run", "b")
	now = t0.Add(2 * time.Hour)
	reg("new-done")
	appendAll("new-done", "a")
	must(r.CompleteProcess(ctx, "new-done", done))
	return r, store
}

// copyRows inserts every process and event row of store into db (at
// version 3), column by column as the driver rows name them. Test-only
// SQL: it writes a schema older than any the queries compile against.
func copyRows(t *testing.T, db *sql.DB, dialect string, store driver.Store) {
	t.Helper()
	ctx := context.Background()
	cols := dialectgen.RequiredColumns()
	insert := func(table string, row any) {
		t.Helper()
		v := reflect.ValueOf(row)
		names := cols[table]
		marks := make([]string, len(names))
		args := make([]any, len(names))
		for i := range names {
			marks[i] = "?"
			if dialect == "postgres" {
				marks[i] = fmt.Sprintf("$%d", i+1)
			}
			args[i] = v.Field(i).Interface()
		}
		q := "INSERT INTO " + table + " (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	err := store.Read(ctx, func(ctx context.Context, tx driver.Tx) error {
		rows, err := tx.ListProcesses(ctx, driver.ListQuery{})
		if err != nil {
			return err
		}
		for _, p := range rows {
			insert("processes", p)
			evs, err := tx.EventsAfter(ctx, p.ID, 0)
			if err != nil {
				return err
			}
			for _, ev := range evs {
				insert("events", ev)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sameCounts compares CountEventsThrough of every process, type and
// sequence (and past the end) on the two registries.
func sameCounts(t *testing.T, want, got procreg.Registry) {
	t.Helper()
	ctx := context.Background()
	for _, id := range []string{"run", "old-done", "old-run", "new-done"} {
		for _, typ := range []string{"a", "b", "c", procreg.EventCompleted} {
			for _, upTo := range []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, math.MaxUint64} {
				w, err := want.CountEventsThrough(ctx, id, typ, upTo)
				if err != nil {
					t.Fatal(err)
				}
				g, err := got.CountEventsThrough(ctx, id, typ, upTo)
				if err != nil {
					t.Fatal(err)
				}
				if g != w {
					t.Errorf("CountEventsThrough(%s, %s, %d) = %d after the upgrade; want %d", id, typ, upTo, g, w)
				}
			}
		}
	}
}
