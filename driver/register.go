package driver

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/procreg/procreg"
)

// A Dialect is a backend that can be selected by a DSN string: the
// package github.com/procreg/procreg/backends (backends.Open), the procreg
// command and the test matrix find every dialect that the program imports,
// the way database/sql finds its drivers. A backend registers itself from
// an init function of its package:
//
//	func init() {
//		driver.Register(driver.Dialect{
//			Name:    "cockroach",
//			Schemes: []string{"cockroach"},
//			Open:    openDSN,
//		})
//	}
type Dialect struct {
	// Name identifies the dialect ("sqlite", "postgres"): lower-case
	// letters and digits, starting with a letter. It names the backend's
	// package, its schema/ and queries/ directories, and the environment
	// variable PROCREG_<NAME>_DSN its tests read.
	Name string
	// Schemes are the DSN schemes the dialect serves, in lower case: a DSN
	// "scheme:rest" (or "scheme://rest") selects it. At least one.
	Schemes []string
	// FileSuffixes, when set, also select the dialect for a DSN without a
	// scheme that ends in one of them (".db" for SQLite files).
	FileSuffixes []string
	// Usage spells the dialect's DSNs for help texts and errors
	// ("postgres://user@host/db"); "" lists its schemes as "scheme:…".
	Usage string
	// Open opens the registry the DSN names (the whole DSN, scheme
	// included). A DSN the dialect cannot parse is procreg.ErrInvalid, and
	// errors must not echo a password the DSN may hold.
	Open func(ctx context.Context, dsn string, o OpenOptions) (procreg.Registry, error)
	// Schema, when set, reads the schema status of the database a DSN
	// names without changing it (backends.SchemaStatus, `procreg migrate
	// status`); nil for a dialect without a versioned schema (memory).
	Schema SchemaFunc
	// Floor, when set, opens the bare database under a DSN for `procreg
	// bench` (see Floor); nil for a dialect with no database under it
	// (memory). Every SQL dialect of this module has one, and `procreg
	// dialect check` asks for it.
	Floor FloorFunc
}

// OpenOptions are what backends.Open and backends.OpenExisting ask of a
// dialect's Open.
type OpenOptions struct {
	// Existing asks to open only what already exists: create nothing (no
	// file, no database) and run no migration. A database without the
	// current schema then fails at its first query with an error wrapping
	// ErrSchemaMissing; a missing SQLite file is an error wrapping
	// fs.ErrNotExist.
	Existing bool
}

var (
	dialectsMu sync.RWMutex
	dialects   = map[string]Dialect{} // by name
	schemes    = map[string]string{}  // scheme → dialect name
	suffixes   = map[string]string{}  // file suffix → dialect name
)

// Register makes a dialect available to backends.Open. Like
// database/sql.Register it is meant for init functions and panics when the
// dialect is malformed (no name, no scheme, no Open) or when its name, a
// scheme or a file suffix is already registered: both are programming
// errors that must fail the program's first run, not a later open.
func Register(d Dialect) {
	if err := d.validate(); err != nil {
		panic("driver: Register: " + err.Error())
	}
	dialectsMu.Lock()
	defer dialectsMu.Unlock()
	if _, dup := dialects[d.Name]; dup {
		panic(fmt.Sprintf("driver: Register: dialect %q is registered twice", d.Name))
	}
	for _, s := range d.Schemes {
		if other, dup := schemes[s]; dup {
			panic(fmt.Sprintf("driver: Register: scheme %q of dialect %q is already dialect %q's", s, d.Name, other))
		}
	}
	for _, s := range d.FileSuffixes {
		if other, dup := suffixes[s]; dup {
			panic(fmt.Sprintf("driver: Register: file suffix %q of dialect %q is already dialect %q's", s, d.Name, other))
		}
	}
	d.Schemes = slices.Clone(d.Schemes)
	d.FileSuffixes = slices.Clone(d.FileSuffixes)
	dialects[d.Name] = d
	for _, s := range d.Schemes {
		schemes[s] = d.Name
	}
	for _, s := range d.FileSuffixes {
		suffixes[s] = d.Name
	}
}

func (d Dialect) validate() error {
	if !isName(d.Name) {
		return fmt.Errorf("dialect name %q is not lower-case letters and digits starting with a letter", d.Name)
	}
	if len(d.Schemes) == 0 {
		return fmt.Errorf("dialect %q has no DSN scheme", d.Name)
	}
	for _, s := range d.Schemes {
		if !isScheme(s) {
			return fmt.Errorf("dialect %q: %q is not a lower-case DSN scheme of two or more characters", d.Name, s)
		}
	}
	for _, s := range d.FileSuffixes {
		if !strings.HasPrefix(s, ".") || len(s) < 2 {
			return fmt.Errorf("dialect %q: file suffix %q does not start with a dot", d.Name, s)
		}
	}
	if d.Open == nil {
		return fmt.Errorf("dialect %q has no Open function", d.Name)
	}
	return nil
}

// Lookup returns the registered dialect that serves dsn: by its scheme
// (the text before the first ':'), or, for a DSN without a scheme, by its
// file suffix.
func Lookup(dsn string) (Dialect, bool) {
	dialectsMu.RLock()
	defer dialectsMu.RUnlock()
	if s, ok := Scheme(dsn); ok {
		d, found := dialects[schemes[s]]
		return d, found
	}
	if strings.Contains(dsn, "://") {
		return Dialect{}, false
	}
	for suffix, name := range suffixes {
		if strings.HasSuffix(dsn, suffix) && len(dsn) > len(suffix) {
			return dialects[name], true
		}
	}
	return Dialect{}, false
}

// Dialects returns every registered dialect, sorted by name.
func Dialects() []Dialect {
	dialectsMu.RLock()
	defer dialectsMu.RUnlock()
	out := make([]Dialect, 0, len(dialects))
	for _, d := range dialects {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Dialect) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Scheme returns the scheme of dsn, lower-cased: the text before its first
// ':' when that is a scheme of two or more characters (so a Windows drive
// letter, "C:\data\x.db", is not one). ok is false when dsn has none.
func Scheme(dsn string) (scheme string, ok bool) {
	i := strings.IndexByte(dsn, ':')
	if i < 2 {
		return "", false
	}
	// Lower-case ASCII only: strings.ToLower would also map non-ASCII
	// letters onto ASCII ones (the Kelvin sign to "k", "İ" to "i"), giving
	// a scheme that is not the DSN's text and that Rest would cut at the
	// wrong byte.
	s := []byte(dsn[:i])
	for j, c := range s {
		if 'A' <= c && c <= 'Z' {
			s[j] = c + ('a' - 'A')
		}
	}
	if !isScheme(string(s)) {
		return "", false
	}
	return string(s), true
}

// Rest returns what follows the scheme of dsn: "sqlite:a.db" and
// "sqlite://a.db" both give "a.db". It returns dsn unchanged when dsn has
// no scheme.
func Rest(dsn string) string {
	s, ok := Scheme(dsn)
	if !ok {
		return dsn
	}
	return strings.TrimPrefix(dsn[len(s)+1:], "//")
}

// isScheme reports an RFC 3986 scheme in lower case, at least two
// characters long.
func isScheme(s string) bool {
	if len(s) < 2 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// isName reports a dialect name: lower-case letters and digits, starting
// with a letter (a valid Go package name and environment variable part).
func isName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
