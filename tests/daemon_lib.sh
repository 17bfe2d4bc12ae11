# daemon_lib.sh - the real daemon on loopback for the shell tests (sourced;
# POSIX sh). Before sourcing, set build (the build directory) and work (the
# test's directory, with p.db made by `provisiond --init` and p.ini); the
# test defines fail MESSAGE.
#   pd_start [ARGS...]  provisiond on 127.0.0.1:0 (API and boot listener)
#                       with $work/p.db, $work/p.ini and ARGS, stderr added
#                       to $work/log; waits until it is ready (10 s) or
#                       fails. Sets pd_pid, api, boot, ctl; exports
#                       PROVISIOND_URL and PROVISIOND_TOKEN_FILE
#   show NAME JQ        a field of `provisionctl machine show NAME`
#   kill_ours SIG PID...
#                       sends SIG to each PID that still runs with $work
#                       in its command line, and to no other: a process
#                       that exited and was reaped left its number free,
#                       and with pid_max 32768 and tests forking hundreds
#                       of processes a second another test's daemon may
#                       hold it a minute later
# shellcheck shell=sh

kill_ours() {
	ko_sig=$1
	shift
	for ko_p; do
		if grep -qaF -- "$work" "/proc/$ko_p/cmdline" 2>/dev/null; then
			kill "-$ko_sig" "$ko_p" 2>/dev/null || true
		fi
	done
	return 0
}

pd_start() {
	rm -f "$work/ready"
	"$build/provisiond/provisiond" --db "$work/p.db" --config "$work/p.ini" --listen 127.0.0.1:0 \
		--boot-listen 127.0.0.1:0 --ready-file "$work/ready" "$@" 2>>"$work/log" &
	pd_pid=$!
	pd_n=0
	while [ ! -s "$work/ready" ]; do
		pd_n=$((pd_n + 1))
		[ $pd_n -lt 100 ] || fail "provisiond did not start"
		kill -0 "$pd_pid" 2>/dev/null || fail "provisiond exited at start"
		sleep 0.1
	done
	api="http://127.0.0.1:$(cut -d' ' -f1 "$work/ready")"
	boot="http://127.0.0.1:$(cut -d' ' -f2 "$work/ready")"
	ctl="$build/provisiond/client/provisionctl"
	PROVISIOND_URL=$api
	PROVISIOND_TOKEN_FILE="$work/p.db.admin-token"
	export PROVISIOND_URL PROVISIOND_TOKEN_FILE
}

show() { "$ctl" -o json machine show "$1" | jq -r "$2"; }
