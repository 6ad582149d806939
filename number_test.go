package procreg

import "testing"

func TestCanonicalNumber(t *testing.T) {
	cases := map[string]string{
		"0": "0", "-0": "0", "0.000": "0", "0e10": "0", "-0.0e-5": "0",
		"1": "1", "1.0": "1", "1e0": "1", "10e-1": "1", "0.1e1": "1", "1E+0": "1", "100e-2": "1",
		"100": "100", "1e2": "100", "1.00e2": "100", "-1.50": "-1.5", "0.5": "0.5", "5e-1": "0.5",
		"123.456": "123.456", "0.000001": "0.000001", "1e-6": "0.000001", "1e-7": "1e-7", "12e-8": "1.2e-7",
		"1e20": "100000000000000000000", "1e21": "1e+21", "123e20": "1.23e+22",
		// Exact: float64 would merge these with their neighbours.
		"9007199254740993":          "9007199254740993",
		"18446744073709551615":      "18446744073709551615",
		"12345678901234567890123":   "1.2345678901234567890123e+22",
		"0.10000000000000000000001": "0.10000000000000000000001",
		"1e999999999999999999999":   "1e+999999999999999999999",
		"-2.5e-999999999999999999":  "-2.5e-999999999999999999",
		"0.25e-999999999999999999":  "2.5e-1000000000000000000",
	}
	for in, want := range cases {
		if got := canonicalNumber(in); got != want {
			t.Errorf("canonicalNumber(%s) = %s; want %s", in, got, want)
		}
	}
}

func TestJSONEqualNumbersByValue(t *testing.T) {
	same := [][2]string{
		{`{"a":1}`, `{"a":1.0}`}, {`{"a":1}`, `{"a":1e0}`}, {`[100]`, `[1e2]`}, {`0`, `-0.0`},
		{`{"a":[1.50,{"b":2E1}]}`, `{"a":[1.5,{"b":20}]}`},
	}
	for _, c := range same {
		if !JSONEqual([]byte(c[0]), []byte(c[1])) {
			t.Errorf("JSONEqual(%s, %s) = false; want true (same numbers)", c[0], c[1])
		}
	}
	differ := [][2]string{
		{`9007199254740993`, `9007199254740992`}, {`0.10000000000000000000001`, `0.1`}, {`1`, `"1"`}, {`1`, `-1`},
	}
	for _, c := range differ {
		if JSONEqual([]byte(c[0]), []byte(c[1])) {
			t.Errorf("JSONEqual(%s, %s) = true; want false", c[0], c[1])
		}
	}
	a, _ := DefinitionFingerprint([]byte(`{"v":2}`))
	b, _ := DefinitionFingerprint([]byte(`{"v":2.0}`))
	if a != b {
		t.Errorf("definition fingerprints of {\"v\":2} and {\"v\":2.0} differ; want equal")
	}
}
