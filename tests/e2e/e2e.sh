#!/bin/bash
# e2e.sh — provisiond's end-to-end test on the libvirt lab (lab/lab): two
# real VMs (TCG when KVM cannot run guests) go through the whole cycle
#   enroll -> verifying -> inspecting (SKU matched) -> cleaning -> available
#   -> allocation -> deploying -> active (booted from disk) -> released
#   -> cleaning -> available
# both through the lab's Redfish BMC (lab/redfish-bmc), the ramdisk agent and
# the lab image: the first VM boots the agent through real iPXE and dnsmasq
# (Redfish + PXE), the second from a per-boot ISO its BMC fetches and mounts as
# a virtual CD (Redfish virtual media: no iPXE, no boot script). It asserts on
# provisiond's API and on evidence outside it: the serial consoles (iPXE or
# ISOLINUX, PROVISIOND-AGENT start, PROVISIOND-BOOTED allocation=ID), the BMC
# hook logs (boot device, media, power) and the Redfish BMC's operation log
# (insert, boot once from Cd, eject, every boot), that no media stays inserted
# and the one-time ISO URL is dead after the eject, prints each phase's duration
# and the figures (floor vs allocation -> ready), and always runs `lab down`,
# then checks that nothing of the lab is left. (IPMI through the lab: lab demo,
# and tests/integration/bmc against ipmi_sim.)
#
# Own lab (does not touch a lab made by `lab up`): LAB_NAME provlab-e2e,
# LAB_DIR /var/lib/provisiond-lab-e2e, API 127.0.0.1:7590, BMCs from UDP
# 6331, lab network 10.78.0.0/24 inside netns provlab-e2e.
# Exit 77 (skipped) when not root or the lab's tools are missing.
# E2E_BUDGET_S (default 900) bounds the whole run.
set -uo pipefail

# shellcheck source=e2e-lib.sh
. "$(dirname "$(readlink -f "$0")")/e2e-lib.sh"

need_tools virsh libvirtd virtlogd qemu-system-x86_64 ipmi_sim dnsmasq ip nft jq xorriso curl
need_built provisiond/provisiond lab/redfish-bmc/redfish-bmc
[ -r /usr/lib/ISOLINUX/isolinux.bin ] || { echo "SKIP: isolinux not installed (scripts/deps)"; exit 77; }

lab_env provlab-e2e /var/lib/provisiond-lab-e2e 127.0.0.1:7590 6331 10.78.0

