#!/bin/bash
# bmc-hook.sh — chassis-control hook of a lab VM's virtual BMC (OpenIPMI
# ipmi_sim). ipmi_sim runs, through /bin/sh -c,
#     "/bin/bash bmc-hook.sh VMDIR" get power | get boot
#     "/bin/bash bmc-hook.sh VMDIR" set power 1|0 | set reset 1 | set shutdown 1 | set boot pxe|default|cdrom|...
#     "/bin/bash bmc-hook.sh VMDIR" set media URL|none      (the lab's Redfish BMC only)
# and answers the IPMI client with what we print ("power:1") or, when we exit
# non-zero, with completion code 0xff. VMDIR holds the VM's vm.env, the
# state files and the logs:
#   bmc.log      one line per call and per power action: "EPOCH who what"
#   power.want   the power state last asked for (0/1); boot: the boot device
#   media.iso    the virtual CD's image while media is inserted
#   queue/       power actions waiting for the worker, oldest first
#   fault        why the last power action failed (reported by "get power")
#
# ipmi_sim is single-threaded and waits for this hook, so it must answer in
# well under 100 ms: "set power" only queues the action and starts a worker
# (`bmc-hook.sh VMDIR __worker`, detached, in its own session) that drives
# libvirt: power on = define the domain with the current boot order, start
# it paused, move its tap into the lab's network namespace and attach it to
# the lab bridge, resume; power off = destroy; reset = off + on. "get power"
# reports the domain's real state, so a change shows once it happened (as on
# a real BMC); a domain that is paused (other than by the worker, between
# start and resume) or crashed is a fault (exit 1).
#
# ipmi_sim hands us its UDP socket: every fd above stderr is closed first,
# so nothing started from here can hold the BMC's port.
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac
done

HOOK=$(readlink -f "$0")
LAB_SRC_LAB=$(dirname "$HOOK")
# shellcheck source=lab/lib.sh
. "$LAB_SRC_LAB/lib.sh"

vmdir=$1 op=$2
shift 2
[ -f "$vmdir/vm.env" ] || { echo "no $vmdir/vm.env" >&2; exit 1; }
# shellcheck source=/dev/null
. "$vmdir/vm.env"
export LAB_VIRSH_URI=${VM_VIRSH_URI:-$LAB_VIRSH_URI}
Q=$vmdir/queue

log() { echo "$EPOCHREALTIME $*" >>"$vmdir/bmc.log"; }

first_queued() {
	local f
	for f in "$Q"/[0-9]*; do
		[ -e "$f" ] && { echo "$f"; return; }
	done
}

busy() {
	[ -n "$(first_queued)" ] && return 0
	! flock -n "$vmdir/worker.lock" true 2>/dev/null
}

enqueue() {
	local name
	name=$(printf '%s-%06d' "${EPOCHREALTIME/./}" "$$")
	mkdir -p "$Q"
	echo "$1" >"$Q/.$name" && mv "$Q/.$name" "$Q/$name"
	setsid /bin/bash "$HOOK" "$vmdir" __worker </dev/null >>"$vmdir/worker.out" 2>&1 &
}

domstate() { lab_virsh domstate "$VM_DOMAIN" 2>/dev/null | head -1; }

fault() {
	local m
	m=$(printf '%s' "$*" | tr '\n' ' ')
	echo "$m" >"$vmdir/fault"
	log "worker FAULT $m"
}

# ---- the worker: one at a time per VM (flock), actions in queue order ----
boot_mode() {
	case $(cat "$vmdir/boot" 2>/dev/null) in
	default | disk | hd | floppy) echo disk ;;
	cdrom) echo cdrom ;;
	*) echo pxe ;; # pxe, none/unset: the VM's own order, network first
	esac
}

power_on() {
	local st t0 boot i out
	t0=$EPOCHREALTIME
	st=$(domstate)
	case $st in
	running | "in shutdown" | blocked) log "worker on: already on ($st)"; return 0 ;;
	paused | crashed | pmsuspended) lab_virsh destroy "$VM_DOMAIN" >/dev/null 2>&1 ;;
	esac
	boot=$(boot_mode)
	lab_domain_xml "$vmdir" "$boot" >"$vmdir/domain.xml"
	if ! out=$(lab_virsh define "$vmdir/domain.xml" 2>&1); then
		fault "power on: virsh define failed: $out"
		return 1
	fi
	if ! out=$(lab_virsh start --paused "$VM_DOMAIN" 2>&1); then
		fault "power on: virsh start failed: $out"
		return 1
	fi
	if ! out=$({ ip link set "$VM_TAP" netns "$VM_NETNS" &&
		ip -n "$VM_NETNS" link set "$VM_TAP" master "$VM_BRIDGE" up; } 2>&1); then
		lab_virsh destroy "$VM_DOMAIN" >/dev/null 2>&1
		fault "power on: moving tap $VM_TAP into netns $VM_NETNS failed: $out"
		return 1
	fi
	if ! out=$(lab_virsh resume "$VM_DOMAIN" 2>&1); then
		lab_virsh destroy "$VM_DOMAIN" >/dev/null 2>&1
		fault "power on: virsh resume failed: $out"
		return 1
	fi
	# A guest the accelerator cannot run stops at once and stays paused.
	for ((i = 0; i < 5; i++)); do
		sleep 0.1
		st=$(domstate)
		[ "$st" = running ] || break
	done
	if [ "$st" != running ]; then
		fault "power on: domain $VM_DOMAIN is $st after resume ($(lab_virsh domstate --reason "$VM_DOMAIN" 2>&1)); accelerator $VM_ACCEL cannot run it"
		return 1
	fi
	log "worker on: boot $boot, started in $(lab_dt "$t0" "$EPOCHREALTIME") s"
}

