package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/procreg/procreg"
)

// CompletionEventType maps an await output kind to its core terminal event type.
func CompletionEventType(kind string) (string, bool) {
	switch kind {
	case procreg.OutputSuccess:
		return procreg.EventCompleted, true
	case procreg.OutputFailure:
		return procreg.EventFailed, true
	case procreg.OutputCancelled:
		return procreg.EventCancelled, true
	case procreg.OutputAbandoned:
		return procreg.EventAbandoned, true
	}
	return "", false
}

// CompletionRequest builds the append CompleteProcess performs: the terminal
// event for out.Kind with payload {"await_output": out} and the replay key
// "process:<id>:terminal:<event type>".
func CompletionRequest(processID string, out procreg.AwaitOutput) (procreg.AppendRequest, error) {
	eventType, ok := CompletionEventType(out.Kind)
	if !ok {
		return procreg.AppendRequest{}, fmt.Errorf("%w: completion of process %q: unknown await output kind %q", procreg.ErrInvalid, processID, out.Kind)
	}
	n, err := NormalizeAwaitOutput(out)
	if err != nil {
		return procreg.AppendRequest{}, fmt.Errorf("completion of process %q: %w", processID, err)
	}
	payload, err := json.Marshal(map[string]procreg.AwaitOutput{"await_output": n})
	if err != nil {
		return procreg.AppendRequest{}, fmt.Errorf("%w: completion of process %q: %v", procreg.ErrInvalid, processID, err)
	}
	return procreg.AppendRequest{
		EventType: eventType,
		Payload:   payload,
		ReplayKey: "process:" + processID + ":terminal:" + eventType,
	}, nil
}

// NormalizeAwaitOutput validates an await output (known kind, known evidence
// writer), normalizes its optional JSON fields (absent → nil) and truncates
// its evidence time to the millisecond in UTC.
func NormalizeAwaitOutput(out procreg.AwaitOutput) (procreg.AwaitOutput, error) {
	switch out.Kind {
	case procreg.OutputSuccess, procreg.OutputFailure, procreg.OutputCancelled, procreg.OutputAbandoned:
	default:
		return procreg.AwaitOutput{}, fmt.Errorf("%w: unknown await output kind %q", procreg.ErrInvalid, out.Kind)
	}
	var err error
	if len(out.Value) > 0 {
		if out.Value, err = CanonicalJSON(out.Value); err != nil {
			return procreg.AwaitOutput{}, fmt.Errorf("await output value: %w", err)
		}
	}
	if out.Raw, err = NormalizeOptionalJSON(out.Raw); err != nil {
		return procreg.AwaitOutput{}, fmt.Errorf("await output raw: %w", err)
	}
	if out.Control, err = NormalizeOptionalJSON(out.Control); err != nil {
		return procreg.AwaitOutput{}, fmt.Errorf("await output control: %w", err)
	}
	if out.Evidence != nil {
		ev := *out.Evidence
		switch ev.Writer {
		case procreg.WriterOwnerDrain, procreg.WriterSweep, procreg.WriterReconciledRequest:
		default:
			return procreg.AwaitOutput{}, fmt.Errorf("%w: unknown abandon evidence writer %q", procreg.ErrInvalid, ev.Writer)
		}
		ev.At = TruncateTime(ev.At)
		if ev.Owner != nil {
			o := *ev.Owner
			ev.Owner = &o
		}
		out.Evidence = &ev
	}
	return out, nil
}

