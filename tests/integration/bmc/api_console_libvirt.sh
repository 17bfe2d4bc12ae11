#!/bin/bash
# Serial console capture through the libvirt driver: a diskless, NIC-less domain
# (SeaBIOS under TCG, 64 MiB) whose serial port is a pty, defined in the running
# libvirtd, enrolled with --bmc-driver libvirt; provisiond powers it on, and
# captures its console through virDomainOpenConsole while it is inspecting:
# SeaBIOS's "No bootable device" comes back on GET /v1/machines/{id}/console.
# A second domain whose serial port is a file is "not captured" (not retried).
# Needs a libvirtd answering on qemu:///system that can run QEMU (`lab up` starts
# one; so does `libvirtd -d` where the libvirt-qemu user exists); skipped (77)
# without one. The domains are undefined at the end.
# Usage: api_console_libvirt.sh BUILD_DIR SOURCE_DIR
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
here="$src/tests/integration/bmc"
uri=qemu:///system
command -v virsh >/dev/null || { echo "SKIP: virsh is not installed"; exit 77; }
virsh -q -c "$uri" version >/dev/null 2>&1 || { echo "SKIP: no libvirtd answers on $uri"; exit 77; }
# shellcheck source=console_lib.sh
. "$here/console_lib.sh"
console_setup api-console-libvirt
dom=pvd-console-test-$$
console_cleanup_extra() {
	for d in "$dom" "$dom-file"; do
		virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1 || true
		virsh -q -c "$uri" undefine "$d" >/dev/null 2>&1 || true
	done
}
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
