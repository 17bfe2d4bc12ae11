#!/bin/sh
# shellcheck disable=SC2016 # the sed scripts match Markdown backticks
# The documentation matches the code (provisiond-docgen check), and the check
# fails when a setting, a daemon option, a provisionctl command or option, a
# quoted default or the schema version drifts: each case below doctors a
# copy of one document the way an undocumented change would.
# Usage: drift.sh BUILD_DIR SOURCE_DIR
set -eu
docgen=$1/provisiond/provisiond-docgen
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/docs-drift.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

"$docgen" check "$src" || fail "the documentation does not match the code (above)"
echo "ok - docs match the code"

# drifted KIND FILE SED-SCRIPT EXPECTED-MESSAGE: the check fails naming it
drifted() {
	sed "$3" "$src/$2" >"$work/doc.md"
	cmp -s "$src/$2" "$work/doc.md" && fail "sed '$3' changed nothing in $2"
	if "$docgen" check "$1" "$work/doc.md" 2>"$work/err"; then
		fail "check passed with $2 doctored by '$3'"
	fi
	grep -q -- "$4" "$work/err" || fail "'$3': expected '$4' in: $(cat "$work/err")"
	echo "ok - $2 doctored by '$3' fails: $4"
}

drifted config docs/config.md '/^| `boot_workers`/d' "\[server\] boot_workers is a setting (config.c) but not documented"
drifted config docs/config.md 's/^| `boot_workers` | 64 |/| `boot_workers` | 63 |/' "boot_workers: default 63 documented, the code has 64"
drifted config docs/config.md 's/^| `boot_workers` | 64 | 2-4096 |/| `boot_workers` | 64 | 2-4000 |/' "range '2-4000' documented"
drifted config docs/config.md 's/^| `max_queue` |/| `max_queues` |/' "max_queues is documented but config.c has no such setting"
drifted config docs/config.md 's/^| `path` | `\/var\/lib\/provisiond\/provisiond.db`/| `path` | `\/var\/lib\/provisiond.db`/' "\[database\] path: default"
drifted config docs/config.md '/^| `--version` |/d' "provisiond --version is not in the Command line table"
drifted config docs/config.md 's/^| `--db PATH` | `database.path` |/| `--db PATH` | `database.file` |/' "--db overrides 'database.file' documented"
drifted config docs/config.md 's/^| `--init` |/| `--initialise` |/' "--initialise.*is documented but provisiond has none"
drifted provisionctl docs/provisionctl.md 's/--min-count [0-9]*//' "option --min-count of 'allocation create' is not documented"
drifted provisionctl docs/provisionctl.md 's/ --name search-ci//' "option --name of 'token create' is not documented in its section"
drifted provisionctl docs/provisionctl.md 's/^provisionctl capacity .*//' "command 'provisionctl capacity' is not documented"
drifted provisionctl docs/provisionctl.md 's/^provisionctl image list /provisionctl image list --state ready /' "'provisionctl image list' has no option --state"
drifted numbers docs/operations.md 's/ready (schema [0-9]*)/ready (schema 5)/' "schema 5 quoted, the code is at schema"
drifted numbers docs/operations.md 's/quota set "$owner" "$SKU" 0;/quota set "$owner" "$SKU" 0 --force;/' "'provisionctl quota set' has no option --force"
drifted man docs/man/provisionctl.1.in 's/^provisionctl machine list \\-\\-state available$/provisionctl machine list \\-\\-status available/' "'provisionctl machine list' has no option --status"
drifted numbers docs/bmc.md 's/`\[bmc\] call_timeout_ms` (default 10000)/`[bmc] call_timeout_ms` (default 5000)/' "call_timeout_ms: default 5000 quoted, the code has 10000"
