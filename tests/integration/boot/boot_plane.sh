#!/bin/sh
# Boot plane against the real daemon on loopback, no VM: the real deploy
# agent plays the machine (a fixture sysroot, regular files as disks).
#   - per-machine iPXE script with a boot token only for the boot provisiond
#     made (one per power-on); token refused on reuse and for another machine
#   - inspection report -> SKU match; wipe of both disks; back to available
#   - image store ([boot] images_dir): Range requests, wrong sha256 refused,
#     path traversal refused (tests/integration/api_images.c has the rest)
#   - deploy: raw.zst image streamed, verified, written byte for byte; the
#     deployed OS's "booted" call -> active, allocation ready
#   - discovery: an unknown MAC creates exactly one enrolled machine; a live
#     agent session is not displaced by another lookup
# Usage: boot_plane.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/boot-plane.XXXXXX")
pids=""
cleanup() {
	kill_ours TERM $pids # an agent may have exited long ago
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	echo "--- provisiond log (tail)" >&2
	grep -v '"msg":"request"' "$work/log" | tail -n 30 >&2 || true
	exit 1
}
ok() { echo "ok - $*"; }

# shellcheck source=tests/daemon_lib.sh
. "$src/tests/daemon_lib.sh"
agent="$build/images/agent/provisiond-agent"
"$build/provisiond/provisiond" --init --db "$work/p.db" >/dev/null
cat >"$work/p.ini" <<INI
[lifecycle]
backoff_base_ms = 100
backoff_max_ms = 200
[boot]
ramdisk_dir = $work/ramdisk
images_dir = $work/images
INI
store=$work/images
mkdir -p "$work/ramdisk" "$store"
printf 'KERNEL' >"$work/ramdisk/vmlinuz"
cp -r "$src/skus/catalog" "$work/skus"
pd_start --skus "$work/skus"
daemon=$pd_pid
pids="$pids $daemon"

show_state() { "$ctl" -o json machine show "$1" | jq -r .state; }
# wait_state MACHINE STATE [SECONDS]
wait_state() {
	t=0
	while :; do
		st=$("$ctl" -o json machine show "$1" | jq -r .state)
		[ "$st" = "$2" ] && return 0
		t=$((t + 1))
		[ $t -le $((${3:-60} * 5)) ] || fail "$1 is $st, expected $2: $("$ctl" -o json machine show "$1" | jq -r .last_error)"
		sleep 0.2
	done
}
# A sysroot like a lab.large VM (2 CPUs, 1 GiB, two 4 GiB disks), MAC $1.
make_sysroot() {
	cp -r "$src/tests/unit/agent_fixtures/qemu-vm" "$2"
	echo 8388608 >"$2/sys/block/vdb/size"
	echo "$1" >"$2/sys/class/net/eth0/address"
	mkdir -p "$2/dev"
	# disks start full of 0xff so the wipe is visible
	for d in vda vdb; do
		head -c 2097152 /dev/zero | tr '\0' '\377' >"$2/dev/$d"
		truncate -s 4G "$2/dev/$d"
		head -c 1048576 /dev/zero | tr '\0' '\377' |
			dd of="$2/dev/$d" bs=1M seek=4095 conv=notrunc 2>/dev/null
	done
}
# fetch_agent_script MAC FILE: the script with the boot token of the boot the
# engine just started (its grant may come a moment after the state change)
fetch_agent_script() {
	n=0
	until curl -sf "$boot/boot.ipxe?mac=$1" >"$2" && grep -q 'provisiond.token=' "$2"; do
		n=$((n + 1)); [ $n -lt 100 ] || fail "no boot token for $1: $(cat "$2")"; sleep 0.1
	done
}
# run_agent SYSROOT SCRIPT_FILE: boots "the machine" with the script's args
run_agent() {
	tok=$(grep -o 'provisiond.token=[^ ]*' "$2" | cut -d= -f2)
	mid=$(grep -o 'provisiond.machine=[^ ]*' "$2" | cut -d= -f2)
	"$agent" --url "$boot" --mode agent --machine "$mid" --token "$tok" --sysroot "$1" \
		--devroot "$1/dev" --no-power --heartbeat 1 --poll-wait 2 --retry-max 20 \
		>>"$1/agent.log" 2>&1 &
	agent_pid=$!
	pids="$pids $agent_pid"
}

