#!/bin/bash
# The man pages and the bash completion install where man and bash-completion
# find them: `cmake --install` into a scratch prefix, then man -w finds each
# page through MANPATH and bash-completion's on-demand loader (XDG_DATA_DIRS)
# loads provisionctl's completion, which then completes a command.
# Usage: install.sh BUILD_DIR
set -eu
build=$1
prefix=$(mktemp -d "${TMPDIR:-/tmp}/docs-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in share/man/man8/provisiond.8 share/man/man1/provisionctl.1 \
	share/man/man5/provisiond.ini.5 share/bash-completion/completions/provisionctl; do
	[ -s "$prefix/$f" ] || fail "$f was not installed"
done
for page in "8 provisiond" "1 provisionctl" "5 provisiond.ini"; do
	# shellcheck disable=SC2086
	found=$(MANPATH="$prefix/share/man" man -w $page) || fail "man -w $page found nothing"
	case $found in "$prefix"/*) ;; *) fail "man -w $page: $found" ;; esac
done
echo "ok - man finds provisiond(8), provisionctl(1), provisiond.ini(5) in the installed tree"

loader=/usr/share/bash-completion/bash_completion
[ -f $loader ] || fail "bash-completion is not installed (scripts/deps)"
got=$(XDG_DATA_DIRS="$prefix/share" bash -c '
	source '"$loader"'
	_completion_loader provisionctl
	complete -p provisionctl || exit 1
	COMP_WORDS=(provisionctl allocation cr); COMP_CWORD=2
	_provisionctl
	echo "${COMPREPLY[*]}"')
case $got in
*"-F _provisionctl provisionctl"*create) ;;
*) fail "bash-completion did not load the installed completion: $got" ;;
esac
echo "ok - bash-completion loads the installed completion on demand; it completes 'allocation cr' to create"
