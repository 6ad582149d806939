package mysql_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/mysql"
)

// Open accepts the URL form as well as the driver's native form.
// (No Output comment: the example needs a server, so it is compiled, not run.)
func ExampleOpen() {
	ctx := context.Background()
	reg, err := mysql.Open(ctx, "mysql://procreg:secret@127.0.0.1:3306/procreg")
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	fmt.Println(reg.DurabilityTier() == procreg.TierDurable)
}

// New uses an existing pool (left open by Close). ParseDSN gives the
// driver configuration Open would use: UTC session time zone and one round
// trip per statement (interpolateParams).
func ExampleNew() {
	ctx := context.Background()
	cfg, err := mysql.ParseDSN("procreg:secret@tcp(127.0.0.1:3306)/procreg")
	if err != nil {
		log.Fatal(err)
	}
	conn, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	reg, err := mysql.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	fmt.Println(reg.DurabilityTier() == procreg.TierDurable)
}

// ParseDSN converts the URL form to the driver's configuration.
func ExampleParseDSN() {
	cfg, err := mysql.ParseDSN("mysql://app:p%40ss@db.internal/jobs")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.User, cfg.Passwd, cfg.Addr, cfg.DBName, cfg.Params["time_zone"], cfg.InterpolateParams)
	// Output: app p@ss db.internal:3306 jobs '+00:00' true
}
