#!/bin/bash
# check-lab-image.sh SRC AGENT OUTDIR — builds the lab image with
# images/build/build-lab-image.sh and checks its partition table, its FAT
# files, the .zst copy and the printed sha256.
set -euo pipefail
SRC=$1 AGENT=$2 OUT=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
export PATH=$PATH:/sbin:/usr/sbin

rm -rf "$OUT"
mkdir -p "$OUT"
IMG=$OUT/lab.raw
"$SRC/images/build/build-lab-image.sh" "$IMG" --agent "$AGENT" | tee "$OUT/build.out"
SHA=$(awk '/^sha256 / { print $2 }' "$OUT/build.out")
[ "$SHA" = "$(sha256sum "$IMG" | cut -d' ' -f1)" ] || fail "printed sha256 differs from the image"
grep -q "^$SHA  lab.raw\$" "$IMG.sha256" || fail "lab.raw.sha256 is wrong"
[ "$(stat -c %s "$IMG")" = $((64 * 1024 * 1024)) ] || fail "image is not 64 MiB"
[ "$(zstd -dc "$IMG.zst" | sha256sum | cut -d' ' -f1)" = "$SHA" ] || fail "lab.raw.zst differs"

sfdisk -d "$IMG" >"$OUT/table"
grep -Eq 'start= *2048, size= *129024, type=6, bootable' "$OUT/table" ||
	fail "partition table: $(cat "$OUT/table")"
# MBR boot code (syslinux mbr.bin) and signature.
[ "$(dd if="$IMG" bs=1 skip=510 count=2 status=none | od -An -tx1 | tr -d ' ')" = 55aa ] ||
	fail "no MBR signature"
cmp -n 440 "$IMG" /usr/lib/syslinux/mbr/mbr.bin >/dev/null 2>&1 ||
	cmp -n "$(stat -c %s /usr/lib/syslinux/mbr/mbr.bin)" "$IMG" /usr/lib/syslinux/mbr/mbr.bin ||
	fail "MBR code is not syslinux mbr.bin"
mdir -a -i "$IMG@@1M" ::/ >"$OUT/dir"
for f in vmlinuz 'initrd +gz' 'syslinux +cfg' 'ldlinux +sys' 'ldlinux +c32'; do
	grep -Eiq "^$f " "$OUT/dir" || fail "FAT lacks $f: $(cat "$OUT/dir")"
done
mcopy -i "$IMG@@1M" ::/syslinux.cfg "$OUT/syslinux.cfg"
grep -q 'INITRD initrd.gz' "$OUT/syslinux.cfg" || fail "syslinux.cfg"
mcopy -i "$IMG@@1M" ::/initrd.gz "$OUT/initrd.gz"
zcat "$OUT/initrd.gz" | cpio -t --quiet >"$OUT/list"
for f in init usr/bin/provisiond-agent bin/busybox lib64/ld-linux-x86-64.so.2; do
	grep -qx "$f" "$OUT/list" || fail "lab initrd lacks $f"
done
for m in virtio_net virtio_blk virtio_pci; do
	grep -Eq "/$m\.ko(\.xz)?\$" "$OUT/list" || fail "lab initrd lacks module $m"
done
zcat "$OUT/initrd.gz" | cpio -i --quiet --to-stdout init >"$OUT/init"
grep -q 'provisiond-agent booted' "$OUT/init" ||
	fail "lab /init does not run provisiond-agent booted"
echo "lab image OK: sha256 $SHA, zst $(stat -c %s "$IMG.zst") bytes"
