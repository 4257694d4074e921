package installer

import (
	"regexp"
	"runtime/debug"
	"testing"
)

func TestVersionLine(t *testing.T) {
	got := versionLine("v1.2.0", "0a1b2c3", "go1.26.8", "windows", "amd64")
	if want := "settle-agent v1.2.0 (commit 0a1b2c3) go1.26.8 windows/amd64"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
	re := regexp.MustCompile(`^settle-agent \S+ \(commit \S+\) go\S+ \w+/\w+$`)
	if line := VersionLine(); !re.MatchString(line) {
		t.Errorf("VersionLine() = %q; want it to match %s", line, re)
	}
}

func TestBuildCommit(t *testing.T) {
	info := func(settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) { return &debug.BuildInfo{Settings: settings}, true }
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "fcebd3a0123456789abcdef0123456789abcdef0"}
	cases := []struct {
		name, commit string
		read         func() (*debug.BuildInfo, bool)
		want         string
	}{
		{"Ldflags", "abc1234", info(rev), "abc1234"},
		{"VCS", "", info(rev), "fcebd3a01234"},
		{"Dirty", "", info(rev, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "fcebd3a01234-dirty"},
		{"NoVCS", "", info(), "unknown"},
		{"NoBuildInfo", "", func() (*debug.BuildInfo, bool) { return nil, false }, "unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := buildCommit(c.commit, c.read); got != c.want {
				t.Errorf("got %q; want %q", got, c.want)
			}
		})
	}
}
