package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fixtures: small `go test -json` logs in the shape go test 1.26 writes.
const (
	passLog = `{"Action":"start","Package":"p/a"}
{"Action":"run","Package":"p/a","Test":"TestOK"}
{"Action":"output","Package":"p/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"p/a","Test":"TestOK","Output":"    a_test.go:3: chatter\n"}
{"Action":"output","Package":"p/a","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"p/a","Test":"TestOK","Elapsed":0}
{"Action":"output","Package":"p/a","Output":"PASS\n"}
{"Action":"output","Package":"p/a","Output":"ok  \tp/a\t0.004s\n"}
{"Action":"pass","Package":"p/a","Elapsed":0.004}
`
	failLog = `{"Action":"start","Package":"p/b"}
{"Action":"run","Package":"p/b","Test":"TestBad"}
{"Action":"output","Package":"p/b","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"run","Package":"p/b","Test":"TestFine"}
{"Action":"output","Package":"p/b","Test":"TestFine","Output":"=== RUN   TestFine\n"}
{"Action":"output","Package":"p/b","Test":"TestBad","Output":"    b_test.go:9: want 2, got 3\n"}
{"Action":"output","Package":"p/b","Test":"TestFine","Output":"    b_test.go:20: fine line\n"}
{"Action":"output","Package":"p/b","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"p/b","Test":"TestBad","Elapsed":0}
{"Action":"pass","Package":"p/b","Test":"TestFine","Elapsed":0}
{"Action":"output","Package":"p/b","Output":"FAIL\n"}
{"Action":"output","Package":"p/b","Output":"FAIL\tp/b\t0.005s\n"}
{"Action":"fail","Package":"p/b","Elapsed":0.005}
`
	skipLog = `{"Action":"start","Package":"p/c"}
{"Action":"run","Package":"p/c","Test":"TestOne"}
{"Action":"output","Package":"p/c","Test":"TestOne","Output":"    c_test.go:5: testdb: PROCREG_MYSQL_DSN is unset\n"}
{"Action":"output","Package":"p/c","Test":"TestOne","Output":"--- SKIP: TestOne (0.00s)\n"}
{"Action":"skip","Package":"p/c","Test":"TestOne","Elapsed":0}
{"Action":"run","Package":"p/c","Test":"TestTwo"}
{"Action":"output","Package":"p/c","Test":"TestTwo","Output":"    c_test.go:5: testdb: PROCREG_MYSQL_DSN is unset\n"}
{"Action":"output","Package":"p/c","Test":"TestTwo","Output":"--- SKIP: TestTwo (0.00s)\n"}
{"Action":"skip","Package":"p/c","Test":"TestTwo","Elapsed":0}
{"Action":"output","Package":"p/c","Output":"ok  \tp/c\t0.002s\n"}
{"Action":"pass","Package":"p/c","Elapsed":0.002}
`
	// TestTree has subtests a (pass), b (a parent) and b/c (skip), d (fail):
	// the leaves a, b/c and d count, TestTree and TestTree/b do not.
	treeLog = `{"Action":"run","Package":"p/d","Test":"TestTree"}
{"Action":"run","Package":"p/d","Test":"TestTree/a"}
{"Action":"pass","Package":"p/d","Test":"TestTree/a","Elapsed":0}
{"Action":"run","Package":"p/d","Test":"TestTree/b"}
{"Action":"run","Package":"p/d","Test":"TestTree/b/c"}
{"Action":"output","Package":"p/d","Test":"TestTree/b/c","Output":"    d_test.go:8: deep skip\n"}
{"Action":"skip","Package":"p/d","Test":"TestTree/b/c","Elapsed":0}
{"Action":"pass","Package":"p/d","Test":"TestTree/b","Elapsed":0}
{"Action":"run","Package":"p/d","Test":"TestTree/d"}
{"Action":"output","Package":"p/d","Test":"TestTree/d","Output":"    d_test.go:12: leaf broke\n"}
{"Action":"fail","Package":"p/d","Test":"TestTree/d","Elapsed":0}
{"Action":"output","Package":"p/d","Test":"TestTree","Output":"--- FAIL: TestTree (0.00s)\n"}
{"Action":"fail","Package":"p/d","Test":"TestTree","Elapsed":0}
{"Action":"fail","Package":"p/d","Elapsed":0.01}
`
	buildFailLog = `{"ImportPath":"p/e [p/e.test]","Action":"build-output","Output":"# p/e [p/e.test]\n"}
{"ImportPath":"p/e [p/e.test]","Action":"build-output","Output":"e/e_test.go:3:27: undefined: nothere\n"}
{"ImportPath":"p/e [p/e.test]","Action":"build-fail"}
{"Action":"start","Package":"p/e"}
{"Action":"output","Package":"p/e","Output":"FAIL\tp/e [build failed]\n"}
{"Action":"fail","Package":"p/e","Elapsed":0,"FailedBuild":"p/e [p/e.test]"}
`
)

