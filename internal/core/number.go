package core

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/procreg/procreg"
)

// canonicalNumbers replaces, in place, every json.Number in a decoded value
// by its canonical text (see canonicalNumber), so that numbers compare by
// value: 1, 1.0, 1e0 and 10e-1 encode alike.
func canonicalNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return json.Number(canonicalNumber(string(x)))
	case []any:
		for i := range x {
			x[i] = canonicalNumbers(x[i])
		}
	case map[string]any:
		for k, e := range x {
			x[k] = canonicalNumbers(e)
		}
	}
	return v
}

// canonicalNumber rewrites a JSON number literal (already validated by the
// decoder) to the one text of its exact decimal value, computed on its
// digits, never through float64 (which would merge distinct big integers
// and long decimals): the significant digits without leading or trailing
// zeros, placed like JavaScript's Number#toString does (plain when the
// decimal point falls within 21 digits left or 6 digits right of them,
// otherwise d.ddde±x). Zero, negative zero included, is "0". The exponent
// is a big.Int, so "1e999999999999999999999" is exact and cheap.
func canonicalNumber(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expText, _ := strings.Cut(strings.ToLower(s), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return "0"
	}
	// value = digits × 10^exp
	exp := new(big.Int)
	if expText != "" {
		if _, ok := exp.SetString(strings.TrimPrefix(expText, "+"), 10); !ok {
			return s // unreachable for decoder-validated literals
		}
	}
	exp.Sub(exp, big.NewInt(int64(len(frac))))
	trimmed := strings.TrimRight(digits, "0")
	exp.Add(exp, big.NewInt(int64(len(digits)-len(trimmed))))
	digits = trimmed

	// point is where the decimal point falls relative to the digits' start.
	point := new(big.Int).Add(exp, big.NewInt(int64(len(digits))))
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case point.IsInt64() && point.Int64() > 0 && point.Int64() <= 21:
		p := int(point.Int64())
		if p >= len(digits) {
			b.WriteString(digits)
			b.WriteString(strings.Repeat("0", p-len(digits)))
		} else {
			b.WriteString(digits[:p])
			b.WriteByte('.')
			b.WriteString(digits[p:])
		}
	case point.IsInt64() && point.Int64() <= 0 && point.Int64() > -6:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", int(-point.Int64())))
		b.WriteString(digits)
	default:
		b.WriteString(digits[:1])
		if len(digits) > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		e := point.Sub(point, big.NewInt(1))
		b.WriteByte('e')
		if e.Sign() > 0 {
			b.WriteByte('+')
		}
		b.WriteString(e.String())
	}
	return b.String()
}

// CheckNumbers reports, as ErrInvalid, the first number literal in the JSON
// text raw that is longer than MaxNumberBytes or whose decimal exponent is
// beyond ±MaxNumberExponent, naming its byte offset. It scans the text
// without decoding it (strings are skipped), so it is cheap enough for every
// document the registry accepts; raw should be valid JSON, other text is
// scanned the same way but the answer means little.
func CheckNumbers(raw []byte) error {
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '"':
			i = skipString(raw, i+1)
		case c == '-' || ('0' <= c && c <= '9'):
			j := i + 1
			for j < len(raw) && isNumberByte(raw[j]) {
				j++
			}
			if err := checkNumber(raw[i:j]); err != nil {
				return fmt.Errorf("%w: number at byte %d %v", procreg.ErrInvalid, i, err)
			}
			i = j
		default:
			i++
		}
	}
	return nil
}

// skipString returns the index just after the string whose contents start
// at i.
func skipString(raw []byte, i int) int {
	for i < len(raw) {
		switch raw[i] {
		case '\\':
			i += 2
		case '"':
			return i + 1
		default:
			i++
		}
	}
	return i
}

// canonicalGrowth bounds how much longer than a number literal its
// canonical spelling is: at most 21 zeros written out for a plain integer
// (1e20), or "0." and five zeros for a small fraction, or a point and an
// exponent "e+1000" added.
const canonicalGrowth = 32

func isNumberByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// checkNumber checks one number literal against MaxNumberBytes and
// MaxNumberExponent; the error completes "number at byte n …".
func checkNumber(lit []byte) error {
	if len(lit) > procreg.MaxNumberBytes {
		return fmt.Errorf("(%.20s…) is %d bytes long, longer than %d", lit, len(lit), procreg.MaxNumberBytes)
	}
	s := strings.TrimPrefix(string(lit), "-")
	mant, expText, hasExp := strings.Cut(strings.ToLower(s), "e")
	exp := 0
	if hasExp {
		neg := strings.HasPrefix(expText, "-")
		digits := strings.TrimLeft(strings.TrimLeft(expText, "+-"), "0")
		// More digits than MaxNumberExponent has is out of range without
		// parsing (and a parse of a long exponent would be slow).
		if len(digits) > len(strconv.Itoa(procreg.MaxNumberExponent)) {
			return fmt.Errorf("(%.20s…) has an exponent beyond ±%d", lit, procreg.MaxNumberExponent)
		}
		if digits != "" {
			var err error
			if exp, err = strconv.Atoi(digits); err != nil {
				return fmt.Errorf("(%.20s…) has a malformed exponent", lit)
			}
		}
		if neg {
			exp = -exp
		}
	}
	// The value's exponent in scientific notation: the written one moved by
	// where the first significant digit stands relative to the point.
	intPart, frac, _ := strings.Cut(mant, ".")
	value := exp
	if p := strings.TrimLeft(intPart, "0"); p != "" {
		value += len(p) - 1
	} else if f := strings.TrimLeft(frac, "0"); f != "" {
		value -= len(frac) - len(f) + 1
	} else {
		value = 0 // zero: its exponent is meaningless
	}
	if exp > procreg.MaxNumberExponent || exp < -procreg.MaxNumberExponent || value > procreg.MaxNumberExponent || value < -procreg.MaxNumberExponent {
		return fmt.Errorf("(%.20s…) is out of range: its decimal exponent is beyond ±%d", lit, procreg.MaxNumberExponent)
	}
	// The canonical spelling (CanonicalJSON) must be within the bound too,
	// or a canonical document would fail this check: it can be longer than
	// the literal (a point and "e+989" added to 1,024 digits; zeros written
	// out for 1e20), by less than canonicalGrowth bytes.
	if len(lit) > procreg.MaxNumberBytes-canonicalGrowth {
		if c := canonicalNumber(string(lit)); len(c) > procreg.MaxNumberBytes {
			return fmt.Errorf("(%.20s…) is %d bytes long in canonical form, longer than %d", lit, len(c), procreg.MaxNumberBytes)
		}
	}
	return nil
}
