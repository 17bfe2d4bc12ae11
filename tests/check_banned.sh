#!/bin/sh
# Fails when project sources use libc calls banned by STYLE.md.
set -eu
cd "${PROVISIOND_SOURCE_DIR:-$(dirname "$0")/..}"
hits=$(git ls-files '*.c' '*.h' 2>/dev/null | grep -v '^tests/check_banned' |
	xargs grep -nE '(^|[^_a-z])(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|atof)\(' || true)
if [ -n "$hits" ]; then
	echo "banned calls (use snprintf, strtol with checks):"
	echo "$hits"
	exit 1
fi
echo "no banned calls"
