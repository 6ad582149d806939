package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/internal/testdb"
)

// singleConnRegistry runs New on a fresh, empty database (New migrates it)
// through a pool of one connection, traced by tracer when it is not nil.
func singleConnRegistry(t *testing.T, ctx context.Context, tracer pgx.QueryTracer) procreg.Registry {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testdb.Postgres(t).DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = tracer
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	r, err := postgres.New(ctx, pool)
	if err != nil {
		t.Fatalf("New on a one-connection pool: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestNewOnSingleConnectionPool: migrating through a pool of one connection
// must not wait for a second connection that can never come.
func TestNewOnSingleConnectionPool(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := singleConnRegistry(t, ctx, nil)
	if _, err := r.RegisterProcess(ctx, procreg.Registration{
		ID:          "single",
		Input:       procreg.ProcessInput{Kind: procreg.InputExternal, Payload: json.RawMessage(`{"label":"x"}`)},
		Disposition: procreg.DispositionExternallyOwned,
	}); err != nil {
		t.Fatal(err)
	}
}
