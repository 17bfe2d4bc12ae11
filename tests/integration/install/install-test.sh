#!/bin/bash
# install-test.sh SRC WORK — the Debian packages in a fresh Debian 12 root.
#
# Builds provisiond, provisionctl and libprovclient-dev with scripts/package
# (twice: Debian revisions 1 and 2 of this tree), installs revision 1 into
# a debootstrapped bookworm minbase root with apt (which pulls the
# Depends), and runs the service as its unit says: systemd cannot be PID 1
# here, so the unit's own ExecStartPre= and ExecStart= lines run in the
# root as its User= with its AmbientCapabilities=, with NOTIFY_SOCKET on a
# socket this test reads (READY=1, RELOADING=1, STOPPING=1). Against it, the
# fake-hardware demo (scripts/demo-fake-scenario) with the installed
# provisionctl, the unit's ExecReload=, a program built on the installed
# libprovclient-dev. Then the upgrade of the runbook: revision 2 over
# revision 1 on a database one schema older, which the start migrates,
# with the key, the admin token and the operator's configuration kept.
#
# The root with the packages' dependencies is cached in WORK/cache, keyed
# by the mirror and the Depends of the packages; the first run needs the
# Debian mirror apt is configured with, later runs no network. The daemon
# and its clients run in their own network namespace (loopback only) and
# mount namespace (the root's /proc and /dev go with it). Exit 77 (skip)
# without root or the tools.
set -euo pipefail
src=$(cd "$1" && pwd)
work=$2
here=$(cd "$(dirname "$0")" && pwd)
t0=${PROVISIOND_INSTALL_T0:-$(date +%s)}
export PROVISIOND_INSTALL_T0=$t0
say() { echo "[install +$(($(date +%s) - t0))s] $*"; }
die() {
	echo "install-test: FAIL: $*" >&2
	exit 1
}

