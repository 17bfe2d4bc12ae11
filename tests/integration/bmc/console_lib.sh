# console_lib.sh - what the console capture tests share (sourced by api_console*.sh;
# bash). Before sourcing, set build and src; the test's own cleanup can go in a
# function console_cleanup_extra.
#   console_setup NAME     $work (a new directory, removed at exit unless KEEP=1),
#                          $pids (killed at exit: add the test's own), fail, ok
#   free_port              a port free on UDP and TCP
#   start_provisiond INI   provisiond on loopback with that configuration: $url,
#                          $admin, $ctl, PROVISIOND_URL and PROVISIOND_TOKEN_FILE
#   api PATH               GET with $TOKEN (default the admin's): the status; the
#                          body in $work/body
#   metric NAME            a sample of /metrics
#   wait_captured          until provisiond logs "console: capture started"
#   wait_console NAME RE   until `provisionctl machine console NAME` matches RE
#                          (90 tries, 0.5 s apart); the output in $got
#   start_vm PORT          a diskless SeaBIOS VM (TCG, 64 MiB, at most 120 s) whose
#                          serial port QEMU serves on TCP 127.0.0.1:PORT (a socket
#                          chardev listening without waiting, logged to
#                          $work/serial.log: what libvirt's <serial type='tcp'>
#                          with <log> gives the lab's VMs); it prints "No bootable
#                          device" and reboots every second
# shellcheck shell=bash

console_setup() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	pids=""
	trap console_cleanup EXIT INT TERM
}

console_cleanup() {
	if declare -F console_cleanup_extra >/dev/null; then console_cleanup_extra; fi
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}

fail() {
	echo "FAIL: $*" >&2
	tail -n 30 "$work/log" >&2 || true
	exit 1
}

ok() { echo "ok - $*"; }

free_port() {
	local p
	while :; do
		p=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
		ss -Hlun "sport = :$p" | grep -q . || ss -Hltn "sport = :$p" | grep -q . || {
			echo $p
			return
		}
	done
}

start_provisiond() {
	"$build/provisiond/provisiond" --init --db "$work/p.db" >/dev/null
	printf '%s\n' "$1" >"$work/p.ini"
	"$build/provisiond/provisiond" --db "$work/p.db" --config "$work/p.ini" --listen 127.0.0.1:0 \
		--boot-listen 127.0.0.1:0 --ready-file "$work/ready" 2>"$work/log" &
	pids="$pids $!"
	for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
	[ -s "$work/ready" ] || fail "provisiond did not start"
	url="http://127.0.0.1:$(cut -d' ' -f1 "$work/ready")"
	export PROVISIOND_URL="$url" PROVISIOND_TOKEN_FILE="$work/p.db.admin-token"
	admin=$(cat "$work/p.db.admin-token")
	ctl="$build/provisiond/client/provisionctl"
}

api() { curl -sS -H "Authorization: Bearer ${TOKEN:-$admin}" -o "$work/body" -w '%{http_code}' "$url$1"; }

metric() { curl -sS "$url/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

wait_captured() {
	for _ in $(seq 150); do
		grep -q '"console: capture started"' "$work/log" && return 0
		sleep 0.2
	done
	fail "no capture started: $(grep console "$work/log" | tail -3)"
}

wait_console() {
	got=""
	for _ in $(seq 90); do
		got=$("$ctl" machine console "$1" 2>/dev/null || true)
		echo "$got" | grep -Eq "$2" && return 0
		sleep 0.5
	done
	return 1
}

start_vm() {
	timeout 120 qemu-system-x86_64 -accel tcg -m 64 -display none -nodefaults -machine graphics=off \
		-chardev "socket,id=s0,host=127.0.0.1,port=$1,server=on,wait=off,logfile=$work/serial.log,logappend=on" \
		-serial chardev:s0 -boot order=c,reboot-timeout=1000 >"$work/qemu.out" 2>&1 &
	pids="$pids $!"
}
