#!/bin/sh
# provisiond's redfish driver through provisiond's API, against the lab's Redfish
# BMC (lab/redfish-bmc --simulate) on loopback, asserting on the BMC's operation
# log and its session list:
#   - verification reads power and sets boot Pxe; power off/on/cycle and boot
#     pxe (once) / disk (persistent) reach the BMC exactly, in order
#   - wrong password: the BMC's HTTP status and message in last_error, no retry
#   - a session deleted on the BMC is re-created by the next operation
#   - one session for 100 operations, none left after provisiond stops, one again
#     after it restarts
#   - https: a self-signed certificate is refused unless options.ca_file names it
# Usage: api_redfish.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/api-redfish.XXXXXX")
# shellcheck source=tests/daemon_lib.sh
. "$(dirname "$0")/../../daemon_lib.sh"
bmc_pid="" pd_pid="" tls_pid=""
cleanup() {
	[ -z "$tls_pid" ] || kill_ours TERM "$tls_pid"
	[ -z "$pd_pid" ] || kill_ours TERM "$pd_pid"
	[ -z "$bmc_pid" ] || kill_ours TERM "$bmc_pid"
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	tail -n 20 "$work/log" >&2 || true
	tail -n 20 "$work/oplog" >&2 || true
	exit 1
}
ok() { echo "ok - $*"; }

"$build/lab/redfish-bmc/redfish-bmc" --simulate s1,s2 --password s3cret --log "$work/oplog" \
	--port-file "$work/bmc.port" >"$work/bmc.out" 2>&1 &
bmc_pid=$!
n=0
while [ ! -s "$work/bmc.port" ]; do
	n=$((n + 1)); [ $n -lt 100 ] || fail "redfish-bmc did not start"; sleep 0.05
done
bmc="http://127.0.0.1:$(cat "$work/bmc.port")"
sessions() { curl -sf -u admin:s3cret "$bmc/redfish/v1/SessionService/Sessions" | jq '."Members@odata.count"'; }
created() { grep -c '"op":"session_created"' "$work/oplog" || true; }
# ops SYSTEM: the state changes the BMC saw, "|"-joined
ops() {
	jq -r "select(.system==\"$1\" and (.op==\"reset\" or .op==\"boot_override\")) |
		[.op, (.type // .target), (.enabled // \"\")] | join(\" \")" "$work/oplog" | tr '\n' '|'
}

"$build/provisiond/provisiond" --init --db "$work/p.db" >/dev/null
cat >"$work/p.ini" <<INI
[lifecycle]
backoff_base_ms = 100
backoff_max_ms = 300
max_attempts = 3
verify_timeout_s = 60
[bmc]
call_timeout_ms = 3000
retries = 1
confirm_timeout_ms = 5000
# no console capture: its open logs in and out on its own (api_console_redfish.sh),
# and this test counts the operations' logins
[console]
max_sessions = 0
INI
stop_pd() {
	kill -TERM "$pd_pid"
	wait "$pd_pid" || fail "provisiond exited $?"
	pd_pid=""
}
pd_start
wait_state() {
	t=0
	until [ "$(show "$1" .state)" = "$2" ]; do
		t=$((t + 1))
		[ $t -le $((${3:-30} * 5)) ] || fail "$1 is $(show "$1" .state), expected $2: $(show "$1" .last_error)"
		sleep 0.2
	done
}
# enroll NAME SYSTEM PASSWORD MAC
enroll() {
	printf '%s' "$3" >"$work/pw"
	"$ctl" machine enroll --name "$1" --mac "$4" --bmc-driver redfish --bmc-address "$bmc" \
		--bmc-user admin --bmc-password-file "$work/pw" --bmc-option system_id="$2" >/dev/null
}

enroll m-ok s1 s3cret 52:54:00:c0:00:01
wait_state m-ok inspecting 30
case $(ops s1) in 'boot_override Pxe Once|'*) ;; *) fail "verification: BMC saw '$(ops s1)'" ;; esac
ok "verifying found system s1 among two, read its power and set boot Pxe once"
"$ctl" machine maintenance on m-ok >/dev/null
wait_state m-ok maintenance 10
sleep 0.5
before=$(ops s1)
"$ctl" machine power on m-ok >/dev/null || fail "power on"
"$ctl" machine power off m-ok >/dev/null || fail "power off"
[ "$("$ctl" -o json machine power status m-ok | jq -r .power)" = off ] || fail "status off"
"$ctl" machine power on m-ok >/dev/null || fail "power on"
"$ctl" machine power cycle m-ok >/dev/null || fail "power cycle"
"$ctl" machine bootdev pxe m-ok >/dev/null || fail "bootdev pxe"
"$ctl" machine bootdev disk m-ok --persistent >/dev/null || fail "bootdev disk"
[ "$("$ctl" -o json machine power status m-ok | jq -r .power)" = on ] || fail "status on"
# the first "on" finds the machine on (inspection started it): nothing sent
want="${before}reset ForceOff |reset On |reset PowerCycle |boot_override Pxe Once|boot_override Hdd Continuous|"
[ "$(ops s1)" = "$want" ] || fail "BMC saw '$(ops s1)', want '$want'"
[ "$(ops s2)" = "" ] || fail "the other system was touched: $(ops s2)"
[ "$(sessions)" = 1 ] && [ "$(created)" = 1 ] || fail "$(created) logins, $(sessions) open sessions"
ok "power on/off/on/cycle and boot pxe/disk reached the BMC exactly, in order, over one session"

