#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# run.sh - run every libFuzzer target of build/fuzz/ for FUZZ_SECONDS each (make fuzz)
#
# usage: FUZZ=build/fuzz FUZZ_SECONDS=60 tests/fuzz/run.sh [TARGET]...
# Each target starts from its committed seeds (tests/fuzz/corpus/TARGET/, read only) and
# keeps what it finds in FUZZ/corpus/TARGET/. A crash, leak or failed property leaves its
# input in FUZZ/crashes/TARGET/ and is listed at the end; copy it into the committed corpus
# once fixed. Prints one line per target (runs, coverage, exec/s) and exits 1 on any crash.
set -u

FUZZ=${FUZZ:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do
		t=${f##*/}
		targets+=("${t%.c}")
	done
fi

summary=() crashes=() rc=0
for t in "${targets[@]}"; do
	bin=$FUZZ/$t
	if [ ! -x "$bin" ]; then
		echo "fuzz: no '$bin' (make fuzz-build)" >&2
		exit 2
	fi
	mkdir -p "$FUZZ/corpus/$t" "$FUZZ/crashes/$t"
	log=$FUZZ/$t.log
	echo "== $t (${FUZZ_SECONDS}s)"
	"$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout=10 \
		-artifact_prefix="$FUZZ/crashes/$t/" "$FUZZ/corpus/$t" "tests/fuzz/corpus/$t" \
		>"$log" 2>&1
	status=$?
	# the last status line libFuzzer printed: "#N DONE cov: C ft: F corp: ... exec/s: E"
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	found=$(find "$FUZZ/crashes/$t" -type f -newer "$bin" | sort)
	if [ "$status" -ne 0 ] || [ -n "$found" ]; then
		rc=1
		tail -n 40 "$log"
		crashes+=("$t: exit $status, log $log" $found)
		summary+=("FAIL $t: runs ${runs:-?} cov ${cov:-?} ft ${ft:-?} exec/s ${eps:-?}")
	else
		summary+=("ok   $t: runs ${runs:-?} cov ${cov:-?} ft ${ft:-?} exec/s ${eps:-?}")
	fi
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#crashes[@]} -gt 0 ]; then
	echo "fuzz: crashes (reproduce with: BIN FILE):"
	printf '  %s\n' "${crashes[@]}"
fi
exit "$rc"
