package installer

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version and Commit are set at build time:
//
//	go build -ldflags "-X github.com/settle-agent/settle-agent/installer.Version=v1.2.0 \
//	  -X github.com/settle-agent/settle-agent/installer.Commit=0a1b2c3"
//
// scripts/release.sh does this. An empty Commit falls back to the vcs.revision
// the Go toolchain stamps into the binary.
var (
	Version = "dev"
	Commit  = ""
)

// BuildCommit returns Commit, else the build's vcs.revision (with "-dirty" when
// the tree had changes), else "unknown".
func BuildCommit() string {
	return buildCommit(Commit, debug.ReadBuildInfo)
}

func buildCommit(commit string, read func() (*debug.BuildInfo, bool)) string {
	if commit != "" {
		return commit
	}
	info, ok := read()
	if !ok {
		return "unknown"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "unknown"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return rev + dirty
}

// VersionLine is what `settle-agent version` prints:
// "settle-agent VERSION (commit C) go1.x os/arch".
func VersionLine() string {
	return versionLine(Version, BuildCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func versionLine(version, commit, goVersion, goos, goarch string) string {
	if version == "" {
		version = "dev"
	}
	return fmt.Sprintf("settle-agent %s (commit %s) %s %s/%s", version, commit, goVersion, goos, goarch)
}
