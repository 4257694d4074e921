//go:build !windows

package doctor

// isAddrInUse reports a port taken by another socket (beyond EADDRINUSE, which
// errors.Is already finds on this OS).
func isAddrInUse(error) bool { return false }
