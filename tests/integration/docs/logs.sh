#!/bin/sh
# The daemon's JSON log lines as docs/operations.md and docs/config.md say:
# at the default level (info) no "request" line per HTTP request; with
# [log] level = debug one per request; numeric fields are JSON numbers.
# Usage: logs.sh BUILD_DIR
set -eu
build=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/logs.XXXXXX")
pid=""
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; tail -n 20 "$work/log" >&2 || true; exit 1; }
ctl="$build/provisiond/client/provisionctl"

"$build/provisiond/provisiond" --init --db "$work/p.db" >/dev/null
# start LEVEL: runs the daemon with [log] level = LEVEL, log in $work/log
start() {
	printf '[log]\nlevel = %s\n[boot]\nimages_dir = %s\n' "$1" "$work" >"$work/p.ini"
	rm -f "$work/ready"
	: >"$work/log"
	"$build/provisiond/provisiond" --config "$work/p.ini" --db "$work/p.db" \
		--listen 127.0.0.1:0 --boot-listen "" --ready-file "$work/ready" 2>"$work/log" &
	pid=$!
	n=0
	while [ ! -s "$work/ready" ]; do
		n=$((n + 1)); [ $n -lt 100 ] || fail "provisiond did not start"; sleep 0.1
	done
	PROVISIOND_URL="http://127.0.0.1:$(cut -d' ' -f1 "$work/ready")"
	export PROVISIOND_URL PROVISIOND_TOKEN_FILE="$work/p.db.admin-token"
}
stop() { kill "$pid"; wait "$pid" || fail "exit status $?"; pid=""; }

start info
"$ctl" --request-id logs-info machine list >/dev/null
"$ctl" machine show no-such-machine 2>/dev/null && fail "a missing machine was found"
stop
jq -e . "$work/log" >/dev/null || fail "a log line is not JSON"
grep -q '"msg":"request"' "$work/log" && fail "request lines at info"
echo "ok - no request lines at level info"
# (jq -s: jq 1.6's -e judges only the last input line)
jq -s -e 'map(select(.msg == "provisiond ready")) | length == 1 and
	(.[0].port | type == "number" and . > 0)' "$work/log" >/dev/null ||
	fail "port of 'provisiond ready' is not a number"
echo "ok - port is a JSON number"

start debug
"$ctl" --request-id logs-debug machine list >/dev/null
stop
line=$(jq -c 'select(.msg == "request" and .request_id == "logs-debug")' "$work/log")
[ -n "$line" ] || fail "no request line at level debug"
[ "$(echo "$line" | wc -l)" = 1 ] || fail "several request lines: $line"
echo "$line" | jq -e '.level == "debug" and .status == 200 and (.ms | type == "number")' \
	>/dev/null || fail "request line: $line"
echo "ok - one request line at debug, status and ms numbers: $line"
