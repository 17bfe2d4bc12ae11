# e2e-lib.sh — what the end-to-end scripts on the libvirt lab share
# (tests/e2e/e2e.sh, tests/e2e/e2e-debian.sh); sourced by them, not run.
# Sets SRC, BUILD, LAB, BUDGET and T0, skips (exit 77) when not root, and
# defines the timing (dt, say, phase, print_phases, over_budget), the lab's
# environment (lab_env), the provisionctl calls (ctl, svc) and the wait for
# machine states (wait_all) and the failure (fail). Before sourcing:
# PH_WIDTH, the width of a phase's name in the durations (default 28),
# SERIAL_TAIL. A script may define check_faults (called on every round of
# wait_all), report_lab and report_vm (see fail).
# shellcheck shell=bash

SRC=${PROVISIOND_SOURCE_DIR:-$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)}
BUILD=${PROVISIOND_BINARY_DIR:-$SRC/build}
LAB=$SRC/lab/lab
BUDGET=${E2E_BUDGET_S:-900}
PH_WIDTH=${PH_WIDTH:-28}

[ "$(id -u)" -eq 0 ] || { echo "SKIP: the lab needs root"; exit 77; }

# need_tools TOOL...: skips (77) unless every tool is on PATH or in an sbin.
need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || [ -x "/sbin/$t" ] ||
			{ echo "SKIP: $t not installed (scripts/deps)"; exit 77; }
	done
}

# need_built PATH...: skips (77) unless every program is built under BUILD.
need_built() {
	local b
	for b in "$@"; do
		[ -x "$BUILD/$b" ] || { echo "SKIP: no $BUILD/$b"; exit 77; }
	done
}

# lab_env NAME DIR API BMC_PORT NET: the test's own lab (E2E_LAB_DIR
# overrides DIR); no token or URL of the caller's reaches provisionctl.
lab_env() {
	export LAB_NAME=$1 LAB_DIR=${E2E_LAB_DIR:-$2}
	export LAB_API=$3 LAB_BMC_PORT=$4 LAB_NET=$5
	export LAB_BUILD=$BUILD LAB_CACHE=${LAB_CACHE:-$BUILD/lab-cache}
	unset PROVISIOND_TOKEN PROVISIOND_TOKEN_FILE PROVISIOND_URL
}

T0=$EPOCHREALTIME
dt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[%6.1fs] %s\n' "$(dt "$T0" "$EPOCHREALTIME")" "$*"; }
PHASES=()
PH_NAME="" PH_T=""
phase() { # phase NAME: ends the running phase, starts the next
	[ -n "$PH_NAME" ] && PHASES+=("$(printf '%-*s %7.1f s' "$PH_WIDTH" "$PH_NAME" "$(dt "$PH_T" "$EPOCHREALTIME")")") &&
		say "phase '$PH_NAME' took $(dt "$PH_T" "$EPOCHREALTIME") s"
	PH_NAME=$1 PH_T=$EPOCHREALTIME
	[ -n "$PH_NAME" ] && say "== $PH_NAME"
}
print_phases() { # print_phases TEST
	echo "$1 phase durations:"
	printf '  %s\n' "${PHASES[@]}"
	printf '  %-*s %s s\n' "$PH_WIDTH" total "$(dt "$T0" "$EPOCHREALTIME")"
}
over_budget() { [ "$(dt "$T0" "$EPOCHREALTIME" | cut -d. -f1)" -ge "$BUDGET" ]; }

# The last N lines of VM directory D's serial console, without escapes and
# blank lines.
serial_tail() { # D N
	tr -d '\r' <"$1/serial.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | grep -av '^\s*$' | tail -"$2"
}

# Long calls run in the background so that INT/TERM reach the trap at once.
ctl() {
	"$LAB" ctl "$@" &
	wait $!
}
svc() {
	PROVISIOND_TOKEN=$SVC "$LAB" ctl "$@" &
	wait $!
}

# lab_dir_left: LAB_DIR still holds something `lab down` should have
# removed. It keeps only the files of a libvirtd started from it that still
# runs for other labs' domains: libvirt/ and run/libvirtd.pid (docs/lab.md).
lab_dir_left() {
	[ -e "$LAB_DIR" ] || return 1
	[ -n "$(find "$LAB_DIR" -mindepth 1 -maxdepth 1 ! -name libvirt ! -name run)" ] ||
		[ -n "$(find "$LAB_DIR/run" -mindepth 1 ! -name libvirtd.pid 2>/dev/null)" ]
}

# No check beyond the machines' states unless the script defines its own.
check_faults() { return 0; }

# fail MSG: the test fails (exit 1, FAILED=1) after what the lab shows on
# stderr: its status, report_lab, each VM's console (the last SERIAL_TAIL
# lines, default 25) and report_vm VMDIR, provisiond's log. A script may
# define report_lab and report_vm to show more.
# shellcheck disable=SC2034 # FAILED: read by the scripts
FAILED=0
SERIAL_TAIL=${SERIAL_TAIL:-25}
report_lab() { :; }
report_vm() { :; }
# shellcheck disable=SC2034
fail() {
	FAILED=1
	echo "FAIL: $*" >&2
	{
		echo "--- lab status"
		"$LAB" status
		report_lab
		for d in "$LAB_DIR"/vms/*/; do
			[ -f "$d/serial.log" ] || continue
			echo "--- $d serial.log (tail)"
			serial_tail "$d" "$SERIAL_TAIL"
			report_vm "$d"
		done
		echo "--- provisiond.log (tail)"
		tail -30 "$LAB_DIR/provisiond/provisiond.log"
	} >&2 2>/dev/null
	exit 1
}

# wait_all STATE N TIMEOUT: N lab machines in STATE; a failed one ends the test.
wait_all() {
	local want=$1 n=$2 timeout=$3 t=$EPOCHREALTIME json got
	while :; do
		json=$(ctl -o json machine list 2>/dev/null) || json='{"items":[]}'
		jq -e '[.items[] | select(.state == "failed")] | length == 0' <<<"$json" >/dev/null ||
			fail "machine failed: $(jq -c '[.items[] | select(.state == "failed") | {name, last_error}]' <<<"$json")"
		got=$(jq --arg s "$want" '[.items[] | select(.state == $s)] | length' <<<"$json")
		[ "$got" -ge "$n" ] && return 0
		check_faults
		[ "$(dt "$t" "$EPOCHREALTIME" | cut -d. -f1)" -ge "$timeout" ] && fail "after ${timeout}s only $got of $n machines $want: $(jq -c '[.items[] | {name, state}]' <<<"$json")"
		over_budget && fail "over the budget of ${BUDGET}s waiting for $want"
		sleep 1
	done
}
