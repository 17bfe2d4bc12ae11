#!/bin/bash
# e2e-pg.sh — the lab on PostgreSQL with two provisiond replicas (lab up
# --backend postgres --replicas 2), one replica killed with SIGKILL in the
# middle of a deploy:
#   replica r1: api,boot,engine (boot listener + dnsmasq); r2: api,engine
#   one VM (Redfish BMC, PXE) enrolled -> available; allocation of it with
#   the lab image; once the ramdisk agent runs (deploy in progress) and r2
#   drives the machine (GET /v1/replicas: r2's machine count), r2 gets
#   kill -9; r1 must take the machine over within the bound (takeover_s 6 s
#   + heartbeat_s 2 s + margin), the allocation must reach ready and the VM
#   boot the deployed image (PROVISIOND-BOOTED allocation=ID on its console).
# Which engine claims a machine is a race between the replicas; so that r2
# drives the deploy, r1 is held with SIGSTOP (for at most 5 s, below the
# 6 s take-over) while the allocation is made through r2's API, until r2
# holds the claim. Killing r1 instead would kill the lab's only boot plane:
# the agent could not reach provisiond and the deploy could not finish; a
# site runs a boot plane per segment behind one address for that case
# (docs/scale-out.md).
#
# Own lab: LAB_NAME provlab-pg, LAB_DIR /var/lib/provisiond-lab-pg, API
# 127.0.0.1:7690 (r2 7691), BMCs from 6431, lab network 10.80.0.0/24.
# Exit 77 (skipped) when not root or tools (the lab's, PostgreSQL) are missing.
# E2E_BUDGET_S (default 600) bounds the whole run.
set -uo pipefail

SRC=${PROVISIOND_SOURCE_DIR:-$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)}
BUILD=${PROVISIOND_BINARY_DIR:-$SRC/build}
LAB=$SRC/lab/lab
BUDGET=${E2E_BUDGET_S:-600}
TAKEOVER_BOUND=${E2E_TAKEOVER_BOUND_S:-15}

[ "$(id -u)" -eq 0 ] || { echo "SKIP: the lab needs root"; exit 77; }
for t in virsh libvirtd virtlogd qemu-system-x86_64 ipmi_sim dnsmasq ip nft jq curl runuser; do
	command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "SKIP: $t not installed (scripts/deps)"; exit 77; }
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "SKIP: no PostgreSQL server (package postgresql)"; exit 77; }
getent passwd postgres >/dev/null || { echo "SKIP: no user postgres"; exit 77; }
[ -x "$BUILD/provisiond/provisiond" ] || { echo "SKIP: no $BUILD/provisiond/provisiond"; exit 77; }
[ -x "$BUILD/lab/redfish-bmc/redfish-bmc" ] || { echo "SKIP: no $BUILD/lab/redfish-bmc/redfish-bmc"; exit 77; }

export LAB_NAME=provlab-pg LAB_DIR=${E2E_LAB_DIR:-/var/lib/provisiond-lab-pg}
export LAB_API=127.0.0.1:7690 LAB_BMC_PORT=6431 LAB_NET=10.80.0
export LAB_BUILD=$BUILD LAB_CACHE=${LAB_CACHE:-$BUILD/lab-cache}
unset PROVISIOND_TOKEN PROVISIOND_TOKEN_FILE PROVISIOND_URL
R1=$LAB_NAME-r1 R2=$LAB_NAME-r2 R2_URL=http://127.0.0.1:7691
M=$LAB_NAME-01
CTL=$BUILD/provisiond/client/provisionctl # straight to r2 (lab ctl talks to r1)

