#!/bin/bash
# Serial console capture through real Serial-over-LAN: an OpenIPMI ipmi_sim BMC
# whose SOL is connected (its `sol` line) to a pty that this test writes marker
# lines into, playing the machine's serial port; provisiond captures it with
# libipmiconsole while the machine waits in `inspecting`, and serves it on
# GET /v1/machines/{id}/console and `provisionctl machine console`.
#   - markers written to the serial port come back through the route and the CLI
#   - offsets: start/end, after= returns only newer bytes, wait= long-polls and
#     answers as soon as bytes come, an empty wait ends at its deadline
#   - the ring keeps [console] buffer_kib: older bytes dropped, truncated=true
#   - text: invalid UTF-8 -> U+FFFD, escape sequences and CR removed
#   - 400 naming after/wait, 403 for a service token, 404 for an unknown machine
#   - --follow prints what comes later; metrics count sessions and bytes;
#     [console] max_sessions bounds the sessions; maintenance stops the capture
# Usage: api_console.sh BUILD_DIR SOURCE_DIR. Skipped (77) without ipmi_sim or socat.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
here="$src/tests/integration/bmc"
command -v ipmi_sim >/dev/null || { echo "SKIP: ipmi_sim (package openipmi) is not installed"; exit 77; }
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }
# shellcheck source=console_lib.sh
. "$here/console_lib.sh"
console_setup api-console
console_cleanup_extra() { exec 3>&- 2>/dev/null || true; }

# The serial port: socat joins a pty (its link is the sim's SOL device) to a FIFO
# that fd 3 keeps open, so every `>&3` reaches the port and socat never sees EOF.
d="$work/sim"
mkdir -p "$d/state"
mkfifo "$d/feed"
exec 3<>"$d/feed"
socat -u "OPEN:$d/feed,rdonly" "PTY,link=$d/ttyS0,rawer" 2>"$d/socat.log" &
pids="$pids $!"
for _ in $(seq 50); do [ -e "$d/ttyS0" ] && break; sleep 0.1; done
[ -e "$d/ttyS0" ] || fail "socat made no pty"
port=$(free_port)
sed -e "s|@NAME@|console|" -e "s|@PORT@|$port|" -e "s|@HOOK@|$here/chassis_hook.sh|" \
	-e "s|@DIR@|$d|" -e "s|@GUID@|$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')|" \
	"$here/sim.lan.conf.in" >"$d/sim.lan.conf"
echo "  sol \"$d/ttyS0\" 115200" >>"$d/sim.lan.conf"
cp "$here/sim.emu" "$d/sim.emu"
echo 0 >"$d/power"
(cd "$d" && exec setsid ipmi_sim -c sim.lan.conf -f sim.emu -s state -n >sim.out 2>&1) &
pids="$pids $!"
sleep 0.5

start_provisiond "[lifecycle]
inspect_timeout_s = 900
[bmc]
call_timeout_ms = 4000
[console]
buffer_kib = 1
max_sessions = 1"

printf secret >"$work/pw"
"$ctl" machine enroll --name m1 --mac 52:54:00:c0:00:01 --bmc-driver ipmi \
	--bmc-address "127.0.0.1:$port" --bmc-user admin --bmc-password-file "$work/pw" \
	--bmc-option workarounds=opensesspriv,solpayloadsize,solchannelsupport >/dev/null
for _ in $(seq 150); do
	[ "$(metric provisiond_console_sessions)" = 1 ] && break
	sleep 0.2
done
[ "$(metric provisiond_console_sessions)" = 1 ] || fail "no capture session started"
id=$("$ctl" -o json machine show m1 | jq -r .id)
[ "$("$ctl" -o json machine show m1 | jq -r .state)" = inspecting ] || fail "m1 not inspecting"

# markers written to the serial port come back (the SOL session may still be
# coming up: write until the route shows one)
seen=""
for i in $(seq 40); do
	echo "MARKER-one $i" >&3
	sleep 0.25
	[ "$(api "/v1/machines/$id/console")" = 200 ] || fail "console: $(cat "$work/body")"
	if jq -e '.data | test("MARKER-one")' "$work/body" >/dev/null; then seen=$i; break; fi
