#!/bin/bash
# build.sh — builds provisiond's deploy ramdisk: OUTDIR/vmlinuz and
# OUTDIR/initramfs (gzip'd newc cpio), plus OUTDIR/initramfs.manifest
# (kernel, agent hash, sizes, build time, modules in load order, libraries).
#
#   images/ramdisk/build.sh OUTDIR --agent BIN [--cache DIR] [--kernel-deb FILE]
#                                  [--init FILE] [--modules "name ..."] [--name NAME]
#
# Kernel and modules come from Debian's linux-image-amd64 dependency
# (linux-image-6.1.0-*-amd64), fetched with `apt-get download` into the cache
# (default ~/.cache/provisiond/ramdisk, or $PROVISIOND_CACHE/ramdisk) and
# unpacked with dpkg-deb -x into a temp dir — never installed. No root-only
# steps: the cpio is written from a staging dir; /dev/console is a
# hand-written second newc archive, so no mknod is needed.
#
#   --agent BIN      the provisiond-agent binary (required: CMake builds it,
#                    target provisiond-agent; the package installs it in
#                    /usr/lib/provisiond)
#   --init FILE      the /init to use (default: images/ramdisk/init.sh);
#                    images/build/ uses this for the lab image
#   --modules LIST   module names (default: images/ramdisk/modules.txt);
#                    dependencies are added from modules.dep
#   --name NAME      initramfs file name (default initramfs)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
T0=$(date +%s.%N)

die() { echo "ramdisk: $*" >&2; exit 1; }
say() { echo "ramdisk: $*" >&2; }

OUT="" AGENT="" KDEB="" INIT="$HERE/init.sh" NAME=initramfs
CACHE="${PROVISIOND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/provisiond}/ramdisk"
MODULES=$(grep -v '^#' "$HERE/modules.txt" | tr '\n' ' ')
while [ $# -gt 0 ]; do
	case "$1" in
	--agent) AGENT=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--kernel-deb) KDEB=$2; shift 2 ;;
	--init) INIT=$2; shift 2 ;;
	--modules) MODULES=$2; shift 2 ;;
	--name) NAME=$2; shift 2 ;;
	-h | --help) sed -n '2,22p' "$0"; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) [ -z "$OUT" ] || die "one OUTDIR only"; OUT=$1; shift ;;
	esac
done
[ -n "$OUT" ] || die "usage: build.sh OUTDIR [options] (see --help)"
[ -f "$INIT" ] || die "no init script $INIT"
# The agent is built by CMake (target provisiond-agent; packaged in
# /usr/lib/provisiond). This script does not compile it: the agent links the
# tree's util/ library, which only the CMake build knows, and the packaged
# builder has no sources.
[ -n "$AGENT" ] || die "--agent BIN is required (cmake --build build --target provisiond-agent; packaged: /usr/lib/provisiond/provisiond-agent)"
[ -x "$AGENT" ] || die "agent $AGENT is not executable"
for tool in cpio gzip dpkg-deb depmod ldd awk; do
	command -v "$tool" >/dev/null || [ -x "/sbin/$tool" ] || die "missing tool: $tool"
done
mkdir -p "$OUT" "$CACHE"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/provisiond-ramdisk.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
STAGE=$WORK/stage

# The versioned kernel package linux-image-amd64 points at, as a cached .deb.
fetch_kernel_deb() {
	[ -n "$KDEB" ] && { [ -f "$KDEB" ] || die "no such file $KDEB"; return; }
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }') || true
	if [ -z "$pkg" ]; then
		KDEB=$(ls -t "$CACHE"/linux-image-*.deb 2>/dev/null | head -1) || true
		[ -n "$KDEB" ] || die "apt-cache cannot resolve linux-image-amd64 and the cache is empty"
		say "apt-cache has no answer; using cached $(basename "$KDEB")"
		return
	fi
	KDEB=$(ls -t "$CACHE/${pkg}"_*.deb 2>/dev/null | head -1) || true
	if [ -z "$KDEB" ]; then
		say "downloading $pkg"
		(cd "$CACHE" && apt-get download -q -o APT::Sandbox::User="$(id -un)" "$pkg" >&2) ||
			die "apt-get download $pkg failed"
		KDEB=$(ls -t "$CACHE/${pkg}"_*.deb | head -1)
		find "$CACHE" -maxdepth 1 -name 'linux-image-*.deb' ! -name "${pkg}_*" -delete
	fi
}