# On a failure (fail): the lab's timeline and each VM's BMC hook log too.
report_lab() {
	echo "--- timeline"
	"$LAB" timeline
}
report_vm() {
	echo "--- $1 bmc.log (tail)"
	tail -15 "$1/bmc.log"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	phase "lab down"
	"$LAB" down || { echo "FAIL: lab down failed" >&2; rc=1; }
	phase ""
	# lab down leaves nothing behind.
	[ -e "/run/netns/$LAB_NAME" ] && { echo "FAIL: netns $LAB_NAME left" >&2; rc=1; }
	nft list table inet "provisiond_lab_${LAB_NAME//-/_}" >/dev/null 2>&1 && { echo "FAIL: nft table left" >&2; rc=1; }
	lab_dir_left && { echo "FAIL: $LAB_DIR left" >&2; rc=1; }
	if virsh -q -c qemu:///system version >/dev/null 2>&1 &&
		[ -n "$(virsh -q -c qemu:///system list --all --name 2>/dev/null | grep "^$LAB_NAME-")" ]; then
		echo "FAIL: domains $LAB_NAME-* left" >&2
		rc=1
	fi
	print_phases e2e
	[ $rc -eq 0 ] && [ $FAILED -eq 0 ] && echo "e2e: PASS" || echo "e2e: FAIL"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A VM the accelerator cannot run (paused) or a failed BMC action is a failure.
check_faults() {
	local f
	for f in "$LAB_DIR"/vms/*/fault; do
		[ -s "$f" ] && fail "BMC fault of $(basename "$(dirname "$f")"): $(cat "$f")"
	done
	return 0
}

# The states a machine went through (event "to" values), oldest first, as one line.
states_of() {
	ctl -o json machine events "$1" | jq -r '[.items[] | select(.from != .to) | .to] | join(" ")'
}

# expect_order FILE SINCE PATTERN...: lines matching each pattern appear in
# this order in FILE (lines "EPOCH ..."), after SINCE.
expect_order() {
	local f=$1 since=$2
	shift 2
	awk -v s="$since" '$1 >= s' "$f" | awk -v pats="$(printf '%s\n' "$@")" '
		BEGIN { n = split(pats, p, "\n"); i = 1 }
		i <= n && $0 ~ p[i] { i++ }
		END { exit !(i > n) }'
}

vmdir() { echo "$LAB_DIR/vms/$1"; }

# The agent's boot of machine $1 (after time $2) as its console and BMC hook saw
# it: PXE for M1, virtual media for M2. $3: what follows the power-on in the
# hook log ("hook set power 0" when cleaning ends, "" otherwise).
expect_agent_boot() {
	local m=$1 since=$2 after=$3 d
	d=$(vmdir "$m")
	if [ "$m" = "$M1" ]; then
		expect_order "$d/markers.log" "$since" 'iPXE' 'PROVISIOND-AGENT start' ||
			fail "$m: serial console lacks iPXE -> PROVISIOND-AGENT start"
		expect_order "$d/bmc.log" "$since" 'hook set boot pxe' 'hook set (power|reset) 1' \
			'worker on: boot pxe' ${after:+"$after"} ||
			fail "$m: BMC hook did not see boot pxe, power on${after:+, $after}"
	else
		expect_order "$d/markers.log" "$since" 'ISOLINUX' 'PROVISIOND-AGENT start' ||
			fail "$m: serial console lacks ISOLINUX -> PROVISIOND-AGENT start"
		expect_order "$d/bmc.log" "$since" 'hook set media http' 'media inserted' \
			'hook set boot cdrom' 'hook set (power|reset) 1' 'worker on: boot cdrom' \
			'hook set media none' 'media ejected' ${after:+"$after"} ||
			fail "$m: BMC hook did not see media insert, boot cdrom, power on, eject${after:+, $after}"
	fi
}

# Virtual media in M2's Redfish operation log since $1 (epoch seconds): every
# insert followed by the start from Cd it was for and an eject; nothing left
# inserted; the BMC's URLs no longer served; no iPXE and no boot script, ever.
expect_vmedia_log() {
	local since=$1 d ops url code
	d=$(vmdir "$M2")
	ops=$(jq -r --argjson s "$since" 'select(.ts >= $s) | select(.op == "media_insert" or
		.op == "media_eject" or .op == "boot") | .op + (if .op == "boot" then ":" + .device else "" end)' \
		"$d/redfish.log" | tr '\n' ' ')
	[[ "$ops" == "media_insert boot:Cd media_eject "* ]] ||
		fail "$M2: Redfish log since $since is '$ops', expected media_insert boot:Cd media_eject ..."
	[[ "$ops" != *"boot:Pxe"* ]] || fail "$M2: booted from Pxe: $ops"
	[ "$(jq -s '[.[] | select(.op == "media_insert")] | length' "$d/redfish.log")" = \
		"$(jq -s '[.[] | select(.op == "media_eject" and .image != null)] | length' "$d/redfish.log")" ] ||
		fail "$M2: inserts and ejects do not pair up: $(jq -c 'select(.op | startswith("media"))' "$d/redfish.log")"
	[ -e "$d/media.iso" ] && fail "$M2: the VM's CD drive still holds media.iso"
	[ -z "$(ls -A "$LAB_DIR/provisiond/vmedia" 2>/dev/null)" ] || fail "ISOs left: $(ls "$LAB_DIR/provisiond/vmedia")"
	for url in $(jq -r 'select(.op == "media_insert") | .image' "$d/redfish.log"); do
		code=$("$LAB" exec curl -s -o /dev/null -w '%{http_code}' "$url")
		[ "$code" = 404 ] || fail "$M2: the ejected ISO's URL answers $code, expected 404"
	done
	! grep -q 'iPXE' "$d/markers.log" || fail "$M2: iPXE ran on the virtual-media machine"
	! grep '"boot script"' "$LAB_DIR/provisiond/provisiond.log" | grep -qi "$(. "$d/vm.env" && echo "$VM_MAC")" ||
		fail "$M2: a boot script was served for its MAC"
}

# ---------------------------------------------------------------------------
say "e2e on the lab: $LAB_NAME in $LAB_DIR, source $SRC, build $BUILD"
"$LAB" down >/dev/null 2>&1 # a leftover of an interrupted run

phase "lab up (2 x lab.small: redfish + pxe, redfish + vmedia)"
"$LAB" up --machines 2 --sku lab.small --bmc redfish,vmedia --no-wait || fail "lab up failed"
. "$LAB_DIR/lab.env"
M1=$LAB_NAME-01 M2=$LAB_NAME-02 # M1 boots the agent by PXE, M2 from virtual media

# Isolation: no lab address in the root namespace; the guard is in place;
# nothing forwards inside the lab namespace.
[ -n "$(ip -o addr show | grep -F " $LAB_NET.")" ] && fail "a lab address exists in the root namespace"
nft list table inet "provisiond_lab_${LAB_NAME//-/_}" >/dev/null || fail "no root-namespace guard table"
[ "$(ip netns exec "$LAB_NAME" sysctl -n net.ipv4.ip_forward)" = 0 ] || fail "forwarding on in the lab netns"
[ -n "$(ip netns exec "$LAB_NAME" ip -o addr show labbr0 | grep -F "$LAB_NET.1/24")" ] || fail "no lab bridge address in the netns"

phase "enroll -> available"
wait_all available 2 600
for m in $M1 $M2; do
	st=$(states_of "$m")
	[[ " $st " == *" enrolled verifying inspecting cleaning available "* ]] ||
		fail "$m went through '$st', expected enrolled verifying inspecting cleaning available"
	sku=$(ctl -o json machine show "$m" | jq -r .sku)
	[ "$sku" = lab.small ] || fail "$m matched SKU '$sku', expected lab.small"
	d=$(vmdir "$m")
	expect_agent_boot "$m" 0 'hook set power 0'
	expect_order "$d/markers.log" 0 'PROVISIOND-AGENT start' 'agent: wipe' ||
		fail "$m: serial console lacks PROVISIOND-AGENT start -> wipe"
	say "$m: $st; SKU $sku; serial and BMC evidence present"
done
expect_vmedia_log 0
say "$M2: virtual media inserted, booted once from Cd, ejected; its URL is dead; no iPXE"

phase "allocate 2 -> ready"
# lab up copied the lab image into the store ([boot] images_dir); its path
# is relative to the store
ctl image register --name lab-image --path lab-image.raw >/dev/null || fail "image register failed"
SVC=$(ctl -o json token create --role service --owner e2e --name e2e | jq -r .token)
[ -n "$SVC" ] && [ "$SVC" != null ] || fail "no service token"
T_ALLOC=$EPOCHREALTIME
ALLOC=$(svc -o json allocation create --sku lab.small --count 2 --image lab-image --name e2e --wait 600) ||
	fail "allocation did not become ready: $ALLOC"
ID=$(jq -r .id <<<"$ALLOC")
[ "$(jq -r .state <<<"$ALLOC")" = ready ] || fail "allocation $ID is $(jq -r .state <<<"$ALLOC")"
[ "$(jq -r '.machines | length' <<<"$ALLOC")" = 2 ] || fail "allocation $ID has $(jq -r '.machines | length' <<<"$ALLOC") machines"
say "allocation $ID ready after $(dt "$T_ALLOC" "$EPOCHREALTIME") s"
for m in $M1 $M2; do
	js=$(ctl -o json machine show "$m")
	[ "$(jq -r .state <<<"$js")" = active ] || fail "$m is $(jq -r .state <<<"$js"), expected active"
	mid=$(jq -r .id <<<"$js")
	d=$(vmdir "$m")
	expect_order "$d/markers.log" "$T_ALLOC" 'PROVISIOND-AGENT start' 'agent: write_image' \
		'SYSLINUX' "PROVISIOND-BOOTED allocation=$ID machine=$mid" ||
		fail "$m: serial console lacks agent -> write_image -> disk boot -> PROVISIOND-BOOTED allocation=$ID machine=$mid"
	expect_agent_boot "$m" "$T_ALLOC" ''
	expect_order "$d/bmc.log" "$T_ALLOC" 'worker on: boot (pxe|cdrom)' 'hook set boot default' \
		'hook set reset 1' 'worker on: boot disk' ||
		fail "$m: BMC hook did not see the agent boot, then boot disk + power cycle"
	say "$m: active; $([ "$m" = "$M1" ] && echo PXE || echo 'virtual media') -> agent -> image written -> boot device disk -> power cycle -> PROVISIOND-BOOTED allocation=$ID"
done
expect_vmedia_log "$T_ALLOC"
"$LAB" timeline --since "$T_ALLOC" "$M1"

phase "release -> available"
T_REL=$EPOCHREALTIME
REL=$(svc -o json allocation release "$ID" --wait 600) || fail "release did not finish: $REL"
[ "$(jq -r .state <<<"$REL")" = released ] || fail "allocation $ID is $(jq -r .state <<<"$REL") after release"
wait_all available 2 300
for m in $M1 $M2; do
	st=$(states_of "$m")
	[[ " $st " == *" deploying active releasing cleaning available "* ]] ||
		fail "$m went through '$st', expected ... deploying active releasing cleaning available"
	d=$(vmdir "$m")
	expect_order "$d/markers.log" "$T_REL" 'PROVISIOND-AGENT start' 'agent: wipe' ||
		fail "$m: no cleaning boot (agent start, wipe) on the serial console after release"
	expect_agent_boot "$m" "$T_REL" 'hook set power 0'
done
expect_vmedia_log "$T_REL"
say "both machines cleaned back to available (M2 through virtual media again)"
phase ""

echo
"$LAB" figures "$M1" "$ID"
echo
exit 0
