#!/bin/sh
# Virtual-media deploys through provisiond against the lab's Redfish BMC
# (lab/redfish-bmc --simulate) on loopback: two machines enrolled with the
# redfish option deploy=vmedia, asserting on the BMC's operation log, the boot
# listener and the API:
#   - inspection builds an ISO, the BMC gets InsertMedia with a one-time URL on
#     the boot listener, then the boot override Cd once and power on
#   - the URL serves the ISO (Range too), carrying the agent's kernel command
#     line with the boot token; other names are 404
#   - an agent that looks up with that token gets the media ejected, the ISO
#     removed and the URL dead (404)
#   - a machine whose agent never calls is failed after agent_boot_timeout_s
#     (before its state's deadline), media ejected all the same, nothing
#     left in vmedia_dir
#   - a machine without deploy=vmedia boots by PXE: no media operation
# Skipped (77) without xorriso or isolinux. Usage: api_vmedia.sh BUILD_DIR
set -eu
build=$1
command -v xorriso >/dev/null && [ -r /usr/lib/ISOLINUX/isolinux.bin ] ||
	{ echo "SKIP: xorriso or isolinux missing (scripts/deps)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/api-vmedia.XXXXXX")
# shellcheck source=tests/daemon_lib.sh
. "$(dirname "$0")/../../daemon_lib.sh"
bmc_pid="" pd_pid=""
cleanup() {
	[ -z "$pd_pid" ] || kill_ours TERM "$pd_pid"
	[ -z "$bmc_pid" ] || kill_ours TERM "$bmc_pid"
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	tail -n 20 "$work/log" >&2 || true
	tail -n 20 "$work/oplog" >&2 || true
	exit 1
}
ok() { echo "ok - $*"; }

"$build/lab/redfish-bmc/redfish-bmc" --simulate s1,s2,s3 --password s3cret --log "$work/oplog" \
	--port-file "$work/bmc.port" >"$work/bmc.out" 2>&1 &
bmc_pid=$!
n=0
while [ ! -s "$work/bmc.port" ]; do
	n=$((n + 1)); [ $n -lt 100 ] || fail "redfish-bmc did not start"; sleep 0.05
done
bmc="http://127.0.0.1:$(cat "$work/bmc.port")"
# ops SYSTEM: the BMC's operations on SYSTEM, "|"-joined
ops() {
	jq -r "select(.system==\"$1\" and (.op==\"media_insert\" or .op==\"media_eject\" or
		.op==\"boot_override\" or .op==\"reset\")) | [.op, (.type // .target // \"\")] |
		join(\" \")" "$work/oplog" | tr '\n' '|'
}
image_of() { jq -r "select(.system==\"$1\" and .op==\"media_insert\") | .image" "$work/oplog" | tail -1; }

mkdir -p "$work/ramdisk"
echo "kernel of the test" >"$work/ramdisk/vmlinuz"
echo "initramfs of the test" >"$work/ramdisk/initramfs"
"$build/provisiond/provisiond" --init --db "$work/p.db" >/dev/null
cat >"$work/p.ini" <<INI
[lifecycle]
backoff_base_ms = 100
backoff_max_ms = 300
max_attempts = 1
verify_timeout_s = 60
inspect_timeout_s = 60
agent_boot_timeout_s = 12
[bmc]
call_timeout_ms = 3000
retries = 1
confirm_timeout_ms = 5000
[boot]
ramdisk_dir = $work/ramdisk
vmedia_dir = $work/vmedia
unknown_mac = ignore
INI
pd_start
# wait_for SECONDS CMD...: until CMD succeeds
wait_for() {
	t=0 s=$1
	shift
	until "$@"; do
		t=$((t + 1))
		[ $t -le $((s * 5)) ] || return 1
		sleep 0.2
	done
}
printf s3cret >"$work/pw"
enroll() { # NAME SYSTEM MAC [OPTION]
	"$ctl" machine enroll --name "$1" --mac "$3" --bmc-driver redfish --bmc-address "$bmc" \
		--bmc-user admin --bmc-password-file "$work/pw" --bmc-option system_id="$2" \
		${4:+--bmc-option "$4"} >/dev/null
}
enroll m-agent s1 52:54:00:d0:00:01 deploy=vmedia
enroll m-silent s2 52:54:00:d0:00:02 deploy=vmedia
enroll m-pxe s3 52:54:00:d0:00:03

inserted() { [ -n "$(image_of "$1")" ]; }
wait_for 30 inserted s1 || fail "no media inserted for s1: $(ops s1)"
wait_for 30 inserted s2 || fail "no media inserted for s2: $(ops s2)"
powered() { jq -se "any(.[]; .system==\"$1\" and .op==\"reset\")" "$work/oplog" >/dev/null; }
wait_for 10 powered s1 || fail "s1 not powered on: $(ops s1)"
case $(ops s1) in
'boot_override Pxe|media_insert |boot_override Cd|reset On|') ;;
*) fail "s1: BMC saw '$(ops s1)', want verification's Pxe, then insert, Cd once, on" ;;
esac
jq -se 'any(.[]; .system=="s1" and .op=="boot_override" and .target=="Cd" and .enabled=="Once")' \
	"$work/oplog" >/dev/null || fail "Cd override not Once"
