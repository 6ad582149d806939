package cli

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u:s3cret@h:5432/db?sslmode=disable":       "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db?sslmode=disable&password=s3cret":   "postgres://u@h/db?sslmode=disable&password=xxxxx",
		"mysql://root:s3cret@127.0.0.1:3306/test":             "mysql://root:xxxxx@127.0.0.1:3306/test",
		"root:s3cret@tcp(127.0.0.1:3306)/test?parseTime=true": "root:xxxxx@tcp(127.0.0.1:3306)/test?parseTime=true",
		"host=h user=u password=s3cret dbname=d":              "host=h user=u password=xxxxx dbname=d",
		"sqlite:/tmp/a@b.db":                                  "sqlite:/tmp/a@b.db",
		"procreg.db":                                          "procreg.db",
	} {
		if got := Redact(dsn); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) = %q, want %q", dsn, got, want)
		}
		if HasPassword(dsn) != (want != dsn) {
			t.Errorf("HasPassword(%q) = %v", dsn, HasPassword(dsn))
		}
	}
}

func TestCommandLineQuotes(t *testing.T) {
	line, note := CommandLine("procreg.db", false, "ls", "--definition", `{"demo":"x"}`)
	if line != `procreg ls --definition '{"demo":"x"}' --dsn procreg.db` || note != "" {
		t.Fatalf("%q %q", line, note)
	}
	line, _ = CommandLine("postgres://u@h/db?sslmode=disable&x=it's", false, "sweep")
	if line != `procreg sweep --dsn 'postgres://u@h/db?sslmode=disable&x=it'\''s'` {
		t.Fatalf("%q", line)
	}
	line, note = CommandLine("postgres://u:pw@h/db", false, "sweep")
	if strings.Contains(line, "pw") || strings.Contains(line, "xxxxx") || note == "" {
		t.Fatalf("%q %q", line, note)
	}
	if line, note = CommandLine("postgres://u:pw@h/db", true, "sweep"); line != "procreg sweep" || note != "" {
		t.Fatalf("%q %q", line, note)
	}
}

func TestSuggestFlag(t *testing.T) {
	if levenshtein("stauts", "status") != 2 || levenshtein("", "ab") != 2 {
		t.Fatal("levenshtein")
	}
}
