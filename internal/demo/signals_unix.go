//go:build unix

package demo

import (
	"os"
	"syscall"
)

// signalsSupported reports whether this platform can inject the demo's
// faults: it can.
func signalsSupported() error { return nil }

// crash kills a worker outright (SIGKILL): no deferred code, no goodbye.
func crash(p *os.Process) error { return p.Signal(syscall.SIGKILL) }

// stop freezes a worker (SIGSTOP), so its lease lapses while it still holds it.
func stop(p *os.Process) error { return p.Signal(syscall.SIGSTOP) }

// resume thaws a frozen worker (SIGCONT).
func resume(p *os.Process) error { return p.Signal(syscall.SIGCONT) }
