#!/bin/bash
# The operations runbook (docs/operations.md, "Runbook" to "Re-verifying after
# a BMC repair") against the real daemon, real provisionctl, sqlite3 and
# simulated IPMI BMCs (OpenIPMI's ipmi_sim): each block marked
# <!-- runbook: NAME --> is taken from the document and run as it stands, one
# step per runbook action, then its effect is checked:
#   1. backup while the daemon runs, key file to the vault; lose database and
#      key; restore: machines, allocations intact, a change made after the
#      backup gone, the sealed BMC password opens again (a real IPMI call);
#      with a wrong key file the same call fails
#   2. rotate the admin token: the old one gets 401, the new one works
#   3. drain a SKU: an allocation in flight completes, a new one is refused
#      (quota_exceeded); the undrain puts the owner's quota back
#   4. quarantine a machine: maintenance with its reason, out of the pool; a
#      machine serving an allocation is refused
#   5. re-verify after a BMC repair: maintenance off, repair action (dead BMC
#      brought back), new BMC password: each passes verification again
# Usage: runbook.sh BUILD_DIR SOURCE_DIR
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
doc="$src/docs/operations.md"
bmc_here="$src/tests/integration/bmc"
work=$(mktemp -d "${TMPDIR:-/tmp}/runbook.XXXXXX")
sims=""
step="setup"
cleanup() {
	rc=$?
	[ -s "$work/pid" ] && kill "$(cat "$work/pid")" 2>/dev/null || true
	for p in $sims; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ $rc -ne 0 ]; then
		echo "FAIL in step: $step" >&2
		grep -v '"msg":"request"' "$work/log" 2>/dev/null | tail -n 20 >&2 || true
	fi
	[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
ok() { echo "ok - $*"; }
for tool in ipmi_sim sqlite3 jq ss; do
	command -v $tool >/dev/null || fail "$tool is not installed"
done

# runbook NAME: the commands of the block marked NAME in docs/operations.md
runbook() {
	awk -v name="$1" '
		$0 == "<!-- runbook: " name " -->" { want = 1; next }
		want == 1 && $0 == "```sh" { want = 2; next }
		want == 1 { exit 1 }
		want == 2 && $0 == "```" { found = 1; exit }
		want == 2 { print }
		END { exit found ? 0 : 1 }' "$doc"
}
# run NAME: runs that block in this shell, as an operator would paste it
# (set -e: a failing command fails the test)
run() {
	local cmds
	cmds=$(runbook "$1") || fail "docs/operations.md has no runbook block '$1'"
	[ -n "$cmds" ] || fail "runbook block '$1' is empty"
	step="runbook block '$1'"
	echo "--- runbook: $1"
	eval "$cmds"
}

# Below the kernel's ephemeral range (32768 up), where other tests' port-0
# listeners and outgoing connections land between our check and our bind.
free_port() { # free_port tcp|udp
	while :; do
		p=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
		ss -Hl"${1:0:1}"n "sport = :$p" | grep -q . || { echo $p; return; }
	done
}
# sim_prepare NAME: a simulated BMC (user admin, password secret) on a free
# UDP port ($work/NAME/port); sim_run NAME starts it
sim_prepare() {
	local d="$work/$1"
	mkdir -p "$d/state"
	free_port udp >"$d/port"
	sed -e "s|@NAME@|$1|" -e "s|@PORT@|$(cat "$d/port")|" -e "s|@HOOK@|$bmc_here/chassis_hook.sh|" \
		-e "s|@DIR@|$d|" -e "s|@GUID@|$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')|" \
		"$bmc_here/sim.lan.conf.in" >"$d/sim.lan.conf"
	cp "$bmc_here/sim.emu" "$d/sim.emu"
	echo 0 >"$d/power"
}
sim_run() {
	(cd "$work/$1" && exec setsid ipmi_sim -c sim.lan.conf -f sim.emu -s state -n >sim.out 2>&1) &
	sims="$sims $!"
	sleep 0.5
}

# The service: provisiond in the foreground, as a unit would run it;
# "systemctl stop|start provisiond" in the runbook lands here.
start_daemon() {
	rm -f "$work/ready"
	"$build/provisiond/provisiond" --config "$work/p.ini" --ready-file "$work/ready" \
		2>>"$work/log" &
	echo $! >"$work/pid"
	local n=0
	while [ ! -s "$work/ready" ]; do
		n=$((n + 1))
		[ $n -lt 100 ] || fail "provisiond did not start"
		kill -0 "$(cat "$work/pid")" 2>/dev/null || fail "provisiond exited at start"
		sleep 0.1
	done
}
stop_daemon() { # a stopped one stays stopped, as with systemctl
	local pid rc=0
	pid=$(cat "$work/pid")
	[ -n "$pid" ] || return 0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ $rc -eq 0 ] || fail "provisiond stopped with status $rc"
	: >"$work/pid"
}
systemctl() {
	[ "${2:-}" = provisiond ] || fail "systemctl $*: not the provisiond unit"
	case $1 in
	stop) stop_daemon ;;
	start) start_daemon ;;
	*) fail "systemctl $1: not simulated" ;;
	esac
}

