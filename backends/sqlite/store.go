package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/procreg/procreg"
	gen "github.com/procreg/procreg/gen/sqlite"
	"github.com/procreg/procreg/internal/sqlstore"
	"github.com/procreg/procreg/internal/store"
)

// sqliteStore is a store.Store over one SQLite file: a single-connection
// writer pool and a read-only reader pool.
type sqliteStore struct {
	path   string
	clock  func() time.Time
	writer *sql.DB
	reader *sql.DB
	// Statements prepared on each pool; database/sql re-prepares them once
	// per connection and transactions reuse them.
	writeQ *gen.Queries
	readQ  *gen.Queries
}

func openStore(ctx context.Context, path string, c config) (*sqliteStore, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	abs, err := checkPath(path)
	if err != nil {
		return nil, err
	}
	w, err := openDB(abs, c, true)
	if err != nil {
		return nil, err
	}
	// The first connection switches a fresh file to WAL; SQLite reports a
	// concurrent switch by another opener as busy without waiting.
	if err := retryBusy(ctx, c.busyTimeout, func() error { return w.PingContext(ctx) }); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	if c.migrate {
		if _, err := migrateDB(ctx, w, abs); err != nil {
			w.Close()
			return nil, err
		}
	}
	r, err := openDB(abs, c, false)
	if err != nil {
		w.Close()
		return nil, err
	}
	s := &sqliteStore{path: abs, clock: c.clock, writer: w, reader: r}
	if s.writeQ, err = gen.Prepare(ctx, w); err == nil {
		s.readQ, err = gen.Prepare(ctx, r)
	}
	if err != nil {
		s.Close()
		if !c.migrate && strings.Contains(err.Error(), "no such table") {
			return nil, fmt.Errorf("sqlite: open %s: the schema is not migrated (run sqlite.Migrate, or open without WithoutMigrations): %w", abs, err)
		}
		return nil, fmt.Errorf("sqlite: prepare statements on %s: %w", abs, err)
	}
	return s, nil
}

func (s *sqliteStore) Tier() procreg.DurabilityTier { return procreg.TierDurable }

func (s *sqliteStore) Close() error {
	var errs []error
	for _, q := range []*gen.Queries{s.readQ, s.writeQ} {
		if q != nil {
			errs = append(errs, q.Close())
		}
	}
	return errors.Join(append(errs, s.reader.Close(), s.writer.Close())...)
}

// busyRetries bounds how often a Write is retried after SQLITE_BUSY, which
// only surfaces once the busy timeout has already been waited out.
const busyRetries = 5

