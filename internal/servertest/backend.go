package servertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/conformance"
	"github.com/procreg/procreg/driver/sqlkit"
	"github.com/procreg/procreg/internal/testdb"
)

// Backend is a server backend under test. Its methods are the bodies of the
// backend's Test and Benchmark functions, so both backends run the same
// checks the same way.
type Backend struct {
	// Database provisions a fresh database with the schema already migrated
	// (testdb.PostgresMigrated, testdb.MySQLMigrated); Open then has no
	// migration to run.
	Database func(testing.TB) testdb.Database
	// EmptyDatabase provisions a fresh empty database (testdb.Postgres,
	// testdb.MySQL), for the tests of Open's own migration.
	EmptyDatabase func(testing.TB) testdb.Database
	// OpenDSN and WithClock are the backend's Open and WithClock.
	OpenDSN   func(ctx context.Context, dsn string, opts ...sqlkit.Option) (procreg.Registry, error)
	WithClock func(func() time.Time) sqlkit.Option
	// Explain checks the hot queries' plans on dsn (ExplainPostgres,
	// ExplainMySQL).
	Explain func(t *testing.T, dsn string)
}

// Tests runs every server-backend test as a subtest: the public and
// durable conformance suites, the database clock, concurrent first opens and
// the hot queries' plans. A backend's test file calls it from one Test
// function.
func (b Backend) Tests(t *testing.T) {
	t.Run("Conformance", b.Conformance)
	t.Run("ConformanceDurable", b.Durable)
	t.Run("DatabaseClock", b.DatabaseClock)
	t.Run("ConcurrentOpen", b.ConcurrentOpen)
	t.Run("ExplainHotQueries", b.ExplainHotQueries)
}

// Benchmarks runs the server-backend benchmarks as sub-benchmarks.
func (b Backend) Benchmarks(bb *testing.B) {
	bb.Run("AppendEventParallel", b.BenchAppendEventParallel)
	bb.Run("AppendEventWorkers", b.BenchAppendEventWorkers)
	bb.Run("ClaimComplete", b.BenchClaimComplete)
	bb.Run("GetProcess", b.BenchGetProcess)
	bb.Run("AppendEventWithLeaseParallel", b.BenchAppendEventWithLeaseParallel)
}

// Open opens a registry on dsn with the client clock option clock (nil: the
// default) and opts, failing the test on error.
func (b Backend) Open(tb testing.TB, dsn string, clock func() time.Time, opts ...sqlkit.Option) procreg.Registry {
	tb.Helper()
	if clock != nil {
		opts = append(opts, b.WithClock(clock))
	}
	r, err := b.OpenDSN(context.Background(), dsn, opts...)
	if err != nil {
		tb.Fatalf("open %s: %v", dsn, err)
	}
	return r
}

// Conformance runs the public suite, each subtest on a database of its own.
func (b Backend) Conformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) procreg.Registry { return b.Open(t, b.Database(t).DSN, nil) })
}

// Durable runs the durable suite (reopen, concurrency across registries).
func (b Backend) Durable(t *testing.T) {
	conformance.RunDurable(t, func(t *testing.T) conformance.Opener {
		dsn := b.Database(t).DSN
		return func(t *testing.T) procreg.Registry { return b.Open(t, dsn, nil) }
	})
}

// ConcurrentOpen opens several registries at once on one fresh, empty
// database: each runs the migrations, and all must succeed with one schema.
func (b Backend) ConcurrentOpen(t *testing.T) {
	dsn := b.EmptyDatabase(t).DSN
	const n = 6
	regs := make([]procreg.Registry, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range regs {
		wg.Go(func() { regs[i], errs[i] = b.OpenDSN(context.Background(), dsn) })
	}
	wg.Wait()
	for _, r := range regs {
		if r != nil {
			t.Cleanup(func() { _ = r.Close() })
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d of %d at once: %v", i, n, err)
		}
	}
	register(t, regs[0], "opened-concurrently")
	for i, r := range regs {
		if _, err := r.GetProcess(context.Background(), "opened-concurrently"); err != nil {
			t.Errorf("registry %d does not see the process: %v", i, err)
		}
	}
}

// DatabaseClock runs DatabaseClock on one fresh database.
func (b Backend) DatabaseClock(t *testing.T) {
	dsn := b.Database(t).DSN
	DatabaseClock(t, func(t *testing.T, clock func() time.Time) procreg.Registry { return b.Open(t, dsn, clock) })
}

// ExplainHotQueries seeds a fresh database and checks the query plans.
func (b Backend) ExplainHotQueries(t *testing.T) {
	dsn := b.Database(t).DSN
	r := b.Open(t, dsn, nil)
	defer r.Close()
	SeedForExplain(t, r)
	b.Explain(t, dsn)
}

// historyRegistries opens the two registries of a history on dsn: one
// with the backend's default group commit, where a group forms only when
// more calls than the pool's connections, or two on one process, overlap;
// and one that runs one write transaction at a time, so that every call
// that overlaps another joins a group (driver.GroupCommit).
func (b Backend) historyRegistries(t *testing.T, dsn string) []procreg.Registry {
	regs := []procreg.Registry{b.Open(t, dsn, nil), b.Open(t, dsn, nil, sqlkit.WithGroupCommit(1, 0))}
	for _, r := range regs {
		t.Cleanup(func() { _ = r.Close() })
	}
	return regs
}

// BenchAppendEventParallel runs AppendEventParallel on a fresh database.
func (b Backend) BenchAppendEventParallel(bb *testing.B) {
	r := b.Open(bb, b.Database(bb).DSN, nil)
	defer r.Close()
	AppendEventParallel(bb, r)
}

// BenchAppendEventWorkers runs AppendEventWorkers with 8, 32 and 100
// workers, each with the backend's default group commit ("grouped") and
// with group commit off ("alone", one transaction per call), on a fresh
// database each.
func (b Backend) BenchAppendEventWorkers(bb *testing.B) {
	for _, n := range []int{Workers, 32, 100} {
		for _, mode := range []string{"grouped", "alone"} {
			bb.Run(fmt.Sprintf("%d/%s", n, mode), func(bb *testing.B) {
				var opts []sqlkit.Option
				if mode == "alone" {
					opts = append(opts, sqlkit.WithGroupCommit(0, 0))
				}
				r, err := b.OpenDSN(context.Background(), b.Database(bb).DSN, opts...)
				if err != nil {
					bb.Fatal(err)
				}
				defer r.Close()
				AppendEventWorkers(bb, r, n)
			})
		}
	}
}

// BenchClaimComplete runs ClaimComplete on a fresh database.
func (b Backend) BenchClaimComplete(bb *testing.B) {
	r := b.Open(bb, b.Database(bb).DSN, nil)
	defer r.Close()
	ClaimComplete(bb, r)
}

// BenchGetProcess runs GetProcess on a fresh database.
func (b Backend) BenchGetProcess(bb *testing.B) {
	r := b.Open(bb, b.Database(bb).DSN, nil)
	defer r.Close()
	GetProcess(bb, r)
}

// BenchAppendEventWithLeaseParallel runs AppendEventWithLeaseParallel on a
// fresh database.
func (b Backend) BenchAppendEventWithLeaseParallel(bb *testing.B) {
	r := b.Open(bb, b.Database(bb).DSN, nil)
	defer r.Close()
	AppendEventWithLeaseParallel(bb, r)
}
