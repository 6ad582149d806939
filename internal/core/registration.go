package core

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/procreg/procreg"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// AwaitOutputPointer is the pointer the core terminal types select their
// await output with.
const AwaitOutputPointer = "/await_output"

// CoreEventTypes returns the core event types, in the order registration
// appends them.
func CoreEventTypes() []procreg.EventType {
	term := func(name string, st procreg.TerminalState) procreg.EventType {
		return procreg.EventType{Name: name, Terminal: &procreg.TerminalSpec{State: st,
			AwaitOutput: &procreg.Selector{Kind: procreg.SelectorPointer, Pointer: AwaitOutputPointer}}}
	}
	return []procreg.EventType{
		{Name: procreg.EventCancelRequested},
		{Name: procreg.EventWaiting},
		{Name: procreg.EventResumed},
		term(procreg.EventCompleted, procreg.StateCompleted),
		term(procreg.EventFailed, procreg.StateFailed),
		term(procreg.EventCancelled, procreg.StateCancelled),
		term(procreg.EventAbandoned, procreg.StateAbandoned),
	}
}

// coreCanonical is the canonical JSON of each core event type by name, the
// only spelling a registration may declare one with. The core types never
// change, so they are encoded once, not per registration.
var coreCanonical = sync.OnceValues(func() (map[string][]byte, error) {
	core := make(map[string][]byte, 7)
	for _, et := range CoreEventTypes() {
		b, err := MarshalCanonical(et)
		if err != nil {
			return nil, err
		}
		core[et.Name] = b
	}
	return core, nil
})

// Prepared is a validated registration ready to store: core event types
// added, default identity derived, optional JSON normalized. It carries the
// registration hash, the definition fingerprint and the compiled payload
// schemas. A Prepared is immutable and safe to share.
type Prepared struct {
	// Registration is the normalized registration. Do not modify it.
	Registration procreg.Registration
	// Spec is the canonical JSON of Registration; it is what is hashed and
	// what backends store as the process spec.
	Spec []byte
	// Hash is the hex SHA-256 of Spec.
	Hash string
	// DefinitionFingerprint is the hex SHA-256 of the canonical identity
	// definition, or "" when it is absent.
	DefinitionFingerprint string

	types   map[string]int
	schemas map[string]*jsonschema.Schema
}

// EventType returns the declared event type with the given name.
func (p *Prepared) EventType(name string) (procreg.EventType, bool) {
	i, ok := p.types[name]
	if !ok {
		return procreg.EventType{}, false
	}
	return p.Registration.EventTypes[i], true
}

// preparedCache keeps prepared registrations by hash so that appends decode
// a stored spec and compile its schemas once, not per append.
var preparedCache = newLRU[string, *Prepared](1024)

