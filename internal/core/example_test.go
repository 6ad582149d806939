package core_test

import (
	"encoding/json"
	"fmt"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/core"
)

// The registration hash identifies a registration by meaning: core event
// types are added, and JSON compares by value.
func ExamplePrepareRegistration() {
	reg := procreg.Registration{
		ID:          "job-1",
		Input:       procreg.ProcessInput{Kind: procreg.InputExternal, Payload: json.RawMessage(`{"title":"Nightly","retries":1.0}`)},
		Disposition: procreg.DispositionExternallyOwned,
	}
	p, err := core.PrepareRegistration(reg)
	if err != nil {
		fmt.Println(err)
		return
	}
	reg.Input.Payload = json.RawMessage(`{ "retries": 1, "title": "Nightly" }`)
	q, _ := core.PrepareRegistration(reg)
	fmt.Println(p.Hash == q.Hash, p.Registration.Identity.Label, len(p.Registration.EventTypes))
	// Output: true Nightly 7
}

func ExampleCanonicalJSON() {
	c, _ := core.CanonicalJSON([]byte(`{"b": [1.50, 1e2, 12345678901234567890], "a": "<x>"}`))
	fmt.Println(string(c))
	// Output: {"a":"<x>","b":[1.5,100,12345678901234567890]}
}
