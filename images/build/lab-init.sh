#!/bin/sh
# /init of the lab image (the bootable disk images/build/build-lab-image.sh
# makes): stands for the operating system a deploy puts on a machine. It
# brings up the network, runs `provisiond-agent booted` — which reads the
# metadata block provisiond's agent wrote at the disk's tail, prints
# PROVISIOND-BOOTED allocation=... machine=... and reports booted — then
# stays up like a real server would.
. /etc/provisiond/init-common.sh

pinit_mounts
pinit_log "lab image: kernel $(uname -r), uptime $(cut -d' ' -f1 /proc/uptime)s"
pinit_modules
pinit_network
echo "PROVISIOND-LAB-IMAGE up"
/usr/bin/provisiond-agent booted
rc=$?
[ $rc -eq 0 ] || echo "PROVISIOND-LAB-IMAGE booted report failed: status=$rc (see the error above)"
pinit_stay_up
