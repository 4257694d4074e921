package bench

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
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

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on every Linux
// architecture Go supports).
const clockTick = 10 * time.Millisecond

// maxTicks bounds the CPU time read (a century), so that it fits a time.Duration.
const maxTicks = 100 * 365 * 24 * 3600 * int64(time.Second/clockTick)

// parseStatCPU reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat line;
// the command name (field 2, in parentheses) may hold spaces, so fields are counted
// after its closing parenthesis.
func parseStatCPU(data []byte) (time.Duration, bool) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(data[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil || utime < 0 || stime < 0 || utime+stime > maxTicks {
		return 0, false
	}
	return time.Duration(utime+stime) * clockTick, true
}

// parseLoadAvg reads the first figure of /proc/loadavg ("0.52 0.58 0.59 1/467 12345").
func parseLoadAvg(data []byte) (float64, bool) {
	f := bytes.Fields(data)
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(f[0]), 64)
	if err != nil || !(v >= 0) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}
