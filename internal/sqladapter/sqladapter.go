// Package sqladapter is the one adapter from sqlc-generated queries to
// driver.Tx, shared by every SQL backend (SQLite, PostgreSQL, MySQL).
//
// sqlc generates, per dialect, a Queries type with the same method names and
// model/parameter structs of the same shape (same field names, types and
// order as the store rows) but distinct Go types. Bind is generic over those
// types, so each backend instantiates it with its gen package's types and
// holds no per-method or per-field mapping code of its own: every model
// converts to its store row by a plain type conversion, and every parameter
// struct is built by converting an anonymous struct of the same shape.
//
// What differs between dialects stays in the backend: its Dialect (error
// codes, which clock decides leases) and its Store's transactions (pgx for
// PostgreSQL; database/sql through InTx for MySQL and SQLite, where SQLite
// adds a single BEGIN IMMEDIATE writer and a read-only pool). Retry and
// NewRegistry are the shared pieces of those stores and constructors.
package sqladapter

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/sqlstore"
)

// The shapes of the generated models; they mirror driver.ProcessRow, EventRow
// and GrantRow field for field (the schema lists the columns in that order).
type (
	processShape = struct {
		ID                    string
		RegistrationHash      string
		Disposition           string
		InputKind             string
		IdentityKind          string
		DefinitionFingerprint string
		Spec                  string
		WakeTargetSession     string
		WakeTargetFrame       string
		CreatedAtMs           int64
		UpdatedAtMs           int64
		Status                string
		AwaitOutput           string
		ExternalRefBackend    string
		ExternalRefID         string
		ExternalRefMetadata   string
		FirstStartedOwner     string
		FirstStartedAtMs      int64
		AbandonRequested      bool
		AbandonRequestedBy    string
		AbandonRequestedAtMs  int64
		AbandonReason         string
		Waiting               bool
		WaitKind              string
		WaitName              string
		WaitEventType         string
		WaitKey               string
		WaitOrdinal           int64
		WaitSinceMs           int64
		LastSequence          int64
		LeaseToken            string
		LeaseOwner            string
		LeaseOwnerID          string
		LeaseIncarnationID    string
		LeaseFencingToken     int64
		LeaseClaimedAtMs      int64
		LeaseExpiresAtMs      int64
	}
	eventShape = struct {
		ProcessID         string
		Sequence          int64
		EventType         string
		Payload           string
		ReplayKey         string
		TerminalState     string
		AwaitOutput       string
		HasWake           bool
		WakeInput         string
		WakeDedupeKey     string
		WakeTargetSession string
		WakeTargetFrame   string
		OccurredAtMs      int64
	}
	grantShape = struct {
		ScopeID         string
		ProcessID       string
		SessionID       string
		DescriptorKind  string
		DescriptorLabel string
	}
	processSeq = struct {
		ProcessID     string
		AfterSequence int64
	}
	processKey = struct{ ProcessID, ReplayKey string }
	processAck = struct {
		ProcessID string
		Sequence  int64
	}
	scopeProc   = struct{ ScopeID, ProcessID string }
	countParams = struct {
		ProcessID    string
		EventType    string
		UpToSequence int64
	}
	statusWaiting = struct {
		Status  string
		Waiting bool
	}
	defStatus  = struct{ DefinitionFingerprint, Status string }
	defWaiting = struct {
		DefinitionFingerprint string
		Waiting               bool
	}
	defStatusWaiting = struct {
		DefinitionFingerprint string
		Status                string
		Waiting               bool
	}
)