// TruncateTime truncates t to the millisecond, in UTC: the precision every
// backend stores.
func TruncateTime(t time.Time) time.Time {
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// WakeID is "wake:" + the hex SHA-256 of the canonical JSON
// [target scope id, dedupe key]. Deliveries with the same WakeID are
// duplicates.
func WakeID(targetScopeID, dedupeKey string) string {
	b, _ := encodeJSON([]any{targetScopeID, dedupeKey})
	return "wake:" + sha256Hex(b)
}

// AppendInput is everything PlanAppend needs to know about the stored process.
type AppendInput struct {
	ProcessID string
	Prepared  *Prepared
	// State is the process's current Status.State.
	State string
	// WakeTarget is the record's current wake target (nil when none).
	WakeTarget *procreg.SessionScope
	// LastSequence is the highest stored sequence (0 before the first event).
	LastSequence uint64
	// Replayed is the event already stored under the request's replay key,
	// or nil when there is none (or the request has no key).
	Replayed *procreg.Event
	// ReplayedWakeTarget is the scope Replayed's wake delivery was addressed
	// to when it was appended (the plan's WakeTarget then, stored with the
	// event), or nil when it produced no delivery. A replay re-materializes
	// that delivery: the current and the requested targets do not matter.
	ReplayedWakeTarget *procreg.SessionScope
	// Now is the event time (already truncated to the millisecond).
	Now time.Time
}

// AppendPlan is what an append must write and return.
type AppendPlan struct {
	// Event is the event to insert (Insert) or the replayed stored event.
	Event procreg.Event
	// Insert is false when the request replays a stored event.
	Insert bool
	// Status, when non-nil, is the process's new status: a fresh terminal
	// event, or the repair of a replayed terminal event on a running process.
	Status *procreg.Status
	// WakeDelivery is the delivery the event materialized, if it has a target.
	WakeDelivery *procreg.WakeDelivery
	// WakeTarget is the scope WakeDelivery is addressed to (nil when there is
	// no delivery). It is stored with an inserted event and handed back as
	// AppendInput.ReplayedWakeTarget on replay.
	WakeTarget *procreg.SessionScope
}

// PlanAppend decides an append, checking in the order of the contract:
// replay (same type and payload → the stored event; different →
// ErrReplayConflict), declared type, replay key requirement, payload schema,
// semantics, and terminal-on-terminal (ErrTerminal). Errors name the process.
func PlanAppend(in AppendInput, req procreg.AppendRequest) (AppendPlan, error) {
	id := in.ProcessID
	if err := ValidateAppendRequest(id, req); err != nil {
		return AppendPlan{}, err
	}
	payload := []byte("null")
	if len(bytes.TrimSpace(req.Payload)) > 0 {
		// JSON text is UTF-8 (RFC 8259); the payload is stored as written,
		// and PostgreSQL TEXT rejects invalid UTF-8.
		if !json.Valid(req.Payload) || !utf8.Valid(req.Payload) {
			return AppendPlan{}, fmt.Errorf("%w: append %q to process %q: payload is not valid JSON", procreg.ErrInvalid, req.EventType, id)
		}
		if err := CheckNumbers(req.Payload); err != nil {
			return AppendPlan{}, fmt.Errorf("append %q to process %q: payload: %w", req.EventType, id, err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, req.Payload); err != nil {
			return AppendPlan{}, fmt.Errorf("%w: append %q to process %q: %v", procreg.ErrInvalid, req.EventType, id, err)
		}
		payload = buf.Bytes()
	}

	if ev := in.Replayed; ev != nil {
		if ev.EventType != req.EventType || !JSONEqual(ev.Payload, payload) {
			return AppendPlan{}, fmt.Errorf("%w: process %q: replay key %q is stored with event %d (%s) and another payload or type",
				procreg.ErrReplayConflict, id, req.ReplayKey, ev.Sequence, ev.EventType)
		}
		plan := AppendPlan{Event: *ev}
		if ev.Terminal != nil && !isTerminalState(in.State) {
			plan.Status = &procreg.Status{State: string(ev.Terminal.State), AwaitOutput: ptr(ev.Terminal.AwaitOutput)}
		}
		// The same delivery as the original append: its stored target and
		// time, even if the record's target was cleared or the request
		// names another one since.
		plan.WakeTarget, plan.WakeDelivery = delivery(in, in.ReplayedWakeTarget, *ev)
		return plan, nil
	}

	et, ok := in.Prepared.EventType(req.EventType)
	if !ok {
		return AppendPlan{}, fmt.Errorf("%w: process %q does not declare event type %q", procreg.ErrInvalid, id, req.EventType)
	}
	if (et.Terminal != nil || et.Name == procreg.EventCancelRequested) && req.ReplayKey == "" {
		return AppendPlan{}, fmt.Errorf("%w: append %q to process %q: this event type requires a replay key", procreg.ErrInvalid, et.Name, id)
	}
	// Decode once for both the schema and the semantics.
	schema := in.Prepared.schemas[et.Name]
	var doc any
	if schema != nil || et.Terminal != nil || et.Wake != nil {
		var err error
		if doc, err = decodePayload(payload); err != nil {
			return AppendPlan{}, fmt.Errorf("append %q to process %q: %w", et.Name, id, err)
		}
	}
	if schema != nil {
		if err := validatePayload(schema, doc); err != nil {
			return AppendPlan{}, fmt.Errorf("%w: append %q to process %q: payload does not match the schema: %v", procreg.ErrInvalid, et.Name, id, err)
		}
	}
	ev := procreg.Event{
		ProcessID:  id,
		Sequence:   in.LastSequence + 1,
		EventType:  et.Name,
		Payload:    payload,
		ReplayKey:  req.ReplayKey,
		OccurredAt: in.Now,
	}
	if et.Terminal != nil || et.Wake != nil {
		if et.Terminal != nil {
			ts, err := materializeTerminal(*et.Terminal, doc, in.Now)
			if err != nil {
				return AppendPlan{}, fmt.Errorf("%w: append %q to process %q: terminal semantics: %v", procreg.ErrInvalid, et.Name, id, err)
			}
			ev.Terminal = &ts
		}
		if et.Wake != nil {
			w, err := materializeWake(*et.Wake, doc, id, ev.Sequence)
			if err != nil {
				return AppendPlan{}, fmt.Errorf("%w: append %q to process %q: wake semantics: %v", procreg.ErrInvalid, et.Name, id, err)
			}
			// Wake input and dedupe key are stored columns: a payload
			// string holding U+0000 may not flow into them.
			if w != nil {
				if err := validateTexts(id, "wake input of "+et.Name, w.Input, "wake dedupe key of "+et.Name, w.DedupeKey); err != nil {
					return AppendPlan{}, err
				}
			}
			ev.Wake = w
		}
	}
	if ev.Terminal != nil && isTerminalState(in.State) {
		return AppendPlan{}, fmt.Errorf("%w: process %q is already %s; cannot append terminal event %q", procreg.ErrTerminal, id, in.State, et.Name)
	}
	plan := AppendPlan{Event: ev, Insert: true}
	if ev.Terminal != nil {
		plan.Status = &procreg.Status{State: string(ev.Terminal.State), AwaitOutput: ptr(ev.Terminal.AwaitOutput)}
	}
	target := req.WakeTarget
	if target == nil {
		target = in.WakeTarget
	}
	plan.WakeTarget, plan.WakeDelivery = delivery(in, target, ev)
	return plan, nil
}

func ptr[T any](v T) *T { return &v }

func isTerminalState(s string) bool { return s != "" && s != procreg.StateRunning }

// delivery materializes the wake delivery of an event that has wake
// semantics, addressed to target, created at the event's time. It returns
// (a copy of) the target it used, or nils when there is no delivery.
func delivery(in AppendInput, target *procreg.SessionScope, ev procreg.Event) (*procreg.SessionScope, *procreg.WakeDelivery) {
	if ev.Wake == nil || target == nil {
		return nil, nil
	}
	target = ptr(*target)
	scopeID := target.ID()
	// The provenance cause is copied: the Prepared it comes from is shared.
	var causedBy json.RawMessage
	if c := in.Prepared.Registration.Provenance.CausedBy; !IsAbsentJSON(c) {
		causedBy = append(json.RawMessage(nil), c...)
	}
	return target, &procreg.WakeDelivery{
		WakeID:          WakeID(scopeID, ev.Wake.DedupeKey),
		TargetSessionID: target.SessionID,
		TargetScopeID:   scopeID,
		ProcessID:       ev.ProcessID,
		Sequence:        ev.Sequence,
		EventType:       ev.EventType,
		ProcessCausedBy: causedBy,
		DedupeKey:       ev.Wake.DedupeKey,
		Input:           ev.Wake.Input,
		CreatedAt:       ev.OccurredAt,
	}
}

// outputKindFor is the await output kind that matches a terminal state.
func outputKindFor(st procreg.TerminalState) string {
	switch st {
	case procreg.StateCompleted:
		return procreg.OutputSuccess
	case procreg.StateFailed:
		return procreg.OutputFailure
	case procreg.StateCancelled:
		return procreg.OutputCancelled
	case procreg.StateAbandoned:
		return procreg.OutputAbandoned
	}
	return ""
}

// materializeTerminal selects the await output of a terminal event.
func materializeTerminal(spec procreg.TerminalSpec, doc any, now time.Time) (procreg.TerminalSemantics, error) {
	v := doc // a completed type without selector uses the whole payload
	if spec.AwaitOutput != nil {
		var err error
		if v, err = evalSelector(*spec.AwaitOutput, doc); err != nil {
			return procreg.TerminalSemantics{}, err
		}
	}
	if out, ok := asAwaitOutput(v, outputKindFor(spec.State)); ok {
		return procreg.TerminalSemantics{State: spec.State, AwaitOutput: out}, nil
	}
	raw, err := encodeJSON(v)
	if err != nil {
		return procreg.TerminalSemantics{}, err
	}
	var out procreg.AwaitOutput
	switch spec.State {
	case procreg.StateCompleted:
		out = procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: raw}
	case procreg.StateFailed, procreg.StateCancelled:
		msg, err := valueString(v)
		if err != nil {
			return procreg.TerminalSemantics{}, err
		}
		if v == nil {
			raw = nil // raw is optional: null means absent
		}
		out = procreg.AwaitOutput{Kind: procreg.OutputFailure, Class: "execution", Code: "process_failed", Message: msg, Raw: raw}
		if spec.State == procreg.StateCancelled {
			out = procreg.AwaitOutput{Kind: procreg.OutputCancelled, Message: msg, Raw: raw}
		}
	case procreg.StateAbandoned:
		out = procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{Writer: procreg.WriterOwnerDrain, At: now}}
	default:
		return procreg.TerminalSemantics{}, fmt.Errorf("unknown terminal state %q", spec.State)
	}
	return procreg.TerminalSemantics{State: spec.State, AwaitOutput: out}, nil
}

