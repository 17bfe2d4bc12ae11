#!/bin/sh
# The lab's Redfish BMC (lab/redfish-bmc, --simulate) driven by clients nobody
# here wrote: Debian's python3-sushy (Ironic's Redfish library) and redfishtool,
# through power, boot override and virtual media, with Basic and session auth.
# Asserts on what the clients report and on the BMC's operation log, and that no
# session is left open. Skipped (77) when neither client is installed.
# Usage: redfish_clients.sh BUILD_DIR
set -eu
build=$1
bmc="$build/lab/redfish-bmc/redfish-bmc"
work=$(mktemp -d "${TMPDIR:-/tmp}/rf-clients.XXXXXX")
pid=""
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	tail -n 30 "$work/oplog" >&2 || true
	exit 1
}
ok() { echo; echo "ok - $*"; }
have_sushy=0
/usr/bin/python3 -c 'import sushy' 2>/dev/null && have_sushy=1
have_rt=0
command -v redfishtool >/dev/null && have_rt=1
[ $have_sushy = 1 ] || [ $have_rt = 1 ] || { echo "skip: neither python3-sushy nor redfishtool"; exit 77; }

"$bmc" --simulate node1,node2 --password s3cret --log "$work/oplog" --port-file "$work/port" \
	>"$work/out" 2>&1 &
pid=$!
n=0
while [ ! -s "$work/port" ]; do
	n=$((n + 1)); [ $n -lt 100 ] || fail "redfish-bmc did not start: $(cat "$work/out")"; sleep 0.05
done
port=$(cat "$work/port")
base="http://127.0.0.1:$port"
ops() { jq -r "select(.system==\"$1\") | [.op, (.type // .target // .device // .image // \"\"), (.enabled // .override // \"\")] | join(\" \")" "$work/oplog" | tr '\n' '|'; }
sessions() { curl -sf -u admin:s3cret "$base/redfish/v1/SessionService/Sessions" | jq '."Members@odata.count"'; }

if [ $have_sushy = 1 ]; then
	/usr/bin/python3 - "$base" <<'PY' || fail "sushy"
import sys, sushy
from sushy import auth
base = sys.argv[1] + "/redfish/v1"
a = auth.SessionAuth("admin", "s3cret")
s = sushy.Sushy(base, auth=a)
sy = s.get_system("/redfish/v1/Systems/node1")
assert sy.power_state == sushy.PowerState.OFF, sy.power_state
sy.reset_system(sushy.ResetType.ON)
sy.refresh()
assert sy.power_state == sushy.PowerState.ON, sy.power_state
sy.set_system_boot_options(target=sushy.BootSource.PXE, enabled=sushy.BootSourceOverrideEnabled.ONCE)
sy.refresh()
assert sy.boot.target == sushy.BootSource.PXE and sy.boot.enabled == sushy.BootSourceOverrideEnabled.ONCE, sy.boot
sy.reset_system(sushy.ResetType.FORCE_RESTART)          # boots once from PXE
sy.refresh()
assert sy.boot.enabled == sushy.BootSourceOverrideEnabled.DISABLED, sy.boot.enabled
m = s.get_manager("/redfish/v1/Managers/node1")
vm = m.virtual_media.get_member(m.virtual_media.members_identities[0])
vm.insert_media("http://10.0.0.1/boot.iso")
vm.refresh()
assert vm.inserted and vm.image == "http://10.0.0.1/boot.iso", (vm.inserted, vm.image)
vm.eject_media()
vm.refresh()
assert not vm.inserted
sy.reset_system(sushy.ResetType.FORCE_OFF)
try:
    sushy.Sushy(base, auth=auth.SessionAuth("admin", "wrong"))
    raise SystemExit("wrong password accepted")
except sushy.exceptions.AccessError:
    pass
a.close()
print("sushy ok")
PY
	got=$(ops node1)
	want='reset On |boot None Disabled|boot_override Pxe Once|reset ForceRestart |boot Pxe Once|media_insert http://10.0.0.1/boot.iso |media_eject http://10.0.0.1/boot.iso |reset ForceOff |'
	[ "$got" = "$want" ] || fail "sushy: oplog '$got', want '$want'"
	grep -q '"op":"auth_failed"' "$work/oplog" || fail "sushy: wrong password not logged"
	[ "$(sessions)" = 0 ] || fail "sushy left $(sessions) session(s) open"
	ok "sushy: power on/restart/off, boot override Pxe Once (applied once), virtual media insert/eject, session closed"
fi

if [ $have_rt = 1 ]; then
	R="-r 127.0.0.1:$port -u admin -p s3cret -S Never"
	# shellcheck disable=SC2086
	{
		redfishtool $R -L /redfish/v1/Systems/node2 Systems reset On >/dev/null &&
		redfishtool $R -A Session -L /redfish/v1/Systems/node2 Systems setBootOverride Once Cd >"$work/rt.out" &&
		redfishtool $R -A Session -L /redfish/v1/Systems/node2 Systems reset ForceRestart >/dev/null &&
		redfishtool $R raw POST /redfish/v1/Managers/node2/VirtualMedia/Cd/Actions/VirtualMedia.InsertMedia \
			-d '{"Image": "http://10.0.0.1/agent.iso", "Inserted": true}' >/dev/null &&
		redfishtool $R raw GET /redfish/v1/Managers/node2/VirtualMedia/Cd >"$work/cd.json" &&
		redfishtool $R raw POST /redfish/v1/Managers/node2/VirtualMedia/Cd/Actions/VirtualMedia.EjectMedia \
			-d '{}' >/dev/null &&
		redfishtool $R -L /redfish/v1/Systems/node2 Systems reset GracefulShutdown >/dev/null
	} || fail "redfishtool exited $?"
	jq -e '.Boot.BootSourceOverrideTarget == "Cd"' "$work/rt.out" >/dev/null || fail "redfishtool setBootOverride printed $(cat "$work/rt.out")"
	jq -e '.Inserted == true and .Image == "http://10.0.0.1/agent.iso"' "$work/cd.json" >/dev/null || fail "CD after insert: $(cat "$work/cd.json")"
	got=$(ops node2)
	want='reset On |boot None Disabled|boot_override Cd Once|reset ForceRestart |boot Cd Once|media_insert http://10.0.0.1/agent.iso |media_eject http://10.0.0.1/agent.iso |reset GracefulShutdown |'
	[ "$got" = "$want" ] || fail "redfishtool: oplog '$got', want '$want'"
	# shellcheck disable=SC2086
	if redfishtool -r "127.0.0.1:$port" -u admin -p nope -S Never Systems -1 get >/dev/null 2>&1; then
		fail "redfishtool: wrong password accepted"
	fi
	[ "$(sessions)" = 0 ] || fail "redfishtool left $(sessions) session(s) open"
	ok "redfishtool: power, boot override Cd Once (applied once), virtual media insert/eject (raw), Basic and session auth"
fi
echo "redfish clients against the lab BMC: all passed"
