#!/bin/bash
# provisionctl's generated bash completion completes commands, options,
# option values and argument values (the completion function called with
# COMP_WORDS as bash would).
# Usage: completion.sh BUILD_DIR
set -u
# shellcheck disable=SC1091
source "$1/man/provisionctl.bash" || { echo "FAIL: cannot load the completion"; exit 1; }
[ "$(complete -p provisionctl)" = "complete -F _provisionctl provisionctl" ] ||
	{ echo "FAIL: provisionctl has no completion function"; exit 1; }
failed=0

# expect "WORDS…" "EXPECTED WORD" [absent]: completes the last word of WORDS
expect() {
	read -r -a COMP_WORDS <<<"$1"
	[[ $1 == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_provisionctl
	local got=" ${COMPREPLY[*]} "
	if [ "${3:-}" = absent ]; then
		[[ $got != *" $2 "* ]] && { echo "ok - '$1' does not offer $2"; return; }
	else
		[[ $got == *" $2 "* ]] && { echo "ok - '$1' -> $2"; return; }
	fi
	echo "FAIL: '$1' completed to [${COMPREPLY[*]}], expected ${3:-} $2"
	failed=1
}

expect "provisionctl mach" machine
expect "provisionctl " allocation
expect "provisionctl " help
expect "provisionctl machine " maintenance
expect "provisionctl machine li" list
expect "provisionctl machine list --st" --state
expect "provisionctl machine list --" --output
expect "provisionctl machine list --" --mac absent
expect "provisionctl allocation create --min" --min-count
expect "provisionctl machine action " maintenance_on
expect "provisionctl machine power " soft-off
expect "provisionctl machine power on " soft-off absent
expect "provisionctl freeze " status
expect "provisionctl -o " json
expect "provisionctl token create --role " service
expect "provisionctl --url http://x:1 machine sh" show
expect "provisionctl help machine " enroll
dir=$(mktemp -d)
touch "$dir/token-abc"
expect "provisionctl --token-file $dir/tok" "$dir/token-abc"
rm -rf "$dir"
exit $failed
