package servertest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg"
)

// Trips records the round trips a registry spends on its connection, each
// as the names of the statements it carried: the sqlc query name, or the
// first word of other SQL in lower case (begin, start, commit, rollback).
// A backend's test fills it from what its driver reports (PostgreSQL: pgx
// tracers) or sees on the wire (MySQL: CountingMySQL).
type Trips struct {
	mu    sync.Mutex
	trips [][]string
}

var sqlcName = regexp.MustCompile(`^-- name: (\w+)`)

// StatementName is the name Trips gives a statement's SQL.
func StatementName(sql string) string {
	if m := sqlcName.FindStringSubmatch(sql); m != nil {
		return m[1]
	}
	if f := strings.Fields(sql); len(f) > 0 {
		return strings.ToLower(f[0])
	}
	return sql
}

// Add records one round trip carrying the named statements.
func (l *Trips) Add(names ...string) {
	l.mu.Lock()
	l.trips = append(l.trips, names)
	l.mu.Unlock()
}

// Take returns the round trips recorded since the last Take.
func (l *Trips) Take() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.trips
	l.trips = nil
	return out
}

// RoundTrips runs every registry method on r, a registry over one
// connection whose round trips trips records, and holds the round trips of
// each to want (by the names below; a backend lists them all). Each is
// measured on a fresh process with one event, on its second run, when the
// connection has prepared what it prepares. It returns the round trips of
// each method's second run, for a backend's own checks of their shape.
func RoundTrips(t *testing.T, r procreg.Registry, trips *Trips, want map[string]int) map[string][][]string {
	t.Helper()
	ctx := context.Background()
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
	// claimed claims a lease on id, outside the round trips measured.
	claimed := func(id string) (procreg.Lease, error) {
		c, err := r.ClaimProcessLease(ctx, id, owner, time.Minute)
		trips.Take()
		return c.Lease, err
	}
	ops := []struct {
		name string
		run  func(id string) error
	}{
		{"RegisterProcess", func(string) error { fresh(); return nil }},
		{"AppendEvent", func(id string) error {
			_, err := r.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.waiting", Payload: payload})
			return err
		}},
		{"AppendEvent+replay key", func(id string) error {
			_, err := r.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.waiting", Payload: payload, ReplayKey: "k"})
			return err
		}},
		{"CompleteProcess", func(id string) error {
			_, err := r.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: payload})
			return err
		}},
		{"ClaimProcessLease", func(id string) error {
			_, err := r.ClaimProcessLease(ctx, id, owner, time.Minute)
			return err
		}},
		{"RenewProcessLease", func(id string) error {
			l, err := claimed(id)
			if err != nil {
				return err
			}
			_, err = r.RenewProcessLease(ctx, l, time.Minute)
			return err
		}},
		{"CompleteProcessLease", func(id string) error {
			l, err := claimed(id)
			if err != nil {
				return err
			}
			return r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: id, Token: l.Token})
		}},
		{"SetProcessWait", func(id string) error {
			_, err := r.SetProcessWait(ctx, id, procreg.WaitState{Kind: "signal", Name: "n"})
			return err
		}},
		{"GrantHandle", func(id string) error {
			_, err := r.GrantHandle(ctx, scope, id, procreg.HandleDescriptor{Kind: "k"})
			return err
		}},
		{"HasHandleGrant", func(id string) error { _, err := r.HasHandleGrant(ctx, scope, id); return err }},
		{"ListHandleGrants", func(string) error { _, err := r.ListHandleGrants(ctx, scope); return err }},
		{"GetProcess", func(id string) error { _, err := r.GetProcess(ctx, id); return err }},
		{"GetProcessLease", func(id string) error { _, err := r.GetProcessLease(ctx, id); return err }},
		{"ListNonTerminal", func(string) error { _, err := r.ListNonTerminal(ctx); return err }},
		{"EventsAfter", func(id string) error { _, err := r.EventsAfter(ctx, id, 0); return err }},
		// A read that finds nothing checks that the process exists, in one
		// snapshot with the query run again.
		{"EventsAfter (none after)", func(id string) error { _, err := r.EventsAfter(ctx, id, 1); return err }},
		{"RecentEvents", func(id string) error { _, err := r.RecentEvents(ctx, id, 5); return err }},
		{"AckWake", func(id string) error { return r.AckWake(ctx, id, 1) }},
		{"WakeEventsAfter (none)", func(id string) error { _, err := r.WakeEventsAfter(ctx, id, 0); return err }},
		{"CountEventsThrough", func(id string) error {
			_, err := r.CountEventsThrough(ctx, id, "process.resumed", 10)
			return err
		}},
		{"SetExternalRef", func(id string) error {
			_, err := r.SetExternalRef(ctx, id, procreg.ExternalRef{Backend: "b", ID: "x"})
			return err
		}},
		{"RecordFirstStarted", func(id string) error {
			_, err := r.RecordFirstStarted(ctx, id, procreg.Started{Owner: owner, At: time.Now()})
			return err
		}},
		{"RequestProcessAbandon", func(id string) error {
			_, err := r.RequestProcessAbandon(ctx, id, procreg.AbandonRequest{RequestedBy: "u", RequestedAt: time.Now()})
			return err
		}},
		{"ClearProcessWait", func(id string) error { _, err := r.ClearProcessWait(ctx, id); return err }},
		{"ListProcesses", func(string) error { _, err := r.ListProcesses(ctx, procreg.ListFilter{}); return err }},
		{"ReclaimProcessLease", func(id string) error {
			_, err := r.ReclaimProcessLease(ctx, id, owner, procreg.Lease{}, time.Minute)
			return err
		}},
		{"RevokeHandle", func(id string) error { return r.RevokeHandle(ctx, scope, id) }},
		{"ListLiveHandleGrants", func(string) error { _, err := r.ListLiveHandleGrants(ctx, scope); return err }},
		{"HandleGrantsForProcess (none)", func(id string) error { _, err := r.HandleGrantsForProcess(ctx, id); return err }},
		{"HandleGrantsForProcess", func(id string) error {
			if _, err := r.GrantHandle(ctx, scope, id, procreg.HandleDescriptor{Kind: "k"}); err != nil {
				return err
			}
			trips.Take()
			_, err := r.HandleGrantsForProcess(ctx, id)
			return err
		}},
		{"TransferHandleGrants(1)", func(id string) error {
			if _, err := r.GrantHandle(ctx, scope, id, procreg.HandleDescriptor{Kind: "k"}); err != nil {
				return err
			}
			trips.Take()
			return r.TransferHandleGrants(ctx, scope, procreg.SessionScope{SessionID: "t"}, []string{id})
		}},
		{"DeleteSessionProcessState", func(string) error {
			_, err := r.DeleteSessionProcessState(ctx, "nobody")
			return err
		}},
		{"PruneTerminalProcesses", func(string) error {
			_, err := r.PruneTerminalProcesses(ctx, time.Unix(0, 0))
			return err
		}},
		// The batches: ten registrations in one transaction (one LockProcesses
		// for all of them), and a claim of up to ten of the processes the
		// earlier runs left unleased (one candidate statement, one lease
		// write on PostgreSQL).
		{"RegisterProcesses(10)", func(string) error {
			regs := make([]procreg.Registration, 10)
			for i := range regs {
				n++
				regs[i] = procreg.Registration{ID: fmt.Sprintf("rt-%d", n), Disposition: procreg.DispositionRerunnable,
					Input: procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{}`)}, EnvRef: "env"}
			}
			_, err := r.RegisterProcesses(ctx, regs)
			return err
		}},
		{"ClaimNext(10)", func(string) error {
			c, err := r.ClaimNext(ctx, owner, time.Minute, procreg.ListFilter{}, 10)
			if err == nil && len(c) != 10 {
				err = fmt.Errorf("claimed %d processes; want 10", len(c))
			}
			return err
		}},
		// The fenced writes cost what the plain ones do: the lease clock is
		// read by the same LockProcess statement.
		{"AppendEventWithLease", func(id string) error {
			l, err := claimed(id)
			if err != nil {
				return err
			}
			_, err = r.AppendEventWithLease(ctx, l, procreg.AppendRequest{EventType: "process.waiting", Payload: payload})
			return err
		}},
		{"CompleteProcessWithLease", func(id string) error {
			l, err := claimed(id)
			if err != nil {
				return err
			}
			_, err = r.CompleteProcessWithLease(ctx, l, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: payload})
			return err
		}},
	}
	names := map[string]bool{}
	got := map[string][][]string{}
	for _, op := range ops {
		names[op.name] = true
		w, ok := want[op.name]
		if !ok {
			t.Errorf("%s: no figure given", op.name)
			continue
		}
		var last [][]string
		for range 2 { // the first run warms the connection
			id := fresh()
			if _, err := r.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.resumed", Payload: payload}); err != nil {
				t.Fatal(err)
			}
			trips.Take()
			if err := op.run(id); err != nil {
				t.Fatalf("%s: %v", op.name, err)
			}
			last = trips.Take()
		}
		got[op.name] = last
		t.Logf("%-30s %d round trips %v", op.name, len(last), last)
		if len(last) != w {
			t.Errorf("%s: %d round trips %v, want %d", op.name, len(last), last, w)
		}
	}
	for name := range want {
		if !names[name] {
			t.Errorf("a figure for %q, which RoundTrips does not run", name)
		}
	}
	return got
}

// CountingMySQL opens a database/sql pool of one connection on the MySQL
// or MariaDB server of cfg (a configuration from the dialect's ParseDSN,
// left unchanged) whose round trips trips records, reading them off the
// wire: a round trip is a command the driver writes after it last read, so
// a command without a response (COM_STMT_CLOSE) goes with the next. A
// COM_QUERY is named after its SQL (StatementName); other commands by
// their kind (prepare, execute, ping, …).
func CountingMySQL(t testing.TB, cfg *mysqldrv.Config, trips *Trips) *sql.DB {
	t.Helper()
	network := fmt.Sprintf("procreg-count-%d", countingNets.Add(1))
	mysqldrv.RegisterDialContext(network, func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, trips: trips}, nil
	})
	cfg = cfg.Clone()
	if cfg.Net != "tcp" {
		t.Fatalf("CountingMySQL: network %q; want tcp", cfg.Net)
	}
	cfg.Net = network
	conn, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

var countingNets atomic.Int64

// countingConn records the commands written on a MySQL connection.
type countingConn struct {
	net.Conn
	trips   *Trips
	writing bool // the last call was a Write: more of the same round trip
}

// mysqlCommands names the MySQL protocol's command bytes.
var mysqlCommands = map[byte]string{0x01: "quit", 0x0e: "ping", 0x17: "execute", 0x19: "close", 0x1f: "reset"}

func (c *countingConn) Write(b []byte) (int, error) {
	name := "?"
	if len(b) > 4 { // 3 bytes of length, 1 of sequence, then the command
		switch b[4] {
		case 0x03: // COM_QUERY
			name = StatementName(string(b[5:]))
		case 0x16: // COM_STMT_PREPARE
			name = "prepare " + StatementName(string(b[5:]))
		default:
			if n, ok := mysqlCommands[b[4]]; ok {
				name = n
			}
		}
	}
	if c.writing {
		c.trips.mu.Lock()
		if k := len(c.trips.trips); k > 0 {
			c.trips.trips[k-1] = append(c.trips.trips[k-1], name)
		}
		c.trips.mu.Unlock()
	} else {
		c.trips.Add(name)
	}
	c.writing = true
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	c.writing = false
	return c.Conn.Read(b)
}
