package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/procreg/procreg"
)

// parsePointer splits an RFC 6901 JSON pointer into unescaped reference
// tokens. "" is the whole document.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("JSON pointer %q must be empty or start with '/'", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		if !strings.Contains(s, "~") {
			continue
		}
		var b strings.Builder
		for j := 0; j < len(s); j++ {
			if s[j] != '~' {
				b.WriteByte(s[j])
				continue
			}
			if j+1 >= len(s) || (s[j+1] != '0' && s[j+1] != '1') {
				return nil, fmt.Errorf("JSON pointer %q has a bad '~' escape", p)
			}
			if s[j+1] == '0' {
				b.WriteByte('~')
			} else {
				b.WriteByte('/')
			}
			j++
		}
		parts[i] = b.String()
	}
	return parts, nil
}

// lookupPointer resolves a parsed pointer in a decoded document.
func lookupPointer(doc any, tokens []string) (any, bool) {
	cur := doc
	for _, tok := range tokens {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[tok]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			// RFC 6901: decimal index without leading zeros; "-" never exists.
			if tok == "" || (len(tok) > 1 && tok[0] == '0') {
				return nil, false
			}
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// validateSelector checks that a selector is well formed: a known kind, a
// valid pointer for pointer/present, valid JSON for const and well-formed
// template fields.
func validateSelector(s procreg.Selector, where string) error {
	switch s.Kind {
	case procreg.SelectorPayload:
	case procreg.SelectorPointer, procreg.SelectorPresent:
		if _, err := parsePointer(s.Pointer); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
	case procreg.SelectorConst:
		if len(s.Const) > 0 {
			if _, err := decodeJSON(s.Const); err != nil {
				return fmt.Errorf("%s: const is not valid JSON: %v", where, err)
			}
		}
	case procreg.SelectorTemplate:
		for name, f := range s.Fields {
			if err := validateSelector(f, where+" field "+strconv.Quote(name)); err != nil {
				return err
			}
		}
	case "":
		return fmt.Errorf("%s: selector kind is empty", where)
	default:
		return fmt.Errorf("%s: unknown selector kind %q", where, s.Kind)
	}
	return nil
}

// errSelectorMissing reports a pointer selector that found nothing.
var errSelectorMissing = errors.New("selector pointer not found in payload")

// evalSelector applies a selector to a decoded payload.
func evalSelector(s procreg.Selector, payload any) (any, error) {
	switch s.Kind {
	case procreg.SelectorPayload:
		return payload, nil
	case procreg.SelectorPointer:
		toks, err := parsePointer(s.Pointer)
		if err != nil {
			return nil, err
		}
		v, ok := lookupPointer(payload, toks)
		if !ok {
			return nil, fmt.Errorf("%w: %q", errSelectorMissing, s.Pointer)
		}
		return v, nil
	case procreg.SelectorPresent:
		toks, err := parsePointer(s.Pointer)
		if err != nil {
			return nil, err
		}
		_, ok := lookupPointer(payload, toks)
		return ok, nil
	case procreg.SelectorConst:
		if len(s.Const) == 0 {
			return nil, nil
		}
		return decodeJSON(s.Const)
	case procreg.SelectorTemplate:
		return evalTemplate(s, payload)
	default:
		return nil, fmt.Errorf("unknown selector kind %q", s.Kind)
	}
}

// evalTemplate replaces every "{name}" whose name is a field with that
// field's value as a string; other text is kept as written.
func evalTemplate(s procreg.Selector, payload any) (string, error) {
	var b strings.Builder
	t := s.Template
	for {
		open := strings.IndexByte(t, '{')
		if open < 0 {
			b.WriteString(t)
			return b.String(), nil
		}
		end := strings.IndexByte(t[open+1:], '}')
		if end < 0 {
			b.WriteString(t)
			return b.String(), nil
		}
		name := t[open+1 : open+1+end]
		f, ok := s.Fields[name]
		if !ok {
			b.WriteString(t[:open+1])
			t = t[open+1:]
			continue
		}
		v, err := evalSelector(f, payload)
		if err != nil {
			return "", err
		}
		str, err := valueString(v)
		if err != nil {
			return "", err
		}
		b.WriteString(t[:open])
		b.WriteString(str)
		t = t[open+2+end:]
	}
}

// valueString is a value "as a string": a JSON string unquoted, anything
// else its compact JSON text.
func valueString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := encodeJSON(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// truthy: not null, not false, not "", not an empty array or object.
// Numbers (zero included) are truthy.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	default:
		return true
	}
}

// SelectString applies a selector to a JSON payload and returns the selected
// value as a string (a JSON string unquoted, anything else compact JSON).
// A pointer that finds nothing is ErrInvalid.
func SelectString(s procreg.Selector, payload json.RawMessage) (string, error) {
	doc, err := decodePayload(payload)
	if err != nil {
		return "", err
	}
	v, err := evalSelector(s, doc)
	if err != nil {
		return "", fmt.Errorf("%w: %v", procreg.ErrInvalid, err)
	}
	return valueString(v)
}

// Truthy reports whether a JSON value is truthy: not null, not false, not
// "", not an empty array or object. Numbers are truthy. Malformed JSON is not.
func Truthy(raw json.RawMessage) bool {
	v, err := decodeJSON(raw)
	return err == nil && truthy(v)
}

// decodePayload decodes an event payload; an absent payload is null.
func decodePayload(payload json.RawMessage) (any, error) {
	if IsAbsentJSON(payload) {
		return nil, nil
	}
	v, err := decodeJSON(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not valid JSON: %v", procreg.ErrInvalid, err)
	}
	return v, nil
}
