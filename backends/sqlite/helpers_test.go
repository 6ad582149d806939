package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
)

func toolRegistration(id string) procreg.Registration { return sqlite.ToolRegistration(id) }

// seed registers a few dozen processes with events, grants and a
// completion, so that plans and reads run against non-empty tables.
func seed(t *testing.T, ctx context.Context, reg procreg.Registry) {
	t.Helper()
	for i := range 40 {
		id := fmt.Sprintf("seed-%03d", i)
		if _, err := reg.RegisterProcess(ctx, toolRegistration(id)); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := reg.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"n":1}`)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := reg.GrantHandle(ctx, procreg.SessionScope{SessionID: fmt.Sprintf("s%d", i%5)}, id, procreg.HandleDescriptor{Kind: "tool"}); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			if _, err := reg.CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`1`)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// openRaw opens a plain database/sql handle on the file, for tests that
// need to act as another client.
func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
