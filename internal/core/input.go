package core

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/procreg/procreg"
)

// This file holds the argument rules every backend shares. Their one rule
// for strings is textProblem: a string the registry stores in a column or
// uses as a key must be valid UTF-8 without U+0000. PostgreSQL TEXT cannot
// hold U+0000 and rejects invalid UTF-8, so without the rule the same call
// would be a storage error there and data everywhere else. Strings inside
// JSON documents (payloads, await outputs, definitions) are not affected:
// JSON text escapes U+0000 as \u0000.

// textProblem says what is wrong with a stored string, or "" when nothing is.
func textProblem(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "contains a NUL character (U+0000)"
	}
	return ""
}

// ValidateText checks a string the registry stores as a column or key
// (ErrInvalid naming the field and the process otherwise): it must be valid
// UTF-8 and must not contain U+0000. Every argument validator applies it to
// the strings it stores.
func ValidateText(processID, field, s string) error {
	if p := textProblem(s); p != "" {
		return fmt.Errorf("%w: process %q: %s %q %s", procreg.ErrInvalid, processID, field, s, p)
	}
	return nil
}

// ValidateName checks a stored name, key or id (see MaxNameBytes): stored
// text (ValidateText) of at most MaxNameBytes bytes.
func ValidateName(processID, field, s string) error {
	return validateBounded(processID, field, s, procreg.MaxNameBytes)
}

func validateBounded(processID, field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: process %q: %s %.40q… is %d bytes, longer than %d", procreg.ErrInvalid, processID, field, s, len(s), max)
	}
	return ValidateText(processID, field, s)
}

