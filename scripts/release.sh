#!/bin/sh
# release.sh builds the release binaries into dist/:
#   dist/settle-agent-windows-amd64.exe, dist/settle-agent-windows-386.exe (the
#   32-bit reader-host for vendors' 32-bit reader DLLs, docs/readers.md),
#   dist/settle-agent-linux-amd64, dist/settle-agent-linux-arm64 and dist/SHA256SUMS.
# Static (CGO_ENABLED=0), reproducible paths (-trimpath), version from
# `git describe --tags --always --dirty` and the commit stamped into
# installer.Version / installer.Commit (see `settle-agent version`).
#
# Usage: scripts/release.sh [VERSION]   (default: git describe)
# Env:   PLATFORMS="linux/amd64 ..." to build a subset; DIST=dir for another output folder.
set -eu

cd "$(dirname "$0")/.."
pkg=github.com/settle-agent/settle-agent/installer
dist=${DIST:-dist}
platforms=${PLATFORMS:-"windows/amd64 windows/386 linux/amd64 linux/arm64"}

if [ $# -gt 0 ]; then
	version=$1
else
	version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
fi
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	commit="$commit-dirty"
fi

rm -f "$dist"/settle-agent-* "$dist"/SHA256SUMS
mkdir -p "$dist"
for p in $platforms; do
	os=${p%/*}
	arch=${p#*/}
	out="$dist/settle-agent-$os-$arch"
	[ "$os" = windows ] && out="$out.exe"
	echo "building $out ($version, commit $commit)"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
		-ldflags "-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit" \
		-o "$out" ./cmd/settle-agent
done

(
	cd "$dist"
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum settle-agent-* >SHA256SUMS
	else
		shasum -a 256 settle-agent-* >SHA256SUMS
	fi
)
echo "wrote $dist/SHA256SUMS:"
cat "$dist/SHA256SUMS"
