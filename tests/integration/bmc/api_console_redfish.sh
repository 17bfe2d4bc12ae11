#!/bin/bash
# Serial console capture through the redfish driver, against the lab's Redfish BMC
# (lab/redfish-bmc --simulate) relaying a serial line: socat plays the machine's
# serial port as QEMU serves it in the lab (a TCP service on loopback, fed marker
# lines by this test), the BMC relays it as a telnet service and advertises it as
# the system's SerialConsole.Telnet, and provisiond reads the system, connects to
# that port and captures the console while the machine is inspecting.
#   - markers come back through GET /v1/machines/{id}/console and provisionctl,
#     the telnet negotiation the BMC sends is not in the text, a 0xFF byte of the
#     line (IAC IAC on the wire) comes back as one byte (shown as U+FFFD)
#   - the Redfish session the open used is logged out again
#   - the serial line goes away and comes back (a VM powered off and on): the BMC
#     reconnects, the capture goes on in the same session
#   - a BMC that advertises no enabled console: "not captured", not retried
#   - maintenance stops the capture: the BMC sees the console closed
# Usage: api_console_redfish.sh BUILD_DIR SOURCE_DIR. Skipped (77) without socat.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
here="$src/tests/integration/bmc"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }
# shellcheck source=console_lib.sh
. "$here/console_lib.sh"
console_setup api-console-redfish
console_cleanup_extra() { exec 3>&- 2>/dev/null || true; }
rbmc="$build/lab/redfish-bmc/redfish-bmc"

# The serial line: socat serves on TCP what fd 3 writes into a FIFO (one client,
# as QEMU's socket chardev).
sport=$(free_port)
mkfifo "$work/feed"
exec 3<>"$work/feed"
serial_up() {
	socat -u "OPEN:$work/feed,rdonly" "TCP-LISTEN:$sport,bind=127.0.0.1,reuseaddr" 2>>"$work/socat.log" &
	serial_pid=$!
	pids="$pids $serial_pid"
	for _ in $(seq 50); do ss -Hltn "sport = :$sport" | grep -q . && return; sleep 0.1; done
	fail "socat does not listen on $sport"
}
serial_up

# two BMCs: one relaying the line, one without a console
start_bmc() { # name system [args...]
	local n=$1
	shift
	"$rbmc" --simulate "$@" --password s3cret --log "$work/$n.oplog" --port-file "$work/$n.port" \
		>"$work/$n.out" 2>&1 &
	pids="$pids $!"
	for _ in $(seq 100); do [ -s "$work/$n.port" ] && return; sleep 0.05; done
	fail "redfish-bmc $n did not start: $(cat "$work/$n.out")"
}
start_bmc b1 m1 --console-upstream "127.0.0.1:$sport"
start_bmc b2 m2
bmc1="http://127.0.0.1:$(cat "$work/b1.port")"
bmc2="http://127.0.0.1:$(cat "$work/b2.port")"
cport=$(curl -sf -u admin:s3cret "$bmc1/redfish/v1/Systems/m1" | jq .SerialConsole.Telnet.Port)
curl -sf -u admin:s3cret "$bmc2/redfish/v1/Systems/m2" | jq -e '.SerialConsole.Telnet.ServiceEnabled == false' >/dev/null ||
	fail "b2 advertises a console"
ok "b1 advertises SerialConsole.Telnet on port $cport; b2 advertises none enabled"

start_provisiond "[lifecycle]
inspect_timeout_s = 900
[bmc]
call_timeout_ms = 4000"
printf s3cret >"$work/pw"
enroll() { # name mac bmc
	"$ctl" machine enroll --name "$1" --mac "$2" --bmc-driver redfish --bmc-address "$3" \
		--bmc-user admin --bmc-password-file "$work/pw" >/dev/null
}
enroll m1 52:54:00:c0:02:01 "$bmc1"
wait_captured
id=$("$ctl" -o json machine show m1 | jq -r .id)
[ "$("$ctl" -o json machine show m1 | jq -r .state)" = inspecting ] || fail "m1 not inspecting"
for _ in $(seq 50); do grep -q '"op":"console_upstream_up"' "$work/b1.oplog" && break; sleep 0.1; done
grep -q '"op":"console_upstream_up"' "$work/b1.oplog" || fail "the BMC did not connect the line"