// tally runs the command on named logs (name → log text, with an optional
// ":status" suffix on the name) and returns its exit status and output.
func tally(t *testing.T, ci bool, rows ...[2]string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"-ci=false"}
	if ci {
		args[0] = "-ci=true"
	}
	for i, r := range rows {
		name, status, _ := strings.Cut(r[0], ":")
		if r[1] == "" {
			args = append(args, name+"=")
			continue
		}
		path := filepath.Join(dir, name+string(rune('0'+i))+".json")
		if err := os.WriteFile(path, []byte(r[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		arg := name + "=" + path
		if status != "" {
			arg += ":" + status
		}
		args = append(args, arg)
	}
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	if errOut.Len() > 0 {
		t.Logf("stderr: %s", errOut.String())
	}
	return code, out.String()
}

// lastLine is the closing line the CI reader takes as the count.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[len(lines)-1]
}

// tableRow returns the table row of a backend, with runs of spaces folded.
func tableRow(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == name {
			return strings.Join(f, " ")
		}
	}
	return ""
}

func TestPassingRun(t *testing.T) {
	code, out := tally(t, true, [2]string{"memory:0", passLog})
	if code != 0 {
		t.Errorf("exit status %d, want 0\n%s", code, out)
	}
	if got, want := lastLine(out), "matrix: 1 passed, 0 failed, 0 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	if got, want := tableRow(out, "memory"), "memory 1 0 0"; got != want {
		t.Errorf("row %q, want %q", got, want)
	}
	if strings.Contains(out, "chatter") {
		t.Errorf("a passing test's log was printed:\n%s", out)
	}
	if !strings.Contains(out, "ok  \tp/a\t0.004s") {
		t.Errorf("go test's package result line is missing:\n%s", out)
	}
}