mac=52:54:00:aa:00:01
"$ctl" machine enroll --name m1 --mac $mac --bmc-driver fake --bmc-option sku=lab.large \
	--bmc-option deploy=pxe >/dev/null
make_sysroot $mac "$work/m1"
wait_state m1 inspecting 30
fetch_agent_script $mac "$work/s1"
grep -q '^#!ipxe' "$work/s1" && grep -q 'provisiond.mode=agent' "$work/s1" || fail "agent script"
ok "inspecting machine gets the agent script with a boot token"
curl -sf "$boot/boot.ipxe?mac=$mac" >"$work/s1b"
grep -q 'provisiond.token=' "$work/s1b" && fail "a second script in the same power-on got a token"
grep -q 'm1' "$work/s1b" "$work/s1" && fail "the script names the machine"
ok "one boot token per power-on: the next script fetch gets none; scripts do not name the machine"

# token for another machine: refused, and not used up by the refusal
tok=$(grep -o 'provisiond.token=[^ ]*' "$work/s1" | cut -d= -f2)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
	-d '{"macs":["52:54:00:ff:ff:ff"]}' "$boot/v1/agent/lookup")
[ "$code" = 401 ] || fail "token of m1 with another MAC: $code"
ok "boot token refused for another machine"
run_agent "$work/m1" "$work/s1"
n=0
until grep -q '"lookup at' "$work/m1/agent.log" 2>/dev/null; do
	n=$((n + 1)); [ $n -lt 100 ] || fail "the agent's lookup with the token refused before"; sleep 0.1
done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
	-d "{\"macs\":[\"$mac\"]}" "$boot/v1/agent/lookup")
[ "$code" = 401 ] || fail "reused boot token: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -d "{\"macs\":[\"$mac\"]}" "$boot/v1/agent/lookup")
[ "$code" = 401 ] || fail "a lookup without a token for a managed MAC: $code"
ok "boot token refused on reuse (one-time), not used up by a refused call; the agent's session stands"

wait_state m1 available 60
[ "$("$ctl" -o json machine show m1 | jq -r .sku)" = lab.large ] || fail "sku not matched"
[ "$("$ctl" -o json machine show m1 | jq -r .facts.disks[1].size_bytes)" = 4294967296 ] ||
	fail "facts not stored"
for d in vda vdb; do
	[ "$(head -c 1048576 "$work/m1/dev/$d" | tr -d '\0' | wc -c)" = 0 ] || fail "$d head not wiped"
	[ "$(tail -c 1048576 "$work/m1/dev/$d" | tr -d '\0' | wc -c)" = 0 ] || fail "$d tail not wiped"
	[ "$(dd if="$work/m1/dev/$d" bs=1M skip=1 count=1 2>/dev/null | tr -d '\377' | wc -c)" = 0 ] ||
		fail "$d middle touched by a quick wipe"
done
ok "agent inspected (lab.large) and wiped both disks at start and end; machine available"
kill_ours TERM "$agent_pid" # the engine powered the machine off

# image store
head -c 33554432 /dev/urandom >"$store/img.raw"
zstd -q -3 "$store/img.raw" -o "$store/img.raw.zst"
sha=$(sha256sum "$store/img.raw" | cut -d' ' -f1)
out=$("$ctl" image register --name bad --path "$store/img.raw" --sha256 \
	0000000000000000000000000000000000000000000000000000000000000000 2>&1) && fail "bad sha accepted"
echo "$out" | grep -q sha256 || fail "bad sha error does not name sha256: $out"
ok "image with a wrong sha256 refused at registration"
"$ctl" image register --name img --path img.raw.zst --format raw.zst --sha256 "$sha" \
	>/dev/null || fail "register raw.zst"
