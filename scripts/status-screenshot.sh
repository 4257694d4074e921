#!/bin/sh
# status-screenshot.sh takes docs/status-page.png: it runs the demo, waits for its
# story to end, photographs the status page with headless Chromium, and stops the demo.
#
# Usage: scripts/status-screenshot.sh [--install] [OUTPUT.png]
#   --install   apt-get install -y chromium fonts-wqy-microhei first (needs root);
#               nothing is installed otherwise
#   OUTPUT.png  default docs/status-page.png
# Env: CHROMIUM=path to the browser (default: chromium, chromium-browser or google-chrome)
set -eu

cd "$(dirname "$0")/.."
out=docs/status-page.png
install=no
for a in "$@"; do
	case $a in
	--install) install=yes ;;
	-h | --help)
		sed -n '2,9p' "$0"
		exit 0
		;;
	-*)
		echo "unknown option $a" >&2
		exit 2
		;;
	*) out=$a ;;
	esac
done

if [ "$install" = yes ]; then
	apt-get install -y chromium fonts-wqy-microhei # a CJK font: bill reasons are in Chinese
fi
browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
	for b in chromium chromium-browser google-chrome; do
		if command -v "$b" >/dev/null 2>&1; then
			browser=$b
			break
		fi
	done
fi
if [ -z "$browser" ]; then
	echo "no chromium found: run with --install (as root) or set CHROMIUM" >&2
	exit 1
fi

work=$(mktemp -d)
demo_pid=
# stop_demo ends the demo's process group (go run and the program it built): Ctrl-C
# first, then, if it is still there after 10 s, SIGKILL.
stop_demo() {
	[ -n "$demo_pid" ] || return 0
	kill -s INT -- "-$demo_pid" 2>/dev/null || kill -s INT "$demo_pid" 2>/dev/null || true
	n=0
	while kill -s 0 -- "-$demo_pid" 2>/dev/null && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -s KILL -- "-$demo_pid" 2>/dev/null || true
	wait "$demo_pid" 2>/dev/null || true
	demo_pid=
}
cleanup() {
	stop_demo
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "starting the demo (log: $work/demo.out)"
# setsid: the demo gets its own process group, so stopping it stops `go run`'s child too.
setsid go run ./cmd/settle-agent demo >"$work/demo.out" 2>&1 </dev/null &
demo_pid=$!

# The story ends with "Status page: URL/ ... Press Ctrl-C to stop."; wait for it (at most
# 5 minutes; the first go run also compiles).
url=
i=0
while [ $i -lt 3000 ]; do
	if ! kill -0 "$demo_pid" 2>/dev/null; then
		echo "the demo stopped early:" >&2
		cat "$work/demo.out" >&2
		exit 1
	fi
	url=$(sed -n 's/^Status page: \(http[^ ]*\).*Press Ctrl-C.*/\1/p' "$work/demo.out" | head -n 1)
	[ -n "$url" ] && break
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$url" ]; then
	echo "the demo's story did not end within 5 minutes:" >&2
	tail -n 20 "$work/demo.out" >&2
	exit 1
fi
if grep -q "The story stopped early" "$work/demo.out"; then
	echo "warning: $(grep "The story stopped early" "$work/demo.out")" >&2
fi

# Poll the page itself until it answers and shows the bills the story made.
i=0
until curl -fsS "$url" -o "$work/page.html" 2>/dev/null && ! grep -q -e "no bills yet" -e "暂无账单" "$work/page.html"; do
	i=$((i + 1))
	if [ $i -ge 300 ]; then
		echo "the status page at $url never showed bills" >&2
		exit 1
	fi
	sleep 0.1
done

echo "taking the screenshot of $url"
mkdir -p "$(dirname "$out")"
case $out in
/*) abs=$out ;;
*) abs=$PWD/$out ;;
esac
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$work/profile" --hide-scrollbars \
	--screenshot="$abs" --window-size=1280,${SHOT_HEIGHT:-1400} "$url" >"$work/chromium.out" 2>&1 || {
	cat "$work/chromium.out" >&2
	exit 1
}
[ -s "$out" ] || {
	echo "chromium wrote no $out" >&2
	cat "$work/chromium.out" >&2
	exit 1
}
stop_demo
echo "wrote $out"
