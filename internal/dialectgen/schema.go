package dialectgen

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/procreg/procreg/driver"
)

// migrationFile matches a goose migration's file name: <version>_<name>.sql.
var migrationFile = regexp.MustCompile(`^(\d+)_[^/]*\.sql$`)

// Migrations returns the migration files of a schema directory (relative
// to root) by version.
func Migrations(root, dir string) (map[int64]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, dir))
	if err != nil {
		return nil, err
	}
	out := map[int64]string{}
	for _, e := range entries {
		m := migrationFile.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		v, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", dir, e.Name(), err)
		}
		if prev, dup := out[v]; dup {
			return nil, fmt.Errorf("%s: version %d is both %s and %s", dir, v, prev, e.Name())
		}
		out[v] = e.Name()
	}
	return out, nil
}

// The tables the generated adapter maps, with the driver row each
// mirrors column by column (wake_acks has no row type).
var adapterTables = []struct {
	table string
	row   reflect.Type
	extra []string
}{
	{"processes", reflect.TypeFor[driver.ProcessRow](), nil},
	{"events", reflect.TypeFor[driver.EventRow](), nil},
	{"grants", reflect.TypeFor[driver.GrantRow](), nil},
	{"wake_acks", nil, []string{"process_id", "sequence"}},
}

// RequiredColumns returns, per table, the columns the adapter reads and
// writes: the snake_case names of the driver rows' fields (sqlc names the
// model fields back from them).
func RequiredColumns() map[string][]string {
	out := map[string][]string{}
	for _, t := range adapterTables {
		cols := slices.Clone(t.extra)
		if t.row != nil {
			for f := range t.row.Fields() {
				cols = append(cols, snake(f.Name))
			}
		}
		out[t.table] = cols
	}
	return out
}

// snake turns a Go field name into its column: ExternalRefID →
// external_ref_id, CreatedAtMs → created_at_ms.
func snake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 &&
			(unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

var (
	sqlLineComment = regexp.MustCompile(`--[^\n]*`)
	createTable    = regexp.MustCompile(`(?is)\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w"` + "`" + `]+)\s*\(`)
	alterTable     = regexp.MustCompile(`(?is)\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?([\w"` + "`" + `]+)\s+(.*?)(?:;|$)`)
	addColumn      = regexp.MustCompile(`(?is)^\s*ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?([\w"` + "`" + `]+)`)
	dropColumn     = regexp.MustCompile(`(?is)^\s*DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?([\w"` + "`" + `]+)`)
	renameColumn   = regexp.MustCompile(`(?is)^\s*RENAME\s+COLUMN\s+([\w"` + "`" + `]+)\s+TO\s+([\w"` + "`" + `]+)`)
	dropTable      = regexp.MustCompile(`(?is)\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?([\w"` + "`" + `]+)`)
)

// constraintWords start a table element that is not a column.
var constraintWords = []string{"PRIMARY", "UNIQUE", "CONSTRAINT", "FOREIGN", "KEY", "INDEX", "CHECK", "FULLTEXT", "SPATIAL", "EXCLUDE"}

// Columns returns the tables and columns of the final schema of a schema
// directory (relative to root): its migrations' Up sections applied in
// version order, reading CREATE TABLE, ALTER TABLE … ADD / DROP / RENAME
// COLUMN and DROP TABLE. It reads enough SQL to check the columns the
// adapter needs, not every statement a database accepts.
func Columns(root, dir string) (map[string][]string, error) {
	migs, err := Migrations(root, dir)
	if err != nil {
		return nil, err
	}
	versions := make([]int64, 0, len(migs))
	for v := range migs {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	tables := map[string][]string{}
	for _, v := range versions {
		b, err := os.ReadFile(filepath.Join(root, dir, migs[v]))
		if err != nil {
			return nil, err
		}
		applySchema(tables, upSection(string(b)))
	}
	return tables, nil
}

// upSection returns a goose file's "-- +goose Up" part without comments.
func upSection(src string) string {
	if i := strings.Index(src, "-- +goose Up"); i >= 0 {
		src = src[i:]
	}
	if i := strings.Index(src, "-- +goose Down"); i >= 0 {
		src = src[:i]
	}
	return sqlLineComment.ReplaceAllString(src, "")
}

func applySchema(tables map[string][]string, sql string) {
	for _, m := range createTable.FindAllStringSubmatchIndex(sql, -1) {
		name := unquote(sql[m[2]:m[3]])
		body := parenBody(sql[m[1]:])
		var cols []string
		for _, item := range splitTopLevel(body) {
			f := strings.Fields(item)
			if len(f) == 0 || slices.Contains(constraintWords, strings.ToUpper(f[0])) {
				continue
			}
			cols = append(cols, unquote(f[0]))
		}
		tables[name] = cols
	}
	for _, m := range alterTable.FindAllStringSubmatch(sql, -1) {
		name := unquote(m[1])
		for _, action := range splitTopLevel(m[2]) {
			switch {
			case renameColumn.MatchString(action):
				r := renameColumn.FindStringSubmatch(action)
				if i := slices.Index(tables[name], unquote(r[1])); i >= 0 {
					tables[name][i] = unquote(r[2])
				}
			case addColumn.MatchString(action):
				c := unquote(addColumn.FindStringSubmatch(action)[1])
				if !slices.Contains(constraintWords, strings.ToUpper(c)) {
					tables[name] = append(tables[name], c)
				}
			case dropColumn.MatchString(action):
				c := unquote(dropColumn.FindStringSubmatch(action)[1])
				tables[name] = slices.DeleteFunc(tables[name], func(s string) bool { return s == c })
			}
		}
	}
	for _, m := range dropTable.FindAllStringSubmatch(sql, -1) {
		delete(tables, unquote(m[1]))
	}
}

func unquote(s string) string { return strings.ToLower(strings.Trim(s, "\"`")) }

// parenBody returns the text up to the parenthesis closing the one just
// before s.
func parenBody(s string) string {
	depth := 1
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[:i]
			}
		}
	}
	return s
}

// splitTopLevel splits s at commas outside parentheses.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
