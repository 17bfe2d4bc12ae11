#!/bin/bash
# Serial console capture from a real VM, wired as the lab wires it: QEMU serves
# the VM's serial port on TCP 127.0.0.1:PORT (a socket chardev listening without
# waiting, logged to a file, what libvirt's <serial type='tcp'> with <log> gives
# the lab's VMs), ipmi_sim connects to it (`sol "tcp:127.0.0.1:PORT"`), and
# provisiond captures it through libipmiconsole while the machine is inspecting.
# The VM is SeaBIOS with no disk, rebooting every second: its banner and "No
# bootable device" come back on GET /v1/machines/{id}/console.
# The SOL session is up before the VM starts, as in the lab (the engine powers
# the machine on, then the capture starts): ipmi_sim reaches the new QEMU within
# about ten seconds.
# Usage: api_console_vm.sh BUILD_DIR SOURCE_DIR. Skipped (77) without ipmi_sim or QEMU.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
here="$src/tests/integration/bmc"
command -v ipmi_sim >/dev/null || { echo "SKIP: ipmi_sim (package openipmi) is not installed"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 is not installed"; exit 77; }
# shellcheck source=console_lib.sh
. "$here/console_lib.sh"
console_setup api-console-vm

d="$work/sim"
mkdir -p "$d/state"
port=$(free_port)
sed -e "s|@NAME@|vm|" -e "s|@PORT@|$port|" -e "s|@HOOK@|$here/chassis_hook.sh|" \
	-e "s|@DIR@|$d|" -e "s|@GUID@|$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')|" \
	"$here/sim.lan.conf.in" >"$d/sim.lan.conf"
echo "  sol \"tcp:127.0.0.1:$port\" 115200" >>"$d/sim.lan.conf"
cp "$here/sim.emu" "$d/sim.emu"
echo 0 >"$d/power"
(cd "$d" && exec setsid ipmi_sim -c sim.lan.conf -f sim.emu -s state -n >sim.out 2>&1) &
pids="$pids $!"
sleep 0.5

start_provisiond "$(printf '[lifecycle]\ninspect_timeout_s = 900')"
printf secret >"$work/pw"
"$ctl" machine enroll --name vm1 --mac 52:54:00:c0:01:01 --bmc-driver ipmi \
	--bmc-address "127.0.0.1:$port" --bmc-user admin --bmc-password-file "$work/pw" \
	--bmc-option workarounds=opensesspriv,solpayloadsize,solchannelsupport >/dev/null
wait_captured
ok "SOL session open before the VM starts"

# the VM: SeaBIOS on the serial port, no disk, a reboot every second
start_vm "$port"
wait_console vm1 "No bootable device" ||
	fail "no VM output through SOL; serial.log has: $(tr -d '\r' <"$work/serial.log" | tail -3)"
grep -q "No bootable device" "$work/serial.log" || fail "the serial log lacks the VM's output"
ok "the VM's console came through QEMU's socket, ipmi_sim's SOL and libipmiconsole: $(echo "$got" | grep -m1 -o 'No bootable device[^.]*')"
echo "console capture from a VM: all passed"
