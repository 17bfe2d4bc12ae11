#!/bin/bash
# build-lab-image.sh — builds the bootable lab disk image OUT.raw (BIOS, MBR,
# one FAT16 partition with syslinux, Debian's kernel and an initramfs whose
# /init runs `provisiond-agent booted`), plus OUT.raw.zst and
# OUT.raw.sha256, and prints the raw image's sha256.
#
#   images/build/build-lab-image.sh OUT.raw --agent BIN [--size-mib N] [--cache DIR]
#
# No loop devices, no mounts, no root: sfdisk on a file, mkfs.vfat on a
# partition-sized file, mtools to copy, `syslinux --install` (mtools
# installer) for the boot sector, dd to assemble, syslinux's mbr.bin in the
# first 440 bytes. The initramfs comes from images/ramdisk/build.sh with the
# lab /init and the virtio modules only.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RAMDISK=$HERE/../ramdisk/build.sh
MBR=${SYSLINUX_MBR:-/usr/lib/syslinux/mbr/mbr.bin}
START=2048 # partition start in 512-byte sectors (1 MiB)

die() { echo "lab-image: $*" >&2; exit 1; }

OUT="" MIB=64
RD_ARGS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--size-mib) MIB=$2; shift 2 ;;
	--agent | --cache | --kernel-deb) RD_ARGS+=("$1" "$2"); shift 2 ;;
	-h | --help) sed -n '2,15p' "$0"; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) [ -z "$OUT" ] || die "one OUT.raw only"; OUT=$1; shift ;;
	esac
done
[ -n "$OUT" ] || die "usage: build-lab-image.sh OUT.raw --agent BIN [--size-mib N] [--cache DIR]"
[ "$MIB" -ge 32 ] || die "--size-mib must be at least 32 (FAT16 and the kernel need room)"
for tool in sfdisk mkfs.vfat mcopy mdir syslinux zstd sha256sum; do
	command -v "$tool" >/dev/null || [ -x "/sbin/$tool" ] || [ -x "/usr/sbin/$tool" ] ||
		die "missing tool: $tool (packages: fdisk dosfstools mtools syslinux zstd)"
done
[ -f "$MBR" ] || die "no $MBR (package syslinux-common)"
export PATH=$PATH:/sbin:/usr/sbin
# Same inputs, same bytes: fixed label id, volume id and timestamps, and no
# volume label (mkfs.vfat stamps its entry with the clock). mtools
# honours SOURCE_DATE_EPOCH; FAT cannot store times before 1980.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/provisiond-labimg.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

"$RAMDISK" "$WORK/rd" --init "$HERE/lab-init.sh" --name initrd.gz \
	--modules "virtio_pci virtio_net virtio_blk" "${RD_ARGS[@]}" >/dev/null

# Disk file with one bootable FAT16 partition from 1 MiB to the end.
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT" "$OUT.zst"
truncate -s "${MIB}M" "$OUT"
printf 'label: dos\nlabel-id: 0x50524f56\nstart=%d, type=6, bootable\n' "$START" | sfdisk -q "$OUT"

# The filesystem in a partition-sized file; -h = hidden sectors = its LBA.
PART=$WORK/part.img
truncate -s $(((MIB * 2048 - START) * 512)) "$PART"
mkfs.vfat -F 16 -h "$START" -i 50524f56 "$PART" >/dev/null
cp "$HERE/syslinux.cfg" "$WORK/rd/"
touch -d "@$SOURCE_DATE_EPOCH" "$WORK/rd/vmlinuz" "$WORK/rd/initrd.gz" "$WORK/rd/syslinux.cfg"
mcopy -m -i "$PART" "$WORK/rd/vmlinuz" "$WORK/rd/initrd.gz" "$WORK/rd/syslinux.cfg" ::/
syslinux --install "$PART"

# Assemble: partition at its offset, syslinux MBR code before the table.
dd if="$PART" of="$OUT" bs=512 seek="$START" conv=notrunc,sparse status=none
dd if="$MBR" of="$OUT" bs=440 count=1 conv=notrunc status=none

zstd -q -f -T0 -10 "$OUT" -o "$OUT.zst"
SHA=$(sha256sum "$OUT" | cut -d' ' -f1)
echo "$SHA  $(basename "$OUT")" >"$OUT.sha256"
echo "lab-image: $OUT $(stat -c %s "$OUT") bytes, $OUT.zst $(stat -c %s "$OUT.zst") bytes" >&2
echo "sha256 $SHA"
