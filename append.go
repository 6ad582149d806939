package procreg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// CancelRequested builds the request that records a cancellation request:
// event type process.cancel_requested, payload {"reason": reason} and the
// deterministic replay key "process:<id>:cancel_requested", so a repeated
// request with the same reason is idempotent.
func CancelRequested(processID, reason string) AppendRequest {
	payload, _ := json.Marshal(map[string]string{"reason": reason})
	return AppendRequest{
		EventType: EventCancelRequested,
		Payload:   payload,
		ReplayKey: "process:" + processID + ":cancel_requested",
	}
}

// CompletionEventType maps an await output kind to its core terminal event type.
func CompletionEventType(kind string) (string, bool) {
	switch kind {
	case OutputSuccess:
		return EventCompleted, true
	case OutputFailure:
		return EventFailed, true
	case OutputCancelled:
		return EventCancelled, true
	case OutputAbandoned:
		return EventAbandoned, true
	}
	return "", false
}

// CompletionRequest builds the append CompleteProcess performs: the terminal
// event for out.Kind with payload {"await_output": out} and the replay key
// "process:<id>:terminal:<event type>".
func CompletionRequest(processID string, out AwaitOutput) (AppendRequest, error) {
	eventType, ok := CompletionEventType(out.Kind)
	if !ok {
		return AppendRequest{}, fmt.Errorf("%w: completion of process %q: unknown await output kind %q", ErrInvalid, processID, out.Kind)
	}
	n, err := NormalizeAwaitOutput(out)
	if err != nil {
		return AppendRequest{}, fmt.Errorf("completion of process %q: %w", processID, err)
	}
	payload, err := json.Marshal(map[string]AwaitOutput{"await_output": n})
	if err != nil {
		return AppendRequest{}, fmt.Errorf("%w: completion of process %q: %v", ErrInvalid, processID, err)
	}
	return AppendRequest{
		EventType: eventType,
		Payload:   payload,
		ReplayKey: "process:" + processID + ":terminal:" + eventType,
	}, nil
}

