// Package dialectgen adds and checks procreg's SQL dialects: New writes a
// new dialect as a copy of an existing one (`procreg dialect new`), marking
// every copied line that a database difference touches with a
// TODO(dialect) comment, and Check verifies that the SQL dialects agree
// (`procreg dialect check`): the same query names, the same migration
// versions, the columns the adapter reads, gen/ in sync with sqlc and
// internal/adaptergen, the dialect registered, and no TODO(dialect) left.
//
// It is also the one home of reading sqlc.yaml's dialect blocks and the
// named queries they compile (Config, Queries), which queries/queries_test.go
// and internal/servertest use.
package dialectgen

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// ConfigFile is sqlc's configuration, at the module root.
const ConfigFile = "sqlc.yaml"

// Block is one Go-generating entry of sqlc.yaml: one SQL dialect.
type Block struct {
	// Name is the dialect's name: the last element of Out (gen/<name>).
	Name    string
	Engine  string   // sqlc's engine: sqlite, postgresql, mysql
	Schema  string   // the migrations directory, relative to the root
	Queries []string // directories and files, relative to the root
	Package string   // gen.go.package
	Out     string   // gen.go.out
	// Text is the entry as written in sqlc.yaml (from its "- engine:" line
	// to the next entry), comments included; Line is its first line.
	Text string
	Line int
}

// Config is sqlc.yaml's dialect blocks, in file order.
type Config struct {
	Root   string // the directory of sqlc.yaml
	Blocks []Block
}

// ReadConfig reads root/sqlc.yaml.
func ReadConfig(root string) (*Config, error) {
	path := filepath.Join(root, ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseConfig(root, b)
}

func parseConfig(root string, b []byte) (*Config, error) {
	var raw struct {
		SQL []struct {
			Engine  string `yaml:"engine"`
			Schema  any    `yaml:"schema"`
			Queries any    `yaml:"queries"`
			Gen     struct {
				Go *struct {
					Package string `yaml:"package"`
					Out     string `yaml:"out"`
				} `yaml:"go"`
			} `yaml:"gen"`
		} `yaml:"sql"`
	}
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	texts, lines := blockTexts(string(b))
	if len(texts) != len(raw.SQL) {
		return nil, fmt.Errorf("%s: found %d entries under sql: but %d \"  - engine:\" lines", ConfigFile, len(raw.SQL), len(texts))
	}
	c := &Config{Root: root}
	for i, e := range raw.SQL {
		if e.Gen.Go == nil {
			continue
		}
		schema, err := stringList(e.Schema)
		if err != nil || len(schema) != 1 {
			return nil, fmt.Errorf("%s: entry %d: want one schema directory, got %v", ConfigFile, i+1, e.Schema)
		}
		queries, err := stringList(e.Queries)
		if err != nil {
			return nil, fmt.Errorf("%s: entry %d: queries: %w", ConfigFile, i+1, err)
		}
		out := filepath.ToSlash(filepath.Clean(e.Gen.Go.Out))
		c.Blocks = append(c.Blocks, Block{
			Name: filepath.Base(out), Engine: e.Engine, Schema: filepath.ToSlash(filepath.Clean(schema[0])),
			Queries: queries, Package: e.Gen.Go.Package, Out: out, Text: texts[i], Line: lines[i],
		})
	}
	return c, nil
}

func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{filepath.ToSlash(filepath.Clean(v))}, nil
	case []any:
		var out []string
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a path", x)
			}
			out = append(out, filepath.ToSlash(filepath.Clean(s)))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v is not a path or a list of paths", v)
}

