#!/bin/sh
# patroni_fixture.sh CMD [ARG...] - runs CMD against a throwaway highly
# available PostgreSQL: one etcd and two Patroni-managed PostgreSQL members
# (p1, p2), all on 127.0.0.1, in a new temporary directory.
#
# Patroni runs with synchronous_mode on (not strict, docs/scale-out.md says
# why): a commit returns once the synchronous standby has it, so a write
# acknowledged by the primary survives the primary's loss. CMD runs once
# p1 leads and p2 streams as its synchronous standby, with
#   PROVISIOND_TEST_PG  the multi-host conninfo (target_session_attrs=read-write)
#   PG_HA_CTL           "patroni_fixture.sh --ctl DIR": append a command:
#                         leader        prints the leader's name (p1, p2)
#                         kill-primary  kill -9 of the leader's postmaster
#                                       (Patroni stays up); prints the old leader
#                         kill-node     kill -9 of the leader's Patroni, then of
#                                       its postmaster (the loss of its machine)
#                         wait-leader OLD S   until a member other than OLD leads
#                         wait-sync S   until a synchronous standby streams
# and stops everything and removes the directory when CMD ends, fails or
# this script is killed (a watchdog in its own session covers SIGKILL, e.g.
# a ctest timeout). Exits with CMD's status; 77 (skipped) when patroni,
# etcd or the PostgreSQL server binaries are missing.
#
# The members run as $PG_FIXTURE_USER (default postgres) when run as root;
# PostgreSQL refuses root. fsync is off (a process crash loses nothing; the
# machine's crash is not what is tested) unless PG_HA_DURABLE=1 (benchmarks);
# synchronous_commit and full_page_writes stay on (synchronous replication,
# pg_rewind).
set -eu
# shellcheck source=../pg_server.sh
. "$(dirname "$0")/../pg_server.sh"

rest_code() { # port path
	curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/$2" 2>/dev/null || true
}

# --ctl DIR CMD...: acts on a running fixture (its ports in DIR/env).
if [ "${1:-}" = --ctl ]; then
	dir=$2
	shift 2
	. "$dir/env"
	leader() {
		for m in p1 p2; do
			eval "r=\$REST_$m"
			[ "$(rest_code "$r" primary)" = 200 ] && { echo $m; return 0; }
		done
		return 1
	}
	until_ok() { # seconds, command...
		end=$(($(date +%s) + $1))
		shift
		while ! "$@"; do
			[ "$(date +%s)" -lt $end ] || return 1
			sleep 0.1
		done
	}
	other_leads() { l=$(leader) && [ "$l" != "$1" ]; }
	sync_up() { [ "$(rest_code "$REST_p1" sync)" = 200 ] || [ "$(rest_code "$REST_p2" sync)" = 200 ]; }
	case $1 in
	leader) leader ;;
	kill-primary | kill-node)
		l=$(leader)
		pid=$(head -n 1 "$dir/$l/data/postmaster.pid")
		if [ "$1" = kill-node ]; then
			p=$(cat "$dir/$l.pid")
			grep -qa patroni "/proc/$p/cmdline" && kill -9 "$p"
		fi
		grep -qa postgres "/proc/$pid/cmdline" && kill -9 "$pid"
		echo "$l"
		;;
	wait-leader) until_ok "$3" other_leads "$2" ;;
	wait-sync) until_ok "$2" sync_up ;;
	*) echo "patroni_fixture: unknown command $1" >&2; exit 2 ;;
	esac
	exit
fi

# Stops only what this fixture started: PIDs from its files, checked
# against /proc/PID/cmdline. Patroni first (SIGKILL: it would otherwise
# fail over on the way down), then the postmasters, then etcd.
stop() {
	for f in p1.pid p2.pid etcd.pid; do
		[ -f "$dir/$f" ] || continue
		p=$(cat "$dir/$f")
		case $f in etcd.pid) pat=etcd sig=TERM ;; *) pat=patroni sig=KILL ;; esac
		grep -qa $pat "/proc/$p/cmdline" 2>/dev/null && kill -$sig "$p"
		[ $pat = patroni ] || continue
		m=${f%.pid}
		pm=$(head -n 1 "$dir/$m/data/postmaster.pid" 2>/dev/null || true)
		[ -n "$pm" ] && grep -qa postgres "/proc/$pm/cmdline" 2>/dev/null && kill -QUIT "$pm"
	done
	sleep 0.3
	rm -rf "$dir"
}
if [ "${1:-}" = --stop ]; then # the watchdog's way in
	dir=$2
	stop
	exit 0
fi

for b in patroni etcd; do
	if ! command -v $b >/dev/null 2>&1; then
		echo "patroni_fixture: no $b (Debian: apt-get install patroni etcd-server python3-etcd)" >&2
		exit 77
	fi
done
pg_server patroni_fixture
as=""
[ "$(id -u)" = 0 ] && as="setpriv --reuid=$osuser --regid=$osuser --init-groups --"
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
dir=$(mktemp -d "${TMPDIR:-/tmp}/pgha.XXXXXX")
mkdir -m 700 "$dir/etcd" "$dir/p1" "$dir/p2"
[ "$(id -u)" = 0 ] && chown "$osuser" "$dir" "$dir/etcd" "$dir/p1" "$dir/p2"
here=$(pwd)
cd /

