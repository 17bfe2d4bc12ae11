# soak.sh — `lab soak`: allocate -> deploy -> ready -> release cycles on the
# lab's VMs while faults are injected at random, counting the human actions
# the lab needed (the target is none). Sourced by lab/lab, whose functions it
# uses (ctl, say, die, replica_start, bmc_run_ipmi, vm_dirs, lab_pid_is...).
# docs/lab.md#soak, docs/reliability.md.
#
# Faults (--faults, a comma-separated subset) are taken in turn from that
# list shuffled by the seed, --per-cycle of them (default 1) per cycle: the
# last at a random moment (before the allocation, between cycles; while it
# deploys; or while its machines are cleaned after the release), the others
# before the allocation. A VM is never destroyed between cycles (it is off):
# that fault comes last, while a machine boots.
#   bmc      a machine's ipmi_sim killed (SIGKILL), restarted 5-60 s later
#            (the BMC's own watchdog, not a human)
#   vm       a machine's domain destroyed (virsh destroy) while it boots:
#            in iPXE, in the agent or from its disk. Nothing but provisiond,
#            through the BMC, brings it back
#   daemon   provisiond kill -9ed, restarted 1-5 s later on the same
#            configuration and database (a supervisor's restart)
#   dnsmasq  provisiond's dnsmasq kill -9ed; provisiond supervises it
# A human action is anything the lab would need provisionctl or a repair
# for: a machine left failed or in maintenance beyond --grace, one stuck in
# a waiting state beyond the settle time, an allocation not ready within
# --cycle-timeout, dnsmasq not running again within 30 s. The soak does what
# the human would (repair, maintenance off, a power cycle, release) so the
# next cycle can run, and counts it.
# shellcheck shell=bash
# shellcheck disable=SC2154 # iso_to_epoch_jq and the settings are lab/lab's

SOAK_KINDS_ALL=bmc,vm,daemon,dnsmasq
declare -A SOAK_FAULTS=()
SOAK_HUMAN=()
SOAK_DONE=0 SOAK_SUBS=0 SOAK_T0="" SOAK_KEEP=0 SOAK_OWN=0
SOAK_CYCLE_TIMEOUT=420 SOAK_GRACE=240 SOAK_SETTLE=300
SOAK_ALLOCS=()
SOAK_BG=() # BMC restarts still sleeping
# the fault waiting for its moment: kind, target VM dir, not before (epoch s), console marker
P_KIND="" P_VM="" P_AT=0 P_MARK="" P_SINCE=0

soak_usage() {
	die "usage: lab soak --cycles N [--machines M] [--seed S] [--count C] [--faults KIND,...] [--per-cycle N] [--cycle-timeout S] [--grace S] [--keep]"
}

soak_int() { [[ $2 =~ ^[0-9]+$ ]] || die "lab soak: $1 takes a number, not '$2'"; }

cmd_soak() {
	local cycles="" machines=2 seed=$((RANDOM * 32768 + RANDOM)) count="" faults=$SOAK_KINDS_ALL c k
	SOAK_PER_CYCLE=1
	while [ $# -gt 0 ]; do
		case $1 in
		--cycles) soak_int "$1" "${2:-}"; cycles=$2; shift 2 ;;
		--machines) soak_int "$1" "${2:-}"; machines=$2; shift 2 ;;
		--seed) soak_int "$1" "${2:-}"; seed=$2; shift 2 ;;
		--count) soak_int "$1" "${2:-}"; count=$2; shift 2 ;;
		--faults) faults=$2; shift 2 ;;
		--per-cycle) soak_int "$1" "${2:-}"; SOAK_PER_CYCLE=$2; shift 2 ;;
		--cycle-timeout) soak_int "$1" "${2:-}"; SOAK_CYCLE_TIMEOUT=$2; shift 2 ;;
		--grace) soak_int "$1" "${2:-}"; SOAK_GRACE=$2; shift 2 ;;
		--keep) SOAK_KEEP=1; shift ;;
		*) soak_usage ;;
		esac
	done
	[ -n "$cycles" ] && [ "$cycles" -ge 1 ] || soak_usage
	[ "$machines" -ge 1 ] || die "lab soak: --machines must be at least 1"
	[[ $faults =~ ^(none|(bmc|vm|daemon|dnsmasq)(,(bmc|vm|daemon|dnsmasq))*)$ ]] ||
		die "lab soak: --faults takes none or a list of $SOAK_KINDS_ALL"
	need_root
	IFS=, read -r -a SOAK_KINDS <<<"${faults/#none/}"
	RANDOM=$((seed % 32768))
	soak_shuffle
	soak_lab "$machines"
	SOAK_T0=$EPOCHREALTIME # the soak's figures start here, after a lab up
	machines=$(vm_dirs | wc -l)
	[ -n "$count" ] || count=$((machines > 1 ? machines - 1 : 1))
	for k in bmc vm daemon dnsmasq; do SOAK_FAULTS[$k]=0; done
	trap soak_end EXIT
	trap 'exit 130' INT TERM
	say "soak: $cycles cycles of allocate $count x $LAB_SKU -> ready -> release on $machines VMs, seed $seed, faults ${SOAK_KINDS[*]:-none} in turn, $SOAK_PER_CYCLE per cycle"
	soak_prepare
	SOAK_CYCLES=$cycles
	for ((c = 1; c <= cycles; c++)); do
		soak_cycle "$c" "$count"
	done
}

