#!/bin/bash
# Serial console capture from a real VM behind the lab's Redfish BMC, wired as the
# lab wires a VM with a Redfish BMC: QEMU serves the VM's serial port on TCP
# 127.0.0.1:PORT (start_vm in console_lib.sh), the BMC (lab/redfish-bmc
# --console-upstream) relays it as its SerialConsole.Telnet service, and
# provisiond's redfish driver captures it while the machine is inspecting. The
# VM (SeaBIOS, no disk, a reboot every second) starts after the capture, as in
# the lab: the BMC connects to QEMU within a second of it listening.
# Usage: api_console_redfish_vm.sh BUILD_DIR SOURCE_DIR. Skipped (77) without QEMU.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
here="$src/tests/integration/bmc"
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 is not installed"; exit 77; }
# shellcheck source=console_lib.sh
. "$here/console_lib.sh"
console_setup api-console-redfish-vm

port=$(free_port)
"$build/lab/redfish-bmc/redfish-bmc" --simulate vm1 --password s3cret --log "$work/oplog" \
	--port-file "$work/bmc.port" --console-upstream "127.0.0.1:$port" >"$work/bmc.out" 2>&1 &
pids="$pids $!"
for _ in $(seq 100); do [ -s "$work/bmc.port" ] && break; sleep 0.05; done
[ -s "$work/bmc.port" ] || fail "redfish-bmc did not start: $(cat "$work/bmc.out")"

start_provisiond "$(printf '[lifecycle]\ninspect_timeout_s = 900')"
printf s3cret >"$work/pw"
"$ctl" machine enroll --name vm1 --mac 52:54:00:c0:03:01 --bmc-driver redfish \
	--bmc-address "http://127.0.0.1:$(cat "$work/bmc.port")" --bmc-user admin \
	--bmc-password-file "$work/pw" >/dev/null
wait_captured
ok "telnet console open before the VM starts"

start_vm "$port"
wait_console vm1 "No bootable device" ||
	fail "no VM output through the Redfish console; serial.log has: $(tr -d '\r' <"$work/serial.log" | tail -3); BMC: $(tail -3 "$work/oplog")"
grep -q "No bootable device" "$work/serial.log" || fail "the serial log lacks the VM's output"
grep -q '"op":"console_upstream_up"' "$work/oplog" || fail "the BMC did not log the line"
ok "the VM's console came through QEMU's socket, the BMC's telnet relay and the redfish driver: $(echo "$got" | grep -m1 -o 'No bootable device[^.]*')"
echo "console capture from a VM behind the Redfish BMC: all passed"