show() { provisionctl -o json machine show "$1" | jq -r "$2"; }
wait_state() { # wait_state MACHINE STATE [SECONDS]
	local t=0
	until [ "$(show "$1" .state)" = "$2" ]; do
		t=$((t + 1))
		[ $t -le $((${3:-60} * 5)) ] ||
			fail "$1 is $(show "$1" .state), expected $2: $(show "$1" .last_error)"
		sleep 0.2
	done
}

# ------------------------------------------------------------------ setup
cd "$work"
mkdir -p -m 0700 var backup
mkdir -p images ramdisk
export PATH="$build/provisiond/client:$PATH" # provisionctl as installed
api_port=$(free_port tcp)
cat >p.ini <<INI
[server]
listen = 127.0.0.1:$api_port
boot_listen = 127.0.0.1:0
[database]
path = $work/var/provisiond.db
[boot]
images_dir = $work/images
ramdisk_dir = $work/ramdisk
[lifecycle]
backoff_base_ms = 100
backoff_max_ms = 300
max_attempts = 2
[bmc]
call_timeout_ms = 1000
retries = 0
breaker_threshold = 1000
confirm_timeout_ms = 5000
INI
# the runbook's variables, for this installation (the blocks read them)
export PROVISIOND_URL="http://127.0.0.1:$api_port"
export PROVISIOND_TOKEN_FILE="$work/var/provisiond.db.admin-token"
DB="$work/var/provisiond.db"
KEY="$work/var/provisiond.db.key"
# shellcheck disable=SC2034 # read by the backup block
BACKUPS="$work/backup"
VAULT="$work/vault"

"$build/provisiond/provisiond" --init --config p.ini >/dev/null
start_daemon
for s in a b c; do sim_prepare $s; done
sim_run a
sim_run c # b stays dead until its repair (step 5)
printf 'secret\n' >bmc.pw
chmod 600 bmc.pw
for i in 1 2 3; do
	provisionctl machine enroll --name "f$i" --mac "52:54:00:d0:00:0$i" --bmc-driver fake \
		--bmc-option sku=lab.small --bmc-option delay_ms=100 >/dev/null
done
provisionctl machine enroll --name ipmi-a --mac 52:54:00:d0:01:0a --bmc-driver ipmi \
	--bmc-address "127.0.0.1:$(cat a/port)" --bmc-user admin --bmc-password-file bmc.pw \
	--bmc-option workarounds=opensesspriv >/dev/null
head -c 65536 /dev/urandom >images/img.raw
provisionctl image register --name img --path img.raw \
	--sha256 "$(sha256sum images/img.raw | cut -d' ' -f1)" >/dev/null
(umask 077 && provisionctl token create --role service --owner search -o json |
	jq -r .token >search.token)
for m in f1 f2 f3; do wait_state $m available; done
wait_state ipmi-a inspecting 30 # verified through the real BMC: its password works
as_search() { PROVISIOND_TOKEN_FILE="$work/search.token" provisionctl "$@"; }
as_search allocation create --sku lab.small --count 1 --image img --name before-backup \
	--wait 60 >/dev/null
ok "setup: 3 fake machines, one on a real IPMI BMC, an allocation ready"

