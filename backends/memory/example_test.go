package memory_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
)

func Example() {
	ctx := context.Background()
	reg := memory.New()
	defer reg.Close()

	rec, err := reg.RegisterProcess(ctx, procreg.Registration{
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
	fmt.Println(rec.Status.State, rec.Identity.Kind)

	res, _ := reg.AppendEvent(ctx, rec.ID, procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"line":"ok"}`)})
	fmt.Println(res.Event.Sequence)

	rec, _ = reg.CompleteProcess(ctx, rec.ID, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`42`)})
	fmt.Println(rec.Status.State, string(rec.Status.AwaitOutput.Value))
	// Output:
	// running tool
	// 1
	// completed 42
}
