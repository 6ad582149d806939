package cli

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/procreg/procreg/backends"
)

// Output formats of -o.
const (
	OutputTable = "table"
	OutputWide  = "wide"
	OutputJSON  = "json"
	OutputJSONL = "jsonl"
)

var outputFormats = []string{OutputTable, OutputWide, OutputJSON, OutputJSONL}

// Common is what the flags every registry command has say: the DSN and
// the output format.
type Common struct {
	// DSN is --dsn, else $PROCREG_DSN, else DefaultDSN.
	DSN string
	// DSNGiven reports whether --dsn was given on the command line.
	DSNGiven bool
	// DSNFromEnv reports whether DSN came from $PROCREG_DSN.
	DSNFromEnv bool
	// Output is -o (table, wide, json or jsonl; --json is -o json).
	Output string
	// NoHeaders is --no-headers: tables without their header line.
	NoHeaders bool
}

// JSON reports whether the output is JSON (-o json or jsonl).
func (c *Common) JSON() bool { return c.Output == OutputJSON || c.Output == OutputJSONL }

// addGlobalFlags adds --dsn, --json, -o and --no-headers to the root, for
// every command (so they may also come before the command).
func addGlobalFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.String("dsn", "", "registry DSN (default "+DefaultDSN+", or $PROCREG_DSN when set): "+backends.Accepted())
	f.Bool("json", false, "print JSON (same as -o json)")
	f.StringP("output", "o", OutputTable, "output format: "+strings.Join(outputFormats, ", "))
	f.Bool("no-headers", false, "print tables without their header line")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp))
}

// FlagsOf reads the global flags of cmd (after parsing) and checks them.
func FlagsOf(cmd *cobra.Command) (*Common, error) {
	f := cmd.Flags()
	c := &Common{}
	c.DSN, _ = f.GetString("dsn")
	c.DSNGiven = f.Changed("dsn")
	if !c.DSNGiven {
		if env := os.Getenv("PROCREG_DSN"); env != "" {
			c.DSN, c.DSNFromEnv = env, true
		} else {
			c.DSN = DefaultDSN
		}
	}
	c.Output, _ = f.GetString("output")
	if !contains(outputFormats, c.Output) {
		return nil, UsageErrorf("invalid -o %q: want one of %s", c.Output, strings.Join(outputFormats, ", "))
	}
	if j, _ := f.GetBool("json"); j {
		if f.Changed("output") && c.Output != OutputJSON {
			return nil, UsageErrorf("--json and -o %s disagree: give one of them", c.Output)
		}
		c.Output = OutputJSON
	}
	c.NoHeaders, _ = f.GetBool("no-headers")
	return c, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// exactArgs requires n positional arguments, named by what (for messages).
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == n:
			return nil
		case n == 0 && cmd.HasSubCommands():
			return unknownCommand(cmd, args[0])
		case n == 0:
			return UsageErrorf("unexpected argument(s): %s", strings.Join(args, " "))
		}
		return UsageErrorf("want %d argument(s) (%s), got %d; usage: %s", n, what, len(args), cmd.UseLine())
	}
}

// minArgs requires at least n positional arguments.
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return UsageErrorf("want at least %d argument(s) (%s); usage: %s", n, what, cmd.UseLine())
		}
		return nil
	}
}

var unknownFlagRE = regexp.MustCompile(`^unknown (shorthand )?flag: '?(-{0,2}[^' ]+)'?( in .*)?$`)

// flagErrorFor returns the flag error handler for a run over args: a usage
// error naming the flag, with a close match when there is one, and, for a
// flag before the command, where it goes.
func flagErrorFor(args []string) func(*cobra.Command, error) error {
	return func(cmd *cobra.Command, err error) error {
		m := unknownFlagRE.FindStringSubmatch(err.Error())
		if m == nil {
			return UsageErrorf("%v", err)
		}
		name := m[2]
		if m[1] != "" {
			name = "-" + strings.TrimLeft(name, "-")
		}
		msg := fmt.Sprintf("unknown flag %s", name)
		if !cmd.HasParent() {
			for i, a := range args {
				if sub := findSub(cmd, a); sub != nil && !strings.HasPrefix(a, "-") {
					rest := append(append([]string{}, args[:i]...), args[i+1:]...)
					return UsageErrorf("%s before the command: flags go after it, as in %s %s", msg, sub.CommandPath(), strings.Join(rest, " "))
				}
			}
		}
		if s := suggestFlag(cmd.Flags(), strings.TrimLeft(name, "-")); s != "" {
			msg += fmt.Sprintf("; did you mean --%s?", s)
		} else {
			msg += fmt.Sprintf(" (%s --help lists its flags)", cmd.CommandPath())
		}
		return UsageErrorf("%s", msg)
	}
}

// suggestFlag returns the name of the flag closest to name (edit distance
// at most 2, or a prefix), or "".
func suggestFlag(fs *pflag.FlagSet, name string) string {
	best, bestD := "", 3
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := levenshtein(name, f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
