package procreg

import (
	"encoding/json"
	"math/big"
	"strings"
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
