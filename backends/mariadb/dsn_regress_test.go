package mariadb_test

import (
	"errors"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/mariadb"
)

// The mariadb dialect reads DSNs as the mysql dialect does (the fixes
// fuzzing found there hold here too), plus its Galera default.
func TestParseDSNFollowsTheMySQLDialect(t *testing.T) {
	for _, dsn := range []string{"/0?time_zone", "mariadb://root@h/db?time_zone", "mysql://root@h/db?interpolateParams"} {
		cfg, err := mariadb.ParseDSN(dsn)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", dsn, err)
			continue
		}
		if cfg.Params["time_zone"] != "'+00:00'" || !cfg.InterpolateParams || cfg.Params[mariadb.SyncWaitParam] != mariadb.DefaultSyncWait {
			t.Errorf("ParseDSN(%q): %+v; want the UTC, interpolateParams and wsrep_sync_wait defaults", dsn, cfg.Params)
		}
	}
	cfg, err := mariadb.ParseDSN("mariadb://root@h:3312/db?wsrep_sync_wait=1")
	if err != nil || cfg.Params[mariadb.SyncWaitParam] != "1" || cfg.Addr != "h:3312" || cfg.DBName != "db" {
		t.Errorf("explicit wsrep_sync_wait: %+v, %v", cfg, err)
	}
	// Nor does it inline arguments where that is unsafe (mysql.ParseDSN).
	if cfg, err := mariadb.ParseDSN("mariadb://root@h/db?charset=gbk"); err != nil || cfg.InterpolateParams {
		t.Errorf("charset=gbk: interpolateParams %v, %v; want off", cfg != nil && cfg.InterpolateParams, err)
	}
	for _, dsn := range []string{"mariadb://root@h/db?time_zone=", "mariadb://]"} {
		if _, err := mariadb.ParseDSN(dsn); !errors.Is(err, procreg.ErrInvalid) {
			t.Errorf("ParseDSN(%q) = %v, want ErrInvalid", dsn, err)
		}
	}
}
