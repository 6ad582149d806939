// Command tally summarizes the database matrix from `go test -json` logs, one
// log per backend, so that ci/matrix.sh needs nothing beyond the Go toolchain
// (no jq on a fresh machine).
//
// Usage:
//
//	go run ./ci/tally [-ci] NAME=LOG[:STATUS] ...
//
// Each argument is one row of the matrix: NAME is the backend, LOG the file
// holding `go test -json` output, STATUS the exit status of that go test run
// (optional). A row with an empty LOG ("NAME=") had no packages to test.
//
// For every row it prints what a reader needs from the log — the output of
// each failed test, build failures, the package-level output of failed
// packages, go test's per-package result lines and each distinct skip reason
// once — then a table backend × passed / failed / skipped, and last a plain
// line "matrix: N passed, N failed, N skipped" that CI reads as the test
// count.
//
// Counts are of leaf tests: a test with subtests counts through its subtests.
// A test that never finished in a failed package (timeout, os.Exit, crash)
// is a failed test. A package that fails without a failing test (build
// failure, exit in TestMain), and a go test run that exits non-zero without
// any failure in its log, count as one failure.
//
// The exit status is 1 when anything failed, and also when anything was
// skipped or a row had no packages while -ci is set (default: CI=true in the
// environment), because a CI run that skips a backend proves nothing; 2 on
// bad arguments or an unreadable log.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it parses args, writes the report to
// stdout and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tally", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ci := fs.Bool("ci", os.Getenv("CI") == "true", "fail the run when any test was skipped or a backend had no packages")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tally [-ci] NAME=LOG[:STATUS] ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	var rows []row
	for _, arg := range fs.Args() {
		r, err := loadRow(arg)
		if err != nil {
			fmt.Fprintf(stderr, "tally: %v\n", err)
			return 2
		}
		rows = append(rows, r)
	}
	return report(stdout, rows, *ci)
}

// row is one backend of the matrix.
type row struct {
	name       string
	noPackages bool
	sum        summary
}

// loadRow reads the row described by one NAME=LOG[:STATUS] argument.
func loadRow(arg string) (row, error) {
	name, spec, ok := strings.Cut(arg, "=")
	if !ok || name == "" {
		return row{}, fmt.Errorf("argument %q: want NAME=LOG[:STATUS]", arg)
	}
	if spec == "" {
		return row{name: name, noPackages: true}, nil
	}
	path, status := spec, 0
	if i := strings.LastIndexByte(spec, ':'); i >= 0 {
		n, err := strconv.Atoi(spec[i+1:])
		if err != nil {
			return row{}, fmt.Errorf("argument %q: exit status %q is not a number", arg, spec[i+1:])
		}
		path, status = spec[:i], n
	}
	f, err := os.Open(path)
	if err != nil {
		return row{}, fmt.Errorf("backend %s: %w", name, err)
	}
	defer f.Close()
	sum, err := summarize(f)
	if err != nil {
		return row{}, fmt.Errorf("backend %s: read %s: %w", name, path, err)
	}
	if status != 0 && sum.Failed == 0 {
		// go test failed without a failing test or package in its log
		// (e.g. a bad flag, or vet run by go test): the row still fails.
		sum.Failed = 1
		sum.notes = append(sum.notes, fmt.Sprintf("go test exited with status %d without a failure in its log", status))
	}
	return row{name: name, sum: sum}, nil
}

// counts are leaf-test results.
type counts struct {
	Passed, Failed, Skipped int
}

func (c *counts) add(o counts) {
	c.Passed += o.Passed
	c.Failed += o.Failed
	c.Skipped += o.Skipped
}

// summary is what one `go test -json` log says.
type summary struct {
	counts
	// failures holds the output of each failed test, in the order the
	// tests started, without the === RUN/PAUSE/CONT framing; tests whose
	// output says the same thing share one entry (a missing database fails
	// every test of a backend with one identical line).
	failures []failure
	// build holds build failures' output.
	build []string
	// packages holds go test's per-package lines: the result line of every
	// package and all package-level output of failed packages.
	packages []string
	// skips holds each distinct skip reason with the number of tests that
	// gave it, in first-seen order.
	skips []skip
	// notes says why a failure was counted that has no test of its own.
	notes []string
	// unparsed holds lines that were not go test -json events.
	unparsed []string
}

