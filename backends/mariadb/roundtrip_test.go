package mariadb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/procreg/procreg/backends/mariadb"
	"github.com/procreg/procreg/internal/servertest"
	"github.com/procreg/procreg/internal/testdb"
)

// roundTrips is the figure of each method on MariaDB, held by
// TestRoundTrips and the package doc: the mysql dialect's (one statement
// per round trip, interpolateParams making a statement with arguments one
// COM_QUERY); wsrep_sync_wait and the time zone go with the connection's
// setup, not with each statement.
var roundTrips = map[string]int{
	"RegisterProcess":               5, // START TRANSACTION, LockProcess, BumpChangeCounter, InsertProcess, COMMIT
	"AppendEvent":                   6, // START TRANSACTION, LockProcess, InsertEvent, BumpChangeCounter, UpdateProcess, COMMIT
	"AppendEvent+replay key":        7, // … and EventByReplayKey after LockProcess
	"CompleteProcess":               7,
	"ClaimProcessLease":             4, // START TRANSACTION, LockProcess (+ database clock), UpdateProcessLease, COMMIT
	"RenewProcessLease":             4,
	"CompleteProcessLease":          4,
	"SetProcessWait":                5,
	"GrantHandle":                   4,
	"HasHandleGrant":                1,
	"ListHandleGrants":              1,
	"GetProcess":                    1,
	"GetProcessLease":               1,
	"ListNonTerminal":               1,
	"EventsAfter":                   1, // the query alone: the events prove the process exists
	"EventsAfter (none after)":      5, // that, then START TRANSACTION READ ONLY, GetProcess, the query, COMMIT
	"RecentEvents":                  1,
	"AckWake":                       4,
	"WakeEventsAfter (none)":        5,
	"CountEventsThrough":            1,
	"SetExternalRef":                5,
	"RecordFirstStarted":            5,
	"RequestProcessAbandon":         5,
	"ClearProcessWait":              3,
	"ListProcesses":                 1,
	"ReclaimProcessLease":           4,
	"RevokeHandle":                  4,
	"ListLiveHandleGrants":          1,
	"HandleGrantsForProcess (none)": 5,
	"HandleGrantsForProcess":        1,
	"TransferHandleGrants(1)":       6,
	"DeleteSessionProcessState":     5,
	"PruneTerminalProcesses":        3,
	"AppendEventWithLease":          6,
	"CompleteProcessWithLease":      7,
	"RegisterProcesses(10)":         23,
	"ClaimNext(10)":                 13,
}

// TestRoundTrips counts, on the wire, the round trips each method spends
// on a connection configured by ParseDSN, and holds them to roundTrips.
func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	cfg, err := mariadb.ParseDSN(testdb.MySQLFrom(t, Env).DSN)
	if err != nil {
		t.Fatal(err)
	}
	trips := &servertest.Trips{}
	r, err := mariadb.New(ctx, servertest.CountingMySQL(t, cfg, trips))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	trips.Take() // the migration
	got := servertest.RoundTrips(t, r, trips, roundTrips)
	want := "[[start] [LockProcess] [InsertEvent] [BumpChangeCounter] [UpdateProcess] [commit]]"
	if s := fmt.Sprint(got["AppendEvent"]); s != want {
		t.Errorf("AppendEvent sent %s; want %s", s, want)
	}
}
