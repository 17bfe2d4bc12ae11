#!/bin/bash
# boot-deploy.sh SRC AGENT SERVE OUTDIR — a whole deploy in QEMU (TCG):
#   1. the deploy ramdisk boots with provisiond.* on its command line, the
#      agent looks itself up at the fake boot listener (SERVE, on 127.0.0.1;
#      the guest reaches it as 10.0.2.2 through QEMU user networking — no
#      traffic leaves the host), reports facts, wipes, writes the lab image
#      (zstd, with metadata) to /dev/vda and powers off;
#   2. the same disk boots on its own: the lab image prints
#      PROVISIOND-BOOTED allocation=alloc-e2e machine=m-1 and reports booted.
# Exit 77 (skipped) when qemu-system-x86_64 is missing.
set -euo pipefail
SRC=$1 AGENT=$2 SERVE=$3 OUT=$4
QEMU=${QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null || { echo "SKIP: no $QEMU"; exit 77; }
fail() {
	echo "FAIL: $*" >&2
	for f in "$OUT"/serial-*.log; do [ -f "$f" ] && { echo "--- $f"; tr -d '\r' <"$f" | tail -40; }; done >&2
	exit 1
}

rm -rf "$OUT"
mkdir -p "$OUT/state"
"$SRC/images/ramdisk/build.sh" "$OUT/rd" --agent "$AGENT" >/dev/null
"$SRC/images/build/build-lab-image.sh" "$OUT/lab.raw" --agent "$AGENT" >"$OUT/lab.out"
SHA=$(awk '/^sha256 / { print $2 }' "$OUT/lab.out")
truncate -s 256M "$OUT/disk.raw"
dd if=/dev/urandom of="$OUT/disk.raw" bs=1M count=1 conv=notrunc status=none # old "partition table"

"$SERVE" "$OUT/lab.raw.zst" "$(stat -c %s "$OUT/lab.raw")" "$SHA" http://10.0.2.2 "$OUT/state" 900 \
	2>"$OUT/serve.log" &
SERVE_PID=$!
QPID=""
cleanup() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null
	wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$OUT/state/port" ] && break; sleep 0.1; done
PORT=$(cat "$OUT/state/port") || fail "fake server did not start: $(cat "$OUT/serve.log")"

qemu() { # name, then extra args
	local name=$1
	shift
	"$QEMU" -accel tcg -m 768 -smp 2 -nographic -no-reboot -monitor none \
		-serial "file:$OUT/serial-$name.log" \
		-drive "file=$OUT/disk.raw,format=raw,if=virtio,file.locking=off" \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 \
		"$@" </dev/null >"$OUT/qemu-$name.out" 2>&1 &
	QPID=$!
}

# 1. Deploy: the agent powers the VM off when done; -no-reboot ends QEMU.
T0=$(date +%s)
qemu deploy -kernel "$OUT/rd/vmlinuz" -initrd "$OUT/rd/initramfs" -append \
	"console=ttyS0,115200 provisiond.url=http://10.0.2.2:$PORT provisiond.mode=agent provisiond.machine=m-1 provisiond.token=boot-tok-1 provisiond.heartbeat=3"
for _ in $(seq 600); do kill -0 "$QPID" 2>/dev/null || break; sleep 1; done
kill -0 "$QPID" 2>/dev/null && fail "deploy VM still running after 600 s"
wait "$QPID" || true
QPID=""
T1=$(date +%s)
LOG=$OUT/serial-deploy.log
grep -aq 'PROVISIOND-AGENT start' "$LOG" || fail "no PROVISIOND-AGENT start marker"
grep -aq 'unable to open an initial console' "$LOG" && fail "kernel had no /dev/console"
grep -aq 'poweroff requested\|poweroff now' "$LOG" || fail "agent did not power off"
cmp -n "$(stat -c %s "$OUT/lab.raw")" "$OUT/lab.raw" "$OUT/disk.raw" || fail "disk does not hold the lab image"

# 2. Boot the deployed disk: the lab image reports booted.
qemu disk -boot c
# The server exits 0 as soon as the booted call arrived.
for _ in $(seq 600); do
	kill -0 "$SERVE_PID" 2>/dev/null || break
	grep -aq 'booted report failed' "$OUT/serial-disk.log" 2>/dev/null && break
	sleep 1
done
kill -0 "$SERVE_PID" 2>/dev/null && fail "no booted call within 600 s of the disk boot"
wait "$SERVE_PID" || fail "fake server saw no booted call: $(tail -3 "$OUT/serve.log")"
SERVE_PID=""
T2=$(date +%s)
grep -aq 'PROVISIOND-BOOTED allocation=alloc-e2e machine=m-1' "$OUT/serial-disk.log" ||
	fail "no PROVISIOND-BOOTED marker"

R=$OUT/state/record.json
for want in '"booted_auth": "Bearer inst-tok"' '"machine_id": "m-1"' '"52:54:00:12:34:56"' \
	'"name": "vda"' '"size_bytes": 268435456' '"id": "c-write"'; do
	grep -q "$want" "$R" || fail "record.json lacks $want"
done
[ "$(grep -c '"ok": true' "$R")" = 3 ] || fail "not all three commands succeeded: $(cat "$R")"
echo "boot-deploy OK: deploy VM $((T1 - T0)) s, disk boot to booted $((T2 - T1)) s"
grep -a 'write_image:' "$LOG" | tail -1 || true
