package procreg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
)

// SameIncarnation reports whether two owners are the same worker
// incarnation: equal owner id and incarnation id.
func (o LeaseOwner) SameIncarnation(other LeaseOwner) bool {
	return o.OwnerID == other.OwnerID && o.IncarnationID == other.IncarnationID
}

// IsDefinitelyDeadFor reports whether claimant can prove o dead: both have
// local_process liveness with the same host id and boot id, that host and
// boot are this machine's, and o's pid is gone, a zombie, or runs with a
// different process start time (/proc/<pid>/stat field 22). Opaque
// liveness, another host or another boot is never dead.
func (o LeaseOwner) IsDefinitelyDeadFor(claimant LeaseOwner) bool {
	h, c := o.Liveness, claimant.Liveness
	if h.Kind != LivenessLocalProcess || c.Kind != LivenessLocalProcess {
		return false
	}
	if h.HostID == "" || h.BootID == "" || h.HostID != c.HostID || h.BootID != c.BootID || h.PID <= 0 {
		return false
	}
	// /proc describes this machine only: a claimant naming another host
	// cannot prove anything here.
	host, boot, err := machineIdentity()
	if err != nil || host != h.HostID || boot != h.BootID {
		return false
	}
	start, state, err := readProcStat(h.PID)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	if state == "Z" || state == "X" {
		return true
	}
	return h.ProcessStart != "" && start != h.ProcessStart
}

// CurrentProcessLiveness returns local_process liveness for the calling OS
// process: host id from /etc/machine-id (else the hostname), boot id from
// /proc/sys/kernel/random/boot_id, the pid, and the process start time
// (field 22 of /proc/self/stat).
func CurrentProcessLiveness() (Liveness, error) {
	host, boot, err := machineIdentity()
	if err != nil {
		return Liveness{}, err
	}
	pid := os.Getpid()
	start, _, err := readProcStat(pid)
	if err != nil {
		return Liveness{}, fmt.Errorf("procreg: read start time of pid %d: %w", pid, err)
	}
	return Liveness{Kind: LivenessLocalProcess, HostID: host, BootID: boot, PID: pid, ProcessStart: start}, nil
}

var machine struct {
	once       sync.Once
	host, boot string
	err        error
}

// machineIdentity returns this machine's host id and boot id (read once).
func machineIdentity() (host, boot string, err error) {
	machine.once.Do(func() {
		if b, err := os.ReadFile("/etc/machine-id"); err == nil {
			machine.host = strings.TrimSpace(string(b))
		}
		if machine.host == "" {
			if machine.host, machine.err = os.Hostname(); machine.err != nil {
				machine.err = fmt.Errorf("procreg: host id: %w", machine.err)
				return
			}
		}
		b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
		if err != nil {
			machine.err = fmt.Errorf("procreg: boot id: %w", err)
			return
		}
		machine.boot = strings.TrimSpace(string(b))
	})
	return machine.host, machine.boot, machine.err
}

// readProcStat returns field 22 (start time) and field 3 (state) of
// /proc/<pid>/stat. The command name (field 2) may contain spaces and
// parentheses, so fields are counted after its closing parenthesis.
func readProcStat(pid int) (start, state string, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", "", err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", "", fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3
	if len(f) < 20 {
		return "", "", fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return f[19], f[0], nil
}
