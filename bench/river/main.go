// Command river measures River (github.com/riverqueue/river), the job queue
// a Go developer would pick instead of procreg for a worker pool, on a
// PostgreSQL server: jobs worked per second, the shape of River's own
// benchmark (`river bench`, whose cmd/river module the module proxy does not
// serve): a client with 2,000 workers of a no-op job, fetching every 2 ms
// at most and polling every 20 ms, fed by InsertMany batches of 5,000 that
// keep a backlog of available jobs; completions are counted from the
// client's subscription, so a job counts once River has recorded it
// completed. procreg's counterpart is `procreg bench --ops lifecycle`
// (`make bench-river` runs both on the same server; docs/performance.md).
//
// It lives in a module of its own so that procreg never depends on River.
// It works in a database of its own on the server (--database, default
// procreg_river_bench), created when missing and migrated with
// rivermigrate; its river_job table is emptied at the start of each run.
//
//	go run . --dsn 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable' --duration 10s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

type options struct {
	dsn, database    string
	duration, warmup time.Duration
	maxWorkers       int
	batch, backlog   int
}

func main() {
	var o options
	flag.StringVar(&o.dsn, "dsn", "", "an administrative PostgreSQL DSN of the server (postgres://…); its own database is not touched")
	flag.StringVar(&o.database, "database", "procreg_river_bench", "the database River works in, created when missing")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured time after the client starts")
	flag.IntVar(&o.maxWorkers, "workers", 2000, "River's MaxWorkers for the queue (river bench uses 2,000)")
	flag.IntVar(&o.batch, "batch", 5000, "jobs per InsertMany")
	flag.IntVar(&o.backlog, "backlog", 75000, "available jobs the inserter keeps ahead of the workers")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "river bench: %v\n", err)
		os.Exit(1)
	}
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	switch {
	case o.dsn == "":
		return errors.New("--dsn is required (an administrative DSN of the PostgreSQL server)")
	case !identifier.MatchString(o.database):
		return fmt.Errorf("--database %q: want lower-case letters, digits and '_'", o.database)
	case o.duration <= 0 || o.warmup < 0 || o.maxWorkers < 1 || o.batch < 1 || o.backlog < o.batch:
		return errors.New("want a positive --duration, --warmup ≥ 0, --workers ≥ 1, --batch ≥ 1 and --backlog ≥ --batch")
	}
	pool, err := openDatabase(ctx, o.dsn, o.database)
	if err != nil {
		return err
	}
	defer pool.Close()
	driver := riverpgxv5.New(pool)
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate River's schema: %w", err)
	}
	// As river bench does: start from an empty, compacted jobs table. The
	// statements are SQL in Go: this program has no other SQL.
	for _, stmt := range []string{"TRUNCATE river_job", "VACUUM FULL river_job"} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}

	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{})
	client, err := river.NewClient(driver, &river.Config{
		FetchCooldown:     2 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.maxWorkers}},
		Workers:           workers,
	})
	if err != nil {
		return err
	}
	events, cancelEvents := client.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: o.backlog + o.batch,
		Kinds:    []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled},
	})
	defer cancelEvents()

	var (
		inserted, worked, failed atomic.Int64
		measuring                atomic.Bool
		measured                 atomic.Int64
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-events:
				if ev == nil {
					return
				}
				if ev.Kind != river.EventKindJobCompleted {
					failed.Add(1)
					continue
				}
				worked.Add(1)
				if measuring.Load() {
					measured.Add(1)
				}
			}
		}
	}()

	insert := func() error {
		params := make([]river.InsertManyParams, o.batch)
		for i := range params {
			params[i].Args = noopArgs{Num: int(inserted.Load()) + i}
		}
		if _, err := client.InsertMany(ctx, params); err != nil {
			return fmt.Errorf("insert jobs: %w", err)
		}
		inserted.Add(int64(o.batch))
		return nil
	}
	// The first backlog before the client starts, then an inserter that
	// tops it up.
	for inserted.Load() < int64(o.backlog) {
		if err := insert(); err != nil {
			return err
		}
	}
	insertErr := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if inserted.Load()-worked.Load() >= int64(o.backlog) {
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			if err := insert(); err != nil {
				if ctx.Err() == nil {
					insertErr <- err
				}
				return
			}
		}
	}()

	if err := client.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer scancel()
		client.Stop(sctx)
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-insertErr:
		return err
	case <-time.After(o.warmup):
	}
	measuring.Store(true)
	start := time.Now()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	deadline := time.After(o.duration)
	last := int64(0)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-insertErr:
			return err
		case <-tick.C:
			n := measured.Load()
			fmt.Fprintf(stderr, "river bench: %8.0f jobs/s over the last 2s (%d jobs worked, %d inserted)\n", float64(n-last)/2, worked.Load(), inserted.Load())
			last = n
		case <-deadline:
			done = true
		}
	}
	measuring.Store(false)
	el := time.Since(start)
	n := measured.Load()
	if failed.Load() > 0 {
		return fmt.Errorf("%d jobs failed or were cancelled; a no-op job should not", failed.Load())
	}
	fmt.Fprintf(stdout, "river bench: %.0f jobs/s (%d no-op jobs worked in %s after a %s warm-up; MaxWorkers %d, pool of %d connections, GOMAXPROCS %d; River v0.51.2, database %s)\n",
		float64(n)/el.Seconds(), n, el.Round(time.Millisecond), o.warmup, o.maxWorkers, pool.Config().MaxConns, runtime.GOMAXPROCS(0), o.database)
	return nil
}

// openDatabase connects to database on the server adminDSN names, creating
// it first when missing, with a pool sized as procreg's PostgreSQL backend
// sizes its own (max(16, 4×GOMAXPROCS) unless the DSN sets
// pool_max_conns), so both run with the same connections.
func openDatabase(ctx context.Context, adminDSN, database string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(adminDSN)
	if err != nil {
		return nil, fmt.Errorf("--dsn: %w", err)
	}
	if cfg.ConnConfig.Database == database {
		return nil, fmt.Errorf("--dsn names the database %s itself: give an administrative DSN of another database on the server", database)
	}
	admin, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	// SQL inline: this module of its own has no sqlc, and these two
	// administrative statements (a catalog lookup, and CREATE DATABASE,
	// whose name cannot be a bind parameter) are all the SQL it writes;
	// River's own schema comes from rivermigrate.
	var exists bool
	err = admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", database).Scan(&exists)
	if err == nil && !exists {
		// A database name cannot be a bind parameter; identifier checked it.
		_, err = admin.Exec(ctx, "CREATE DATABASE "+database)
	}
	admin.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("create database %s: %w", database, err)
	}
	cfg.ConnConfig.Database = database
	// pgxpool.ParseConfig consumes pool_max_conns; pgconn's parser keeps it.
	if plain, err := pgconn.ParseConfig(adminDSN); err != nil || plain.RuntimeParams["pool_max_conns"] == "" {
		cfg.MaxConns = int32(max(16, 4*runtime.GOMAXPROCS(0)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", database, err)
	}
	return pool, nil
}

type noopArgs struct {
	Num int `json:"num"`
}

func (noopArgs) Kind() string { return "procreg_bench_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (*noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }
