// Package schema embeds procreg's versioned database migrations, one
// directory per dialect (sqlite, postgres, mysql). The files are goose
// migrations (a "-- +goose Up" section and no Down: migrations are
// forward-only) and are also the schema sqlc compiles the queries against,
// so the tables the code expects and the tables it creates cannot drift.
// Every dialect uses the same version numbers for the same change.
package schema

import (
	"embed"
	"io/fs"
)

// FS holds every dialect's migrations under sqlite/, postgres/ and mysql/.
//
//go:embed sqlite/*.sql postgres/*.sql mysql/*.sql
var FS embed.FS

// SQLite returns the SQLite migrations, rooted at their directory.
func SQLite() fs.FS { return sub("sqlite") }

// Postgres returns the PostgreSQL migrations, rooted at their directory.
func Postgres() fs.FS { return sub("postgres") }

// MySQL returns the MySQL/MariaDB migrations, rooted at their directory.
func MySQL() fs.FS { return sub("mysql") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(FS, dir)
	if err != nil {
		// fs.Sub fails only for an invalid path; dir is a constant above.
		panic("schema: " + err.Error())
	}
	return f
}
