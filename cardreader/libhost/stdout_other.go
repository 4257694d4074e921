//go:build !linux && !windows

package libhost

import "os"

// ProtectStdout returns os.Stdout: libraries are not loaded on this platform.
func ProtectStdout() (*os.File, error) { return os.Stdout, nil }
