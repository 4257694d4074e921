//go:build !linux

package bench

import "time"

// readCPU is not measured outside Linux (reported as 0).
func readCPU(int) (time.Duration, bool) { return 0, false }

// readLoadAvg is not measured outside Linux (reported as 0).
func readLoadAvg() (float64, bool) { return 0, false }
