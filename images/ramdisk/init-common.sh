# init-common.sh — shell functions shared by the deploy ramdisk's /init and
# the lab image's /init (sourced; busybox sh). PID 1 must never exit: a dying
# PID 1 panics the kernel, so nothing here uses `set -e`.
# shellcheck shell=sh

export PATH=/usr/bin:/bin:/usr/sbin:/sbin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64

pinit_log() { echo "provisiond-init: $*"; }

# proc, sys, dev; applet links; console on stdio (in case the kernel had no
# /dev/console to hand us).
pinit_mounts() {
	/bin/busybox mount -t proc proc /proc
	/bin/busybox mount -t sysfs sysfs /sys
	/bin/busybox mount -t devtmpfs devtmpfs /dev
	/bin/busybox --install -s
	exec </dev/console >/dev/console 2>&1
	mkdir -p /dev/pts /run /tmp
	mount -t devpts devpts /dev/pts
	hostname provisiond-agent
}

# insmod in the order build.sh resolved from modules.dep. A driver without
# its hardware loads fine; a real failure is printed and skipped.
pinit_modules() {
	kv=$(cat /etc/provisiond/kernel)
	n=0
	while read -r m; do
		if insmod "/lib/modules/$kv/$m" 2>/tmp/insmod.err; then
			n=$((n + 1))
		else
			pinit_log "insmod $m: $(cat /tmp/insmod.err)"
		fi
	done </etc/provisiond/modules
	pinit_log "loaded $n modules"
}

# Physical NICs: those with a `device` link (no lo, bridges, tunnels).
pinit_nics() {
	for d in /sys/class/net/*; do
		[ -e "$d/device" ] && echo "${d##*/}"
	done
}

# DHCP (IPv4) on every NIC in parallel. udhcpc stays behind as a daemon that
# renews the lease (or keeps trying: -b) for as long as the ramdisk runs.
pinit_network() {
	ip link set lo up
	i=0
	while [ -z "$(pinit_nics)" ] && [ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	sleep 1 # NICs of one driver probe together; give the rest a moment
	: >/run/provisiond-leases
	for ifc in $(pinit_nics); do
		ip link set "$ifc" up
		udhcpc -i "$ifc" -s /etc/provisiond/udhcpc.script -t 6 -T 2 -b \
			-p "/run/udhcpc.$ifc.pid" -V provisiond-agent >"/run/udhcpc.$ifc.log" 2>&1 &
	done
	wait
	if [ -s /run/provisiond-leases ]; then
		pinit_log "network: $(tr '\n' ' ' </run/provisiond-leases)"
	else
		pinit_log "no DHCP lease on any of: $(pinit_nics | tr '\n' ' ')"
	fi
}

# After the agent ends: a shell on the console with provisiond.shell=1 on the
# kernel command line, else sleep forever (the machine stays reachable for
# provisiond's power control; its deadline decides what happens next).
pinit_stay_up() {
	if grep -qw 'provisiond.shell=1' /proc/cmdline; then
		pinit_log "provisiond.shell=1: starting a console shell"
		while :; do
			setsid cttyhack sh -l
		done
	fi
	pinit_log "sleeping (add provisiond.shell=1 to the kernel command line for a shell)"
	while :; do
		sleep 3600
	done
}
