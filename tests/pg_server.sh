# pg_server.sh - sourced by the PostgreSQL fixtures (tests/pg_fixture.sh,
# tests/ha/patroni_fixture.sh), not run: pg_server FIXTURE sets PGBIN (unless
# set: the newest /usr/lib/postgresql/*/bin of Debian's postgresql package)
# and osuser, the unprivileged user the server runs as when the fixture
# runs as root ($PG_FIXTURE_USER, default postgres: PostgreSQL refuses
# root); it exits 77 (skipped), naming FIXTURE, when the server binaries
# are missing. pg_run DIR CMD [ARG...] runs CMD in DIR (where the fixture
# was started) and exits with its status, the fixture's EXIT trap stopping
# the server.
# shellcheck shell=sh
pg_server() {
	PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
	if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
		echo "$1: no PostgreSQL server binaries (Debian: apt-get install postgresql)" >&2
		exit 77
	fi
	# shellcheck disable=SC2034 # used by the fixture that sources this
	osuser=${PG_FIXTURE_USER:-postgres}
}

pg_run() {
	cd "$1"
	shift
	set +e
	"$@"
	rc=$?
	set -e
	exit $rc
}
