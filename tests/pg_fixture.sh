#!/bin/sh
# pg_fixture.sh CMD [ARG...] - runs CMD against a throwaway PostgreSQL server.
#
# Starts a server of Debian's postgresql package (initdb + pg_ctl) in a new
# temporary directory, listening on 127.0.0.1 on a free port only, runs CMD
# with PROVISIOND_TEST_PG set to its libpq conninfo, and stops the server
# and removes the directory when CMD ends, fails or this script is killed
# (a watchdog outside this process group stops it if this script dies by
# SIGKILL, e.g. at a ctest timeout); PG_FIXTURE_CTL is the server's pg_ctl
# command for tests that restart it. Exits with CMD's status; 77 (skipped)
# when the server binaries are missing.
#
# The server refuses to run as root: as root it runs as the unprivileged
# user $PG_FIXTURE_USER (default postgres, created by the package).
# Durability settings are off (fsync, synchronous_commit): the tests check
# behaviour, not crash safety of the disk; PG_FIXTURE_DURABLE=1 keeps them
# on (benchmarks). Startup is bounded (30 s).
set -eu
# shellcheck source=pg_server.sh
. "$(dirname "$0")/pg_server.sh"
pg_server pg_fixture
as=""
[ "$(id -u)" = 0 ] && as="runuser -u $osuser --"
dir=$(mktemp -d "${TMPDIR:-/tmp}/pgfx.XXXXXX")
[ "$(id -u)" = 0 ] && chown "$osuser" "$dir"
here=$(pwd)
cd / # runuser keeps the working directory, which the server user may not read

stop() {
	[ -f "$dir/data/postmaster.pid" ] &&
		$as "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 20 stop >/dev/null 2>&1
	rm -rf "$dir"
}
trap 'stop' EXIT
trap 'exit 130' INT TERM HUP

timeout 60 $as "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
	--locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
	{ cat "$dir/initdb.log" >&2; exit 1; }

# A free port: the server says when its port is taken, then another is tried.
tries=0
while :; do
	port=$((20000 + ($$ * 7 + tries * 613) % 20000))
	cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 32MB
EOF
	[ -n "${PG_FIXTURE_DURABLE:-}" ] ||
		printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' \
			>>"$dir/data/postgresql.conf"
	if $as "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null 2>&1; then
		break
	fi
	tries=$((tries + 1))
	if [ $tries -ge 5 ] || ! grep -q "could not bind\|could not create any TCP" "$dir/server.log"; then
		echo "pg_fixture: the server did not start:" >&2
		cat "$dir/server.log" >&2
		exit 1
	fi
done

# the watchdog: stops the server if this script disappears without its trap
me=$$
setsid sh -c "while kill -0 $me 2>/dev/null; do sleep 1; done;
	[ -f '$dir/data/postmaster.pid' ] && $as '$PGBIN/pg_ctl' -D '$dir/data' -m immediate stop;
	rm -rf '$dir'" >/dev/null 2>&1 </dev/null &

PROVISIOND_TEST_PG="host=127.0.0.1 port=$port user=postgres dbname=postgres"
# pg_ctl of this server, for tests that restart it: "$PG_FIXTURE_CTL restart"
PG_FIXTURE_CTL="$as $PGBIN/pg_ctl -D $dir/data -l $dir/server.log -w -t 30"
export PROVISIOND_TEST_PG PG_FIXTURE_CTL
pg_run "$here" "$@"
