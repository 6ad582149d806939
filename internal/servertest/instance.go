package servertest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Instance is a database server a test starts for itself: its own data
// directory under t.TempDir() and its own loopback port, never the shared
// services other tests use. Stop and Start restart it mid-test; it is
// killed when the test ends.
type Instance struct {
	// DSN connects to the instance's database in the form the backend's
	// Open takes.
	DSN  string
	Port int

	mu    sync.Mutex
	t     testing.TB
	start func() error
	stop  func(crash bool) error
	up    bool
}

// Stop stops the server: a fast shutdown, or with crash a SIGKILL-like
// immediate one (PostgreSQL's -m immediate, SIGKILL for MariaDB).
func (in *Instance) Stop(crash bool) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.up {
		return nil
	}
	in.up = false
	return in.stop(crash)
}

// Start starts a stopped server and waits until it answers.
func (in *Instance) Start() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.up {
		return nil
	}
	if err := in.start(); err != nil {
		return err
	}
	in.up = true
	return nil
}

// freePort returns a loopback port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// mariaPing connects and makes sure the database procreg exists.
func mariaPing(port int) error {
	cfg := mysqldrv.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", fmt.Sprintf("127.0.0.1:%d", port)
	cfg.Timeout = 5 * time.Second
	conn, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS procreg")
	return err
}

// KillPostgresConnections terminates, from the server side, every
// connection to database db but the caller's (pg_terminate_backend) and
// returns how many. admin is any DSN of that server.
func KillPostgresConnections(ctx context.Context, admin, db string) (int, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	// Test-only SQL (docs/design.md lists pg_terminate_backend as such).
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()) k`, db).Scan(&n)
	return n, err
}

// KillMySQLConnections kills (KILL CONNECTION) every connection whose
// current database is db, but the caller's, and returns how many. admin
// is a native DSN of that server.
func KillMySQLConnections(ctx context.Context, admin, db string) (int, error) {
	cfg, err := mysqldrv.ParseDSN(admin)
	if err != nil {
		return 0, err
	}
	conn, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return 0, err
	}
	pool := sql.OpenDB(conn)
	defer pool.Close()
	rows, err := pool.QueryContext(ctx, `SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()`, db)
	if err != nil {
		return 0, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	n := 0
	for _, id := range ids {
		// KILL takes no bind parameter; id is an integer we just read.
		if _, err := pool.ExecContext(ctx, "KILL CONNECTION "+strconv.FormatInt(id, 10)); err == nil {
			n++
		}
	}
	return n, nil
}
