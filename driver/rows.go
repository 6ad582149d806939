package driver

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/core"
)

// The lowest time an int64 of epoch milliseconds can hold.
var minMsTime = time.UnixMilli(math.MinInt64)

// ms converts a time to the stored epoch milliseconds (truncating); times
// after procreg.MaxTime or below the int64 range saturate instead of wrapping.
func ms(t time.Time) int64 {
	switch {
	case t.After(procreg.MaxTime):
		return procreg.MaxTime.UnixMilli()
	case t.Before(minMsTime):
		return math.MinInt64
	}
	return t.UnixMilli()
}

// fromMs converts stored epoch milliseconds to a UTC time.
func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

// clampSeq maps a caller's uint64 sequence onto the stored int64 range:
// values above MaxInt64 saturate instead of wrapping negative.
func clampSeq(u uint64) int64 {
	if u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(u)
}

// jsonText encodes v as compact JSON text.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// rawOrNil returns stored JSON text as a RawMessage, nil when absent.
func rawOrNil(s string) json.RawMessage {
	if core.IsAbsentJSON([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}

// newProcessRow is the row of a freshly registered process.
func newProcessRow(p *core.Prepared, now time.Time) ProcessRow {
	r := p.Registration
	row := ProcessRow{
		ID:                    r.ID,
		RegistrationHash:      p.Hash,
		Disposition:           string(r.Disposition),
		InputKind:             string(r.Input.Kind),
		IdentityKind:          r.Identity.Kind,
		DefinitionFingerprint: p.DefinitionFingerprint,
		Spec:                  string(p.Spec),
		CreatedAtMs:           ms(now),
		UpdatedAtMs:           ms(now),
		Status:                procreg.StateRunning,
	}
	if r.WakeTarget != nil {
		row.WakeTargetSession = r.WakeTarget.SessionID
		row.WakeTargetFrame = r.WakeTarget.AgentFrameID
	}
	return row
}

// toRecord maps a process row to a Record that shares no memory with the
// row or with the decoded-spec cache it reads (core.RecordSpec).
func toRecord(row ProcessRow) (procreg.Record, error) {
	reg, err := core.RecordSpec(row.RegistrationHash, row.Spec)
	if err != nil {
		return procreg.Record{}, fmt.Errorf("process %q: %w", row.ID, err)
	}
	rec := procreg.Record{
		ID:               row.ID,
		RegistrationHash: row.RegistrationHash,
		Input:            reg.Input,
		Disposition:      procreg.Disposition(row.Disposition),
		Identity:         reg.Identity,
		EventTypes:       reg.EventTypes,
		Provenance:       reg.Provenance,
		EnvRef:           reg.EnvRef,
		CreatedAt:        fromMs(row.CreatedAtMs),
		UpdatedAt:        fromMs(row.UpdatedAtMs),
		Status:           procreg.Status{State: row.Status},
	}
	if row.WakeTargetSession != "" {
		rec.WakeTarget = &procreg.SessionScope{SessionID: row.WakeTargetSession, AgentFrameID: row.WakeTargetFrame}
	}
	if row.AwaitOutput != "" {
		var out procreg.AwaitOutput
		if err := json.Unmarshal([]byte(row.AwaitOutput), &out); err != nil {
			return procreg.Record{}, fmt.Errorf("process %q: decode stored await output: %w", row.ID, err)
		}
		rec.Status.AwaitOutput = &out
	}
	if row.ExternalRefBackend != "" {
		rec.ExternalRef = &procreg.ExternalRef{Backend: row.ExternalRefBackend, ID: row.ExternalRefID,
			Metadata: rawOrNil(row.ExternalRefMetadata)}
	}
	if row.FirstStartedOwner != "" {
		var o procreg.LeaseOwner
		if err := json.Unmarshal([]byte(row.FirstStartedOwner), &o); err != nil {
			return procreg.Record{}, fmt.Errorf("process %q: decode stored first-started owner: %w", row.ID, err)
		}
		rec.FirstStarted = &procreg.Started{Owner: o, At: fromMs(row.FirstStartedAtMs)}
	}
	if row.AbandonRequested {
		rec.AbandonRequest = &procreg.AbandonRequest{RequestedBy: row.AbandonRequestedBy,
			RequestedAt: fromMs(row.AbandonRequestedAtMs), Reason: row.AbandonReason}
	}
	if row.Waiting {
		rec.Wait = &procreg.WaitState{Kind: row.WaitKind, Name: row.WaitName, EventType: row.WaitEventType,
			Key: row.WaitKey, Ordinal: uint64(row.WaitOrdinal), Since: fromMs(row.WaitSinceMs)}
	}
	return rec, nil
}

// mapRows maps rows with to (a non-nil result, empty when rows is); the
// first error stops it.
func mapRows[R, T any](rows []R, to func(R) (T, error)) ([]T, error) {
	out := make([]T, 0, len(rows))
	for _, row := range rows {
		v, err := to(row)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// setStatus writes a status into a row; a terminal status clears the wait.
func setStatus(row *ProcessRow, st procreg.Status) error {
	row.Status = st.State
	row.AwaitOutput = ""
	if st.AwaitOutput != nil {
		s, err := jsonText(st.AwaitOutput)
		if err != nil {
			return fmt.Errorf("process %q: encode await output: %w", row.ID, err)
		}
		row.AwaitOutput = s
	}
	if st.State != procreg.StateRunning {
		clearWait(row)
	}
	return nil
}

func clearWait(row *ProcessRow) {
	row.Waiting = false
	row.WaitKind, row.WaitName, row.WaitEventType, row.WaitKey = "", "", "", ""
	row.WaitOrdinal, row.WaitSinceMs = 0, 0
}

// eventRow maps a planned event to its row, with the scope its wake
// delivery was addressed to (nil: no delivery) so a replay can rebuild it.
func eventRow(ev procreg.Event, target *procreg.SessionScope) (EventRow, error) {
	row := EventRow{
		ProcessID:    ev.ProcessID,
		Sequence:     clampSeq(ev.Sequence),
		EventType:    ev.EventType,
		Payload:      string(ev.Payload),
		ReplayKey:    ev.ReplayKey,
		OccurredAtMs: ms(ev.OccurredAt),
	}
	if ev.Terminal != nil {
		row.TerminalState = string(ev.Terminal.State)
		s, err := jsonText(ev.Terminal.AwaitOutput)
		if err != nil {
			return EventRow{}, fmt.Errorf("process %q: encode await output: %w", ev.ProcessID, err)
		}
		row.AwaitOutput = s
	}
	if ev.Wake != nil {
		row.HasWake = true
		row.WakeInput = ev.Wake.Input
		row.WakeDedupeKey = ev.Wake.DedupeKey
		if target != nil {
			row.WakeTargetSession, row.WakeTargetFrame = target.SessionID, target.AgentFrameID
		}
	}
	return row, nil
}

// wakeTarget is the scope an event row's wake delivery was addressed to, or
// nil when the event produced no delivery.
func wakeTarget(row EventRow) *procreg.SessionScope {
	if !row.HasWake || row.WakeTargetSession == "" {
		return nil
	}
	return &procreg.SessionScope{SessionID: row.WakeTargetSession, AgentFrameID: row.WakeTargetFrame}
}

// toEvent maps an event row to an Event.
func toEvent(row EventRow) (procreg.Event, error) {
	ev := procreg.Event{
		ProcessID:  row.ProcessID,
		Sequence:   uint64(row.Sequence),
		EventType:  row.EventType,
		Payload:    json.RawMessage(row.Payload),
		ReplayKey:  row.ReplayKey,
		OccurredAt: fromMs(row.OccurredAtMs),
	}
	if row.TerminalState != "" {
		ts := procreg.TerminalSemantics{State: procreg.TerminalState(row.TerminalState)}
		if err := json.Unmarshal([]byte(row.AwaitOutput), &ts.AwaitOutput); err != nil {
			return procreg.Event{}, fmt.Errorf("process %q event %d: decode await output: %w", row.ProcessID, row.Sequence, err)
		}
		ev.Terminal = &ts
	}
	if row.HasWake {
		ev.Wake = &procreg.Wake{Input: row.WakeInput, DedupeKey: row.WakeDedupeKey}
	}
	return ev, nil
}

// leaseState reads the lease columns of a row.
func leaseState(row ProcessRow) (core.LeaseState, error) {
	st := core.LeaseState{FencingToken: uint64(row.LeaseFencingToken)}
	if row.LeaseToken == "" {
		return st, nil
	}
	var o procreg.LeaseOwner
	if row.LeaseOwner != "" {
		if err := json.Unmarshal([]byte(row.LeaseOwner), &o); err != nil {
			return st, fmt.Errorf("process %q: decode lease owner: %w", row.ID, err)
		}
	}
	st.Current = &procreg.Lease{ProcessID: row.ID, Owner: o, Token: row.LeaseToken,
		FencingToken: uint64(row.LeaseFencingToken), ClaimedAt: fromMs(row.LeaseClaimedAtMs),
		ExpiresAt: fromMs(row.LeaseExpiresAtMs)}
	return st, nil
}

// setLease writes a lease state into the lease columns of a row.
func setLease(row *ProcessRow, st core.LeaseState) error {
	row.LeaseFencingToken = clampSeq(st.FencingToken)
	l := st.Current
	if l == nil {
		row.LeaseToken, row.LeaseOwner, row.LeaseOwnerID, row.LeaseIncarnationID = "", "", "", ""
		row.LeaseClaimedAtMs, row.LeaseExpiresAtMs = 0, 0
		return nil
	}
	owner, err := jsonText(l.Owner)
	if err != nil {
		return fmt.Errorf("process %q: encode lease owner: %w", row.ID, err)
	}
	row.LeaseToken, row.LeaseOwner = l.Token, owner
	row.LeaseOwnerID, row.LeaseIncarnationID = l.Owner.OwnerID, l.Owner.IncarnationID
	row.LeaseClaimedAtMs, row.LeaseExpiresAtMs = ms(l.ClaimedAt), ms(l.ExpiresAt)
	return nil
}
