package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// encodeJSON encodes a decoded value compactly with sorted object keys and
// without HTML escaping.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
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
