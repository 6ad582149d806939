//go:build unix

package servertest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// ownedDir makes a directory under t.TempDir() owned by the system user
// name, with every parent traversable, and returns it with the user's
// credential.
func ownedDir(t testing.TB, name string) (string, *syscall.Credential) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("servertest: starting a server instance needs root (to run it as user %s)", name)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Skipf("servertest: no user %s: %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	base := t.TempDir()
	for d := base; d != "/" && d != "." && d != os.TempDir(); d = filepath.Dir(d) {
		_ = os.Chmod(d, 0o755)
	}
	dir := filepath.Join(base, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func runAs(cred *syscall.Credential, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %w\n%s", filepath.Base(name), args, err, out.String())
	}
	return nil
}

// PostgresBin is where the PostgreSQL 15 binaries are.
const PostgresBin = "/usr/lib/postgresql/15/bin"

// StartPostgres initializes and starts a PostgreSQL instance (run as user
// postgres) for t; it skips when the binaries or the user are missing.
func StartPostgres(t testing.TB) *Instance {
	t.Helper()
	if _, err := os.Stat(filepath.Join(PostgresBin, "initdb")); err != nil {
		t.Skipf("servertest: no PostgreSQL binaries at %s", PostgresBin)
	}
	dir, cred := ownedDir(t, "postgres")
	data := filepath.Join(dir, "data")
	if err := runAs(cred, filepath.Join(PostgresBin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	pgctl := filepath.Join(PostgresBin, "pg_ctl")
	in := &Instance{t: t, Port: port,
		DSN: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	in.start = func() error {
		return runAs(cred, pgctl, "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "180",
			"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", port, dir), "start")
	}
	in.stop = func(crash bool) error {
		mode := "fast"
		if crash {
			mode = "immediate"
		}
		return runAs(cred, pgctl, "-D", data, "-m", mode, "-w", "-t", "180", "stop")
	}
	if err := in.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Stop(true) })
	return in
}

// StartMariaDB initializes and starts a MariaDB instance (mariadbd as user
// mysql, grant tables skipped) for t, with an empty database "procreg";
// it skips when the binaries or the user are missing.
func StartMariaDB(t testing.TB) *Instance {
	t.Helper()
	installDB, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		t.Skip("servertest: no mariadb-install-db")
	}
	mariadbd, err := exec.LookPath("mariadbd")
	if err != nil {
		if mariadbd, err = exec.LookPath("/usr/sbin/mariadbd"); err != nil {
			t.Skip("servertest: no mariadbd")
		}
	}
	dir, cred := ownedDir(t, "mysql")
	data := filepath.Join(dir, "data")
	if err := runAs(cred, installDB, "--no-defaults", "--datadir="+data, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve"); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	in := &Instance{t: t, Port: port, DSN: fmt.Sprintf("root@tcp(127.0.0.1:%d)/procreg", port)}
	var cmd *exec.Cmd
	var exited chan struct{}
	in.start = func() error {
		cmd = exec.Command(mariadbd, "--no-defaults", "--datadir="+data, "--socket="+filepath.Join(dir, "sock"),
			"--port="+strconv.Itoa(port), "--bind-address=127.0.0.1", "--pid-file="+filepath.Join(dir, "pid"),
			"--skip-grant-tables", "--skip-name-resolve", "--log-error="+filepath.Join(dir, "error.log"),
			"--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=2", "--max-connections=300")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if err := cmd.Start(); err != nil {
			return err
		}
		done := make(chan struct{})
		exited = done
		go func() { _ = cmd.Wait(); close(done) }()
		deadline := time.Now().Add(3 * time.Minute)
		for {
			err := mariaPing(port)
			if err == nil {
				return nil
			}
			select {
			case <-done:
				log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
				return fmt.Errorf("mariadbd exited: %s", log)
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("mariadbd did not answer: %w", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	in.stop = func(crash bool) error {
		sig := syscall.SIGTERM
		if crash {
			sig = syscall.SIGKILL
		}
		_ = cmd.Process.Signal(sig)
		select {
		case <-exited:
		case <-time.After(3 * time.Minute):
			_ = cmd.Process.Kill()
			<-exited
		}
		return nil
	}
	if err := in.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Stop(true) })
	return in
}
