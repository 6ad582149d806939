package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/testdb"
)

// pipeFixture is a registry and its store over one connection, with one
// registered process, "p".
func pipeFixture(t *testing.T, ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, procreg.Registry, driver.Store) {
	t.Helper()
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	r, err := postgres.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.RegisterProcess(ctx, procreg.Registration{
		ID:          "p",
		Input:       procreg.ProcessInput{Kind: procreg.InputExternal, Payload: json.RawMessage(`{"label":"x"}`)},
		Disposition: procreg.DispositionExternallyOwned,
	}); err != nil {
		t.Fatal(err)
	}
	return pool, r, postgres.StoreOf(pool)
}

func foreignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// TestPipeQueuedWriteFails: a write the store queued (its result unread)
// that the server refuses fails the transaction — from the next read when
// one follows, else from the commit — with the server's error in the chain
// for Classify, named after the write, not as a failed COMMIT (the server
// skipped the COMMIT); nothing of the transaction is applied, and its
// connection is rolled back and reused.
func TestPipeQueuedWriteFails(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testdb.PostgresMigrated(t).DSN)
	if err != nil {
		t.Fatal(err)
	}
	pool, r, s := pipeFixture(t, ctx, cfg)
	before, err := r.GetProcess(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	conns := pool.Stat().NewConnsCount()
	bad := driver.EventRow{ProcessID: "absent", Sequence: 1, EventType: "x", Payload: "{}"} // no such process: a foreign key violation
	for _, readAfter := range []bool{true, false} {
		err := s.Write(ctx, func(ctx context.Context, tx driver.Tx) error {
			row, _, err := tx.LockProcess(ctx, "p")
			if err != nil {
				return err
			}
			row.UpdatedAtMs += 60_000
			if err := tx.UpdateProcess(ctx, row); err != nil {
				t.Errorf("UpdateProcess: %v; want nil, its result is not read", err)
			}
			if err := tx.InsertEvent(ctx, bad); err != nil {
				t.Errorf("InsertEvent: %v; want nil until it is sent", err)
			}
			if readAfter {
				_, _, err = tx.GetProcess(ctx, "p")
				if !foreignKeyViolation(err) {
					t.Errorf("the read after the failed write returned %v; want the foreign key violation", err)
				}
				return err
			}
			return nil
		})
		switch {
		case !foreignKeyViolation(err) || !strings.Contains(err.Error(), "InsertEvent"):
			t.Errorf("read after: %v: Write returned %v; want the foreign key violation of InsertEvent", readAfter, err)
		case errors.Is(err, driver.ErrCommitFailed):
			t.Errorf("read after: %v: Write returned %v; want a definite failure, not a failed commit", readAfter, err)
		case s.Classify(err) != driver.ClassOther:
			t.Errorf("read after: %v: Classify = %v; want ClassOther", readAfter, s.Classify(err))
		}
		after, err := r.GetProcess(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		if !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("read after: %v: UpdatedAt %v, was %v: the failed transaction's update was applied", readAfter, after.UpdatedAt, before.UpdatedAt)
		}
	}
	// The connection was rolled back and kept: the next write works on it.
	if _, err := r.AppendEvent(ctx, "p", procreg.AppendRequest{EventType: "process.waiting", Payload: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if n := pool.Stat().NewConnsCount(); n != conns {
		t.Errorf("the pool opened %d connections after the failed transactions; want 0 (rolled back, reused)", n-conns)
	}
}

// TestPipePanicRollsBack: a transaction whose fn panics after its first
// round trip (the row locked, a write queued) is rolled back on its own
// connection: the write is not applied, the lock is released, and the
// connection is reused.
func TestPipePanicRollsBack(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.PostgresMigrated(t).DSN
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pool, r, s := pipeFixture(t, ctx, cfg)
	before, err := r.GetProcess(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	conns := pool.Stat().NewConnsCount()
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Write did not pass the panic on")
			}
		}()
		_ = s.Write(ctx, func(ctx context.Context, tx driver.Tx) error {
			row, _, err := tx.LockProcess(ctx, "p")
			if err != nil {
				return err
			}
			row.UpdatedAtMs += 60_000
			if err := tx.UpdateProcess(ctx, row); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	// Another connection takes the row lock at once.
	other, err := postgres.Open(ctx, dsn, postgres.WithoutMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := other.SetExternalRef(lctx, "p", procreg.ExternalRef{Backend: "b", ID: "x"}); err != nil {
		t.Fatalf("locking the row from another connection: %v", err)
	}
	after, err := r.GetProcess(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if after.UpdatedAt.Sub(before.UpdatedAt) >= time.Minute {
		t.Errorf("UpdatedAt moved from %v to %v: the panicking transaction's update was applied", before.UpdatedAt, after.UpdatedAt)
	}
	if n := pool.Stat().NewConnsCount(); n != conns {
		t.Errorf("the pool opened %d connections after the panic; want 0 (rolled back, reused)", n-conns)
	}
}

// cutter closes a connection just after it has written the statements of
// a batch (or statement) holding COMMIT, once armed: the server may or may
// not have committed, and the client cannot know.
type cutter struct {
	mu      sync.Mutex
	armed   bool
	fire    bool // the next write of the connection is COMMIT's
	commits int  // batches or statements holding COMMIT sent
}

func (c *cutter) saw(sqls ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range sqls {
		if strings.EqualFold(strings.TrimSpace(s), "commit") {
			c.commits++
			if c.armed {
				c.armed, c.fire = false, true
			}
		}
	}
}

func (c *cutter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.saw(d.SQL)
	return ctx
}

func (c *cutter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *cutter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	for _, q := range d.Batch.QueuedQueries {
		c.saw(q.SQL)
	}
	return ctx
}

func (c *cutter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *cutter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

type cutConn struct {
	net.Conn
	c *cutter
}

func (cc cutConn) Write(b []byte) (int, error) {
	n, err := cc.Conn.Write(b)
	cc.c.mu.Lock()
	fire := cc.c.fire
	cc.c.fire = false
	cc.c.mu.Unlock()
	if fire {
		_ = cc.Conn.Close()
	}
	return n, err
}

// TestPipeCommitLost: a connection lost once the batch holding COMMIT was
// sent leaves the write's outcome unknown: the error wraps
// driver.ErrCommitFailed (and procreg.ErrUnavailable), the write is not
// run again, and the registry works on afterwards.
func TestPipeCommitLost(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testdb.PostgresMigrated(t).DSN)
	if err != nil {
		t.Fatal(err)
	}
	cut := &cutter{}
	dial := cfg.ConnConfig.DialFunc
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return cutConn{Conn: c, c: cut}, nil
	}
	cfg.ConnConfig.Tracer = cut
	_, r, _ := pipeFixture(t, ctx, cfg)
	req := procreg.AppendRequest{EventType: "process.waiting", Payload: json.RawMessage(`{}`)}

	cut.mu.Lock()
	cut.armed, cut.commits = true, 0
	cut.mu.Unlock()
	_, err = r.AppendEvent(ctx, "p", req)
	if !errors.Is(err, driver.ErrCommitFailed) || !errors.Is(err, procreg.ErrUnavailable) {
		t.Errorf("AppendEvent with the connection lost under COMMIT: %v; want ErrCommitFailed and ErrUnavailable", err)
	}
	cut.mu.Lock()
	commits := cut.commits
	cut.mu.Unlock()
	if commits != 1 {
		t.Errorf("COMMIT was sent %d times; want once (a write of unknown outcome is not retried)", commits)
	}
	if _, err := r.AppendEvent(ctx, "p", req); err != nil {
		t.Fatalf("AppendEvent after the lost connection: %v", err)
	}
	events, err := r.EventsAfter(ctx, "p", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("events after the lost commit and one more append: %d (the lost one applied: %v)", len(events), len(events) == 2)
	if len(events) != 1 && len(events) != 2 {
		t.Errorf("%d events; want 1 or 2", len(events))
	}
}

// TestPipeInsertRaceRetries: an InsertProcess the store queued that fails
// at commit because another transaction inserted the same id after this
// one found none is retried as when the insert ran at once (sqlkit.ErrRetry):
// the second attempt finds the row.
func TestPipeInsertRaceRetries(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.PostgresMigrated(t).DSN
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	_, r, s := pipeFixture(t, ctx, cfg)
	other, err := postgres.Open(ctx, dsn, postgres.WithoutMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	attempts := 0
	err = s.Write(ctx, func(ctx context.Context, tx driver.Tx) error {
		attempts++
		row, _, err := tx.LockProcess(ctx, "p")
		if err != nil {
			return err
		}
		if _, found, err := tx.LockProcess(ctx, "new"); err != nil || found {
			return err // the second attempt finds the winner's row
		}
		// The winner registers "new" meanwhile; this insert then loses.
		if _, err := other.RegisterProcess(ctx, procreg.Registration{
			ID:          "new",
			Input:       procreg.ProcessInput{Kind: procreg.InputExternal, Payload: json.RawMessage(`{"label":"x"}`)},
			Disposition: procreg.DispositionExternallyOwned,
		}); err != nil {
			return err
		}
		row.ID = "new"
		return tx.InsertProcess(ctx, row)
	})
	if err != nil || attempts != 2 {
		t.Fatalf("Write: %v after %d attempts; want success on the second", err, attempts)
	}
	if _, err := r.GetProcess(ctx, "new"); err != nil {
		t.Fatal(err)
	}
}