trap 'stop' EXIT
trap 'exit 130' INT TERM HUP

# Six free ports (etcd client and peer, two PostgreSQL, two REST), below
# the kernel's ephemeral range (32768 and up on Debian): a port that a
# client's connection holds there cannot be listened on.
port_free() { ! ss -Htan "sport = :$1" 2>/dev/null | grep -q .; }
tries=0
while :; do
	base=$((21000 + ($$ * 11 + tries * 977) % 11000))
	ok=1
	for i in 0 1 2 3 4 5; do port_free $((base + i)) || ok=0; done
	[ $ok = 1 ] && break
	tries=$((tries + 1))
	[ $tries -lt 20 ] || { echo "patroni_fixture: no free ports" >&2; exit 1; }
done
ETCD=$base PEER=$((base + 1)) PG_p1=$((base + 2)) PG_p2=$((base + 3))
REST_p1=$((base + 4)) REST_p2=$((base + 5))
scope=pvd$$
fsync=off
[ -n "${PG_HA_DURABLE:-}" ] && fsync=on
cat >"$dir/env" <<EOF
ETCD=$ETCD REST_p1=$REST_p1 REST_p2=$REST_p2 PG_p1=$PG_p1 PG_p2=$PG_p2
EOF

# the watchdog: stops everything if this script disappears without its trap
me=$$
setsid sh -c "while kill -0 $me 2>/dev/null; do sleep 1; done; '$self' --stop '$dir'" \
	>/dev/null 2>&1 </dev/null &

# setsid: a harness's timeout signals its process group; the daemons must
# outlive that only as long as this script's trap or watchdog lets them.
setsid $as env HOME="$dir/etcd" etcd --name "$scope" --data-dir "$dir/etcd/data" \
	--listen-client-urls "http://127.0.0.1:$ETCD" --advertise-client-urls "http://127.0.0.1:$ETCD" \
	--listen-peer-urls "http://127.0.0.1:$PEER" --initial-advertise-peer-urls "http://127.0.0.1:$PEER" \
	--initial-cluster "$scope=http://127.0.0.1:$PEER" --initial-cluster-state new \
	>"$dir/etcd/etcd.log" 2>&1 </dev/null &
echo $! >"$dir/etcd.pid"

member() { # name
	eval "pg=\$PG_$1 rest=\$REST_$1"
	cat >"$dir/$1.yml" <<EOF
scope: $scope
name: $1
restapi: {listen: 127.0.0.1:$rest, connect_address: 127.0.0.1:$rest}
etcd3: {hosts: 127.0.0.1:$ETCD}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 3
    primary_start_timeout: 0
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    failsafe_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_log_hints: 'on'
        max_connections: 200
        shared_buffers: 32MB
        fsync: '$fsync'
        wal_retrieve_retry_interval: 1s
  initdb: [{encoding: UTF8}, {locale: C.UTF-8}]
  pg_hba: ['local all all trust', 'host all all 127.0.0.1/32 trust',
           'host replication all 127.0.0.1/32 trust']
postgresql:
  listen: 127.0.0.1:$pg
  connect_address: 127.0.0.1:$pg
  data_dir: $dir/$1/data
  bin_dir: $PGBIN
  pgpass: $dir/$1/pgpass
  authentication:
    superuser: {username: postgres, password: postgres}
    replication: {username: replicator, password: replicator}
    rewind: {username: postgres, password: postgres}
  parameters: {unix_socket_directories: '$dir/$1'}
EOF
	[ "$(id -u)" = 0 ] && chown "$osuser" "$dir/$1.yml"
	setsid $as env HOME="$dir/$1" patroni "$dir/$1.yml" >"$dir/$1/patroni.log" 2>&1 </dev/null &
	echo $! >"$dir/$1.pid"
}

fail() {
	echo "patroni_fixture: $1; logs:" >&2
	tail -n 20 "$dir/etcd/etcd.log" "$dir"/p?/patroni.log >&2 || true
	exit 1
}
wait_code() { # port path seconds
	end=$(($(date +%s) + $3))
	until [ "$(rest_code "$1" "$2")" = 200 ]; do
		[ "$(date +%s)" -lt $end ] || return 1
		sleep 0.1
	done
}
end=$(($(date +%s) + 20))
until curl -fs "http://127.0.0.1:$ETCD/health" >/dev/null 2>&1; do
	[ "$(date +%s)" -lt $end ] || fail "etcd did not start"
	sleep 0.1
done
member p1
wait_code "$REST_p1" primary 60 || fail "p1 did not become the leader"
member p2
wait_code "$REST_p2" sync 90 || fail "p2 did not become the synchronous standby"

PROVISIOND_TEST_PG="host=127.0.0.1,127.0.0.1 port=$PG_p1,$PG_p2 user=postgres dbname=postgres target_session_attrs=read-write connect_timeout=2"
PG_HA_CTL="$self --ctl $dir"
export PROVISIOND_TEST_PG PG_HA_CTL
pg_run "$here" "$@"
