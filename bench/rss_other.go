//go:build !linux

package bench

// readRSS is not implemented on this OS: memory is reported as 0.
func readRSS(pid int) (int64, bool) { return 0, false }
