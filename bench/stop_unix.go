//go:build !windows

package bench

import (
	"os"
	"syscall"
)

// terminate asks the process to stop as the service manager would (SIGTERM).
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// terminated is the result of a process stopped by terminate: its own exit status.
func terminated(err error) error { return err }