func (s *sqliteStore) Write(ctx context.Context, fn func(context.Context, store.Tx) error) error {
	backoff := 5 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := s.run(ctx, s.writer, s.writeQ, nil, fn)
		if err == nil || !isBusy(err) || attempt == busyRetries {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after: %v)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

func (s *sqliteStore) Read(ctx context.Context, fn func(context.Context, store.Tx) error) error {
	return s.run(ctx, s.reader, s.readQ, &sql.TxOptions{ReadOnly: true}, fn)
}

// run executes fn in one transaction on db and commits when it succeeds.
func (s *sqliteStore) run(ctx context.Context, db *sql.DB, q *gen.Queries, opts *sql.TxOptions, fn func(context.Context, store.Tx) error) error {
	sqlTx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(ctx, &tx{q: q.WithTx(sqlTx), clock: s.clock}); err != nil {
		return errors.Join(err, rollback(sqlTx))
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

func rollback(t *sql.Tx) error {
	if err := t.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("sqlite: rollback: %w", err)
	}
	return nil
}

// retryBusy runs op until it ends with something other than SQLITE_BUSY,
// backing off up to a total wait of limit.
func retryBusy(ctx context.Context, limit time.Duration, op func() error) error {
	deadline := time.Now().Add(limit)
	backoff := time.Millisecond
	for {
		err := op()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after: %v)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// isBusy reports whether err is SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var e *sqlitedrv.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// tx implements store.Tx over the generated queries. Generated models and
// parameter structs have the store rows' fields, so rows cross by type
// conversion.
type tx struct {
	q     *gen.Queries
	clock func() time.Time
}

func noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func toProcess(p gen.Process) store.ProcessRow { return store.ProcessRow(p) }
func toEvent(e gen.Event) store.EventRow       { return store.EventRow(e) }
func toGrant(g gen.Grant) store.GrantRow       { return store.GrantRow(g) }

func (t *tx) LeaseNow(context.Context) (time.Time, error) {
	return procreg.TruncateTime(t.clock()), nil
}

func (t *tx) GetProcess(ctx context.Context, id string) (store.ProcessRow, bool, error) {
	p, err := t.q.GetProcess(ctx, id)
	return sqlstore.Found(p, err, noRows, toProcess)
}

// LockProcess is a plain read: the write transaction already holds the
// database write lock.
func (t *tx) LockProcess(ctx context.Context, id string) (store.ProcessRow, bool, error) {
	p, err := t.q.LockProcess(ctx, id)
	return sqlstore.Found(p, err, noRows, toProcess)
}

func (t *tx) InsertProcess(ctx context.Context, row store.ProcessRow) error {
	return t.q.InsertProcess(ctx, gen.InsertProcessParams(row))
}

func (t *tx) UpdateProcess(ctx context.Context, row store.ProcessRow) error {
	n, err := t.q.UpdateProcess(ctx, gen.UpdateProcessParams(sqlstore.UpdateOf(row)))
	if err == nil && n != 1 {
		err = fmt.Errorf("sqlite: update process %q: %d rows matched, want 1", row.ID, n)
	}
	return err
}

func (t *tx) lister() sqlstore.Lister[gen.Process] {
	q := t.q
	return sqlstore.Lister[gen.Process]{
		All:      q.ListProcessesAll,
		ByStatus: q.ListProcessesByStatus,
		ByStatusWaiting: func(ctx context.Context, status string, waiting bool) ([]gen.Process, error) {
			return q.ListProcessesByStatusWaiting(ctx, gen.ListProcessesByStatusWaitingParams{Status: status, Waiting: waiting})
		},
		ByWaiting:    q.ListProcessesByWaiting,
		ByDefinition: q.ListProcessesByDefinition,
		ByDefinitionStatus: func(ctx context.Context, fp, status string) ([]gen.Process, error) {
			return q.ListProcessesByDefinitionStatus(ctx, gen.ListProcessesByDefinitionStatusParams{DefinitionFingerprint: fp, Status: status})
		},
		ByDefinitionWaiting: func(ctx context.Context, fp string, waiting bool) ([]gen.Process, error) {
			return q.ListProcessesByDefinitionWaiting(ctx, gen.ListProcessesByDefinitionWaitingParams{DefinitionFingerprint: fp, Waiting: waiting})
		},
		ByDefinitionStatusWait: func(ctx context.Context, fp, status string, waiting bool) ([]gen.Process, error) {
			return q.ListProcessesByDefinitionStatusWaiting(ctx, gen.ListProcessesByDefinitionStatusWaitingParams{DefinitionFingerprint: fp, Status: status, Waiting: waiting})
		},
	}
}

func (t *tx) ListProcesses(ctx context.Context, lq store.ListQuery) ([]store.ProcessRow, error) {
	ps, err := t.lister().List(ctx, lq)
	return sqlstore.Map(ps, toProcess), err
}

func (t *tx) ListProcessesByWakeTargetSession(ctx context.Context, sessionID string) ([]store.ProcessRow, error) {
	ps, err := t.q.ListProcessesByWakeTargetSession(ctx, sessionID)
	return sqlstore.Map(ps, toProcess), err
}

func (t *tx) InsertEvent(ctx context.Context, row store.EventRow) error {
	return t.q.InsertEvent(ctx, gen.InsertEventParams(row))
}

func (t *tx) EventByReplayKey(ctx context.Context, processID, replayKey string) (store.EventRow, bool, error) {
	e, err := t.q.EventByReplayKey(ctx, gen.EventByReplayKeyParams{ProcessID: processID, ReplayKey: replayKey})
	return sqlstore.Found(e, err, noRows, toEvent)
}

func (t *tx) EventsAfter(ctx context.Context, processID string, after int64) ([]store.EventRow, error) {
	es, err := t.q.EventsAfter(ctx, gen.EventsAfterParams{ProcessID: processID, AfterSequence: after})
	return sqlstore.Map(es, toEvent), err
}

func (t *tx) WakeEventsAfter(ctx context.Context, processID string, after int64) ([]store.EventRow, error) {
	es, err := t.q.WakeEventsAfter(ctx, gen.WakeEventsAfterParams{ProcessID: processID, AfterSequence: after})
	return sqlstore.Map(es, toEvent), err
}

func (t *tx) CountEventsThrough(ctx context.Context, processID, eventType string, upTo int64) (int64, error) {
	return t.q.CountEventsThrough(ctx, gen.CountEventsThroughParams{ProcessID: processID, EventType: eventType, UpToSequence: upTo})
}

func (t *tx) RecentEvents(ctx context.Context, processID string, limit int64) ([]store.EventRow, error) {
	es, err := t.q.RecentEventsDesc(ctx, gen.RecentEventsDescParams{ProcessID: processID, RowLimit: limit})
	slices.Reverse(es)
	return sqlstore.Map(es, toEvent), err
}

func (t *tx) InsertWakeAck(ctx context.Context, processID string, sequence int64) error {
	return t.q.InsertWakeAck(ctx, gen.InsertWakeAckParams{ProcessID: processID, Sequence: sequence})
}

func (t *tx) GetGrant(ctx context.Context, scopeID, processID string) (store.GrantRow, bool, error) {
	g, err := t.q.GetGrant(ctx, gen.GetGrantParams{ScopeID: scopeID, ProcessID: processID})
	return sqlstore.Found(g, err, noRows, toGrant)
}

func (t *tx) UpsertGrant(ctx context.Context, row store.GrantRow) error {
	return t.q.UpsertGrant(ctx, gen.UpsertGrantParams(row))
}

func (t *tx) DeleteGrant(ctx context.Context, scopeID, processID string) error {
	return t.q.DeleteGrant(ctx, gen.DeleteGrantParams{ScopeID: scopeID, ProcessID: processID})
}

func (t *tx) ListGrantsByScope(ctx context.Context, scopeID string) ([]store.GrantEntryRow, error) {
	rs, err := t.q.ListGrantsByScope(ctx, scopeID)
	return sqlstore.Map(rs, func(r gen.ListGrantsByScopeRow) store.GrantEntryRow {
		return store.GrantEntryRow{Grant: toGrant(r.Grant), Process: toProcess(r.Process)}
	}), err
}

func (t *tx) ListGrantsByProcess(ctx context.Context, processID string) ([]store.GrantRow, error) {
	gs, err := t.q.ListGrantsByProcess(ctx, processID)
	return sqlstore.Map(gs, toGrant), err
}

func (t *tx) ListGrantsBySession(ctx context.Context, sessionID string) ([]store.GrantRow, error) {
	gs, err := t.q.ListGrantsBySession(ctx, sessionID)
	return sqlstore.Map(gs, toGrant), err
}

func (t *tx) DeleteGrantsBySession(ctx context.Context, sessionID string) (int64, error) {
	return t.q.DeleteGrantsBySession(ctx, sessionID)
}

func (t *tx) CountGrantsForProcess(ctx context.Context, processID string) (int64, error) {
	return t.q.CountGrantsForProcess(ctx, processID)
}

func (t *tx) PruneBatch(ctx context.Context, cutoffMs int64, limit int) (int64, int64, error) {
	q := t.q
	return sqlstore.Pruner{
		Candidates: func(ctx context.Context, cutoffMs int64, limit int) ([]string, error) {
			return q.PruneCandidates(ctx, gen.PruneCandidatesParams{CutoffMs: cutoffMs, RowLimit: int64(limit)})
		},
		DeleteEvents:    q.DeleteEventsOf,
		DeleteWakeAcks:  q.DeleteWakeAcksOf,
		DeleteGrants:    q.DeleteGrantsOf,
		DeleteProcesses: q.DeleteProcessesIn,
	}.Batch(ctx, cutoffMs, limit)
}