// PrepareRegistration validates a registration and prepares it for storage
// (see Prepared). Every rule violation is ErrInvalid naming the process.
func PrepareRegistration(reg procreg.Registration) (*Prepared, error) {
	if err := ValidateProcessID(reg.ID); err != nil {
		return nil, err
	}
	if err := validateRegistrationText(reg); err != nil {
		return nil, err
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: registration of process %q: %s", procreg.ErrInvalid, reg.ID, fmt.Sprintf(format, a...))
	}
	// A JSON round trip deep-copies the caller's registration and rejects
	// malformed JSON fields in one step.
	raw, err := json.Marshal(reg)
	if err != nil {
		return nil, fail("malformed JSON field: %v", err)
	}
	var r procreg.Registration
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fail("%v", err)
	}
	r.ID = reg.ID

	switch r.Disposition {
	case procreg.DispositionRerunnable, procreg.DispositionOwnerBound, procreg.DispositionExternallyOwned:
	case "":
		return nil, fail("disposition is required")
	default:
		return nil, fail("unknown disposition %q", r.Disposition)
	}
	switch r.Input.Kind {
	case procreg.InputTool, procreg.InputEngine, procreg.InputSessionTurn, procreg.InputExternal:
	case "":
		return nil, fail("input kind is required")
	default:
		return nil, fail("unknown input kind %q", r.Input.Kind)
	}
	if r.Input.Kind == procreg.InputEngine {
		if strings.TrimSpace(r.Input.EngineKind) == "" {
			return nil, fail("engine input needs an engine_kind")
		}
	} else if r.Input.EngineKind != "" {
		return nil, fail("engine_kind %q is only allowed for engine input", r.Input.EngineKind)
	}
	switch r.Input.Kind {
	case procreg.InputTool, procreg.InputEngine:
		if strings.TrimSpace(r.EnvRef) == "" {
			return nil, fail("%s input needs an env_ref", r.Input.Kind)
		}
	default:
		if r.EnvRef != "" {
			return nil, fail("env_ref is not allowed for %s input", r.Input.Kind)
		}
	}
	if len(r.Input.Payload) > 0 {
		if r.Input.Payload, err = CanonicalJSON(r.Input.Payload); err != nil {
			return nil, fail("input payload: %v", err)
		}
	}
	if r.Identity.Kind == "" {
		r.Identity.Kind, r.Identity.Label = defaultIdentity(r.Input, r.Identity.Label)
	}
	if r.Identity.Definition, err = NormalizeOptionalJSON(r.Identity.Definition); err != nil {
		return nil, fail("identity definition: %v", err)
	}
	if r.Provenance.CausedBy, err = NormalizeOptionalJSON(r.Provenance.CausedBy); err != nil {
		return nil, fail("provenance caused_by: %v", err)
	}
	switch r.Provenance.Originator.Kind {
	case "", procreg.OriginatorHost, procreg.OriginatorSession:
	default:
		return nil, fail("unknown originator kind %q", r.Provenance.Originator.Kind)
	}
	if r.WakeTarget != nil && strings.TrimSpace(r.WakeTarget.SessionID) == "" {
		return nil, fail("wake target has an empty session id")
	}

	core, err := coreCanonical()
	if err != nil {
		return nil, fail("%v", err)
	}
	seen := make(map[string]bool, len(r.EventTypes)+7)
	declared := r.EventTypes[:0:0]
	for i := range r.EventTypes {
		et := &r.EventTypes[i]
		if strings.TrimSpace(et.Name) == "" {
			return nil, fail("event type #%d has an empty name", i+1)
		}
		if seen[et.Name] {
			return nil, fail("event type %q is declared twice", et.Name)
		}
		seen[et.Name] = true
		if err := normalizeEventType(et); err != nil {
			return nil, fail("%v", err)
		}
		if want, isCore := core[et.Name]; isCore {
			// A core type means what the core says (CompleteProcess and
			// cancellation rely on it): it may only be declared as built in
			// (as MarshalCanonical(CoreEventTypes()) spells it, after the
			// normalization above, so a payload schema {} or true is no
			// schema), and is then the same registration as leaving it out.
			got, err := MarshalCanonical(*et)
			if err != nil {
				return nil, fail("%v", err)
			}
			if string(got) != string(want) {
				return nil, fail("core event type %q must be declared as built in (%s) or left out; got %s", et.Name, want, got)
			}
			continue
		}
		declared = append(declared, *et)
	}
	r.EventTypes = append(declared, CoreEventTypes()...)

	spec, err := MarshalCanonical(r)
	if err != nil {
		return nil, fail("%v", err)
	}
	p, err := newPrepared(r, spec, sha256Hex(spec))
	if err != nil {
		return nil, fail("%v", err)
	}
	preparedCache.put(p.Hash, p)
	return p, nil
}

// LoadPrepared returns the prepared form of a stored spec, from a bounded
// cache keyed by the registration hash (decoding and compiling on a miss).
func LoadPrepared(hash string, spec []byte) (*Prepared, error) {
	if p, ok := preparedCache.get(hash); ok {
		return p, nil
	}
	r, err := DecodeSpec(spec)
	if err != nil {
		return nil, err
	}
	p, err := newPrepared(r, spec, hash)
	if err != nil {
		return nil, fmt.Errorf("stored spec of process %q: %w", r.ID, err)
	}
	preparedCache.put(hash, p)
	return p, nil
}

// DecodeSpec decodes a stored spec (Prepared.Spec) into a fresh Registration
// that shares no memory with anything else.
func DecodeSpec(spec []byte) (procreg.Registration, error) {
	var r procreg.Registration
	if err := json.Unmarshal(spec, &r); err != nil {
		return procreg.Registration{}, fmt.Errorf("decode stored process spec: %w", err)
	}
	return r, nil
}

