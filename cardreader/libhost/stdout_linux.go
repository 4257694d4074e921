package libhost

import (
	"os"

	"golang.org/x/sys/unix"
)

// ProtectStdout returns a file for the protocol that is the process's stdout, and
// points file descriptor 1 at stderr: vendor libraries print to stdout, and what they
// print must not land in the middle of a frame.
func ProtectStdout() (*os.File, error) {
	fd, err := unix.Dup(1)
	if err != nil {
		return nil, err
	}
	if err := unix.Dup3(2, 1, 0); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "protocol"), nil
}
