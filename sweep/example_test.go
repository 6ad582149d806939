package sweep_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/sweep"
)

// A worker's recovery loop: each pass claims the claimable processes and
// runs them, writing only through the fenced Work.
func Example() {
	ctx := context.Background()
	reg := memory.New()
	defer reg.Close()
	for _, id := range []string{"job-1", "job-2"} {
		_, err := reg.RegisterProcess(ctx, procreg.Registration{
			ID: id, Disposition: procreg.DispositionRerunnable, EnvRef: "env",
			Input:      procreg.ProcessInput{Kind: procreg.InputTool},
			Provenance: procreg.Provenance{Originator: procreg.Originator{Kind: procreg.OriginatorHost}},
		})
		if err != nil {
			panic(err)
		}
	}
	live, err := procreg.CurrentProcessLiveness()
	if err != nil {
		panic(err)
	}
	s := &sweep.Sweeper{
		Registry: reg,
		Owner:    procreg.LeaseOwner{OwnerID: "worker-a", IncarnationID: "boot-1", Liveness: live},
		TTL:      30 * time.Second,
		Run: func(ctx context.Context, w *sweep.Work) error {
			if _, err := w.RecordFirstStarted(ctx); err != nil {
				return err
			}
			_, err := w.Complete(ctx, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`"done"`)})
			return err
		},
	}
	rep, err := s.Pass(ctx)
	if err != nil {
		panic(err)
	}
	for _, o := range rep.Outcomes {
		fmt.Println(o.ProcessID, o.Action, o.FencingToken)
	}
	// Output:
	// job-1 ran 1
	// job-2 ran 1
}