func newPrepared(r procreg.Registration, spec []byte, hash string) (*Prepared, error) {
	fp, err := DefinitionFingerprint(r.Identity.Definition)
	if err != nil {
		return nil, err
	}
	p := &Prepared{Registration: r, Spec: spec, Hash: hash, DefinitionFingerprint: fp,
		types: make(map[string]int, len(r.EventTypes))}
	for i, et := range r.EventTypes {
		p.types[et.Name] = i
		if et.PayloadSchema == nil {
			continue
		}
		s, err := compileSchema(et.PayloadSchema)
		if err != nil {
			return nil, fmt.Errorf("event type %q: payload schema is not a valid JSON Schema: %v", et.Name, err)
		}
		if p.schemas == nil {
			p.schemas = make(map[string]*jsonschema.Schema)
		}
		p.schemas[et.Name] = s
	}
	return p, nil
}

// normalizeEventType validates one declared event type and canonicalizes its
// JSON fields in place.
func normalizeEventType(et *procreg.EventType) error {
	var err error
	if et.PayloadSchema, err = NormalizeOptionalJSON(et.PayloadSchema); err != nil {
		return fmt.Errorf("event type %q: payload schema: %v", et.Name, err)
	}
	// {} and true accept every payload, as no schema does: one spelling
	// keeps the hash and the core-type comparison from telling them apart.
	if s := string(et.PayloadSchema); s == "{}" || s == "true" {
		et.PayloadSchema = nil
	}
	if t := et.Terminal; t != nil {
		switch t.State {
		case procreg.StateCompleted, procreg.StateFailed, procreg.StateCancelled, procreg.StateAbandoned:
		default:
			return fmt.Errorf("event type %q: unknown terminal state %q", et.Name, t.State)
		}
		if t.AwaitOutput == nil && t.State != procreg.StateCompleted {
			return fmt.Errorf("event type %q: a %s terminal type must declare an await_output selector", et.Name, t.State)
		}
		if t.AwaitOutput != nil {
			if err := normalizeSelector(t.AwaitOutput, "event type "+et.Name+" await_output"); err != nil {
				return err
			}
		}
	}
	if w := et.Wake; w != nil {
		where := "event type " + et.Name + " wake"
		if w.When != nil {
			if err := normalizeSelector(w.When, where+" when"); err != nil {
				return err
			}
		}
		if err := normalizeSelector(&w.Input, where+" input"); err != nil {
			return err
		}
		switch w.DedupeKey.Kind {
		case "", procreg.DedupeEventIdentity, procreg.DedupeConst:
		case procreg.DedupeSelector:
			if w.DedupeKey.Selector == nil {
				return fmt.Errorf("%s: a selector dedupe key needs a selector", where)
			}
			if err := normalizeSelector(w.DedupeKey.Selector, where+" dedupe key"); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unknown dedupe key kind %q", where, w.DedupeKey.Kind)
		}
	}
	return nil
}

// normalizeSelector validates a selector and canonicalizes its constants.
func normalizeSelector(s *procreg.Selector, where string) error {
	if err := validateSelector(*s, where); err != nil {
		return err
	}
	if len(s.Const) > 0 {
		c, err := CanonicalJSON(s.Const)
		if err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		s.Const = c
	}
	for name, f := range s.Fields {
		if err := normalizeSelector(&f, where); err != nil {
			return err
		}
		s.Fields[name] = f
	}
	return nil
}

// defaultIdentity derives the identity kind (and, for external input, the
// label) from the input. A label the caller set is kept.
func defaultIdentity(in procreg.ProcessInput, label string) (kind, outLabel string) {
	switch in.Kind {
	case procreg.InputEngine:
		kind = in.EngineKind
	default:
		kind = string(in.Kind)
	}
	if label != "" || in.Kind != procreg.InputExternal || IsAbsentJSON(in.Payload) {
		return kind, label
	}
	var obj map[string]any
	if json.Unmarshal(in.Payload, &obj) != nil {
		return kind, label
	}
	for _, key := range []string{"label", "name", "title"} {
		if s, ok := obj[key].(string); ok && s != "" {
			return kind, s
		}
	}
	return kind, label
}