power_off() {
	local st out
	st=$(domstate)
	if [ "$st" = "shut off" ]; then
		log "worker off: already off"
		return 0
	fi
	if ! out=$(lab_virsh destroy "$VM_DOMAIN" 2>&1); then
		fault "power off: virsh destroy failed: $out"
		return 1
	fi
	log "worker off: destroyed (was $st)"
}

run_worker() {
	local f a
	exec 9>"$vmdir/worker.lock"
	while :; do
		flock -n 9 || exit 0
		echo $$ >"$vmdir/worker.pid"
		while f=$(first_queued) && [ -n "$f" ]; do
			a=$(cat "$f")
			rm -f "$f"
			case $a in
			on) power_on ;;
			off) power_off ;;
			reset) power_off && power_on ;;
			soft)
				lab_virsh shutdown "$VM_DOMAIN" >/dev/null 2>&1
				log "worker soft: ACPI shutdown sent (the guest decides)"
				;;
			esac
		done
		rm -f "$vmdir/worker.pid"
		flock -u 9
		[ -z "$(first_queued)" ] && exit 0
	done
}

# Virtual media, as a BMC does it: fetch the image from the URL itself (inside
# the lab's namespace, where the boot listener is), then put it in the VM's CD
# drive: at once through libvirt when the domain runs, and in the definition
# written at the next power on either way. "none" ejects.
media_insert() {
	local url=$1 out t0=$EPOCHREALTIME
	rm -f "$vmdir/media.iso.part"
	if ! out=$(ip netns exec "$VM_NETNS" curl -fsS --max-time 120 -o "$vmdir/media.iso.part" "$url" 2>&1); then
		log "media insert: download failed: $out"
		echo "download of the image failed: $out" >&2
		return 1
	fi
	mv -f "$vmdir/media.iso.part" "$vmdir/media.iso"
	log "media insert: downloaded $(stat -c %s "$vmdir/media.iso") bytes in $(lab_dt "$t0" "$EPOCHREALTIME") s"
	if [ "$(domstate)" = running ] &&
		! out=$(lab_virsh change-media "$VM_DOMAIN" hdc "$vmdir/media.iso" --insert --live --force 2>&1); then
		log "media insert: virsh change-media failed: $out"
		echo "virsh change-media failed: $out" >&2
		return 1
	fi
	log "media inserted"
}

media_eject() {
	local out
	if [ "$(domstate)" = running ] &&
		! out=$(lab_virsh change-media "$VM_DOMAIN" hdc --eject --live --force 2>&1); then
		log "media eject: virsh change-media failed: $out"
		echo "virsh change-media failed: $out" >&2
		return 1
	fi
	rm -f "$vmdir/media.iso"
	log "media ejected"
}

case $op in
__worker)
	run_worker
	;;
get)
	for p in "$@"; do
		case $p in
		power)
			if [ -s "$vmdir/fault" ]; then
				log "hook get power -> FAULT"
				cat "$vmdir/fault" >&2
				exit 1
			fi
			# The domain's real state: a power change shows once libvirt
			# made it (ipmi_sim polls "get power" after "set power 0"
			# until it reads 0, then sends "set power 1").
			st=$(domstate)
			case $st in
			running | "in shutdown" | blocked) v=1 ;;
			"shut off" | "") v=0 ;;
			paused) # paused by the worker between start and resume
				if busy; then v=0; else
					fault "domain $VM_DOMAIN is paused ($(lab_virsh domstate --reason "$VM_DOMAIN" 2>&1)): it does not run"
					cat "$vmdir/fault" >&2
					exit 1
				fi
				;;
			*)
				fault "domain $VM_DOMAIN is $st ($(lab_virsh domstate --reason "$VM_DOMAIN" 2>&1)), neither on nor off"
				cat "$vmdir/fault" >&2
				exit 1
				;;
			esac
			echo "power:$v"
			;;
		boot) echo "boot:$(cat "$vmdir/boot" 2>/dev/null || echo none)" ;;
		*) exit 1 ;;
		esac
	done
	;;
set)
	while [ $# -ge 2 ]; do
		p=$1 v=$2
		shift 2
		log "hook set $p $v"
		case $p in
		power)
			rm -f "$vmdir/fault"
			if [ "$v" = 1 ]; then
				echo 1 >"$vmdir/power.want"
				enqueue on
			else
				echo 0 >"$vmdir/power.want"
				enqueue off
			fi
			;;
		reset)
			rm -f "$vmdir/fault"
			echo 1 >"$vmdir/power.want"
			enqueue reset
			;;
		shutdown) enqueue soft ;;
		boot) echo "$v" >"$vmdir/boot" ;;
		media)
			if [ "$v" = none ]; then media_eject || exit 1; else media_insert "$v" || exit 1; fi
			;;
		identify) ;;
		*) exit 1 ;;
		esac
	done
	;;
*) exit 1 ;;
esac
exit 0