// Constraints naming those shapes, for the type parameters of Queries.
type (
	// ProcessShaped is a processes model or a parameter struct listing every
	// processes column.
	ProcessShaped interface{ ~processShape }
	// UpdateShaped is UpdateProcessParams: the mutable columns, then the key.
	UpdateShaped interface{ ~sqlstore.ProcessUpdate }
	// EventShaped is an events model or InsertEventParams.
	EventShaped interface{ ~eventShape }
	// GrantShaped is a grants model or UpsertGrantParams.
	GrantShaped interface{ ~grantShape }
	// ProcessSeq is EventsAfterParams / WakeEventsAfterParams.
	ProcessSeq interface{ ~processSeq }
	// ProcessKey is EventByReplayKeyParams.
	ProcessKey interface{ ~processKey }
	// ProcessAck is InsertWakeAckParams.
	ProcessAck interface{ ~processAck }
	// ScopeProc is GetGrantParams / DeleteGrantParams.
	ScopeProc interface{ ~scopeProc }
	// CountParams is CountEventsThroughParams.
	CountParams interface{ ~countParams }
	// StatusWaiting is ListProcessesByStatusWaitingParams.
	StatusWaiting interface{ ~statusWaiting }
	// DefStatus is ListProcessesByDefinitionStatusParams.
	DefStatus interface{ ~defStatus }
	// DefWaiting is ListProcessesByDefinitionWaitingParams.
	DefWaiting interface{ ~defWaiting }
	// DefStatusWaiting is ListProcessesByDefinitionStatusWaitingParams.
	DefStatusWaiting interface{ ~defStatusWaiting }
	// RowLimit is the integer type sqlc gives a LIMIT parameter: int32 on
	// PostgreSQL and MySQL, int64 on SQLite.
	RowLimit interface{ ~int32 | ~int64 }
	// RecentParams is RecentEventsDescParams.
	RecentParams[N RowLimit] interface {
		~struct {
			ProcessID string
			RowLimit  N
		}
	}
	// PruneParams is PruneCandidatesParams.
	PruneParams[N RowLimit] interface {
		~struct {
			CutoffMs int64
			RowLimit N
		}
	}
	// LockShaped is LockProcessRow: the locked row and the database clock.
	LockShaped[P any] interface {
		~struct {
			Process P
			NowMs   int64
		}
	}
	// ScopeRowShaped is ListGrantsByScopeRow: a grant and its process.
	ScopeRowShaped[G, P any] interface {
		~struct {
			Grant   G
			Process P
		}
	}
)

