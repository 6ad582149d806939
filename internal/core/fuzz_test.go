package core

// Fuzz targets for every rule that reads input from outside the process:
// JSON documents and numbers, JSON pointers, selectors and templates,
// registrations, appends and cursors. Each checks properties, not only
// that nothing panics. `make fuzz` runs them (ci/fuzz.sh); the seed
// corpora are the f.Add calls and testdata/fuzz/<target>/.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/procreg/procreg"
)

var jsonSeeds = []string{
	`{}`, `[]`, `null`, `true`, `0`, `-0`, `1.0`, `1e0`, `10e-1`, `1E+2`, `0.000001`, `1e21`, `1e-7`,
	`123456789012345678901234567890`, `0.1000000000000000000000001`, `-1.5e-300`, `1e1000`, `1e1001`,
	`{"b":1,"a":[1,2,{"c":"\u00e9<>&"}]}`, ` { "a" : "x" , "a" : "y" } `, `"\ud800"`, `[1,]`, `{"a":1}x`,
	`{"n":0.0e-5000}`, `{"s":"1e99999"}`, `"\\"1e99999"`,
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := CanonicalJSON(raw)
		if err != nil {
			if !errors.Is(err, procreg.ErrInvalid) {
				t.Fatalf("CanonicalJSON(%q) error does not wrap ErrInvalid: %v", raw, err)
			}
			if utf8.Valid(raw) && json.Valid(raw) && CheckNumbers(raw) == nil {
				t.Fatalf("CanonicalJSON(%q) refused valid JSON within the number bounds: %v", raw, err)
			}
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("CanonicalJSON accepted invalid JSON %q", raw)
		}
		if !json.Valid(c) || !utf8.Valid(c) {
			t.Fatalf("CanonicalJSON(%q) = %q, not valid JSON", raw, c)
		}
		// Idempotent: the canonical form is its own canonical form.
		c2, err := CanonicalJSON(c)
		if err != nil || !bytes.Equal(c, c2) {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", raw, c, c2, err)
		}
		if !JSONEqual(raw, c) {
			t.Fatalf("JSONEqual(%q, its canonical form %q) is false", raw, c)
		}
		// Equal by value, spelled differently (indented), canonicalizes alike.
		var ind bytes.Buffer
		if err := json.Indent(&ind, raw, " ", "\t"); err != nil {
			t.Fatal(err)
		}
		if ci, err := CanonicalJSON(ind.Bytes()); err != nil || !bytes.Equal(ci, c) {
			t.Fatalf("indented %q canonicalizes to %q, the original to %q (%v)", ind.Bytes(), ci, c, err)
		}
		// The canonical form of every number has the same exact value.
		compareNumbers(t, raw, c)
		// encodeJSON writes what encoding/json writes, for the raw
		// document's decoded value as for its canonical one.
		for _, doc := range [][]byte{raw, c} {
			v, err := decodeJSON(doc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeJSON(v)
			want, werr := stdEncodeJSON(v)
			if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("encodeJSON(%q) = %q, %v; encoding/json writes %q, %v", doc, got, err, want, werr)
			}
		}
	})
}

// stdEncodeJSON is what encodeJSON must match: encoding/json's Encoder
// without HTML escaping and without the trailing newline.
func stdEncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Strings with every escape class, numbers as decodeJSON keeps them, and
// nesting encode as encoding/json encodes them.
func TestEncodeJSONMatchesEncodingJSON(t *testing.T) {
	for _, v := range []any{
		nil, true, false, "", json.Number("0"), json.Number(""), json.Number("-1.5e-300"),
		"plain", "quote\" back\\slash", "\b\f\n\r\t\x00\x01\x1f\x7f", "<html>&amp;", "caf\u00e9 \u2028\u2029 \U0001F600",
		"bad\xffutf8\xc3", "\xed\xa0\x80", []any{}, map[string]any{},
		map[string]any{"b": []any{json.Number("1"), "x", nil}, "a": map[string]any{"\u00e9": true, "e": false}, "": "empty key"},
	} {
		got, err := encodeJSON(v)
		want, werr := stdEncodeJSON(v)
		if err != nil || werr != nil || !bytes.Equal(got, want) {
			t.Errorf("encodeJSON(%#v) = %q, %v; encoding/json writes %q, %v", v, got, err, want, werr)
		}
	}
}

