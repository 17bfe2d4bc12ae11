#!/bin/bash
# e2e-debian.sh — the Debian image end to end on the libvirt lab (lab/lab):
# a service makes two allocations of one real VM each, at the same time,
# with the Debian 12 image (images/build/build-debian-image.sh, cached in the
# build directory), an SSH key this test generates and user data that writes
# a file and runs a command: one with DHCP, one with a static address of the
# lab's /24 outside dnsmasq's range (gateway and nameserver: the lab's
# bridge). When both are ready (the deployed OS reported booted after
# cloud-init finished), the test logs in over SSH from inside the lab's
# network namespace with that key and checks the hostname (the machine's
# name), the user data's file and command, that cloud-init finished from the
# config drive, that the root filesystem fills the disk, and the network:
# the DHCP machine holds its lease; the static one exactly its address, the
# default route via the gateway and the nameserver in resolv.conf. Then it
# releases both and checks that the wipe left no trace on the VMs' disk
# files (partition table, config drive and metadata MiB all zero). Prints
# each phase's duration.
#
# Own lab: LAB_NAME provlab-deb, LAB_DIR /var/lib/provisiond-lab-deb, API
# 127.0.0.1:7591, BMCs from UDP 6351, lab network 10.79.0.0/24.
# Exit 77 (skipped) when not root or a tool is missing.
# E2E_BUDGET_S (default 900) bounds the whole run; E2E_KEEP=1 leaves the
# lab up when the test fails.
set -uo pipefail

PH_WIDTH=34 SERIAL_TAIL=40
# shellcheck source=e2e-lib.sh
. "$(dirname "$(readlink -f "$0")")/e2e-lib.sh"

need_tools virsh libvirtd qemu-system-x86_64 dnsmasq ip nft jq curl debootstrap ssh ssh-keygen sfdisk mkfs.fat mcopy
need_built provisiond/provisiond lab/redfish-bmc/redfish-bmc images/agent/provisiond-agent

lab_env provlab-deb /var/lib/provisiond-lab-deb 127.0.0.1:7591 6351 10.79.0

WORK=$(mktemp -d "${TMPDIR:-/tmp}/provisiond-e2e-deb.XXXXXX")
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "${E2E_KEEP:-0}" = 1 ] && [ $FAILED = 1 ]; then
		echo "E2E_KEEP=1: the lab stays up for a look (LAB_DIR=$LAB_DIR lab/lab down removes it);"
		echo "the test's SSH key: $WORK/id_ed25519"
	else
		phase "lab down"
		"$LAB" down || { echo "FAIL: lab down failed" >&2; rc=1; }
	fi
	phase ""
	[ "${E2E_KEEP:-0}" = 1 ] && [ $FAILED = 1 ] || rm -rf "$WORK"
	print_phases e2e-debian
	[ $rc -eq 0 ] && [ $FAILED -eq 0 ] && echo "e2e-debian: PASS" || echo "e2e-debian: FAIL"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# ssh as root with the test's key, inside the lab namespace.
vm_ssh() { # IP CMD
	local ip=$1
	shift
	"$LAB" exec ssh -i "$WORK/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 "root@$ip" "$@"
}
# The newest lease of a MAC (the deployed OS's DHCP client may get another
# address than the ramdisk's): the one that expires last.
lease_of() { awk -v m="$1" '$2 == m && $1 >= t { t = $1; ip = $3 } END { print ip }' "$LAB_DIR/provisiond/dnsmasq/dnsmasq.leases"; }
zero_bytes() { # FILE OFFSET LEN: true when all zero
	cmp -s -n "$3" <(tail -c +"$(($2 + 1))" "$1" | head -c "$3") /dev/zero
}

# ---------------------------------------------------------------------------
say "e2e-debian on the lab: $LAB_NAME in $LAB_DIR, source $SRC, build $BUILD"
"$LAB" down >/dev/null 2>&1

phase "Debian image (built or cached)"
"$SRC/images/build/build-debian-image.sh" "$LAB_CACHE/debian-image.raw" \
	--agent "$BUILD/images/agent/provisiond-agent" --cache "$LAB_CACHE/debian-debs" >"$WORK/build.out" ||
	fail "build-debian-image.sh failed"
SHA=$(sed -n 's/^sha256 //p' "$WORK/build.out")
say "debian-image.raw.zst $(stat -c %s "$LAB_CACHE/debian-image.raw.zst") bytes, sha256 $SHA"

