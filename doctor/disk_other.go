//go:build !linux && !windows

package doctor

import "errors"

// errFreeSpaceUnknown: this OS has no free-space check.
var errFreeSpaceUnknown = errors.New("free space cannot be measured on this system")

// freeBytes is not measured on this system.
func freeBytes(string) (uint64, error) { return 0, errFreeSpaceUnknown }
