#!/bin/sh
# The generated man pages render without a warning (man --warnings and
# groff -ww), name every command of provisionctl's table, and the checker
# itself sees a warning in a broken page.
# Usage: man_pages.sh BUILD_DIR
set -eu
man_dir=$1/man
work=$(mktemp -d "${TMPDIR:-/tmp}/man-pages.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

# warnings PAGE: prints what man and groff warn about PAGE (nothing if clean)
warnings() {
	# shellcheck disable=SC2069 # stderr to the caller, stdout dropped
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null
	groff -ww -z -man "$1" 2>&1
}

for page in provisiond.8 provisionctl.1 provisiond.ini.5; do
	[ -s "$man_dir/$page" ] || fail "$page was not generated"
	w=$(warnings "$man_dir/$page")
	[ -z "$w" ] || fail "$page: $w"
	echo "ok - $page renders without warnings"
done

# the checker is not blind: an unknown request and a bad escape are seen
sed 's/^\.SH DESCRIPTION$/.SH DESCRIPTION\n.XX unknown\n\\z/' "$man_dir/provisiond.8" >"$work/bad.8"
[ -n "$(warnings "$work/bad.8")" ] || fail "a broken page passed the warning check"
echo "ok - a broken page gives warnings"

# the generated sections hold what the programs have
text=$(MANWIDTH=200 man -l "$man_dir/provisionctl.1" 2>/dev/null)
for cmd in "machine list" "allocation create" "image register" "token delete" "freeze" "version"; do
	echo "$text" | grep -q "provisionctl $cmd" || fail "provisionctl.1 lacks $cmd"
done
echo "$text" | grep -q -- "--min-count M" || fail "provisionctl.1 lacks --min-count"
echo "$text" | grep -q "maintenance_off" || fail "provisionctl.1 lacks the action values"
text=$(MANWIDTH=200 man -l "$man_dir/provisiond.8" 2>/dev/null)
echo "$text" | grep -q -- "--check-config" || fail "provisiond.8 lacks --check-config"
text=$(MANWIDTH=200 man -l "$man_dir/provisiond.ini.5" 2>/dev/null)
echo "$text" | grep -q "boot_workers = 64 (integer, 2 to 4096)" || fail "provisiond.ini.5 lacks boot_workers"
echo "$text" | grep -q "Not documented" && fail "provisiond.ini.5 has an undocumented setting"
echo "ok - the pages list the programs' commands, options and settings"
