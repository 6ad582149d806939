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
// boot are the calling process's (the host id names the PID namespace too,
// see CurrentProcessLiveness), and o's pid is gone, a zombie, or runs with
// a different process start time (/proc/<pid>/stat field 22). Opaque
// liveness, another host, another boot or another PID namespace is never
// dead: a pid from another namespace names some other process, or none,
// in this one's /proc. Containers on one kernel share the boot id and often
// /etc/machine-id (baked into the image or bind-mounted for journald), so
// without the namespace they would judge each other's live workers dead.
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
// process: host id "<machine id>/pidns:<inode>" (the machine id from
// /etc/machine-id, else the hostname; the inode of the PID namespace from
// the /proc/self/ns/pid link), boot id from /proc/sys/kernel/random/boot_id,
// the pid, and the process start time (field 22 of /proc/self/stat). It
// fails when /proc is not this PID namespace's (its /proc/self is not the
// calling pid), because pids read there would name other processes.
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

// pidNamespaceSeparator joins the machine id and the PID namespace inode in
// a local_process host id (CurrentProcessLiveness).
const pidNamespaceSeparator = "/pidns:"

// pidNamespace returns the inode of the calling process's PID namespace
// ("4026531836" from the link "pid:[4026531836]"), after checking that /proc
// belongs to that namespace: /proc/self must name the calling pid.
func pidNamespace() (string, error) {
	link, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return "", fmt.Errorf("pid namespace: %w", err)
	}
	inode, ok := strings.CutPrefix(link, "pid:[")
	inode, ok2 := strings.CutSuffix(inode, "]")
	if !ok || !ok2 || inode == "" {
		return "", fmt.Errorf("pid namespace: unexpected link %q", link)
	}
	self, err := os.Readlink("/proc/self")
	if err != nil {
		return "", fmt.Errorf("pid namespace: %w", err)
	}
	if self != strconv.Itoa(os.Getpid()) {
		return "", fmt.Errorf("pid namespace: /proc belongs to another PID namespace (/proc/self is %s, this is pid %d)", self, os.Getpid())
	}
	return inode, nil
}

// machineIdentity returns the calling process's host id (machine id and PID
// namespace) and boot id (read once).
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
		ns, err := pidNamespace()
		if err != nil {
			machine.err = fmt.Errorf("procreg: host id: %w", err)
			return
		}
		machine.host += pidNamespaceSeparator + ns
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
