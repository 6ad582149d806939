package core

import (
	"errors"
	"strings"
	"testing"

	"github.com/procreg/procreg"
)

// TestCheckNumbersCanonicalLength: a literal of up to MaxNumberBytes whose
// canonical spelling is longer (990 nines, a point, 33 nines: canonical
// 9.999…e+989, 1,030 bytes) used to pass CheckNumbers, so CanonicalJSON
// accepted it and produced a document it then refused (not idempotent:
// a stored spec holding it could not be prepared again). Found by
// FuzzCheckNumbers (testdata/fuzz/FuzzCheckNumbers/canonical_longer_than_bound).
func TestCheckNumbersCanonicalLength(t *testing.T) {
	lit := strings.Repeat("9", 990) + "." + strings.Repeat("9", 33)
	if len(lit) > procreg.MaxNumberBytes {
		t.Fatalf("the literal is %d bytes", len(lit))
	}
	if err := CheckNumbers([]byte(lit)); !errors.Is(err, procreg.ErrInvalid) {
		t.Fatalf("CheckNumbers(%d-byte literal with a %d-byte canonical form): %v", len(lit), len(canonicalNumber(lit)), err)
	}
	if _, err := CanonicalJSON([]byte(lit)); !errors.Is(err, procreg.ErrInvalid) {
		t.Fatalf("CanonicalJSON: %v", err)
	}
	// Bounds that stay: 1,001 digits (exponent 1,000), and a short literal that grows.
	for _, ok := range []string{strings.Repeat("9", 1001), "1e20", "1e-6", "-0." + strings.Repeat("0", 990) + "1"} {
		if err := CheckNumbers([]byte(ok)); err != nil {
			t.Errorf("CheckNumbers(%.30s…): %v", ok, err)
		}
		c, err := CanonicalJSON([]byte(ok))
		if err != nil || CheckNumbers(c) != nil {
			t.Errorf("canonical form of %.30s…: %.30s… %v", ok, c, err)
		}
	}
}
