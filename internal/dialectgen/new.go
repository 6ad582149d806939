package dialectgen

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"text/template"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/adaptergen"
)

// ProcregModule is procreg's module path.
const ProcregModule = "github.com/procreg/procreg"

// base describes a dialect New can copy.
type base struct {
	scheme   string // the DSN scheme its driver parses
	env      string // its tests' administrative DSN
	testdb   string // its internal/testdb provisioner (server bases)
	userInfo string // the user part of its usage text
}

var bases = map[string]base{
	"sqlite":   {scheme: "sqlite"},
	"postgres": {scheme: "postgres", env: "PROCREG_POSTGRES_DSN", testdb: "Postgres", userInfo: "user"},
	"mysql":    {scheme: "mysql", env: "PROCREG_MYSQL_DSN", testdb: "MySQL", userInfo: "user:pass"},
}

// Bases returns the dialects New can copy.
func Bases() []string { return []string{"sqlite", "postgres", "mysql"} }

// NewOptions are New's inputs.
type NewOptions struct {
	Root string // the procreg module root (sqlc.yaml, backends/, …)
	Name string // the new dialect
	Base string // the dialect to copy
	// Module and Dir, together, write a standalone Go module (path Module)
	// into Dir instead of adding the dialect to the procreg tree.
	Module, Dir string
	Go          string    // the go command (default "go")
	Log         io.Writer // the commands New runs and their output (nil: discarded)
}

