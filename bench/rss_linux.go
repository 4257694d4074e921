package bench

import (
	"fmt"
	"os"
)

// readRSS returns the resident set of process pid in bytes (VmRSS of /proc/pid/status)
// and its anonymous part (RssAnon: heap and stacks, without the mapped store file).
func readRSS(pid int) (rss, anon int64, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, false
	}
	rss, ok = parseVmRSS(data)
	anon, _ = parseStatusKB(data, "RssAnon")
	return rss, anon, ok
}