// failure is the output of one failed test, and the names of further failed
// tests that printed the same message.
type failure struct {
	lines []string
	same  []string
}

// maxSameNames bounds how many tests sharing a message are named.
const maxSameNames = 5

// skip is one distinct skip reason.
type skip struct {
	reason string
	n      int
}

// event is the subset of a test2json event that tally reads.
type event struct {
	Action      string
	Package     string
	ImportPath  string // build-output and build-fail events
	Test        string
	Output      string
	FailedBuild string
}

// testKey names one test across packages.
type testKey struct{ pkg, test string }

// testRun collects one test's events.
type testRun struct {
	final  string // pass, fail or skip; empty when the test never finished
	output []string
}

var (
	framing    = regexp.MustCompile(`^\s*(=== (RUN|PAUSE|CONT|NAME)\s|--- (PASS|FAIL|SKIP): )`)
	logPrefix  = regexp.MustCompile(`^\s*([\w.-]+\.go:\d+: )?`)
	resultLine = regexp.MustCompile(`^(ok|FAIL)\s+\S+`)
)

// summarize reads a `go test -json` stream.
func summarize(r io.Reader) (summary, error) {
	var (
		sum       summary
		order     []testKey
		tests     = map[testKey]*testRun{}
		pkgOutput = map[string][]string{}
		pkgOrder  []string
		pkgFailed = map[string]bool{}
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var e event
		if line[0] != '{' || json.Unmarshal(line, &e) != nil {
			sum.unparsed = append(sum.unparsed, string(line))
			continue
		}
		switch {
		case e.Action == "build-output":
			sum.build = append(sum.build, e.Output)
		case e.Test != "":
			k := testKey{e.Package, e.Test}
			tr := tests[k]
			if tr == nil {
				tr = &testRun{}
				tests[k] = tr
				order = append(order, k)
			}
			switch e.Action {
			case "output":
				tr.output = append(tr.output, e.Output)
			case "pass", "fail", "skip":
				tr.final = e.Action
			}
		case e.Package != "":
			if _, seen := pkgOutput[e.Package]; !seen {
				pkgOrder = append(pkgOrder, e.Package)
				pkgOutput[e.Package] = nil
			}
			switch e.Action {
			case "output":
				pkgOutput[e.Package] = append(pkgOutput[e.Package], e.Output)
			case "fail":
				pkgFailed[e.Package] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return summary{}, err
	}

	// A test is a parent when another test in its package is named below
	// it; parents are counted through their subtests.
	parents := map[testKey]bool{}
	for _, k := range order {
		for i := strings.LastIndexByte(k.test, '/'); i > 0; i = strings.LastIndexByte(k.test[:i], '/') {
			parents[testKey{k.pkg, k.test[:i]}] = true
		}
	}
	testFailed := map[string]bool{}
	skipIndex := map[string]int{}
	failureIndex := map[string]int{} // message → index in sum.failures
	for _, k := range order {
		tr := tests[k]
		if tr.final == "" && pkgFailed[k.pkg] {
			// The test binary died under this test (timeout, os.Exit,
			// crash): test2json gives it no result, but its output
			// holds the reason (the timeout panic, for one).
			tr.final = "fail"
			tr.output = append(tr.output, "--- FAIL: "+k.test+" (did not finish: the test binary exited or timed out)\n")
		}
		if tr.final == "fail" {
			testFailed[k.pkg] = true
			var out []string
			var msg strings.Builder
			for _, l := range tr.output {
				switch {
				case !framing.MatchString(l):
					out = append(out, l)
					// Where the message was logged does not make it
					// a different message.
					msg.WriteString(logPrefix.ReplaceAllString(l, ""))
				case strings.Contains(l, "--- FAIL"):
					out = append(out, l)
				}
			}
			switch i, ok := failureIndex[msg.String()]; {
			case msg.Len() == 0 && parents[k]:
				// A parent that only reports its failed subtests adds
				// nothing to their output.
			case ok && msg.Len() > 0:
				sum.failures[i].same = append(sum.failures[i].same, k.test)
			default:
				failureIndex[msg.String()] = len(sum.failures)
				sum.failures = append(sum.failures, failure{lines: out})
			}
		}
		if parents[k] {
			continue
		}
		switch tr.final {
		case "pass":
			sum.Passed++
		case "fail":
			sum.Failed++
		case "skip":
			sum.Skipped++
			for _, l := range tr.output {
				if framing.MatchString(l) {
					continue
				}
				reason := strings.TrimSpace(logPrefix.ReplaceAllString(l, ""))
				if reason == "" {
					continue
				}
				if i, ok := skipIndex[reason]; ok {
					sum.skips[i].n++
					continue
				}
				skipIndex[reason] = len(sum.skips)
				sum.skips = append(sum.skips, skip{reason: reason, n: 1})
			}
		}
	}
	for _, p := range pkgOrder {
		for _, l := range pkgOutput[p] {
			if pkgFailed[p] || resultLine.MatchString(l) {
				sum.packages = append(sum.packages, l)
			}
		}
		if pkgFailed[p] && !testFailed[p] {
			// The package failed with no failing test: count it once.
			sum.Failed++
			sum.notes = append(sum.notes, p+" failed outside any test")
		}
	}
	return sum, nil
}

// report prints every row's details, the table and the closing total, and
// returns the exit status.
func report(w io.Writer, rows []row, ci bool) int {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	for _, r := range rows {
		fmt.Fprintf(bw, "=== matrix: %s\n", r.name)
		if r.noPackages {
			fmt.Fprintf(bw, "no packages for backend %s\n", r.name)
			continue
		}
		s := r.sum
		for _, l := range s.build {
			writeLine(bw, "", l)
		}
		for _, f := range s.failures {
			for _, l := range f.lines {
				writeLine(bw, "", l)
			}
			if n := len(f.same); n > 0 {
				names := f.same[:min(n, maxSameNames)]
				more := ""
				if n > len(names) {
					more = ", …"
				}
				tests := "tests"
				if n == 1 {
					tests = "test"
				}
				fmt.Fprintf(bw, "(the same output from %d more failed %s: %s%s)\n", n, tests, strings.Join(names, ", "), more)
			}
		}
		for _, l := range s.packages {
			writeLine(bw, "", l)
		}
		for _, l := range s.unparsed {
			writeLine(bw, "", l)
		}
		for _, n := range s.notes {
			writeLine(bw, "note: ", n)
		}
		for _, sk := range s.skips {
			if sk.n > 1 {
				fmt.Fprintf(bw, "skip: %s (%d tests)\n", sk.reason, sk.n)
			} else {
				fmt.Fprintf(bw, "skip: %s\n", sk.reason)
			}
		}
	}

	var total counts
	status := 0
	var missing []string
	fmt.Fprintf(bw, "\n%-10s %8s %8s %8s\n", "backend", "passed", "failed", "skipped")
	for _, r := range rows {
		if r.noPackages {
			fmt.Fprintf(bw, "%-10s %8s %8s %8s no packages\n", r.name, "-", "-", "-")
			missing = append(missing, r.name)
			continue
		}
		fmt.Fprintf(bw, "%-10s %8d %8d %8d\n", r.name, r.sum.Passed, r.sum.Failed, r.sum.Skipped)
		total.add(r.sum.counts)
	}
	fmt.Fprintf(bw, "%-10s %8d %8d %8d\n", "total", total.Passed, total.Failed, total.Skipped)

	if total.Failed > 0 {
		status = 1
		fmt.Fprintf(bw, "matrix FAILED: %d failed\n", total.Failed)
	}
	if ci && total.Skipped > 0 {
		status = 1
		fmt.Fprintf(bw, "matrix FAILED: %d skipped (CI=true: a skipped test proves nothing)\n", total.Skipped)
	}
	if ci && len(missing) > 0 {
		status = 1
		fmt.Fprintf(bw, "matrix FAILED: no packages for %s (CI=true)\n", strings.Join(missing, ", "))
	}
	// The CI reader takes this plain line, last, as the test count.
	fmt.Fprintf(bw, "matrix: %d passed, %d failed, %d skipped\n", total.Passed, total.Failed, total.Skipped)
	return status
}

// writeLine writes one log line, adding the newline that go test's output
// lines carry and other lines may not.
func writeLine(w io.Writer, prefix, l string) {
	l = strings.TrimRight(l, "\n")
	if strings.TrimSpace(l) == "" {
		return
	}
	fmt.Fprintf(w, "%s%s\n", prefix, l)
}
