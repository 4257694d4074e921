//go:build !unix

package sim

import "time"

// processCPU is not measured here; the benchmarks then report calls/s only.
func processCPU() time.Duration { return 0 }
