#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_bench_checks.sh - the benchmark measures what it claims: its quick fast-path run checks every
# figure's first-round verdict and output bytes, its counters and its new flows, and must pass them.
# No time is asserted: the figures are printed by make bench, not judged here.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

setup() {
	e2e_require_root bench_checks "BPF"
	[ -x "$build_dir/tests/bench/bench" ] ||
		e2e_skip bench_checks "$build_dir/tests/bench/bench is not built"
	out=$(mktemp /tmp/cg-bench-checks.XXXXXX) || return
	trap 'rm -f "$out" "$out.json"' EXIT
}

test_bench_fast_path_checks() {
	if timeout 300 "$build_dir/tests/bench/bench" dataplane --quick --json "$out.json" \
		--cpu "$(($(nproc) - 1))" >"$out" 2>&1 && jq -e 'length > 10' "$out.json" >/dev/null; then
		return 0
	fi
	show "$out" 20
	e2e_fail_reason "bench dataplane --quick failed its checks"
}

E2E_TESTS=(test_bench_fast_path_checks)
e2e_run "$@"
