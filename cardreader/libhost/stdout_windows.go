package libhost

import (
	"os"

	"golang.org/x/sys/windows"
)

// ProtectStdout returns a file for the protocol that is the process's stdout, and
// makes the standard output handle stderr's: vendor libraries print to stdout, and
// what they print must not land in the middle of a frame.
func ProtectStdout() (*os.File, error) {
	out, err := windows.GetStdHandle(windows.STD_OUTPUT_HANDLE)
	if err != nil {
		return nil, err
	}
	errH, err := windows.GetStdHandle(windows.STD_ERROR_HANDLE)
	if err != nil {
		return nil, err
	}
	var dup windows.Handle
	p := windows.CurrentProcess()
	if err := windows.DuplicateHandle(p, out, p, &dup, 0, false, windows.DUPLICATE_SAME_ACCESS); err != nil {
		return nil, err
	}
	if err := windows.SetStdHandle(windows.STD_OUTPUT_HANDLE, errH); err != nil {
		_ = windows.CloseHandle(dup)
		return nil, err
	}
	return os.NewFile(uintptr(dup), "protocol"), nil
}