func TestFailingTestPrintsItsOutputOnly(t *testing.T) {
	code, out := tally(t, false, [2]string{"sqlite:1", failLog})
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if got, want := tableRow(out, "sqlite"), "sqlite 1 1 0"; got != want {
		t.Errorf("row %q, want %q", got, want)
	}
	if !strings.Contains(out, "b_test.go:9: want 2, got 3") || !strings.Contains(out, "--- FAIL: TestBad") {
		t.Errorf("the failed test's output is missing:\n%s", out)
	}
	if strings.Contains(out, "fine line") || strings.Contains(out, "=== RUN") {
		t.Errorf("a passing test's log or framing was printed:\n%s", out)
	}
	if strings.Contains(out, "failed outside any test") {
		t.Errorf("a package failure explained by its test was counted again:\n%s", out)
	}
	if got, want := lastLine(out), "matrix: 1 passed, 1 failed, 0 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

func TestIdenticalFailuresPrintOnce(t *testing.T) {
	// What a missing database looks like under CI=true: every test fails
	// with the same line, logged from different places.
	var log strings.Builder
	for i, name := range []string{"TestA", "TestB", "TestC"} {
		log.WriteString(`{"Action":"run","Package":"p/f","Test":"` + name + `"}
{"Action":"output","Package":"p/f","Test":"` + name + `","Output":"    backend.go:` + string(rune('1'+i)) + `0: testdb: no database (CI=true, so this is a failure)\n"}
{"Action":"output","Package":"p/f","Test":"` + name + `","Output":"--- FAIL: ` + name + ` (0.00s)\n"}
{"Action":"fail","Package":"p/f","Test":"` + name + `","Elapsed":0}
`)
	}
	log.WriteString(`{"Action":"fail","Package":"p/f","Elapsed":0.01}` + "\n")
	code, out := tally(t, true, [2]string{"mysql:1", log.String()})
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if got := strings.Count(out, "testdb: no database"); got != 1 {
		t.Errorf("the shared message is printed %d times, want once:\n%s", got, out)
	}
	if !strings.Contains(out, "(the same output from 2 more failed tests: TestB, TestC)") {
		t.Errorf("the other tests with the same output are not named:\n%s", out)
	}
	if got, want := lastLine(out), "matrix: 0 passed, 3 failed, 0 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

func TestSkipsPrintDistinctReasons(t *testing.T) {
	code, out := tally(t, false, [2]string{"mysql", skipLog})
	if code != 0 {
		t.Errorf("without CI a skip passes: exit status %d, want 0", code)
	}
	if got, want := strings.Count(out, "skip: testdb: PROCREG_MYSQL_DSN is unset (2 tests)\n"), 1; got != want {
		t.Errorf("skip reason printed %d times, want %d:\n%s", got, want, out)
	}
	if got, want := lastLine(out), "matrix: 0 passed, 0 failed, 2 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}

	code, out = tally(t, true, [2]string{"mysql", skipLog})
	if code != 1 {
		t.Errorf("with CI=true a skip fails: exit status %d, want 1", code)
	}
	if !strings.Contains(out, "matrix FAILED: 2 skipped") {
		t.Errorf("no line saying why the run failed:\n%s", out)
	}
	if got, want := lastLine(out), "matrix: 0 passed, 0 failed, 2 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

func TestSubtestTreeCountsLeaves(t *testing.T) {
	code, out := tally(t, false, [2]string{"core:1", treeLog})
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if got, want := tableRow(out, "core"), "core 1 1 1"; got != want {
		t.Errorf("row %q, want %q\n%s", got, want, out)
	}
	if !strings.Contains(out, "leaf broke") || !strings.Contains(out, "skip: deep skip") {
		t.Errorf("leaf failure or skip reason missing:\n%s", out)
	}
	if strings.Contains(out, "--- FAIL: TestTree ") {
		t.Errorf("a parent that only reports its failed subtest was printed:\n%s", out)
	}
}

func TestBuildFailureCountsOnce(t *testing.T) {
	code, out := tally(t, false, [2]string{"postgres:1", buildFailLog})
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if got, want := tableRow(out, "postgres"), "postgres 0 1 0"; got != want {
		t.Errorf("row %q, want %q", got, want)
	}
	for _, want := range []string{"undefined: nothere", "FAIL\tp/e [build failed]", "p/e failed outside any test"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestUnfinishedTestsFail(t *testing.T) {
	// go test -timeout: the running tests get no result; the panic is in
	// the output of one of them.
	log := `{"Action":"run","Package":"p/g","Test":"TestDone"}
{"Action":"pass","Package":"p/g","Test":"TestDone","Elapsed":0}
{"Action":"run","Package":"p/g","Test":"TestSlow"}
{"Action":"output","Package":"p/g","Test":"TestSlow","Output":"=== RUN   TestSlow\n"}
{"Action":"run","Package":"p/g","Test":"TestSlower"}
{"Action":"output","Package":"p/g","Test":"TestSlower","Output":"panic: test timed out after 1s\n"}
{"Action":"output","Package":"p/g","Test":"TestSlower","Output":"\t\tTestSlower (1s)\n"}
{"Action":"output","Package":"p/g","Output":"FAIL\tp/g\t1.005s\n"}
{"Action":"fail","Package":"p/g","Elapsed":1.005}
`
	code, out := tally(t, false, [2]string{"sqlite:1", log})
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if got, want := tableRow(out, "sqlite"), "sqlite 1 2 0"; got != want {
		t.Errorf("row %q, want %q\n%s", got, want, out)
	}
	for _, want := range []string{"panic: test timed out after 1s", "--- FAIL: TestSlow (did not finish", "--- FAIL: TestSlower (did not finish"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "failed outside any test") {
		t.Errorf("the package failure was counted on top of its unfinished tests:\n%s", out)
	}
}

func TestNonZeroStatusWithoutFailureFails(t *testing.T) {
	code, out := tally(t, false, [2]string{"memory:2", passLog})
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if got, want := tableRow(out, "memory"), "memory 1 1 0"; got != want {
		t.Errorf("row %q, want %q", got, want)
	}
	if !strings.Contains(out, "exited with status 2") {
		t.Errorf("no note on the exit status:\n%s", out)
	}
}

func TestTotalsAcrossBackends(t *testing.T) {
	code, out := tally(t, false,
		[2]string{"core:0", passLog},
		[2]string{"sqlite:1", failLog},
		[2]string{"mysql:0", skipLog},
		[2]string{"postgres:1", buildFailLog},
	)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if got, want := tableRow(out, "total"), "total 2 2 2"; got != want {
		t.Errorf("total row %q, want %q", got, want)
	}
	if got, want := lastLine(out), "matrix: 2 passed, 2 failed, 2 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	// The table lists the backends in the order given.
	if i, j := strings.Index(out, "\nsqlite "), strings.Index(out, "\nmysql "); i < 0 || j < i {
		t.Errorf("table order wrong:\n%s", out)
	}
}

func TestBackendWithoutPackages(t *testing.T) {
	code, out := tally(t, false, [2]string{"core", passLog}, [2]string{"mysql", ""})
	if code != 0 {
		t.Errorf("without CI a missing backend is reported, not failed: exit status %d", code)
	}
	if !strings.Contains(out, "no packages") {
		t.Errorf("no 'no packages' note:\n%s", out)
	}
	code, out = tally(t, true, [2]string{"core", passLog}, [2]string{"mysql", ""})
	if code != 1 {
		t.Errorf("with CI=true a backend without packages fails: exit status %d", code)
	}
	if got, want := lastLine(out), "matrix: 1 passed, 0 failed, 0 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"no-equals-sign"},
		{"core=" + filepath.Join(t.TempDir(), "missing.json")},
		{"core=x.json:notanumber"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
		if errOut.Len() == 0 {
			t.Errorf("run(%q) said nothing on stderr", args)
		}
	}
}
