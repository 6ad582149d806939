package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

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
		{"deadlock", &pgconn.PgError{Code: "40P01"}, driver.ClassTransient},
		{"serialization", &pgconn.PgError{Code: "40001"}, driver.ClassTransient},
		{"admin shutdown (pg_terminate_backend)", &pgconn.PgError{Code: "57P01"}, driver.ClassUnavailable},
		{"cannot connect now (starting, failover)", &pgconn.PgError{Code: "57P03"}, driver.ClassUnavailable},
		{"too many connections", &pgconn.PgError{Code: "53300"}, driver.ClassUnavailable},
		{"connection failure", &pgconn.PgError{Code: "08006"}, driver.ClassUnavailable},
		{"network error", fmt.Errorf("lock process: %w", netErr), driver.ClassUnavailable},
		{"unexpected EOF", fmt.Errorf("lock process: %w", io.ErrUnexpectedEOF), driver.ClassUnavailable},
		// A connection killed under a statement after the request went out
		// (pg_terminate_backend, a server restart): pgconn reports "conn
		// closed", not safe to retry, with no network error left to see.
		{"conn closed mid-operation", fmt.Errorf("insert event: %w", pgconn.ErrConnClosed), driver.ClassUnavailable},
		{"cancelled", fmt.Errorf("lock process: %w", context.Canceled), driver.ClassOther},
		{"deadline", fmt.Errorf("lock process: %w", context.DeadlineExceeded), driver.ClassOther},
		{"syntax error", &pgconn.PgError{Code: "42601"}, driver.ClassOther},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("%s: classify = %v; want %v", c.name, got, c.want)
		}
	}
	lost := fmt.Errorf("lock process: %w", netErr)
	if !retryable(lost) {
		t.Error("a connection lost before the commit is not retried; want a retry (the server rolled it back)")
	}
	if retryable(sqlkit.CommitFailed("postgres", netErr)) {
		t.Error("a connection lost during the commit is retried; the write may have been applied")
	}
	if !retryable(sqlkit.CommitFailed("postgres", &pgconn.PgError{Code: "40001"})) {
		t.Error("a serialization failure at commit is not retried; it was rolled back")
	}
}
