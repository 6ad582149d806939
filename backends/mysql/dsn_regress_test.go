package mysql_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/mysql"
)

// TestParseDSNTimeZoneDefault: ParseDSN decided whether the DSN sets
// time_zone with url.ParseQuery, which counts "?time_zone" (no '=') and
// "?time%5Fzone=…" (an escaped key), while the driver ignores the first
// and sends the second under its escaped name: the UTC default was then
// left out and the session ran in the server's zone. ParseDSN now asks
// what the driver reads. Found by FuzzParseDSN
// (testdata/fuzz/FuzzParseDSN/empty_time_zone).
func TestParseDSNTimeZoneDefault(t *testing.T) {
	for _, dsn := range []string{"/0?time_zone", "mysql://root@h/db?time_zone", "root@tcp(h)/db?time%5Fzone=%27SYSTEM%27", "mysql://root@h/db?interpolateParams"} {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", dsn, err)
			continue
		}
		if cfg.Params["time_zone"] != "'+00:00'" || !cfg.InterpolateParams {
			t.Errorf("ParseDSN(%q): time_zone %q, interpolateParams %v; want the defaults", dsn, cfg.Params["time_zone"], cfg.InterpolateParams)
		}
	}
	cfg, err := mysql.ParseDSN("mysql://root@h/db?time_zone=%27SYSTEM%27&interpolateParams=false")
	if err != nil || cfg.Params["time_zone"] != "'SYSTEM'" || cfg.InterpolateParams {
		t.Errorf("explicit settings: %+v, %v", cfg, err)
	}
}

// TestParseDSNEmptySessionVariable: a session variable with an empty value
// ("?time_zone=") made the driver send "SET time_zone=", a syntax error at
// connect time; it is ErrInvalid now.
func TestParseDSNEmptySessionVariable(t *testing.T) {
	for _, dsn := range []string{"mysql://root@h/db?time_zone=", "root@tcp(h)/db?sql_mode=&time_zone=%27%2B00:00%27"} {
		_, err := mysql.ParseDSN(dsn)
		if !errors.Is(err, procreg.ErrInvalid) || !strings.Contains(err.Error(), "has no value") {
			t.Errorf("ParseDSN(%q): %v, want ErrInvalid naming the empty parameter", dsn, err)
		}
	}
}

// TestParseDSNMalformedHost: "mysql://]" parsed to the address
// "[]:3306]:3306", which failed only when dialled. Found by FuzzParseDSN
// (testdata/fuzz/FuzzParseDSN/malformed_host).
func TestParseDSNMalformedHost(t *testing.T) {
	for _, dsn := range []string{"mysql://]", "mysql://u:pw@]/db", "mysql://:3306/db"} {
		if _, err := mysql.ParseDSN(dsn); !errors.Is(err, procreg.ErrInvalid) {
			t.Errorf("ParseDSN(%q): %v, want ErrInvalid", dsn, err)
		}
	}
}