[ "$("$ctl" -o json image show img | jq -r .size)" = 33554432 ] || fail "raw size not recorded"
curl -sf -r 100-199 "$boot/images/img" -o "$work/range" || fail "range request"
[ "$(wc -c <"$work/range")" = 100 ] && cmp -s "$work/range" \
	"$(dd if="$store/img.raw.zst" bs=1 skip=100 count=100 2>/dev/null >"$work/want"; echo "$work/want")" ||
	fail "range content"
code=$(curl -s -o /dev/null -w '%{http_code}' -r 999999999- "$boot/images/img")
[ "$code" = 416 ] || fail "unsatisfiable range: $code"
for p in '/images/..%2F..%2Fetc%2Fpasswd' '/images/../../etc/passwd' '/boot/..%2Fp.db' '/images/%2Fetc%2Fpasswd'; do
	code=$(curl -s -o "$work/trav" -w '%{http_code}' --path-as-is "$boot$p")
	[ "$code" = 404 ] || fail "traversal $p answered $code"
	grep -q root: "$work/trav" && fail "traversal $p leaked a file"
done
ok "image store: Range (206/416), path traversal refused"

# deploy
svc=$("$ctl" -o json token create --role service --owner search | jq -r .token)
alloc=$(PROVISIOND_TOKEN=$svc PROVISIOND_TOKEN_FILE= "$ctl" -o json allocation create \
	--sku lab.large --count 1 --image img | jq -r .id)
wait_state m1 deploying 10
fetch_agent_script $mac "$work/s3"
grep -q 'provisiond.mode=agent' "$work/s3" || fail "deploying machine did not get the agent"
run_agent "$work/m1" "$work/s3"
# a hostile host that knows the MAC, during the deploy: no token, no session
for i in $(seq 200); do curl -sf "$boot/boot.ipxe?mac=$mac"; done >"$work/hostile"
grep -q 'provisiond.token=' "$work/hostile" && fail "a hostile script fetch got a boot token"
live=$(sqlite3 "file:$work/p.db?mode=ro" "SELECT count(*) FROM boot_tokens WHERE kind = 'boot' AND used_at = 0")
[ "$live" -le 1 ] || fail "$live live boot tokens after 200 script fetches"
code=$(curl -s -o /dev/null -w '%{http_code}' -d "{\"macs\":[\"$mac\"]}" "$boot/v1/agent/lookup")
[ "$code" = 401 ] || fail "hostile lookup during the deploy: $code"
ok "200 script fetches by a host knowing the MAC during the deploy: no token, no session ($live live boot tokens)"
n=0
until [ "$("$ctl" -o json machine show m1 | jq -r .phase)" = disk ]; do
	n=$((n + 1)); [ $n -lt 300 ] || fail "image not written: $("$ctl" -o json machine show m1 | jq -r .last_error)"
	sleep 0.2
done
kill_ours TERM "$agent_pid"
cmp -n 33554432 "$store/img.raw" "$work/m1/dev/vda" || fail "disk differs from the image"
tail -c 1048576 "$work/m1/dev/vda" | grep -qa PROVISIOND-METADATA-V1 || fail "no metadata block"
curl -sf "$boot/boot.ipxe?mac=$mac" | grep -q sanboot || fail "machine booting its disk got no local-disk script"
ok "agent streamed raw.zst, verified and wrote it byte for byte, metadata at the tail"
"$agent" booted --disk "$work/m1/dev/vda" --url "$boot" >"$work/booted.log" 2>&1 || fail "booted call"
grep -q "PROVISIOND-BOOTED allocation=$alloc" "$work/booted.log" || fail "booted marker"
wait_state m1 active 20
n=0
until [ "$(PROVISIOND_TOKEN=$svc PROVISIOND_TOKEN_FILE= "$ctl" -o json allocation show "$alloc" | jq -r .state)" = ready ]; do
	n=$((n + 1)); [ $n -lt 100 ] || fail "allocation not ready"; sleep 0.1