// validateNames applies ValidateName to field/value pairs, in order.
func validateNames(processID string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := ValidateName(processID, pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// validateTexts applies ValidateText to field/value pairs, in order.
func validateTexts(processID string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := ValidateText(processID, pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// ValidateProcessID checks a process id, wherever a method takes one: not
// empty or only white space, at most MaxIDBytes bytes of valid UTF-8,
// without U+0000 (ErrInvalid otherwise). Registration trims white space to
// decide emptiness, so a blank id can never name a process; every method
// rejects it the same way instead of reporting it unknown.
func ValidateProcessID(id string) error {
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("%w: process id %q is empty", procreg.ErrInvalid, id)
	}
	if len(id) > procreg.MaxIDBytes {
		return fmt.Errorf("%w: process id %.40q… is %d bytes, longer than %d", procreg.ErrInvalid, id, len(id), procreg.MaxIDBytes)
	}
	if p := textProblem(id); p != "" {
		return fmt.Errorf("%w: process id %q %s", procreg.ErrInvalid, id, p)
	}
	return nil
}

// ValidateScope checks a session scope: its session id must not be blank or
// contain FrameSeparator, both ids are stored text (see ValidateText), and
// its scope id (SessionScope.ID) is at most MaxNameBytes long.
func ValidateScope(s procreg.SessionScope) error {
	if strings.TrimSpace(s.SessionID) == "" {
		return fmt.Errorf("%w: session scope %q has an empty session id", procreg.ErrInvalid, s.ID())
	}
	if strings.Contains(s.SessionID, procreg.FrameSeparator) {
		return fmt.Errorf("%w: session id %q contains %q, which separates session and frame in scope ids", procreg.ErrInvalid, s.SessionID, procreg.FrameSeparator)
	}
	if id := s.ID(); len(id) > procreg.MaxNameBytes {
		return fmt.Errorf("%w: session scope %.40q… is %d bytes, longer than %d", procreg.ErrInvalid, id, len(id), procreg.MaxNameBytes)
	}
	for _, f := range [...]struct{ name, v string }{{"session id", s.SessionID}, {"agent frame id", s.AgentFrameID}} {
		if p := textProblem(f.v); p != "" {
			return fmt.Errorf("%w: session scope %q: %s %s", procreg.ErrInvalid, s.ID(), f.name, p)
		}
	}
	return nil
}

// ValidateSessionID checks the session id of DeleteSessionProcessState: not
// blank, stored text.
func ValidateSessionID(sessionID string) error {
	return ValidateScope(procreg.SessionScope{SessionID: sessionID})
}

// validateScopeOf checks a scope an argument of processID carries.
func validateScopeOf(processID, what string, s procreg.SessionScope) error {
	if err := ValidateScope(s); err != nil {
		return fmt.Errorf("process %q: %s: %w", processID, what, err)
	}
	return nil
}

// ValidateOwnerText checks that every string of a lease owner is stored
// text: owner and incarnation ids are columns, the liveness strings are
// compared as keys.
func ValidateOwnerText(processID string, o procreg.LeaseOwner) error {
	if err := validateNames(processID, "lease owner id", o.OwnerID, "lease incarnation id", o.IncarnationID); err != nil {
		return err
	}
	return validateTexts(processID,
		"liveness kind", o.Liveness.Kind,
		"liveness host id", o.Liveness.HostID,
		"liveness boot id", o.Liveness.BootID,
		"liveness process start", o.Liveness.ProcessStart)
}

// ValidateExternalRef checks an external ref: a backend and an id, both
// stored text. Its metadata is a JSON document (checked when normalized).
func ValidateExternalRef(processID string, ref procreg.ExternalRef) error {
	if ref.Backend == "" || ref.ID == "" {
		return fmt.Errorf("%w: external ref of process %q needs a backend and an id", procreg.ErrInvalid, processID)
	}
	return validateNames(processID, "external ref backend", ref.Backend, "external ref id", ref.ID)
}

// ValidateDescriptor checks a handle descriptor: kind and label are stored text.
func ValidateDescriptor(processID string, d procreg.HandleDescriptor) error {
	if err := ValidateName(processID, "handle descriptor kind", d.Kind); err != nil {
		return err
	}
	return ValidateText(processID, "handle descriptor label", d.Label)
}

// ValidateAbandonRequest checks an abandon request: requested_by and reason
// are stored text.
func ValidateAbandonRequest(processID string, r procreg.AbandonRequest) error {
	if err := ValidateName(processID, "abandon requested_by", r.RequestedBy); err != nil {
		return err
	}
	return ValidateText(processID, "abandon reason", r.Reason)
}

// ValidateWaitState checks a wait state: kind, name, event type and key are
// stored text.
func ValidateWaitState(processID string, w procreg.WaitState) error {
	if err := validateBounded(processID, "wait kind", w.Kind, procreg.MaxWaitKindBytes); err != nil {
		return err
	}
	return validateNames(processID, "wait name", w.Name, "wait event type", w.EventType, "wait key", w.Key)
}

// ValidateStarted checks a first-started fact: its owner's strings are
// stored text.
func ValidateStarted(processID string, s procreg.Started) error {
	return ValidateOwnerText(processID, s.Owner)
}

// ValidateAppendRequest checks the strings of an append before anything is
// looked up: event type and replay key are stored text, and a wake target
// needs a session id. The payload is checked by PlanAppend.
func ValidateAppendRequest(processID string, req procreg.AppendRequest) error {
	if err := validateNames(processID, "event type", req.EventType, "replay key", req.ReplayKey); err != nil {
		return err
	}
	if req.WakeTarget != nil {
		return validateScopeOf(processID, "append "+req.EventType+" wake target", *req.WakeTarget)
	}
	return nil
}

// validateRegistrationText checks the strings of a registration that are
// stored as columns or keys, or compared with stored text: engine kind, env
// ref, identity kind and label, scopes, event type names and const dedupe
// keys. It runs on the caller's registration, before the JSON round trip
// that would silently replace invalid UTF-8.
func validateRegistrationText(reg procreg.Registration) error {
	id := reg.ID
	if err := validateNames(id, "engine kind", reg.Input.EngineKind, "identity kind", reg.Identity.Kind); err != nil {
		return err
	}
	if err := validateTexts(id, "env ref", reg.EnvRef, "identity label", reg.Identity.Label,
		"originator kind", reg.Provenance.Originator.Kind); err != nil {
		return err
	}
	if s := reg.Provenance.Originator.Scope; s != nil {
		if err := validateTexts(id, "originator session id", s.SessionID, "originator agent frame id", s.AgentFrameID); err != nil {
			return err
		}
	}
	if s := reg.WakeTarget; s != nil {
		if err := validateScopeOf(id, "wake target", *s); err != nil {
			return err
		}
	}
	for _, et := range reg.EventTypes {
		if err := ValidateName(id, "event type name", et.Name); err != nil {
			return err
		}
		if w := et.Wake; w != nil {
			if err := ValidateText(id, "event type "+et.Name+" const dedupe key", w.DedupeKey.Const); err != nil {
				return err
			}
		}
	}
	return nil
}
