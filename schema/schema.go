// Package schema embeds procreg's versioned database migrations, one
// directory per SQL dialect (schema/<dialect>/). The files are goose
// migrations (a "-- +goose Up" section and no Down: migrations are
// forward-only) and are also the schema sqlc compiles the queries against,
// so the tables the code expects and the tables it creates cannot drift.
// Every dialect uses the same version numbers for the same change; a new
// dialect's directory is embedded by existing.
package schema

import (
	"embed"
	"io/fs"
)

// FS holds every dialect's migrations, each under its dialect's directory.
//
//go:embed */*.sql
var FS embed.FS

// Dialects lists the dialects that have migrations, in name order.
func Dialects() []string {
	entries, _ := fs.ReadDir(FS, ".") // the embedded root always reads
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}
