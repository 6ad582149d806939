package dialectgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/procreg/procreg/internal/adaptergen"
)

// Marker starts the comment that New puts on every copied line a database
// difference touches, and that Check reports until a person removes it.
const Marker = "TODO(dialect)"

// Finding is one problem Check found, printed as one line.
type Finding struct {
	Dialect string // "" when it concerns no single dialect
	Msg     string
}

func (f Finding) String() string {
	if f.Dialect == "" {
		return f.Msg
	}
	return f.Dialect + ": " + f.Msg
}

// Summary is what a clean Check saw.
type Summary struct {
	Dialects   []string
	Queries    int
	Migrations int
}

func (s Summary) String() string {
	return fmt.Sprintf("dialect check: %d dialect(s) (%s) agree: %d queries, %d migration(s), columns, gen/ in sync, registered with a floor, no %s left",
		len(s.Dialects), strings.Join(s.Dialects, ", "), s.Queries, s.Migrations, Marker)
}

// CheckOptions tune Check.
type CheckOptions struct {
	// Go is the go command (default "go"), used for `go tool sqlc diff`.
	Go string
	// SkipSQLC leaves out the sqlc diff (the unit tests of the other checks).
	SkipSQLC bool
}

// Check checks the named SQL dialects (every dialect of sqlc.yaml when
// names is empty) of the module at root against each other and the
// adapter; it returns one Finding per problem.
func Check(ctx context.Context, root string, names []string, o CheckOptions) ([]Finding, Summary, error) {
	cfg, err := ReadConfig(root)
	if err != nil {
		return nil, Summary{}, err
	}
	if len(names) == 0 {
		names = cfg.Names()
	}
	var sel []Block
	for _, n := range names {
		b, ok := cfg.Block(n)
		if !ok {
			return nil, Summary{}, fmt.Errorf("no SQL dialect %q in %s (dialects: %s)", n, ConfigFile, strings.Join(cfg.Names(), ", "))
		}
		sel = append(sel, b)
	}
	c := &checker{cfg: cfg, sel: sel}
	c.queries()
	c.directories()
	c.migrations()
	c.columns()
	c.adapters()
	if !o.SkipSQLC {
		c.sqlcDiff(ctx, o.Go)
	}
	c.registered()
	c.markers()
	return c.findings, Summary{Dialects: names, Queries: c.nQueries, Migrations: c.nMigrations}, nil
}

// QueryFindings runs Check's query checks alone on every dialect of cfg:
// the same query names in every dialect, each declared once, and every
// directory under queries/ shared by all or compiled by one
// (queries/queries_test.go).
func QueryFindings(cfg *Config) []Finding {
	c := &checker{cfg: cfg, sel: cfg.Blocks}
	c.queries()
	c.directories()
	return c.findings
}

type checker struct {
	cfg         *Config
	sel         []Block
	findings    []Finding
	nQueries    int
	nMigrations int
}

