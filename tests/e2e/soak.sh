#!/bin/bash
# soak.sh — the short lab soak (ctest e2e_soak): `lab soak` on a lab of its
# own, 2 lab.small VMs with ipmi_sim BMCs, SOAK_CYCLES cycles (default 2) of
# allocate -> ready -> release with two faults per cycle (lab/soak.sh: a BMC
# killed and restarted, a VM destroyed in the middle of its boot, provisiond
# kill -9ed and restarted, dnsmasq killed; taken in turn, so 2 cycles see
# each once), SOAK_SEED (default 7) choosing their order and moments. Passes when every cycle completed and no human action was needed;
# always runs `lab down` and checks that nothing of the lab is left.
#
# Own lab: LAB_NAME provlab-sk, LAB_DIR /var/lib/provisiond-lab-sk, API
# 127.0.0.1:7594, BMCs from UDP 6391, lab network 10.82.0.0/24.
# Exit 77 (skipped) when not root or the lab's tools are missing.
set -uo pipefail

# shellcheck source=e2e-lib.sh
. "$(dirname "$(readlink -f "$0")")/e2e-lib.sh"

need_tools virsh libvirtd virtlogd qemu-system-x86_64 ipmi_sim dnsmasq ip nft jq
need_built provisiond/provisiond provisiond/client/provisionctl lab/redfish-bmc/redfish-bmc

lab_env provlab-sk /var/lib/provisiond-lab-sk 127.0.0.1:7594 6391 10.82.0

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	"$LAB" down >/dev/null || { echo "FAIL: lab down failed" >&2; rc=1; }
	[ -e "/run/netns/$LAB_NAME" ] && { echo "FAIL: netns $LAB_NAME left" >&2; rc=1; }
	lab_dir_left && { echo "FAIL: $LAB_DIR left" >&2; rc=1; }
	if virsh -q -c qemu:///system version >/dev/null 2>&1 &&
		[ -n "$(virsh -q -c qemu:///system list --all --name 2>/dev/null | grep "^$LAB_NAME-")" ]; then
		echo "FAIL: domains $LAB_NAME-* left" >&2
		rc=1
	fi
	[ $rc -eq 0 ] && echo "e2e_soak: PASS" || echo "e2e_soak: FAIL"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$LAB" down >/dev/null 2>&1 # a leftover of an interrupted run
say "lab soak on $LAB_NAME: ${SOAK_CYCLES:-2} cycles, seed ${SOAK_SEED:-7}"
"$LAB" soak --cycles "${SOAK_CYCLES:-2}" --machines 2 --per-cycle 2 --seed "${SOAK_SEED:-7}" --keep &
wait $! || {
	echo "FAIL: lab soak needed a human or did not complete its cycles" >&2
	tail -30 "$LAB_DIR/provisiond/provisiond.log" >&2 2>/dev/null
	exit 1
}
exit 0
