//go:build !unix

package demo

import "io"

// terminalWidth reports no terminal: the demo does not run here (see
// signals_other.go), and its output is then plain lines.
func terminalWidth(io.Writer) (int, bool) { return 0, false }
