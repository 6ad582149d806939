package procreg

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLivenessPIDNamespace: a pid means something only in its PID
// namespace, so the host id carries the namespace and a holder recorded in
// another namespace (or in a host id without one) is never provably dead,
// even when machine and boot id match (containers sharing the host's
// /etc/machine-id and kernel).
func TestLivenessPIDNamespace(t *testing.T) {
	me, err := CurrentProcessLiveness()
	if err != nil {
		t.Skipf("no /proc here: %v", err) // liveness is Linux-only
	}
	machineID, ns, ok := strings.Cut(me.HostID, "/pidns:")
	if !ok || machineID == "" || ns == "" || strings.ContainsAny(ns, "[]:") {
		t.Fatalf("host id %q is not <machine id>/pidns:<inode>", me.HostID)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := me
	dead.PID = cmd.Process.Pid
	claimant := LeaseOwner{OwnerID: "c", IncarnationID: "1", Liveness: me}
	if !(LeaseOwner{Liveness: dead}).IsDefinitelyDeadFor(claimant) {
		t.Fatalf("exited pid %d in this namespace is not dead", dead.PID)
	}
	for name, host := range map[string]string{
		"another pid namespace":      machineID + "/pidns:1",
		"no namespace (old records)": machineID,
	} {
		h, c := dead, me
		h.HostID, c.HostID = host, host
		if (LeaseOwner{Liveness: h}).IsDefinitelyDeadFor(LeaseOwner{Liveness: c}) {
			t.Errorf("%s: holder pid %d judged dead by a claimant with the same host id %q", name, h.PID, host)
		}
		if (LeaseOwner{Liveness: h}).IsDefinitelyDeadFor(claimant) {
			t.Errorf("%s: holder pid %d (host id %q) judged dead from this namespace", name, h.PID, host)
		}
	}
}