phase "lab up (2 x lab.small, redfish + pxe)"
"$LAB" up --machines 2 --sku lab.small --bmc redfish --debian --no-wait || fail "lab up failed"
. "$LAB_DIR/lab.env"
M1=$LAB_NAME-01 M2=$LAB_NAME-02

phase "enroll -> available"
wait_all available 2 600

phase "allocate 2 x 1 Debian (DHCP, static) -> ready"
# the hash of the image lab up put in the store (the same build unless
# its inputs changed since the first phase)
SHA=$(cut -d' ' -f1 "$LAB_CACHE/debian-image.raw.sha256")
ctl image register --name debian-12 --path debian-12.raw.zst --sha256 "$SHA" >/dev/null ||
	fail "image register failed"
SVC=$(ctl -o json token create --role service --owner e2e --name e2e-debian | jq -r .token)
[ -n "$SVC" ] && [ "$SVC" != null ] || fail "no service token"
ssh-keygen -q -t ed25519 -N "" -C e2e-debian -f "$WORK/id_ed25519" || fail "ssh-keygen failed"
MARK=e2e-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat >"$WORK/user-data" <<EOF
#cloud-config
write_files:
  - path: /root/e2e-user-data
    content: "$MARK"
runcmd:
  - [sh, -c, "echo ran-$MARK > /root/e2e-runcmd"]
EOF
# the static machine: an address of the lab's /24 outside dnsmasq's range
# (.100-.199), the lab's bridge as gateway and nameserver
STATIC_IP=$LAB_NET.50 GATEWAY=$LAB_NET.1
T_ALLOC=$EPOCHREALTIME
create() { # NAME OUT [ARGS...]: one machine; the answer (or the error) into OUT
	local name=$1 out=$2
	shift 2
	svc -o json allocation create --sku lab.small --count 1 --image debian-12 --name "$name" \
		--ssh-key "$(cat "$WORK/id_ed25519.pub")" --user-data "$WORK/user-data" --wait 600 "$@" \
		>"$out" 2>"$out.err"
}
# both at once: the two deploys run side by side
create e2e-dhcp "$WORK/dhcp.json" &
P_DHCP=$!
create e2e-static "$WORK/static.json" --address "$STATIC_IP/24" --gateway "$GATEWAY" \
	--nameserver "$GATEWAY" &
P_STATIC=$!
wait $P_DHCP || fail "the DHCP allocation did not become ready: $(cat "$WORK/dhcp.json"*)"
wait $P_STATIC || fail "the static allocation did not become ready: $(cat "$WORK/static.json"*)"
IDS=()
for f in dhcp static; do
	[ "$(jq -r .state "$WORK/$f.json")" = ready ] || fail "allocation e2e-$f is $(jq -r .state "$WORK/$f.json")"
	IDS+=("$(jq -r .id "$WORK/$f.json")")
done
[ "$(jq -r .network.mode "$WORK/dhcp.json")" = dhcp ] || fail "e2e-dhcp: its network is not dhcp"
[ "$(jq -r '.machines[0].address' "$WORK/static.json")" = "$STATIC_IP/24" ] ||
	fail "e2e-static: its machine is $(jq -c '.machines[0]' "$WORK/static.json")"
say "allocations ${IDS[*]} ready after $(dt "$T_ALLOC" "$EPOCHREALTIME") s"