// Queries is the method set of a dialect's generated *Queries. The type
// parameters are that gen package's models and parameter structs:
//
//	P  Process, E Event, G Grant, L LockProcessRow, S ListGrantsByScopeRow,
//	IP InsertProcessParams, UP UpdateProcessParams, IE InsertEventParams,
//	UG UpsertGrantParams, RK EventByReplayKeyParams, EA EventsAfterParams,
//	WA WakeEventsAfterParams, CE CountEventsThroughParams,
//	RE RecentEventsDescParams, AK InsertWakeAckParams, GG GetGrantParams,
//	DG DeleteGrantParams, PC PruneCandidatesParams,
//	SW, DS, DW, DSW the ListProcessesBy{StatusWaiting, DefinitionStatus,
//	DefinitionWaiting, DefinitionStatusWaiting}Params.
//
// Bind takes two more type arguments: N, the integer type of the LIMIT
// parameters (RowLimit), and Q, the *Queries itself.
type Queries[P, E, G, L, S, IP, UP, IE, UG, RK, EA, WA, CE, RE, AK, GG, DG, PC, SW, DS, DW, DSW any] interface {
	DatabaseNowMs(ctx context.Context) (int64, error)
	GetProcess(ctx context.Context, id string) (P, error)
	LockProcess(ctx context.Context, id string) (L, error)
	InsertProcess(ctx context.Context, arg IP) error
	UpdateProcess(ctx context.Context, arg UP) (int64, error)
	ListProcessesAll(ctx context.Context) ([]P, error)
	ListProcessesByStatus(ctx context.Context, status string) ([]P, error)
	ListProcessesByStatusWaiting(ctx context.Context, arg SW) ([]P, error)
	ListProcessesByWaiting(ctx context.Context, waiting bool) ([]P, error)
	ListProcessesByDefinition(ctx context.Context, definitionFingerprint string) ([]P, error)
	ListProcessesByDefinitionStatus(ctx context.Context, arg DS) ([]P, error)
	ListProcessesByDefinitionWaiting(ctx context.Context, arg DW) ([]P, error)
	ListProcessesByDefinitionStatusWaiting(ctx context.Context, arg DSW) ([]P, error)
	ListProcessesByWakeTargetSession(ctx context.Context, wakeTargetSession string) ([]P, error)
	InsertEvent(ctx context.Context, arg IE) error
	EventByReplayKey(ctx context.Context, arg RK) (E, error)
	EventsAfter(ctx context.Context, arg EA) ([]E, error)
	WakeEventsAfter(ctx context.Context, arg WA) ([]E, error)
	CountEventsThrough(ctx context.Context, arg CE) (int64, error)
	RecentEventsDesc(ctx context.Context, arg RE) ([]E, error)
	InsertWakeAck(ctx context.Context, arg AK) error
	GetGrant(ctx context.Context, arg GG) (G, error)
	UpsertGrant(ctx context.Context, arg UG) error
	DeleteGrant(ctx context.Context, arg DG) error
	ListGrantsByScope(ctx context.Context, scopeID string) ([]S, error)
	ListGrantsByProcess(ctx context.Context, processID string) ([]G, error)
	ListGrantsBySession(ctx context.Context, sessionID string) ([]G, error)
	DeleteGrantsBySession(ctx context.Context, sessionID string) (int64, error)
	CountGrantsForProcess(ctx context.Context, processID string) (int64, error)
	PruneCandidates(ctx context.Context, arg PC) ([]string, error)
	DeleteEventsOf(ctx context.Context, ids []string) (int64, error)
	DeleteWakeAcksOf(ctx context.Context, ids []string) (int64, error)
	DeleteGrantsOf(ctx context.Context, ids []string) (int64, error)
	DeleteProcessesIn(ctx context.Context, ids []string) (int64, error)
}

// Dialect classifies a driver's errors and says which clock decides leases.
type Dialect struct {
	// Name prefixes error messages ("postgres", "mysql", "sqlite").
	Name string
	// LeaseClock, when set, decides leases instead of the database clock
	// (SQLite: an embedded file has no shared server clock, so the backend's
	// injected clock is the only one every caller agrees on). Nil means the
	// database clock, read by LockProcess.
	LeaseClock func() time.Time
	// IsNoRows reports a :one query that found nothing.
	IsNoRows func(error) bool
	// IsUniqueViolation reports a duplicate primary or unique key.
	IsUniqueViolation func(error) bool
}

// ErrRetry marks a conflict that the transaction cannot resolve but a fresh
// attempt can: two transactions inserting the same new process both found
// no row under READ COMMITTED, and the loser hit the key of the winner. On
// retry it finds the winner's row. Store.Write implementations retry it.
var ErrRetry = errors.New("transient conflict, retry the transaction")

// Adapter is the shared driver.Tx implementation bound to one dialect's
// generated code; Q is that gen package's *Queries. Bind builds it once per
// backend (or store), and Tx wraps each transaction's queries, so a
// transaction costs one small allocation, not a closure per statement.
type Adapter[Q any] struct {
	d   *Dialect
	ops ops[Q]
}

// Tx adapts one transaction's generated queries to driver.Tx.
func (a *Adapter[Q]) Tx(q Q) driver.Tx { return &tx[Q]{d: a.d, ops: &a.ops, q: q} }

