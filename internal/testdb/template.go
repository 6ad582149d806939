package testdb

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/procreg/procreg/driver/migrate"
	"github.com/procreg/procreg/schema"
)

// TemplateSaltEnv, when set, is mixed into the template names. It exists for
// testdb's own tests, which need a template nobody has built yet.
const TemplateSaltEnv = "PROCREG_TESTDB_TEMPLATE_SALT"

// templateFormat changes when the way a template is built changes, so that
// templates built the old way are not used.
const templateFormat = "procreg testdb template 1"

// Prefixes of the names testdb gives its databases; validName accepts them
// all. A per-test database is "procreg_" and 16 hex digits, so it never
// starts with either of these.
const (
	templatePrefix = "procreg_tpl_"      // a finished template
	buildPrefix    = "procreg_tplbuild_" // a PostgreSQL template being built
)

// Template upkeep bounds.
const (
	// templateTimeout bounds one template build, including the wait for
	// another process that is building the same template.
	templateTimeout = 2 * time.Minute
	// staleTemplateAge is how old a template of another schema must be
	// before a build drops it: a younger one may be in use by a test run of
	// another branch on the same server.
	staleTemplateAge = 7 * 24 * time.Hour
)

// TemplateName returns the name of the migrated template database of
// a dialect ("postgres" or "mysql"): "procreg_tpl_" and a hash of
// everything that decides its content, namely the dialect's embedded
// migrations (package schema), the version table's name and the way
// testdb builds templates. A schema change therefore makes a new template,
// and a stale one is never used.
func TemplateName(dialect string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", templateFormat, migrate.VersionTable, os.Getenv(TemplateSaltEnv))
	err := fs.WalkDir(schema.FS, dialect, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(schema.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("testdb: hash the %s migrations: %w", dialect, err)
	}
	return templatePrefix + hex.EncodeToString(h.Sum(nil)[:8]), nil
}

// templateCache holds one process's template of one server: built (or
// found) by the first test that needs it, while the others wait.
type templateCache[T any] struct {
	mu   sync.Mutex
	done bool
	val  T
	err  error
}

// get returns the cached template, running ensure first if there is none.
func (c *templateCache[T]) get(ensure func() (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		c.val, c.err = ensure()
		c.done = true
	}
	return c.val, c.err
}

// forget drops the cached template so that the next get ensures it again
// (it vanished from the server: dropped by hand or as stale by another run).
func (c *templateCache[T]) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = false
}

// buildStamp records when a template was built (RFC 3339, UTC).
func buildStamp() string { return time.Now().UTC().Format(time.RFC3339) }

// isStale reports whether a template of another schema built at built may
// be dropped.
func isStale(built time.Time) bool { return time.Since(built) > staleTemplateAge }

// source is a dialect's embedded migrations, for their latest version.
func source(dialect string) migrate.Source {
	return migrate.Source{Dialect: dialect, FS: schema.FS, Dir: dialect}
}

// newCursorKey is a fresh cursor secret for a database copied from a
// template. Migration 00002 gives every database its own random secret
// (procreg_meta.cursor_key), with which the engine authenticates cursors;
// a copy would share the template's, and a cursor of one test's database
// would pass in another's, which a migrated database never allows. The
// UPDATE statements that store it are test-only SQL in Go: they run on
// testdb's admin connections, outside any backend.
func newCursorKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("testdb: random cursor key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