done
[ -n "$seen" ] || fail "no marker through SOL: $(cat "$work/body"); $(grep console "$work/log" | tail -3)"
jq -e ".machine == \"$id\" and .start == 0 and .end > 0 and .truncated == false and .capturing == true" \
	"$work/body" >/dev/null || fail "first read: $(cat "$work/body")"
[ "$(api "/v1/machines/m1/console")" = 200 ] || fail "by name: $(cat "$work/body")"
ok "markers written to the serial port came through ipmi_sim's SOL and libipmiconsole (after $seen writes)"

# after= and wait=: a long-poll answers as soon as new bytes come, with them only
sleep 1
api "/v1/machines/$id/console" >/dev/null
end=$(jq .end "$work/body")
t0=$(date +%s%N)
(api "/v1/machines/$id/console?after=$end&wait=15" >"$work/code2"; cp "$work/body" "$work/body2") &
lp=$!
sleep 1
echo "MARKER-two" >&3
wait $lp
el=$((($(date +%s%N) - t0) / 1000000))
[ "$(cat "$work/code2")" = 200 ] || fail "long-poll: $(cat "$work/body2")"
jq -e ".start == $end and .end > $end and (.data | test(\"MARKER-two\")) and (.data | test(\"MARKER-one\") | not)" \
	"$work/body2" >/dev/null || fail "after=$end: $(cat "$work/body2")"
[ $el -lt 10000 ] || fail "long-poll answered after $el ms, not when the bytes came"
end2=$(jq .end "$work/body2")
t0=$(date +%s%N)
[ "$(api "/v1/machines/$id/console?after=$end2&wait=1")" = 200 ] || fail "empty wait"
el=$((($(date +%s%N) - t0) / 1000000))
jq -e ".start == $end2 and .end == $end2 and .data == \"\"" "$work/body" >/dev/null ||
	fail "empty wait: $(cat "$work/body")"
[ $el -ge 900 ] || fail "wait=1 answered after $el ms"
ok "after=$end returned only the newer bytes; wait= answered when they came (${el} ms for an empty wait=1)"

# the text: invalid UTF-8 replaced, escape sequences and CR removed
printf 'bad\377byte \033[1;31mRED\033[0m\r\n' >&3
sleep 1.5
api "/v1/machines/$id/console?after=$end2" >/dev/null
jq -e '.data | test("bad\ufffdbyte RED\n")' "$work/body" >/dev/null ||
	fail "sanitised text: $(cat "$work/body")"
ok "invalid bytes became U+FFFD, escapes and CR removed: $(jq -c .data "$work/body")"

# more than buffer_kib: the oldest bytes are dropped
for i in $(seq 30); do printf 'fill-%02d-......................................................\n' "$i" >&3; done
echo "MARKER-three" >&3
sleep 2
[ "$(api "/v1/machines/$id/console?after=0")" = 200 ] || fail "after=0"
jq -e '.truncated == true and .start > 0 and (.end - .start) == 1024 and (.data | test("MARKER-three"))' \
	"$work/body" >/dev/null || fail "ring: $(jq -c '{start: .start, end: .end, truncated}' "$work/body")"
api "/v1/machines/$id/console" >/dev/null
jq -e '.truncated == true and (.data | test("MARKER-one") | not)' "$work/body" >/dev/null ||
	fail "no after: $(jq -c '{start: .start, end: .end, truncated}' "$work/body")"
ok "buffer_kib = 1 keeps the last 1024 bytes: $(jq -c '{start: .start, end: .end, truncated}' "$work/body")"

# bad input, roles, unknown machine
[ "$(api "/v1/machines/$id/console?after=abc")" = 400 ] && [ "$(jq -r .error.field "$work/body")" = after ] ||
	fail "after=abc: $(cat "$work/body")"
