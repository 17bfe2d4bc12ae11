#!/bin/bash
# build-debian-image.sh — builds a bootable Debian 12 disk image OUT.raw
# (BIOS, MBR, one ext4 root partition holding /boot, GRUB), plus OUT.raw.zst
# and OUT.raw.sha256, and prints the raw image's sha256. The system runs
# cloud-init (config drive only, trimmed module lists: debian/cloud.cfg),
# openssh-server, and reports `booted` to provisiond after cloud-final
# (debian/provisiond-booted.service running provisiond-agent booted).
#
#   images/build/build-debian-image.sh OUT.raw [--agent BIN] [--cache DIR]
#                                      [--mirror URL] [--suite NAME]
#
# --agent defaults to build/images/agent/provisiond-agent; --cache keeps
# debootstrap's .debs; --mirror defaults to the one apt uses here.
#
# Needs root for debootstrap (it chroots and mounts /proc and /sys inside
# the target directory for package scripts, and unmounts them); the disk
# itself is made without loop devices or mounts: mke2fs -d from the
# directory, sfdisk on a file, GRUB's boot.img and a core.img made by the
# target's own grub-mkimage written with dd (no grub-install).
#
# Rebuilt only when its inputs change: OUT.stamp holds a hash of this
# script, debian/* and the agent binary; when it matches and the outputs
# exist, the script prints the recorded sha256 and exits.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
START=2048                                  # partition start, 512-byte sectors
ROOT_UUID=5d1e0c0a-6e4f-4b3a-9a57-70726f760001 # fixed: grub.cfg and fstab name it
die() { echo "debian-image: $*" >&2; exit 1; }
say() { echo "debian-image: $*" >&2; }

OUT="" AGENT="" SUITE=bookworm MIRROR=""
CACHE="${PROVISIOND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/provisiond}/debian"
while [ $# -gt 0 ]; do
	case "$1" in
	--agent) AGENT=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--mirror) MIRROR=$2; shift 2 ;;
	--suite) SUITE=$2; shift 2 ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) [ -z "$OUT" ] || die "one OUT.raw only"; OUT=$1; shift ;;
	esac
done
[ -n "$OUT" ] || die "usage: build-debian-image.sh OUT.raw [--agent BIN] [--cache DIR]"
[ "$(id -u)" = 0 ] || die "debootstrap needs root"
export PATH=$PATH:/sbin:/usr/sbin
for tool in debootstrap sfdisk mke2fs zstd sha256sum; do
	command -v "$tool" >/dev/null || die "missing tool: $tool (packages: debootstrap fdisk e2fsprogs zstd)"
done
# The mirror this machine's apt uses, unless given.
if [ -z "$MIRROR" ]; then
	MIRROR=$(apt-get indextargets --format '$(REPO_URI)' 'Codename: bookworm' 2>/dev/null | head -1)
	MIRROR=${MIRROR%/}
	[ -n "$MIRROR" ] || die "no Debian mirror in apt's sources; pass --mirror URL"