# Kernel tree unpacked into $WORK/k; modules.dep generated (the .deb has none).
unpack_kernel() {
	dpkg-deb -x "$KDEB" "$WORK/k"
	KV=$(ls "$WORK/k/lib/modules" | head -1)
	[ -n "$KV" ] && [ -f "$WORK/k/boot/vmlinuz-$KV" ] || die "$KDEB holds no kernel"
	PATH=$PATH:/sbin:/usr/sbin depmod -b "$WORK/k" "$KV"
}

# A static busybox: the host's busybox-static, else one from the cache.
busybox_binary() {
	BUSYBOX=/bin/busybox
	if [ -x "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1; then return; fi
	local deb
	deb=$(ls -t "$CACHE"/busybox-static_*.deb 2>/dev/null | head -1) || true
	if [ -z "$deb" ]; then
		(cd "$CACHE" && apt-get download -q -o APT::Sandbox::User="$(id -un)" busybox-static >&2)
		deb=$(ls -t "$CACHE"/busybox-static_*.deb | head -1)
	fi
	dpkg-deb -x "$deb" "$WORK/bb"
	BUSYBOX=$WORK/bb/bin/busybox
}

# Copy a file to the same path inside the stage, following symlinks.
stage_file() {
	mkdir -p "$STAGE$(dirname "$2")"
	cp -L "$1" "$STAGE$2"
}

# The tools the agent runs to write a config drive (images/agent/
# configdrive.c): this host's sfdisk, mkfs.fat and mtools (packages fdisk,
# dosfstools, mtools), with their libraries. mcopy and mmd are mtools
# under another name.
CD_TOOLS="sfdisk mkfs.fat mtools"
stage_tools() {
	local t p
	for t in $CD_TOOLS; do
		p=$(PATH=$PATH:/sbin:/usr/sbin command -v "$t") || die "missing tool: $t (packages: fdisk dosfstools mtools)"
		stage_file "$p" "/usr/sbin/$t"
		chmod 0755 "$STAGE/usr/sbin/$t"
		stage_libraries "$p"
	done
	# mtools converts file names to the FAT code page (850) with iconv:
	# glibc's module for it, found through the module cache
	local g
	g=$(dirname "$(gconv_dir)")
	for t in gconv-modules.cache IBM850.so; do
		[ -f "$g/$t" ] || die "no $g/$t (package libc6)"
		stage_file "$g/$t" "$g/$t"
	done
	ln -sf mkfs.fat "$STAGE/usr/sbin/mkfs.vfat"
	ln -sf mtools "$STAGE/usr/sbin/mcopy"
	ln -sf mtools "$STAGE/usr/sbin/mmd"
}

# glibc's iconv module directory (DIR/gconv-modules.cache's path).
gconv_dir() {
	local d
	for d in /usr/lib/x86_64-linux-gnu/gconv /usr/lib64/gconv /usr/lib/gconv; do
		[ -f "$d/gconv-modules.cache" ] && { echo "$d/gconv-modules.cache"; return; }
	done
	die "no gconv-modules.cache (package libc6)"
}

# A binary's shared libraries and the dynamic loader, at the paths ldd names.
stage_libraries() {
	local line lib bin=$1
	ldd "$bin" >"$WORK/ldd" || die "ldd $bin failed (not a dynamic executable?)"
	if grep -q 'not found' "$WORK/ldd"; then die "unresolved libraries: $(grep 'not found' "$WORK/ldd")"; fi
	while read -r line; do
		case "$line" in
		*'=> /'*) lib=${line#*=> }; lib=${lib%% (*} ;;
		/*) lib=${line%% (*} ;;
		*) continue ;;
		esac
		[ -e "$STAGE$lib" ] && continue
		stage_file "$lib" "$lib"
		echo "$lib" >>"$WORK/libs"
	done <"$WORK/ldd"
}

# Modules with dependencies, in load order, into /lib/modules/KV; the order
# goes to /etc/provisiond/modules for /init's insmod loop.
stage_modules() {
	local md=$WORK/k/lib/modules/$KV rel
	awk -v want="$MODULES" -f "$HERE/resolve-modules.awk" "$md/modules.dep" >"$WORK/order" ||
		die "module resolution failed for: $MODULES"
	: >"$STAGE/etc/provisiond/modules"
	while read -r rel; do
		mkdir -p "$STAGE/lib/modules/$KV/$(dirname "$rel")"
		case "$rel" in
		*.ko.xz) xz -dc "$md/$rel" >"$STAGE/lib/modules/$KV/${rel%.xz}"; rel=${rel%.xz} ;;
		*.ko.zst) zstd -qdc "$md/$rel" >"$STAGE/lib/modules/$KV/${rel%.zst}"; rel=${rel%.zst} ;;
		*) cp "$md/$rel" "$STAGE/lib/modules/$KV/$rel" ;;
		esac
		echo "$rel" >>"$STAGE/etc/provisiond/modules"
	done <"$WORK/order"
	cp "$md/modules.builtin" "$md/modules.order" "$STAGE/lib/modules/$KV/"
	PATH=$PATH:/sbin:/usr/sbin depmod -b "$STAGE" "$KV" 2>/dev/null || true
}

stage_tree() {
	mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,etc/provisiond,proc,sys,dev,run,tmp,root,var/log}
	cp "$BUSYBOX" "$STAGE/bin/busybox"
	ln -s busybox "$STAGE/bin/sh"
	cp "$AGENT" "$STAGE/usr/bin/provisiond-agent"
	cp "$INIT" "$STAGE/init"
	cp "$HERE/init-common.sh" "$STAGE/etc/provisiond/init-common.sh"
	cp "$HERE/udhcpc.script" "$STAGE/etc/provisiond/udhcpc.script"
	chmod 0755 "$STAGE/init" "$STAGE/etc/provisiond/udhcpc.script" "$STAGE/usr/bin/provisiond-agent"
	echo "$KV" >"$STAGE/etc/provisiond/kernel"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$STAGE/etc/passwd"
	printf 'root:x:0:\n' >"$STAGE/etc/group"
	printf 'hosts: files dns\n' >"$STAGE/etc/nsswitch.conf"
	printf '127.0.0.1 localhost\n' >"$STAGE/etc/hosts"
	stage_libraries "$AGENT"
	stage_tools
	stage_modules
}

# newc header: magic + 13 hex fields, name, NUL, padded to 4 bytes.
newc_entry() { # name mode(octal) rdevmajor rdevminor
	local name=$1 namesize=$((${#1} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		1 "$((8#$2))" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
	printf '%s\0' "$name"
	head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
}

# A second archive with /dev/console (c 5 1): the kernel opens it for init's
# stdio before /init can mount devtmpfs. Concatenated archives are allowed.
console_archive() {
	newc_entry dev/console 020600 5 1
	newc_entry TRAILER!!! 0 0 0
}

write_initramfs() {
	find "$STAGE" -exec touch -h -d @0 {} +
	{
		(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet)
		console_archive
	} | gzip -6n >"$OUT/$NAME"
	cp "$WORK/k/boot/vmlinuz-$KV" "$OUT/vmlinuz"
}

write_manifest() {
	local secs
	secs=$(echo "$(date +%s.%N) $T0" | awk '{ printf "%.1f", $1 - $2 }')
	{
		echo "kernel $KV $(basename "$KDEB")"
		echo "agent $(sha256sum "$AGENT" | cut -d' ' -f1)"
		echo "busybox $("$BUSYBOX" 2>&1 | head -1)"
		echo "vmlinuz_bytes $(stat -c %s "$OUT/vmlinuz")"
		echo "initramfs_bytes $(stat -c %s "$OUT/$NAME")"
		echo "staged_bytes $(du -sb "$STAGE" | cut -f1)"
		echo "build_seconds $secs"
		sed 's/^/module /' "$STAGE/etc/provisiond/modules"
		sed 's/^/library /' "$WORK/libs"
	} >"$OUT/$NAME.manifest"
	say "kernel $KV; $NAME $(du -h "$OUT/$NAME" | cut -f1), vmlinuz $(du -h "$OUT/vmlinuz" | cut -f1); $(wc -l <"$WORK/order") modules; ${secs}s"
}

fetch_kernel_deb
unpack_kernel
busybox_binary
stage_tree
write_initramfs
write_manifest
echo "$OUT/vmlinuz $OUT/$NAME"