done
ip=$(PROVISIOND_TOKEN=$svc PROVISIOND_TOKEN_FILE= "$ctl" -o json allocation show "$alloc" | jq -r '.machines[0].ip')
[ "$ip" = 127.0.0.1 ] || fail "allocation machine ip: $ip (the deployed OS called from 127.0.0.1)"
"$agent" booted --disk "$work/m1/dev/vda" --url "$boot" >/dev/null 2>&1 && fail "instance token reused"
curl -sf "$boot/boot.ipxe?mac=$mac" | grep -q sanboot || fail "active machine must boot its disk"
ok "deployed OS reported booted (marker with allocation id); active; allocation ready; never re-imaged"

# discovery
dmac=52:54:00:dd:00:01
make_sysroot $dmac "$work/d1"
curl -sf "$boot/boot.ipxe?mac=$dmac" | grep -q 'provisiond.mode=discover' || fail "discover script"
timeout 60 "$agent" --url "$boot" --mode discover --sysroot "$work/d1" --devroot "$work/d1/dev" \
	--no-power --heartbeat 1 --poll-wait 1 --retry-max 5 >>"$work/d1/agent.log" 2>&1 &
p=$!
pids="$pids $p"
n=0
until grep -q "inventory sent" "$work/d1/agent.log" 2>/dev/null; do
	n=$((n + 1)); [ $n -lt 100 ] || fail "discovery run"; sleep 0.2
done
code=$(curl -s -o "$work/d1/second" -w '%{http_code}' -d "{\"macs\":[\"$dmac\"]}" "$boot/v1/agent/lookup")
[ "$code" = 409 ] || fail "a second discovery lookup while the agent is live: $code $(cat "$work/d1/second")"
grep -q token "$work/d1/second" && fail "the second lookup got a session token"
kill_ours TERM "$p"
count=$("$ctl" -o json machine list | jq "[.items[] | select(.macs | index(\"$dmac\"))] | length")
[ "$count" = 1 ] || fail "discovery created $count machines"
d=$("$ctl" -o json machine list | jq -r ".items[] | select(.macs | index(\"$dmac\")) | .name")
[ "$("$ctl" -o json machine show "$d" | jq -r '.state + " " + .sku')" = "enrolled lab.large" ] ||
	fail "discovered machine: $("$ctl" -o json machine show "$d" | jq -c '{state,sku,bmc}')"
ok "discovery: an unknown MAC made exactly one enrolled machine (lab.large, no BMC); a second lookup did not displace its live agent"
"$ctl" machine patch "$d" --bmc-driver fake --bmc-option sku=lab.large --bmc-option deploy=pxe \
	>/dev/null || fail "patch discovered machine"
wait_state "$d" inspecting 30
ok "a tech added BMC access to the discovered machine: it went on into verification and inspection"

# an image whose content changed after registration (the agent's sha256
# check catches it), and one cut short (the boot listener refuses a file
# whose size changed since registration): each failure is reported with a
# clear message and the machine does not go active
for kind in mismatch truncated; do
	cp "$store/img.raw" "$store/$kind.raw"
	"$ctl" image register --name "$kind" --path "$store/$kind.raw" >/dev/null || fail "register $kind"
	if [ $kind = mismatch ]; then
		printf 'XXXX' | dd of="$store/$kind.raw" bs=1 seek=4096 conv=notrunc 2>/dev/null
	else
		truncate -s 1000000 "$store/$kind.raw"
	fi
