package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/procreg/procreg"
)

// Cursors are opaque to callers and authenticated: "v1." + base64url(payload)
// + "." + base64url(mac), where mac is the first 16 bytes of
// HMAC-SHA256(key, kind NUL shape NUL payload). The key is the database's
// cursor secret (driver.Tx.CursorKey), so a cursor made by another
// database, for another kind of call (a page, the change feed) or another
// call shape (another filter), or altered in any byte, fails the check and
// is ErrInvalid; it is never decoded into a wrong position.

// MaxCursorBytes bounds a cursor's length before any decoding.
const MaxCursorBytes = 1024

const (
	cursorVersion = "v1."
	macBytes      = 16
)

var cursorEncoding = base64.RawURLEncoding

// SealCursor returns the cursor carrying payload for a call of kind and
// shape, authenticated with key.
func SealCursor(key []byte, kind, shape string, payload []byte) string {
	return cursorVersion + cursorEncoding.EncodeToString(payload) + "." +
		cursorEncoding.EncodeToString(cursorMAC(key, kind, shape, payload))
}

// OpenCursor checks a cursor made by SealCursor with the same key, kind and
// shape and returns its payload. Anything else (garbage, truncation, a
// cursor of another kind, shape or database) is ErrInvalid, naming what
// the cursor was given to.
func OpenCursor(key []byte, kind, shape, cursor string) ([]byte, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s cursor: %s (pass the Next of the previous page of the same call, or \"\" to start)",
			procreg.ErrInvalid, kind, why)
	}
	if len(cursor) > MaxCursorBytes {
		return nil, bad(fmt.Sprintf("longer than %d bytes", MaxCursorBytes))
	}
	rest, ok := strings.CutPrefix(cursor, cursorVersion)
	if !ok {
		return nil, bad("not a procreg cursor")
	}
	body, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, bad("truncated")
	}
	// Only the one spelling SealCursor makes: base64 decoding alone would
	// also take other spellings of the same bytes (nonzero unused bits in
	// the last character, CR and LF anywhere), so one cursor would have
	// many texts.
	payload, err := cursorEncoding.DecodeString(body)
	if err != nil || cursorEncoding.EncodeToString(payload) != body {
		return nil, bad("malformed")
	}
	mac, err := cursorEncoding.DecodeString(sig)
	if err != nil || cursorEncoding.EncodeToString(mac) != sig || !hmac.Equal(mac, cursorMAC(key, kind, shape, payload)) {
		return nil, bad("made for another call, another filter or another registry, or altered")
	}
	return payload, nil
}

func cursorMAC(key []byte, kind, shape string, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(shape))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum(nil)[:macBytes]
}