if [ -z "${PROVISIOND_INSTALL_INNER:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "install-test: skipped: needs root"; exit 77; }
	for t in debootstrap chroot unshare setpriv python3 sqlite3 jq bc cpack dpkg-deb curl ip; do
		command -v "$t" >/dev/null || { echo "install-test: skipped: no $t"; exit 77; }
	done
	mkdir -p "$work"
	work=$(cd "$work" && pwd)

	# ---- packages: revision 1 (installed first) and 2 (the upgrade)
	for rev in 1 2; do
		rm -rf "$work/debs$rev" && mkdir -p "$work/debs$rev"
		debs=$("$src/scripts/package" "$work/build" "$rev" 2>"$work/package.log") ||
			{ tail -30 "$work/package.log"; die "scripts/package failed"; }
		# shellcheck disable=SC2086
		cp $debs "$work/debs$rev/"
	done
	say "packages built: $(cd "$work/debs1" && echo *.deb)"

	# ---- the root with the packages' dependencies, cached
	mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' |
		awk '$2 == "bookworm" && $3 == "main" { print $1; exit }')
	[ -n "$mirror" ] || die "apt has no Debian bookworm main source configured"
	# systemd: what systemd-analyze verify --root needs besides our
	# Depends; dnsmasq-base and ipxe: the boot plane (Recommends)
	deps=$(for d in "$work"/debs1/*.deb; do dpkg-deb -f "$d" Depends; done | paste -sd, -)
	deps="$deps, systemd, dnsmasq-base, ipxe"
	key=$(printf '%s\n%s\n' "$mirror" "$deps" | sha256sum | cut -c1-16)
	cache=$work/cache/root-$key
	if [ ! -d "$cache" ]; then
		say "no cached root for these Depends ($key): debootstrap bookworm minbase from $mirror"
		rm -rf "$work/cache" && mkdir -p "$work/cache"
		tmp=$work/cache/tmp
		debootstrap --variant=minbase bookworm "$tmp" "$mirror" >"$work/debootstrap.log" 2>&1 ||
			{ tail -20 "$work/debootstrap.log"; die "debootstrap failed"; }
		unshare --mount --fork sh -c "mount -t proc proc '$tmp/proc' &&
			chroot '$tmp' apt-get satisfy -y -q --no-install-recommends '$deps' &&
			chroot '$tmp' apt-get clean" >"$work/deps.log" 2>&1 ||
			{ tail -20 "$work/deps.log"; die "installing the Depends failed"; }
		mv "$tmp" "$cache"
	fi
	say "root cached in $cache"
	export PROVISIOND_INSTALL_INNER=1
	exec unshare --mount --net --fork "$0" "$src" "$work" "$cache"
fi

# ---- inside our own mount and network namespaces
cache=$3
root=$work/root
: >"$work/provisiond.log"
: >"$work/apt.log"
ip link set lo up
rm -rf "$root"
cp -a "$cache" "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
pid=""
listener=""
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	[ -z "$listener" ] || kill "$listener" 2>/dev/null || true
	# and whatever else still runs in the root (by process id)
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" != "$root" ] || kill -9 "${p#/proc/}" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	umount "$root/dev" "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT

apt_install() { # DIR: the .deb files of DIR with apt in the root
	mkdir -p "$root/tmp/debs" && rm -f "$root"/tmp/debs/*.deb && cp "$1"/*.deb "$root/tmp/debs/"
	chroot "$root" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends /tmp/debs/*.deb' >>"$work/apt.log" 2>&1 ||
		{ tail -30 "$work/apt.log"; die "apt-get install $1 failed"; }
}
apt_install "$work/debs1"
say "installed: $(chroot "$root" dpkg-query -W -f '${Package} ${Version}, ' provisiond provisionctl libprovclient-dev)"

unit=$root/lib/systemd/system/provisiond.service
state=$root/var/lib/provisiond
key() { sed -n "s/^$1=//p" "$unit"; }
user=$(key User)
[ "$user" = provisiond ] || die "unit User= is '$user'"
uid=$(chroot "$root" id -u "$user") || die "postinst made no user $user"
gid=$(chroot "$root" id -g "$user")
[ "$(stat -c '%u %a' "$state")" = "$uid 700" ] || die "state dir: $(stat -c '%u %a' "$state")"
[ "$(stat -c '%u %a' "$state/images")" = "$uid 750" ] || die "image store: $(stat -c '%u %a' "$state/images")"
for f in ramdisk/vmlinuz ramdisk/initramfs provisiond-agent; do
	[ -s "$root/usr/lib/provisiond/$f" ] || die "no /usr/lib/provisiond/$f"
done
# the man pages and the completion come with the packages
for f in share/man/man8/provisiond.8 share/man/man5/provisiond.ini.5 \
	share/man/man1/provisionctl.1 share/bash-completion/completions/provisionctl; do
	chroot "$root" dpkg -S "/usr/$f" >/dev/null 2>&1 || chroot "$root" dpkg -S "/usr/$f.gz" >/dev/null 2>&1 ||
		die "no package ships /usr/$f"
done
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify --root="$root" /lib/systemd/system/provisiond.service ||
		die "systemd-analyze verify"
	say "systemd-analyze verify: ok"
fi
chroot "$root" setpriv --reuid="$user" --regid="$user" --init-groups \
	/usr/sbin/provisiond --check-config --config /etc/provisiond/provisiond.ini ||
	die "the installed configuration does not check"

# The unit's capabilities, as setpriv names them: +net_raw,+net_admin,...
caps=$(key AmbientCapabilities | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ \+/,/g')
run_as_unit() { # COMMAND_LINE: as the unit runs it (user, capabilities, env)
	# exec: started with &, $! is then the daemon (chroot, setpriv, env and
	# sh all exec)
	exec chroot "$root" setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
		--inh-caps="$caps" --ambient-caps="$caps" --bounding-set=-all,"$caps" -- \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin NOTIFY_SOCKET=/run/provisiond-notify.sock \
		sh -c "umask $(key UMask); $1"
}
notify=$work/notify.log
: >"$notify"
python3 "$here/notify-listen.py" "$root/run/provisiond-notify.sock" "$notify" &
listener=$!
wait_notify() { # PATTERN COUNT: until COUNT lines of the notify log match
	for _ in $(seq 300); do
		[ "$(grep -c "$1" "$notify")" -ge "$2" ] && return 0
		[ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || die "provisiond exited; $work/provisiond.log"
		sleep 0.1
	done
	die "no $1 (#$2) from provisiond; got: $(cat "$notify")"
}
start_service() { # until READY=1 (one more than before)
	local ready
	ready=$(grep -c '^READY=1' "$notify" || true)
	key ExecStartPre | while IFS= read -r line; do
		(run_as_unit "$line") >>"$work/provisiond.log" 2>&1 || die "ExecStartPre failed: $line"
	done
	run_as_unit "exec $(key ExecStart)" 2>>"$work/provisiond.log" &
	pid=$!
	wait_notify '^READY=1' $((ready + 1))
	[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:7480/readyz)" = 200 ] ||
		die "READY=1 sent before /readyz answers 200"
}
stop_service() {
	kill -TERM "$pid"
	wait "$pid" || die "provisiond did not stop cleanly"
	pid=""
}
for _ in $(seq 100); do [ -S "$root/run/provisiond-notify.sock" ] && break; sleep 0.1; done
[ -S "$root/run/provisiond-notify.sock" ] || die "the notify listener did not start"
start_service
say "provisiond started by the unit's lines: READY=1 ($(grep -m1 READY "$notify"))"
grep -q '^database .* ready (schema' "$work/provisiond.log" || die "the first start did not --init"
for f in provisiond.db provisiond.db.key provisiond.db.admin-token; do
	[ "$(stat -c '%u %a' "$state/$f")" = "$uid 600" ] || die "$f: $(stat -c '%u %a' "$state/$f")"
done
curl -sf http://127.0.0.1:7481/boot/vmlinuz | cmp -s - "$root/usr/lib/provisiond/ramdisk/vmlinuz" ||
	die "the boot listener does not serve the installed ramdisk"

# ---- the demo, with the installed provisionctl
printf '#!/bin/sh\nexec chroot %s /usr/bin/provisionctl "$@"\n' "$root" >"$work/ctl"
chmod 755 "$work/ctl"
export PROVISIOND_TOKEN_FILE=/var/lib/provisiond/provisiond.db.admin-token
"$src/scripts/demo-fake-scenario" "$work/ctl" "$state/images" "$pid" >"$work/demo.log" 2>&1 ||
	{ tail -30 "$work/demo.log"; die "the demo failed"; }
say "fake-hardware demo passed against the installed service"

# ---- libprovclient-dev: a program built with pkg-config on the host
dev=$work/dev && rm -rf "$dev" && dpkg-deb -x "$work"/debs1/libprovclient-dev_*.deb "$dev"
# shellcheck disable=SC2046
cc -std=c17 -Wall -Werror -o "$work/provclient-smoke" "$here/provclient-smoke.c" \
	$(PKG_CONFIG_SYSROOT_DIR="$dev" PKG_CONFIG_PATH="$(dirname "$(find "$dev" -name provclient.pc)")" \
		pkg-config --cflags --libs provclient) || die "building on libprovclient-dev"
"$work/provclient-smoke" http://127.0.0.1:7480 "$(cat "$state/provisiond.db.admin-token")" |
	jq -e .version >/dev/null || die "the libprovclient program got no version"
say "a program on the installed libprovclient-dev talks to it"

# ---- ExecReload=: the catalog, with RELOADING=1 then READY=1
sh -c "$(key ExecReload | sed "s/\$MAINPID/$pid/")"
wait_notify '^RELOADING=1' 1
wait_notify '^READY=1' 2 # the start's and the reload's
grep -q '"SKU catalog reloaded"' "$work/provisiond.log" || die "no reload in the log"
stop_service
grep -q '^STOPPING=1' "$notify" || die "no STOPPING=1"
say "reload (RELOADING=1, READY=1) and stop (STOPPING=1) reported"

# ---- the boot plane's dnsmasq ([dnsmasq] mode = full on a veth here) runs
# with the unit's capabilities, and not with one of them less
ip link add pv0 type veth peer name pv1
ip addr add 10.9.0.1/24 dev pv0
ip link set pv0 up && ip link set pv1 up
ini=$root/etc/provisiond/provisiond.ini
cp "$ini" "$work/provisiond.ini.orig"
sed -i 's|^# boot_url = .*|boot_url = http://10.9.0.1:7481|; s|^mode = off|mode = full\ninterface = pv0\nrange_start = 10.9.0.100\nrange_end = 10.9.0.150\nnetmask = 255.255.255.0|' "$ini"
dnsmasq_up() { # 0 when the metric says dnsmasq runs, 3 s after the start
	sleep 3
	curl -sf http://127.0.0.1:7480/metrics | grep -qx 'provisiond_dnsmasq_up 1' &&
		[ -n "$(pgrep -x dnsmasq -u "$uid")" ]
}
start_service
dnsmasq_up || die "dnsmasq does not run with the unit's capabilities: $(tail -3 "$state/dnsmasq/dnsmasq.out")"
stop_service
unit_caps=$caps
for drop in net_bind_service net_raw net_admin; do
	caps=$(echo "$unit_caps" | tr , '\n' | grep -v "+$drop" | paste -sd, -)
	start_service
	! dnsmasq_up || die "dnsmasq runs without $drop: the unit grants one capability too many"
	stop_service
done
caps=$unit_caps
cp "$work/provisiond.ini.orig" "$ini"
say "dnsmasq (DHCP, TFTP) runs with the unit's three capabilities and not with any two"

# ---- upgrade: revision 2 over 1, from a database one schema older
# as root (the service user may not traverse the path to the build dir, e.g.
# a mode-0700 temporary directory), then the files go back to the user
db_as_user() {
	sqlite3 "$state/provisiond.db" "$1"
	chown "$uid:$gid" "$state"/provisiond.db*
}
schema=$(chroot "$root" /usr/sbin/provisiond --version | sed -n 's/.*schema \([0-9]*\).*/\1/p')
# what the previous schema lacked: one entry per migration (add the newest's)
undo_6="ALTER TABLE images DROP COLUMN state; ALTER TABLE images DROP COLUMN last_error;
ALTER TABLE images DROP COLUMN file_size; ALTER TABLE images DROP COLUMN file_inode;
ALTER TABLE images DROP COLUMN updated_at;"
undo_7="DROP TRIGGER machine_counts_insert; DROP TRIGGER machine_counts_delete;
DROP TRIGGER machine_counts_update; DROP TABLE machine_counts;"
undo_8="DROP INDEX machines_pool_domain; ALTER TABLE allocations DROP COLUMN spread_across;
ALTER TABLE allocations DROP COLUMN spread_mode;"
undo_9="/* nothing: migration 9's index is PostgreSQL's alone */"
undo_10="DROP TABLE rollout_machines; DROP TABLE rollouts;
ALTER TABLE allocation_machines DROP COLUMN image;"
undo_11="DROP INDEX machines_replica; DROP TABLE replicas; ALTER TABLE machines DROP COLUMN replica;
ALTER TABLE machines DROP COLUMN replica_epoch;"
undo_12="ALTER TABLE allocations DROP COLUMN user_data;"
undo_13="DROP INDEX allocation_addresses_ip; DROP TABLE allocation_addresses;
ALTER TABLE allocations DROP COLUMN network;"
undo_14="ALTER TABLE machines DROP COLUMN wakes;"
undo_var=undo_$schema
[ -n "${!undo_var:-}" ] || die "no undo_$schema: say in this script what migration $schema adds"
db_as_user "${!undo_var} PRAGMA user_version = $((schema - 1));"
token_sum=$(sha256sum <"$state/provisiond.db.admin-token")
key_sum=$(sha256sum <"$state/provisiond.db.key")
tokens=$(db_as_user "SELECT count(*) FROM tokens")
echo "# changed by the operator" >>"$root/etc/provisiond/provisiond.ini"
apt_install "$work/debs2"
[ "$(chroot "$root" dpkg-query -W -f '${Version}' provisiond)" = "$(dpkg-deb -f "$work"/debs2/provisiond_*.deb Version)" ] ||
	die "the upgrade did not install revision 2"
grep -q '^# changed by the operator' "$root/etc/provisiond/provisiond.ini" ||
	die "the upgrade replaced the operator's provisiond.ini"
start_service
[ "$(db_as_user "PRAGMA user_version")" = "$schema" ] || die "the start did not migrate to $schema"
[ "$(sha256sum <"$state/provisiond.db.admin-token")" = "$token_sum" ] || die "admin token file changed"
[ "$(sha256sum <"$state/provisiond.db.key")" = "$key_sum" ] || die "key file changed"
[ "$(db_as_user "SELECT count(*) FROM tokens")" = "$tokens" ] || die "the start added tokens"
grep -q 'exist: nothing to initialise' "$work/provisiond.log" || die "ExecStartPre did not skip --init"
[ "$("$work/ctl" -o json machine list --state available | jq '.items | length')" -eq 4 ] ||
	die "the machines did not survive the upgrade"
"$work/ctl" -o json image list | jq -e '.items[] | select(.name == "lab-image")' >/dev/null ||
	die "the image did not survive the upgrade"
stop_service
say "upgrade to $(dpkg-deb -f "$work"/debs2/provisiond_*.deb Version): schema $((schema - 1)) -> $schema, token, key, machines and configuration kept"

# ---- removal: the maintainer scripts run, the fleet's data stays
chroot "$root" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q provisiond' \
	>>"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; die "apt-get purge provisiond failed"; }
[ ! -e "$root/usr/sbin/provisiond" ] && [ ! -e "$root/etc/provisiond/provisiond.ini" ] ||
	die "the purge left the daemon or its configuration"
[ -s "$state/provisiond.db" ] && [ -s "$state/provisiond.db.key" ] ||
	die "the purge removed the database or the key file"
say "purged: database and key file kept in /var/lib/provisiond"
say "passed"
