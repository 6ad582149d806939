//go:build linux

package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
)

// Disk full: the database lives on a small file system that the test then
// fills with a filler file. Writes must fail with an error that says the
// disk is full (sqlite.ErrDiskFull), everything stored before must stay
// readable and sound (integrity_check), and writes must work again once
// the filler is deleted.
//
// The small file system is a 4 MiB tmpfs the test mounts (as root). Where
// mounting is not permitted, the test re-executes itself with
// RLIMIT_FSIZE set instead: the kernel then refuses to grow any file past
// the limit (EFBIG, SIGXFSZ being ignored by the Go runtime), which is what
// a full disk looks like to the writer, with the limit playing the filler.
// PROCREG_SQLITE_DISKFULL_ROLE=no-mount forces that fallback.
const (
	diskFullRoleEnv = "PROCREG_SQLITE_DISKFULL_ROLE"
	diskFullDirEnv  = "PROCREG_SQLITE_DISKFULL_DIR"
)

func TestDiskFull(t *testing.T) {
	if os.Getenv(diskFullRoleEnv) == "rlimit" {
		diskFullRlimitChild(t, os.Getenv(diskFullDirEnv))
		return
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m")
	if os.Getenv(diskFullRoleEnv) == "no-mount" && err == nil {
		// Exercise the fallback where mounting is allowed.
		syscall.Unmount(dir, 0)
		err = errors.New(diskFullRoleEnv + "=no-mount")
	}
	if err != nil {
		t.Logf("cannot mount a tmpfs (%v): limiting the file size with RLIMIT_FSIZE in a child process instead", err)
		cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFull$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), diskFullRoleEnv+"=rlimit", diskFullDirEnv+"="+dir)
		out, err := cmd.CombinedOutput()
		t.Logf("child:\n%s", out)
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		return
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	t.Logf("database on a 4 MiB tmpfs at %s", dir)
	filler := filepath.Join(dir, "filler")
	checkDiskFull(t, dir, true,
		func() {
			f, err := os.Create(filler)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			chunk := make([]byte, 64<<10)
			for {
				if _, err := f.Write(chunk); err != nil {
					if !errors.Is(err, syscall.ENOSPC) {
						t.Fatalf("filling the disk: %v", err)
					}
					// The last partial chunk: fill byte by byte.
					for {
						if _, err := f.Write(chunk[:1]); err != nil {
							return
						}
					}
				}
			}
		},
		func() {
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
		})
}

// diskFullRlimitChild runs the check under RLIMIT_FSIZE: "filling" lowers
// the limit to the database's current size, "freeing" raises it again.
func diskFullRlimitChild(t *testing.T, dir string) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &orig); err != nil {
		t.Fatal(err)
	}
	checkDiskFull(t, dir, false,
		func() {
			// No file may grow past the database file's current size (the
			// WAL, already larger, is reused from its start after a
			// checkpoint and may not grow either).
			fi, err := os.Stat(filepath.Join(dir, "full.db"))
			if err != nil {
				t.Fatal(err)
			}
			lim := syscall.Rlimit{Cur: uint64(fi.Size()), Max: orig.Max}
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
				t.Fatal(err)
			}
		},
		func() {
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &orig); err != nil {
				t.Fatal(err)
			}
		})
}

// checkDiskFull runs the scenario on a database in dir; fill and free
// make the disk full and free it again. With full false (RLIMIT_FSIZE)
// the writer meets EFBIG, which SQLite reports as an I/O error
// (SQLITE_IOERR_WRITE), not SQLITE_FULL: the message is not checked then.
func checkDiskFull(t *testing.T, dir string, full bool, fill, free func()) {
	ctx := context.Background()
	path := filepath.Join(dir, "full.db")
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { reg.Close() }()
	if _, err := reg.RegisterProcess(ctx, crashRegistration("p")); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 8<<10)
	payload := func(i int) json.RawMessage {
		b, _ := json.Marshal(map[string]any{"i": i, "pad": big})
		return b
	}
	stored := 0
	appendOne := func() error {
		_, err := reg.AppendEvent(ctx, "p", procreg.AppendRequest{EventType: "tick", Payload: payload(stored + 1)})
		if err == nil {
			stored++
		}
		return err
	}
	for range 20 {
		if err := appendOne(); err != nil {
			t.Fatal(err)
		}
	}

	fill()
	var fullErr error
	for range 2000 {
		if fullErr = appendOne(); fullErr != nil {
			break
		}
	}
	if fullErr == nil {
		t.Fatalf("2000 appends of 8 KiB succeeded on a full disk")
	}
	t.Logf("append on the full disk, after %d events stored: %v", stored, fullErr)
	isFull := func(err error) bool {
		if full {
			return errors.Is(err, sqlite.ErrDiskFull)
		}
		return err != nil
	}
	if full {
		if !errors.Is(fullErr, sqlite.ErrDiskFull) || !strings.Contains(fullErr.Error(), "disk is full") {
			t.Errorf("the error does not say the disk is full (errors.Is ErrDiskFull %v): %v", errors.Is(fullErr, sqlite.ErrDiskFull), fullErr)
		}
		if errors.Is(fullErr, procreg.ErrUnavailable) || strings.Contains(fullErr.Error(), "outcome") {
			t.Errorf("a full disk is reported as a storage outage or an unknown outcome: %v", fullErr)
		}
	}
	// More writes of every kind fail the same way, and leave nothing behind.
	if _, err := reg.RegisterProcess(ctx, crashRegistration("q")); !isFull(err) {
		t.Errorf("register on the full disk: %v", err)
	}
	if err := appendOne(); !isFull(err) {
		t.Errorf("a second append on the full disk: %v", err)
	}

	// Reads work and see exactly what was acknowledged.
	checkStored := func(when string) {
		t.Helper()
		evs, err := reg.EventsAfter(ctx, "p", 0)
		if err != nil {
			t.Fatalf("%s: read: %v", when, err)
		}
		if len(evs) != stored {
			t.Fatalf("%s: %d events stored, %d acknowledged", when, len(evs), stored)
		}
		for i, ev := range evs {
			if ev.Sequence != uint64(i+1) || string(ev.Payload) != string(payload(i+1)) {
				t.Fatalf("%s: event %d is %d %.40s", when, i+1, ev.Sequence, ev.Payload)
			}
		}
		if _, err := reg.GetProcess(ctx, "q"); !errors.Is(err, procreg.ErrNotFound) && when == "on the full disk" {
			t.Fatalf("%s: the failed registration left a process: %v", when, err)
		}
		integrityOK(t, path)
	}
	checkStored("on the full disk")

	free()
	for range 5 {
		if err := appendOne(); err != nil {
			t.Fatalf("append after freeing space: %v", err)
		}
	}
	if _, err := reg.RegisterProcess(ctx, crashRegistration("q")); err != nil {
		t.Fatalf("register after freeing space: %v", err)
	}
	checkStored("after freeing")
	reg.Close()
	if reg, err = sqlite.Open(ctx, path); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	checkStored("after reopening")
}

// integrityOK runs PRAGMA integrity_check on a connection of its own.
func integrityOK(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", fmt.Sprintf("file:%s?_pragma=busy_timeout(5000)", path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q, %v", res, err)
	}
}
