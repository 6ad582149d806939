package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
)

// commitSQL ends a transaction that pipe sends inside a batch: pgx's
// Tx.Commit sends the same text, but only on its own, a round trip of its
// own. Transaction control is no query sqlc compiles, so it is spelled here.
const commitSQL = "commit"

// pipe is the gen.DBTX of one transaction on one connection. It sends the
// transaction's statements in pgx batches (the extended protocol's
// pipeline: every statement of a batch goes out at once, followed by one
// Sync) so that the engine's lock–decide–write costs two round trips
// rather than one per statement:
//
//   - BEGIN is queued (pgx.Batch.BeginTx) and goes with the first
//     statement whose result the engine reads;
//   - a statement whose result nobody reads — an sqlc :exec query, whose
//     SQL begins "-- name: X :exec" — is queued too and goes with the next
//     statement that is read, or with COMMIT (commit), whichever comes
//     first; every other statement (:one, :many, :execrows) is sent at
//     once, with whatever is queued before it.
//
// The server runs a batch's statements in order and, after one fails,
// skips the rest up to the Sync, so a batch holding COMMIT commits only if
// every statement before it succeeded. The first failure (err) is sticky:
// the statement that sent the batch returns it (named after the queued
// statement that failed, the pgx error kept in the chain for Classify),
// every later statement returns it again, and commit returns it instead of
// committing. end rolls back whatever commit did not finish.
//
// A pipe is used by one goroutine, for one attempt of one transaction.
type pipe struct {
	conn *pgx.Conn
	tx   pgx.Tx // from the batch that began the transaction; nil before it is sent
	// batch holds the statements not yet sent: BEGIN first until the
	// first send, then the queued :exec statements. names names them, in
	// the same order, for errors.
	batch *pgx.Batch
	names []string
	rows  *pipeRows // the result of the latest read while it is open
	err   error
}

func newPipe(conn *pgx.Conn, opts pgx.TxOptions) *pipe {
	p := &pipe{conn: conn, batch: &pgx.Batch{}}
	p.batch.BeginTx(opts)
	p.names = append(p.names, "begin")
	return p
}

// queued reports whether sql is an sqlc :exec statement, which pipe sends
// later, and returns its name.
func queued(sql string) (name string, ok bool) {
	rest, ok := strings.CutPrefix(sql, "-- name: ")
	if !ok {
		return "", false
	}
	line, _, _ := strings.Cut(rest, "\n")
	name, kind, _ := strings.Cut(line, " ")
	return name, strings.TrimSpace(kind) == ":exec"
}

// fail records the transaction's first failure and returns it.
func (p *pipe) fail(err error) error {
	if p.err == nil {
		p.err = err
	}
	return p.err
}

// send sends the queued statements and then sql in one batch and reads
// the queued statements' results. On success the returned results are
// positioned at sql's result, which the caller reads and then closes the
// results; on failure they are already closed.
func (p *pipe) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.rows != nil { // sqlc closes its rows before the next statement; this is a guard
		p.rows.Close()
		if p.err != nil {
			return nil, p.err
		}
	}
	b, names := p.batch, p.names
	b.Queue(sql, args...)
	p.batch, p.names = &pgx.Batch{}, nil
	br := p.conn.SendBatch(ctx, b)
	if p.tx == nil {
		p.tx = br.Tx()
	}
	for _, name := range names {
		if _, err := br.Exec(); err != nil {
			_ = br.Close() // err is the batch's error
			return nil, p.fail(queuedFailed(name, err))
		}
	}
	return br, nil
}

// queuedFailed names the queued statement that failed. A unique violation
// of InsertProcess also wraps sqlkit.ErrRetry, as the adapter's CheckInsert
// does when the insert runs at once: a concurrent registration inserted the
// same new id after this transaction found none, and a fresh attempt finds
// its row.
func queuedFailed(name string, err error) error {
	err = fmt.Errorf("postgres: %s: %w", name, err)
	if name == "InsertProcess" && classify(err) == driver.ClassUniqueViolation {
		err = fmt.Errorf("%w: %w", sqlkit.ErrRetry, err)
	}
	return err
}