// blockTexts splits the text of sqlc.yaml's sql: list into its entries.
func blockTexts(s string) (texts []string, starts []int) {
	var (
		out []string
		cur []string
		in  bool
		n   int
	)
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		n++
		switch {
		case strings.HasPrefix(line, "  - "):
			if in {
				out = append(out, strings.Join(cur, "\n")+"\n")
			}
			cur, in = []string{line}, true
			starts = append(starts, n)
		case in && (strings.HasPrefix(line, "   ") || strings.TrimSpace(line) == "" || strings.HasPrefix(line, "  #")):
			cur = append(cur, line)
		case in:
			out = append(out, strings.Join(cur, "\n")+"\n")
			in = false
		}
	}
	if in {
		out = append(out, strings.Join(cur, "\n")+"\n")
	}
	// Comment and blank lines at the end of an entry introduce the next one.
	for i := range out {
		lines := strings.Split(strings.TrimSuffix(out[i], "\n"), "\n")
		for len(lines) > 1 && (strings.TrimSpace(lines[len(lines)-1]) == "" || strings.HasPrefix(strings.TrimSpace(lines[len(lines)-1]), "#")) {
			lines = lines[:len(lines)-1]
		}
		out[i] = strings.Join(lines, "\n") + "\n"
	}
	return out, starts
}

// Block returns the block of the named dialect.
func (c *Config) Block(name string) (Block, bool) {
	for _, b := range c.Blocks {
		if b.Name == name {
			return b, true
		}
	}
	return Block{}, false
}

// Names returns the dialect names in file order.
func (c *Config) Names() []string {
	var out []string
	for _, b := range c.Blocks {
		out = append(out, b.Name)
	}
	return out
}

// QueryDirs returns the query directories b compiles whole (the others
// of b.Queries are single files another dialect's directory holds).
func (b Block) QueryDirs() []string {
	var out []string
	for _, q := range b.Queries {
		if filepath.Ext(q) != ".sql" {
			out = append(out, q)
		}
	}
	return out
}

// QueryFiles returns the .sql files b compiles, relative to root, in the
// order sqlc reads them (each directory's files in name order).
func (c *Config) QueryFiles(b Block) ([]string, error) {
	var out []string
	for _, q := range b.Queries {
		if filepath.Ext(q) == ".sql" {
			out = append(out, q)
			continue
		}
		files, err := filepath.Glob(filepath.Join(c.Root, q, "*.sql"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no query files in %s", b.Name, q)
		}
		slices.Sort(files)
		for _, f := range files {
			rel, _ := filepath.Rel(c.Root, f)
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out, nil
}

// Statement is one named query of a query file: its SQL as written (sqlc's
// macros intact, comment lines dropped).
type Statement struct {
	Name, SQL string
	File      string // relative to the root
	Line      int    // of its "-- name:" line
}

// Queries returns every named query b compiles, in file order; a name
// declared twice is returned twice.
func (c *Config) Queries(b Block) ([]Statement, error) {
	files, err := c.QueryFiles(b)
	if err != nil {
		return nil, err
	}
	var out []Statement
	for _, f := range files {
		st, err := ParseQueryFile(c.Root, f)
		if err != nil {
			return nil, err
		}
		out = append(out, st...)
	}
	return out, nil
}

// ParseQueryFile splits one sqlc query file (rel, relative to root) into
// its named statements.
func ParseQueryFile(root, rel string) ([]Statement, error) {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	return parseQueries(rel, string(b)), nil
}

func parseQueries(file, src string) []Statement {
	var (
		out  []Statement
		cur  *Statement
		body strings.Builder
	)
	flush := func() {
		if cur != nil {
			cur.SQL = body.String()
			out = append(out, *cur)
		}
		cur = nil
		body.Reset()
	}
	for i, line := range strings.Split(src, "\n") {
		if name, ok := queryName(line); ok {
			flush()
			cur = &Statement{Name: name, File: file, Line: i + 1}
			continue
		}
		if cur == nil || strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		body.WriteString(line + "\n")
	}
	flush()
	return out
}

// queryName reads sqlc's "-- name: X :kind" line.
func queryName(line string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "--")
	if !ok {
		return "", false
	}
	rest, ok = strings.CutPrefix(strings.TrimSpace(rest), "name:")
	if !ok {
		return "", false
	}
	f := strings.Fields(rest)
	if len(f) < 2 {
		return "", false
	}
	return f[0], true
}

// FindRoot returns the directory of the go.mod above dir (dir included)
// and the module path it declares.
func FindRoot(dir string) (root, module string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			return dir, modulePath(b), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", "", errors.New("no go.mod in this directory or above it: run from inside the procreg module")
		}
		dir = parent
	}
}

func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}