# ------------------------------------------------- 1. backup and restore
run backup-key
run backup
step="backup checks"
[ -f "$BACKUP" ] || fail "no backup file at $BACKUP"
[ "$(stat -c %a "$BACKUP")" = 600 ] || fail "backup mode $(stat -c %a "$BACKUP")"
[ "$(sqlite3 "$BACKUP" 'PRAGMA integrity_check')" = ok ] || fail "backup integrity"
cmp -s "$KEY" "$VAULT/provisiond.db.key" || fail "key file not in the vault"
grep -qa secret "$BACKUP" && fail "the BMC password is in clear in the backup"
ok "online backup (mode 600, integrity ok, BMC password sealed) and the key file in the vault"
provisionctl machine enroll --name after-backup --mac 52:54:00:d0:00:99 --bmc-driver fake \
	--bmc-option sku=lab.small >/dev/null
# the disaster: the daemon dies with its disk (database and key file)
kill -9 "$(cat "$work/pid")"
wait "$(cat "$work/pid")" 2>/dev/null || true
: >"$work/pid"
rm -f "$DB" "$DB-wal" "$DB-shm" "$KEY"
run restore
step="restore checks"
provisionctl machine show after-backup >/dev/null 2>&1 && fail "a machine enrolled after the backup is back"
n=$(provisionctl -o json machine list | jq '.items | length')
[ "$n" = 4 ] || fail "$n machines after the restore, expected 4"
al=$(as_search -o json allocation list | jq -c '[.items[] | select(.name == "before-backup")][0]')
[ "$(echo "$al" | jq -r .state)" = ready ] || fail "allocation after the restore: $al"
[ "$(as_search -o json allocation show "$(echo "$al" | jq -r .id)" | jq '.machines | length')" = 1 ] ||
	fail "the allocation lost its machine"
: >a/hook.log
provisionctl -o json machine power status ipmi-a | jq -e '.power == "on" or .power == "off"' >/dev/null ||
	fail "power status through the restored, sealed BMC password"
grep -q '^get power' a/hook.log || fail "the BMC was not asked: $(cat a/hook.log)"
ok "restore: machines and the allocation as at the backup; the sealed BMC password opens (real IPMI call)"
# the same call with another key file fails: the check above is not blind
systemctl stop provisiond
cp "$KEY" key.right
(umask 077 && openssl rand -hex 32 >"$KEY")
systemctl start provisiond
provisionctl machine power status ipmi-a >/dev/null 2>err.txt && fail "a wrong key opened the password"
grep -q "does not decrypt" err.txt || fail "wrong key: $(cat err.txt)"
systemctl stop provisiond
install -m 0600 key.right "$KEY"
systemctl start provisiond
provisionctl machine power status ipmi-a >/dev/null
ok "with a wrong key file the BMC call fails ($(head -n1 err.txt)); the right one opens it again"

# ------------------------------------------------- 2. rotate the admin token
old_token=$(head -n1 "$PROVISIOND_TOKEN_FILE")
run rotate-admin-token
step="token rotation checks"
[ "$(head -n1 "$PROVISIOND_TOKEN_FILE")" != "$old_token" ] || fail "the token file was not rewritten"
[ "$(stat -c %a "$PROVISIOND_TOKEN_FILE")" = 600 ] || fail "token file mode"
rc=0
provisionctl --token "$old_token" machine list >/dev/null 2>err.txt || rc=$?
[ $rc = 1 ] && grep -q "HTTP 401" err.txt || fail "the old token still works (exit $rc): $(cat err.txt)"
provisionctl machine list >/dev/null || fail "the new token does not work"
[ "$(provisionctl -o json token list | jq '[.items[] | select(.role == "admin")] | length')" = 1 ] ||
	fail "admin tokens after the rotation: $(provisionctl token list)"
ok "admin token rotated: the old one gets 401, the new one works"

# ------------------------------------------------- 3. drain a SKU
provisionctl quota set search lab.small 3 >/dev/null # a quota to put back afterwards
as_search -o json allocation create --sku lab.small --count 1 --image img --name in-flight >al.json
[ "$(jq -r .state al.json)" = deploying ] || fail "allocation not in flight: $(cat al.json)"
run drain-sku
step="drain checks"
[ "$(as_search -o json allocation show "$(jq -r .id al.json)" | jq -r .state)" = ready ] ||
	fail "the allocation in flight did not complete"