// compareNumbers checks that the numbers of a and b (the same document)
// have the same exact values, in document order of a decoded walk.
func compareNumbers(t *testing.T, a, b []byte) {
	t.Helper()
	va, err := decodeJSON(a)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := decodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(x, y any)
	walk = func(x, y any) {
		switch xv := x.(type) {
		case json.Number:
			yv, ok := y.(json.Number)
			if !ok {
				t.Fatalf("number %s became %v", xv, y)
			}
			if !sameNumber(string(xv), string(yv)) {
				t.Fatalf("number %s canonicalized to %s, another value", xv, yv)
			}
		case []any:
			yv := y.([]any)
			for i := range xv {
				walk(xv[i], yv[i])
			}
		case map[string]any:
			yv := y.(map[string]any)
			for k := range xv {
				walk(xv[k], yv[k])
			}
		}
	}
	walk(va, vb)
}

// sameNumber compares two number literals exactly. Exponents are within
// ±MaxNumberExponent (CheckNumbers), so big.Rat stays cheap.
func sameNumber(a, b string) bool {
	ra, ok1 := new(big.Rat).SetString(a)
	rb, ok2 := new(big.Rat).SetString(b)
	return ok1 && ok2 && ra.Cmp(rb) == 0
}

func FuzzCheckNumbers(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(strings.Repeat("9", procreg.MaxNumberBytes)))
	f.Add([]byte(strings.Repeat("9", procreg.MaxNumberBytes+1)))
	f.Add([]byte("0." + strings.Repeat("0", 999) + "1"))
	f.Add([]byte("0." + strings.Repeat("0", 1000) + "1"))
	f.Add([]byte("1" + strings.Repeat("0", 1000)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := CheckNumbers(raw)
		if err != nil {
			if !errors.Is(err, procreg.ErrInvalid) {
				t.Fatalf("CheckNumbers error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		// Every number in a document it accepts has a decimal exponent within
		// the bound, and its canonical spelling is accepted too.
		if !json.Valid(raw) || !utf8.Valid(raw) {
			return
		}
		v, err := decodeJSON(raw)
		if err != nil {
			return
		}
		var walk func(x any)
		walk = func(x any) {
			switch xv := x.(type) {
			case json.Number:
				if e := decimalExponent(string(xv)); e != nil && e.CmpAbs(big.NewInt(procreg.MaxNumberExponent)) > 0 {
					t.Fatalf("CheckNumbers accepted %s, whose decimal exponent is %s", xv, e)
				}
				if c := canonicalNumber(string(xv)); CheckNumbers([]byte(c)) != nil {
					t.Fatalf("CheckNumbers accepted %s but not its canonical form %s", xv, c)
				}
			case []any:
				for _, e := range xv {
					walk(e)
				}
			case map[string]any:
				for _, e := range xv {
					walk(e)
				}
			}
		}
		walk(v)
	})
}

// decimalExponent is the exponent of a number literal in scientific
// notation, computed independently of checkNumber (nil for zero).
func decimalExponent(lit string) *big.Int {
	s := strings.TrimPrefix(lit, "-")
	mant, expText, _ := strings.Cut(strings.ToLower(s), "e")
	exp := new(big.Int)
	if expText != "" {
		exp.SetString(strings.TrimPrefix(expText, "+"), 10)
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	lead := len(digits) - len(strings.TrimLeft(digits, "0"))
	if lead == len(digits) {
		return nil
	}
	// digits d0 d1 … with the point after intPart: the first significant
	// digit stands at position lead, worth 10^(len(intPart)-1-lead).
	return exp.Add(exp, big.NewInt(int64(len(intPart)-1-lead)))
}

func FuzzJSONPointer(f *testing.F) {
	for _, p := range []string{"", "/", "/a", "/a/0", "/a~1b/~0c", "/~", "/~2", "a", "/0/-", "/01", "//"} {
		f.Add(p, []byte(`{"a":[{"b":1}],"a/b":{"~c":2},"":{"":3}}`))
	}
	f.Fuzz(func(t *testing.T, p string, doc []byte) {
		toks, err := parsePointer(p)
		if err != nil {
			if p == "" || p[0] != '/' || strings.Contains(p, "~") {
				return
			}
			t.Fatalf("parsePointer(%q) refused a pointer without escapes: %v", p, err)
		}
		// Round trip: escaping the tokens again spells the same pointer.
		var b strings.Builder
		for _, tok := range toks {
			b.WriteByte('/')
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
		}
		if b.String() != p {
			t.Fatalf("parsePointer(%q) = %q, which spells %q", p, toks, b.String())
		}
		v, err := decodeJSON(doc)
		if err != nil {
			return
		}
		got, ok := lookupPointer(v, toks)
		if len(toks) == 0 && (!ok || !sameValue(got, v)) {
			t.Fatalf("the empty pointer does not select the whole document")
		}
		// A pointer selector agrees with lookupPointer and a present selector.
		sel := procreg.Selector{Kind: procreg.SelectorPointer, Pointer: p}
		s, err := SelectString(sel, doc)
		if ok != (err == nil) {
			t.Fatalf("pointer %q: lookup found=%v but SelectString err=%v", p, ok, err)
		}
		if err != nil && !errors.Is(err, procreg.ErrInvalid) {
			t.Fatalf("SelectString error does not wrap ErrInvalid: %v", err)
		}
		if ok {
			want, _ := valueString(got)
			if s != want {
				t.Fatalf("SelectString = %q, lookup = %q", s, want)
			}
		}
		pres, err := SelectString(procreg.Selector{Kind: procreg.SelectorPresent, Pointer: p}, doc)
		if err != nil || pres != map[bool]string{true: "true", false: "false"}[ok] {
			t.Fatalf("present selector %q = %q (%v), lookup found=%v", p, pres, err, ok)
		}
	})
}

func sameValue(a, b any) bool {
	x, err1 := encodeJSON(a)
	y, err2 := encodeJSON(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func FuzzSelector(f *testing.F) {
	f.Add([]byte(`{"kind":"template","template":"run {id} of {who} {missing} {","fields":{"id":{"kind":"pointer","pointer":"/id"},"who":{"kind":"const","const":"\"me\""}}}`), []byte(`{"id":7}`))
	f.Add([]byte(`{"kind":"template","template":"{a}{a}{}{b}","fields":{"a":{"kind":"payload"},"":{"kind":"present","pointer":"/x"}}}`), []byte(`[1,2]`))
	f.Add([]byte(`{"kind":"const","const":"{\"z\":1,\"a\":1.0}"}`), []byte(`null`))
	f.Add([]byte(`{"kind":"pointer","pointer":"/a~1b"}`), []byte(`{"a/b":"s"}`))
	f.Add([]byte(`{"kind":"bogus"}`), []byte(``))
	f.Add([]byte(`{"kind":"template","template":"{x}","fields":{"x":{"kind":"template","template":"{y}","fields":{"y":{"kind":"payload"}}}}}`), []byte(`"deep"`))
	f.Fuzz(func(t *testing.T, selJSON, payload []byte) {
		var s procreg.Selector
		if json.Unmarshal(selJSON, &s) != nil {
			return
		}
		if err := validateSelector(s, "fuzz"); err != nil {
			return
		}
		if normalizeSelector(&s, "fuzz") != nil {
			return
		}
		got, err := SelectString(s, payload)
		if err != nil {
			if !errors.Is(err, procreg.ErrInvalid) {
				t.Fatalf("SelectString error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		// A template without any "{name}" of a field is its own text.
		if s.Kind == procreg.SelectorTemplate && len(s.Fields) == 0 && got != s.Template {
			t.Fatalf("template %q without fields gave %q", s.Template, got)
		}
		// Deterministic.
		if again, err := SelectString(s, payload); err != nil || again != got {
			t.Fatalf("SelectString is not deterministic: %q then %q (%v)", got, again, err)
		}
	})
}

// fuzzRegistration is the seed registration: every kind of selector, a
// schema, a wake.
const fuzzRegistration = `{"id":"p-1","input":{"kind":"engine","engine_kind":"e","payload":{"b":2,"a":1.50}},"disposition":"rerunnable","env_ref":"env:x",
"identity":{"definition":{"z":[1,2],"y":1e2}},
"event_types":[
 {"name":"step","payload_schema":{"type":"object","properties":{"n":{"type":"integer","maximum":10}},"required":["n"]}},
 {"name":"ask","wake":{"when":{"kind":"present","pointer":"/q"},"input":{"kind":"template","template":"q={q} n={n}","fields":{"q":{"kind":"pointer","pointer":"/q"},"n":{"kind":"const","const":"1.0"}}},"dedupe_key":{"kind":"selector","selector":{"kind":"pointer","pointer":"/id"}}}},
 {"name":"done","terminal":{"state":"completed"}},
 {"name":"oops","terminal":{"state":"failed","await_output":{"kind":"pointer","pointer":"/err"}}},
 {"name":"any","payload_schema":true}
]}`

func FuzzPrepareRegistration(f *testing.F) {
	f.Add([]byte(fuzzRegistration))
	f.Add([]byte(`{"id":"x","input":{"kind":"external","payload":{"title":"T"}},"disposition":"externally_owned"}`))
	f.Add([]byte(`{"id":"x","input":{"kind":"tool"},"disposition":"owner_bound","env_ref":"e","event_types":[{"name":"completed","terminal":{"state":"completed","await_output":{"kind":"pointer","pointer":"/await_output"}}}]}`))
	f.Add([]byte(`{"id":"x","input":{"kind":"tool"},"disposition":"owner_bound","env_ref":"e","event_types":[{"name":"a","payload_schema":{"$ref":"http://example.com/s"}}]}`))
	f.Add([]byte(`{"id":"x","input":{"kind":"tool"},"disposition":"owner_bound","env_ref":"e","event_types":[{"name":"a","payload_schema":{"minimum":1e999}}]}`))
	f.Add([]byte(`{"id":"","input":{"kind":"session_turn"},"disposition":"rerunnable"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var reg procreg.Registration
		if json.Unmarshal(raw, &reg) != nil {
			return
		}
		p, err := PrepareRegistration(reg)
		if err != nil {
			if !errors.Is(err, procreg.ErrInvalid) {
				t.Fatalf("PrepareRegistration error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		checkPrepared(t, p)
		// Idempotent: preparing the prepared registration changes nothing.
		p2, err := PrepareRegistration(p.Registration)
		if err != nil {
			t.Fatalf("re-preparing a prepared registration failed: %v\nspec %s", err, p.Spec)
		}
		if p2.Hash != p.Hash || !bytes.Equal(p2.Spec, p.Spec) {
			t.Fatalf("re-preparing changed the spec:\n%s\n%s", p.Spec, p2.Spec)
		}
		// Equal by value: the same registration with its JSON fields spelled
		// differently (object keys reversed, whitespace added) hashes alike.
		alt := respell(t, reg)
		p3, err := PrepareRegistration(alt)
		if err != nil || p3.Hash != p.Hash {
			t.Fatalf("an equal registration spelled differently hashes otherwise (%v):\n%s\n%s", err, p.Spec, specOf(p3))
		}
		// The stored spec loads back to the same prepared form.
		r, err := DecodeSpec(p.Spec)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := newPrepared(r, p.Spec, p.Hash)
		if err != nil {
			t.Fatalf("the stored spec does not load: %v\n%s", err, p.Spec)
		}
		if fresh.DefinitionFingerprint != p.DefinitionFingerprint || len(fresh.types) != len(p.types) {
			t.Fatalf("the stored spec loads differently")
		}
	})
}

func specOf(p *Prepared) []byte {
	if p == nil {
		return nil
	}
	return p.Spec
}

// respell returns a deep copy of reg whose JSON fields are the same values
// spelled otherwise (see reindent).
func respell(t *testing.T, reg procreg.Registration) procreg.Registration {
	b, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	var r procreg.Registration
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	r.ID = reg.ID
	raw := func(m *json.RawMessage) {
		if len(*m) > 0 {
			*m = reindent(*m)
		}
	}
	var sel func(s *procreg.Selector)
	sel = func(s *procreg.Selector) {
		if s == nil {
			return
		}
		raw(&s.Const)
		for k, f := range s.Fields {
			sel(&f)
			s.Fields[k] = f
		}
	}
	raw(&r.Input.Payload)
	raw(&r.Identity.Definition)
	raw(&r.Provenance.CausedBy)
	for i := range r.EventTypes {
		et := &r.EventTypes[i]
		raw(&et.PayloadSchema)
		if et.Terminal != nil {
			sel(et.Terminal.AwaitOutput)
		}
		if w := et.Wake; w != nil {
			sel(w.When)
			sel(&w.Input)
			sel(w.DedupeKey.Selector)
		}
	}
	return r
}

// reindent rewrites a JSON document with every object's keys in reverse
// order and extra whitespace: the same value, another spelling. Text that
// is not JSON is returned as is.
func reindent(raw []byte) []byte {
	v, err := decodeJSON(raw)
	if err != nil {
		return raw
	}
	var b bytes.Buffer
	var w func(any)
	w = func(x any) {
		switch xv := x.(type) {
		case map[string]any:
			keys := make([]string, 0, len(xv))
			for k := range xv {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			slices.Reverse(keys)
			b.WriteString("{ ")
			for i, k := range keys {
				if i > 0 {
					b.WriteString(" ,\n")
				}
				kb, _ := json.Marshal(k)
				b.Write(kb)
				b.WriteString(" : ")
				w(xv[k])
			}
			b.WriteString(" }")
		case []any:
			b.WriteString("[ ")
			for i, e := range xv {
				if i > 0 {
					b.WriteString(" , ")
				}
				w(e)
			}
			b.WriteString(" ]")
		case json.Number:
			b.WriteString(string(xv))
		default:
			e, _ := json.Marshal(xv)
			b.Write(e)
		}
	}
	w(v)
	return b.Bytes()
}

func checkPrepared(t *testing.T, p *Prepared) {
	t.Helper()
	c, err := CanonicalJSON(p.Spec)
	if err != nil || !bytes.Equal(c, p.Spec) {
		t.Fatalf("the spec is not canonical JSON (%v):\n%s", err, p.Spec)
	}
	sum := sha256.Sum256(p.Spec)
	if p.Hash != hex.EncodeToString(sum[:]) {
		t.Fatalf("the hash is not the SHA-256 of the spec")
	}
	for _, et := range CoreEventTypes() {
		if _, ok := p.EventType(et.Name); !ok {
			t.Fatalf("core event type %q missing", et.Name)
		}
	}
}

func FuzzPlanAppend(f *testing.F) {
	f.Add([]byte(fuzzRegistration), "step", []byte(`{"n":3}`), "", "running", uint64(0))
	f.Add([]byte(fuzzRegistration), "step", []byte(`{"n":11}`), "", "running", uint64(4))
	f.Add([]byte(fuzzRegistration), "ask", []byte(`{"q":"why","id":"x"}`), "k", "running", uint64(1))
	f.Add([]byte(fuzzRegistration), "done", []byte(`{"ok":true}`), "r1", "running", uint64(9))
	f.Add([]byte(fuzzRegistration), "oops", []byte(`{"err":{"class":"c","code":"x","message":"m"}}`), "r2", "completed", uint64(2))
	f.Add([]byte(fuzzRegistration), "completed", []byte(`{"await_output":{"kind":"success","value":1}}`), "r3", "running", uint64(2))
	f.Add([]byte(fuzzRegistration), "any", []byte(`[1e1000]`), "", "running", uint64(0))
	f.Add([]byte(fuzzRegistration), "ask", []byte(`{"q":"a\u0000b","id":"x"}`), "", "running", uint64(1))
	now := time.Date(2025, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	f.Fuzz(func(t *testing.T, regJSON []byte, eventType string, payload []byte, replayKey, state string, last uint64) {
		var reg procreg.Registration
		if json.Unmarshal(regJSON, &reg) != nil {
			return
		}
		p, err := PrepareRegistration(reg)
		if err != nil || last == ^uint64(0) {
			return
		}
		target := &procreg.SessionScope{SessionID: "s", AgentFrameID: "f"}
		in := AppendInput{ProcessID: reg.ID, Prepared: p, State: state, WakeTarget: target, LastSequence: last, Now: now}
		req := procreg.AppendRequest{EventType: eventType, Payload: payload, ReplayKey: replayKey}
		plan, err := PlanAppend(in, req)
		if err != nil {
			if !errors.Is(err, procreg.ErrInvalid) && !errors.Is(err, procreg.ErrTerminal) {
				t.Fatalf("PlanAppend error wraps no contract error: %v", err)
			}
			return
		}
		ev := plan.Event
		if !plan.Insert || ev.Sequence != last+1 || ev.EventType != eventType || ev.ReplayKey != replayKey || ev.ProcessID != reg.ID {
			t.Fatalf("plan does not insert the requested event: %+v", plan)
		}
		if !json.Valid(ev.Payload) || !utf8.Valid(ev.Payload) || CheckNumbers(ev.Payload) != nil {
			t.Fatalf("planned payload %q is not valid, bounded JSON", ev.Payload)
		}
		if !JSONEqual(ev.Payload, payload) && !IsAbsentJSON(payload) {
			t.Fatalf("planned payload %q is not the request's %q", ev.Payload, payload)
		}
		if s := p.schemas[eventType]; s != nil {
			doc, _ := decodePayload(ev.Payload)
			if validatePayload(s, doc) != nil {
				t.Fatalf("payload %q was planned against its schema", ev.Payload)
			}
		}
		if (ev.Terminal != nil) != (plan.Status != nil) {
			t.Fatalf("terminal event without a status change, or the reverse")
		}
		if ev.Terminal != nil && isTerminalState(state) {
			t.Fatalf("terminal event planned on a %s process", state)
		}
		if (plan.WakeDelivery != nil) != (ev.Wake != nil) {
			t.Fatalf("wake %v but delivery %v", ev.Wake, plan.WakeDelivery)
		}
		// Replaying the stored event with the same request is a replay, not
		// an insert and not a conflict; an equal payload spelled otherwise too.
		if replayKey == "" {
			return
		}
		in.Replayed = &ev
		in.ReplayedWakeTarget = plan.WakeTarget
		in.LastSequence = last + 1
		for _, body := range [][]byte{payload, reindent(payload)} {
			req.Payload = body
			rp, err := PlanAppend(in, req)
			if err != nil || rp.Insert || rp.Event.Sequence != ev.Sequence {
				t.Fatalf("replay of %q (as %q) = %+v, %v", payload, body, rp, err)
			}
		}
	})
}

func FuzzOpenCursor(f *testing.F) {
	key := []byte("fuzz-key")
	good := SealCursor(key, "changes", "", []byte{0x02, 'a'})
	f.Add(good)
	f.Add(SealCursor(key, "page", `{"state":"running"}`, []byte("x")))
	f.Add(SealCursor([]byte("other"), "changes", "", []byte{0x02, 'a'}))
	f.Add(good[:len(good)-1])
	f.Add(good + "=")
	f.Add("v1..")
	f.Add("v1.")
	f.Add("")
	f.Add("v2." + good[3:])
	f.Add(strings.Repeat("A", MaxCursorBytes+1))
	f.Fuzz(func(t *testing.T, cursor string) {
		for _, c := range []struct{ kind, shape string }{{"changes", ""}, {"page", `{"state":"running"}`}} {
			payload, err := OpenCursor(key, c.kind, c.shape, cursor)
			if err != nil {
				if !errors.Is(err, procreg.ErrInvalid) {
					t.Fatalf("OpenCursor error does not wrap ErrInvalid: %v", err)
				}
				if strings.Contains(err.Error(), string(key)) {
					t.Fatalf("OpenCursor error shows the key: %v", err)
				}
				continue
			}
			// A payload only for exactly the string SealCursor makes.
			if SealCursor(key, c.kind, c.shape, payload) != cursor {
				t.Fatalf("OpenCursor accepted %q, which SealCursor did not make (payload %q)", cursor, payload)
			}
		}
	})
}

func FuzzSealCursor(f *testing.F) {
	f.Add([]byte("k"), "changes", "", []byte{0})
	f.Add([]byte{}, "page", "a\x00b", []byte("payload"))
	f.Fuzz(func(t *testing.T, key []byte, kind, shape string, payload []byte) {
		c := SealCursor(key, kind, shape, payload)
		got, err := OpenCursor(key, kind, shape, c)
		if len(c) > MaxCursorBytes {
			if err == nil {
				t.Fatalf("a cursor of %d bytes opened", len(c))
			}
			return
		}
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("round trip of %q: %q, %v", payload, got, err)
		}
		// Another kind or shape (kind and shape are NUL-separated in the
		// MAC, so moving a byte between them is another call) is refused.
		if _, err := OpenCursor(key, kind+"x", shape, c); err == nil {
			t.Fatalf("cursor opened for another kind")
		}
		if _, err := OpenCursor(key, kind, shape+"x", c); err == nil {
			t.Fatalf("cursor opened for another shape")
		}
	})
}
