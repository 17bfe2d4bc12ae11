# resolve-modules.awk — prints the modules.dep paths needed for the module
# names in `want` (space separated), dependencies first, each once.
# usage: awk -v want="virtio_net nvme" -f resolve-modules.awk modules.dep
function modname(path,    n) {
	n = path
	sub(/.*\//, "", n)
	sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", n)
	gsub(/-/, "_", n)
	return n
}
function emit(name,    i, n, d) {
	if (name in done)
		return
	if (!(name in path)) {
		printf "resolve-modules: module %s not in modules.dep\n", name > "/dev/stderr"
		missing = 1
		return
	}
	done[name] = 1
	n = split(deps[name], d, " ")
	for (i = 1; i <= n; i++)
		emit(modname(d[i]))
	print path[name]
}
{
	p = $1
	sub(/:$/, "", p)
	m = modname(p)
	path[m] = p
	$1 = ""
	deps[m] = $0
}
END {
	n = split(want, w, " ")
	for (i = 1; i <= n; i++)
		emit(w[i])
	exit missing
}
