package core_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/core"
)

func TestCursorRoundTrip(t *testing.T) {
	key := []byte("database-a")
	c := core.SealCursor(key, "page", "status=running", []byte(`{"after":"p-9"}`))
	got, err := core.OpenCursor(key, "page", "status=running", c)
	if err != nil || string(got) != `{"after":"p-9"}` {
		t.Fatalf("OpenCursor(SealCursor(…)) = %q, %v", got, err)
	}
}

func TestCursorRejectsEverythingElse(t *testing.T) {
	key := []byte("database-a")
	good := core.SealCursor(key, "page", "status=running", []byte(`{"after":"p-9"}`))
	flipped := []byte(good)
	flipped[5] ^= 1
	for name, tc := range map[string]struct {
		key         []byte
		kind, shape string
		cursor      string
	}{
		"garbage":          {key, "page", "status=running", "hello"},
		"empty body":       {key, "page", "status=running", "v1.."},
		"truncated":        {key, "page", "status=running", good[:len(good)-3]},
		"no signature":     {key, "page", "status=running", good[:strings.LastIndex(good, ".")]},
		"altered byte":     {key, "page", "status=running", string(flipped)},
		"another shape":    {key, "page", "status=failed", good},
		"another kind":     {key, "changes", "status=running", good},
		"another database": {[]byte("database-b"), "page", "status=running", good},
		"huge":             {key, "page", "status=running", "v1." + strings.Repeat("A", core.MaxCursorBytes)},
	} {
		if _, err := core.OpenCursor(tc.key, tc.kind, tc.shape, tc.cursor); !errors.Is(err, procreg.ErrInvalid) {
			t.Errorf("%s: OpenCursor = %v, want ErrInvalid", name, err)
		}
	}
}
