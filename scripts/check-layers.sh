#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# check-layers.sh - fail when an #include goes the wrong way between cellgate's layers, or when
# the library's files include each other in a cycle
#
# usage: scripts/check-layers.sh [-a ALLOWLIST] [ROOT]
#   ROOT       the tree to check (default: this repository)
#   -a FILE    known cycles to accept, one a line as printed ("config -> state -> config"),
#              '#' comments (default: ROOT/scripts/check-layers.allow if it exists)
#
# The rules (docs/architecture.md draws them):
#   userspace/lib/           may not include the programs (userspace/cellgated/, cellctl/, ...)
#   bpf/, userspace/, include/   may not include anything under tests/
#   bpf/                     may include only bpf/ and include/cellgate/abi/ (system headers,
#                            vmlinux.h, <bpf/...> and generated skeletons are not ours: fine)
#   include/cellgate/abi/    may not include any other cellgate header
#   the library              no include cycle between its modules, where userspace/lib/foo.c,
#                            userspace/lib/foo.h and include/cellgate/foo.h are module foo
# An include is resolved the way the compiler would: "x" next to the file first, then
# include/x (and bpf/x for bpf/ files); <x> as include/x. What resolves to no file of the tree
# is a system or generated header. Prints one line per problem ("FILE:LINE: ...") and a
# one-line summary; exits 1 if there is a problem, 2 on bad usage.
set -u

allow=
while getopts a: opt; do
	case $opt in
	a) allow=$OPTARG ;;
	*)
		echo "usage: check-layers.sh [-a ALLOWLIST] [ROOT]" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
if ! cd "$root" 2>/dev/null; then
	echo "check-layers: cannot enter '$root'" >&2
	exit 2
fi
if [ -z "$allow" ] && [ -f scripts/check-layers.allow ]; then
	allow=scripts/check-layers.allow
fi
if [ -n "$allow" ] && [ ! -r "$allow" ]; then
	echo "check-layers: cannot read '$allow'" >&2
	exit 2
fi

dirs=()
for d in bpf userspace include tests; do
	[ -d "$d" ] && dirs+=("$d")
