package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/procreg/procreg"
)

// tripLog records the round trips a registry spends, each as the names of
// the statements it carried (the sqlc query name, or the first word of
// other SQL: begin, commit, rollback). A statement sent on its own is one
// round trip (pgx prepares a statement once per connection, not recorded,
// then executes it in one), and so is a batch, whatever it holds: pgx sends
// its statements in one pipeline ended by one Sync and then reads the
// results.
type tripLog struct {
	mu    sync.Mutex
	trips [][]string
}

var queryName = regexp.MustCompile(`^-- name: (\w+)`)

func statementName(sql string) string {
	if m := queryName.FindStringSubmatch(sql); m != nil {
		return m[1]
	}
	if f := strings.Fields(sql); len(f) > 0 {
		return strings.ToLower(f[0])
	}
	return sql
}

func (l *tripLog) add(names ...string) {
	l.mu.Lock()
	l.trips = append(l.trips, names)
	l.mu.Unlock()
}

func (l *tripLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.add(statementName(d.SQL))
	return ctx
}

func (l *tripLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (l *tripLog) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	var names []string
	for _, q := range d.Batch.QueuedQueries {
		names = append(names, statementName(q.SQL))
	}
	l.add(names...)
	return ctx
}

func (l *tripLog) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (l *tripLog) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// take returns and clears the log.
func (l *tripLog) take() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.trips
	l.trips = nil
	return out
}