echo "MARKER-one" >&3
printf 'iac\377byte\n' >&3
wait_console m1 "iac.*byte" || fail "no marker through the Redfish console: $got"
[ "$(api "/v1/machines/$id/console")" = 200 ] || fail "console: $(cat "$work/body")"
jq -e '.start == 0 and .capturing == true and (.data | startswith("MARKER-one\niac\ufffdbyte\n"))' \
	"$work/body" >/dev/null || fail "first read: $(cat "$work/body")"
ok "markers came through the BMC's telnet console, negotiation removed, IAC IAC one byte: $(jq -c .data "$work/body")"

# the open's Redfish session was logged out again (provisiond's operations keep one)
created=$(grep -c '"op":"session_created"' "$work/b1.oplog" || true)
deleted=$(grep -c '"op":"session_deleted"' "$work/b1.oplog" || true)
[ "$deleted" -ge 1 ] && [ $((created - deleted)) -le 1 ] || fail "sessions: $created created, $deleted deleted"
ok "the console's Redfish session was logged out ($created created, $deleted deleted)"

# the line goes away (VM off) and comes back: the BMC reconnects, the session stays
kill "$serial_pid"
for _ in $(seq 50); do grep -q '"op":"console_upstream_down"' "$work/b1.oplog" && break; sleep 0.1; done
grep -q '"op":"console_upstream_down"' "$work/b1.oplog" || fail "the BMC did not see the line go"
serial_up
for _ in $(seq 50); do [ "$(grep -c '"op":"console_upstream_up"' "$work/b1.oplog")" -ge 2 ] && break; sleep 0.1; done
echo "MARKER-two" >&3
wait_console m1 "MARKER-two" || fail "no marker after the line came back: $got"
[ "$(grep -c '"console: capture started"' "$work/log")" = 1 ] || fail "the capture was reopened"
ok "the line went and came back; the BMC reconnected it within the same capture"

# a BMC without an enabled console: not captured, once
enroll m2 52:54:00:c0:02:02 "$bmc2"
id2=$("$ctl" -o json machine show m2 | jq -r .id)
for _ in $(seq 100); do grep -q "\"console: not captured\".*$id2" "$work/log" && break; sleep 0.2; done
line=$(grep "\"console: not captured\".*$id2" "$work/log") || fail "m2: no 'not captured'"
echo "$line" | grep -q 'no enabled SerialConsole.Telnet' || fail "m2: $line"
sleep 3
[ "$(grep -c "\"console: cannot open\".*$id2" "$work/log" || true)" = 0 ] || fail "m2 retried"
[ "$(metric provisiond_console_sessions)" = 1 ] || fail "sessions $(metric provisiond_console_sessions)"
ok "a system without an enabled telnet console is not captured: $(echo "$line" | jq -r .error)"

# maintenance stops the capture; the BMC sees the console closed
"$ctl" machine maintenance on m1 --reason "console test" >/dev/null
for _ in $(seq 75); do [ "$(metric provisiond_console_sessions)" = 0 ] && break; sleep 0.2; done
[ "$(metric provisiond_console_sessions)" = 0 ] || fail "capture still running after maintenance"
for _ in $(seq 50); do grep -q '"op":"console_close"' "$work/b1.oplog" && break; sleep 0.1; done
grep -q '"op":"console_close"' "$work/b1.oplog" || fail "the BMC did not see the console close"
[ "$(api "/v1/machines/$id/console")" = 200 ] && jq -e '.capturing == false and (.data | test("MARKER-two"))' \
	"$work/body" >/dev/null || fail "after stop: $(cat "$work/body")"
grep -q s3cret "$work/log" && fail "password in the log"
ok "maintenance stopped the capture; the BMC closed the console; the buffer is still served"
echo "console capture through Redfish SerialConsole.Telnet: all passed"
