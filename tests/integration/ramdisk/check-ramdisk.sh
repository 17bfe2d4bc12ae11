#!/bin/bash
# check-ramdisk.sh SRC AGENT OUTDIR — builds the deploy ramdisk with
# images/ramdisk/build.sh and checks the cpio holds /init, busybox, the
# agent, its libraries, the dynamic loader and every wanted kernel module;
# without --agent it refuses at once, naming the option (it builds no agent).
set -euo pipefail
SRC=$1 AGENT=$2 OUT=$3
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$OUT"
err=$(mktemp)
if "$SRC/images/ramdisk/build.sh" "$OUT" 2>"$err"; then
	fail "build.sh without --agent succeeded"
fi
grep -q -- "--agent BIN is required" "$err" || fail "build.sh without --agent said: $(cat "$err")"
rm -f "$err"
[ ! -e "$OUT" ] || fail "build.sh without --agent left $OUT behind"
"$SRC/images/ramdisk/build.sh" "$OUT" --agent "$AGENT"
[ -s "$OUT/vmlinuz" ] || fail "no vmlinuz"
[ -s "$OUT/initramfs" ] || fail "no initramfs"
gzip -t "$OUT/initramfs" || fail "initramfs is not gzip"
head -c 2 "$OUT/vmlinuz" | od -An -c | grep -q 'M   Z' || fail "vmlinuz is not a bzImage (no MZ stub)"
zcat "$OUT/initramfs" | cpio -t --quiet >"$OUT/list" || fail "cpio -t failed"
LIST=$OUT/list

has() { grep -qx -- "$1" "$LIST" || fail "initramfs lacks $1"; }
has init
has bin/busybox
has usr/bin/provisiond-agent
has etc/provisiond/init-common.sh
has etc/provisiond/udhcpc.script
has etc/provisiond/modules
# Every library ldd names for the agent, at the same path, and the loader.
ldd "$AGENT" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
	has "${lib#/}"
done
grep -q '^lib64/ld-linux-x86-64.so.2$' "$LIST" || fail "no dynamic loader"
for lib in libcurl.so.4 libjansson.so.4 libcrypto.so.3 libzstd.so.1 libc.so.6; do
	grep -q "/$lib\$" "$LIST" || fail "no $lib"
done
# Every module the product needs, plus the virtio dependencies named in the
# design (as .ko or .ko.xz), and a load order that lists each of them.
for m in virtio_net virtio_blk virtio_pci virtio virtio_ring virtio_pci_modern_dev \
	virtio_pci_legacy_dev failover net_failover e1000e igb ixgbe i40e ahci nvme sd_mod; do
	grep -Eq "^lib/modules/[^/]+/kernel/.*/$m\.ko(\.xz)?\$" "$LIST" || fail "no module $m"
done
# The load order: dependencies before their users.
zcat "$OUT/initramfs" | (cd "$OUT" && rm -rf x && mkdir x && cd x && cpio -id --quiet etc/provisiond/modules)
ORDER=$OUT/x/etc/provisiond/modules
pos() { grep -n "/$1\.ko\$" "$ORDER" | cut -d: -f1; }
for pair in virtio_ring:virtio virtio:virtio_pci virtio_pci_modern_dev:virtio_pci \
	failover:net_failover net_failover:virtio_net libahci:ahci nvme-core:nvme scsi_mod:sd_mod; do
	a=${pair%%:*} b=${pair##*:}
	[ "$(pos "$a")" -lt "$(pos "$b")" ] || fail "module order: $a must load before $b"
done
# A newc /dev/console node rides in a second concatenated archive.
zcat "$OUT/initramfs" | tail -c 1024 >"$OUT/tail"
grep -aq 'dev/console' "$OUT/tail" || fail "no dev/console entry"
echo "ramdisk OK: $(wc -l <"$LIST") entries, initramfs $(stat -c %s "$OUT/initramfs") bytes"
grep -E '^(kernel|initramfs_bytes|build_seconds)' "$OUT/initramfs.manifest"
