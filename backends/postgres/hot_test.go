package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/postgres"
	"github.com/procreg/procreg/internal/servertest"
)

// TestAppendsAreHOTUpdates runs an append-heavy workload through the
// registry and reads PostgreSQL's statistics of the processes table: at
// least 95 % of its row updates must be HOT (heap-only: no index entry
// written), which holds only when no column an append or a lease write
// changes is indexed and the new row version fits on its page
// (schema/postgres/00004_hot.sql). Before 00004 about 5 % were.
//
// A HOT update also needs the page's dead versions pruned now and then,
// and PostgreSQL prunes only versions older than every transaction still
// running anywhere on the server, in any database. On the shared test
// server other tests' transactions (each CREATE DATABASE, for one) run
// all the time, so a page fills with dead versions of a ~1.2 KB row after
// about six updates and the next one moves off it: about 85 % HOT there,
// whatever the schema. So the test runs on a server of its own
// (servertest.StartPostgres), one call at a time, where only the schema
// decides.
func TestAppendsAreHOTUpdates(t *testing.T) {
	in := servertest.StartPostgres(t)
	upd, hot := hotWorkload(t, in.DSN)
	pct := 100 * float64(hot) / float64(upd)
	t.Logf("processes: %d updates, %d HOT (%.1f %%)", upd, hot, pct)
	if pct < 95 {
		t.Errorf("%.1f %% of the processes table's updates are HOT; want at least 95 %%", pct)
	}
}

// hotWorkload runs the workload on the empty database dsn and returns the
// processes table's updates and HOT updates: 50 processes, each leased,
// given 100 events (half of them fenced by the lease) with a renewal every
// 25, then released; 5 of them completed with the lease instead.
func hotWorkload(t *testing.T, dsn string) (upd, hot int64) {
	t.Helper()
	const (
		processes = 50
		appends   = 100
		completed = 5
	)
	ctx := context.Background()
	reg, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	updates := 0 // every call below that changes a process row is one UPDATE of it
	for i := range processes {
		id := fmt.Sprintf("hot-%03d", i)
		if _, err := reg.RegisterProcess(ctx, procreg.Registration{
			ID:          id,
			Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"job":"hot"}`)},
			Disposition: procreg.DispositionRerunnable,
			EnvRef:      "env:hot",
			Identity:    procreg.Identity{Kind: "tool", Definition: json.RawMessage(`{"def":"hot"}`)},
			EventTypes:  []procreg.EventType{{Name: "progress"}},
		}); err != nil {
			t.Fatal(err)
		}
		claim, err := reg.ClaimProcessLease(ctx, id, procreg.LeaseOwner{OwnerID: "worker", IncarnationID: "w-1"}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		updates++
		lease := claim.Lease
		for n := range appends {
			if n%25 == 24 {
				if lease, err = reg.RenewProcessLease(ctx, lease, time.Minute); err != nil {
					t.Fatal(err)
				}
				updates++
			}
			req := procreg.AppendRequest{EventType: "progress", Payload: json.RawMessage(fmt.Sprintf(`{"step":%d}`, n))}
			if n%2 == 0 {
				_, err = reg.AppendEvent(ctx, id, req)
			} else {
				_, err = reg.AppendEventWithLease(ctx, lease, req)
			}
			if err != nil {
				t.Fatal(err)
			}
			updates++
		}
		if i < completed {
			// One update: the terminal event, and the lease released with it.
			_, err = reg.CompleteProcessWithLease(ctx, lease, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`1`)})
		} else {
			err = reg.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: id, Token: lease.Token})
		}
		if err != nil {
			t.Fatal(err)
		}
		updates++
	}
	// Statistics reach the shared counters when a backend's transaction
	// ends (at most once a second) and when it exits: close the registry's
	// pool so that every backend that wrote flushes, then poll from a new
	// connection.
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// Each query is a transaction of its own: a transaction reads the
		// statistics as of its first read of them.
		if err := conn.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'processes'`).Scan(&upd, &hot); err != nil {
			t.Fatal(err)
		}
		if upd >= int64(updates) {
			return upd, hot
		}
		if time.Now().After(deadline) {
			t.Fatalf("pg_stat_user_tables counts %d updates of processes after 30s; the workload made %d", upd, updates)
		}
	}
}
