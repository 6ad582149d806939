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

// statementLog records the statements a registry sends, by sqlc query name
// (or the SQL text for BEGIN/COMMIT). Each is one round trip: pgx prepares a
// statement once per connection (not recorded) and then executes it in one.
type statementLog struct {
	mu    sync.Mutex
	names []string
}

var queryName = regexp.MustCompile(`^-- name: (\w+)`)

func (l *statementLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	name := strings.TrimSpace(d.SQL)
	if m := queryName.FindStringSubmatch(name); m != nil {
		name = m[1]
	}
	l.mu.Lock()
	l.names = append(l.names, name)
	l.mu.Unlock()
	return ctx
}

func (l *statementLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take returns and clears the log.
func (l *statementLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.names
	l.names = nil
	return out
}

// TestRoundTrips counts the statements each method sends and holds them to
// the figures in the package doc (a read of one statement is one round trip,
// with no BEGIN or COMMIT), and holds AppendEvent to the bound: one
// transaction with at most four statements.
func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	log := &statementLog{}
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
		{"RegisterProcess", 4, func(string) error { fresh(); return nil }},
		{"AppendEvent", 5, func(id string) error {
			_, err := r.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.waiting", Payload: payload})
			return err
		}},
		{"AppendEvent+replay key", 6, func(id string) error {
			_, err := r.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.waiting", Payload: payload, ReplayKey: "k"})
			return err
		}},
		{"CompleteProcess", 6, func(id string) error {
			_, err := r.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: payload})
			return err
		}},
		{"ClaimProcessLease", 4, func(id string) error {
			c, err := r.ClaimProcessLease(ctx, id, owner, time.Minute)
			lease = c.Lease
			return err
		}},
		{"RenewProcessLease", 4, func(id string) error {
			if _, err := r.ClaimProcessLease(ctx, id, owner, time.Minute); err != nil {
				return err
			}
			log.take()
			_, err := r.RenewProcessLease(ctx, lease, time.Minute)
			return err
		}},
		{"CompleteProcessLease", 4, func(id string) error {
			c, err := r.ClaimProcessLease(ctx, id, owner, time.Minute)
			if err != nil {
				return err
			}
			log.take()
			return r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: id, Token: c.Lease.Token})
		}},
		{"SetProcessWait", 4, func(id string) error {
			_, err := r.SetProcessWait(ctx, id, procreg.WaitState{Kind: "signal", Name: "n"})
			return err
		}},
		{"GrantHandle", 4, func(id string) error {
			_, err := r.GrantHandle(ctx, scope, id, procreg.HandleDescriptor{Kind: "k"})
			return err
		}},
		{"HasHandleGrant", 1, func(id string) error { _, err := r.HasHandleGrant(ctx, scope, id); return err }},
		{"ListHandleGrants", 1, func(string) error { _, err := r.ListHandleGrants(ctx, scope); return err }},
		{"GetProcess", 1, func(id string) error { _, err := r.GetProcess(ctx, id); return err }},
		{"GetProcessLease", 1, func(id string) error { _, err := r.GetProcessLease(ctx, id); return err }},
		{"ListNonTerminal", 1, func(string) error { _, err := r.ListNonTerminal(ctx); return err }},
		{"EventsAfter", 4, func(id string) error { _, err := r.EventsAfter(ctx, id, 0); return err }},
		{"RecentEvents", 4, func(id string) error { _, err := r.RecentEvents(ctx, id, 5); return err }},
		{"AckWake", 4, func(id string) error { return r.AckWake(ctx, id, 1) }},
		{"WakeEventsAfter", 4, func(id string) error { _, err := r.WakeEventsAfter(ctx, id, 0); return err }},
		{"CountEventsThrough", 4, func(id string) error {
			_, err := r.CountEventsThrough(ctx, id, "process.resumed", 10)
			return err
		}},
		{"SetExternalRef", 4, func(id string) error {
			_, err := r.SetExternalRef(ctx, id, procreg.ExternalRef{Backend: "b", ID: "x"})
			return err
		}},
		{"RecordFirstStarted", 4, func(id string) error {
			_, err := r.RecordFirstStarted(ctx, id, procreg.Started{Owner: owner, At: time.Now()})
			return err
		}},
		{"RequestProcessAbandon", 4, func(id string) error {
			_, err := r.RequestProcessAbandon(ctx, id, procreg.AbandonRequest{RequestedBy: "u", RequestedAt: time.Now()})
			return err
		}},
		{"ClearProcessWait", 3, func(id string) error { _, err := r.ClearProcessWait(ctx, id); return err }},
		{"ListProcesses", 1, func(string) error { _, err := r.ListProcesses(ctx, procreg.ListFilter{}); return err }},
		{"ReclaimProcessLease", 4, func(id string) error {
			_, err := r.ReclaimProcessLease(ctx, id, owner, procreg.Lease{}, time.Minute)
			return err
		}},
		{"RevokeHandle", 4, func(id string) error { return r.RevokeHandle(ctx, scope, id) }},
		{"ListLiveHandleGrants", 1, func(string) error { _, err := r.ListLiveHandleGrants(ctx, scope); return err }},
		{"HandleGrantsForProcess", 4, func(id string) error { _, err := r.HandleGrantsForProcess(ctx, id); return err }},
		{"TransferHandleGrants(1)", 6, func(id string) error {
			if _, err := r.GrantHandle(ctx, scope, id, procreg.HandleDescriptor{Kind: "k"}); err != nil {
				return err
			}
			log.take()
			return r.TransferHandleGrants(ctx, scope, procreg.SessionScope{SessionID: "t"}, []string{id})
		}},
		{"DeleteSessionProcessState", 5, func(id string) error {
			_, err := r.DeleteSessionProcessState(ctx, "nobody")
			return err
		}},
		{"PruneTerminalProcesses", 3, func(string) error {
			_, err := r.PruneTerminalProcesses(ctx, time.Unix(0, 0))
			return err
		}},
		// The fenced writes cost what the plain ones do: the lease clock is
		// read by the same LockProcess statement.
		{"AppendEventWithLease", 5, func(id string) error {
			c, err := r.ClaimProcessLease(ctx, id, owner, time.Minute)
			if err != nil {
				return err
			}
			log.take()
			_, err = r.AppendEventWithLease(ctx, c.Lease, procreg.AppendRequest{EventType: "process.waiting", Payload: payload})
			return err
		}},
		{"CompleteProcessWithLease", 6, func(id string) error {
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
			stmts := log.take()
			counts = append(counts, len(stmts))
			if testing.Verbose() && len(counts) == 2 {
				t.Logf("%s: %v", op.name, stmts)
			}
		}
		t.Logf("%-26s %d round trips", op.name, counts[1])
		if counts[1] != op.want {
			t.Errorf("%s: %d round trips, want %d", op.name, counts[1], op.want)
		}
	}
	// The bound of the issue, checked on the statement list itself.
	for _, key := range []string{"", "k2"} {
		id := fresh()
		log.take()
		if _, err := r.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.waiting", Payload: payload, ReplayKey: key}); err != nil {
			t.Fatal(err)
		}
		got := log.take()
		if len(got) < 2 || !strings.EqualFold(got[0], "begin") || !strings.EqualFold(got[len(got)-1], "commit") || len(got)-2 > 4 {
			t.Errorf("AppendEvent (replay key %q) sent %v; want one transaction of at most four statements", key, got)
		}
	}
}