T0=$EPOCHREALTIME
dt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[%6.1fs] %s\n' "$(dt "$T0" "$EPOCHREALTIME")" "$*"; }
PHASES=()
PH_NAME="" PH_T=""
phase() {
	[ -n "$PH_NAME" ] && PHASES+=("$(printf '%-34s %7.1f s' "$PH_NAME" "$(dt "$PH_T" "$EPOCHREALTIME")")") &&
		say "phase '$PH_NAME' took $(dt "$PH_T" "$EPOCHREALTIME") s"
	PH_NAME=$1 PH_T=$EPOCHREALTIME
	[ -n "$PH_NAME" ] && say "== $PH_NAME"
}
R1_PID=""
FAILED=0
fail() {
	FAILED=1
	echo "FAIL: $*" >&2
	[ -n "$R1_PID" ] && kill -CONT "$R1_PID" 2>/dev/null
	{
		echo "--- lab status"
		"$LAB" status
		echo "--- timeline"
		"$LAB" timeline
		echo "--- $M serial.log (tail)"
		tr -d '\r' <"$LAB_DIR/vms/$M/serial.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | grep -av '^\s*$' | tail -25
		echo "--- r1 provisiond.log (tail)"
		tail -30 "$LAB_DIR/provisiond/provisiond.log"
		echo "--- r2 replica-2.log (tail)"
		tail -20 "$LAB_DIR/provisiond/replica-2.log"
		echo "--- PostgreSQL server.log (tail)"
		tail -20 "$LAB_DIR/pg/server.log"
	} >&2 2>/dev/null
	exit 1
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$R1_PID" ] && kill -CONT "$R1_PID" 2>/dev/null
	phase "lab down"
	"$LAB" down || { echo "FAIL: lab down failed" >&2; rc=1; }
	phase ""
	[ -e "/run/netns/$LAB_NAME" ] && { echo "FAIL: netns $LAB_NAME left" >&2; rc=1; }
	lab_dir_left && { echo "FAIL: $LAB_DIR left" >&2; rc=1; }
	pgrep -u postgres -f "$LAB_DIR/pg/data" >/dev/null && { echo "FAIL: the lab's PostgreSQL still runs" >&2; rc=1; }
	echo "e2e_lab_pg phase durations:"
	printf '  %s\n' "${PHASES[@]}"
	echo "  total                              $(dt "$T0" "$EPOCHREALTIME") s"
	[ $rc -eq 0 ] && [ $FAILED -eq 0 ] && echo "e2e_lab_pg: PASS" || echo "e2e_lab_pg: FAIL"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

over_budget() { [ "$(dt "$T0" "$EPOCHREALTIME" | cut -d. -f1)" -ge "$BUDGET" ]; }
ctl() {
	"$LAB" ctl "$@" &
	wait $!
}
# the replicas as the database sees them, through r1: "NAME STATUS MACHINES" lines
replicas() { ctl -o json replica list | jq -r '.items[] | "\(.name) \(.status) \(.machines)"'; }
drives() { replicas | awk -v n="$1" '$1 == n { print $3 }'; }
machine_state() { ctl -o json machine show "$M" | jq -r .state; }

say "e2e on the lab with PostgreSQL and 2 replicas: $LAB_NAME in $LAB_DIR, build $BUILD"
"$LAB" down >/dev/null 2>&1

phase "lab up (postgres, 2 replicas, 1 VM)"
"$LAB" up --machines 1 --sku lab.small --bmc redfish --backend postgres --replicas 2 --no-wait ||
	fail "lab up failed"
. "$LAB_DIR/lab.env"
R1_PID=$(cat "$LAB_DIR/run/provisiond.pid")
R2_PID=$(cat "$LAB_DIR/run/provisiond-2.pid")
[ "$(replicas | awk '$2 == "live"' | wc -l)" = 2 ] || fail "not 2 live replicas: $(replicas)"
ctl -o json replica list | jq -e --arg a "$R1" --arg b "$R2" '[.items[] | select(.name == $a) | .roles | join(",")] == ["api,boot,engine"]
	and [.items[] | select(.name == $b) | .roles | join(",")] == ["api,engine"]' >/dev/null ||
	fail "replica roles: $(ctl -o json replica list | jq -c '[.items[] | {name, roles}]')"
# r2 has no boot listener and no dnsmasq: one dnsmasq in the lab, r1's child
[ "$(pgrep -f -c "dnsmasq.*$LAB_DIR/provisiond/dnsmasq")" = 1 ] || fail "expected exactly one dnsmasq"
grep -q dnsmasq "$LAB_DIR/provisiond/replica-2.log" && fail "r2 started a dnsmasq"
curl -fsS "$R2_URL/healthz" >/dev/null || fail "r2's API does not answer"
say "replicas: $(replicas | tr '\n' ';')"

phase "enroll -> available"
while [ "$(machine_state)" != available ]; do
	[ "$(machine_state)" = failed ] && fail "$M failed: $(ctl -o json machine show "$M" | jq -r .last_error)"
	over_budget && fail "over the budget waiting for available"
	sleep 1
done

phase "allocate; r2 drives the deploy"
ctl image register --name lab-image --path lab-image.raw >/dev/null || fail "image register failed"
SVC=$(ctl -o json token create --role service --owner e2e --name e2e | jq -r .token)
[ -n "$SVC" ] && [ "$SVC" != null ] || fail "no service token"
kill -STOP "$R1_PID"
T_ALLOC=$EPOCHREALTIME
ALLOC=$(PROVISIOND_URL=$R2_URL PROVISIOND_TOKEN=$SVC "$CTL" -o json allocation create --sku lab.small \
	--count 1 --image lab-image --name e2e-pg) || fail "allocation create (through r2) failed: $ALLOC"
ID=$(jq -r .id <<<"$ALLOC")
n=0
until [ "$(PROVISIOND_URL=$R2_URL PROVISIOND_TOKEN_FILE=$LAB_DIR/provisiond/admin-token "$CTL" -o json replica list |
	jq -r --arg b "$R2" '.items[] | select(.name == $b) | .machines')" = 1 ]; do
	n=$((n + 1))
	[ $n -lt 25 ] || fail "r2 did not claim $M within 5 s with r1 stopped"
	sleep 0.2
done
kill -CONT "$R1_PID"
say "allocation $ID (through r2's API): r2 claimed $M after $(dt "$T_ALLOC" "$EPOCHREALTIME") s; r1 resumed"

phase "deploy in progress -> kill -9 r2"
until tr -d '\r' <"$LAB_DIR/vms/$M/markers.log" | awk -v s="$T_ALLOC" '$1 >= s' | grep -q 'PROVISIOND-AGENT start'; do
	[ "$(machine_state)" = deploying ] || fail "$M is $(machine_state) before its agent ran"
	over_budget && fail "over the budget waiting for the agent"
	sleep 0.5
done
[ "$(machine_state)" = deploying ] || fail "$M is $(machine_state), expected deploying"
[ "$(drives "$R2")" = 1 ] || fail "r2 no longer drives $M (replicas: $(replicas | tr '\n' ';'))"
kill -KILL "$R2_PID"
T_KILL=$EPOCHREALTIME
say "agent running on $M (deploying, driven by r2): kill -9 r2 (pid $R2_PID)"

phase "take-over by r1"
until [ "$(drives "$R2")" != 1 ]; do
	[ "$(dt "$T_KILL" "$EPOCHREALTIME" | cut -d. -f1)" -lt "$TAKEOVER_BOUND" ] ||
		fail "r2's machine not taken over within ${TAKEOVER_BOUND}s: $(replicas | tr '\n' ';')"
	sleep 0.2
done
T_TAKE=$(dt "$T_KILL" "$EPOCHREALTIME")
say "r2's claim gone after $T_TAKE s (takeover_s 6, heartbeat_s 2): $(replicas | tr '\n' ';')"
replicas | grep -q "^$R2 live " && fail "r2 still shown live"
grep -q "took over from a silent replica" "$LAB_DIR/provisiond/provisiond.log" || fail "r1 did not log the take-over"

phase "deploy completes on r1"
while :; do
	st=$(ctl -o json allocation show "$ID" | jq -r .state)
	[ "$st" = ready ] && break
	case $st in deploying | pending | "") ;; *) fail "allocation $ID is $st" ;; esac
	over_budget && fail "over the budget waiting for allocation $ID (machine $(machine_state))"
	sleep 1
