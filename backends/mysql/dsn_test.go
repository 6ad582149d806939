package mysql_test

import (
	"errors"
	"strings"
	"testing"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg"

	"github.com/procreg/procreg/backends/mysql"
)

func TestParseDSNForms(t *testing.T) {
	cases := []struct {
		dsn                        string
		user, pass, addr, db, zone string
		interpolate                bool
	}{
		{"mysql://root@127.0.0.1:3306/test", "root", "", "127.0.0.1:3306", "test", "'+00:00'", true},
		{"mysql://u%40x:p%3Aw%2F@db.example/procreg", "u@x", "p:w/", "db.example:3306", "procreg", "'+00:00'", true},
		{"mysql://root@[::1]:3307/t?interpolateParams=false&time_zone=%27SYSTEM%27", "root", "", "[::1]:3307", "t", "'SYSTEM'", false},
		{"root:secret@tcp(127.0.0.1:3306)/test", "root", "secret", "127.0.0.1:3306", "test", "'+00:00'", true},
		{"root@tcp(localhost:3306)/test?interpolateParams=false", "root", "", "localhost:3306", "test", "'+00:00'", false},
	}
	for _, c := range cases {
		cfg, err := mysql.ParseDSN(c.dsn)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", c.dsn, err)
			continue
		}
		if cfg.User != c.user || cfg.Passwd != c.pass || cfg.Addr != c.addr || cfg.DBName != c.db ||
			cfg.Params["time_zone"] != c.zone || cfg.InterpolateParams != c.interpolate {
			t.Errorf("ParseDSN(%q) = user %q pass %q addr %q db %q zone %q interpolate %v", c.dsn,
				cfg.User, cfg.Passwd, cfg.Addr, cfg.DBName, cfg.Params["time_zone"], cfg.InterpolateParams)
		}
	}
}

func TestParseDSNRejectsGarbage(t *testing.T) {
	for _, dsn := range []string{"mysql:///nohost", "mysql://root@h/db?timeout=soon", "not a dsn"} {
		if _, err := mysql.ParseDSN(dsn); err == nil {
			t.Errorf("ParseDSN(%q) accepted a bad DSN", dsn)
		}
	}
}

func TestParseDSNErrorsHidePassword(t *testing.T) {
	_, err := mysql.ParseDSN("mysql://root:s3cret@h:port/db")
	if err == nil || !errors.Is(err, procreg.ErrInvalid) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("ParseDSN of a bad port = %v; want ErrInvalid without the password", err)
	}
}

// ParseDSN turns interpolateParams on only for encodings in which the
// driver's escaping is sound: not for a charset or collation whose
// multi-byte characters can end in a backslash byte (GBK, SJIS, …), where
// it would allow an injection; a DSN that names interpolateParams decides.
// Such a DSN still opens: the driver refuses interpolateParams with an
// unsafe collation.
func TestParseDSNInterpolatesOnlyWhereSafe(t *testing.T) {
	for dsn, want := range map[string]bool{
		"mysql://root@h/db?charset=utf8mb4":                        true,
		"mysql://root@h/db?collation=utf8mb4_unicode_ci":           true,
		"mysql://root@h/db?charset=latin1":                         true,
		"mysql://root@h/db?charset=gbk":                            false,
		"mysql://root@h/db?charset=utf8mb4,SJIS":                   false,
		"root@tcp(h:3306)/db?charset=big5":                         false,
		"mysql://root@h/db?collation=gbk_chinese_ci":               false,
		"mysql://root@h/db?collation=cp932_japanese_ci":            false,
		"mysql://root@h/db?charset=gb18030&interpolateParams=true": true,
	} {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", dsn, err)
			continue
		}
		if cfg.InterpolateParams != want {
			t.Errorf("ParseDSN(%q): interpolateParams %v, want %v", dsn, cfg.InterpolateParams, want)
		}
		if strings.Contains(dsn, "interpolateParams") {
			continue
		}
		if _, err := mysqldrv.NewConnector(cfg); err != nil {
			t.Errorf("ParseDSN(%q) gives a configuration the driver refuses: %v", dsn, err)
		}
	}
}
