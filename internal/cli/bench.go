package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/internal/bench"
)

// BenchOptions are the flags of `procreg bench`.
type BenchOptions struct {
	Workers          int
	Duration, Warmup time.Duration
	Ops              []string
	NoFloor          bool
}

// Config checks the flags and returns the run's configuration.
func (o BenchOptions) Config() (bench.Config, error) {
	switch {
	case o.Workers < 1 || o.Workers > 1000:
		return bench.Config{}, UsageErrorf("--workers %d: want 1 to 1000", o.Workers)
	case o.Duration <= 0:
		return bench.Config{}, UsageErrorf("--duration %s: want a positive duration, such as 5s", o.Duration)
	case o.Warmup < 0:
		return bench.Config{}, UsageErrorf("--warmup %s: want 0 or a positive duration", o.Warmup)
	}
	var ops []string
	for _, op := range o.Ops {
		if op = strings.TrimSpace(op); op != "" {
			ops = append(ops, op)
		}
	}
	if len(o.Ops) > 0 && len(ops) == 0 {
		return bench.Config{}, UsageErrorf("--ops is empty: want one or more of %s", strings.Join(bench.OpNames(), ", "))
	}
	if _, err := bench.ParseOps(ops); err != nil {
		return bench.Config{}, UsageErrorf("--ops: %s", strings.TrimPrefix(Message(err), "bench: "))
	}
	warmup := o.Warmup
	if warmup == 0 {
		warmup = -1 // bench.Config: negative is none, zero the default
	}
	return bench.Config{Workers: o.Workers, Duration: o.Duration, Warmup: warmup, Ops: ops, NoFloor: o.NoFloor}, nil
}

func benchCommand() *cobra.Command {
	var o BenchOptions
	cmd := &cobra.Command{
		Use:   "bench --dsn DSN [--workers N] [--duration D] [--warmup D] [--ops OP,...] [--no-floor]",
		Short: "measure the registry's throughput and latency against the database's own floor",
		Long: "bench measures, for each operation, operations per second and latency (p50, p99) with\n" +
			"--workers goroutines, each on processes of its own, for --warmup and then --duration. In the\n" +
			"same run it measures the database's floor: the bare driver with the registry's connection\n" +
			"settings, one single-row INSERT per transaction, one single-row UPDATE per transaction and one\n" +
			"primary-key SELECT, on the scratch table procreg_bench_floor; each operation is printed as a\n" +
			"ratio of its floor. The memory backend has no floor.\n\n" +
			"Like demo, bench creates and migrates the database. It writes scratch processes (ids\n" +
			"procreg-bench-<run>-…) and leaves them: run it on a scratch database. --dsn (or $PROCREG_DSN)\n" +
			"is required. -o json prints the result as JSON (progress then goes to stderr); `procreg bench\n" +
			"table` turns such results into Markdown tables. See docs/performance.md.\n\n" +
			"Operations (--ops, default all):\n" + bench.OpHelp(),
		Args: exactArgs(0, ""),
	}
	f := cmd.Flags()
	f.IntVarP(&o.Workers, "workers", "w", bench.DefaultWorkers, "goroutines calling each operation at once")
	f.DurationVar(&o.Duration, "duration", bench.DefaultDuration, "measured time of each operation")
	f.DurationVar(&o.Warmup, "warmup", bench.DefaultWarmup, "unmeasured time before each operation's measurement (0: none)")
	f.StringSliceVar(&o.Ops, "ops", nil, "operations to measure, comma-separated (default all): "+strings.Join(bench.OpNames(), ", "))
	f.BoolVar(&o.NoFloor, "no-floor", false, "do not measure the floor")
	_ = cmd.RegisterFlagCompletionFunc("ops", cobra.FixedCompletions(bench.OpNames(), cobra.ShellCompDirectiveNoFileComp))
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := FlagsOf(cmd)
		if err != nil {
			return err
		}
		cfg, err := o.Config()
		if err != nil {
			return err
		}
		if !c.DSNGiven && !c.DSNFromEnv {
			return UsageErrorf("bench writes scratch processes: name a scratch database with --dsn (such as --dsn sqlite:/tmp/bench.db or --dsn memory:)")
		}
		return runBench(cmd, c, cfg)
	}
	cmd.AddCommand(benchTableCommand())
	return cmd
}

func runBench(cmd *cobra.Command, c *Common, cfg bench.Config) error {
	ctx, e := cmd.Context(), EnvOf(cmd)
	reg, err := Open(ctx, c.DSN)
	if err != nil {
		return err
	}
	defer reg.Close()
	d, _ := driver.Lookup(c.DSN) // Open found it
	t := bench.Target{Dialect: d.Name, DSN: Redact(c.DSN), Registry: reg}
	if d.Floor == nil {
		t.FloorNote = "there is no database under the " + d.Name + " backend"
	} else if !cfg.NoFloor {
		if t.Floor, err = d.Floor(ctx, c.DSN); err != nil {
			return openError(c.DSN, err)
		}
		defer t.Floor.Close()
	}
	var progress io.Writer = e.Stdout
	if c.JSON() {
		progress = e.Stderr
	}
	cfg.Progress = bench.NewProgress(progress, bench.IsTerminal(progress))
	res, err := bench.Run(ctx, t, cfg)
	if err != nil {
		return err
	}
	if c.JSON() {
		return c.Emit(e.Stdout, res)
	}
	fmt.Fprintln(e.Stdout)
	return bench.WriteText(e.Stdout, res)
}

func benchTableCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "table RESULT.json...",
		Short: "print results of procreg bench -o json as Markdown tables (docs/performance.md)",
		Long: "table reads the results `procreg bench -o json` wrote, one file per backend, and prints a\n" +
			"Markdown summary (each operation's ops/s and ratio to its floor, one column per backend)\n" +
			"followed by each backend's full table. make bench-floor uses it.",
		Args: minArgs(1, "RESULT.json"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var results []*bench.Result
			for _, path := range args {
				r, err := bench.ReadResult(path)
				if err != nil {
					return UsageErrorf("%v", err)
				}
				results = append(results, r)
			}
			return bench.WriteMarkdown(EnvOf(cmd).Stdout, results)
		},
	}
}
