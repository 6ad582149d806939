package mysql

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
)

// classify says which failures are a lost or refused connection
// (ClassUnavailable, wrapped in procreg.ErrUnavailable by the engine), and
// retryable never reruns a write whose COMMIT failed.
func TestClassifyUnavailable(t *testing.T) {
	netErr := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	cases := []struct {
		name string
		err  error
		want driver.ErrorClass
	}{
		{"deadlock", &mysqldrv.MySQLError{Number: 1213}, driver.ClassTransient},
		{"lock wait timeout", &mysqldrv.MySQLError{Number: 1205}, driver.ClassTransient},
		{"too many connections", &mysqldrv.MySQLError{Number: 1040}, driver.ClassUnavailable},
		{"server shutdown", &mysqldrv.MySQLError{Number: 1053}, driver.ClassUnavailable},
		{"connection killed", &mysqldrv.MySQLError{Number: 1927}, driver.ClassUnavailable},
		{"bad conn", fmt.Errorf("lock process: %w", sqldriver.ErrBadConn), driver.ClassUnavailable},
		{"invalid conn", fmt.Errorf("lock process: %w", mysqldrv.ErrInvalidConn), driver.ClassUnavailable},
		{"network error", fmt.Errorf("lock process: %w", netErr), driver.ClassUnavailable},
		{"unexpected EOF", io.ErrUnexpectedEOF, driver.ClassUnavailable},
		{"cancelled", fmt.Errorf("lock process: %w", context.Canceled), driver.ClassOther},
		{"syntax error", &mysqldrv.MySQLError{Number: 1064}, driver.ClassOther},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("%s: classify = %v; want %v", c.name, got, c.want)
		}
	}
	if !retryable(fmt.Errorf("lock process: %w", mysqldrv.ErrInvalidConn)) {
		t.Error("a connection lost before the commit is not retried; want a retry")
	}
	if retryable(sqlkit.CommitFailed("mysql", mysqldrv.ErrInvalidConn)) {
		t.Error("a connection lost during the commit is retried; the write may have been applied")
	}
}
