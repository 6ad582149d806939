package main

import (
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/internal/testdb"
)

// secret is the password the DSNs below carry; no output may contain it.
const secret = "Pa55wordSecret"

// TestPasswordNeverPrinted runs every subcommand with password-bearing
// DSNs, given by --dsn and by $PROCREG_DSN, and scans stdout and stderr for
// the password: results, -o json, help defaults, errors and the demo's
// closing hint (which must not carry a redacted one either). With
// PROCREG_POSTGRES_DSN set, the commands succeed against a fresh database
// (the server ignores the password under trust authentication); the
// error paths use servers that refuse or do not answer.
func TestPasswordNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	var dsns []string
	if os.Getenv(testdb.PostgresEnv) != "" {
		db := testdb.Postgres(t)
		u, err := url.Parse(db.URL)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(u.User.Username(), secret)
		dsns = append(dsns, u.String())
		u.User = url.User(u.User.Username())
		q := u.Query()
		q.Set("password", secret)
		u.RawQuery = q.Encode()
		dsns = append(dsns, u.String())
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("%s is unset (CI=true)", testdb.PostgresEnv)
	} else {
		t.Logf("%s unset: only the error paths are checked", testdb.PostgresEnv)
	}
	mysqlHost := "127.0.0.1:1"
	if env := os.Getenv(testdb.MySQLEnv); env != "" {
		if u, err := url.Parse(env); err == nil && u.Host != "" {
			mysqlHost = u.Host // root has no password there: access denied
		}
	}
	dsns = append(dsns,
		"mysql://root:"+secret+"@"+mysqlHost+"/test",
		"root:"+secret+"@tcp(127.0.0.1:1)/test",
		"postgres://u:"+secret+"@127.0.0.1:1/x?sslmode=disable&connect_timeout=5",
		"postgres://u@127.0.0.1:1/x?sslmode=disable&connect_timeout=5&password="+secret,
	)
	scan := func(what string, r result) {
		t.Helper()
		for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: the password is in %s:\n%s", what, name, out)
			}
		}
	}
	for i, dsn := range dsns {
		live := i < len(dsns)-4
		for _, byEnv := range []bool{false, true} {
			run := func(args ...string) result {
				t.Helper()
				var env []string
				if byEnv {
					env = []string{"PROCREG_DSN=" + dsn}
				} else {
					args = append(args, "--dsn", dsn)
				}
				r := runEnv(t, dir, env, args...)
				scan(strings.Join(args, " ")+" (PROCREG_DSN: "+map[bool]string{true: "yes", false: "no"}[byEnv]+")", r)
				return r
			}
			id := "nope"
			if live {
				if r := run("migrate"); r.code != 0 {
					t.Fatalf("migrate: %+v", r)
				}
				if runtime.GOOS == "linux" {
					r := run("demo", "--processes", "4", "--duration", "1s", "--crash-rate", "0", "--stalls", "0", "--steps", "2")
					if r.code != 0 {
						t.Fatalf("demo: %+v", r)
					}
					if i := strings.Index(r.stdout, "Look around"); i < 0 {
						t.Errorf("no closing hint:\n%s", r.stdout)
					} else if strings.Contains(r.stdout[i:], "xxxxx") {
						t.Errorf("the closing hint carries a redacted password:\n%s", r.stdout)
					}
					run("demo", "--processes", "2", "--duration", "500ms", "--crash-rate", "0", "--stalls", "0", "--steps", "1", "--json")
				}
				var recs []procreg.Record
				r := run("ls", "--json")
				decode(t, r.stdout, &recs)
				if len(recs) > 0 {
					id = recs[0].ID
				}
			}
			for _, args := range [][]string{
				{"migrate"}, {"migrate", "status"}, {"migrate", "status", "-o", "json"}, {"migrate", "validate"},
				{"ls"}, {"ls", "-o", "wide"}, {"ls", "--json"}, {"show", id}, {"show", id, "--json"}, {"show", "no-such-id"},
				{"events", id}, {"events", id, "--follow"}, {"events", id, "-o", "jsonl"},
				{"cancel", id, "--dry-run"}, {"cancel", id}, {"abandon", id, "--reason", "r", "--dry-run"}, {"abandon", id, "--reason", "r"},
				{"prune", "--older-than", "1000h", "--dry-run"}, {"prune", "--older-than", "1000h"}, {"prune", "--older-than", "1000h", "--json"},
				{"sweep"}, {"sweep", "--json"}, {"ls", "--frob"}, {"ls", "--status", "x"}, {"help"}, {"help", "ls"}, {"ls", "--help"},
				{"demo", "--ttl", "1ms"}, {"dialect", "check"}, {"completion", "bash"},
			} {
				run(args...)
			}
			// version reads the schema only with an explicit --dsn.
			for _, args := range [][]string{{"version", "--dsn", dsn}, {"--version", "--dsn", dsn}, {"version", "--json", "--dsn", dsn}} {
				scan(strings.Join(args[:len(args)-1], " "), runEnv(t, dir, nil, args...))
			}
		}
	}
}
