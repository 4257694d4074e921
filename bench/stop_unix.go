//go:build !windows

package bench

import (
	"os"
	"syscall"
)

// terminate asks the process to stop as the service manager would (SIGTERM).
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
