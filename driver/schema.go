package driver

import "context"

// SchemaStatus is a database's schema version next to the migrations this
// program carries: what `procreg migrate status` prints and what the
// procreg command checks before it looks at a registry. A dialect reports
// it through Dialect.Schema (driver/migrate's Status reads it).
type SchemaStatus struct {
	// Dialect names the dialect ("sqlite").
	Dialect string `json:"dialect"`
	// Applied is the highest applied migration version; 0 when the
	// database has no procreg schema (no version table, or nothing applied).
	Applied int64 `json:"applied"`
	// Latest is the highest version of the migrations this program carries.
	Latest int64 `json:"latest"`
	// Migrations lists every migration this program carries, in version order.
	Migrations []SchemaMigration `json:"migrations"`
}

// SchemaMigration is one migration and whether the database has it.
type SchemaMigration struct {
	Version int64  `json:"version"`
	Name    string `json:"name"`
	Applied bool   `json:"applied"`
}

// Pending returns the migrations the database lacks, in version order.
func (s SchemaStatus) Pending() []SchemaMigration {
	var out []SchemaMigration
	for _, m := range s.Migrations {
		if !m.Applied {
			out = append(out, m)
		}
	}
	return out
}

// Current reports whether every migration this program carries is applied.
func (s SchemaStatus) Current() bool { return len(s.Pending()) == 0 && s.Applied >= s.Latest }

// SchemaFunc reads the schema status of the database a DSN names, creating
// and changing nothing (a missing SQLite file is an error wrapping
// fs.ErrNotExist; a malformed DSN is procreg.ErrInvalid).
type SchemaFunc func(ctx context.Context, dsn string) (SchemaStatus, error)