phase "ssh into both machines"
for f in dhcp static; do
	a=$(cat "$WORK/$f.json")
	ID=$(jq -r .id <<<"$a")
	m=$(jq -r '.machines[0].name' <<<"$a")
	d=$LAB_DIR/vms/$m
	[ -f "$d/vm.env" ] || fail "e2e-$f: its machine '$m' is not a lab VM"
	. "$d/vm.env"
	# the address provisiond reports for the machine (the deployed OS's, from
	# its booted call): the OS's newest DHCP lease, or the static address
	ip=$(jq -r '.machines[0].ip // empty' <<<"$a")
	[ -n "$ip" ] || fail "$m: the allocation shows no address"
	if [ $f = dhcp ]; then
		[ "$ip" = "$(lease_of "$VM_MAC")" ] || fail "$m: provisiond says $ip, dnsmasq leased $(lease_of "$VM_MAC")"
	else
		[ "$ip" = "$STATIC_IP" ] || fail "$m: provisiond says $ip, not the static $STATIC_IP"
	fi
	out=$(vm_ssh "$ip" 'hostname; cat /root/e2e-user-data; echo; cat /root/e2e-runcmd;
		cloud-init status | sed -n "s/^status: //p"; cloud-init query platform;
		echo $(( $(cat /sys/class/block/vda/size) * 512 )); echo $(( $(cat /sys/class/block/vda1/size) * 512 ));
		df -B1 --output=size / | tail -1; head -1 /etc/os-release;
		echo $(ip -o -4 addr show scope global | while read -r _ dev _ addr _; do echo "$dev=$addr"; done);
		ip -4 route show default | head -1; grep -m1 "^nameserver" /etc/resolv.conf || true') ||
		fail "$m: ssh root@$ip failed"
	mapfile -t L <<<"$out"
	say "$m ($f, $ip): $(tr '\n' ' ' <<<"$out")"
	[ "${L[0]}" = "$m" ] || fail "$m: hostname is '${L[0]}'"
	[ "${L[1]}" = "$MARK" ] || fail "$m: /root/e2e-user-data holds '${L[1]}', expected $MARK"
	[ "${L[2]}" = "ran-$MARK" ] || fail "$m: runcmd wrote '${L[2]}'"
	[ "${L[3]}" = "done" ] || fail "$m: cloud-init status '${L[3]}'"
	[ "${L[4]}" = configdrive ] || fail "$m: cloud-init's platform is '${L[4]}', expected configdrive"
	disk=${L[5]} part=${L[6]} fs=${L[7]}
	# the root partition reaches the config drive (disk - 1 MiB start - 8 MiB drive - 1 MiB metadata)
	[ "$part" -ge $((disk - 10 * 1048576)) ] || fail "$m: root partition $part bytes on a $disk-byte disk"
	# and the filesystem fills it (less ext4's own overhead; the image's was 640 MiB)
	[ "$fs" -ge $((part * 9 / 10)) ] || fail "$m: root filesystem $fs bytes in a $part-byte partition"
	[[ "${L[8]}" == *"Debian GNU/Linux 12"* ]] || fail "$m: /etc/os-release says '${L[8]}'"
	if [ $f = dhcp ]; then
		[ "${L[9]}" = "eth0=$ip/24" ] || fail "$m: IPv4 addresses '${L[9]}', expected its lease eth0=$ip/24"
	else
		# exactly the static address (no lease beside it), the default route
		# via the gateway, the nameserver
		[ "${L[9]}" = "eth0=$STATIC_IP/24" ] || fail "$m: IPv4 addresses '${L[9]}', expected eth0=$STATIC_IP/24"
		[[ "${L[10]}" == "default via $GATEWAY dev eth0"* ]] || fail "$m: default route '${L[10]}'"
		[ "${L[11]}" = "nameserver $GATEWAY" ] || fail "$m: resolv.conf's first nameserver line is '${L[11]}'"
	fi
	# booted was reported after cloud-init finished: in this order on the console
	tr -d '\r' <"$d/serial.log" | grep -aE 'Cloud-init v\. .* finished|PROVISIOND-BOOTED allocation='"$ID" |
		tail -2 | tr '\n' ' ' | grep -qE 'finished.*PROVISIOND-BOOTED' ||
		fail "$m: no 'cloud-init finished' then 'PROVISIOND-BOOTED allocation=$ID' on the console"
done

phase "release -> available (wiped)"
for ID in "${IDS[@]}"; do
	svc -o json allocation release "$ID" >/dev/null || fail "the release of $ID was refused"
done
for ID in "${IDS[@]}"; do
	REL=$(svc -o json allocation release "$ID" --wait 600) || fail "release of $ID did not finish: $REL"
done
wait_all available 2 300
for m in $M1 $M2; do
	disk=$LAB_DIR/vms/$m/disk0.raw
	size=$(stat -c %s "$disk")
	zero_bytes "$disk" 0 1048576 || fail "$m: the disk's first MiB is not zero after release"
	zero_bytes "$disk" $((size - 9 * 1048576)) $((9 * 1048576)) ||
		fail "$m: the config drive / metadata MiB survived the release"
	grep -qa "$MARK" <(head -c 4194304 "$disk"; tail -c 16777216 "$disk") &&
		fail "$m: the user data's marker is still on the disk's ends"
	say "$m: first MiB, config drive and metadata MiB zero after release"
done
phase ""
exit 0 # the EXIT trap takes down the lab and prints the phases