# The lab to soak: the one up in LAB_DIR (its BMCs must be ipmi_sim), or a
# new one of M lab.small VMs, taken down at the end unless --keep. A new
# lab's provisiond gives an agent or deployed OS 90 s to call in after its
# boot.
soak_lab() {
	local m=$1 d
	if [ ! -f "$LAB_DIR/lab.env" ]; then
		mkdir -p "$LAB_DIR"
		printf '[lifecycle]\nagent_boot_timeout_s = 90\n' >"$LAB_DIR/soak.ini"
		LAB_PROVISIOND_INI_EXTRA=$LAB_DIR/soak.ini T0=$T0 "$0" up --machines "$m" --sku lab.small --bmc ipmi ||
			die "lab up failed"
		SOAK_OWN=1
		load_settings
	fi
	for d in $(vm_dirs); do
		grep -qs '^VM_BMC_KIND=redfish$' "$d/vm.env" && die "lab soak: $d has a Redfish BMC; the soak kills ipmi_sim BMCs (lab up --bmc ipmi)"
	done
	[ "$LAB_BACKEND" = sqlite ] || die "lab soak: the lab runs on $LAB_BACKEND; the soak restarts the one SQLite provisiond"
	return 0
}

soak_prepare() {
	ctl image show lab-image >/dev/null 2>&1 ||
		ctl image register --name lab-image --path lab-image.raw >/dev/null || die "image register failed"
	SOAK_SVC=$(ctl -o json token create --role service --owner soak --name "soak-$$" | jq -r .token)
	[ -n "$SOAK_SVC" ] && [ "$SOAK_SVC" != null ] || die "token create failed"
	soak_settle 600 >/dev/null # the pool as it is: every machine available
}

# provisionctl as the soak's service; a daemon being restarted answers nothing.
svc_ctl() { PROVISIOND_TOKEN=$SOAK_SVC PROVISIOND_TOKEN_FILE="" ctl "$@"; }

