package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/internal/testdb"
)

// TestNewOnSingleConnectionPool: migrating through a pool of one connection
// must not wait for a second connection that can never come.
func TestNewOnSingleConnectionPool(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testdb.Postgres(t).DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	r, err := postgres.New(ctx, pool)
	if err != nil {
		t.Fatalf("New on a one-connection pool: %v", err)
	}
	defer r.Close()
	if _, err := r.RegisterProcess(ctx, procreg.Registration{
		ID:          "single",
		Input:       procreg.ProcessInput{Kind: procreg.InputExternal, Payload: json.RawMessage(`{"label":"x"}`)},
		Disposition: procreg.DispositionExternallyOwned,
	}); err != nil {
		t.Fatal(err)
	}
}