func (c *checker) add(dialect, format string, args ...any) {
	c.findings = append(c.findings, Finding{Dialect: dialect, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) selected(name string) bool {
	return slices.ContainsFunc(c.sel, func(b Block) bool { return b.Name == name })
}

// compare reports, for every selected dialect, the keys others have and it
// lacks, and the keys it alone has against unselected dialects (a lack in
// a selected one is reported from that side).
func (c *checker) compare(have map[string][]string, what func(key string) string, lacks string) {
	all := map[string][]string{} // key -> dialects having it
	for _, b := range c.cfg.Blocks {
		for _, k := range have[b.Name] {
			all[k] = append(all[k], b.Name)
		}
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, b := range c.sel {
		for _, k := range keys {
			if !slices.Contains(have[b.Name], k) {
				c.add(b.Name, "%s %s (%s have it)", lacks, what(k), strings.Join(all[k], ", "))
			}
		}
	}
	for _, b := range c.cfg.Blocks {
		if c.selected(b.Name) {
			continue
		}
		for _, k := range keys {
			if slices.Contains(have[b.Name], k) {
				continue
			}
			for _, d := range all[k] {
				if c.selected(d) {
					c.add(d, "%s %s, which %s lacks", "has", what(k), b.Name)
				}
			}
		}
	}
}

// OptionalQueries are the queries a dialect declares only when it needs
// them, with why; the adapter generator emits their calls only where they
// exist, and the parity check does not ask every dialect for them.
var OptionalQueries = map[string]string{
	// The change feed's commit-ordered counter (schema/mysql/00003_changes.sql):
	// a dialect that cannot stamp the feed position in the row write itself.
	"BumpChangeCounter": "the commit-ordered change counter of a dialect without a visibility horizon",
	// The leases of one ClaimNext in one statement (array parameters,
	// PostgreSQL's unnest); without it the adapter writes one
	// UpdateProcessLease per row.
	"UpdateProcessLeases": "one statement for the leases of a batch claim, where the dialect has array parameters",
}

// queries: every dialect declares the same query names (OptionalQueries
// aside), each once.
func (c *checker) queries() {
	have := map[string][]string{}
	for _, b := range c.cfg.Blocks {
		st, err := c.cfg.Queries(b)
		if err != nil {
			if c.selected(b.Name) {
				c.add(b.Name, "queries: %v", err)
			}
			continue
		}
		seen := map[string]Statement{}
		for _, s := range st {
			if prev, dup := seen[s.Name]; dup && c.selected(b.Name) {
				c.add(b.Name, "query %s is declared twice: %s:%d and %s:%d", s.Name, prev.File, prev.Line, s.File, s.Line)
			}
			seen[s.Name] = s
			if _, optional := OptionalQueries[s.Name]; optional {
				continue
			}
			if !slices.Contains(have[b.Name], s.Name) {
				have[b.Name] = append(have[b.Name], s.Name)
			}
		}
		if c.selected(b.Name) {
			c.nQueries = max(c.nQueries, len(have[b.Name]))
		}
	}
	c.compare(have, func(k string) string { return "query " + k }, "lacks")
}

// directories: every directory under queries/ is compiled whole by every
// dialect (shared) or by exactly one; other sharing is a file listed by
// path.
func (c *checker) directories() {
	users := map[string][]string{}
	for _, b := range c.cfg.Blocks {
		for _, d := range b.QueryDirs() {
			users[d] = append(users[d], b.Name)
		}
	}
	for _, b := range c.sel {
		if !slices.Contains(users["queries/shared"], b.Name) {
			c.add(b.Name, "%s does not compile queries/shared", ConfigFile)
		}
		for _, d := range b.QueryDirs() {
			if d != "queries/shared" && len(users[d]) > 1 {
				c.add(b.Name, "%s is compiled whole by %s; a directory other than queries/shared belongs to one dialect (list a file by path to share it)", d, strings.Join(users[d], ", "))
			}
		}
	}
}

// migrations: every dialect has the same migration versions.
func (c *checker) migrations() {
	have := map[string][]string{}
	for _, b := range c.cfg.Blocks {
		m, err := Migrations(c.cfg.Root, b.Schema)
		if err != nil {
			if c.selected(b.Name) {
				c.add(b.Name, "migrations: %v", err)
			}
			continue
		}
		for v := range m {
			have[b.Name] = append(have[b.Name], fmt.Sprintf("%05d", v))
		}
		if c.selected(b.Name) {
			c.nMigrations = max(c.nMigrations, len(m))
		}
	}
	c.compare(have, func(k string) string { return "migration version " + k }, "lacks")
}

// columns: the final schema has every column the adapter maps.
func (c *checker) columns() {
	want := RequiredColumns()
	tables := make([]string, 0, len(want))
	for t := range want {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	for _, b := range c.sel {
		got, err := Columns(c.cfg.Root, b.Schema)
		if err != nil {
			c.add(b.Name, "schema: %v", err)
			continue
		}
		for _, t := range tables {
			cols, ok := got[t]
			if !ok {
				c.add(b.Name, "%s creates no table %s, which the adapter reads", b.Schema, t)
				continue
			}
			for _, col := range want[t] {
				if !slices.Contains(cols, col) {
					c.add(b.Name, "%s: table %s lacks column %s, which the adapter reads", b.Schema, t, col)
				}
			}
		}
	}
}

// adapters: gen/<dialect>/adapter.go is what internal/adaptergen makes of
// the gen package now.
func (c *checker) adapters() {
	for _, b := range c.sel {
		d := adaptergen.Dialect{Engine: b.Engine, Package: b.Package, Out: b.Out}
		stale, err := adaptergen.Stale(c.cfg.Root, []adaptergen.Dialect{d})
		switch {
		case err != nil:
			c.add(b.Name, "%s", strings.ReplaceAll(err.Error(), "\n\t", "; "))
		case len(stale) > 0:
			c.add(b.Name, "%s is stale: run 'make generate'", filepath.ToSlash(stale[0]))
		}
	}
}

// sqlcDiff: gen/ is what sqlc generates now.
func (c *checker) sqlcDiff(ctx context.Context, goCmd string) {
	if goCmd == "" {
		goCmd = "go"
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, goCmd, "tool", "sqlc", "diff")
	cmd.Dir = c.cfg.Root
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return
	}
	byOut := func(path string) string {
		for _, b := range c.cfg.Blocks {
			if strings.HasPrefix(path, b.Out+"/") {
				return b.Name
			}
		}
		return ""
	}
	reported := false
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		path, ok := strings.CutPrefix(sc.Text(), "--- a/")
		if !ok {
			continue
		}
		if d := byOut(path); d == "" || c.selected(d) {
			c.add(d, "%s differs from what sqlc generates: run 'make generate'", path)
		}
		reported = true
	}
	dialect := ""
	sc = bufio.NewScanner(&stderr)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if pkg, ok := strings.CutPrefix(line, "# package "); ok {
			dialect = ""
			for _, b := range c.cfg.Blocks {
				if b.Package == pkg {
					dialect = b.Name
				}
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "exit status") {
			continue
		}
		if dialect == "" || c.selected(dialect) {
			c.add(dialect, "sqlc: %s", line)
		}
		reported = true
	}
	if !reported {
		c.add("", "go tool sqlc diff: %v", err)
	}
}

// registered: backends/<dialect> registers the dialect by its name, with
// its floor (driver.Dialect.Floor, what procreg bench measures it against).
func (c *checker) registered() {
	for _, b := range c.sel {
		dir := filepath.Join(c.cfg.Root, "backends", b.Name)
		ok, floor, err := registers(dir, b.Name)
		switch {
		case err != nil:
			c.add(b.Name, "backends/%s: %v", b.Name, err)
		case !ok:
			c.add(b.Name, "backends/%s does not register the dialect: want driver.Register(driver.Dialect{Name: %q, …}) in an init function", b.Name, b.Name)
		case !floor:
			c.add(b.Name, "backends/%s registers no floor: want Floor in its driver.Dialect, the bare driver procreg bench measures the registry against (floor.go and floor/*.sql, as every SQL dialect has)", b.Name)
		}
	}
}

// registers reports whether the non-test Go files of dir call
// driver.Register with a Dialect literal named name, and whether that
// literal sets Floor.
func registers(dir, name string) (found, floor bool, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return false, false, err
	}
	if len(files) == 0 {
		return false, false, fmt.Errorf("no Go package")
	}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return false, false, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isSel(call.Fun, "driver", "Register") || len(call.Args) != 1 {
				return true
			}
			lit, ok := call.Args[0].(*ast.CompositeLit)
			if !ok {
				return true
			}
			named, hasFloor := false, false
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				k, ok := kv.Key.(*ast.Ident)
				if !ok {
					continue
				}
				switch k.Name {
				case "Name":
					if v, ok := kv.Value.(*ast.BasicLit); ok && v.Kind == token.STRING {
						if s, _ := strconv.Unquote(v.Value); s == name {
							named = true
						}
					}
				case "Floor":
					hasFloor = true
				}
			}
			if named {
				found, floor = true, hasFloor
			}
			return true
		})
	}
	return found, floor, nil
}