fi
mkdir -p "$(dirname "$OUT")" "$CACHE"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/provisiond-debimg.XXXXXX")
cleanup() {
	# debootstrap unmounts what it mounted; make sure, then remove.
	for m in proc sys dev/pts dev; do
		mountpoint -q "$WORK/root/$m" 2>/dev/null && umount -l "$WORK/root/$m"
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

AGENT=${AGENT:-$SRC/build/images/agent/provisiond-agent} # cmake --build build --target provisiond-agent
[ -x "$AGENT" ] || die "agent $AGENT is not executable"

STAMP=$( (cat "$0" "$HERE"/debian/*; sha256sum <"$AGENT"; echo "$SUITE $MIRROR") | sha256sum | cut -d' ' -f1)
if [ -s "$OUT.zst" ] && [ -s "$OUT.sha256" ] && [ "$(cat "$OUT.stamp" 2>/dev/null)" = "$STAMP" ]; then
	say "$OUT is up to date (inputs unchanged)"
	echo "sha256 $(cut -d' ' -f1 "$OUT.sha256")"
	exit 0
fi

# The system's configuration: files from debian/, no host keys, no
# machine-id (both made on first boot), no apt lists, docs or man pages.
configure_root() {
	local r=$1 kver
	install -D -m 0644 "$HERE/debian/cloud.cfg" "$r/etc/cloud/cloud.cfg.d/90-provisiond.cfg"
	install -D -m 0644 "$HERE/debian/provisiond-booted.service" "$r/etc/systemd/system/provisiond-booted.service"
	install -D -m 0755 "$AGENT" "$r/usr/local/bin/provisiond-agent"
	chroot "$r" systemctl enable provisiond-booted.service >/dev/null 2>&1
	echo "UUID=$ROOT_UUID / ext4 defaults,errors=remount-ro 0 1" >"$r/etc/fstab"
	echo debian >"$r/etc/hostname"
	printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' >"$r/etc/network/interfaces"
	rm -f "$r"/etc/ssh/ssh_host_* "$r/var/lib/dbus/machine-id"
	: >"$r/etc/machine-id"
	chroot "$r" apt-get clean
	rm -rf "$r"/var/lib/apt/lists/* "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* \
		"$r"/var/log/*.log "$r"/var/cache/debconf/*-old "$r"/tmp/*
	find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'en*' ! -name locale.alias -exec rm -rf {} +
	kver=$(basename "$(ls -d "$r"/lib/modules/* | head -1)")
	[ -f "$r/boot/vmlinuz-$kver" ] && [ -f "$r/boot/initrd.img-$kver" ] || die "no kernel/initrd for $kver in the target"
	mkdir -p "$r/boot/grub"
	cat >"$r/boot/grub/grub.cfg" <<EOC
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
linux /boot/vmlinuz-$kver root=UUID=$ROOT_UUID ro console=tty0 console=ttyS0,115200 net.ifnames=0 quiet
initrd /boot/initrd.img-$kver
boot
EOC
	say "kernel $kver, root $(du -sm "$r" | cut -f1) MiB"
}

# MBR disk file: GRUB's boot.img in the first 440 bytes, core.img (made by
# the target's grub-mkimage with the modules it needs embedded) from sector
# 1 in the gap before the partition, the ext4 root from 1 MiB.
make_disk() {
	local r=$1 out=$2 used mib g=$1/usr/lib/grub/i386-pc
	used=$(du -sm "$r" | cut -f1)
	mib=$(((used * 5 / 4 + 128 + 63) / 64 * 64)) # slack for first-boot writes; the deploy grows it
	rm -f "$out" "$out.zst"
	truncate -s "${mib}M" "$out"
	printf 'label: dos\nlabel-id: 0x50524f57\nstart=%d, type=83, bootable\n' "$START" | sfdisk -q "$out"
	truncate -s $(((mib * 2048 - START) * 512)) "$WORK/part.img"
	E2FSPROGS_FAKE_TIME=${SOURCE_DATE_EPOCH:-1700000000} mke2fs -q -t ext4 -L debian-root -U "$ROOT_UUID" \
		-E hash_seed=$ROOT_UUID,lazy_itable_init=0 -d "$r" "$WORK/part.img"
	chroot "$r" grub-mkimage -O i386-pc -o /tmp/core.img -p '(hd0,msdos1)/boot/grub' \
		biosdisk part_msdos ext2 normal linux boot serial terminal configfile
	[ "$(stat -c %s "$r/tmp/core.img")" -lt $(((START - 1) * 512)) ] || die "core.img does not fit before the partition"
	dd if="$WORK/part.img" of="$out" bs=512 seek="$START" conv=notrunc,sparse status=none
	dd if="$g/boot.img" of="$out" bs=440 count=1 conv=notrunc status=none
	dd if="$r/tmp/core.img" of="$out" bs=512 seek=1 conv=notrunc status=none
	rm -f "$WORK/part.img"
}

ROOT=$WORK/root
PKGS=$(grep -v '^#' "$HERE/debian/packages.txt" | xargs | tr ' ' ,)
say "debootstrap --variant=minbase $SUITE ($MIRROR), +$(echo "$PKGS" | tr , '\n' | wc -l) packages"
debootstrap --variant=minbase --include="$PKGS" --cache-dir="$CACHE" \
	"$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
	die "debootstrap failed: $(tail -5 "$WORK/debootstrap.log")"
configure_root "$ROOT"
make_disk "$ROOT" "$OUT"
say "compressing (zstd)"
zstd -q -f -T2 -12 "$OUT" -o "$OUT.zst"
SHA=$(sha256sum "$OUT" | cut -d' ' -f1)
echo "$SHA  $(basename "$OUT")" >"$OUT.sha256"
echo "$STAMP" >"$OUT.stamp"
say "$OUT $(stat -c %s "$OUT") bytes, $OUT.zst $(stat -c %s "$OUT.zst") bytes"
echo "sha256 $SHA"
