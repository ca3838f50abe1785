#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# check-layers-selftest.sh - scripts/check-layers.sh on small fake trees: it passes a clean one
# and fails, naming the file and the include, on each kind of wrong-way include and on a cycle
#
# usage: scripts/check-layers-selftest.sh   (no root, no build; a temp dir, removed on exit)
# Prints each failing case with the script's output, then one summary line; V=1 also lists the
# cases that pass.
set -u

check=$(cd "$(dirname "$0")" && pwd)/check-layers.sh
tmp=$(mktemp -d /tmp/cg-layers.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# put PATH LINE...: write a file of the fake tree, one include (or other) line per argument
put() {
	local path=$tmp/tree/$1
	shift
	mkdir -p "$(dirname "$path")"
	printf '%s\n' "$@" >"$path"
}

# clean_tree: a tree every rule accepts
clean_tree() {
	rm -rf "$tmp/tree"
	put include/cellgate/abi/consts.h '#include <linux/types.h>'
	put include/cellgate/abi/structs.h '#include "consts.h"' '#include "cellgate/abi/consts.h"'
	put include/cellgate/model.h '#include "cellgate/abi/consts.h"'
	put include/cellgate/codec.h '#include "cellgate/model.h"'
	put userspace/lib/model.c '#include <stdlib.h>' '#include "cellgate/model.h"'
	put userspace/lib/codec.c '#include "cellgate/codec.h"' '#include "cellgate/model.h"'
	put userspace/lib/util.h '#include "cellgate/model.h"'
	put userspace/cellgated/main.c '#include "cellgate/codec.h"' '#include "router.skel.h"'
	put userspace/cellctl/main.c '#include "cellgate/model.h"'
	put bpf/router.bpf.c '#include "vmlinux.h"' '#include <bpf/bpf_helpers.h>' \
		'#include "parse.h"' '#include "cellgate/abi/structs.h"'
	put bpf/parse.h '#include "cellgate/abi/consts.h"'
	put tests/lib/pkt.h '#include "cellgate/model.h"'
	put tests/unit/test_model.c '#include "pkt.h"' '#include "../../userspace/lib/model.c"'
}

# expect NAME WANT-RC REGEX [ARGS...]: run the check on the fake tree; the exit status must be
# WANT-RC and the output must match REGEX (grep -E)
expect() {
	local name=$1 want=$2 re=$3 rc
	shift 3
	bash "$check" "$@" "$tmp/tree" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -Eq -- "$re" "$tmp/out"; then
		[ -n "${V:-}" ] && echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name: exit $rc (want $want), output:"
		sed 's/^/    /' "$tmp/out"
		failed=$((failed + 1))
	fi
}

clean_tree
expect clean_tree_passes 0 '^check-layers: ok: 11 files, [0-9]+ includes, 0 wrong-way includes, 0 cycles'

clean_tree
put userspace/lib/codec.c '#include "cellgate/codec.h"' '#include "../cellgated/cmds.h"'
put userspace/cellgated/cmds.h '#include "cellgate/model.h"'
expect lib_includes_daemon 1 \
	'^check-layers: userspace/lib/codec.c:2: includes "../cellgated/cmds.h" \(userspace/cellgated/cmds.h\): the library must not include a program'

clean_tree
put userspace/cellctl/main.c '#include "cellgate/model.h"' '#include "../../tests/lib/pkt.h"'
expect product_includes_tests 1 \
	'^check-layers: userspace/cellctl/main.c:2: includes "../../tests/lib/pkt.h" \(tests/lib/pkt.h\): product code must not include tests/'

clean_tree
put bpf/parse.h '#include "cellgate/abi/consts.h"' '#include "tests/bench/bench.h"'
expect bpf_includes_tests_unresolved 1 '^check-layers: bpf/parse.h:2: includes "tests/bench/bench.h": product'

clean_tree
put bpf/parse.h '#include "cellgate/abi/consts.h"' '#include "cellgate/model.h"'
expect bpf_includes_library 1 \
	'^check-layers: bpf/parse.h:2: includes "cellgate/model.h" \(include/cellgate/model.h\): bpf/ may include only'

clean_tree
put include/cellgate/abi/structs.h '#include "consts.h"' '#include <cellgate/model.h>'
expect abi_includes_library 1 \
	'^check-layers: include/cellgate/abi/structs.h:2: includes "cellgate/model.h" \(include/cellgate/model.h\): the ABI headers'

clean_tree
# model.h -> codec (through codec.h) and codec.c -> model: a cycle of two modules
put include/cellgate/model.h '#include "cellgate/abi/consts.h"' '#include "cellgate/codec.h"'
expect cycle_is_reported 1 \
	'^check-layers: include cycle in the library: codec -> model -> codec \(include/cellgate/codec.h:1 includes "cellgate/model.h"; include/cellgate/model.h:2 includes "cellgate/codec.h"\)'
expect cycle_fails_the_summary 1 '^check-layers: FAIL: .* 0 wrong-way includes, 1 cycles \(0 allowed\)$'

# a longer cycle, through a private header of the library
put userspace/lib/util.h '#include "cellgate/codec.h"'
put include/cellgate/model.h '#include "cellgate/abi/consts.h"'
put userspace/lib/codec.c '#include "cellgate/codec.h"' '#include "util.h"'
put userspace/lib/model.c '#include "cellgate/model.h"'
put include/cellgate/codec.h '#include "cellgate/model.h"'
put userspace/lib/util.c '#include "util.h"' '#include "cellgate/model.h"'
put userspace/lib/model.c '#include "cellgate/model.h"' '#include "util.h"'
expect three_module_cycle 1 '^check-layers: include cycle in the library: codec -> util -> codec'

# an allowlisted cycle passes; an allowlist entry for a cycle that is gone is pointed out
clean_tree
put include/cellgate/model.h '#include "cellgate/abi/consts.h"' '#include "cellgate/codec.h"'
printf '# known\ncodec -> model -> codec\n' >"$tmp/allow"
expect allowlisted_cycle_passes 0 '^check-layers: ok: .* 0 cycles \(1 allowed\)$' -a "$tmp/allow"
clean_tree
expect stale_allowlist_entry_is_named 0 'no longer exists, remove it: codec -> model -> codec' \
	-a "$tmp/allow"

echo "check-layers self-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