done
PROVISIOND_TOKEN=$svc PROVISIOND_TOKEN_FILE= "$ctl" allocation release "$alloc" >/dev/null || fail "release"
wait_state m1 cleaning 20
fetch_agent_script $mac "$work/s4"
run_agent "$work/m1" "$work/s4"
wait_state m1 available 60
kill_ours TERM "$agent_pid"
ok "released: the agent wiped the disks again and the machine is back in the pool"
failures() { "$ctl" -o json machine events m1 | jq -r '.items[].reason' | grep -c "write_image failed" || true; }
for kind in mismatch truncated; do
	before=$(failures)
	a2=$(PROVISIOND_TOKEN=$svc PROVISIOND_TOKEN_FILE= "$ctl" -o json allocation create \
		--sku lab.large --count 1 --image "$kind" | jq -r .id)
	wait_state m1 deploying 10
	fetch_agent_script $mac "$work/s-$kind"
	run_agent "$work/m1" "$work/s-$kind"
	n=0
	until [ "$(failures)" -gt "$before" ]; do
		n=$((n + 1)); [ $n -lt 300 ] || fail "$kind: no failure reported"
		sleep 0.2
	done
	reason=$("$ctl" -o json machine events m1 | jq -r '.items[].reason' | grep "write_image failed" | tail -n 1)
	case $kind in
	mismatch) echo "$reason" | grep -qi "sha256\|hash\|checksum" || fail "mismatch reason: $reason" ;;
	truncated) echo "$reason" | grep -q "HTTP 404" || fail "truncated reason: $reason" ;;
	esac
	wait_state m1 failed 60
	last=$("$ctl" -o json machine show m1 | jq -r .last_error)
	echo "$last" | grep -q "gave up after 3 attempts" || fail "$kind last_error: $last"
	al=$(PROVISIOND_TOKEN=$svc PROVISIOND_TOKEN_FILE= "$ctl" -o json allocation show "$a2")
	[ "$(echo "$al" | jq -r .state)" = failed ] || fail "$kind allocation: $(echo "$al" | jq -c .)"
	ok "$kind image: the agent reported '$reason'; after 3 attempts the machine is failed and the allocation failed: $(echo "$al" | jq -r .last_error | cut -c1-80)..."
	kill_ours TERM "$agent_pid"
	"$ctl" machine action clean m1 >/dev/null || fail "clean failed machine"
	wait_state m1 cleaning 10
	fetch_agent_script $mac "$work/s-$kind-clean"
	run_agent "$work/m1" "$work/s-$kind-clean"
	wait_state m1 available 60
	kill_ours TERM "$agent_pid"
done

# fast-track: lab.large machines wait in the agent once cleaned (catalog
# reloaded with SIGHUP), so a deploy needs no new boot
sed -i 's/^boot_mode = bios$/boot_mode = bios\nfast_track = true/' "$work/skus/lab.large.ini"
kill -HUP "$daemon"
n=0
until [ "$("$ctl" -o json sku show lab.large | jq -r .fast_track)" = true ]; do
	n=$((n + 1)); [ $n -lt 50 ] || fail "SIGHUP did not reload the catalog"; sleep 0.1
done
"$ctl" machine action clean m1 >/dev/null || fail "clean"
wait_state m1 cleaning 10
fetch_agent_script $mac "$work/s-ft"
: >"$work/m1/agent.log"
run_agent "$work/m1" "$work/s-ft"
wait_state m1 available 60
"$ctl" -o json machine events m1 | jq -r '.items[-1].reason' | grep -q fast-track || fail "no fast-track"
[ "$(show m1 .power)" = on ] || fail "fast-track machine powered off"
curl -sf "$boot/boot.ipxe?mac=$mac" | grep -q 'provisiond.token=' &&
	fail "a fast-track machine rebooting on its own got a boot token (provisiond did not boot it)"
a3=$(PROVISIOND_TOKEN=$svc PROVISIOND_TOKEN_FILE= "$ctl" -o json allocation create \
	--sku lab.large --count 1 --image img | jq -r .id)
n=0
until [ "$(show m1 .phase)" = disk ]; do
	n=$((n + 1)); [ $n -lt 300 ] || fail "fast-track deploy: $(show m1 .last_error)"
	sleep 0.2
done
[ "$(grep -c '"lookup at' "$work/m1/agent.log")" = 1 ] || fail "the agent was booted again"
kill_ours TERM "$agent_pid"
"$agent" booted --disk "$work/m1/dev/vda" --url "$boot" >/dev/null 2>&1 || fail "booted (fast-track)"
wait_state m1 active 20
ok "fast-track (catalog reloaded by SIGHUP): cleaned machine waited in the agent; the deploy used it without a reboot (allocation $a3)"
echo "boot plane: all passed"
