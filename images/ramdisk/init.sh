#!/bin/sh
# /init of provisiond's deploy ramdisk (busybox sh as PID 1): mounts, modules,
# DHCP on every NIC, then provisiond-agent, which reads its parameters from
# /proc/cmdline. When the agent ends, say why and stay up (never exit).
. /etc/provisiond/init-common.sh

pinit_mounts
pinit_log "kernel $(uname -r), uptime $(cut -d' ' -f1 /proc/uptime)s"
pinit_modules
pinit_network
echo "PROVISIOND-AGENT start"
/usr/bin/provisiond-agent run
rc=$?
case $rc in
0) why="finished (reboot/poweroff done or not needed)" ;;
1) why="gave up: see its last error line above" ;;
2) why="bad arguments on the kernel command line" ;;
*) why="died (status $rc, signal $((rc > 128 ? rc - 128 : 0)))" ;;
esac
echo "PROVISIOND-AGENT exited status=$rc: $why"
pinit_stay_up
