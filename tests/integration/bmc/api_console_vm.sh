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
work=$(mktemp -d "${TMPDIR:-/tmp}/api-console-vm.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	tail -n 20 "$work/log" >&2 || true
	exit 1
}
ok() { echo "ok - $*"; }
free_port() { # free on UDP (the BMC) and TCP (the serial port)
	while :; do
		p=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
		ss -Hlun "sport = :$p" | grep -q . || ss -Hltn "sport = :$p" | grep -q . || { echo $p; return; }
	done
}

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

"$build/provisiond/provisiond" --init --db "$work/p.db" >/dev/null
printf '[lifecycle]\ninspect_timeout_s = 900\n' >"$work/p.ini"
"$build/provisiond/provisiond" --db "$work/p.db" --config "$work/p.ini" --listen 127.0.0.1:0 \
	--boot-listen 127.0.0.1:0 --ready-file "$work/ready" 2>"$work/log" &
pids="$pids $!"
for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
[ -s "$work/ready" ] || fail "provisiond did not start"
url="http://127.0.0.1:$(cut -d' ' -f1 "$work/ready")"
export PROVISIOND_URL="$url" PROVISIOND_TOKEN_FILE="$work/p.db.admin-token"
ctl="$build/provisiond/client/provisionctl"
printf secret >"$work/pw"
"$ctl" machine enroll --name vm1 --mac 52:54:00:c0:01:01 --bmc-driver ipmi \
	--bmc-address "127.0.0.1:$port" --bmc-user admin --bmc-password-file "$work/pw" \
	--bmc-option workarounds=opensesspriv,solpayloadsize,solchannelsupport >/dev/null
for _ in $(seq 150); do
	grep -q '"console: capture started"' "$work/log" && break
	sleep 0.2
done
grep -q '"console: capture started"' "$work/log" || fail "no capture started"
ok "SOL session open before the VM starts"

# the VM: SeaBIOS on the serial port, no disk, a reboot every second
timeout 120 qemu-system-x86_64 -accel tcg -m 64 -display none -nodefaults -machine graphics=off \
	-chardev "socket,id=s0,host=127.0.0.1,port=$port,server=on,wait=off,logfile=$work/serial.log,logappend=on" \
	-serial chardev:s0 -boot order=c,reboot-timeout=1000 >"$work/qemu.out" 2>&1 &
pids="$pids $!"
got=""
for _ in $(seq 90); do
	got=$("$ctl" machine console vm1 2>/dev/null || true)
	echo "$got" | grep -q "No bootable device" && break
	sleep 0.5
done
echo "$got" | grep -q "No bootable device" ||
	fail "no VM output through SOL; serial.log has: $(tr -d '\r' <"$work/serial.log" | tail -3)"
grep -q "No bootable device" "$work/serial.log" || fail "the serial log lacks the VM's output"
ok "the VM's console came through QEMU's socket, ipmi_sim's SOL and libipmiconsole: $(echo "$got" | grep -m1 -o 'No bootable device[^.]*')"
echo "console capture from a VM: all passed"
