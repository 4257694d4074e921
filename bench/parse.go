package bench

import (
	"bytes"
	"strconv"
	"strings"
)

// parseVmRSS reads the VmRSS line of a /proc/<pid>/status file ("VmRSS:  12345 kB")
// and returns the resident set in bytes.
func parseVmRSS(status []byte) (int64, bool) { return parseStatusKB(status, "VmRSS") }

// parseStatusKB reads one "Name:  N kB" line of a /proc/<pid>/status file, in bytes.
func parseStatusKB(status []byte, name string) (int64, bool) {
	prefix := []byte(name + ":")
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || !bytes.EqualFold(f[1], []byte("kB")) {
			return 0, false
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}

// parseServerTiming finds metric name in a Server-Timing header value
// (`platform;dur=12.5, db;dur=3`, RFC 8673 syntax) and returns its dur in milliseconds.
func parseServerTiming(header, name string) (float64, bool) {
	for metric := range strings.SplitSeq(header, ",") {
		parts := strings.Split(metric, ";")
		if !strings.EqualFold(strings.TrimSpace(parts[0]), name) {
			continue
		}
		for _, p := range parts[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "dur") {
				continue
			}
			v = strings.Trim(strings.TrimSpace(v), `"`)
			d, err := strconv.ParseFloat(v, 64)
			if err != nil || d < 0 || d != d || d > 1e9 {
				return 0, false
			}
			return d, true
		}
		return 0, false
	}
	return 0, false
}