[ "$(api "/v1/machines/$id/console?wait=99999")" = 400 ] && [ "$(jq -r .error.field "$work/body")" = wait ] ||
	fail "wait=99999: $(cat "$work/body")"
[ "$(api "/v1/machines/$id/console?afterr=1")" = 400 ] || fail "unknown parameter: $(cat "$work/body")"
svc=$(curl -sS -H "Authorization: Bearer $admin" -d '{"role":"service","owner":"search"}' "$url/v1/tokens" | jq -r .token)
[ "$(TOKEN=$svc api "/v1/machines/$id/console")" = 403 ] || fail "service token: $(cat "$work/body")"
[ "$(TOKEN=nope api "/v1/machines/$id/console")" = 401 ] || fail "bad token: $(cat "$work/body")"
[ "$(api "/v1/machines/no-such-machine/console")" = 404 ] || fail "unknown machine: $(cat "$work/body")"
ok "400 naming after and wait, 403 for a service token, 401 without a token, 404 for an unknown machine"

# the CLI: the buffer, then --follow prints what comes later
"$ctl" machine console m1 >"$work/cli" || fail "provisionctl machine console"
grep -q MARKER-three "$work/cli" && grep -q "older output dropped" "$work/cli" || fail "cli: $(cat "$work/cli")"
"$ctl" machine console m1 --follow >"$work/follow" 2>&1 &
fpid=$!
pids="$pids $fpid"
sleep 1
echo "MARKER-four" >&3
for _ in $(seq 50); do grep -q MARKER-four "$work/follow" && break; sleep 0.2; done
grep -q MARKER-four "$work/follow" || fail "--follow did not print MARKER-four: $(tail -3 "$work/follow")"
# (a background job of a script ignores SIGINT, so the test ends it with TERM)
kill -TERM $fpid
wait $fpid 2>/dev/null || true
kill -0 $fpid 2>/dev/null && fail "--follow did not end"
"$ctl" machine console no-such-machine >/dev/null 2>&1 && fail "cli: unknown machine succeeded"
ok "provisionctl machine console printed the buffer; --follow printed a later marker"

# metrics, and the bound: a second machine (fake BMC, silent console) is refused
bytes=$(metric provisiond_console_bytes_total)
[ "${bytes:-0}" -gt 1024 ] || fail "bytes_total $bytes"
"$ctl" machine enroll --name f1 --mac 52:54:00:c0:00:02 --bmc-driver fake \
	--bmc-option sku=lab.small --bmc-option delay_ms=300 >/dev/null
for _ in $(seq 100); do
	[ "$(metric provisiond_console_sessions_refused_total)" != 0 ] && break
	sleep 0.2
done
[ "$(metric provisiond_console_sessions_refused_total)" != 0 ] || fail "max_sessions = 1 did not refuse f1"
grep -q 'max_sessions reached' "$work/log" || fail "refusal not logged"
[ "$(metric provisiond_console_sessions)" = 1 ] || fail "sessions $(metric provisiond_console_sessions)"
ok "metrics: $bytes bytes captured; max_sessions = 1 refused the second machine (logged, counted)"

# maintenance takes m1 out of inspecting: the capture stops, the buffer stays
"$ctl" machine maintenance on m1 --reason "console test" >/dev/null
for _ in $(seq 75); do [ "$(metric provisiond_console_sessions)" = 0 ] && break; sleep 0.2; done
[ "$(metric provisiond_console_sessions)" = 0 ] || fail "capture still running after maintenance"
grep -q '"console: capture stopped"' "$work/log" || fail "stop not logged"
[ "$(api "/v1/machines/$id/console")" = 200 ] && jq -e '.capturing == false and (.data | test("MARKER-four"))' \
	"$work/body" >/dev/null || fail "after stop: $(cat "$work/body")"
[ "$(metric 'provisiond_console_errors_total{stage="open"}')" = 0 ] || fail "open errors counted"
grep -q secret "$work/log" && fail "password in the log"
ok "maintenance stopped the capture; the buffer is still served"
echo "console capture through SOL: all passed"
