package demo

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/procreg/procreg"
)

// The demo's vocabulary, shared by the parent (which checks) and the workers
// (which write). Every event a run writes carries the fencing token of the
// lease it was written under, and a run's first event also says where the
// log ended when its lease was acquired, so the parent can prove afterwards
// that no write under an older lease landed once a newer lease existed.
const (
	EventRunStarted = "demo.run_started" // a run began: {fence, after, worker, incarnation, pid}
	EventProgress   = "demo.progress"    // one step done: {fence, step, of}
	EventMilestone  = "demo.milestone"   // halfway: wakes the operator session
	EventExternal   = "demo.external"    // the outside system reports on an externally owned process

	OperatorSession = "demo-operator"
)

// demoProcessID names process i of a demo run.
func demoProcessID(run string, i int) string { return fmt.Sprintf("%s-p%03d", run, i) }

// inDemoRun returns a filter accepting exactly run's processes (see
// demoProcessID), for the sweepers of the parent and of the workers.
func inDemoRun(run string) func(procreg.Record) bool {
	prefix := run + "-p"
	return func(r procreg.Record) bool { return strings.HasPrefix(r.ID, prefix) }
}

// demoDisposition spreads the three dispositions over the processes:
// half rerunnable, a third owner-bound, a sixth externally owned.
func demoDisposition(i int) procreg.Disposition {
	switch i % 6 {
	case 3, 4:
		return procreg.DispositionOwnerBound
	case 5:
		return procreg.DispositionExternallyOwned
	default:
		return procreg.DispositionRerunnable
	}
}

// demoFails says which processes end in a (deliberate) failure.
func demoFails(i int) bool { return i%10 == 7 }

// demoDefinition is the identity definition shared by one run's processes,
// so `procreg ls --definition` finds them.
func demoDefinition(run string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"demo": run})
	return b
}

var demoEventTypes = []procreg.EventType{
	{
		Name:          EventRunStarted,
		PayloadSchema: json.RawMessage(`{"type":"object","required":["fence","worker"],"properties":{"fence":{"type":"integer","minimum":1},"after":{"type":"integer","minimum":0},"worker":{"type":"string"}}}`),
	},
	{
		Name:          EventProgress,
		PayloadSchema: json.RawMessage(`{"type":"object","required":["fence","step"],"properties":{"fence":{"type":"integer","minimum":1},"step":{"type":"integer","minimum":1}}}`),
	},
	{
		Name: EventMilestone,
		Wake: &procreg.WakeSpec{
			Input: procreg.Selector{Kind: procreg.SelectorTemplate, Template: "{label} is halfway (step {step})", Fields: map[string]procreg.Selector{
				"label": {Kind: procreg.SelectorPointer, Pointer: "/label"},
				"step":  {Kind: procreg.SelectorPointer, Pointer: "/step"},
			}},
		},
	},
	{Name: EventExternal},
}

// Registration is the spec of process i; it is deterministic, so any
// worker (or a respawned one) may register it again as a no-op.
func Registration(run string, i, steps int) procreg.Registration {
	id := demoProcessID(run, i)
	label := fmt.Sprintf("task %d", i)
	reg := procreg.Registration{
		ID:          id,
		Disposition: demoDisposition(i),
		Identity:    procreg.Identity{Kind: "demo", Label: label, Definition: demoDefinition(run)},
		EventTypes:  demoEventTypes,
		Provenance:  procreg.Provenance{Originator: procreg.Originator{Kind: procreg.OriginatorHost}},
		WakeTarget:  &procreg.SessionScope{SessionID: OperatorSession},
	}
	payload, _ := json.Marshal(map[string]any{"index": i, "steps": steps, "label": label})
	if reg.Disposition == procreg.DispositionExternallyOwned {
		reg.Input = procreg.ProcessInput{Kind: procreg.InputExternal, Payload: payload}
	} else {
		reg.Input = procreg.ProcessInput{Kind: procreg.InputEngine, EngineKind: "demo", Payload: payload}
		reg.EnvRef = "env:demo/" + run
	}
	return reg
}

// runPayload is the part of every run event the invariant check reads.
type runPayload struct {
	Fence uint64 `json:"fence"`
	// After (run_started only) is the last sequence of the log as read
	// right after the run's lease was acquired, before the run wrote
	// anything: every later event was written after the acquisition.
	After       *uint64 `json:"after"`
	Worker      string  `json:"worker"`
	Incarnation string  `json:"incarnation"`
	Step        int     `json:"step"`
}
