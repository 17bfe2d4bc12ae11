#!/bin/sh
# Agent faults with the real agent (docs/reliability.md): the real daemon
# (fake BMCs, pxe deploys) and the real provisiond-agent playing each
# machine on loopback, regular files as disks. One allocation of 4 machines
# whose deploys hit:
#   v1  its "agent" is a forger: with its own valid session it reports
#       results for v2's write_image command (refused, v2's command
#       untouched), then falls silent (timed out, retried on a fresh agent)
#   v2  the agent stops (SIGSTOP, heartbeat thread included) in the middle
#       of the image write: silent for 30 s -> attempt failed, "agent
#       silent", retried on a fresh agent -> active
#   v3  the disk returns EIO from 1 MiB on (agent hook --fail-write-at: no
#       device-mapper here): 3 attempts fail naming the I/O error, v3 failed,
#       the allocation takes a substitute from the pool
#   v4  the agent's SHA-256 comes out wrong (--fail-hash): refused as a
#       sha256 mismatch, failed, substituted
# The allocation ends ready on v1, v2 and two substitutes; every machine
# ends available, active or failed with a last_error naming its fault;
# nothing waits without a deadline.
# Usage: agent_faults.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/agent-faults.XXXXXX")
t0=$(date +%s)
cleanup() {
	# the host loops run until killed; an agent may have exited long ago
	# and left its process number to someone else: kill_ours
	for f in "$work"/*.loop; do
		if [ -f "$f" ]; then kill -9 "$(cat "$f")" 2>/dev/null || true; fi
	done
	for f in "$work"/*.agent; do
		if [ -f "$f" ]; then kill_ours 9 "$(cat "$f")"; fi
	done
	if [ -n "${pd_pid:-}" ]; then kill_ours 9 "$pd_pid"; fi
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	echo "--- provisiond log (tail)" >&2
	grep -v '"msg":"request"' "$work/log" | tail -n 40 >&2 || true
	for m in v1 v2 v3 v4; do
		echo "--- $m agent log (tail)" >&2
		tail -n 5 "$work/$m/agent.log" >&2 2>/dev/null || true
	done
	exit 1
}
ok() { echo "ok - $* ($(($(date +%s) - t0)) s)"; }

# shellcheck source=tests/daemon_lib.sh
. "$src/tests/daemon_lib.sh"
agent="$build/images/agent/provisiond-agent"
"$build/provisiond/provisiond" --init --db "$work/p.db" >/dev/null
# deploy deadline well above the 30 s silence that fails an attempt
cat >"$work/p.ini" <<INI
[lifecycle]
backoff_base_ms = 100
backoff_max_ms = 200
deploy_timeout_s = 120
[boot]
ramdisk_dir = $work/ramdisk
images_dir = $work/images
INI
mkdir -p "$work/ramdisk" "$work/images"
printf 'KERNEL' >"$work/ramdisk/vmlinuz"
pd_start --skus "$src/skus/catalog"

reasons() { "$ctl" -o json machine events "$1" | jq -r '.items[].reason'; }
# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds
wait_for() {
	limit=$(($(date +%s) + $1))
	what=$2
	shift 2
	until "$@"; do
		[ "$(date +%s)" -lt "$limit" ] || fail "not within the time: $what"
		sleep 0.2
	done
}
state_is() { [ "$(show "$1" .state)" = "$2" ]; }

# The host of machine NAME (MAC): on each PXE boot that provisiond made
# (a script with a boot token), the previous agent is gone (kill -9) and a
# new one starts with the flags in NAME.flags ("manual": the script is left
# in NAME.script for the test). Booted from its disk after a deploy, its
# "deployed OS" calls booted once.
host() {
	name=$1 mac=$2 root=$work/$1
	while :; do
		s=$(curl -sf "$boot/boot.ipxe?mac=$mac" || true)
		case $s in
		*provisiond.token=*)
			if [ -f "$work/$name.agent" ]; then
				kill_ours 9 "$(cat "$work/$name.agent")"
			fi
			rm -f "$work/$name.agent" "$work/$name.booted"
			flags=$(cat "$work/$name.flags" 2>/dev/null || true)
			if [ "$flags" = manual ]; then
				echo "$s" >"$work/$name.script"
			else
				tok=$(echo "$s" | grep -o 'provisiond.token=[^ ]*' | cut -d= -f2)
				mid=$(echo "$s" | grep -o 'provisiond.machine=[^ ]*' | cut -d= -f2)
				# shellcheck disable=SC2086 # flags are words
				"$agent" --url "$boot" --mode agent --machine "$mid" --token "$tok" \
					--sysroot "$root" --devroot "$root/dev" --no-power --poll-wait 2 \
					--retry-max 20 $flags >>"$root/agent.log" 2>&1 &
				echo $! >"$work/$name.agent"
			fi
			;;
		*sanboot*)
			if [ ! -f "$work/$name.booted" ] &&
				"$agent" booted --disk "$root/dev/vda" --url "$boot" >>"$root/booted.log" 2>&1; then
				touch "$work/$name.booted"
			fi
			;;
		esac
		sleep 0.3
	done
}

# A sysroot like a lab.large VM (2 CPUs, 1 GiB, two 4 GiB sparse disks).
make_sysroot() {
	cp -r "$src/tests/unit/agent_fixtures/qemu-vm" "$2"
	echo 8388608 >"$2/sys/block/vdb/size"
	echo "$1" >"$2/sys/class/net/eth0/address"
	mkdir -p "$2/dev"
	for d in vda vdb; do truncate -s 4G "$2/dev/$d"; done
}

for i in 1 2 3 4 5 6 7 8; do
	mac=52:54:00:af:00:0$i
	make_sysroot $mac "$work/v$i"
	"$ctl" machine enroll --name v$i --mac $mac --bmc-driver fake --bmc-option sku=lab.large \
		--bmc-option deploy=pxe >/dev/null || fail "enroll v$i"
	host v$i $mac &
	echo $! >"$work/v$i.loop"
	sleep 0.05 # enrolment order is the allocation's pick order (oldest first)
done
pool_ready() {
	[ "$("$ctl" -o json machine list | jq '[.items[] | select(.state == "available")] | length')" = 8 ]
}
wait_for 90 "8 machines inspected and cleaned by their agents" pool_ready
ok "pool of 8: each machine inspected and cleaned by the real agent"

# the image: 16 MiB, raw.zst
# (with a partition table: the agent adds a config drive after it)
head -c 16777216 /dev/urandom >"$work/images/img.raw"
echo 'start=2048, type=83' | sfdisk -q "$work/images/img.raw" >/dev/null || fail "sfdisk"
zstd -q -3 "$work/images/img.raw" -o "$work/images/img.raw.zst"
sha=$(sha256sum "$work/images/img.raw" | cut -d' ' -f1)
"$ctl" image register --name img --path img.raw.zst --format raw.zst --sha256 "$sha" \
	>/dev/null || fail "register image"

echo manual >"$work/v1.flags"
echo "--stop-write-at 8388608" >"$work/v2.flags"
echo "--fail-write-at 1048576" >"$work/v3.flags"
echo "--fail-hash" >"$work/v4.flags"
svc=$("$ctl" -o json token create --role service --owner chaos | jq -r .token)
as_svc() { PROVISIOND_TOKEN=$svc PROVISIOND_TOKEN_FILE='' "$ctl" "$@"; }
alloc=$(as_svc -o json allocation create --sku lab.large --count 4 --image img | jq -r .id)
got=$(as_svc -o json allocation show "$alloc" | jq -r '[.machines[].name] | sort | join(" ")')
[ "$got" = "v1 v2 v3 v4" ] || fail "allocation took $got, expected the four oldest"
t_alloc=$(date +%s)

# v2's agent stops itself mid-write
stopped() {
	[ -f "$work/v2.agent" ] &&
		grep -q '^State:.*T' "/proc/$(cat "$work/v2.agent")/status" 2>/dev/null
}
wait_for 30 "v2's agent stopped mid-write" stopped
rm -f "$work/v2.flags" # its next boot runs a sound agent
ok "v2's agent stopped (SIGSTOP) in the middle of the image write"

# v1: a valid session of its own, used to report v2's command
wait_for 30 "v1's boot script" test -s "$work/v1.script"
tok=$(grep -o 'provisiond.token=[^ ]*' "$work/v1.script" | cut -d= -f2)
sess=$(curl -sf -H "Authorization: Bearer $tok" -d '{"macs":["52:54:00:af:00:01"]}' \
	"$boot/v1/agent/lookup" | jq -r .token)
[ -n "$sess" ] && [ "$sess" != null ] || fail "v1's lookup"
rm -f "$work/v1.flags" # its next boot runs a sound agent
v2=$(show v2 .id)
cmd=$(sqlite3 "file:$work/p.db?mode=ro" "SELECT id FROM agent_commands WHERE machine_id = '$v2'
	AND name = 'write_image' ORDER BY seq DESC LIMIT 1")
[ "$(sqlite3 "file:$work/p.db?mode=ro" "SELECT state FROM agent_commands WHERE id = '$cmd'")" = sent ] ||
	fail "v2's write_image is not waiting for its result"
for okv in true false; do
	code=$(curl -s -o "$work/forged" -w '%{http_code}' -H "Authorization: Bearer $sess" \
		-d "{\"id\":\"$cmd\",\"ok\":$okv,\"message\":\"forged by v1\"}" "$boot/v1/agent/result")
	[ "$code" = 409 ] && [ "$(jq -r .error.field "$work/forged")" = id ] ||
		fail "v1 reporting v2's command (ok:$okv): $code $(cat "$work/forged")"
done
refusal=$(jq -r .error.message "$work/forged")
[ "$(sqlite3 "file:$work/p.db?mode=ro" "SELECT state FROM agent_commands WHERE id = '$cmd'")" = sent ] ||
	fail "v2's command changed by v1's reports"
code=$(curl -s -o "$work/forged" -w '%{http_code}' -H "Authorization: Bearer $sess" \
	-d "{\"machine_id\":\"$v2\"}" "$boot/v1/agent/booted")
[ "$code" = 401 ] || fail "v1's session calling booted for v2: $code $(cat "$work/forged")"
ok "v1's valid session reporting v2's write_image (ok true and false): 409 on field id: $refusal; v2's command untouched; booted for v2: 401"

# v3 (EIO) and v4 (wrong hash): refused three times, failed, substituted
wait_for 60 "v3 failed" state_is v3 failed
wait_for 60 "v4 failed" state_is v4 failed
e3=$(show v3 .last_error)
e4=$(show v4 .last_error)
echo "$e3" | grep -q "gave up after 3 attempts.*Input/output error" || fail "v3 last_error: $e3"
echo "$e4" | grep -q "gave up after 3 attempts.*sha256 mismatch" || fail "v4 last_error: $e4"
reasons v3 | grep -q "attempt 1/3 failed: .*Input/output error" || fail "v3 events: $(reasons v3)"
reasons v4 | grep -q "attempt 1/3 failed: .*sha256 mismatch" || fail "v4 events: $(reasons v4)"
ok "v3 (EIO) failed: $e3"
ok "v4 (wrong hash) failed: $(echo "$e4" | cut -c1-120)..."

# v1 and v2 silent: the attempt fails after 30 s, the retry boots a sound agent
for m in v1 v2; do
	wait_for 60 "$m's silent agent noticed" sh -c \
		"'$ctl' -o json machine events $m | jq -r '.items[].reason' | grep -q 'agent silent'"
done
t_silent=$(($(date +%s) - t_alloc))
ok "v1, v2: attempt 1/3 failed: $(reasons v2 | grep -o 'agent silent.*' | head -n 1)"

ready() { [ "$(as_svc -o json allocation show "$alloc" | jq -r .state)" = ready ]; }
wait_for 60 "allocation ready" ready
t_ready=$(($(date +%s) - t_alloc))
al=$(as_svc -o json allocation show "$alloc")
names=$(echo "$al" | jq -r '[.machines[].name] | sort | join(" ")')
[ "$names" = "v1 v2 v5 v6" ] || fail "allocation ready on $names"
[ "$(echo "$al" | jq -r .substitutions)" = 2 ] || fail "substitutions: $(echo "$al" | jq -c .)"
for m in v1 v2 v5 v6; do
	state_is $m active || fail "$m is $(show $m .state)"
	# past the first sector (the config drive's partition is added there)
	cmp -i 512 -n 16776704 "$work/images/img.raw" "$work/$m/dev/vda" ||
		fail "$m's disk differs from the image"
done
for m in v1 v2; do
	[ "$(show $m .last_error)" = null ] || [ "$(show $m .last_error)" = "" ] ||
		fail "$m's last_error after its success: $(show $m .last_error)"
done
for m in v7 v8; do state_is $m available || fail "$m is $(show $m .state)"; done
left=$("$ctl" -o json machine list |
	jq -r '[.items[] | select(.state != "available" and .state != "active" and .state != "failed")] | length')
[ "$left" = 0 ] || fail "$left machines still in a waiting state"
ok "allocation ready on v1, v2 (retried) and v5, v6 (substitutes) ${t_ready} s after it was made (silent agents noticed after ${t_silent} s); disks hold the image; v3, v4 failed, v7, v8 available, nothing waiting"
echo "agent faults: all passed in $(($(date +%s) - t0)) s"
