#!/bin/sh
# Fails when a function in the project's C sources has a body longer than the
# limit (STYLE.md: functions short enough to read at once, aim < 60 lines).
#
# Usage: check_function_length.sh [-l LIMIT] [-a ALLOW_LIST] [ROOT]
#   ROOT        source tree (default: $PROVISIOND_SOURCE_DIR, else this
#               script's parent); sources are git's files when ROOT is a git
#               checkout, else every *.c / *.h under it. tests/ and build
#               directories are left out.
#   LIMIT       longest body allowed, in lines (default 60)
#   ALLOW_LIST  default ROOT/tests/function_length_allow.txt
#
# A body is the lines between a function's `{` and `}`, blank lines and
# comments included. clang-format (checked by CI) puts both braces of a
# function alone at column 0 (BreakBeforeBraces: Linux), and nothing else
# there, so counting lines between them is exact without a C parser; a
# definition that does not look like that fails the check instead of
# escaping it.
#
# The allow-list names functions that may be longer, one per line:
#   PATH FUNCTION LINES    # why
# LINES must be the body's current length. It only shrinks: a listed
# function that grows fails, and one that shrank, fell under the limit or
# went away fails until its entry is lowered or removed.
set -eu

limit=60
allow=
while getopts l:a: opt; do
	case $opt in
	l) limit=$OPTARG ;;
	a) allow=$OPTARG ;;
	*)
		echo "usage: $0 [-l LIMIT] [-a ALLOW_LIST] [ROOT]" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
root=${1:-${PROVISIOND_SOURCE_DIR:-$(dirname "$0")/..}}
cd "$root"
allow=${allow:-tests/function_length_allow.txt}
[ -f "$allow" ] || {
	echo "allow-list $allow not found" >&2
	exit 2
}

list_sources() {
	if [ -e .git ]; then
		git ls-files --cached --others --exclude-standard -- '*.c' '*.h'
	else
		find . -type f \( -name '*.c' -o -name '*.h' \) | sed 's|^\./||'
	fi | grep -Ev '^tests/|(^|/)build[^/]*/' | sort -u |
		while IFS= read -r f; do
			[ -f "$f" ] && printf '%s\n' "$f"
		done
}

files=$(list_sources)
if [ -z "$files" ]; then
	echo "no C sources found under $root" >&2
	exit 2
fi

# One awk run over every file, so the allow-list is checked as a whole
# (source names hold no blanks).
# shellcheck disable=SC2086
set -- $files
awk -v limit="$limit" -v allow="$allow" '
BEGIN {
	while ((getline line < allow) > 0) {
		sub(/#.*/, "", line)
		if (split(line, w) == 0)
			continue
		if (split(line, w) != 3 || w[3] !~ /^[0-9]+$/) {
			printf "%s: bad line \"%s\" (want: PATH FUNCTION LINES)\n", allow, line
			bad++
			continue
		}
		allowed[w[1] " " w[2]] = w[3]
		nallowed++
	}
	close(allow)
}
FNR == 1 { sig = ""; body = 0 }
# A function body opens: the name is the first identifier directly followed
# by "(" in the signature gathered since the last declaration ended.
!body && /^\{[ \t]*$/ {
	s = sig
	gsub(/__attribute__[ \t]*\(\([^()]*(\([^()]*\)[^()]*)*\)\)/, "", s)
	name = match(s, /[A-Za-z_][A-Za-z0-9_]*\(/) ? substr(s, RSTART, RLENGTH - 1) : "?"
	body = 1
	start = FNR
	next
}
body && /^\}/ {
	measured(FILENAME, name, FNR - start - 1, start)
	body = 0
	sig = ""
	next
}
# A definition clang-format did not shape: the brace would escape the count.
!body && /^[A-Za-z_].*\)[ \t]*\{[ \t]*$/ && !/=/ {
	printf "%s:%d: function brace not on a line of its own; run clang-format\n", FILENAME, FNR
	bad++
}
# Outside bodies, gather signature lines; a blank line, the end of a
# declaration or of a comment, or a directive starts over.
!body {
	if ($0 ~ /^[ \t]*$/ || $0 ~ /;[ \t]*$/ || $0 ~ /^#/ || $0 ~ /^\}/ || $0 ~ /\*\/[ \t]*$/)
		sig = ""
	else if ($0 !~ /^[ \t]*(\/\*|\*|\/\/)/)
		sig = sig " " $0
}
function measured(file, fn, n, at,    key) {
	count++
	if (n > longest) {
		longest = n
		longest_what = file " " fn "()"
	}
	key = file " " fn
	if (!(key in allowed)) {
		if (n > limit) {
			printf "%s:%d: %s() has a %d-line body (limit %d): split it, or list it in %s\n", file, at, fn, n, limit, allow
			bad++
		}
		return
	}
	seen[key] = 1
	if (n > allowed[key]) {
		printf "%s:%d: %s() grew to %d lines (allow-list: %d); the allow-list only shrinks\n", file, at, fn, n, allowed[key]
		bad++
	} else if (n <= limit) {
		printf "%s:%d: %s() is down to %d lines, within the limit: remove it from %s\n", file, at, fn, n, allow
		bad++
	} else if (n < allowed[key]) {
		printf "%s:%d: %s() shrank to %d lines: lower its entry in %s from %d to %d\n", file, at, fn, n, allow, allowed[key], n
		bad++
	}
}
END {
	for (key in allowed)
		if (!(key in seen)) {
			printf "%s: no function \"%s\" any more: remove the entry\n", allow, key
			bad++
		}
	printf "%d functions, longest body %d lines (%s), limit %d, %d allow-listed\n", count, longest, longest_what, limit, nallowed
	exit bad ? 1 : 0
}' "$@"
