package cli

import "testing"

// TestRedactPasswordForms: the redaction used to mask only the password of
// a DSN that url.Parse accepted with user information, and printed every
// other DSN as it was, password included: MySQL's native form, a URL that
// does not parse (a bad port: exactly the DSNs error messages print),
// PostgreSQL's keyword/value form and a ?password= parameter. Found by
// FuzzRedact's seeds (testdata/fuzz/FuzzRedact); the first fix missed a
// native MySQL DSN whose password starts with "//" (native_after_scheme,
// found by fuzzing).
func TestRedactPasswordForms(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://postgres:s3cret@127.0.0.1:5432/test":    "postgres://postgres:xxxxx@127.0.0.1:5432/test",
		"postgres://postgres@127.0.0.1:5432/test":           "postgres://postgres@127.0.0.1:5432/test",
		"postgres://u@h/db?sslmode=disable&password=s3cret": "postgres://u@h/db?sslmode=disable&password=xxxxx",
		"host=h user=u password=s3cret dbname=d":            "host=h user=u password=xxxxx dbname=d",
		`host=h password = 's3 \' cret' dbname=d`:           "host=h password = xxxxx dbname=d",
		"host=h password='s3cret":                           "host=h password=xxxxx",
		"mysql://root:s3cret@h:notaport/db":                 "mysql://root:xxxxx@h:notaport/db",
		"mysql://root:s3/cr@t@h/db":                         "mysql://root:xxxxx@h/db",
		"root:s3cret@tcp(127.0.0.1:3306)/test":              "root:xxxxx@tcp(127.0.0.1:3306)/test",
		"root@tcp(127.0.0.1:3306)/test":                     "root@tcp(127.0.0.1:3306)/test",
		"00000000://00000000000000@/":                       "00000000:xxxxx@/", // MySQL native: password "//0000…"
		"sqlite:/tmp/a.db":                                  "sqlite:/tmp/a.db",
		"memory:":                                           "memory:",
	} {
		if got := Redact(dsn); got != want {
			t.Errorf("Redact(%q) = %q, want %q", dsn, got, want)
		}
	}
}
