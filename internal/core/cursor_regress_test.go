package core

import (
	"errors"
	"testing"

	"github.com/procreg/procreg"
)

// TestOpenCursorOneSpelling: a cursor has exactly one text. OpenCursor
// used to accept other base64 spellings of a sealed cursor's bytes (the
// unused low bits of the last character set, a CR or LF inserted), so a
// string SealCursor never made opened to a valid payload. Found by
// FuzzOpenCursor (testdata/fuzz/FuzzOpenCursor/noncanonical_base64).
func TestOpenCursorOneSpelling(t *testing.T) {
	key := []byte("fuzz-key")
	good := SealCursor(key, "changes", "", []byte{0x02, 'a'})
	if _, err := OpenCursor(key, "changes", "", good); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{
		"v1.AmE.sIiV5W3gyGn1sDxtwF09KB", // the fuzzer's: another spelling of AmE's bytes' MAC
		good[:3] + "AmF" + good[6:],     // payload "AmE" → "AmF": same bytes
		good[:3] + "Am\nE" + good[6:],   // a newline, ignored by base64
		good + "\r",
		good[:len(good)-1] + string(good[len(good)-1]^1),
	} {
		if c == good {
			continue
		}
		if p, err := OpenCursor(key, "changes", "", c); !errors.Is(err, procreg.ErrInvalid) {
			t.Errorf("OpenCursor(%q) = %q, %v; want ErrInvalid", c, p, err)
		}
	}
}
