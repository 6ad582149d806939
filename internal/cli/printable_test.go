package cli

import "testing"

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain task 7":      "plain task 7",
		"héllo, 世界 ✓":       "héllo, 世界 ✓",
		"\x1b[2Jgone":       `\x1b[2Jgone`,
		"a\tb\nc\rd":        `a\tb\nc\rd`,
		"del\x7f c1\u009b":  `del\x7f c1\u009b`,
		"rtl\u202eevil":     `rtl\u202eevil`,
		"sep\u2028line":     `sep\u2028line`,
		"bad \xff utf8":     `bad \xff utf8`,
		`already \x1b text`: `already \x1b text`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}