// InvalidError is a refusal: a bad name or base, or a dialect that exists.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// reserved are names a dialect cannot have: the identifiers its generated
// files import (a test file imports the dialect by its name next to them).
var reserved = []string{
	"procreg", "driver", "sqlkit", "migrate", "schema", "conformance", "testdb", "servertest",
	"gen", "backends", "sql", "context", "testing", "fmt", "errors", "time", "os", "strings",
	"url", "net", "rand", "hex", "filepath", "fs", "io", "runtime", "sync", "syscall", "goose",
	"pgx", "pgxpool", "pgconn", "stdlib", "await", "mysqldrv", "sqlitedrv", "sqlite3", "embed",
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// Result is what New wrote.
type Result struct {
	Name, Base  string
	Module, Dir string // set for an out-of-tree module
	Paths       []string
	// Markers are the TODO(dialect) lines written, as "path:line: text".
	Markers []string
	Env     string // the DSN variable of the tests ("" for a sqlite base)
}

// New writes the dialect o.Name as a copy of o.Base, runs sqlc and the
// adapter generator for it and checks that it compiles. It refuses,
// changing nothing, when the name is invalid or taken; on any later
// failure it removes what it wrote.
func New(ctx context.Context, o NewOptions) (*Result, error) {
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	g, err := prepare(o)
	if err != nil {
		return nil, err
	}
	if g.outOfTree {
		return g.writeModule(ctx)
	}
	return g.writeTree(ctx)
}

// gen holds one New run.
type gen struct {
	NewOptions
	outOfTree bool
	cfg       *Config
	base      Block
	b         base
	staging   string
	res       *Result
}

func prepare(o NewOptions) (*gen, error) {
	b, ok := bases[o.Base]
	if !ok {
		return nil, invalid("--from %q: want one of %s", o.Base, strings.Join(Bases(), ", "))
	}
	n := o.Name
	switch {
	case !nameRE.MatchString(n):
		return nil, invalid("dialect name %q: want lower-case letters and digits, starting with a letter (a Go package name)", n)
	case len(n) < 2:
		return nil, invalid("dialect name %q: want two or more characters (the name is the DSN scheme, and driver.Register takes a one-letter scheme for a Windows drive)", n)
	case token.IsKeyword(n):
		return nil, invalid("dialect name %q is a Go keyword", n)
	case n == o.Base:
		return nil, invalid("dialect name %q is the base's", n)
	case slices.Contains(reserved, n):
		return nil, invalid("dialect name %q is a package the generated code imports", n)
	}
	for _, d := range driver.Dialects() {
		if d.Name == n || slices.Contains(d.Schemes, n) {
			return nil, invalid("dialect %q exists: the registered dialect %s serves it", n, d.Name)
		}
	}
	cfg, err := ReadConfig(o.Root)
	if err != nil {
		return nil, err
	}
	blk, ok := cfg.Block(o.Base)
	if !ok {
		return nil, invalid("%s has no block for the base %s", ConfigFile, o.Base)
	}
	g := &gen{NewOptions: o, outOfTree: o.Module != "", cfg: cfg, base: blk, b: b,
		res: &Result{Name: n, Base: o.Base, Module: o.Module, Dir: o.Dir}}
	if b.env != "" {
		g.res.Env = "PROCREG_" + strings.ToUpper(n) + "_DSN"
	}
	if g.outOfTree {
		if strings.ContainsAny(o.Module, " \t\"'`\\") || strings.HasPrefix(o.Module, "/") || o.Module == ProcregModule || strings.HasPrefix(o.Module, ProcregModule+"/") {
			return nil, invalid("--module %q is not a module path of its own", o.Module)
		}
		abs, err := filepath.Abs(o.Dir)
		if err != nil {
			return nil, err
		}
		g.Dir = abs
		if entries, err := os.ReadDir(abs); err == nil && len(entries) > 0 {
			return nil, invalid("--dir %s exists and is not empty", o.Dir)
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return g, nil
	}
	if _, taken := cfg.Block(n); taken {
		return nil, invalid("dialect %q exists: %s has its block", n, ConfigFile)
	}
	for _, blk := range cfg.Blocks {
		if blk.Package == n+"gen" {
			return nil, invalid("dialect %q exists: %s has a block with package %sgen", n, ConfigFile, n)
		}
	}
	for _, p := range g.treePaths() {
		if _, err := os.Stat(filepath.Join(o.Root, p)); err == nil {
			return nil, invalid("dialect %q exists: %s is there", n, p)
		}
	}
	return g, nil
}

// treePaths are the directories New adds to the tree.
func (g *gen) treePaths() []string {
	n := g.Name
	return []string{"schema/" + n, "queries/" + n, "backends/" + n, "gen/" + n}
}

// write writes a staged file (rel to the staging directory).
func (g *gen) write(rel string, data []byte) error {
	path := filepath.Join(g.staging, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func (g *gen) copyFile(from, to string) error {
	b, err := os.ReadFile(filepath.Join(g.Root, from))
	if err != nil {
		return err
	}
	return g.write(to, b)
}

// header starts a copied SQL file.
func (g *gen) header(from string) string {
	return fmt.Sprintf("-- Copied from %s by procreg dialect new %s --from %s.\n", from, g.Name, g.Base)
}

// stageSQL writes the schema and the queries.
func (g *gen) stageSQL() error {
	n := g.Name
	migs, err := Migrations(g.Root, g.base.Schema)
	if err != nil {
		return err
	}
	for _, f := range migs {
		from := g.base.Schema + "/" + f
		b, err := os.ReadFile(filepath.Join(g.Root, from))
		if err != nil {
			return err
		}
		if err := g.write("schema/"+n+"/"+f, []byte(g.header(from)+markSchema(string(b), g.Base))); err != nil {
			return err
		}
	}
	files, err := g.cfg.QueryFiles(g.base)
	if err != nil {
		return err
	}
	own := "queries/" + g.Base + "/"
	for _, f := range files {
		switch {
		case strings.HasPrefix(f, "queries/shared/"):
			if g.outOfTree {
				if err := g.copyFile(f, f); err != nil {
					return err
				}
			}
			continue
		case !strings.HasPrefix(f, own) && !g.outOfTree && !slices.Contains(g.base.QueryDirs(), filepath.Dir(f)):
			continue // another dialect's file, listed by path: it stays listed by path
		}
		b, err := os.ReadFile(filepath.Join(g.Root, f))
		if err != nil {
			return err
		}
		name := filepath.Base(f)
		if name == g.Base+".sql" {
			name = n + ".sql"
		}
		src := g.header(f) + markQueries(f, string(b), g.Base)
		if err := g.write("queries/"+n+"/"+name, []byte(src)); err != nil {
			return err
		}
	}
	return nil
}

// block returns the new dialect's sqlc.yaml entry: the base's, renamed.
func (g *gen) block() string {
	n, bn := g.Name, g.Base
	var out []string
	for i, line := range strings.Split(strings.TrimSuffix(g.base.Text, "\n"), "\n") {
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "schema:"):
			line = strings.Replace(line, g.base.Schema, "schema/"+n, 1)
		case strings.HasPrefix(trim, "queries:"):
			var items []string
			for _, q := range g.base.Queries {
				switch {
				case q == "queries/"+bn:
					items = append(items, "queries/"+n)
				case g.outOfTree && q != "queries/shared":
					// Out of tree, another dialect's file is copied into
					// queries/<name>.
				default:
					items = append(items, q)
				}
			}
			if g.outOfTree {
				items = slices.DeleteFunc(items, func(s string) bool { return s == "queries/"+n })
				items = append(items, "queries/"+n)
			}
			indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
			for _, q := range g.base.Queries {
				if filepath.Ext(q) == ".sql" && !g.outOfTree {
					out = append(out, indent+"# "+g.sharedFileMarker(q))
				}
			}
			line = indent + "queries: [" + strings.Join(items, ", ") + "]"
		case strings.HasPrefix(trim, "package:"):
			line = strings.Replace(line, g.base.Package, n+"gen", 1)
		case strings.HasPrefix(trim, "out:"):
			line = strings.Replace(line, g.base.Out, "gen/"+n, 1)
		}
		out = append(out, line)
		if i == 0 {
			out = append(out, "    # "+n+": written by procreg dialect new "+n+" --from "+bn+" (a copy of "+bn+"'s entry).")
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// sharedFileMarker is the sqlc.yaml marker of a file the base lists by
// path: the new dialect shares it too until someone decides otherwise.
func (g *gen) sharedFileMarker(rel string) string {
	st, _ := ParseQueryFile(g.Root, rel)
	var topics []string
	for _, s := range st {
		for _, m := range sqlTopics(s, g.Base) {
			t := strings.SplitN(strings.TrimPrefix(m, Marker+": "), ":", 2)[0]
			if !slices.Contains(topics, t) {
				topics = append(topics, t)
			}
		}
	}
	if len(topics) == 0 {
		topics = []string{"schema"}
	}
	return fmt.Sprintf("%s: %s: %s is listed by path as for %s; keep it only if %s spells it the same, else copy it into queries/%s.",
		Marker, strings.Join(topics, ", "), rel, g.Base, g.Name, g.Name)
}

var (
	packageLine  = regexp.MustCompile(`(?m)^package (\w+)$`)
	errPrefix    = regexp.MustCompile(`"(%w: )?BASE: `)
	nameField    = regexp.MustCompile(`\b(Name|Dialect|Dir): "BASE"`)
	nameArg      = regexp.MustCompile(`\b(InTx|ReadOne|NewRegistry)\(ctx, "BASE"`)
	pathInDoc    = regexp.MustCompile(`\b(gen|schema)/BASE\b`)
	migrateRef   = regexp.MustCompile(`\bBASE\.Migrate\b`)
	packageDocRE = regexp.MustCompile(`(?m)^// Package BASE `)
)

func baseRE(re *regexp.Regexp, b string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(re.String(), "BASE", regexp.QuoteMeta(b)))
}

// rewriteGo renames a copied backend file from the base to the new
// dialect: its package, the gen and schema imports, error prefixes, the
// dialect name it passes around, and the paths its comments mention.
func (g *gen) rewriteGo(src, file string) (string, error) {
	n, b := g.Name, g.Base
	src = packageLine.ReplaceAllString(src, "package "+n)
	src = strings.ReplaceAll(src, `"`+ProcregModule+`/gen/`+b+`"`, `"`+g.importPath("gen/"+n)+`"`)
	if g.outOfTree {
		src = strings.ReplaceAll(src, `"`+ProcregModule+`/schema"`, `"`+g.Module+`/schema"`)
	}
	src = baseRE(errPrefix, b).ReplaceAllString(src, `"${1}`+n+`: `)
	src = baseRE(nameField, b).ReplaceAllString(src, `$1: "`+n+`"`)
	src = baseRE(nameArg, b).ReplaceAllString(src, `$1(ctx, "`+n+`"`)
	src = baseRE(pathInDoc, b).ReplaceAllString(src, "${1}/"+n)
	src = baseRE(migrateRef, b).ReplaceAllString(src, n+".Migrate")
	src = baseRE(packageDocRE, b).ReplaceAllString(src, fmt.Sprintf(
		"// Package %s is procreg's %s dialect, written by `procreg dialect new %s\n"+
			"// --from %s` as a copy of the %s backend. Until its review markers are\n"+
			"// resolved, the rest of this documentation is %s's:\n//\n// Package %s ", n, n, n, b, b, b, b))
	src, err := markGo(src, b, file)
	if err != nil {
		return "", err
	}
	out, err := format.Source([]byte(src))
	if err != nil {
		return "", fmt.Errorf("backends/%s/%s after renaming: %w", b, file, err)
	}
	return string(out), nil
}

// importPath is the import path of a package of the new dialect.
func (g *gen) importPath(rel string) string {
	if g.outOfTree {
		if rel == "" {
			return g.Module
		}
		return g.Module + "/" + rel
	}
	return ProcregModule + "/" + rel
}

// stageBackend writes the backend package into dir (relative to staging).
func (g *gen) stageBackend(dir string) error {
	n, b := g.Name, g.Base
	files, err := filepath.Glob(filepath.Join(g.Root, "backends", b, "*.go"))
	if err != nil {
		return err
	}
	for _, path := range files {
		file := filepath.Base(path)
		if strings.HasSuffix(file, "_test.go") || file == "register.go" {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out, err := g.rewriteGo(string(src), file)
		if err != nil {
			return err
		}
		if file == b+".go" {
			file = n + ".go"
		}
		if err := g.write(filepath.Join(dir, file), []byte(out)); err != nil {
			return err
		}
	}
	if err := g.stageFloor(dir); err != nil {
		return err
	}
	for _, m := range goMarkers[b] {
		if _, err := os.Stat(filepath.Join(g.Root, "backends", b, m.file)); err != nil {
			return fmt.Errorf("backends/%s has no %s, where the %s marker goes (update internal/dialectgen's goMarkers)", b, m.file, m.topic)
		}
	}
	data := g.templateData()
	if err := g.render("register.go.tmpl", filepath.Join(dir, "register.go"), data, true); err != nil {
		return err
	}
	test := "test_sqlite.go.tmpl"
	switch {
	case b == "sqlite":
	case g.outOfTree:
		test = "test_server_oot.go.tmpl"
	default:
		test = "test_server.go.tmpl"
		if err := g.render("ci.env.tmpl", filepath.Join(dir, "ci.env"), data, false); err != nil {
			return err
		}
	}
	return g.render(test, filepath.Join(dir, n+"_test.go"), data, true)
}

// stageFloor copies the base's floor statements (backends/<base>/floor/,
// which its floor.go embeds) into dir/floor, the scratch table's marked
// for review.
func (g *gen) stageFloor(dir string) error {
	files, err := filepath.Glob(filepath.Join(g.Root, "backends", g.Base, "floor", "*.sql"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("backends/%s has no floor/*.sql, which its floor.go embeds", g.Base)
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		file := filepath.Base(path)
		src := g.header("backends/" + g.Base + "/floor/" + file)
		if file == "create.sql" {
			src += "-- " + marker("floor", "the scratch table is "+g.Base+"'s (its key as processes.id), and so are the statements beside it (placeholders, LIKE)") + "\n"
		}
		if err := g.write(filepath.Join(dir, "floor", file), []byte(src+string(b))); err != nil {
			return err
		}
	}
	return nil
}

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").ParseFS(templateFS, "templates/*.tmpl"))

func (g *gen) templateData() map[string]any {
	gover := strings.TrimPrefix(runtime.Version(), "go")
	if b, err := os.ReadFile(filepath.Join(g.Root, "go.mod")); err == nil {
		if m := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(b); m != nil {
			gover = string(m[1])
		}
	}
	return map[string]any{
		"Name": g.Name, "Base": g.Base, "Module": g.Module, "Root": g.Root, "GoVersion": gover,
		"BaseScheme": g.b.scheme, "UserInfo": g.b.userInfo, "Env": g.res.Env, "BaseEnv": g.b.env,
		"TestDB": g.b.testdb, "BackendImport": g.importPath(g.backendDir()), "Marker": Marker,
	}
}

// backendDir is where the backend package goes: backends/<name> in the
// tree, the module root out of it.
func (g *gen) backendDir() string {
	if g.outOfTree {
		return ""
	}
	return "backends/" + g.Name
}

func (g *gen) render(tmpl, rel string, data any, gofmt bool) error {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, tmpl, data); err != nil {
		return err
	}
	out := buf.Bytes()
	if gofmt {
		var err error
		if out, err = format.Source(out); err != nil {
			return fmt.Errorf("%s: %w", tmpl, err)
		}
	}
	return g.write(rel, out)
}

// generate runs sqlc on the staged configuration cfgRel (relative to the
// staging directory) and writes the adapter of the new gen package.
func (g *gen) generate(ctx context.Context, cfgRel string) error {
	if err := g.run(ctx, g.Root, g.Go, "tool", "sqlc", "generate", "-f", filepath.Join(g.staging, cfgRel)); err != nil {
		return fmt.Errorf("sqlc generate: %w", err)
	}
	dialects, err := adaptergen.ReadConfig(filepath.Join(g.staging, cfgRel))
	if err != nil {
		return err
	}
	return adaptergen.Write(filepath.Join(g.staging, filepath.Dir(cfgRel)), dialects)
}

// run runs a command in dir, logging it and its output to g.Log; a
// failure's error carries the output.
func (g *gen) run(ctx context.Context, dir, name string, args ...string) error {
	fmt.Fprintf(g.Log, "dialect new: %s %s\n", name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	g.Log.Write(out.Bytes())
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// writeTree adds the dialect to the procreg tree: staged under the root
// (a dot directory, which the go command ignores), generated there, then
// moved into place; any failure removes what was moved.
func (g *gen) writeTree(ctx context.Context) (res *Result, err error) {
	g.staging, err = os.MkdirTemp(g.Root, ".dialect-new-"+g.Name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(g.staging)
	if err := g.stageSQL(); err != nil {
		return nil, err
	}
	if err := g.stageBackend("backends/" + g.Name); err != nil {
		return nil, err
	}
	// sqlc runs on a configuration of the new entry alone, next to copies
	// of the shared query files it lists, so nothing else is touched.
	block := g.block()
	for _, q := range g.base.Queries {
		if q == "queries/"+g.Base {
			continue
		}
		if filepath.Ext(q) == ".sql" {
			err = g.copyFile(q, q)
		} else {
			err = os.CopyFS(filepath.Join(g.staging, q), os.DirFS(filepath.Join(g.Root, q)))
		}
		if err != nil {
			return nil, err
		}
	}
	if err := g.write("sqlc.yaml", []byte("version: \"2\"\nsql:\n"+block)); err != nil {
		return nil, err
	}
	if err := g.generate(ctx, "sqlc.yaml"); err != nil {
		return nil, err
	}
	g.res.Markers = collectMarkers(g.staging, g.treePaths(), block)

	// Move into place, then append the sqlc.yaml entry.
	cfgPath := filepath.Join(g.Root, ConfigFile)
	oldCfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, err
	}
	var moved []string
	rollback := func() {
		for _, p := range moved {
			os.RemoveAll(filepath.Join(g.Root, p))
		}
		_ = writeAtomic(cfgPath, oldCfg)
	}
	for _, p := range g.treePaths() {
		if err := os.Rename(filepath.Join(g.staging, p), filepath.Join(g.Root, p)); err != nil {
			rollback()
			return nil, err
		}
		moved = append(moved, p)
	}
	newCfg := append(bytes.TrimRight(oldCfg, "\n"), '\n')
	newCfg = append(newCfg, block...)
	if err := writeAtomic(cfgPath, newCfg); err != nil {
		rollback()
		return nil, err
	}
	if c, err := ReadConfig(g.Root); err != nil {
		rollback()
		return nil, fmt.Errorf("%s with the new entry: %w", ConfigFile, err)
	} else if blk, ok := c.Block(g.Name); !ok || blk.Package != g.Name+"gen" {
		rollback()
		return nil, fmt.Errorf("%s: the new entry does not read back as dialect %s", ConfigFile, g.Name)
	}
	// It must compile, tests included.
	if err := g.run(ctx, g.Root, g.Go, "vet", "./backends/"+g.Name+"/", "./gen/"+g.Name+"/"); err != nil {
		rollback()
		return nil, err
	}
	g.res.Paths = append(g.treePaths(), ConfigFile+" (new entry)")
	return g.res, nil
}

// writeModule writes the standalone module: staged next to Dir, built and
// tidied there, then renamed to Dir.
func (g *gen) writeModule(ctx context.Context) (res *Result, err error) {
	parent := filepath.Dir(g.Dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	g.staging, err = os.MkdirTemp(parent, "."+filepath.Base(g.Dir)+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(g.staging)
	if err := g.stageSQL(); err != nil {
		return nil, err
	}
	if err := g.stageBackend(""); err != nil {
		return nil, err
	}
	data := g.templateData()
	for tmpl, rel := range map[string]string{"schema.go.tmpl": "schema/schema.go", "go.mod.tmpl": "go.mod", "README.md.tmpl": "README.md"} {
		if err := g.render(tmpl, rel, data, strings.HasSuffix(rel, ".go")); err != nil {
			return nil, err
		}
	}
	block := g.block()
	header := "# sqlc compiles the " + g.Name + " dialect's queries (queries/shared, a copy of\n" +
		"# procreg's, and queries/" + g.Name + ") against schema/" + g.Name + " into gen/" + g.Name + ";\n" +
		"# procreg's adapter generator adds gen/" + g.Name + "/adapter.go. See README.md.\n"
	if err := g.write("sqlc.yaml", []byte(header+"version: \"2\"\nsql:\n"+block)); err != nil {
		return nil, err
	}
	if err := g.generate(ctx, "sqlc.yaml"); err != nil {
		return nil, err
	}
	if err := g.run(ctx, g.staging, g.Go, "mod", "tidy"); err != nil {
		return nil, err
	}
	if err := g.run(ctx, g.staging, g.Go, "vet", "./..."); err != nil {
		return nil, err
	}
	g.res.Markers = collectMarkers(g.staging, []string{"."}, "")
	// An empty Dir may exist; rename needs it gone.
	_ = os.Remove(g.Dir)
	if err := os.Rename(g.staging, g.Dir); err != nil {
		return nil, err
	}
	g.res.Paths = []string{g.Dir}
	return g.res, nil
}

// writeAtomic replaces path by data through a temporary file.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil {
		os.Chmod(f.Name(), st.Mode().Perm())
	}
	return os.Rename(f.Name(), path)
}

// collectMarkers lists the marker lines under dirs (relative to root) and
// in the sqlc.yaml entry, as "path:line: text".
func collectMarkers(root string, dirs []string, block string) []string {
	var out []string
	for _, d := range dirs {
		filepath.WalkDir(filepath.Join(root, d), func(path string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				if e != nil && e.IsDir() && strings.HasPrefix(e.Name(), ".") && path != filepath.Join(root, d) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(filepath.ToSlash(path), filepath.ToSlash(filepath.Join(root, "gen"))+"/") || filepath.Base(path) == "README.md" {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(root, path)
			for i, line := range strings.Split(string(b), "\n") {
				if strings.Contains(line, Marker) {
					out = append(out, fmt.Sprintf("%s:%d: %s", filepath.ToSlash(rel), i+1, markerText(line)))
				}
			}
			return nil
		})
	}
	for i, line := range strings.Split(block, "\n") {
		if strings.Contains(line, Marker) {
			out = append(out, fmt.Sprintf("%s (entry line %d): %s", ConfigFile, i+1, markerText(line)))
		}
	}
	return out
}

// Report is what `procreg dialect new` prints: what was written, how it
// joins the matrix, and the review checklist.
func (r *Result) Report() string {
	var b strings.Builder
	where := "the procreg tree"
	if r.Module != "" {
		where = "module " + r.Module + " in " + r.Dir
	}
	fmt.Fprintf(&b, "dialect %s written from %s into %s:\n", r.Name, r.Base, where)
	for _, p := range r.Paths {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	b.WriteString("\nNext:\n")
	if r.Module == "" {
		fmt.Fprintf(&b, "  - test it: go test ./backends/%s/   (ci/matrix.sh runs it as the row %q)\n", r.Name, r.Name)
		if r.Env != "" {
			fmt.Fprintf(&b, "  - its tests provision databases from %s; backends/%s/ci.env defaults it\n"+
				"    to the %s server for the matrix and CI until you point it at a %s server\n", r.Env, r.Name, r.Base, r.Name)
		}
		fmt.Fprintf(&b, "  - to open it by DSN from backends.Open and the procreg command, add\n"+
			"    _ %q to the imports of backends/open.go\n"+
			"    (and its name to backends/register_test.go)\n", ProcregModule+"/backends/"+r.Name)
		fmt.Fprintf(&b, "  - after editing SQL: make generate; then: procreg dialect check %s\n", r.Name)
	} else {
		fmt.Fprintf(&b, "  - test it: cd %s && go test ./...", r.Dir)
		if r.Env != "" {
			fmt.Fprintf(&b, "   (with %s set to an administrative DSN)", r.Env)
		}
		b.WriteString("\n  - after editing SQL, regenerate gen/ as its README says\n")
	}
	fmt.Fprintf(&b, "\nReview for the new database (each marked %s in the copy; `procreg dialect check` lists what is left):\n", Marker)
	for _, t := range Topics {
		n := 0
		for _, m := range r.Markers {
			if strings.Contains(m, Marker+": "+t.Name+":") || strings.Contains(m, Marker+": "+t.Name+",") || strings.Contains(m, ", "+t.Name+":") {
				n++
			}
		}
		fmt.Fprintf(&b, "  [ ] %s (%d marked): %s\n", t.Name, n, strings.ReplaceAll(t.What, "BASE", r.Base))
	}
	fmt.Fprintf(&b, "\n%d %s markers:\n", len(r.Markers), Marker)
	for _, m := range r.Markers {
		fmt.Fprintf(&b, "  %s\n", m)
	}
	return b.String()
}
