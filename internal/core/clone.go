package core

import (
	"bytes"
	"encoding/json"
	"maps"

	"github.com/procreg/procreg"
)

// specCache keeps decoded stored specs by registration hash, for the reads
// that build records (RecordSpec): a process read again is not decoded
// again. It holds only what a record needs, not the compiled schemas of
// preparedCache, so it can be larger.
var specCache = newLRU[string, *procreg.Registration](4096)

// RecordSpec returns the registration stored as spec (hash is its hash, as
// the row stores it) for building a record: a deep copy the caller owns,
// taken from the prepared cache or the spec cache when the hash is there,
// and decoded (once, then cached) otherwise. Listings fill the cache too:
// a page read again and again (a dashboard, a poller) decodes nothing, and
// a long scan costs at most the cache's bounded size, whatever it reads.
func RecordSpec(hash, spec string) (procreg.Registration, error) {
	if p, ok := preparedCache.get(hash); ok {
		return CloneRegistration(p.Registration), nil
	}
	if r, ok := specCache.get(hash); ok {
		return CloneRegistration(*r), nil
	}
	r, err := DecodeSpec([]byte(spec))
	if err != nil {
		return procreg.Registration{}, err
	}
	cached := CloneRegistration(r)
	specCache.put(hash, &cached)
	return r, nil
}

// CloneRegistration returns a deep copy of r: no slice, map, pointer or
// JSON text of the copy is shared with r.
func CloneRegistration(r procreg.Registration) procreg.Registration {
	c := r
	c.Input.Payload = cloneRaw(r.Input.Payload)
	c.Identity.Definition = cloneRaw(r.Identity.Definition)
	c.Provenance.CausedBy = cloneRaw(r.Provenance.CausedBy)
	if s := r.Provenance.Originator.Scope; s != nil {
		scope := *s
		c.Provenance.Originator.Scope = &scope
	}
	if r.WakeTarget != nil {
		w := *r.WakeTarget
		c.WakeTarget = &w
	}
	if r.EventTypes != nil {
		c.EventTypes = make([]procreg.EventType, len(r.EventTypes))
		for i, et := range r.EventTypes {
			c.EventTypes[i] = cloneEventType(et)
		}
	}
	return c
}

func cloneEventType(et procreg.EventType) procreg.EventType {
	c := et
	c.PayloadSchema = cloneRaw(et.PayloadSchema)
	if t := et.Terminal; t != nil {
		term := procreg.TerminalSpec{State: t.State, AwaitOutput: cloneSelectorPtr(t.AwaitOutput)}
		c.Terminal = &term
	}
	if w := et.Wake; w != nil {
		wake := procreg.WakeSpec{
			When:  cloneSelectorPtr(w.When),
			Input: cloneSelector(w.Input),
			DedupeKey: procreg.DedupeKey{Kind: w.DedupeKey.Kind, Const: w.DedupeKey.Const,
				Selector: cloneSelectorPtr(w.DedupeKey.Selector)},
		}
		c.Wake = &wake
	}
	return c
}

func cloneSelectorPtr(s *procreg.Selector) *procreg.Selector {
	if s == nil {
		return nil
	}
	c := cloneSelector(*s)
	return &c
}

func cloneSelector(s procreg.Selector) procreg.Selector {
	c := s
	c.Const = cloneRaw(s.Const)
	if s.Fields != nil {
		c.Fields = make(map[string]procreg.Selector, len(s.Fields))
		for k, v := range maps.All(s.Fields) {
			c.Fields[k] = cloneSelector(v)
		}
	}
	return c
}

// cloneRaw copies JSON text, keeping nil as nil.
func cloneRaw(b json.RawMessage) json.RawMessage {
	if b == nil {
		return nil
	}
	return bytes.Clone(b)
}