done
T_READY=$(dt "$T_ALLOC" "$EPOCHREALTIME")
[ "$(machine_state)" = active ] || fail "$M is $(machine_state), expected active"
MID=$(ctl -o json machine show "$M" | jq -r .id)
until grep -q "PROVISIOND-BOOTED allocation=$ID machine=$MID" "$LAB_DIR/vms/$M/markers.log"; do
	over_budget && fail "$M: no PROVISIOND-BOOTED allocation=$ID on its console"
	sleep 1
done
# the steps after the agent's write, by the replica that took over: boot
# device disk and the power cycle, seen by the VM's BMC after the kill
awk -v s="$T_KILL" '$1 >= s' "$LAB_DIR/vms/$M/bmc.log" | grep -q 'hook set boot default' ||
	fail "$M: no 'set boot default' at its BMC after the kill"
awk -v s="$T_KILL" '$1 >= s' "$LAB_DIR/vms/$M/bmc.log" | grep -Eq 'hook set (reset|power) 1' ||
	fail "$M: no power cycle at its BMC after the kill"
say "allocation $ID ready $T_READY s after the request; $M booted the deployed image: $(grep -m1 "PROVISIOND-BOOTED allocation=$ID" "$LAB_DIR/vms/$M/markers.log" | cut -d' ' -f2-)"
"$LAB" status
"$LAB" timeline --since "$T_ALLOC" "$M"
phase ""
echo "take-over after kill -9: $T_TAKE s; allocation -> ready: $T_READY s"
exit 0