// NormalizeAwaitOutput validates an await output (known kind, known evidence
// writer), normalizes its optional JSON fields (absent → nil) and truncates
// its evidence time to the millisecond in UTC.
func NormalizeAwaitOutput(out AwaitOutput) (AwaitOutput, error) {
	switch out.Kind {
	case OutputSuccess, OutputFailure, OutputCancelled, OutputAbandoned:
	default:
		return AwaitOutput{}, fmt.Errorf("%w: unknown await output kind %q", ErrInvalid, out.Kind)
	}
	var err error
	if len(out.Value) > 0 {
		if out.Value, err = CanonicalJSON(out.Value); err != nil {
			return AwaitOutput{}, fmt.Errorf("await output value: %w", err)
		}
	}
	if out.Raw, err = NormalizeOptionalJSON(out.Raw); err != nil {
		return AwaitOutput{}, fmt.Errorf("await output raw: %w", err)
	}
	if out.Control, err = NormalizeOptionalJSON(out.Control); err != nil {
		return AwaitOutput{}, fmt.Errorf("await output control: %w", err)
	}
	if out.Evidence != nil {
		ev := *out.Evidence
		switch ev.Writer {
		case WriterOwnerDrain, WriterSweep, WriterReconciledRequest:
		default:
			return AwaitOutput{}, fmt.Errorf("%w: unknown abandon evidence writer %q", ErrInvalid, ev.Writer)
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
	WakeTarget *SessionScope
	// LastSequence is the highest stored sequence (0 before the first event).
	LastSequence uint64
	// Replayed is the event already stored under the request's replay key,
	// or nil when there is none (or the request has no key).
	Replayed *Event
	// ReplayedWakeTarget is the scope Replayed's wake delivery was addressed
	// to when it was appended (the plan's WakeTarget then, stored with the
	// event), or nil when it produced no delivery. A replay re-materializes
	// that delivery: the current and the requested targets do not matter.
	ReplayedWakeTarget *SessionScope
	// Now is the event time (already truncated to the millisecond).
	Now time.Time
}

// AppendPlan is what an append must write and return.
type AppendPlan struct {
	// Event is the event to insert (Insert) or the replayed stored event.
	Event Event
	// Insert is false when the request replays a stored event.
	Insert bool
	// Status, when non-nil, is the process's new status: a fresh terminal
	// event, or the repair of a replayed terminal event on a running process.
	Status *Status
	// WakeDelivery is the delivery the event materialized, if it has a target.
	WakeDelivery *WakeDelivery
	// WakeTarget is the scope WakeDelivery is addressed to (nil when there is
	// no delivery). It is stored with an inserted event and handed back as
	// AppendInput.ReplayedWakeTarget on replay.
	WakeTarget *SessionScope
}

// PlanAppend decides an append, checking in the order of the contract:
// replay (same type and payload → the stored event; different →
// ErrReplayConflict), declared type, replay key requirement, payload schema,
// semantics, and terminal-on-terminal (ErrTerminal). Errors name the process.
func PlanAppend(in AppendInput, req AppendRequest) (AppendPlan, error) {
	id := in.ProcessID
	if err := ValidateAppendRequest(id, req); err != nil {
		return AppendPlan{}, err
	}
	payload := []byte("null")
	if len(bytes.TrimSpace(req.Payload)) > 0 {
		// JSON text is UTF-8 (RFC 8259); the payload is stored as written,
		// and PostgreSQL TEXT rejects invalid UTF-8.
		if !json.Valid(req.Payload) || !utf8.Valid(req.Payload) {
			return AppendPlan{}, fmt.Errorf("%w: append %q to process %q: payload is not valid JSON", ErrInvalid, req.EventType, id)
		}
		if err := CheckNumbers(req.Payload); err != nil {
			return AppendPlan{}, fmt.Errorf("append %q to process %q: payload: %w", req.EventType, id, err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, req.Payload); err != nil {
			return AppendPlan{}, fmt.Errorf("%w: append %q to process %q: %v", ErrInvalid, req.EventType, id, err)
		}
		payload = buf.Bytes()
	}

	if ev := in.Replayed; ev != nil {
		if ev.EventType != req.EventType || !JSONEqual(ev.Payload, payload) {
			return AppendPlan{}, fmt.Errorf("%w: process %q: replay key %q is stored with event %d (%s) and another payload or type",
				ErrReplayConflict, id, req.ReplayKey, ev.Sequence, ev.EventType)
		}
		plan := AppendPlan{Event: *ev}
		if ev.Terminal != nil && !isTerminalState(in.State) {
			plan.Status = &Status{State: string(ev.Terminal.State), AwaitOutput: ptr(ev.Terminal.AwaitOutput)}
		}
		// The same delivery as the original append: its stored target and
		// time, even if the record's target was cleared or the request
		// names another one since.
		plan.WakeTarget, plan.WakeDelivery = delivery(in, in.ReplayedWakeTarget, *ev)
		return plan, nil
	}

	et, ok := in.Prepared.EventType(req.EventType)
	if !ok {
		return AppendPlan{}, fmt.Errorf("%w: process %q does not declare event type %q", ErrInvalid, id, req.EventType)
	}
	if (et.Terminal != nil || et.Name == EventCancelRequested) && req.ReplayKey == "" {
		return AppendPlan{}, fmt.Errorf("%w: append %q to process %q: this event type requires a replay key", ErrInvalid, et.Name, id)
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
			return AppendPlan{}, fmt.Errorf("%w: append %q to process %q: payload does not match the schema: %v", ErrInvalid, et.Name, id, err)
		}
	}
	ev := Event{
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
				return AppendPlan{}, fmt.Errorf("%w: append %q to process %q: terminal semantics: %v", ErrInvalid, et.Name, id, err)
			}
			ev.Terminal = &ts
		}
		if et.Wake != nil {
			w, err := materializeWake(*et.Wake, doc, id, ev.Sequence)
			if err != nil {
				return AppendPlan{}, fmt.Errorf("%w: append %q to process %q: wake semantics: %v", ErrInvalid, et.Name, id, err)
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
		return AppendPlan{}, fmt.Errorf("%w: process %q is already %s; cannot append terminal event %q", ErrTerminal, id, in.State, et.Name)
	}
	plan := AppendPlan{Event: ev, Insert: true}
	if ev.Terminal != nil {
		plan.Status = &Status{State: string(ev.Terminal.State), AwaitOutput: ptr(ev.Terminal.AwaitOutput)}
	}
	target := req.WakeTarget
	if target == nil {
		target = in.WakeTarget
	}
	plan.WakeTarget, plan.WakeDelivery = delivery(in, target, ev)
	return plan, nil
}

func ptr[T any](v T) *T { return &v }

func isTerminalState(s string) bool { return s != "" && s != StateRunning }

// delivery materializes the wake delivery of an event that has wake
// semantics, addressed to target, created at the event's time. It returns
// (a copy of) the target it used, or nils when there is no delivery.
func delivery(in AppendInput, target *SessionScope, ev Event) (*SessionScope, *WakeDelivery) {
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
	return target, &WakeDelivery{
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
func outputKindFor(st TerminalState) string {
	switch st {
	case StateCompleted:
		return OutputSuccess
	case StateFailed:
		return OutputFailure
	case StateCancelled:
		return OutputCancelled
	case StateAbandoned:
		return OutputAbandoned
	}
	return ""
}

// materializeTerminal selects the await output of a terminal event.
func materializeTerminal(spec TerminalSpec, doc any, now time.Time) (TerminalSemantics, error) {
	v := doc // a completed type without selector uses the whole payload
	if spec.AwaitOutput != nil {
		var err error
		if v, err = evalSelector(*spec.AwaitOutput, doc); err != nil {
			return TerminalSemantics{}, err
		}
	}
	if out, ok := asAwaitOutput(v, outputKindFor(spec.State)); ok {
		return TerminalSemantics{State: spec.State, AwaitOutput: out}, nil
	}
	raw, err := encodeJSON(v)
	if err != nil {
		return TerminalSemantics{}, err
	}
	var out AwaitOutput
	switch spec.State {
	case StateCompleted:
		out = AwaitOutput{Kind: OutputSuccess, Value: raw}
	case StateFailed, StateCancelled:
		msg, err := valueString(v)
		if err != nil {
			return TerminalSemantics{}, err
		}
		if v == nil {
			raw = nil // raw is optional: null means absent
		}
		out = AwaitOutput{Kind: OutputFailure, Class: "execution", Code: "process_failed", Message: msg, Raw: raw}
		if spec.State == StateCancelled {
			out = AwaitOutput{Kind: OutputCancelled, Message: msg, Raw: raw}
		}
	case StateAbandoned:
		out = AwaitOutput{Kind: OutputAbandoned, Evidence: &AbandonEvidence{Writer: WriterOwnerDrain, At: now}}
	default:
		return TerminalSemantics{}, fmt.Errorf("unknown terminal state %q", spec.State)
	}
	return TerminalSemantics{State: spec.State, AwaitOutput: out}, nil
}

// awaitOutputKeys are the JSON keys of AwaitOutput.
var awaitOutputKeys = map[string]bool{"kind": true, "value": true, "class": true, "code": true,
	"message": true, "raw": true, "evidence": true, "control": true}

// asAwaitOutput reports whether v is a structured AwaitOutput of the wanted
// kind: an object with only AwaitOutput keys that decodes cleanly.
func asAwaitOutput(v any, kind string) (AwaitOutput, bool) {
	obj, ok := v.(map[string]any)
	if !ok || obj["kind"] != kind {
		return AwaitOutput{}, false
	}
	for k := range obj {
		if !awaitOutputKeys[k] {
			return AwaitOutput{}, false
		}
	}
	raw, err := encodeJSON(obj)
	if err != nil {
		return AwaitOutput{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var out AwaitOutput
	if dec.Decode(&out) != nil {
		return AwaitOutput{}, false
	}
	out, err = NormalizeAwaitOutput(out)
	if err != nil {
		return AwaitOutput{}, false
	}
	return out, true
}

// materializeWake computes the wake of an event, or nil when its when
// selector is not truthy.
func materializeWake(spec WakeSpec, doc any, processID string, seq uint64) (*Wake, error) {
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
	case "", DedupeEventIdentity:
		key = processID + ":" + strconv.FormatUint(seq, 10)
	case DedupeSelector:
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
	case DedupeConst:
		key = spec.DedupeKey.Const
	default:
		return nil, fmt.Errorf("unknown dedupe key kind %q", spec.DedupeKey.Kind)
	}
	return &Wake{Input: input, DedupeKey: key}, nil
}
