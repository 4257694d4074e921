//go:build !linux && !windows

package installer

// freeBytes is not measured on this system.
func freeBytes(string) (uint64, error) { return 0, errFreeSpaceUnknown }
