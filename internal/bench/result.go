package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Result is one run: what `procreg bench --json` prints.
type Result struct {
	Dialect string `json:"dialect"`
	DSN     string `json:"dsn"`
	// Run names the run; Prefix starts the id of every process and floor
	// row it wrote.
	Run             string    `json:"run"`
	Prefix          string    `json:"id_prefix"`
	StartedAt       time.Time `json:"started_at"`
	Workers         int       `json:"workers"`
	DurationSeconds float64   `json:"duration_seconds"`
	WarmupSeconds   float64   `json:"warmup_seconds"`
	GOMAXPROCS      int       `json:"gomaxprocs"`
	// LoadAverage is the machine's 1, 5 and 15 minute load average at the
	// end of the run (Linux; absent elsewhere).
	LoadAverage []float64 `json:"load_average,omitempty"`
	// Floor holds the floor operations measured (none without a floor);
	// FloorNote says why there is none.
	Floor     []OpResult `json:"floor"`
	FloorNote string     `json:"floor_note,omitempty"`
	Ops       []OpResult `json:"ops"`
}

// OpResult is one operation's measurement.
type OpResult struct {
	Name string `json:"name"`
	// Unit is what one counted operation is ("events", "cycles").
	Unit string `json:"unit"`
	// Count is the operations completed in the measured time; OpsPerSec
	// is Count over that time (all workers together).
	Count     int64   `json:"count"`
	OpsPerSec float64 `json:"ops_per_sec"`
	// P50Ms and P99Ms are latency percentiles of one operation, in
	// milliseconds (within 1/64 of the true value).
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	// Unavailable counts the calls that failed with ErrUnavailable (a
	// retry may succeed); they are not in Count.
	Unavailable int64 `json:"unavailable,omitempty"`
	// Floor is the floor operation this one is compared with ("insert",
	// "update", "select"), and FloorRatio OpsPerSec over that floor's; both
	// absent without a floor.
	Floor      string   `json:"floor,omitempty"`
	FloorRatio *float64 `json:"floor_ratio,omitempty"`
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadResult reads a result `procreg bench --json` wrote.
func ReadResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a procreg bench --json result: %w", path, err)
	}
	if r.Dialect == "" || r.Ops == nil {
		return nil, fmt.Errorf("%s: not a procreg bench --json result (no dialect or ops)", path)
	}
	return &r, nil
}

// rate spells ops/s with thousands separators.
func rate(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// latency spells milliseconds with three significant digits.
func latency(ms float64) string {
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	case ms >= 1:
		return fmt.Sprintf("%.2fms", ms)
	case ms >= 0.001:
		return fmt.Sprintf("%.0fµs", ms*1000)
	default:
		return fmt.Sprintf("%.0fns", ms*1e6)
	}
}

func ratio(r OpResult) string {
	if r.FloorRatio == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f× %s", *r.FloorRatio, r.Floor)
}

// header is the first line of a result: what ran where.
func header(r *Result) string {
	warm := "no warm-up"
	if r.WarmupSeconds > 0 {
		warm = "a " + seconds(r.WarmupSeconds) + " warm-up"
	}
	return fmt.Sprintf("%s, %d workers, %s per operation after %s (run %s, GOMAXPROCS %d)",
		r.Dialect, r.Workers, seconds(r.DurationSeconds), warm, r.Run, r.GOMAXPROCS)
}

func seconds(s float64) string { return time.Duration(s * float64(time.Second)).String() }

func loadLine(r *Result) string {
	if len(r.LoadAverage) != 3 {
		return "load average: not available on this system"
	}
	return fmt.Sprintf("load average at the end: %.2f, %.2f, %.2f", r.LoadAverage[0], r.LoadAverage[1], r.LoadAverage[2])
}

// WriteText writes r as the table `procreg bench` prints.
func WriteText(w io.Writer, r *Result) error {
	fmt.Fprintf(w, "procreg bench: %s\n%s\n", header(r), r.DSN)
	row := func(name, ops, p50, p99, vs string) {
		fmt.Fprintf(w, "%-16s %10s %9s %9s  %s\n", name, ops, p50, p99, vs)
	}
	row("operation", "ops/s", "p50", "p99", "vs floor")
	for _, f := range r.Floor {
		row(f.Name, rate(f.OpsPerSec), latency(f.P50Ms), latency(f.P99Ms), "")
	}
	for _, o := range r.Ops {
		row(o.Name, rate(o.OpsPerSec), latency(o.P50Ms), latency(o.P99Ms), ratio(o))
	}
	if r.FloorNote != "" {
		fmt.Fprintf(w, "no floor: %s\n", r.FloorNote)
	}
	for _, o := range r.Ops {
		if o.Unavailable > 0 {
			fmt.Fprintf(w, "%s: %d calls failed as unavailable (not counted)\n", o.Name, o.Unavailable)
		}
	}
	fmt.Fprintf(w, "%s\nscratch processes left behind: ids %s…\n", loadLine(r), r.Prefix)
	return nil
}

// WriteMarkdown writes results as Markdown: a summary of every backend's
// ratios to its floor, then each backend's table.
func WriteMarkdown(w io.Writer, results []*Result) error {
	if len(results) == 0 {
		return fmt.Errorf("no results")
	}
	// Summary: one row per operation, one column per backend.
	var names []string
	for _, r := range results {
		for _, o := range r.Ops {
			if !slices.Contains(names, o.Name) {
				names = append(names, o.Name)
			}
		}
	}
	fmt.Fprintf(w, "| operation |")
	for _, r := range results {
		fmt.Fprintf(w, " %s |", r.Dialect)
	}
	fmt.Fprintf(w, "\n|---|")
	for range results {
		fmt.Fprintf(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, n := range names {
		fmt.Fprintf(w, "| %s |", n)
		for _, r := range results {
			cell := ""
			for _, o := range r.Ops {
				if o.Name == n {
					cell = rate(o.OpsPerSec) + "/s"
					if o.FloorRatio != nil {
						cell += fmt.Sprintf(" (%.2f×)", *o.FloorRatio)
					}
				}
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		fmt.Fprintln(w)
	}
	for _, r := range results {
		fmt.Fprintf(w, "\n#### %s\n\n%s; %s.\n\n", r.Dialect, header(r), loadLine(r))
		fmt.Fprintln(w, "| operation | ops/s | p50 | p99 | vs floor |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
		for _, f := range r.Floor {
			fmt.Fprintf(w, "| %s | %s | %s | %s | |\n", f.Name, rate(f.OpsPerSec), latency(f.P50Ms), latency(f.P99Ms))
		}
		for _, o := range r.Ops {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", o.Name, rate(o.OpsPerSec), latency(o.P50Ms), latency(o.P99Ms), ratio(o))
		}
		if r.FloorNote != "" {
			fmt.Fprintf(w, "\nNo floor: %s.\n", r.FloorNote)
		}
	}
	return nil
}
