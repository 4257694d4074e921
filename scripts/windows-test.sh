#!/usr/bin/env bash
# The Windows build, run: builds settle-agent.exe and every package's test binary for
# windows/amd64, runs `demo --exit` and each test binary under Wine 10, and prints one
# line per package (ok / FAIL / skip).
#
# Wine: Debian 12's Wine 8.0 cannot start a Go program since Go 1.22 (no ProcessPrng);
# Wine 10 can. This script makes a Debian 13 ("trixie") root with Wine 10 from the
# Debian archive this machine already uses (debootstrap; nothing else is downloaded),
# the same way as shared/tools/wine-trixie.sh. It needs root, about 3 minutes and 3.3 GB
# the first time; the root is kept (WINE_ROOT, default /var/cache/settle-agent/trixie)
# and later runs take only the build and the tests. 64-bit only: a kernel without
# 32-bit support cannot run the windows/386 reader-host.
#
#   scripts/windows-test.sh              # set up the root when missing, build, run
#   scripts/windows-test.sh --no-setup   # skip (exit 0, saying why) when the root is missing
#   scripts/windows-test.sh setup        # only set up the root
#   scripts/windows-test.sh teardown     # unmount what the root mounted
#   PKGS="./queue ./hisadapter" scripts/windows-test.sh   # some packages only
#   SHORT=1 scripts/windows-test.sh      # every package in -short mode (what CI runs)
#   JOBS=1 scripts/windows-test.sh       # one package at a time (default 3)
#
# Exit status: 0 when the demo and every package passed, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${WINE_ROOT:-/var/cache/settle-agent/trixie}
W=/tmp/settle-win # inside the root
PKG_TIMEOUT=${PKG_TIMEOUT:-600}
SHORT=${SHORT:-0} # 1: -test.short (the chaos, kill and long simulation tests skip)
JOBS=${JOBS:-3}   # packages tested at a time

unmount() {
  for m in "$R/sys" "$R/proc"; do mountpoint -q "$m" && umount "$m"; done
  if mountpoint -q "$R/dev"; then umount -R "$R/dev"; fi
  return 0
}

setup() {
  [ "$(id -u)" = 0 ] || { echo "windows-test: setting up the Wine root needs root" >&2; return 1; }
  local mirror
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  command -v debootstrap >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; }
  mkdir -p "$(dirname "$R")"
  [ -x "$R/usr/bin/apt-get" ] || debootstrap --variant=minbase --include=ca-certificates trixie "$R" "$mirror"
  mounts
  cp /etc/resolv.conf "$R/etc/resolv.conf"
  printf '127.0.0.1 localhost\n::1 localhost\n127.0.1.1 %s\n' "$(hostname)" >"$R/etc/hosts"
  if [ ! -x "$R/usr/lib/wine/wine64" ]; then
    chroot "$R" bash -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wine wine64'
  fi
  # the 64-bit loader directly: /usr/bin/wine prefers the i386 loader
  cat >"$R/usr/local/bin/w" <<'EOW'
#!/bin/sh
export WINEPREFIX=${WINEPREFIX:-/tmp/wineprefix} WINEARCH=win64 WINELOADER=/usr/lib/wine/wine64
export WINEDEBUG=${WINEDEBUG:--all} DISPLAY=
mkdir -p /tmp/xdg && chmod 700 /tmp/xdg; export XDG_RUNTIME_DIR=/tmp/xdg
exec /usr/lib/wine/wine64 "$@"
EOW
  chmod +x "$R/usr/local/bin/w"
  if [ ! -d "$R/tmp/wineprefix" ]; then
    chroot "$R" w wineboot --init
    chroot "$R" env WINEPREFIX=/tmp/wineprefix /usr/lib/wine/wineserver -w
  fi
}

mounts() {
  mountpoint -q "$R/proc" || mount -t proc proc "$R/proc"
  mountpoint -q "$R/dev" || { mount --rbind /dev "$R/dev"; mount --make-rslave "$R/dev"; }
  mountpoint -q "$R/sys" || mount -t sysfs sys "$R/sys"
}

ready() { [ -x "$R/usr/lib/wine/wine64" ] && [ -d "$R/tmp/wineprefix" ] && [ -x "$R/usr/local/bin/w" ]; }

case "${1:-}" in
teardown) unmount; exit 0 ;;
setup) setup; echo "windows-test: Wine root ready in $R"; exit 0 ;;
--no-setup)
  if [ "$(id -u)" != 0 ]; then
    echo "windows-test: skipped: running the Wine root needs root (chroot)"
    exit 0
  fi
  if ! ready; then
    echo "windows-test: skipped: no Wine root in $R (run scripts/windows-test.sh setup as root, ~3 minutes)"
    exit 0
  fi
  ;;
"") ready || setup ;;
*) echo "usage: $0 [--no-setup|setup|teardown]" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "windows-test: running under the Wine root needs root (chroot)" >&2; exit 1; }
mounts
# One run at a time: the runs share the root's folder and its one wineserver (which a
# run stops when it ends).
exec 9>"$R/tmp/settle-win.lock"
flock 9

