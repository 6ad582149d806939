package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/procreg/procreg"
)

// WriteJSON prints v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// NewTable returns an aligned table writer; call Flush when done.
func NewTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// Stamp formats a time for tables (UTC, milliseconds).
func Stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000")
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to n runes for a table cell, after escaping it (printable).
func clip(s string, n int) string {
	s = printable(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// OwnerName names a lease owner for humans: its owner id, and its pid when
// it has local-process liveness.
func OwnerName(o procreg.LeaseOwner) string {
	s := o.OwnerID
	if o.Liveness.Kind == procreg.LivenessLocalProcess {
		s += fmt.Sprintf(" (pid %d)", o.Liveness.PID)
	}
	return s
}
