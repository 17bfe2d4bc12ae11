#!/bin/bash
# Serial console capture through the libvirt driver: a diskless, NIC-less domain
# (SeaBIOS under TCG, 64 MiB) whose serial port is a pty, defined in the running
# libvirtd, enrolled with --bmc-driver libvirt; provisiond powers it on, and
# captures its console through virDomainOpenConsole while it is inspecting:
# SeaBIOS's "No bootable device" comes back on GET /v1/machines/{id}/console.
# A second domain whose serial port is a file is "not captured" (not retried).
# Uses the libvirtd answering on qemu:///system, or starts one the way the
# lab does (`lab libvirtd`, as root; stopped again at the end): CI's fresh
# machine has none. Skipped (77) only without virsh or, not root, without a
# libvirtd. The domains are undefined at the end.
# Usage: api_console_libvirt.sh BUILD_DIR SOURCE_DIR
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
here="$src/tests/integration/bmc"
uri=qemu:///system
command -v virsh >/dev/null || { echo "SKIP: virsh is not installed"; exit 77; }
own_libvirtd=0
if ! virsh -q -c "$uri" version >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: no libvirtd answers on $uri (and not root to start one)"; exit 77; }
	own_libvirtd=1
fi
# shellcheck source=console_lib.sh
. "$here/console_lib.sh"
console_setup api-console-libvirt
dom=pvd-console-test-$$
# the lab's settings for its own libvirtd: a directory and names of this test
lab() { LAB_DIR="$work/lab" LAB_NAME="pvdcon$(($$ % 10000))" LAB_BUILD="$build" "$src/lab/lab" "$@"; }
console_cleanup_extra() {
	for d in "$dom" "$dom-file"; do
		virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1 || true
		virsh -q -c "$uri" undefine "$d" >/dev/null 2>&1 || true
	done
	[ "$own_libvirtd" = 0 ] || lab down >"$work/lab-down.out" 2>&1 || true
}
if [ "$own_libvirtd" = 1 ]; then
	lab libvirtd >"$work/lab-libvirtd.out" 2>&1 || fail "lab libvirtd: $(cat "$work/lab-libvirtd.out")"
fi
domain_xml() { # name serial-xml
	cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <description>provisiond test api_console_libvirt.sh (removed at its end)</description>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
    <bios useserial='yes' rebootTimeout='1000'/>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <devices>
    $2
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
XML
}
domain_xml "$dom" "<serial type='pty'><target port='0'/></serial>" >"$work/dom.xml"
domain_xml "$dom-file" "<serial type='file'><source path='$work/file-serial.log'/><target port='0'/></serial>" >"$work/dom-file.xml"
virsh -q -c "$uri" define "$work/dom.xml" >/dev/null || fail "virsh define $dom"
virsh -q -c "$uri" define "$work/dom-file.xml" >/dev/null || fail "virsh define $dom-file"

start_provisiond "$(printf '[lifecycle]\ninspect_timeout_s = 900')"
"$ctl" machine enroll --name lv1 --mac 52:54:00:c0:04:01 --bmc-driver libvirt --bmc-address "$uri" \
	--bmc-option "domain=$dom" >/dev/null
wait_captured
ok "console of $dom open through virDomainOpenConsole"
wait_console lv1 "No bootable device" || fail "no output of $dom: $got"
[ "$(api "/v1/machines/lv1/console")" = 200 ] && jq -e '.capturing == true' "$work/body" >/dev/null ||
	fail "console: $(cat "$work/body")"
ok "the domain's console came through libvirt's stream: $(echo "$got" | grep -m1 -o 'No bootable device[^.]*')"

"$ctl" machine enroll --name lv2 --mac 52:54:00:c0:04:02 --bmc-driver libvirt --bmc-address "$uri" \
	--bmc-option "domain=$dom-file" >/dev/null
id2=$("$ctl" -o json machine show lv2 | jq -r .id)
for _ in $(seq 100); do grep -q "\"console: not captured\".*$id2" "$work/log" && break; sleep 0.2; done
line=$(grep "\"console: not captured\".*$id2" "$work/log") || fail "lv2: no 'not captured'"
echo "$line" | grep -q 'no console of type pty or unix' || fail "lv2: $line"
ok "a domain with a file serial port is not captured: $(echo "$line" | jq -r .error)"

"$ctl" machine maintenance on lv1 --reason "console test" >/dev/null
for _ in $(seq 75); do [ "$(metric provisiond_console_sessions)" = 0 ] && break; sleep 0.2; done
[ "$(metric provisiond_console_sessions)" = 0 ] || fail "capture still running after maintenance"
ok "maintenance stopped the capture"
echo "console capture through libvirt: all passed"
