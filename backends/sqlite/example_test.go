package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "procreg-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "registry.db")

	// Open creates the file and applies the migrations.
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = reg.RegisterProcess(ctx, procreg.Registration{
		ID:          "build-42",
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"cmd":"make"}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:ci",
		EventTypes:  []procreg.EventType{{Name: "log"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, _ := reg.AppendEvent(ctx, "build-42", procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"line":"ok"}`)})
	fmt.Println("appended sequence", res.Event.Sequence)
	reg.Close()

	// Everything is still there after reopening the file.
	reg, err = sqlite.Open(ctx, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()
	events, _ := reg.EventsAfter(ctx, "build-42", 0)
	rec, _ := reg.GetProcess(ctx, "build-42")
	fmt.Println(len(events), "event;", rec.Status.State, reg.DurabilityTier())
	// Output:
	// appended sequence 1
	// 1 event; running durable
}
