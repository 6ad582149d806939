package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/procreg/procreg"
)

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

func TestCheckNumbers(t *testing.T) {
	long := "0." + strings.Repeat("1", procreg.MaxNumberBytes-2) // longest literal
	wide := strings.Repeat("9", procreg.MaxNumberExponent+1)     // largest integer: 1001 digits
	ok := []string{`1`, `-0`, `0e1000`, `1e1000`, `1E+1000`, `-1e-1000`, `9.99e1000`, `0.001e-997`,
		`123e998`, `[1, 2.5, {"a": -3e-7}]`, long, wide, `"1e99999999 in a string \" 1e99999999"`, `true`, `null`,
		`{"e1":1}`}
	bad := map[string]int{ // text → byte offset of the bad number
		`1e1001`:              0,
		`1e-1001`:             0,
		`0e1001`:              0, // the written exponent counts even for zero
		`10e1000`:             0, // 1.0e1001
		`0.01e-999`:           0, // 1e-1001
		`[1, "x", 1e1000001]`: 9,
		`{"a":"\"","b":1e+9999999999999999999999}`: 14,
		long + "1":                             0,
		wide + "9":                             0,
		"1e" + strings.Repeat("0", 2000) + "1": 0,
	}
	for _, s := range ok {
		if err := CheckNumbers([]byte(s)); err != nil {
			t.Errorf("CheckNumbers(%.40s) = %v; want nil", s, err)
		}
	}
	for s, off := range bad {
		err := CheckNumbers([]byte(s))
		if !errors.Is(err, procreg.ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprintf("at byte %d ", off)) {
			t.Errorf("CheckNumbers(%.40s) = %v; want ErrInvalid at byte %d", s, err, off)
		}
	}
}

// TestSchemaPanicIsInvalid: a schema library panic (the v6 big.Rat nil
// dereference on a huge exponent, which CheckNumbers keeps out of the
// registry's documents) comes back as ErrInvalid instead.
func TestSchemaPanicIsInvalid(t *testing.T) {
	s, err := compileSchema([]byte(`{"maximum":5}`))
	if err != nil {
		t.Fatal(err)
	}
	err = validatePayload(s, json.Number("1e1000001"))
	if !errors.Is(err, procreg.ErrInvalid) {
		t.Fatalf("validatePayload(1e1000001) = %v; want ErrInvalid", err)
	}
}

// BenchmarkHugeNumbersAppend appends payloads of 100 equal numbers (beyond
// the exponent bound, at either bound, the longest literal, and 1.5 for
// scale) against an integer schema with maximum and multipleOf, all
// rejected: the price of checking the worst numbers a caller can send.
func BenchmarkHugeNumbersAppend(b *testing.B) {
	p, err := PrepareRegistration(procreg.Registration{ID: "p", Disposition: procreg.DispositionExternallyOwned,
		Input:      procreg.ProcessInput{Kind: procreg.InputExternal},
		EventTypes: []procreg.EventType{{Name: "x", PayloadSchema: json.RawMessage(`{"items":{"type":"integer","maximum":5,"multipleOf":0.5}}`)}}})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, n string }{
		{"1e999999", "1e999999"},
		{"1e+max", "1e" + strconv.Itoa(procreg.MaxNumberExponent)},
		{"1e-max", "1e-" + strconv.Itoa(procreg.MaxNumberExponent)},
		{"longest-decimal", "0." + strings.Repeat("3", procreg.MaxNumberBytes-2)},
		{"1.5", "1.5"},
	} {
		payload := "[" + strings.Repeat(c.n+",", 99) + c.n + "]"
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_, err := PlanAppend(AppendInput{ProcessID: "p", Prepared: p, State: procreg.StateRunning}, procreg.AppendRequest{EventType: "x", Payload: json.RawMessage(payload)})
				if !errors.Is(err, procreg.ErrInvalid) {
					b.Fatalf("append: %v; want ErrInvalid", err)
				}
			}
		})
	}
}
