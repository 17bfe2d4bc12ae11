#!/bin/sh
# Tests tests/check_function_length.sh on small trees made here, one case
# per run: what it counts, what it leaves out, and the allow-list's rules.
set -eu
check="$(cd "$(dirname "$0")" && pwd)/check_function_length.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# body NAME LINES: a clang-formatted function whose body has LINES lines.
body() {
	printf 'static int %s(int a,\n\t\t int b)\n{\n' "$1"
	i=0
	while [ "$i" -lt "$2" ]; do
		printf '\ta += b;\n'
		i=$((i + 1))
	done
	printf '}\n\n'
}

# expect CASE STATUS [TEXT]: the check of $tmp/CASE (limit 5) exits with
# STATUS and, when given, prints TEXT.
expect() {
	out=$("$check" -l 5 -a "$tmp/$1/allow.txt" "$tmp/$1" 2>&1) && rc=0 || rc=$?
	if [ "$rc" -ne "$2" ]; then
		echo "FAIL $1: exit $rc, want $2"
		echo "$out" | sed 's/^/    /'
		failed=1
	elif [ $# -ge 3 ] && ! printf '%s\n' "$out" | grep -qF -- "$3"; then
		echo "FAIL $1: output lacks \"$3\""
		echo "$out" | sed 's/^/    /'
		failed=1
	else
		echo "ok   $1"
	fi
}

# tree CASE ALLOW_LINE...: a fresh tree holding src/a.c (short: 5 lines,
# long: 8 lines), and an allow-list of the given lines.
tree() {
	d="$tmp/$1"
	shift
	mkdir -p "$d/src"
	{
		echo '/* a.c */'
		body short 5
		body long 8
	} >"$d/src/a.c"
	echo '# allow-list' >"$d/allow.txt"
	for l in "$@"; do
		echo "$l" >>"$d/allow.txt"
	done
}

tree over
expect over 1 "src/a.c:14: long() has a 8-line body (limit 5)"

tree listed "src/a.c long 8  # a reason"
expect listed 0 "2 functions, longest body 8 lines (src/a.c long()), limit 5, 1 allow-listed"

tree grew "src/a.c long 7"
expect grew 1 "long() grew to 8 lines (allow-list: 7)"

tree shrank "src/a.c long 9"
expect shrank 1 "long() shrank to 8 lines: lower its entry"

tree within "src/a.c long 8" "src/a.c short 6"
expect within 1 "short() is down to 5 lines, within the limit: remove it"

tree gone "src/a.c long 8" "src/b.c long 12"
expect gone 1 'no function "src/b.c long" any more'

tree badline "src/a.c long"
expect badline 1 'bad line'

# tests/ and build directories are not project sources.
tree skipped
rm "$tmp/skipped/src/a.c"
mkdir -p "$tmp/skipped/tests" "$tmp/skipped/build-asan" "$tmp/skipped/src"
body long 8 >"$tmp/skipped/tests/t.c"
body long 8 >"$tmp/skipped/build-asan/gen.c"
body ok 1 >"$tmp/skipped/src/ok.c"
expect skipped 0 "1 functions"

# Initializers and struct bodies are not functions; multi-line signatures,
# attributes before the name and function-pointer returns are named right.
tree shapes
cat >"$tmp/shapes/src/a.c" <<'EOF'
static const struct row rows[] = {
    {1, 2},
    {3, 4},
    {5, 6},
    {7, 8},
    {9, 10},
    {11, 12},
};

struct big {
	int a;
	int b;
	int c;
	int d;
	int e;
	int f;
};

__attribute__((format(printf, 2, 3))) static void attr(struct x *x, const char *fmt,
							 ...)
{
	a();
	b();
	c();
	d();
	e();
	f();
}

static void (*pick(int n))(void)
{
	a();
	b();
	c();
	d();
	e();
	f();
}
EOF
expect shapes 1 "src/a.c:21: attr() has a 6-line body"
expect shapes 1 "src/a.c:31: pick() has a 6-line body"

# A definition clang-format would have reshaped fails rather than escaping.
tree unformatted
printf 'int f(void) {\n\treturn 0;\n}\n' >"$tmp/unformatted/src/a.c"
expect unformatted 1 "function brace not on a line of its own"

exit $failed