func (p *pipe) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if p.err != nil {
		return pgconn.CommandTag{}, p.err
	}
	if name, ok := queued(sql); ok {
		// args are held until the batch is sent: sqlc passes the row's
		// fields, strings and numbers, by value.
		p.batch.Queue(sql, args...)
		p.names = append(p.names, name)
		return pgconn.CommandTag{}, nil
	}
	br, err := p.send(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return tag, p.fail(err)
	}
	return tag, nil
}

func (p *pipe) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	br, err := p.send(ctx, sql, args)
	if err != nil {
		return failedRows{err}, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		err = p.fail(err)
		return failedRows{err}, err
	}
	p.rows = &pipeRows{Rows: rows, br: br, p: p}
	return p.rows, nil
}

func (p *pipe) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := p.Query(ctx, sql, args...)
	return pipeRow{rows: rows, err: err}
}

// commit sends what is still queued and COMMIT in one batch. A statement
// before COMMIT that the server refused (a PostgreSQL error) is a definite
// failure: the server skipped COMMIT. Any other failure — COMMIT's own, or
// the connection lost while the batch holding COMMIT was in flight — leaves
// the outcome unknown and wraps driver.ErrCommitFailed (sqlkit.CommitFailed),
// so that the write is not retried. A transaction that never sent a
// statement has nothing to commit and costs nothing.
func (p *pipe) commit(ctx context.Context) error {
	if p.rows != nil {
		p.rows.Close()
	}
	if p.err != nil {
		return p.err
	}
	if p.tx == nil && len(p.names) == 1 { // only BEGIN, never sent
		return nil
	}
	br, err := p.send(ctx, commitSQL, nil)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return err
		}
		return sqlkit.CommitFailed("postgres", err)
	}
	tag, err := br.Exec()
	// A failure after COMMIT's result (reading the Sync) changes nothing:
	// the transaction is committed, and pgx has closed the connection.
	_ = br.Close()
	if err != nil {
		return sqlkit.CommitFailed("postgres", p.fail(err))
	}
	if tag.String() == "ROLLBACK" {
		return sqlkit.CommitFailed("postgres", p.fail(pgx.ErrTxCommitRollback))
	}
	return nil
}

// end rolls back a transaction that commit did not end (fn failed or
// panicked, or commit failed), closing an open result first. A rollback
// that fails makes pgx close the connection, which the pool then drops;
// the server rolls back an interrupted transaction itself.
func (p *pipe) end(ctx context.Context) {
	if p.rows != nil {
		p.rows.Close()
	}
	if p.tx == nil || p.conn.IsClosed() || p.conn.PgConn().TxStatus() == 'I' {
		return
	}
	_ = p.tx.Rollback(ctx)
}

// pipeRows is the result of a read sent in a batch: closing it (or
// reading past its last row) closes the batch, and a failure of either
// becomes the transaction's.
type pipeRows struct {
	pgx.Rows
	br     pgx.BatchResults
	p      *pipe
	err    error
	closed bool
}

func (r *pipeRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *pipeRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	err := r.Rows.Err()
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.err = r.p.fail(err)
	}
	r.p.rows = nil
}

func (r *pipeRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.Rows.Err()
}

// pipeRow is pgx's QueryRow over pipeRows.
type pipeRow struct {
	rows pgx.Rows
	err  error
}

func (r pipeRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	_ = r.rows.Scan(dest...) // a failure is in Err
	r.rows.Close()
	return r.rows.Err()
}

// failedRows is the result of a read that could not be sent.
type failedRows struct{ err error }

func (r failedRows) Close()                                       {}
func (r failedRows) Err() error                                   { return r.err }
func (r failedRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (r failedRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (r failedRows) Next() bool                                   { return false }
func (r failedRows) Scan(...any) error                            { return r.err }
func (r failedRows) Values() ([]any, error)                       { return nil, r.err }
func (r failedRows) RawValues() [][]byte                          { return nil }
func (r failedRows) Conn() *pgx.Conn                              { return nil }
func (r failedRows) TypeMap() *pgtype.Map                         { return nil }
