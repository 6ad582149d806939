package dialectgen

// End-to-end tests of `procreg dialect new` and `procreg dialect check` on a
// temporary copy of the module: they run sqlc, compile the generated
// dialects and run the conformance suite on them, so they take a minute or
// two and are skipped by go test -short (ci/matrix.sh runs them).

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tree is a temporary copy of the module with a procreg binary built from it.
type tree struct {
	root, bin string
}

func newTree(t *testing.T) *tree {
	t.Helper()
	if testing.Short() {
		t.Skip("copies the module, runs sqlc and the conformance suite on generated dialects")
	}
	src, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "procreg")
	copyModule(t, src, dst)
	tr := &tree{root: dst, bin: filepath.Join(t.TempDir(), "procreg")}
	tr.run(t, dst, 0, "go", "build", "-o", tr.bin, "./cmd/procreg")
	return tr
}

// copyModule copies the files git knows (tracked or new, not ignored),
// or, without git, every file outside dot directories.
func copyModule(t *testing.T, src, dst string) {
	t.Helper()
	var files []string
	out, err := exec.Command("git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err == nil {
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
	} else {
		filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != src {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				rel, _ := filepath.Rel(src, path)
				files = append(files, rel)
			}
			return nil
		})
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the worktree
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// run runs a command in dir and returns its combined output; want is the
// expected exit status (-1: any non-zero).
func (tr *tree) run(t *testing.T, dir string, want int, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	if code != want && !(want == -1 && code != 0) {
		t.Fatalf("%s %s: exit status %d, want %d:\n%s", name, strings.Join(args, " "), code, want, out.String())
	}
	return out.String()
}

func (tr *tree) procreg(t *testing.T, want int, args ...string) string {
	t.Helper()
	return tr.run(t, tr.root, want, tr.bin, args...)
}

