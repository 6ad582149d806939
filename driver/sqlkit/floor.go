package sqlkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/procreg/procreg/driver"
)

// FloorSQL is a dialect's floor statements (driver.Floor), read from the
// files of its backend's floor/ directory:
//
//	create.sql   the scratch table driver.FloorTable, when it is missing
//	insert.sql   one row: parameters id, body
//	update.sql   one row by primary key: parameters body, id
//	select.sql   one row by primary key: parameter id; returns n, body
//	cleanup.sql  the rows of one run: parameter a LIKE pattern
//
// They are files rather than sqlc queries because sqlc types queries
// against the registry's schema (schema/<dialect>, the goose migrations),
// and the scratch table is not part of it and must not become a migration.
type FloorSQL struct {
	Create, Insert, Update, Select, Cleanup string
}

// ReadFloorSQL reads the five statements from fsys (a backend embeds its
// floor/ directory and passes fs.Sub of it).
func ReadFloorSQL(fsys fs.FS) (FloorSQL, error) {
	var q FloorSQL
	for _, f := range []struct {
		name string
		dst  *string
	}{{"create.sql", &q.Create}, {"insert.sql", &q.Insert}, {"update.sql", &q.Update}, {"select.sql", &q.Select}, {"cleanup.sql", &q.Cleanup}} {
		b, err := fs.ReadFile(fsys, f.name)
		if err != nil {
			return FloorSQL{}, fmt.Errorf("floor SQL: %w", err)
		}
		if strings.TrimSpace(string(b)) == "" {
			return FloorSQL{}, fmt.Errorf("floor SQL: %s is empty", f.name)
		}
		*f.dst = string(b)
	}
	return q, nil
}

// FloorBody is the body every floor row is written with: about the size of
// a small event payload.
const FloorBody = `{"progress":0.5,"note":"procreg bench floor row","step":12345}`

// DBFloor is a driver.Floor over database/sql pools (SQLite, MySQL and
// MariaDB): writes in a transaction begun by Writer.BeginTx (whatever the
// pool's DSN makes of BEGIN), reads on Reader without a transaction.
type DBFloor struct {
	// Name prefixes error messages ("sqlite").
	Name string
	// Writer takes the INSERTs and UPDATEs; Reader the SELECTs (it may be
	// Writer). Close closes both.
	Writer, Reader *sql.DB
	SQL            FloorSQL
	// Prepared prepares the statements once, after Prepare (as a dialect
	// whose sqlc queries are prepared does); otherwise each call sends its
	// statement text (as a dialect with interpolated parameters does).
	Prepared bool
	// Append is AppendFloor's answer.
	Append driver.FloorOp

	// The prepared statements (Prepared), set by Prepare, which returns
	// before the other calls begin.
	insert, update, read *sql.Stmt
}

var _ driver.Floor = (*DBFloor)(nil)

// Prepare implements driver.Floor.
func (f *DBFloor) Prepare(ctx context.Context, ids []string) error {
	if _, err := f.Writer.ExecContext(ctx, f.SQL.Create); err != nil {
		return fmt.Errorf("%s: floor: create table %s: %w", f.Name, driver.FloorTable, err)
	}
	if f.Prepared {
		if err := f.prepare(ctx); err != nil {
			return err
		}
	}
	for _, id := range ids {
		if err := f.Insert(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (f *DBFloor) prepare(ctx context.Context) error {
	if f.insert != nil {
		return nil
	}
	var err error
	if f.insert, err = f.Writer.PrepareContext(ctx, f.SQL.Insert); err != nil {
		return fmt.Errorf("%s: floor: prepare insert: %w", f.Name, err)
	}
	if f.update, err = f.Writer.PrepareContext(ctx, f.SQL.Update); err != nil {
		return fmt.Errorf("%s: floor: prepare update: %w", f.Name, err)
	}
	if f.read, err = f.Reader.PrepareContext(ctx, f.SQL.Select); err != nil {
		return fmt.Errorf("%s: floor: prepare select: %w", f.Name, err)
	}
	return nil
}

// write runs one statement in a transaction of its own.
func (f *DBFloor) write(ctx context.Context, op, id string, stmt *sql.Stmt, query string, args ...any) error {
	tx, err := f.Writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: floor %s %q: begin: %w", f.Name, op, id, err)
	}
	var res sql.Result
	if stmt != nil {
		res, err = tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	} else {
		res, err = tx.ExecContext(ctx, query, args...)
	}
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n != 1 {
			err = fmt.Errorf("%d rows affected, want 1", n)
		}
	}
	if err != nil {
		return errors.Join(fmt.Errorf("%s: floor %s %q: %w", f.Name, op, id, err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: floor %s %q: commit: %w", f.Name, op, id, err)
	}
	return nil
}

// Insert implements driver.Floor.
func (f *DBFloor) Insert(ctx context.Context, id string) error {
	return f.write(ctx, "insert", id, f.insert, f.SQL.Insert, id, FloorBody)
}

// Update implements driver.Floor.
func (f *DBFloor) Update(ctx context.Context, id string) error {
	return f.write(ctx, "update", id, f.update, f.SQL.Update, FloorBody, id)
}

// Select implements driver.Floor.
func (f *DBFloor) Select(ctx context.Context, id string) error {
	var (
		n    int64
		body string
		row  *sql.Row
	)
	if f.read != nil {
		row = f.read.QueryRowContext(ctx, id)
	} else {
		row = f.Reader.QueryRowContext(ctx, f.SQL.Select, id)
	}
	if err := row.Scan(&n, &body); err != nil {
		return fmt.Errorf("%s: floor select %q: %w", f.Name, id, err)
	}
	return nil
}

// Cleanup implements driver.Floor.
func (f *DBFloor) Cleanup(ctx context.Context, prefix string) error {
	pattern, err := FloorPattern(prefix)
	if err != nil {
		return fmt.Errorf("%s: floor cleanup: %w", f.Name, err)
	}
	if _, err := f.Writer.ExecContext(ctx, f.SQL.Cleanup, pattern); err != nil {
		return fmt.Errorf("%s: floor cleanup %q: %w", f.Name, prefix, err)
	}
	return nil
}

// AppendFloor implements driver.Floor.
func (f *DBFloor) AppendFloor() driver.FloorOp { return f.Append }

// Close implements driver.Floor.
func (f *DBFloor) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{f.insert, f.update, f.read} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	errs = append(errs, f.Writer.Close())
	if f.Reader != f.Writer {
		errs = append(errs, f.Reader.Close())
	}
	return errors.Join(errs...)
}

// FloorPattern is the LIKE pattern of the rows whose id starts with
// prefix; a prefix of anything but letters, digits and '-' (which LIKE
// would read as wildcards or escapes) is an error.
func FloorPattern(prefix string) (string, error) {
	if prefix == "" {
		return "", errors.New("empty prefix: that would delete every row")
	}
	for _, r := range prefix {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return "", fmt.Errorf("prefix %q: want letters, digits and '-' only", prefix)
		}
	}
	return prefix + "%", nil
}
