#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_bench_checks.sh - the benchmark measures what it claims: its quick fast-path run checks every
# figure's first-round verdict and output bytes, its counters and its new flows, and must pass them.
# No time is asserted: the figures are printed by make bench, not judged here.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) build_dir=$BUILD ;; *) build_dir=$top/$BUILD ;; esac

# shellcheck source=tests/e2e/skip.sh
. "$top/tests/e2e/skip.sh"
e2e_require_root bench_checks "BPF"
[ -x "$build_dir/tests/bench/bench" ] ||
	e2e_skip bench_checks "$build_dir/tests/bench/bench is not built"
out=$(mktemp /tmp/cg-bench-checks.XXXXXX)
trap 'rm -f "$out" "$out.json"' EXIT
if timeout 300 "$build_dir/tests/bench/bench" dataplane --quick --json "$out.json" \
	--cpu "$(($(nproc) - 1))" >"$out" 2>&1 && jq -e 'length > 10' "$out.json" >/dev/null; then
	echo "PASS bench_fast_path_checks"
else
	echo "FAIL bench_fast_path_checks"
	sed 's/^/    /' "$out" | tail -20
fi