# wrong password
enroll m-bad s2 not-the-password 52:54:00:c0:00:02
wait_state m-bad failed 30
err=$(show m-bad .last_error)
echo "$err" | grep -q "HTTP 401" && echo "$err" | grep -q "user admin" &&
	echo "$err" | grep -q "Login failed: the user name or password is incorrect." ||
	fail "wrong password error: $err"
[ "$(grep -c '"op":"auth_failed"' "$work/oplog")" = 1 ] || fail "wrong password tried $(grep -c auth_failed "$work/oplog") times"
grep -q not-the-password "$work/log" && fail "password in the log"
ok "wrong password: '$err', tried once"

# a session deleted on the BMC (expired, or an operator's logout) is re-created
sid=$(curl -sf -u admin:s3cret "$bmc/redfish/v1/SessionService/Sessions" | jq -r '.Members[0]."@odata.id"')
curl -sf -u admin:s3cret -X DELETE "$bmc$sid" || fail "delete $sid"
[ "$(sessions)" = 0 ] || fail "session not deleted"
[ "$("$ctl" -o json machine power status m-ok | jq -r .power)" = on ] || fail "status after delete"
[ "$(sessions)" = 1 ] && [ "$(created)" = 2 ] || fail "not re-created: $(created) logins, $(sessions) open"
ok "a session deleted on the BMC was re-created by the next operation"

# 100 operations, one session
i=0
while [ $i -lt 100 ]; do
	"$ctl" machine power status m-ok >/dev/null || fail "status $i"
	i=$((i + 1))
done
[ "$(sessions)" = 1 ] && [ "$(created)" = 2 ] || fail "after 100 operations: $(created) logins, $(sessions) open"
ok "100 operations: no new login, one session open"

# https: verified against the CA file given; refused without it
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1; then
	"$build/lab/redfish-bmc/redfish-bmc" --simulate tls1 --password s3cret --log "$work/oplog.tls" \
		--port-file "$work/tls.port" --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" \
		>"$work/tls.out" 2>&1 &
	tls_pid=$!
	n=0
	while [ ! -s "$work/tls.port" ]; do
		n=$((n + 1)); [ $n -lt 100 ] || fail "TLS redfish-bmc did not start"; sleep 0.05
	done
	printf s3cret >"$work/pw"
	"$ctl" machine enroll --name m-tls --mac 52:54:00:c0:00:03 --bmc-driver redfish \
		--bmc-address "https://127.0.0.1:$(cat "$work/tls.port")" --bmc-user admin \
		--bmc-password-file "$work/pw" >/dev/null
	wait_state m-tls failed 30
	show m-tls .last_error | grep -qi "certificate" || fail "unverified TLS: $(show m-tls .last_error)"
	"$ctl" machine patch m-tls --bmc-driver redfish \
		--bmc-address "https://127.0.0.1:$(cat "$work/tls.port")" --bmc-user admin \
		--bmc-password-file "$work/pw" --bmc-option ca_file="$work/cert.pem" >/dev/null
	wait_state m-tls inspecting 30
	kill_ours TERM "$tls_pid"
	tls_pid=""
	ok "https: a self-signed BMC is refused by default, accepted with options.ca_file"
fi

# restart: provisiond logs out when it stops
stop_pd
[ "$(sessions)" = 0 ] || fail "$(sessions) session(s) left open after provisiond stopped"
pd_start
"$ctl" machine power status m-ok >/dev/null || fail "status after restart"
[ "$(sessions)" = 1 ] || fail "$(sessions) sessions after restart"
stop_pd
[ "$(sessions)" = 0 ] || fail "$(sessions) session(s) left open after the second stop"
ok "provisiond stopped: no session left open; restarted: one session again"
echo "redfish through the API: all passed"
