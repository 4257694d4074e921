package doctor

import (
	"errors"

	"golang.org/x/sys/windows"
)

// isAddrInUse reports a port taken by another socket: WSAEADDRINUSE, and
// WSAEACCES, which Windows answers for a port another program holds exclusively.
func isAddrInUse(err error) bool {
	return errors.Is(err, windows.WSAEADDRINUSE) || errors.Is(err, windows.WSAEACCES)
}
