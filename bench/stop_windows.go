package bench

import (
	"errors"
	"os"
	"os/exec"
)

// terminate stops the process; Windows has no SIGTERM for console children, so it is killed.
func terminate(p *os.Process) error { return p.Kill() }

// terminated is the result of a process stopped by terminate: killed, it exits with
// status 1 (TerminateProcess), which is the stop asked for, not a failure.
func terminated(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return nil
	}
	return err
}
