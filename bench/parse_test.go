package bench

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestParseVmRSS(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"Name:\tsettle-agent\nVmPeak:\t  90000 kB\nVmRSS:\t   16384 kB\nRssAnon:\t 8000 kB\n", 16384 << 10, true},
		{"VmRSS: 1 kB", 1024, true},
		{"VmRSS:\t0 kB\n", 0, true},
		{"Name: x\n", 0, false},
		{"VmRSS: 12 MB\n", 0, false},
		{"VmRSS: -5 kB\n", 0, false},
		{"VmRSS: twelve kB\n", 0, false},
		{"VmRSS:\n", 0, false},
		{"", 0, false},
	} {
		got, ok := parseVmRSS([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("parseVmRSS(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestParseServerTiming(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"platform;dur=12.5", 12.5, true},
		{"platform;dur=0.000", 0, true},
		{"db;dur=3, platform;desc=\"provincial\";dur=7", 7, true},
		{" Platform ; DUR = 4 ", 4, true},
		{`platform;dur="2.5"`, 2.5, true},
		{"platform", 0, false},
		{"platform;dur=", 0, false},
		{"platform;dur=-1", 0, false},
		{"platform;dur=NaN", 0, false},
		{"platform;dur=abc", 0, false},
		{"db;dur=3", 0, false},
		{"", 0, false},
	} {
		got, ok := parseServerTiming(c.in, "platform")
		if got != c.want || ok != c.ok {
			t.Errorf("parseServerTiming(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func FuzzParseVmRSS(f *testing.F) {
	f.Add([]byte("Name:\tsettle-agent\nVmRSS:\t   16384 kB\n"))
	f.Add([]byte("VmRSS: 9223372036854775807 kB\n"))
	f.Add([]byte("VmRSS:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := parseVmRSS(data)
		if !ok {
			if got != 0 {
				t.Fatalf("parseVmRSS(%q) = %d, false; want 0 when not ok", data, got)
			}
			return
		}
		if got < 0 || got%1024 != 0 {
			t.Fatalf("parseVmRSS(%q) = %d; want a non-negative whole number of KiB", data, got)
		}
		again, ok := parseVmRSS(fmt.Appendf(nil, "VmRSS:\t%d kB\n", got>>10))
		if !ok || again != got {
			t.Fatalf("round trip of %d: got %d, %v", got, again, ok)
		}
	})
}

func FuzzParseServerTiming(f *testing.F) {
	f.Add("platform;dur=12.5")
	f.Add("db;dur=3, platform;desc=\"x\";dur=7")
	f.Add("platform;dur=1e308")
	f.Add("platform;;;dur==")
	f.Fuzz(func(t *testing.T, header string) {
		got, ok := parseServerTiming(header, "platform")
		if !ok {
			if got != 0 {
				t.Fatalf("parseServerTiming(%q) = %v, false; want 0 when not ok", header, got)
			}
			return
		}
		if got < 0 || math.IsNaN(got) || math.IsInf(got, 0) {
			t.Fatalf("parseServerTiming(%q) = %v; want a finite non-negative duration", header, got)
		}
		again, ok := parseServerTiming(fmt.Sprintf("platform;dur=%v", got), "platform")
		if !ok || again != got {
			t.Fatalf("round trip of %v: got %v, %v", got, again, ok)
		}
	})
}

func TestParseStatCPU(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"4242 (settle-agent) S 1 4242 4242 0 -1 4194560 5000 0 0 0 731 122 0 0 20 0 9 0 100 0 0\n", 853 * clockTick, true},
		{"7 (a b) c)) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0\n", 11 * clockTick, true},
		{"7 (short) R 1 2 3\n", 0, false},
		{"7 settle-agent R 1 7 7 0 -1 0 0 0 0 0 5 6\n", 0, false},
		{"7 (x) R 1 7 7 0 -1 0 0 0 0 0 -5 6 0\n", 0, false},
	}
	for _, c := range cases {
		got, ok := parseStatCPU([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("parseStatCPU(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func FuzzParseStatCPU(f *testing.F) {
	f.Add([]byte("4242 (settle-agent) S 1 4242 4242 0 -1 4194560 5000 0 0 0 731 122 0 0 20 0 9 0 100 0 0\n"))
	f.Add([]byte("1 ()) R 1 1 1 0 -1 0 0 0 0 0 99999999999999999999 1 0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := parseStatCPU(data)
		if !ok {
			if got != 0 {
				t.Fatalf("parseStatCPU(%q) = %v, false; want 0 when not ok", data, got)
			}
			return
		}
		if got < 0 || got%clockTick != 0 {
			t.Fatalf("parseStatCPU(%q) = %v; want a non-negative whole number of clock ticks", data, got)
		}
	})
}

func TestParseLoadAvg(t *testing.T) {
	for in, want := range map[string]float64{"0.52 0.58 0.59 1/467 12345\n": 0.52, "17.19 7.36 2.96 9/900 1\n": 17.19} {
		if got, ok := parseLoadAvg([]byte(in)); !ok || got != want {
			t.Errorf("parseLoadAvg(%q) = %v, %v; want %v, true", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "x 1 2", "-1 0 0", "NaN 1 1", "+Inf 1 1"} {
		if got, ok := parseLoadAvg([]byte(in)); ok {
			t.Errorf("parseLoadAvg(%q) = %v, true; want not ok", in, got)
		}
	}
}

func FuzzParseLoadAvg(f *testing.F) {
	f.Add([]byte("0.52 0.58 0.59 1/467 12345\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := parseLoadAvg(data)
		if ok && (got < 0 || math.IsNaN(got) || math.IsInf(got, 0)) || !ok && got != 0 {
			t.Fatalf("parseLoadAvg(%q) = %v, %v; want a finite non-negative figure, or 0 and not ok", data, got, ok)
		}
	})
}