# Build: the program, and one test binary per package that has tests on Windows.
rm -rf "$R$W" && mkdir -p "$R$W/bin" "$R$W/src"
export GOOS=windows GOARCH=amd64 CGO_ENABLED=0
go build -o "$R$W/bin/settle-agent.exe" ./cmd/settle-agent
pkgs=$(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ${PKGS:-./...})
module=$(go list -m)
# the sources beside the binaries: a test runs in its package's folder (testdata/)
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - 2>/dev/null | tar -xf - -C "$R$W/src"
# One go command builds every test binary (in parallel), each named after its folder;
# the root package shares its folder's name with cmd/settle-agent, so it is left to the
# second pass, which builds one by one (with its own log) whatever the first did not.
mkdir -p "$R$W/build"
go test -c -o "$R$W/build/" $(for p in $pkgs; do [ "$p" = "$module" ] || echo "$p"; done) >"$R$W/bin/build.log" 2>&1 || true
for p in $pkgs; do
  rel=${p#"$module"}; rel=${rel#/}; name=$(echo "${rel:-root}" | tr / _)
  if [ -n "$rel" ] && [ -f "$R$W/build/${p##*/}.test.exe" ]; then
    mv "$R$W/build/${p##*/}.test.exe" "$R$W/bin/$name.test.exe"; continue
  fi
  go test -c -o "$R$W/bin/$name.test.exe" "$p" >"$R$W/bin/$name.build.log" 2>&1 || echo "build failed" >>"$R$W/bin/$name.build.log"
done
unset GOOS GOARCH CGO_ENABLED

run() { # run DIR TIMEOUT ARGS...: one Windows program in DIR (inside the root)
  local dir=$1 t=$2; shift 2
  timeout -k 10 "$t" chroot "$R" bash -c 'cd "$1" && shift && exec w "$@"' _ "$dir" "$@"
}
# one server for every run; what it prints of the objects a killed process left is noise
chroot "$R" env WINEPREFIX=/tmp/wineprefix /usr/lib/wine/wineserver -p 60 2>/dev/null
trap 'chroot "$R" env WINEPREFIX=/tmp/wineprefix /usr/lib/wine/wineserver -k 2>/dev/null || true' EXIT

failed=0
mkdir -p "$R$W/demo"
start=$SECONDS
if run "$W/demo" 300 "$W/bin/settle-agent.exe" demo --exit --listen 127.0.0.1:0 >"$R$W/demo.log" 2>&1; then
  printf 'ok    %-50s %ds\n' "demo --exit" $((SECONDS - start))
else
  printf 'FAIL  %-50s %ds (log: %s)\n' "demo --exit" $((SECONDS - start)) "$R$W/demo.log"; failed=1
  tail -20 "$R$W/demo.log" | sed 's/^/      /'
fi
# test PKG: runs one package's test binary and prints its line (and, failing, its
# failures, at once: a line is never split by another package's). Failure leaves
# NAME.failed beside the log.
test_pkg() {
  local p=$1 rel name exe log start short=() skipped out
  rel=${p#"$module"}; rel=${rel#/}; name=$(echo "${rel:-root}" | tr / _)
  exe="$W/bin/$name.test.exe" log="$R$W/bin/$name.log"
  if [ ! -f "$R$exe" ]; then
    if grep -q "no test files" "$R$W/bin/$name.build.log"; then
      printf 'skip  %-50s no tests on Windows\n' "$p"; return 0
    fi
    printf 'FAIL  %-50s does not build for Windows (log: %s)\n' "$p" "$R$W/bin/$name.build.log"
    touch "$R$W/bin/$name.failed"; return 0
  fi
  start=$SECONDS
  [ "$SHORT" = 1 ] && short=(-test.short)
  if run "$W/src/${rel:-.}" "$PKG_TIMEOUT" "$exe" -test.timeout=$((PKG_TIMEOUT - 30))s -test.v "${short[@]}" >"$log" 2>&1; then
    # the tests skipped for Wine or Windows, by name (a -short skip or a helper process is no news)
    skipped=$(awk '/--- SKIP: / { if (why ~ /[Ww]ine|[Ww]indows|Linux only/) printf "%s ", $3 } { why = $0 }' "$log")
    printf 'ok    %-50s %ds%s\n' "$p" $((SECONDS - start)) "${skipped:+, skipped on Windows or Wine: ${skipped% }}"
  else
    touch "$R$W/bin/$name.failed"
    out=$(printf 'FAIL  %-50s %ds (log: %s)\n' "$p" $((SECONDS - start)) "$log"
      grep -E -- '^(--- FAIL|panic:|FAIL)|_test\.go:[0-9]+:' "$log" | head -20 | sed 's/^/      /' || true)
    printf '%s\n' "$out"
  fi
}
# JOBS packages at a time: a test under Wine mostly waits (process starts, the
# network, polls), so a few side by side take little longer than one.
for p in $pkgs; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  test_pkg "$p" &
done
wait
if compgen -G "$R$W/bin/*.failed" >/dev/null; then failed=1; fi
exit $failed
