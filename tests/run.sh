#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# run.sh - run cellgate's test suites and print one summary line: N passed, N failed, N skipped
#
# usage: tests/run.sh [unit|prog|e2e]...   (default: all three, in that order)
# cmocka binaries are counted from their own summary (which must add up to the tests run);
# e2e scripts print one "PASS name", "FAIL name: why" or "SKIP name: reason" line per test
# (tests/e2e/lib.sh's e2e_run). A binary or script that dies without a summary counts as one
# failure. Tests skip only through tests/lib/testskip.h (C) or tests/e2e/skip.sh (shell).
set -u

BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit prog e2e)

passed=0 failed=0 skipped=0
failures=()
log=$(mktemp /tmp/cg-test.XXXXXX)
trap 'rm -f "$log"' EXIT

# sum_of REGEX: the sum of the numbers the sed regex REGEX captures in the log
sum_of() { sed -n "s/$1/\\1/p" "$log" | awk '{s+=$1} END {print s+0}'; }

run_cmocka() {
	local bin=$1 rc n p f s
	echo "== $bin"
	"$bin" >"$log" 2>&1
	rc=$?
	cat "$log"
	# cmocka's own summary lines only: a skip is a test cmocka ran and counted as skipped
	n=$(sum_of '^\[==========\] \([0-9]*\) test(s) run\.$')
	p=$(sum_of '^\[  PASSED  \] \([0-9]*\) test(s)\.$')
	f=$(sum_of '^\[  FAILED  \] \([0-9]*\) test(s), listed below:$')
	s=$(sum_of '^\[  SKIPPED \] \([0-9]*\) test(s), listed below:$')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # died without saying what failed
	elif [ $((p + f + s)) -ne "$n" ] && [ "$f" -eq 0 ]; then
		echo "run.sh: $bin: $p passed + $f failed + $s skipped is not the $n tests run" >&2
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$f" -gt 0 ] && failures+=("$bin")
}

run_script() {
	local script=$1 rc p f s
	echo "== $script"
	timeout 900 bash "$script" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	s=$(grep -c '^SKIP ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$f" -gt 0 ] && failures+=("$script")
}

for suite in "${suites[@]}"; do
	case $suite in
	unit | prog)
		for bin in "$BUILD"/tests/"$suite"/test_*; do
			[ -x "$bin" ] || continue
			case $bin in *.o | *.d) continue ;; esac
			run_cmocka "$bin"
		done
		;;
	e2e)
		for script in tests/e2e/test_*.sh; do
			[ -f "$script" ] || continue
			run_script "$script"
		done
		;;
	*)
		echo "run.sh: unknown suite '$suite' (unit, prog or e2e)" >&2
		exit 2
		;;
	esac
done

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed in: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
