package bench

import (
	"fmt"
	"os"
)

// readRSS returns the resident set of process pid in bytes (VmRSS of /proc/pid/status).
func readRSS(pid int) (int64, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	return parseVmRSS(data)
}
