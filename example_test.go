package procreg_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/backends/memory"
)

// The quick start of the package documentation.
func Example() {
	ctx := context.Background()
	reg, err := backends.Open(ctx, "memory:") // or "sqlite:jobs.db", "postgres://…", "mysql://…"
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	_, err = reg.RegisterProcess(ctx, procreg.Registration{
		ID:          "job-1",
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"cmd":"make test"}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:ci",
		EventTypes:  []procreg.EventType{{Name: "progress"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := reg.AppendEvent(ctx, "job-1", procreg.AppendRequest{EventType: "progress", Payload: json.RawMessage(`{"pct":40}`)}); err != nil {
		log.Fatal(err)
	}
	rec, err := reg.CompleteProcess(ctx, "job-1", procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`"all green"`)})
	if err != nil {
		log.Fatal(err)
	}
	events, _ := reg.EventsAfter(ctx, "job-1", 0)
	fmt.Println(rec.Status.State, string(rec.Status.AwaitOutput.Value), len(events))
	// Output: completed "all green" 2
}

// A session starts a job, is woken by its progress, asks for cancellation,
// and the worker reports the cancellation as the job's outcome.
func Example_sessionWake() {
	ctx := context.Background()
	reg := memory.New()
	defer reg.Close()

	session := procreg.SessionScope{SessionID: "chat-1"}
	_, err := reg.RegisterProcess(ctx, procreg.Registration{
		ID:          "job-1",
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"cmd":"make test"}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:ci",
		WakeTarget:  &session,
		EventTypes: []procreg.EventType{{
			Name: "progress",
			Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorTemplate,
				Template: "job at {pct}%", Fields: map[string]procreg.Selector{
					"pct": {Kind: procreg.SelectorPointer, Pointer: "/pct"}}}},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := reg.GrantHandle(ctx, session, "job-1", procreg.HandleDescriptor{Kind: "tool", Label: "tests"}); err != nil {
		fmt.Println(err)
		return
	}

	res, _ := reg.AppendEvent(ctx, "job-1", procreg.AppendRequest{EventType: "progress", Payload: json.RawMessage(`{"pct":40}`)})
	fmt.Println(res.Event.Sequence, res.WakeDelivery.TargetScopeID, res.WakeDelivery.Input)

	_, _ = reg.AppendEvent(ctx, "job-1", procreg.CancelRequested("job-1", "user pressed stop"))
	rec, _ := reg.CompleteProcess(ctx, "job-1", procreg.AwaitOutput{Kind: procreg.OutputCancelled, Message: "stopped"})
	fmt.Println(rec.Status.State, rec.Status.AwaitOutput.Message)

	// Completing again the same way is idempotent; another outcome is refused.
	_, err = reg.CompleteProcess(ctx, "job-1", procreg.AwaitOutput{Kind: procreg.OutputSuccess})
	fmt.Println(err != nil)

	live, _ := reg.ListLiveHandleGrants(ctx, session)
	fmt.Println(len(live))
	// Output:
	// 1 session:chat-1 job at 40%
	// cancelled stopped
	// true
	// 0
}

func ExampleSessionScope_ID() {
	fmt.Println(procreg.SessionScope{SessionID: "chat-1"}.ID())
	fmt.Println(procreg.SessionScope{SessionID: "chat-1", AgentFrameID: "planner"}.ID())
	// Output:
	// session:chat-1
	// session:chat-1/frame:planner
}