// Bind instantiates the adapter for a dialect: the type arguments are its
// gen package's models and parameter structs (see Queries), N the integer
// type sqlc gives LIMIT parameters, and Q its *Queries.
func Bind[
	P ProcessShaped, E EventShaped, G GrantShaped, L LockShaped[P], S ScopeRowShaped[G, P],
	IP ProcessShaped, UP UpdateShaped, IE EventShaped, UG GrantShaped, RK ProcessKey, EA, WA ProcessSeq,
	CE CountParams, RE RecentParams[N], AK ProcessAck, GG, DG ScopeProc, PC PruneParams[N],
	SW StatusWaiting, DS DefStatus, DW DefWaiting, DSW DefStatusWaiting, N RowLimit,
	Q Queries[P, E, G, L, S, IP, UP, IE, UG, RK, EA, WA, CE, RE, AK, GG, DG, PC, SW, DS, DW, DSW],
](d *Dialect) *Adapter[Q] {
	procs := convertAll(func(m P) driver.ProcessRow { return driver.ProcessRow(m) })
	events := convertAll(func(m E) driver.EventRow { return driver.EventRow(m) })
	grants := convertAll(func(m G) driver.GrantRow { return driver.GrantRow(m) })
	return &Adapter[Q]{d: d, ops: ops[Q]{
		databaseNowMs: func(q Q, ctx context.Context) (int64, error) { return q.DatabaseNowMs(ctx) },
		getProcess: func(q Q, ctx context.Context, id string) (driver.ProcessRow, error) {
			p, err := q.GetProcess(ctx, id)
			return driver.ProcessRow(p), err
		},
		lockProcess: func(q Q, ctx context.Context, id string) (driver.ProcessRow, int64, error) {
			l, err := q.LockProcess(ctx, id)
			row := struct {
				Process P
				NowMs   int64
			}(l)
			return driver.ProcessRow(row.Process), row.NowMs, err
		},
		insertProcess: func(q Q, ctx context.Context, r driver.ProcessRow) error { return q.InsertProcess(ctx, IP(r)) },
		updateProcess: func(q Q, ctx context.Context, r driver.ProcessRow) error {
			// The affected-row count is not checked: MySQL reports 0 for an
			// update that changes nothing, and the row is locked anyway.
			_, err := q.UpdateProcess(ctx, UP(sqlstore.UpdateOf(r)))
			return err
		},
		lister: func(q Q) sqlstore.Lister[driver.ProcessRow] {
			return sqlstore.Lister[driver.ProcessRow]{
				All: func(ctx context.Context) ([]driver.ProcessRow, error) { return procs(q.ListProcessesAll(ctx)) },
				ByStatus: func(ctx context.Context, s string) ([]driver.ProcessRow, error) {
					return procs(q.ListProcessesByStatus(ctx, s))
				},
				ByStatusWaiting: func(ctx context.Context, s string, w bool) ([]driver.ProcessRow, error) {
					return procs(q.ListProcessesByStatusWaiting(ctx, SW(statusWaiting{s, w})))
				},
				ByWaiting: func(ctx context.Context, w bool) ([]driver.ProcessRow, error) {
					return procs(q.ListProcessesByWaiting(ctx, w))
				},
				ByDefinition: func(ctx context.Context, f string) ([]driver.ProcessRow, error) {
					return procs(q.ListProcessesByDefinition(ctx, f))
				},
				ByDefinitionStatus: func(ctx context.Context, f, s string) ([]driver.ProcessRow, error) {
					return procs(q.ListProcessesByDefinitionStatus(ctx, DS(defStatus{f, s})))
				},
				ByDefinitionWaiting: func(ctx context.Context, f string, w bool) ([]driver.ProcessRow, error) {
					return procs(q.ListProcessesByDefinitionWaiting(ctx, DW(defWaiting{f, w})))
				},
				ByDefinitionStatusWait: func(ctx context.Context, f, s string, w bool) ([]driver.ProcessRow, error) {
					return procs(q.ListProcessesByDefinitionStatusWaiting(ctx, DSW(defStatusWaiting{f, s, w})))
				},
			}
		},
		listByWakeTargetSession: func(q Q, ctx context.Context, s string) ([]driver.ProcessRow, error) {
			return procs(q.ListProcessesByWakeTargetSession(ctx, s))
		},
		insertEvent: func(q Q, ctx context.Context, r driver.EventRow) error { return q.InsertEvent(ctx, IE(r)) },
		eventByReplayKey: func(q Q, ctx context.Context, id, key string) (driver.EventRow, error) {
			e, err := q.EventByReplayKey(ctx, RK(processKey{id, key}))
			return driver.EventRow(e), err
		},
		eventsAfter: func(q Q, ctx context.Context, id string, after int64) ([]driver.EventRow, error) {
			return events(q.EventsAfter(ctx, EA(processSeq{id, after})))
		},
		wakeEventsAfter: func(q Q, ctx context.Context, id string, after int64) ([]driver.EventRow, error) {
			return events(q.WakeEventsAfter(ctx, WA(processSeq{id, after})))
		},
		countEventsThrough: func(q Q, ctx context.Context, id, typ string, upTo int64) (int64, error) {
			return q.CountEventsThrough(ctx, CE(countParams{id, typ, upTo}))
		},
		recentEventsDesc: func(q Q, ctx context.Context, id string, limit int32) ([]driver.EventRow, error) {
			return events(q.RecentEventsDesc(ctx, RE(struct {
				ProcessID string
				RowLimit  N
			}{id, N(limit)})))
		},
		insertWakeAck: func(q Q, ctx context.Context, id string, seq int64) error {
			return q.InsertWakeAck(ctx, AK(processAck{id, seq}))
		},
		getGrant: func(q Q, ctx context.Context, scope, id string) (driver.GrantRow, error) {
			g, err := q.GetGrant(ctx, GG(scopeProc{scope, id}))
			return driver.GrantRow(g), err
		},
		upsertGrant: func(q Q, ctx context.Context, r driver.GrantRow) error { return q.UpsertGrant(ctx, UG(r)) },
		deleteGrant: func(q Q, ctx context.Context, scope, id string) error {
			return q.DeleteGrant(ctx, DG(scopeProc{scope, id}))
		},
		listGrantsByScope: func(q Q, ctx context.Context, scope string) ([]driver.GrantEntryRow, error) {
			rows, err := q.ListGrantsByScope(ctx, scope)
			if err != nil {
				return nil, err
			}
			out := make([]driver.GrantEntryRow, len(rows))
			for i, r := range rows {
				e := struct {
					Grant   G
					Process P
				}(r)
				out[i] = driver.GrantEntryRow{Grant: driver.GrantRow(e.Grant), Process: driver.ProcessRow(e.Process)}
			}
			return out, nil
		},
		listGrantsByProcess: func(q Q, ctx context.Context, id string) ([]driver.GrantRow, error) {
			return grants(q.ListGrantsByProcess(ctx, id))
		},
		listGrantsBySession: func(q Q, ctx context.Context, s string) ([]driver.GrantRow, error) {
			return grants(q.ListGrantsBySession(ctx, s))
		},
		deleteGrantsBySession: func(q Q, ctx context.Context, s string) (int64, error) {
			return q.DeleteGrantsBySession(ctx, s)
		},
		countGrantsForProcess: func(q Q, ctx context.Context, id string) (int64, error) {
			return q.CountGrantsForProcess(ctx, id)
		},
		pruner: func(q Q) sqlstore.Pruner {
			return sqlstore.Pruner{
				Candidates: func(ctx context.Context, cutoffMs int64, limit int) ([]string, error) {
					// A LIMIT beyond int32 selects every candidate anyway.
					return q.PruneCandidates(ctx, PC(struct {
						CutoffMs int64
						RowLimit N
					}{cutoffMs, N(min(limit, math.MaxInt32))}))
				},
				DeleteEvents:    q.DeleteEventsOf,
				DeleteWakeAcks:  q.DeleteWakeAcksOf,
				DeleteGrants:    q.DeleteGrantsOf,
				DeleteProcesses: q.DeleteProcessesIn,
			}
		},
	}}
}

// convertAll lifts a model-to-row conversion to a query's list result.
func convertAll[M, R any](conv func(M) R) func([]M, error) ([]R, error) {
	return func(rows []M, err error) ([]R, error) { return sqlstore.Map(rows, conv), err }
}