url=$(image_of s1)
case $url in "$boot"/vmedia/pvd_*.iso) ;; *) fail "media URL '$url' is not on the boot listener" ;; esac
ok "inspection: ISO inserted from $boot/vmedia/..., boot override Cd once, power on"

curl -sf -o "$work/s1.iso" "$url" || fail "the media URL does not serve"
grep -aq "provisiond.machine=$(show m-agent .id) provisiond.token=pvd_" "$work/s1.iso" ||
	fail "the ISO lacks the agent's command line"
grep -aq "EL TORITO SPECIFICATION" "$work/s1.iso" || fail "the ISO is not El Torito bootable"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=0-2047' "$url")" = 206 ] ||
	fail "no Range on the media URL"
for bad in "$boot/vmedia/pvd_0000.iso" "$boot/vmedia/$(show m-agent .id).iso" "$boot/vmedia/..%2Fp.db"; do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$bad")" = 404 ] || fail "$bad is served"
done
grep -q "$(basename "$url" .iso)" "$work/log" && fail "the media secret is in provisiond's log"
ok "the one-time URL serves the ISO (El Torito, the agent's command line, Range); other names 404"

token=$(grep -ao 'provisiond.token=pvd_[0-9a-f]*' "$work/s1.iso" | head -1 | cut -d= -f2)
code=$(curl -s -o "$work/lookup.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
	-H 'Content-Type: application/json' -d '{"macs":["52:54:00:d0:00:01"]}' "$boot/v1/agent/lookup")
[ "$code" = 200 ] || fail "agent lookup with the ISO's token: $code $(cat "$work/lookup.json")"
ejected() { jq -se "any(.[]; .system==\"$1\" and .op==\"media_eject\" and .image != null)" \
	"$work/oplog" >/dev/null; }
wait_for 20 ejected s1 || fail "s1: media not ejected after the agent called in: $(ops s1)"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 404 ] || fail "the URL lives after the eject"
[ ! -e "$work/vmedia/$(show m-agent .id).iso" ] || fail "s1's ISO left after the eject"
[ "$(show m-agent .state)" = inspecting ] || fail "m-agent is $(show m-agent .state)"
ok "the agent called in: media ejected, ISO removed, URL dead (404)"

failed() { [ "$(show m-silent .state)" = failed ]; }
wait_for 40 failed || fail "m-silent is $(show m-silent .state), expected failed after 12 s"
show m-silent .last_error | grep -q "did not call in within 12 s" ||
	fail "m-silent: $(show m-silent .last_error)"
ejected s2 || fail "s2: media left inserted after the deadline: $(ops s2)"
[ -z "$(ls -A "$work/vmedia" 2>/dev/null | grep -v "^$(show m-agent .id)")" ] ||
	fail "ISOs left: $(ls -A "$work/vmedia")"
ok "an agent that never calls: failed by the boot timeout ($(show m-silent .last_error)), media ejected"

case $(ops s3) in *media*) fail "the PXE machine got media: $(ops s3)" ;; esac
ok "a machine without deploy=vmedia: no media operation ($(ops s3))"
echo "virtual media through the API: all passed"
