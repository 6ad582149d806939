package driver

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/procreg/procreg"
)

// FuzzChangePos: a change-feed cursor's payload decodes to a non-negative
// position and a valid id or is ErrInvalid, and every position and id
// round-trips.
func FuzzChangePos(f *testing.F) {
	f.Add([]byte{0x02, 'a'}, int64(1), "p")
	f.Add([]byte{0x80}, int64(0), "")
	f.Add([]byte{0x01}, int64(-1), "\xff")
	f.Add([]byte{0x80, 0x00, 'x'}, int64(1<<62), "id")
	f.Fuzz(func(t *testing.T, payload []byte, pos int64, id string) {
		p, s, err := decodeChangePos(payload)
		if err != nil {
			if !errors.Is(err, procreg.ErrInvalid) {
				t.Fatalf("decodeChangePos error does not wrap ErrInvalid: %v", err)
			}
		} else if p < 0 || !utf8.ValidString(s) || len(s) > procreg.MaxIDBytes {
			t.Fatalf("decodeChangePos(%x) = %d, %q", payload, p, s)
		}
		if pos < 0 || !utf8.ValidString(id) || len(id) > procreg.MaxIDBytes {
			return
		}
		p, s, err = decodeChangePos(encodeChangePos(pos, id))
		if err != nil || p != pos || s != id {
			t.Fatalf("round trip of (%d, %q): (%d, %q), %v", pos, id, p, s, err)
		}
	})
}