rc=0
as_search allocation create --sku lab.small --count 1 --image img >/dev/null 2>err.txt || rc=$?
[ $rc = 1 ] && grep -q quota_exceeded err.txt || fail "drained SKU allocated (exit $rc): $(cat err.txt)"
ok "drain: the allocation in flight completed, a new one is refused (quota_exceeded)"
run undrain-sku
step="undrain checks"
q=$(provisionctl -o json quota list search | jq '.items[] | select(.sku == "lab.small") | .machines')
[ "$q" = 3 ] || fail "quota after the undrain: $q, expected 3"
as_search -o json allocation create --sku lab.small --count 1 --image img --wait 60 >al2.json
[ "$(jq -r .state al2.json)" = ready ] || fail "no allocation after the undrain: $(cat al2.json)"
as_search allocation release "$(jq -r .id al2.json)" --wait 60 >/dev/null
ok "undrain: the owner's quota is back (3) and the SKU allocates again"

# ------------------------------------------------- 4. quarantine a machine
step="quarantine setup"
# the runbook's example machine, in the pool (enrolled now: never allocated)
provisionctl machine enroll --name r12-u07 --mac 52:54:00:d0:00:07 --bmc-driver fake \
	--bmc-option sku=lab.small --bmc-option delay_ms=100 >/dev/null
wait_state r12-u07 available 60
busy=$(provisionctl -o json machine list | jq -r '[.items[] | select(.allocation_id != null)][0].name')
[ "$busy" != null ] || fail "no machine serves an allocation"
rc=0
provisionctl machine maintenance on "$busy" --reason test >/dev/null 2>&1 || rc=$?
[ $rc = 1 ] || fail "a machine serving an allocation went into maintenance (exit $rc)"
run quarantine
step="quarantine checks"
[ "$(show "$M" .state)" = maintenance ] || fail "$M is $(show "$M" .state)"
[ "$(show "$M" .maintenance_reason)" = "ECC errors on DIMM B2" ] || fail "reason: $(show "$M" .maintenance_reason)"
[ "$(provisionctl -o json capacity | jq '.skus["lab.small"].in_maintenance')" = 1 ] ||
	fail "capacity: $(provisionctl capacity)"
ok "quarantine: $M in maintenance with its reason, out of the pool; a machine in service refused"

# ------------------------------------------------- 5. re-verify after a BMC repair
run maintenance-off
step="maintenance off checks"
wait_state "$M" available 60
provisionctl -o json machine events "$M" | jq -e '[.items[] | select(.to == "verifying")] | length >= 2' \
	>/dev/null || fail "$M was not verified again"
ok "maintenance off: $M verified, inspected and cleaned again, available"

step="dead BMC"
provisionctl machine enroll --name ipmi-b --mac 52:54:00:d0:01:0b --bmc-driver ipmi \
	--bmc-address "127.0.0.1:$(cat b/port)" --bmc-user admin --bmc-password-file bmc.pw \
	--bmc-option workarounds=opensesspriv >/dev/null
wait_state ipmi-b failed 60
sim_run b # the repair: the BMC answers again, same address and password
M=ipmi-b
run bmc-repaired
step="repair checks"
wait_state ipmi-b inspecting 30
grep -q '^get power' b/hook.log || fail "verification did not reach the repaired BMC"
ok "repair action: ipmi-b, failed with a dead BMC, passed verification on the repaired one"

step="wrong password"
printf 'wrong\n' >old.pw
provisionctl machine enroll --name ipmi-c --mac 52:54:00:d0:01:0c --bmc-driver ipmi \
	--bmc-address "127.0.0.1:$(cat c/port)" --bmc-user admin --bmc-password-file old.pw \
	--bmc-option workarounds=opensesspriv >/dev/null
wait_state ipmi-c failed 30
M=ipmi-c
# shellcheck disable=SC2034 # read by the block
BMC_PASSWORD_FILE="$work/bmc.pw"
run bmc-new-access
step="new access checks"
wait_state ipmi-c inspecting 30
run follow >follow.txt
grep -q verifying follow.txt || fail "the events do not show the verification: $(cat follow.txt)"
ok "new BMC password: ipmi-c passed verification again"
step="done"
echo "runbook: all passed"
