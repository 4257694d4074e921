package bench

import (
	"fmt"
	"os"
	"time"
)

// readCPU returns the CPU time (user + system) process pid has used so far, from
// /proc/<pid>/stat; ok is false when it cannot be read.
func readCPU(pid int) (time.Duration, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	return parseStatCPU(data)
}

// readLoadAvg returns the machine's load average over the last minute (/proc/loadavg).
func readLoadAvg() (float64, bool) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	return parseLoadAvg(data)
}