# SOAK_KINDS in a random order (Fisher-Yates), taken in turn by the cycles.
SOAK_NEXT=0
soak_shuffle() {
	local i j t
	for ((i = ${#SOAK_KINDS[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1)))
		t=${SOAK_KINDS[i]} SOAK_KINDS[i]=${SOAK_KINDS[j]} SOAK_KINDS[j]=$t
	done
}

# This cycle's faults in CYCLE_KINDS: the next SOAK_PER_CYCLE kinds in
# turn, vm last.
soak_kinds() {
	local i k vm=()
	CYCLE_KINDS=()
	[ ${#SOAK_KINDS[@]} -gt 0 ] || return 0
	for ((i = 0; i < SOAK_PER_CYCLE; i++)); do
		k=${SOAK_KINDS[SOAK_NEXT % ${#SOAK_KINDS[@]}]}
		SOAK_NEXT=$((SOAK_NEXT + 1))
		if [ "$k" = vm ]; then vm=(vm); else CYCLE_KINDS+=("$k"); fi
	done
	CYCLE_KINDS+=("${vm[@]}")
}

# WORD...: one of them at random, in PICK. Not in a $(...) subshell: bash
# reseeds RANDOM there, and --seed would no longer repeat a run.
soak_pick() {
	local a=("$@")
	PICK=${a[RANDOM % ${#a[@]}]}
}

soak_cycle() {
	local c=$1 count=$2 kinds kind="" when id json st t0 i
	soak_kinds
	kinds=("${CYCLE_KINDS[@]}")
	[ ${#kinds[@]} -gt 0 ] && kind=${kinds[-1]}
	soak_pick between deploy release
	when=$PICK
	[ "$kind" = vm ] && [ "$when" = between ] && soak_pick deploy release && when=$PICK
	say "-- cycle $c: faults ${kinds[*]:-none}${kind:+ (the last: $when)}"
	P_KIND=""
	for ((i = 0; i + 1 < ${#kinds[@]}; i++)); do
		soak_arm "${kinds[i]}" "" && soak_fire
	done
	[ -n "$kind" ] && [ "$when" = between ] && soak_arm "$kind" "" && soak_fire
	t0=$EPOCHREALTIME
	json=$(svc_ctl -o json allocation create --sku "$LAB_SKU" --count "$count" --image lab-image \
		--name "soak-$c" --idempotency-key "soak-$$-$c" 2>&1) ||
		json=$(soak_retry_create "$c" "$count") || { soak_human "cycle $c: allocation not accepted: $json"; return; }
	id=$(jq -r .id <<<"$json")
	SOAK_ALLOCS+=("$id")
	[ -n "$kind" ] && [ "$when" = deploy ] && soak_arm "$kind" "$id"
	soak_wait_alloc "$id" "$SOAK_CYCLE_TIMEOUT"
	st=$SOAK_ST
	if [ "$st" = ready ]; then
		SOAK_DONE=$((SOAK_DONE + 1))
		say "cycle $c: allocation $id ready after $(lab_dt "$t0" "$EPOCHREALTIME") s on $(soak_alloc_machines "$id")"
	else
		soak_human "cycle $c: allocation $id $st after ${SOAK_CYCLE_TIMEOUT} s (released by hand)"
	fi
	[ -n "$kind" ] && [ "$when" = release ] && soak_arm "$kind" "$id"
	soak_until svc_ctl allocation release "$id" >/dev/null || soak_human "cycle $c: release of $id refused"
	soak_settle "$SOAK_SETTLE"
	[ -z "$P_KIND" ] || soak_fire # a moment that never came: now
}

# An allocation request cut off by a kill: the same key names the same one.
soak_retry_create() {
	local i
	for ((i = 0; i < 30; i++)); do
		sleep 1
		svc_ctl -o json allocation create --sku "$LAB_SKU" --count "$2" --image lab-image \
			--name "soak-$1" --idempotency-key "soak-$$-$1" 2>/dev/null && return 0
	done
	return 1
}

# Runs a provisionctl call until it succeeds (provisiond may be restarting).
soak_until() {
	local i
	for ((i = 0; i < 60; i++)); do
		"$@" && return 0
		sleep 1
	done
	return 1
}

soak_alloc_machines() {
	svc_ctl -o json allocation show "$1" 2>/dev/null | jq -r '[.machines[].name] | join(", ")'
}

# ---- faults ---------------------------------------------------------------
# soak_arm KIND ALLOC: the fault's moment. A VM is destroyed when its console
# shows the chosen boot stage; the other faults come 0-25 s after now.
soak_arm() {
	local kind=$1 alloc=$2 names
	P_KIND=$kind P_SINCE=$EPOCHREALTIME P_MARK="" P_AT=0
	names=$( [ -n "$alloc" ] && svc_ctl -o json allocation show "$alloc" 2>/dev/null | jq -r '.machines[].name')
	if [ -n "$names" ]; then
		# shellcheck disable=SC2086
		soak_pick $names
		P_VM=$LAB_DIR/vms/$PICK
	else
		# shellcheck disable=SC2046
		soak_pick $(vm_dirs)
		P_VM=$PICK
	fi
	if [ "$kind" = vm ] && [ -n "$alloc" ]; then
		soak_pick 'iPXE' 'PROVISIOND-AGENT start' 'SYSLINUX'
		P_MARK=$PICK
	else
		P_AT=$((${EPOCHREALTIME%.*} + RANDOM % 26))
	fi
}

# Fires the armed fault when its moment has come (or at once: soak_fire).
soak_tick() {
	[ -n "$P_KIND" ] || return 0
	if [ -n "$P_MARK" ]; then
		awk -v s="$P_SINCE" '$1 >= s' "$P_VM/markers.log" | grep -q "$P_MARK" || return 0
	elif [ "${EPOCHREALTIME%.*}" -lt "$P_AT" ]; then
		return 0
	fi
	soak_fire
}

soak_fire() {
	local kind=$P_KIND
	P_KIND=""
	SOAK_FAULTS[$kind]=$((SOAK_FAULTS[$kind] + 1))
	"soak_fault_$kind" "$P_VM"
}

soak_fault_bmc() {
	local d=$1 pid down=$((5 + RANDOM % 56))
	# shellcheck source=/dev/null
	. "$d/vm.env"
	pid=$(cat "$d/sim.pid" 2>/dev/null)
	lab_pid_is "$pid" ipmi_sim && kill -KILL -- "-$pid" 2>/dev/null
	say "FAULT bmc: ipmi_sim of $VM_NAME killed; back in $down s"
	(
		sleep "$down"
		bmc_run_ipmi "$d" "$VM_NAME" "$VM_BMC_PORT" && say "ipmi_sim of $VM_NAME restarted"
	) &
	SOAK_BG+=($!)
}

soak_fault_vm() {
	local d=$1 st
	# shellcheck source=/dev/null
	. "$d/vm.env"
	st=$(lab_virsh domstate "$VM_DOMAIN" 2>/dev/null | head -1)
	lab_virsh destroy "$VM_DOMAIN" >/dev/null 2>&1
	say "FAULT vm: $VM_NAME destroyed (was $st${P_MARK:+, console at '$P_MARK'})"
}

soak_fault_daemon() {
	local pid p=$LAB_DIR/provisiond down=$((1 + RANDOM % 5))
	pid=$(cat "$LAB_DIR/run/provisiond.pid" 2>/dev/null)
	lab_pid_is "$pid" "$PD" && kill -KILL "$pid"
	say "FAULT daemon: provisiond (pid $pid) killed with SIGKILL; restarted in $down s"
	sleep "$down"
	replica_start "$p/provisiond.ini" "$p/ready" "$p/provisiond.log" "$LAB_DIR/run/provisiond.pid"
	disown "$(cat "$LAB_DIR/run/provisiond.pid")" 2>/dev/null # its next kill is no job's news
	say "provisiond restarted (pid $(cat "$LAB_DIR/run/provisiond.pid"))"
}

soak_fault_dnsmasq() {
	local f=$LAB_DIR/provisiond/dnsmasq/dnsmasq.pid pid new i t=$EPOCHREALTIME
	pid=$(cat "$f" 2>/dev/null)
	lab_pid_is "$pid" dnsmasq && kill -KILL "$pid"
	say "FAULT dnsmasq: dnsmasq (pid $pid) killed with SIGKILL"
	for ((i = 0; i < 300; i++)); do
		new=$(cat "$f" 2>/dev/null)
		[ "$new" != "$pid" ] && lab_pid_is "$new" dnsmasq && break
		sleep 0.1
	done
	if [ "$new" != "$pid" ] && lab_pid_is "$new" dnsmasq; then
		say "dnsmasq running again (pid $new, $(lab_dt "$t" "$EPOCHREALTIME") s after the kill)"
	else
		soak_human "dnsmasq not running 30 s after it was killed"
	fi
}

# ---- waiting, human actions -------------------------------------------------
soak_human() {
	SOAK_HUMAN+=("$*")
	say "HUMAN ACTION: $*"
}

# Waits until allocation ID leaves deploying (or TIMEOUT); its state in
# SOAK_ST. (Not in a subshell: the faults it fires count.)
soak_wait_alloc() {
	local id=$1 timeout=$2 t=$EPOCHREALTIME st
	while :; do
		soak_tick
		st=$(svc_ctl -o json allocation show "$id" 2>/dev/null | jq -r .state)
		SOAK_ST=${st:-unknown}
		case $st in ready | failed | released) return ;; esac
		[ "$(lab_dt "$t" "$EPOCHREALTIME" | cut -d. -f1)" -lt "$timeout" ] || return
		sleep 1
	done
}

# soak_settle TIMEOUT: until every machine is available. A machine failed
# or in maintenance for more than SOAK_GRACE s, or anything not available at
# TIMEOUT, needs a human: repaired (failed), returned (maintenance), or
# power-cycled (stuck in a waiting state: what a tech tries first), and
# counted.
soak_settle() {
	local timeout=$1 t=$EPOCHREALTIME json now name st since err
	while :; do
		soak_tick
		json=$(ctl -o json machine list 2>/dev/null) || { sleep 1; continue; }
		jq -e '[.items[] | select(.state != "available")] | length == 0' <<<"$json" >/dev/null && return 0
		now=${EPOCHREALTIME%.*}
		while IFS=$'\t' read -r name st since err; do
			case $st in failed | maintenance) ;; *) continue ;; esac
			[ $((now - since)) -ge "$SOAK_GRACE" ] || continue
			soak_human "$name $st for $((now - since)) s ($err): $( [ "$st" = failed ] && echo repaired || echo 'maintenance off')"
			if [ "$st" = failed ]; then
				soak_until ctl machine action repair "$name" >/dev/null
			else
				soak_until ctl machine maintenance off "$name" >/dev/null
			fi
		done < <(jq -r "$iso_to_epoch_jq"' .items[] | [.name, .state, (.state_since | ep | floor), (.last_error // "")] | @tsv' <<<"$json")
		if [ "$(lab_dt "$t" "$EPOCHREALTIME" | cut -d. -f1)" -ge "$timeout" ]; then
			jq -r '.items[] | select(.state != "available") | [.name, .state] | @tsv' <<<"$json" |
				while IFS=$'\t' read -r name st; do
					soak_human "$name stuck in $st for more than $timeout s: power-cycled by hand"
					ctl machine power cycle "$name" >/dev/null
				done
			return 1
		fi
		sleep 1
	done
}

# ---- the report -----------------------------------------------------------
# Seconds each machine spent out of the pool since the soak started: from
# entering failed, maintenance, enrolled, verifying or inspecting (a
# machine that left the normal cycle) until it was next available.
soak_out_of_pool() {
	local d since=${SOAK_T0%.*}
	for d in $(vm_dirs); do
		# shellcheck source=/dev/null
		. "$d/vm.env"
		ctl -o json machine events "$VM_NAME" 2>/dev/null | jq -r --argjson s "$since" \
			--argjson now "${EPOCHREALTIME%.*}" --arg n "$VM_NAME" "$iso_to_epoch_jq"'
			[.items[] | select(.from != .to) | {t: (.at | ep), to}] | map(select(.t >= $s)) | sort_by(.t)
			| reduce .[] as $e ({out: 0, since: null};
				if (.since == null) and ($e.to | IN("failed", "maintenance", "enrolled", "verifying", "inspecting"))
				then .since = $e.t
				elif (.since != null) and $e.to == "available" then .out += ($e.t - .since) | .since = null
				else . end)
			| .out + (if .since then $now - .since else 0 end)
			| "  \($n)  \(. * 10 | round / 10) s out of the pool"'
	done
}

soak_report() {
	local a n json k
	for a in "${SOAK_ALLOCS[@]}"; do
		n=$(svc_ctl -o json allocation show "$a" 2>/dev/null | jq -r '.substitutions // 0')
		SOAK_SUBS=$((SOAK_SUBS + ${n:-0}))
	done
	echo
	echo "soak: ${SOAK_CYCLES:-0} cycles, $SOAK_DONE completed (allocation ready), $(lab_dt "$SOAK_T0" "$EPOCHREALTIME") s"
	printf 'faults injected:'
	for k in bmc vm daemon dnsmasq; do printf ' %s %s' "$k" "${SOAK_FAULTS[$k]:-0}"; done
	echo
	echo "substitutions: $SOAK_SUBS"
	echo "time out of the pool per machine:"
	soak_out_of_pool
	json=$(ctl -o json machine list 2>/dev/null)
	echo "machines at the end: $(jq -r '[.items[] | "\(.name) \(.state)"] | join(", ")' <<<"$json")"
	echo "human actions needed: ${#SOAK_HUMAN[@]}"
	for a in "${SOAK_HUMAN[@]}"; do echo "  - $a"; done
}

soak_end() {
	local rc=$?
	trap - EXIT INT TERM
	P_KIND=""
	[ ${#SOAK_BG[@]} -eq 0 ] || wait "${SOAK_BG[@]}" 2>/dev/null
	soak_report
	if [ "$SOAK_OWN" = 1 ] && [ "$SOAK_KEEP" = 0 ]; then
		"$0" down >/dev/null || echo "lab: lab down failed" >&2
	fi
	[ "$rc" -eq 0 ] && [ ${#SOAK_HUMAN[@]} -eq 0 ] && [ "$SOAK_DONE" -eq "${SOAK_CYCLES:-0}" ] && {
		echo "soak: PASS"
		exit 0
	}
	echo "soak: FAIL"
	exit 1
}
