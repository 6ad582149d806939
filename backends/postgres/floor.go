package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
)

// The floor's statements (driver.Floor) are files, not sqlc queries: sqlc
// types queries against the registry's schema, and the floor's scratch
// table is not part of it (see sqlkit.FloorSQL).
//
//go:embed floor/*.sql
var floorFiles embed.FS

// pgFloor is the floor of a PostgreSQL database: a pgx pool configured as
// Open configures the registry's (poolConfig), writes in a transaction at
// the default isolation, READ COMMITTED, as the registry's writes are.
type pgFloor struct {
	pool *pgxpool.Pool
	q    sqlkit.FloorSQL
}

// openFloor opens the floor of the database dsn names.
func openFloor(ctx context.Context, dsn string) (driver.Floor, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: floor: %w", err)
	}
	sub, err := fs.Sub(floorFiles, "floor")
	if err != nil {
		return nil, err
	}
	q, err := sqlkit.ReadFloorSQL(sub)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg, err := poolConfig(dsn)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: floor: open: %w", err)
	}
	return &pgFloor{pool: pool, q: q}, nil
}

func (f *pgFloor) Prepare(ctx context.Context, ids []string) error {
	if _, err := f.pool.Exec(ctx, f.q.Create); err != nil {
		return fmt.Errorf("postgres: floor: create table %s: %w", driver.FloorTable, err)
	}
	for _, id := range ids {
		if err := f.Insert(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// write runs one statement in a transaction of its own: BEGIN, the
// statement and COMMIT, as the registry's writes begin and end.
func (f *pgFloor) write(ctx context.Context, op, id, query string, args ...any) error {
	err := pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, query, args...)
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("%d rows affected, want 1", tag.RowsAffected())
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: floor %s %q: %w", op, id, err)
	}
	return nil
}

func (f *pgFloor) Insert(ctx context.Context, id string) error {
	return f.write(ctx, "insert", id, f.q.Insert, id, sqlkit.FloorBody)
}

func (f *pgFloor) Update(ctx context.Context, id string) error {
	return f.write(ctx, "update", id, f.q.Update, sqlkit.FloorBody, id)
}

func (f *pgFloor) Select(ctx context.Context, id string) error {
	var (
		n    int64
		body string
	)
	if err := f.pool.QueryRow(ctx, f.q.Select, id).Scan(&n, &body); err != nil {
		return fmt.Errorf("postgres: floor select %q: %w", id, err)
	}
	return nil
}

func (f *pgFloor) Cleanup(ctx context.Context, prefix string) error {
	pattern, err := sqlkit.FloorPattern(prefix)
	if err != nil {
		return fmt.Errorf("postgres: floor cleanup: %w", err)
	}
	if _, err := f.pool.Exec(ctx, f.q.Cleanup, pattern); err != nil {
		return fmt.Errorf("postgres: floor cleanup %q: %w", prefix, err)
	}
	return nil
}

// AppendFloor is FloorUpdate: an append locks and updates its process row.
func (f *pgFloor) AppendFloor() driver.FloorOp { return driver.FloorUpdate }

func (f *pgFloor) Close() error {
	f.pool.Close()
	return nil
}
