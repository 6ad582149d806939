package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
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

// WriteJSONLine prints v as JSON on one line.
func WriteJSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// Emit prints v in the JSON format c asks for: indented (-o json) or on
// one line (-o jsonl).
func (c *Common) Emit(w io.Writer, v any) error {
	if c.Output == OutputJSONL {
		return WriteJSONLine(w, v)
	}
	return WriteJSON(w, v)
}

// EmitList prints a list: one JSON array (-o json), or one object per
// line (-o jsonl).
func EmitList[T any](c *Common, w io.Writer, items []T) error {
	if c.Output == OutputJSONL {
		for _, it := range items {
			if err := WriteJSONLine(w, it); err != nil {
				return err
			}
		}
		return nil
	}
	if items == nil {
		items = []T{}
	}
	return WriteJSON(w, items)
}

// NewTable returns an aligned table writer; call Flush when done.
func NewTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// Table is an aligned table with an optional header line.
type Table struct{ tw *tabwriter.Writer }

// Table starts a table on w with header (left out with --no-headers).
func (c *Common) Table(w io.Writer, header ...string) *Table {
	t := &Table{tw: NewTable(w)}
	if !c.NoHeaders {
		t.Row(header...)
	}
	return t
}

// Row adds one row; cells are printed as given (escape stored text first).
func (t *Table) Row(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")) }

// Flush writes the table.
func (t *Table) Flush() error { return t.tw.Flush() }

// StampLayout is how tables print times: UTC, milliseconds, with the zone
// (RFC 3339 with a space).
const StampLayout = "2006-01-02 15:04:05.000Z07:00"

// Stamp formats a time for tables (UTC, milliseconds, zone "Z").
func Stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(StampLayout)
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to n runes for a table cell, after escaping it
// (printable); n <= 0 escapes without clipping.
func clip(s string, n int) string {
	s = printable(s)
	r := []rune(s)
	if n <= 0 || len(r) <= n {
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

// ShellQuote quotes s for a POSIX shell when it needs quoting.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:,+=@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// CommandLine spells a procreg command line for the operator to paste:
// args quoted as needed, then --dsn with the DSN. A DSN with a password
// is never printed, not even redacted (a pasted "xxxxx" would fail): the
// line then reads the DSN from $PROCREG_DSN, and note says so unless the
// DSN came from there (fromEnv).
func CommandLine(dsn string, fromEnv bool, args ...string) (line, note string) {
	parts := []string{"procreg"}
	for _, a := range args {
		parts = append(parts, ShellQuote(a))
	}
	switch {
	case HasPassword(dsn) && fromEnv:
		// $PROCREG_DSN is the default: nothing to add.
	case HasPassword(dsn):
		parts = append(parts, "--dsn", `"$PROCREG_DSN"`)
		note = "(set PROCREG_DSN to the DSN you gave: its password is not printed)"
	default:
		parts = append(parts, "--dsn", ShellQuote(dsn))
	}
	return strings.Join(parts, " "), note
}
