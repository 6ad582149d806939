package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/procreg/procreg"
)

// decodeJSON decodes one JSON value, keeping numbers as json.Number so that
// their text survives a round trip. Trailing data is an error.
func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

// encodeJSON encodes a decoded value (what decodeJSON returns: maps,
// slices, strings, json.Number, bools and nil) compactly with sorted object
// keys and without HTML escaping, byte for byte what encoding/json's
// Encoder with SetEscapeHTML(false) writes (FuzzEncodeJSONMatchesEncodingJSON
// holds it to that), without its reflection and map sorting costs: every
// registration hash is computed through it. A value of any other type is
// left to encoding/json.
func encodeJSON(v any) ([]byte, error) {
	return appendJSON(make([]byte, 0, 256), v)
}

func appendJSON(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case string:
		return appendJSONString(dst, x), nil
	case json.Number:
		if x == "" {
			return append(dst, '0'), nil // as encoding/json writes it
		}
		if simpleNumber(string(x)) {
			return append(dst, x...), nil
		}
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendJSON(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendJSONString(dst, k), ':')
			var err error
			if dst, err = appendJSON(dst, x[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

// simpleNumber reports whether s is one JSON number and nothing else (the
// literals decodeJSON and canonicalNumber make); encoding/json judges
// anything else.
func simpleNumber(s string) bool {
	first, last := s[0], s[len(s)-1]
	return (first == '-' || '0' <= first && first <= '9') && '0' <= last && last <= '9' && json.Valid([]byte(s))
}

// appendJSONString writes s as a JSON string the way encoding/json does
// without HTML escaping: \b \f \n \r \t and \" \\ by name, other control
// bytes as \u00xx, invalid UTF-8 as \ufffd, and U+2028/U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// CanonicalJSON returns the canonical encoding of a JSON value: object keys
// sorted, no insignificant whitespace, no HTML escaping, and each number in
// the one form of its exact decimal value (1, 1.0, 1e0 and 10e-1 all become
// 1; 1e21 becomes 1e+21; big integers and long decimals keep every digit).
// Two values are equal by meaning when their canonical encodings are equal;
// the registration hash, replay and external-ref comparisons and definition
// filters all use it.
// JSON text must be UTF-8 (RFC 8259): invalid UTF-8 is ErrInvalid rather
// than silently replaced by U+FFFD. Numbers out of the registry's range
// (CheckNumbers) are ErrInvalid too.
func CanonicalJSON(raw []byte) ([]byte, error) {
	if !utf8.Valid(raw) {
		return nil, fmt.Errorf("%w: malformed JSON: not valid UTF-8", procreg.ErrInvalid)
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed JSON: %v", procreg.ErrInvalid, err)
	}
	if err := CheckNumbers(raw); err != nil {
		return nil, err
	}
	return encodeJSON(canonicalNumbers(v))
}

// MarshalCanonical encodes v with encoding/json and canonicalizes the result.
func MarshalCanonical(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot encode JSON: %v", procreg.ErrInvalid, err)
	}
	return CanonicalJSON(raw)
}

// IsAbsentJSON reports whether an optional JSON field is absent: nil, empty
// (or only whitespace) and the literal null all mean absent.
func IsAbsentJSON(raw []byte) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// NormalizeOptionalJSON returns nil for an absent optional JSON field and the
// canonical encoding otherwise. Malformed JSON is ErrInvalid.
func NormalizeOptionalJSON(raw []byte) (json.RawMessage, error) {
	if IsAbsentJSON(raw) {
		return nil, nil
	}
	c, err := CanonicalJSON(raw)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// JSONEqual reports whether two JSON values are equal by meaning. Absent
// values (nil, empty, null) equal each other; malformed JSON equals nothing.
func JSONEqual(a, b []byte) bool {
	if IsAbsentJSON(a) || IsAbsentJSON(b) {
		return IsAbsentJSON(a) && IsAbsentJSON(b)
	}
	ca, err := CanonicalJSON(a)
	if err != nil {
		return false
	}
	cb, err := CanonicalJSON(b)
	if err != nil {
		return false
	}
	return bytes.Equal(ca, cb)
}

// DefinitionFingerprint is the hex SHA-256 of the canonical definition, or
// "" when the definition is absent. Backends index it so that listing by
// definition compares by meaning.
func DefinitionFingerprint(def json.RawMessage) (string, error) {
	n, err := NormalizeOptionalJSON(def)
	if err != nil || n == nil {
		return "", err
	}
	return sha256Hex(n), nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
