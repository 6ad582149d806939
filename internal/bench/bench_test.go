package bench

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/driver"
)

// On a terminal the progress redraws one line per operation in place and
// ends it with a newline; elsewhere it is one plain line per operation.
func TestProgressLiveAndPlain(t *testing.T) {
	for _, live := range []bool{true, false} {
		var buf bytes.Buffer
		reg := memory.New()
		_, err := Run(context.Background(), Target{Dialect: "memory", Registry: reg}, Config{
			Workers: 2, Duration: 50 * time.Millisecond, Warmup: -1, Ops: []string{"get", "recent"}, Progress: NewProgress(&buf, live),
		})
		reg.Close()
		if err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], "get ") || !strings.Contains(lines[1], "recent ") {
			t.Errorf("live=%v: want one line per operation, got %q", live, out)
		}
		if got := strings.Contains(out, "\r\x1b[K"); got != live {
			t.Errorf("live=%v: redraws in place = %v: %q", live, got, out)
		}
	}
}

// The floor an operation is held to: appends follow the dialect's
// AppendFloor, the rest are fixed; only the floors the chosen operations
// need are measured.
func TestFloorMapping(t *testing.T) {
	all, err := ParseOps(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		appendFloor driver.FloorOp
		want        map[string]driver.FloorOp
	}{
		{driver.FloorInsert, map[string]driver.FloorOp{"register": driver.FloorInsert, "append": driver.FloorInsert, "fenced-append": driver.FloorInsert, "claim-complete": driver.FloorUpdate, "get": driver.FloorSelect}},
		{driver.FloorUpdate, map[string]driver.FloorOp{"register": driver.FloorInsert, "append": driver.FloorUpdate, "fenced-append": driver.FloorUpdate, "claim-complete": driver.FloorUpdate, "recent": driver.FloorSelect}},
	} {
		for _, o := range all {
			if want, ok := tc.want[o.name]; ok && o.floor(tc.appendFloor) != want {
				t.Errorf("append floor %s: %s is held to %s, want %s", tc.appendFloor, o.name, o.floor(tc.appendFloor), want)
			}
		}
	}
	some, err := ParseOps([]string{"recent", "append"})
	if err != nil {
		t.Fatal(err)
	}
	if len(some) != 2 || some[0].name != "append" || some[1].name != "recent" {
		t.Errorf("ParseOps(recent, append) = %v, want append, recent", some)
	}
	if got := floorOps(some, driver.FloorInsert); len(got) != 2 || got[0] != driver.FloorSelect || got[1] != driver.FloorInsert {
		t.Errorf("floors of append and recent on SQLite = %v, want select, insert", got)
	}
	if _, err := ParseOps([]string{"get", "nope"}); !errors.Is(err, procreg.ErrInvalid) {
		t.Errorf("ParseOps(nope) = %v, want ErrInvalid", err)
	}
}
