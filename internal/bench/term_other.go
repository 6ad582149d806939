//go:build !unix

package bench

import "io"

// IsTerminal reports no terminal here: the progress is then plain lines.
func IsTerminal(io.Writer) bool { return false }
