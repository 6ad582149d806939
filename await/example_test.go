package await_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/await"
	"github.com/procreg/procreg/backends/memory"
)

// A caller waits for a job another goroutine (a worker) completes.
func ExampleTerminal() {
	ctx := context.Background()
	reg := memory.New()
	defer reg.Close()
	_, err := reg.RegisterProcess(ctx, procreg.Registration{
		ID:          "job-1",
		Input:       procreg.ProcessInput{Kind: procreg.InputExternal},
		Disposition: procreg.DispositionExternallyOwned,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() {
		_, _ = reg.CompleteProcess(ctx, "job-1", procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`{"ok":true}`)})
	}()

	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := await.Terminal(waitCtx, reg, "job-1")
	if err != nil {
		fmt.Println(err, await.IsTimeout(err))
		return
	}
	fmt.Println(out.Kind, string(out.Value))
	// Output: success {"ok":true}
}

// Waiting for an event that is already stored returns at once.
func ExampleEvent() {
	ctx := context.Background()
	reg := memory.New()
	defer reg.Close()
	_, _ = reg.RegisterProcess(ctx, procreg.Registration{
		ID:          "job-1",
		Input:       procreg.ProcessInput{Kind: procreg.InputExternal},
		Disposition: procreg.DispositionExternallyOwned,
		EventTypes:  []procreg.EventType{{Name: "log"}, {Name: "ready"}},
	})
	_, _ = reg.AppendEvent(ctx, "job-1", procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{}`)})
	_, _ = reg.AppendEvent(ctx, "job-1", procreg.AppendRequest{EventType: "ready", Payload: json.RawMessage(`{"port":8080}`)})

	ev, err := await.Event(ctx, reg, "job-1", "ready", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Sequence, string(ev.Payload))
	// Output: 2 {"port":8080}
}