done
if [ ${#dirs[@]} -eq 0 ]; then
	echo "check-layers: no bpf/, userspace/ or include/ under '$root'" >&2
	exit 2
fi

# every file of the tree (to resolve includes), then every include line of the product's
# sources as FILE:LINE:TEXT, then the allowlist; awk tells the three apart by a marker line
{
	find "${dirs[@]}" -type f -name '*.[ch]' | sed 's/^/F /'
	echo '--'
	find "${dirs[@]}" -type f -name '*.[ch]' ! -path 'tests/*' -print0 | sort -z |
		xargs -0 -r grep -Hn '^[[:space:]]*#[[:space:]]*include' | sed 's/^/I /'
	echo '--'
	[ -n "$allow" ] && sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$allow" | sed 's/^/A /'
} | awk '
# norm(p): p without "." and "dir/.." parts ("" if it climbs out of the tree)
function norm(p,    n, i, k, part, out) {
	n = split(p, part, "/")
	k = 0
	for (i = 1; i <= n; i++) {
		if (part[i] == "." || part[i] == "")
			continue
		if (part[i] == "..") {
			if (k == 0)
				return ""
			k--
			continue
		}
		out[++k] = part[i]
	}
	p = ""
	for (i = 1; i <= k; i++)
		p = p (i > 1 ? "/" : "") out[i]
	return p
}
function dir_of(p) { sub(/\/[^\/]*$/, "", p); return p }
# resolve(file, inc, quoted): the tree path the include names, "" for a system header
function resolve(file, inc, quoted,    c) {
	if (quoted) {
		c = norm(dir_of(file) "/" inc)
		if (c in have)
			return c
	}
	c = norm("include/" inc)
	if (c in have)
		return c
	if (file ~ /^bpf\//) {
		c = norm("bpf/" inc)
		if (c in have)
			return c
	}
	return ""
}
# module(p): the library module a path belongs to, "" if none
function module(p,    m) {
	if (p !~ /^userspace\/lib\/[^\/]*\.[ch]$/ && p !~ /^include\/cellgate\/[^\/]*\.h$/)
		return ""
	m = p
	sub(/^.*\//, "", m)
	sub(/\.[ch]$/, "", m)
	return m
}
function bad(where, inc, target, why) {
	printf "check-layers: %s: includes \"%s\"%s: %s\n", where, inc,
		(target != "" && target != inc ? " (" target ")" : ""), why
	nbad++
}
BEGIN { part = 0 }
$0 == "--" { part++; next }
part == 0 { have[substr($0, 3)] = 1; if ($0 !~ /^F tests\//) nfiles++; next }
part == 2 { allowed[substr($0, 3)] = 1; next }
{
	line = substr($0, 3)
	# FILE:LINE:TEXT
	file = line; sub(/:.*/, "", file)
	rest = substr(line, length(file) + 2)
	lno = rest; sub(/:.*/, "", lno)
	text = substr(rest, length(lno) + 2)
	if (match(text, /"[^"]*"/)) {
		inc = substr(text, RSTART + 1, RLENGTH - 2); quoted = 1
	} else if (match(text, /<[^>]*>/)) {
		inc = substr(text, RSTART + 1, RLENGTH - 2); quoted = 0
	} else {
		next
	}
	nincs++
	where = file ":" lno
	t = resolve(file, inc, quoted)
	if (t ~ /^tests\// || (t == "" && inc ~ /(^|\/)tests\//)) {
		bad(where, inc, t, "product code must not include tests/")
		next
	}
	if (file ~ /^userspace\/lib\// && t ~ /^userspace\// && t !~ /^userspace\/lib\//) {
		bad(where, inc, t, "the library must not include a program (daemon, CLI)")
		next
	}
	if (file ~ /^bpf\// && t != "" && t !~ /^bpf\// && t !~ /^include\/cellgate\/abi\//) {
		bad(where, inc, t, "bpf/ may include only bpf/ and include/cellgate/abi/")
		next
	}
	if (file ~ /^include\/cellgate\/abi\// && (t ~ /^include\// || inc ~ /^cellgate\//) &&
	    t !~ /^include\/cellgate\/abi\//) {
		bad(where, inc, t, "the ABI headers may not include other cellgate headers")
		next
	}
	a = module(file); b = module(t)
	if (a != "" && b != "" && a != b && !((a, b) in edge)) {
		edge[a, b] = where " includes \"" inc "\""
		mods[a] = 1; mods[b] = 1
	}
}
END {
	# reach[x, y]: y is reachable from x (transitive closure; the library has few modules)
	n = 0
	for (m in mods)
		name[++n] = m
	# sort the names, so cycles print the same way every run
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && name[j - 1] > name[j]; j--) {
			tmp = name[j]; name[j] = name[j - 1]; name[j - 1] = tmp
		}
	for (i = 1; i <= n; i++)
		for (j = 1; j <= n; j++)
			if ((name[i], name[j]) in edge)
				reach[name[i], name[j]] = 1
	for (k = 1; k <= n; k++)
		for (i = 1; i <= n; i++)
			if ((name[i], name[k]) in reach)
				for (j = 1; j <= n; j++)
					if ((name[k], name[j]) in reach)
						reach[name[i], name[j]] = 1
	ncyc = nallowed = 0
	for (i = 1; i <= n; i++) {
		s = name[i]
		if (!((s, s) in reach) || (s in done))
			continue
		# the cycle through s: its smallest module; a shortest path back to s (BFS)
		for (j = 1; j <= n; j++)
			if ((s, name[j]) in reach && (name[j], s) in reach)
				done[name[j]] = 1
		delete prev; delete seen
		head = tail = 0
		q[tail++] = s
		found = 0
		while (head < tail && !found) {
			x = q[head++]
			for (j = 1; j <= n && !found; j++) {
				y = name[j]
				if (!((x, y) in edge))
					continue
				if (y == s) { last = x; found = 1; break }
				if (!(y in seen)) { seen[y] = 1; prev[y] = x; q[tail++] = y }
			}
		}
		# walk back from last to s
		k = 0; path[++k] = last
		while (path[k] != s) { path[k + 1] = prev[path[k]]; k++ }
		cyc = s; why = ""
		for (j = k - 1; j >= 1; j--)
			cyc = cyc " -> " path[j]
		cyc = cyc " -> " s
		for (j = k; j >= 1; j--) {
			to = (j > 1 ? path[j - 1] : s)
			why = why (why == "" ? "" : "; ") edge[path[j], to]
		}
		if (cyc in allowed) {
			nallowed++
			still[cyc] = 1
			printf "check-layers: known cycle (allowed): %s\n", cyc
			continue
		}
		ncyc++
		printf "check-layers: include cycle in the library: %s (%s)\n", cyc, why
	}
	# an allowlisted cycle that is gone: say so, so that the entry gets removed
	for (c in allowed)
		if (!(c in still))
			printf "check-layers: allowlisted cycle no longer exists, remove it: %s\n", c
	printf "check-layers: %s: %d files, %d includes, %d wrong-way includes, %d cycles (%d allowed)\n",
		(nbad + ncyc ? "FAIL" : "ok"), nfiles, nincs, nbad, ncyc, nallowed
	exit (nbad + ncyc ? 1 : 0)
}
'