// TestRoundTrips counts the round trips each method spends and holds them
// to the figures in the package doc (a read of one statement is one round
// trip, with no BEGIN or COMMIT; a transaction sends BEGIN with its first
// read and its writes with COMMIT), and holds AppendEvent to the issue's
// shape: the lock in one round trip, the writes and COMMIT in the next.
func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	log := &tripLog{}
	// One connection: every statement is warm after the first call.
	r := singleConnRegistry(t, ctx, log)

	n := 0
	fresh := func() string {
		n++
		id := fmt.Sprintf("rt-%d", n)
		if _, err := r.RegisterProcess(ctx, procreg.Registration{
			ID: id, Input: procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{}`)},
			Disposition: procreg.DispositionRerunnable, EnvRef: "env",
			WakeTarget: &procreg.SessionScope{SessionID: "s"},
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	owner := procreg.LeaseOwner{OwnerID: "w", IncarnationID: "w-1"}
	scope := procreg.SessionScope{SessionID: "s"}
	payload := json.RawMessage(`{"x":1}`)
	var lease procreg.Lease
	ops := []struct {
		name string
		want int // round trips on a warm connection: the package doc's table
		run  func(id string) error
	}{
		{"RegisterProcess", 2, func(string) error { fresh(); return nil }},
		{"AppendEvent", 2, func(id string) error {
			_, err := r.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.waiting", Payload: payload})
			return err
		}},
		{"AppendEvent+replay key", 3, func(id string) error {
			_, err := r.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.waiting", Payload: payload, ReplayKey: "k"})
			return err
		}},
		{"CompleteProcess", 3, func(id string) error {
			_, err := r.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: payload})
			return err
		}},
		{"ClaimProcessLease", 2, func(id string) error {
			c, err := r.ClaimProcessLease(ctx, id, owner, time.Minute)
			lease = c.Lease
			return err
		}},
		{"RenewProcessLease", 2, func(id string) error {
			if _, err := r.ClaimProcessLease(ctx, id, owner, time.Minute); err != nil {
				return err
			}
			log.take()
			_, err := r.RenewProcessLease(ctx, lease, time.Minute)
			return err
		}},
		{"CompleteProcessLease", 2, func(id string) error {
			c, err := r.ClaimProcessLease(ctx, id, owner, time.Minute)
			if err != nil {
				return err
			}
			log.take()
			return r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: id, Token: c.Lease.Token})
		}},
		{"SetProcessWait", 2, func(id string) error {
			_, err := r.SetProcessWait(ctx, id, procreg.WaitState{Kind: "signal", Name: "n"})
			return err
		}},
		{"GrantHandle", 2, func(id string) error {
			_, err := r.GrantHandle(ctx, scope, id, procreg.HandleDescriptor{Kind: "k"})
			return err
		}},
		{"HasHandleGrant", 1, func(id string) error { _, err := r.HasHandleGrant(ctx, scope, id); return err }},
		{"ListHandleGrants", 1, func(string) error { _, err := r.ListHandleGrants(ctx, scope); return err }},
		{"GetProcess", 1, func(id string) error { _, err := r.GetProcess(ctx, id); return err }},
		{"GetProcessLease", 1, func(id string) error { _, err := r.GetProcessLease(ctx, id); return err }},
		{"ListNonTerminal", 1, func(string) error { _, err := r.ListNonTerminal(ctx); return err }},
		{"EventsAfter", 1, func(id string) error { _, err := r.EventsAfter(ctx, id, 0); return err }},
		// A read that finds nothing checks that the process exists, in one
		// snapshot with the query run again.
		{"EventsAfter (none after)", 4, func(id string) error { _, err := r.EventsAfter(ctx, id, 1); return err }},
		{"RecentEvents", 1, func(id string) error { _, err := r.RecentEvents(ctx, id, 5); return err }},
		{"AckWake", 2, func(id string) error { return r.AckWake(ctx, id, 1) }},
		{"WakeEventsAfter (none)", 4, func(id string) error { _, err := r.WakeEventsAfter(ctx, id, 0); return err }},
		{"CountEventsThrough", 1, func(id string) error {
			_, err := r.CountEventsThrough(ctx, id, "process.resumed", 10)
			return err
		}},
		{"SetExternalRef", 2, func(id string) error {
			_, err := r.SetExternalRef(ctx, id, procreg.ExternalRef{Backend: "b", ID: "x"})
			return err
		}},
		{"RecordFirstStarted", 2, func(id string) error {
			_, err := r.RecordFirstStarted(ctx, id, procreg.Started{Owner: owner, At: time.Now()})
			return err
		}},
		{"RequestProcessAbandon", 2, func(id string) error {
			_, err := r.RequestProcessAbandon(ctx, id, procreg.AbandonRequest{RequestedBy: "u", RequestedAt: time.Now()})
			return err
		}},
		{"ClearProcessWait", 2, func(id string) error { _, err := r.ClearProcessWait(ctx, id); return err }},
		{"ListProcesses", 1, func(string) error { _, err := r.ListProcesses(ctx, procreg.ListFilter{}); return err }},
		{"ReclaimProcessLease", 2, func(id string) error {
			_, err := r.ReclaimProcessLease(ctx, id, owner, procreg.Lease{}, time.Minute)
			return err
		}},
		{"RevokeHandle", 2, func(id string) error { return r.RevokeHandle(ctx, scope, id) }},
		{"ListLiveHandleGrants", 1, func(string) error { _, err := r.ListLiveHandleGrants(ctx, scope); return err }},
		{"HandleGrantsForProcess (none)", 4, func(id string) error { _, err := r.HandleGrantsForProcess(ctx, id); return err }},
		{"HandleGrantsForProcess", 1, func(id string) error {
			if _, err := r.GrantHandle(ctx, scope, id, procreg.HandleDescriptor{Kind: "k"}); err != nil {
				return err
			}
			log.take()
			_, err := r.HandleGrantsForProcess(ctx, id)
			return err
		}},
		{"TransferHandleGrants(1)", 3, func(id string) error {
			if _, err := r.GrantHandle(ctx, scope, id, procreg.HandleDescriptor{Kind: "k"}); err != nil {
				return err
			}
			log.take()
			return r.TransferHandleGrants(ctx, scope, procreg.SessionScope{SessionID: "t"}, []string{id})
		}},
		{"DeleteSessionProcessState", 4, func(id string) error {
			_, err := r.DeleteSessionProcessState(ctx, "nobody")
			return err
		}},
		{"PruneTerminalProcesses", 2, func(string) error {
			_, err := r.PruneTerminalProcesses(ctx, time.Unix(0, 0))
			return err
		}},
		// The fenced writes cost what the plain ones do: the lease clock is
		// read by the same LockProcess statement.
		{"AppendEventWithLease", 2, func(id string) error {
			c, err := r.ClaimProcessLease(ctx, id, owner, time.Minute)
			if err != nil {
				return err
			}
			log.take()
			_, err = r.AppendEventWithLease(ctx, c.Lease, procreg.AppendRequest{EventType: "process.waiting", Payload: payload})
			return err
		}},
		{"CompleteProcessWithLease", 3, func(id string) error {
			c, err := r.ClaimProcessLease(ctx, id, owner, time.Minute)
			if err != nil {
				return err
			}
			log.take()
			_, err = r.CompleteProcessWithLease(ctx, c.Lease, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: payload})
			return err
		}},
	}
	for _, op := range ops {
		var counts []int
		for range 2 { // the first call warms the connection's statement cache
			id := fresh()
			if _, err := r.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.resumed", Payload: payload}); err != nil {
				t.Fatal(err)
			}
			log.take()
			if err := op.run(id); err != nil {
				t.Fatalf("%s: %v", op.name, err)
			}
			trips := log.take()
			counts = append(counts, len(trips))
			if testing.Verbose() && len(counts) == 2 {
				t.Logf("%s: %v", op.name, trips)
			}
		}
		t.Logf("%-30s %d round trips", op.name, counts[1])
		if counts[1] != op.want {
			t.Errorf("%s: %d round trips, want %d", op.name, counts[1], op.want)
		}
	}
	// The shape of the issue: the lock (and reads) in one round trip, the
	// writes and COMMIT in the next.
	for _, c := range []struct{ key, want string }{
		{"", "[[begin LockProcess] [InsertEvent UpdateProcess commit]]"},
		{"k2", "[[begin LockProcess] [EventByReplayKey] [InsertEvent UpdateProcess commit]]"},
	} {
		id := fresh()
		log.take()
		if _, err := r.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.waiting", Payload: payload, ReplayKey: c.key}); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(log.take()); got != c.want {
			t.Errorf("AppendEvent (replay key %q) sent %s; want %s", c.key, got, c.want)
		}
	}
}
