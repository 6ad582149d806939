//go:build !unix

package demo

import (
	"fmt"
	"os"
	"runtime"
)

// errNoSignals is why the demo does not run here: it injects crashes with
// SIGKILL and stalls with SIGSTOP/SIGCONT, and a stall has no counterpart
// on this platform. (Owner liveness, which the sweep needs to prove a
// crashed worker dead, reads /proc and is unavailable here too.)
var errNoSignals = fmt.Errorf("demo needs a Unix system: it injects faults with SIGKILL and SIGSTOP/SIGCONT, which %s does not have", runtime.GOOS)

// signalsSupported refuses: see errNoSignals. runDemo checks it before
// opening the database.
func signalsSupported() error { return errNoSignals }

func crash(p *os.Process) error  { return errNoSignals }
func stop(p *os.Process) error   { return errNoSignals }
func resume(p *os.Process) error { return errNoSignals }