// awaitOutputKeys are the JSON keys of AwaitOutput.
var awaitOutputKeys = map[string]bool{"kind": true, "value": true, "class": true, "code": true,
	"message": true, "raw": true, "evidence": true, "control": true}

// asAwaitOutput reports whether v is a structured AwaitOutput of the wanted
// kind: an object with only AwaitOutput keys that decodes cleanly.
func asAwaitOutput(v any, kind string) (procreg.AwaitOutput, bool) {
	obj, ok := v.(map[string]any)
	if !ok || obj["kind"] != kind {
		return procreg.AwaitOutput{}, false
	}
	for k := range obj {
		if !awaitOutputKeys[k] {
			return procreg.AwaitOutput{}, false
		}
	}
	raw, err := encodeJSON(obj)
	if err != nil {
		return procreg.AwaitOutput{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var out procreg.AwaitOutput
	if dec.Decode(&out) != nil {
		return procreg.AwaitOutput{}, false
	}
	out, err = NormalizeAwaitOutput(out)
	if err != nil {
		return procreg.AwaitOutput{}, false
	}
	return out, true
}

// materializeWake computes the wake of an event, or nil when its when
// selector is not truthy.
func materializeWake(spec procreg.WakeSpec, doc any, processID string, seq uint64) (*procreg.Wake, error) {
	if spec.When != nil {
		v, err := evalSelector(*spec.When, doc)
		if err != nil {
			return nil, err
		}
		if !truthy(v) {
			return nil, nil
		}
	}
	iv, err := evalSelector(spec.Input, doc)
	if err != nil {
		return nil, err
	}
	input, err := valueString(iv)
	if err != nil {
		return nil, err
	}
	var key string
	switch spec.DedupeKey.Kind {
	case "", procreg.DedupeEventIdentity:
		key = processID + ":" + strconv.FormatUint(seq, 10)
	case procreg.DedupeSelector:
		if spec.DedupeKey.Selector == nil {
			return nil, fmt.Errorf("selector dedupe key without selector")
		}
		kv, err := evalSelector(*spec.DedupeKey.Selector, doc)
		if err != nil {
			return nil, err
		}
		if key, err = valueString(kv); err != nil {
			return nil, err
		}
	case procreg.DedupeConst:
		key = spec.DedupeKey.Const
	default:
		return nil, fmt.Errorf("unknown dedupe key kind %q", spec.DedupeKey.Kind)
	}
	return &procreg.Wake{Input: input, DedupeKey: key}, nil
}
