#!/bin/sh
# The supervised dnsmasq never outlives provisiond and is never doubled:
# provisiond ([dnsmasq] mode full) in a network namespace this test makes,
# then, three times, `kill -9` of provisiond and a restart as a supervisor
# would: after each kill no dnsmasq of this configuration keeps running
# (it holds the DHCP and TFTP ports), after each restart exactly one runs.
# A dnsmasq left running by an earlier provisiond (started by hand here,
# as one that outlived its parent would be) is stopped at start; a dnsmasq
# with another configuration is left alone. SIGTERM stops both.
# Usage: dnsmasq_orphan.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
for t in dnsmasq ip jq; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/dnsmasq-orphan.XXXXXX")
ns="pdorph$$"
other=""
cleanup() {
	[ -z "${pd_pid:-}" ] || kill_ours 9 "$pd_pid"
	[ -z "$other" ] || kill "$other" 2>/dev/null || true
	for p in $(ours); do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	echo "--- dnsmasq processes" >&2
	pgrep -a dnsmasq >&2 || true
	echo "--- provisiond log (tail)" >&2
	grep -v '"msg":"request"' "$work/log" | tail -n 20 >&2 || true
	exit 1
}
ok() { echo "ok - $*"; }

# pids of the dnsmasq processes running this test's configuration
ours() {
	for d in /proc/[0-9]*; do
		tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -q -- "--conf-file=$work/dnsmasq/dnsmasq.conf" &&
			echo "${d#/proc/}"
	done
	return 0
}
count() { ours | wc -l; }
# wait_count N SECONDS: until exactly N of ours run
wait_count() {
	i=0
	while [ "$(count)" -ne "$1" ]; do
		i=$((i + 1))
		[ $i -le $(($2 * 10)) ] || fail "$(count) dnsmasq of this configuration running, expected $1"
		sleep 0.1
	done
}

ip netns add "$ns" || { echo "SKIP: cannot create a network namespace"; exit 77; }
ip -n "$ns" link add boot0 type veth peer name boot1
ip -n "$ns" link set boot1 up
ip -n "$ns" addr add 10.98.0.1/24 dev boot0
ip -n "$ns" link set boot0 up

# shellcheck source=tests/daemon_lib.sh
. "$src/tests/daemon_lib.sh"
"$build/provisiond/provisiond" --init --db "$work/p.db" >/dev/null
cat >"$work/p.ini" <<INI
[server]
boot_url = http://10.98.0.1:8081
[dnsmasq]
mode = full
interface = boot0
netns = $ns
range_start = 10.98.0.100
range_end = 10.98.0.200
netmask = 255.255.255.0
dir = $work/dnsmasq
INI
pd_start
wait_count 1 10
ok "provisiond started one dnsmasq"

for round in 1 2 3; do
	kill -9 "$pd_pid"
	wait "$pd_pid" 2>/dev/null || true
	wait_count 0 5
	pd_start
	wait_count 1 10
	ok "kill -9 $round: its dnsmasq went with it; the restart runs exactly one"
done

# One that outlived an earlier provisiond (here: started by hand, not a
# child of the daemon) and one with another configuration.
kill -9 "$pd_pid"
wait "$pd_pid" 2>/dev/null || true
wait_count 0 5
ip netns exec "$ns" dnsmasq --keep-in-foreground --conf-file="$work/dnsmasq/dnsmasq.conf" \
	>/dev/null 2>&1 &
wait_count 1 5
stray=$(ours)
sed -e "s|$work/dnsmasq/|$work/other-|" -e 's/^interface=.*/interface=lo/' \
	-e '/^dhcp-\|^enable-tftp\|^tftp-\|^except-interface/d' \
	"$work/dnsmasq/dnsmasq.conf" >"$work/other.conf"
dnsmasq --keep-in-foreground --conf-file="$work/other.conf" >/dev/null 2>&1 &
other=$!
sleep 0.5
kill -0 "$other" 2>/dev/null || fail "the other dnsmasq did not start"
pd_start
wait_count 1 10
[ "$(ours)" != "$stray" ] || fail "the stray dnsmasq $stray still runs"
kill -0 "$other" 2>/dev/null || fail "the dnsmasq of another configuration was stopped"
grep -q '"stopped a dnsmasq left running"' "$work/log" ||
	fail "no log line for the stray dnsmasq stopped"
ok "a stray dnsmasq of this configuration stopped at start (logged), another configuration's left alone"

kill -TERM "$pd_pid"
wait "$pd_pid" 2>/dev/null || true
pd_pid=""
wait_count 0 5
ok "SIGTERM: provisiond stopped its dnsmasq"
