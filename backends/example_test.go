package backends_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
)

// The storage is chosen by a DSN from configuration: "memory:" here,
// "sqlite:/var/lib/app/procreg.db" or "postgres://…" in production.
func ExampleOpen() {
	ctx := context.Background()
	reg, err := backends.Open(ctx, "memory:")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()
	rec, err := reg.RegisterProcess(ctx, procreg.Registration{
		ID:          "job-1",
		Input:       procreg.ProcessInput{Kind: procreg.InputExternal, Payload: json.RawMessage(`{"name":"backup"}`)},
		Disposition: procreg.DispositionExternallyOwned,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(reg.DurabilityTier() == procreg.TierInline, rec.Identity.Label, rec.Status.State)

	_, err = backends.Open(ctx, "ftp://nowhere")
	fmt.Println(err != nil)
	// Output:
	// true backup running
	// true
}
