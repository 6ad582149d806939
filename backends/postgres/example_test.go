package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/postgres"
)

// Open a registry from a DSN, register a process and run it under a lease.
// (No Output comment: the example needs a server, so it is compiled, not run.)
func ExampleOpen() {
	ctx := context.Background()
	reg, err := postgres.Open(ctx, os.Getenv("PROCREG_POSTGRES_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	if _, err := reg.RegisterProcess(ctx, procreg.Registration{
		ID:          "build-42",
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"cmd":"make"}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:ci",
	}); err != nil {
		log.Fatal(err)
	}
	worker := procreg.LeaseOwner{OwnerID: "worker-1", IncarnationID: "boot-7"}
	claim, err := reg.ClaimProcessLease(ctx, "build-42", worker, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	// ExpiresAt comes from the database clock, whatever this machine's clock says.
	fmt.Println(claim.Acquired, claim.Lease.FencingToken, claim.Lease.ExpiresAt)
}

// New uses an existing pool (left open by Close); migrations can be left to a
// deployment step with WithoutMigrations and Migrate.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("PROCREG_POSTGRES_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if _, err := postgres.Migrate(ctx, pool); err != nil {
		log.Fatal(err)
	}
	reg, err := postgres.New(ctx, pool, postgres.WithoutMigrations())
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	fmt.Println(reg.DurabilityTier() == procreg.TierDurable)
}
