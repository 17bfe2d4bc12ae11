# lib.sh — shell functions shared by lab/lab and lab/bmc-hook.sh (sourced; bash).
# shellcheck shell=bash

LAB_VIRSH_URI=${LAB_VIRSH_URI:-qemu:///system}

lab_virsh() { virsh -q -c "$LAB_VIRSH_URI" "$@"; }

lab_now() { echo "$EPOCHREALTIME"; }

# Seconds between two EPOCHREALTIME values, one decimal.
lab_dt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# lab_domain_xml VMDIR BOOT: the libvirt domain of one lab VM (VMDIR/vm.env).
# BOOT pxe: network then disk; disk: disk then network (what a BIOS does when
# told "boot from disk": a blank disk falls through to the network); cdrom: the
# CD, then disk, then network. A VM with a Redfish BMC has a CD drive (the
# BMC's virtual CD) holding VMDIR/media.iso while the BMC has media inserted.
# TCG or KVM (LAB_ACCEL), serial to a file that grows across boots, no
# graphics, raw disks, one virtio NIC on a tap that bmc-hook.sh moves into
# the lab's network namespace before the VM runs.
lab_domain_xml() {
	local vmdir=$1 boot=$2 d order
	# shellcheck source=/dev/null
	. "$vmdir/vm.env"
	if [ "$boot" = disk ]; then
		order="    <boot dev='hd'/>
    <boot dev='network'/>"
	elif [ "$boot" = cdrom ]; then
		order="    <boot dev='cdrom'/>
    <boot dev='hd'/>
    <boot dev='network'/>"
	else
		order="    <boot dev='network'/>
    <boot dev='hd'/>"
	fi
	cat <<EOF
<domain type='$VM_ACCEL'>
  <name>$VM_DOMAIN</name>
  <uuid>$VM_UUID</uuid>
  <description>provisiond lab $VM_LAB: $VM_NAME ($VM_SKU); BMC ipmi_sim 127.0.0.1:$VM_BMC_PORT</description>
  <memory unit='MiB'>$VM_MEMORY_MIB</memory>
  <vcpu>$VM_VCPUS</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
$order
    <bios useserial='yes' rebootTimeout='5000'/>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
EOF
	local letters=abcdefgh
	for ((d = 0; d < VM_DISKS; d++)); do
		cat <<EOF
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='unsafe'/>
      <source file='$vmdir/disk$d.raw'/>
      <target dev='vd${letters:d:1}' bus='virtio'/>
      <serial>$VM_NAME-d$d</serial>
    </disk>
EOF
	done
	if [ "${VM_BMC_KIND:-ipmi}" = redfish ]; then
		echo "    <disk type='file' device='cdrom'>"
		echo "      <driver name='qemu' type='raw'/>"
		[ -s "$vmdir/media.iso" ] && echo "      <source file='$vmdir/media.iso'/>"
		echo "      <target dev='hdc' bus='ide'/>"
		echo "      <readonly/>"
		echo "    </disk>"
	fi
	cat <<EOF
    <interface type='ethernet'>
      <mac address='$VM_MAC'/>
      <target dev='$VM_TAP' managed='yes'/>
      <model type='virtio'/>
    </interface>
EOF
	lab_serial_xml "$vmdir"
	cat <<EOF
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# The VM's serial port. Every VM's console is appended to VMDIR/serial.log
# (every boot; the markers and `lab console` read it) and served on TCP
# 127.0.0.1:VM_SERIAL_PORT. A VM with an ipmi_sim BMC uses the BMC's port number
# (TCP instead of UDP): its ipmi_sim connects to it (`sol "tcp:..."`), so the
# console comes to provisiond through real Serial-over-LAN. A VM with a Redfish
# BMC has a port of its own, which its BMC relays as SerialConsole.Telnet
# (redfish-bmc --console-upstream). QEMU listens without waiting for a client;
# what comes while none is connected is dropped, so the guest never stalls on a
# full socket. (A VM defined by an older lab, without VM_SERIAL_PORT, keeps the
# ipmi port or a plain file.)
lab_serial_xml() { # vmdir
	local vmdir=$1 port=${VM_SERIAL_PORT:-}
	[ -n "$port" ] || [ "${VM_BMC_KIND:-ipmi}" != ipmi ] || port=$VM_BMC_PORT
	if [ -n "$port" ]; then
		cat <<EOF
    <serial type='tcp'>
      <source mode='bind' host='127.0.0.1' service='$port'/>
      <protocol type='raw'/>
      <log file='$vmdir/serial.log' append='on'/>
      <target port='0'/>
    </serial>
EOF
	else
		cat <<EOF
    <serial type='file'>
      <source path='$vmdir/serial.log' append='on'/>
      <target port='0'/>
    </serial>
EOF
	fi
}

# A process we started is still the same process: alive and its command line
# contains the given text (guards against a recycled pid).
lab_pid_is() {
	local pid=$1 want=$2
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	case " $(tr '\0' ' ' <"/proc/$pid/cmdline") " in *"$want"*) return 0 ;; esac
	return 1
}

# lab_kill_pidfile FILE TEXT [group]: SIGTERM the pid in FILE (its process
# group too when "group"), SIGKILL after 5 s, then remove FILE. Only when the
# pid still runs a command line containing TEXT.
lab_kill_pidfile() {
	local f=$1 want=$2 grp=${3:-} pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f" 2>/dev/null)
	if lab_pid_is "$pid" "$want"; then
		if [ "$grp" = group ]; then kill -TERM -- "-$pid" 2>/dev/null; fi
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			lab_pid_is "$pid" "$want" || break
			sleep 0.1
		done
		if lab_pid_is "$pid" "$want"; then
			if [ "$grp" = group ]; then kill -KILL -- "-$pid" 2>/dev/null; fi
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	rm -f "$f"
}