func isSel(e ast.Expr, pkg, name string) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok || s.Sel.Name != name {
		return false
	}
	id, ok := s.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// markers: no TODO(dialect) is left in a dialect's files or its sqlc.yaml
// entry.
func (c *checker) markers() {
	for _, b := range c.sel {
		for _, dir := range []string{b.Schema, "queries/" + b.Name, "backends/" + b.Name} {
			c.markersIn(b.Name, dir)
		}
		for i, line := range strings.Split(b.Text, "\n") {
			if strings.Contains(line, Marker) {
				c.add(b.Name, "%s:%d: %s", ConfigFile, b.Line+i, markerText(line))
			}
		}
	}
}

func (c *checker) markersIn(dialect, dir string) {
	root := filepath.Join(c.cfg.Root, dir)
	if _, err := os.Stat(root); err != nil {
		return
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Contains(b, []byte(Marker)) {
			return nil
		}
		rel, _ := filepath.Rel(c.cfg.Root, path)
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, Marker) {
				c.add(dialect, "%s:%d: %s", filepath.ToSlash(rel), i+1, markerText(line))
			}
		}
		return nil
	})
	if err != nil {
		c.add(dialect, "%s: %v", dir, err)
	}
}

// markerText is a marker line from the marker on.
func markerText(line string) string {
	return line[strings.Index(line, Marker):]
}
