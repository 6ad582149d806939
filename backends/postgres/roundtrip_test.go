package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/servertest"
)

// tripTracer records a registry's round trips from pgx's tracers: a
// statement sent on its own is one (pgx prepares a statement once per
// connection, not recorded, then executes it in one), and so is a batch,
// whatever it holds: pgx sends its statements in one pipeline ended by one
// Sync and then reads the results.
type tripTracer struct{ *servertest.Trips }

func (l tripTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.Add(servertest.StatementName(d.SQL))
	return ctx
}

func (l tripTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (l tripTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	var names []string
	for _, q := range d.Batch.QueuedQueries {
		names = append(names, servertest.StatementName(q.SQL))
	}
	l.Add(names...)
	return ctx
}

func (l tripTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (l tripTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestRoundTrips counts the round trips each method spends and holds them
// to the figures in the package doc (a read of one statement is one round
// trip, with no BEGIN or COMMIT; a transaction sends BEGIN with its first
// read and its writes with COMMIT), and holds AppendEvent to the issue's
// shape: the lock in one round trip, the writes and COMMIT in the next.
func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	trips := &servertest.Trips{}
	// One connection: every statement is warm after the first call.
	r := singleConnRegistry(t, ctx, tripTracer{trips})
	got := servertest.RoundTrips(t, r, trips, map[string]int{
		"RegisterProcess":               2,
		"AppendEvent":                   2,
		"AppendEvent+replay key":        3,
		"CompleteProcess":               3,
		"ClaimProcessLease":             2,
		"RenewProcessLease":             2,
		"CompleteProcessLease":          2,
		"SetProcessWait":                2,
		"GrantHandle":                   2,
		"HasHandleGrant":                1,
		"ListHandleGrants":              1,
		"GetProcess":                    1,
		"GetProcessLease":               1,
		"ListNonTerminal":               1,
		"EventsAfter":                   1,
		"EventsAfter (none after)":      4,
		"RecentEvents":                  1,
		"AckWake":                       2,
		"WakeEventsAfter (none)":        4,
		"CountEventsThrough":            1,
		"SetExternalRef":                2,
		"RecordFirstStarted":            2,
		"RequestProcessAbandon":         2,
		"ClearProcessWait":              2,
		"ListProcesses":                 1,
		"ReclaimProcessLease":           2,
		"RevokeHandle":                  2,
		"ListLiveHandleGrants":          1,
		"HandleGrantsForProcess (none)": 4,
		"HandleGrantsForProcess":        1,
		"TransferHandleGrants(1)":       3,
		"DeleteSessionProcessState":     4,
		"PruneTerminalProcesses":        2,
		"AppendEventWithLease":          2,
		"CompleteProcessWithLease":      3,
		"RegisterProcesses(10)":         2,
		"ClaimNext(10)":                 2,
	})
	// The shape of the issue: the lock (and reads) in one round trip, the
	// writes and COMMIT in the next.
	for name, want := range map[string]string{
		"AppendEvent":            "[[begin LockProcess] [InsertEvent UpdateProcess commit]]",
		"AppendEvent+replay key": "[[begin LockProcess] [EventByReplayKey] [InsertEvent UpdateProcess commit]]",
		"ClaimProcessLease":      "[[begin LockProcess] [UpdateProcessLease commit]]",
		"EventsAfter":            "[[EventsAfter]]",
	} {
		if s := fmt.Sprint(got[name]); s != want {
			t.Errorf("%s sent %s; want %s", name, s, want)
		}
	}
	// Registering a process again (the same spec) writes nothing:
	// [BEGIN, LockProcess] [COMMIT].
	trips.Take()
	if _, err := r.RegisterProcess(ctx, procreg.Registration{
		ID: "rt-1", Input: procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{}`)},
		Disposition: procreg.DispositionRerunnable, EnvRef: "env",
		WakeTarget: &procreg.SessionScope{SessionID: "s"},
	}); err != nil {
		t.Fatal(err)
	}
	if s, want := fmt.Sprint(trips.Take()), "[[begin LockProcess] [commit]]"; s != want {
		t.Errorf("RegisterProcess again sent %s; want %s", s, want)
	}
}
