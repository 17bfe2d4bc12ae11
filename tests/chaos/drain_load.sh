#!/bin/sh
# A drain under load ends cleanly: provisiond on loopback, wrk opening a new
# connection per request to both listeners, then SIGTERM, DRAINS times
# (default 8). Each drain must exit 0 and, once it is over, both ports must
# refuse connections. The daemon runs with slow_epoll.so preloaded (its
# main thread's epoll_ctl DEL calls wait 20 ms), which turns a race between
# the draining thread and the HTTP server's threads into a near-certain
# crash instead of a rare one (CI saw it once: exit 134).
# Usage: drain_load.sh BUILD_DIR SOURCE_DIR SHIM
set -eu
build=$1
src=$2
shim=$3
command -v wrk >/dev/null || { echo "SKIP: wrk not installed"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/drain-load.XXXXXX")
cleanup() {
	[ -z "${pd_pid:-}" ] || kill_ours 9 "$pd_pid"
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	echo "--- provisiond log (tail)" >&2
	grep -v '"msg":"request"' "$work/log" | tail -n 20 >&2 || true
	exit 1
}
ok() { echo "ok - $*"; }
refused() { ! curl -s -o /dev/null --max-time 2 "$1/healthz"; }

# shellcheck source=tests/daemon_lib.sh
. "$src/tests/daemon_lib.sh"
"$build/provisiond/provisiond" --init --db "$work/p.db" >/dev/null
: >"$work/p.ini"
# a sanitizer build's runtime must come first; the shim is loaded after it
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"
export ASAN_OPTIONS
n=0
while [ $n -lt "${DRAINS:-8}" ]; do
	n=$((n + 1))
	LD_PRELOAD=$shim pd_start
	wrk -t1 -c16 -d1s -H 'Connection: close' "$api/healthz" >/dev/null 2>&1 &
	w1=$!
	wrk -t1 -c16 -d1s -H 'Connection: close' "$boot/healthz" >/dev/null 2>&1 &
	w2=$!
	sleep 0.5
	kill -TERM "$pd_pid"
	rc=0
	wait "$pd_pid" || rc=$?
	pd_pid=""
	[ $rc -eq 0 ] || fail "drain $n under load: provisiond exited $rc"
	refused "$api" || fail "drain $n: the API port still accepts after the drain"
	refused "$boot" || fail "drain $n: the boot port still accepts after the drain"
	wait "$w1" "$w2" || true
done
ok "$n drains under load, each exit 0, both ports refused afterwards"
