package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"strings"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/driver"
)

// Open opens the registry named by the DSN, creating and migrating the
// database as needed (migrate and demo; the other commands use
// OpenExisting).
func Open(ctx context.Context, dsn string) (procreg.Registry, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, UsageErrorf("empty --dsn")
	}
	reg, err := backends.Open(ctx, dsn)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A well-formed path into a missing directory is a database that
		// cannot be created (exit 4), not a malformed DSN.
		return nil, &exitError{code: ExitOpen, err: fmt.Errorf("cannot create database %q: %w", Redact(dsn), err)}
	case err != nil:
		return nil, openError(dsn, err)
	}
	return reg, nil
}

// OpenExisting opens the registry for every command but migrate and demo:
// it neither creates nor migrates a database, so a mistyped SQLite path is
// "no such database file" (exit 4) instead of a new empty file, and looking
// at a server database never runs migrations. It first reads the schema
// version (which also proves the server and the database are there): a
// database without procreg's schema, or with an older one, is exit 4 with
// the hint to run procreg migrate.
func OpenExisting(ctx context.Context, dsn string) (procreg.Registry, error) {
	if _, err := CheckSchema(ctx, dsn); err != nil {
		return nil, err
	}
	reg, err := backends.OpenExisting(ctx, dsn)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, noSuchFile(dsn, err)
	case err != nil:
		return nil, openError(dsn, err)
	}
	return reg, nil
}

// CheckSchema reads the schema status of the database dsn names and
// refuses (exit 4) one that lacks procreg's current schema. A backend
// without a versioned schema (memory:) passes with a zero status.
func CheckSchema(ctx context.Context, dsn string) (driver.SchemaStatus, error) {
	st, err := SchemaStatus(ctx, dsn)
	switch {
	case errors.Is(err, backends.ErrNoSchema):
		return st, nil
	case err != nil:
		return st, err
	case st.Applied == 0:
		return st, &exitError{code: ExitOpen, err: fmt.Errorf("database %q is not migrated: it has no procreg schema (procreg migrate creates it)", Redact(dsn))}
	case st.Applied < st.Latest:
		return st, &exitError{code: ExitOpen, err: fmt.Errorf("database %q has procreg schema version %d and this procreg needs %d: procreg migrate brings its schema up to date", Redact(dsn), st.Applied, st.Latest)}
	}
	return st, nil
}

// SchemaStatus reads the schema status of the database dsn names, mapping
// failures to exit codes (a missing SQLite file and an unreachable server
// are exit 4, a malformed DSN exit 2). ErrNoSchema passes through.
func SchemaStatus(ctx context.Context, dsn string) (driver.SchemaStatus, error) {
	if strings.TrimSpace(dsn) == "" {
		return driver.SchemaStatus{}, UsageErrorf("empty --dsn")
	}
	st, err := backends.SchemaStatus(ctx, dsn)
	switch {
	case err == nil, errors.Is(err, backends.ErrNoSchema):
		return st, err
	case errors.Is(err, fs.ErrNotExist):
		return st, noSuchFile(dsn, err)
	case ctx.Err() != nil:
		return st, err
	}
	return st, openError(dsn, err)
}

func noSuchFile(dsn string, err error) error {
	return &exitError{code: ExitOpen, err: fmt.Errorf("no such database file %q (procreg migrate creates one): %w", Redact(dsn), rootCause(err))}
}

// openError maps a failed open: a malformed DSN is a usage error, any other
// failure means the database cannot be opened.
func openError(dsn string, err error) error {
	if errors.Is(err, procreg.ErrInvalid) {
		return &exitError{code: ExitUsage, err: fmt.Errorf("bad DSN %q: %w", Redact(dsn), err)}
	}
	return &exitError{code: ExitOpen, err: fmt.Errorf("cannot open database %q: %w", Redact(dsn), err)}
}

// rootCause is the innermost error of a chain of single wraps (the
// operating system's or the database's own words).
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

var (
	// user:password@ in a DSN that is not a URL (mysql's native form,
	// user:pass@tcp(host)/db or user:pass@/db).
	userinfoRE = regexp.MustCompile(`^([^:@/]*):([^@]*)@((?:tcp|unix)?[(/])`)
	// password=… as a URL query or key/value parameter.
	passwordParamRE = regexp.MustCompile(`(?i)\b(password|passwd|pass|pwd|sslpassword)=([^&\s]*)`)
)

// Redacted is what Redact puts in place of a password.
const Redacted = "xxxxx"

// Redact hides the password of a DSN for printing: the one in its
// user-info part (user:password@host) and any password= parameter.
func Redact(dsn string) string {
	out := dsn
	if u, err := url.Parse(dsn); err == nil && u.User != nil && strings.Contains(dsn, "://") {
		if _, has := u.User.Password(); has {
			out = u.Redacted()
		}
	} else if !strings.Contains(dsn, "://") {
		out = userinfoRE.ReplaceAllString(out, "${1}:"+Redacted+"@${3}")
	}
	return passwordParamRE.ReplaceAllString(out, "${1}="+Redacted)
}

// HasPassword reports whether the DSN carries a password (which Redact
// hides): a command line that repeats the DSN cannot then be printed.
func HasPassword(dsn string) bool { return Redact(dsn) != dsn }
