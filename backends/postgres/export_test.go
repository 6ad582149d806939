package postgres

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg/driver"
)

// StoreOf is the driver.Store a registry from New runs over pool, for
// tests that drive its transactions directly.
func StoreOf(pool *pgxpool.Pool) driver.Store { return &pgStore{pool: pool} }
