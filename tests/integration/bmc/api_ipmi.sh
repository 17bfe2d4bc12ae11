#!/bin/sh
# BMCs through provisiond's API: real OpenIPMI ipmi_sim instances on loopback,
# each with the chassis-control hook that logs every call (chassis_hook.sh).
#   - verification really talks to the BMC; power on/off/cycle and boot
#     device pxe/disk through the API show up in the hook log, in order,
#     and the API reports the confirmed state
#   - wrong password: one clear error naming BMC and user, no retries,
#     machine out of the pool; PATCH with the right password re-verifies
#   - no BMC at the address: bounded by the timeout, circuit opens, other
#     machines unaffected
#   - a slow BMC: operations complete without duplicated power actions
# Usage: api_ipmi.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
here="$src/tests/integration/bmc"
# shellcheck source=tests/daemon_lib.sh
. "$src/tests/daemon_lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/api-ipmi.XXXXXX")
pids=""
cleanup() {
	kill_ours TERM $pids
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
command -v ipmi_sim >/dev/null || fail "ipmi_sim (package openipmi) is not installed"

free_udp_port() {
	while :; do
		p=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
		ss -Hlun "sport = :$p" | grep -q . || { echo $p; return; }
	done
}
# start_sim NAME: a simulated BMC (user admin / secret) on a free port
start_sim() {
	d="$work/$1"
	mkdir -p "$d/state"
	port=$(free_udp_port)
	sed -e "s|@NAME@|$1|" -e "s|@PORT@|$port|" -e "s|@HOOK@|$here/chassis_hook.sh|" \
		-e "s|@DIR@|$d|" -e "s|@GUID@|$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')|" \
		"$here/sim.lan.conf.in" >"$d/sim.lan.conf"
	cp "$here/sim.emu" "$d/sim.emu"
	echo 0 >"$d/power"
	(cd "$d" && exec setsid ipmi_sim -c "$d/sim.lan.conf" -f "$d/sim.emu" -s "$d/state" -n >sim.out 2>&1) &
	pids="$pids $!"
	echo "$port" >"$d/port"
}
for s in ok bad slow; do start_sim $s; done
echo 0.08 >"$work/slow/delay" # slow BMC: every set sleeps 80 ms
sleep 0.5

"$build/provisiond/provisiond" --init --db "$work/p.db" >/dev/null
cat >"$work/p.ini" <<INI
[lifecycle]
backoff_base_ms = 100
backoff_max_ms = 300
max_attempts = 3
verify_timeout_s = 60
[bmc]
call_timeout_ms = 1000
retries = 1
breaker_threshold = 2
breaker_cooldown_ms = 60000
confirm_timeout_ms = 5000
INI
pd_start
pids="$pids $pd_pid"
wait_state() {
	t=0
	until [ "$(show "$1" .state)" = "$2" ]; do
		t=$((t + 1))
		[ $t -le $((${3:-30} * 5)) ] || fail "$1 is $(show "$1" .state), expected $2: $(show "$1" .last_error)"
		sleep 0.2
	done
}
# enroll NAME SIM PASSWORD [PORT]
enroll() {
	printf '%s' "$3" >"$work/pw"
	"$ctl" machine enroll --name "$1" --mac "$4" --bmc-driver ipmi \
		--bmc-address "127.0.0.1:$5" --bmc-user admin --bmc-password-file "$work/pw" \
		--bmc-option workarounds=opensesspriv >/dev/null
}

# verification talks to the BMC, then park the machine in maintenance
enroll m-ok ok secret 52:54:00:b0:00:01 "$(cat "$work/ok/port")"
wait_state m-ok inspecting 30
grep -q '^get power' "$work/ok/hook.log" && grep -q '^set boot pxe' "$work/ok/hook.log" ||
	fail "verification did not read power and set the boot device: $(cat "$work/ok/hook.log")"
ok "verifying read the power state and set boot pxe on the real BMC"
"$ctl" machine maintenance on m-ok >/dev/null
wait_state m-ok maintenance 10
sleep 0.5
: >"$work/ok/hook.log"

"$ctl" machine power off m-ok >/dev/null || fail "power off"
[ "$("$ctl" -o json machine power status m-ok | jq -r .power)" = off ] || fail "status off"
"$ctl" machine power on m-ok >/dev/null || fail "power on"
[ "$("$ctl" -o json machine power status m-ok | jq -r .power)" = on ] || fail "status on"
"$ctl" machine power cycle m-ok >/dev/null || fail "power cycle"
"$ctl" machine bootdev pxe m-ok >/dev/null || fail "bootdev pxe"
"$ctl" machine bootdev disk m-ok --persistent >/dev/null || fail "bootdev disk"
sets=$(grep '^set' "$work/ok/hook.log" | tr '\n' '|')
want='set power 0|set power 1|set power 0|set power 1|set boot pxe|set boot default|'
[ "$sets" = "$want" ] || fail "hook saw '$sets', want '$want'"
[ "$(cat "$work/ok/power")" = 1 ] || fail "BMC power state"
ok "power off, on, cycle and boot pxe/disk reached the BMC exactly, in order; API reported confirmed states"

# wrong password
port_bad=$(cat "$work/bad/port")
t0=$(date +%s)
enroll m-bad bad wrong-password 52:54:00:b0:00:02 "$port_bad"
wait_state m-bad failed 30
err=$(show m-bad .last_error)
echo "$err" | grep -q "127.0.0.1:$port_bad" && echo "$err" | grep -q "admin" ||
	fail "credential error does not name BMC and user: $err"
echo "$err" | grep -qi "credential\|password\|auth" || fail "not an auth error: $err"
retries=$("$ctl" -o json machine events m-bad | jq '[.items[] | select(.reason | test("attempt"))] | length')
[ "$retries" = 0 ] || fail "wrong password was retried $retries times"
[ "$(show m-bad .state)" = failed ] && [ "$("$ctl" -o json machine list --state available | jq '.items|length')" = 0 ] ||
	fail "bad machine in the pool"
grep -q wrong-password "$work/log" && fail "password in the log"
# stored sealed (AES-256-GCM under p.db.key): not in the file nor its WAL
grep -qa wrong-password "$work/p.db" "$work/p.db-wal" 2>/dev/null && fail "password in the database"
ok "wrong password: '$err' — no retries, out of the pool ($(($(date +%s) - t0)) s)"
printf secret >"$work/pw2"
"$ctl" machine patch m-bad --bmc-driver ipmi --bmc-address "127.0.0.1:$port_bad" --bmc-user admin \
	--bmc-password-file "$work/pw2" --bmc-option workarounds=opensesspriv >/dev/null ||
	fail "patch credentials"
wait_state m-bad inspecting 30
ok "PATCH with the right password re-verified the machine"

# no BMC at the address
dead=$(free_udp_port)
t0=$(date +%s)
enroll m-dead x secret 52:54:00:b0:00:03 "$dead"
wait_state m-dead failed 60
el=$(($(date +%s) - t0))
err=$(show m-dead .last_error)
echo "$err" | grep -q "127.0.0.1:$dead" || fail "dead BMC error does not name it: $err"
[ $el -le 30 ] || fail "dead BMC took $el s"
echo "$err" | grep -qi "circuit\|unreachable\|timed out\|timeout" || fail "not a reachability error: $err"
"$ctl" metrics | grep -q 'provisiond_bmc' || fail "no BMC metrics"
"$ctl" machine power status m-ok >/dev/null || fail "other BMC affected"
ok "dead BMC failed in $el s: '$err'; other machines unaffected"

# slow BMC
enroll m-slow slow secret 52:54:00:b0:00:04 "$(cat "$work/slow/port")"
wait_state m-slow inspecting 30
"$ctl" machine maintenance on m-slow >/dev/null
wait_state m-slow maintenance 10
sleep 0.5
: >"$work/slow/hook.log"
"$ctl" machine power cycle m-slow >/dev/null || fail "slow cycle"
"$ctl" machine power off m-slow >/dev/null || fail "slow off"
sets=$(grep '^set' "$work/slow/hook.log" | tr '\n' '|')
[ "$sets" = 'set power 0|set power 1|set power 0|' ] || fail "slow BMC saw '$sets'"
ok "slow BMC (80 ms per set): cycle and off completed, no duplicated power actions"
echo "BMC through the API: all passed"
