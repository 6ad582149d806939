package driver

import "context"

// FloorOp names one of a Floor's three operations.
type FloorOp string

// The floor's operations.
const (
	// FloorInsert is one single-row INSERT in a transaction of its own.
	FloorInsert FloorOp = "insert"
	// FloorUpdate is one single-row UPDATE by primary key in a
	// transaction of its own.
	FloorUpdate FloorOp = "update"
	// FloorSelect is one primary-key SELECT, without a transaction.
	FloorSelect FloorOp = "select"
)

// FloorTable is the scratch table a Floor writes: procreg_bench_floor
// (id text primary key, n integer, body text), created when missing.
const FloorTable = "procreg_bench_floor"

// A Floor is the database under a dialect with nothing of procreg's in
// between: the bare driver, opened with the connection settings the
// dialect's Open uses (pool size, pragmas, synchronous setting, session
// variables), working on the scratch table FloorTable. `procreg bench`
// measures it in the same run as the registry and prints each registry
// operation's throughput as a ratio of the matching floor operation.
//
// A Floor is safe for concurrent use. Its statements are the backend's
// own SQL (backends/<dialect>/floor/*.sql), and its transactions begin the
// way the backend's write transactions begin (SQLite: BEGIN IMMEDIATE).
type Floor interface {
	// Prepare creates FloorTable when it is missing and inserts the rows
	// ids (for Update and Select), each in a transaction of its own.
	Prepare(ctx context.Context, ids []string) error
	// Insert inserts the row id: one single-row INSERT, committed.
	Insert(ctx context.Context, id string) error
	// Update changes the row id (its counter and body): one single-row
	// UPDATE by primary key, committed.
	Update(ctx context.Context, id string) error
	// Select reads the row id by its primary key: one statement, no
	// transaction.
	Select(ctx context.Context, id string) error
	// Cleanup deletes every row whose id starts with prefix (letters,
	// digits and '-' only). The table stays: another run may be using it.
	Cleanup(ctx context.Context, prefix string) error
	// AppendFloor is the floor an event append is compared with:
	// FloorUpdate where an append locks and updates its process row next
	// to the event's insert (the servers), FloorInsert where every write
	// transaction holds the database's one write lock anyway and an
	// append's own work is its insert (SQLite).
	AppendFloor() FloorOp
	// Close closes the Floor's connections (not the table).
	Close() error
}

// FloorFunc opens the Floor of the database a DSN names (the whole DSN,
// scheme included, as Dialect.Open takes it). It creates no database and
// runs no migration; a DSN the dialect cannot parse is procreg.ErrInvalid,
// and errors must not echo a password the DSN may hold.
type FloorFunc func(ctx context.Context, dsn string) (Floor, error)