func (tr *tree) read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tr.root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (tr *tree) write(t *testing.T, rel, s string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(tr.root, rel), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mustFind fails unless out has a line matching re.
func mustFind(t *testing.T, out, re string) {
	t.Helper()
	if !regexp.MustCompile("(?m)" + re).MatchString(out) {
		t.Errorf("no line matches %q in:\n%s", re, out)
	}
}

var markerLine = regexp.MustCompile(`(?m)^.*TODO\(dialect\).*\n`)

// TestNewDialect: procreg dialect new xx --from sqlite writes a dialect
// that passes the whole conformance suite; dialect check reports its
// markers, and, once they are resolved, each kind of drift; a failure
// midway leaves nothing behind; and the out-of-tree mode writes a module
// that passes the suite too. One copy of the module serves them all.
func TestNewDialect(t *testing.T) {
	tr := newTree(t)
	out := tr.procreg(t, 0, "dialect", "new", "xx", "--from", "sqlite")
	for _, want := range []string{"row locks", "lease clock", "upserts", "LIMIT", "IN-lists", "migration lock", "notifications", "isolation level", "transient error codes", "floor"} {
		mustFind(t, out, `^  \[ \] `+regexp.QuoteMeta(want)+` \(`)
	}
	mustFind(t, tr.read(t, ConfigFile), `^        package: xxgen$`)

	t.Run("RefusesAnExistingName", func(t *testing.T) {
		cfg := tr.read(t, ConfigFile)
		out := tr.procreg(t, 2, "dialect", "new", "xx", "--from", "mysql")
		mustFind(t, out, `dialect "xx" exists`)
		if tr.read(t, ConfigFile) != cfg {
			t.Error("a refused dialect new changed sqlc.yaml")
		}
	})

	t.Run("Conformance", func(t *testing.T) {
		out := tr.run(t, tr.root, 0, "go", "test", "-count=1", "./backends/xx/")
		mustFind(t, out, `^ok .*backends/xx`)
	})

	t.Run("CheckReportsLeftoverMarkers", func(t *testing.T) {
		out := tr.procreg(t, 1, "dialect", "check", "xx")
		mustFind(t, out, `^xx: backends/xx/store.go:\d+: TODO\(dialect\): transient error codes:`)
		mustFind(t, out, `^xx: queries/xx/xx.sql:\d+: TODO\(dialect\): row locks:`)
		mustFind(t, out, `^xx: schema/xx/00001_init.sql:\d+: TODO\(dialect\): schema:`)
		mustFind(t, out, `^xx: backends/xx/floor/create.sql:\d+: TODO\(dialect\): floor:`)
		mustFind(t, out, `^xx: backends/xx/floor.go:\d+: TODO\(dialect\): floor:`)
	})

	// Resolve the markers (drop them), regenerate, and the tree is clean.
	for _, dir := range []string{"schema/xx", "queries/xx", "backends/xx"} {
		filepath.WalkDir(filepath.Join(tr.root, dir), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(path)
				os.WriteFile(path, markerLine.ReplaceAll(b, nil), 0o644)
			}
			return err
		})
	}
	tr.run(t, tr.root, 0, "go", "tool", "sqlc", "generate")
	tr.run(t, tr.root, 0, "go", "run", "./internal/adaptergen/cmd/adaptergen")
	mustFind(t, tr.procreg(t, 0, "dialect", "check"), `^dialect check: 5 dialect\(s\) \(sqlite, postgres, mysql, mariadb, xx\) agree`)

	// Each drift, made and undone on the copy.
	drift := func(name, rel, from, to, want string) {
		t.Run(name, func(t *testing.T) {
			orig := tr.read(t, rel)
			if !strings.Contains(orig, from) {
				t.Fatalf("%s has no %q", rel, from)
			}
			tr.write(t, rel, strings.Replace(orig, from, to, 1))
			defer tr.write(t, rel, orig)
			mustFind(t, tr.procreg(t, 1, "dialect", "check", "xx"), want)
		})
	}
	drift("CheckCatchesAMissingQuery", "queries/xx/inlist.sql",
		"-- name: DeleteGrantsOf :execrows\nDELETE FROM grants WHERE process_id IN (sqlc.slice(ids));\n", "",
		`^xx: lacks query DeleteGrantsOf \(sqlite, postgres, mysql, mariadb have it\)$`)
	drift("CheckCatchesARenamedColumn", "schema/xx/00001_init.sql",
		"    abandon_reason ", "    abandon_why ",
		`^xx: schema/xx: table processes lacks column abandon_reason, which the adapter reads$`)
	t.Run("CheckCatchesAMissingMigrationVersion", func(t *testing.T) {
		from, to := filepath.Join(tr.root, "schema/xx/00001_init.sql"), filepath.Join(tr.root, "schema/xx/00002_init.sql")
		if err := os.Rename(from, to); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(to, from)
		out := tr.procreg(t, 1, "dialect", "check", "xx")
		mustFind(t, out, `^xx: lacks migration version 00001 \(sqlite, postgres, mysql, mariadb have it\)$`)
	})
	drift("CheckCatchesAMissingFloor", "backends/xx/register.go",
		"Floor:", "Schema:",
		`^xx: backends/xx registers no floor: want Floor in its driver.Dialect`)
	drift("CheckCatchesALeftoverMarker", "backends/xx/store.go",
		"func classify(", "// TODO(dialect): transient error codes: review\nfunc classify(",
		`^xx: backends/xx/store.go:\d+: TODO\(dialect\): transient error codes: review$`)
	mustFind(t, tr.procreg(t, 0, "dialect", "check", "xx"), `^dialect check: 1 dialect\(s\) \(xx\) agree`)

	t.Run("FailureLeavesNothing", func(t *testing.T) {
		// A go command whose vet fails: New has moved the dialect into
		// place by then, and must take it all back.
		fake := filepath.Join(t.TempDir(), "go")
		real, err := exec.LookPath("go")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(fake, []byte("#!/bin/sh\n[ \"$1\" = vet ] && { echo vet fails >&2; exit 1; }\nexec "+real+" \"$@\"\n"), 0o755)
		cfg := tr.read(t, ConfigFile)
		_, err = New(context.Background(), NewOptions{Root: tr.root, Name: "zz", Base: "mysql", Go: fake})
		if err == nil || !strings.Contains(err.Error(), "vet fails") {
			t.Fatalf("New with a failing vet = %v", err)
		}
		for _, p := range []string{"schema/zz", "queries/zz", "backends/zz", "gen/zz"} {
			if _, err := os.Stat(filepath.Join(tr.root, p)); err == nil {
				t.Errorf("%s is left behind", p)
			}
		}
		if tr.read(t, ConfigFile) != cfg {
			t.Error("sqlc.yaml is changed")
		}
		if m, _ := filepath.Glob(filepath.Join(tr.root, ".dialect-new-*")); len(m) > 0 {
			t.Errorf("staging left behind: %v", m)
		}
	})

	t.Run("OutOfTree", func(t *testing.T) { outOfTree(t, tr) })
}

// outOfTree: --module/--dir writes a standalone module that imports only
// procreg's public packages and passes the conformance suite, built
// against the copy through the replace directive New writes.
func outOfTree(t *testing.T, tr *tree) {
	cfg := tr.read(t, ConfigFile)
	dir := filepath.Join(t.TempDir(), "procreg-yy")
	tr.procreg(t, 0, "dialect", "new", "yy", "--from", "sqlite", "--module", "example.com/procreg-yy", "--dir", dir)
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mustFind(t, string(gomod), `^replace github.com/procreg/procreg => `+regexp.QuoteMeta(tr.root)+`$`)
	out := tr.run(t, dir, 0, "go", "list", "-f", `{{join .Imports "\n"}}`, "./...")
	for _, imp := range strings.Fields(out) {
		if strings.HasPrefix(imp, ProcregModule+"/internal") || strings.HasPrefix(imp, ProcregModule+"/gen") || strings.HasPrefix(imp, ProcregModule+"/backends") {
			t.Errorf("the module imports %s, which is not public", imp)
		}
	}
	mustFind(t, tr.run(t, dir, 0, "go", "test", "-count=1", "./..."), `^ok\s+example.com/procreg-yy\s`)
	if tr.read(t, ConfigFile) != cfg {
		t.Error("the out-of-tree dialect changed the tree's sqlc.yaml")
	}
}
