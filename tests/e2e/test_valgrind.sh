#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_valgrind.sh - cellgated under valgrind for a short lab run (start, a config apply, cellctl
# commands, /metrics scrapes, SIGTERM): no invalid access, no use of uninitialised memory, no
# leak. The tests run in order on one daemon (lib.sh, e2e_run); test_clean_exit stops it and reads
# valgrind's verdict.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

setup() {
	e2e_init valgrind
	e2e_require_cmd valgrind_lab valgrind
	# valgrind cannot run a binary built with AddressSanitizer (make test SAN=1)
	if ldd "$build_dir/cellgated" 2>/dev/null | grep -q libasan; then
		e2e_skip valgrind_lab "cellgated is built with sanitizers (SAN=1)"
	fi
	lab_up || return
	VG_LOG=$LAB_DIR/valgrind.log
	# 99: an error valgrind found (any leak kind counts as one with --errors-for-leak-kinds=all)
	GD_WRAP="valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=all \
--errors-for-leak-kinds=all --suppressions=$top/tests/e2e/valgrind.supp --log-file=$VG_LOG"
	if ! gd_start; then
		[ -f "$VG_LOG" ] && show "$VG_LOG"
		fail cellgated_start_under_valgrind "cellgated did not become ready"
		return
	fi
	pass cellgated_start_under_valgrind
}

# a config apply that changes something: a cell's weight
test_config_apply() {
	local changed=$LAB_DIR/changed.yaml
	cctl config dump >"$changed" 2>"$LAB_DIR/dump.err" ||
		{ show "$LAB_DIR/dump.err"; e2e_fail_reason "config dump failed"; return; }
	sed -i '0,/weight: [0-9]*/s//weight: 7/' "$changed"
	cctl config apply "$changed" >"$LAB_DIR/apply.out" 2>&1 ||
		{ show "$LAB_DIR/apply.out"; e2e_fail_reason "config apply failed"; }
}

test_cellctl_commands() {
	local args bad=
	for args in "status" "-j cell list" "-j service list" "-j stats" "cell show use1-a" \
		"shed show"; do
		# shellcheck disable=SC2086 # args is split into its words on purpose
		if ! cctl $args >"$LAB_DIR/cmd.out" 2>&1; then
			bad+="'$args' "
			show "$LAB_DIR/cmd.out" >&2
		fi
	done
	[ -z "$bad" ] || e2e_fail_reason "cellctl ${bad}failed"
}

# two scrapes of /metrics (the default listen address) and a 404: the HTTP server's paths too
test_metrics_scrape() {
	local i code
	for i in 1 2; do
		in_lb curl -sS -f --max-time 20 -o "$LAB_DIR/metrics.prom" http://127.0.0.1:9464/metrics ||
			e2e_fail_reason "scrape $i failed" || return
	done
	code=$(in_lb curl -s -o /dev/null -w '%{http_code}' --max-time 20 http://127.0.0.1:9464/x)
	[ "$code" = 404 ] || e2e_fail_reason "GET /x answered $code, want 404"
}

# SIGTERM, then valgrind's leak check, which takes its time: bounded at 120 s. valgrind's own
# warnings (an eBPF command it does not know) are not errors: the exit code is.
test_clean_exit() {
	local i rc
	kill -TERM "$GD_PID"
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$GD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$GD_PID" 2>/dev/null
	wait "$GD_PID"
	rc=$?
	GD_PID=
	[ "$rc" -eq 0 ] && ! grep -q '^==[0-9]*== ' "$VG_LOG" && return 0
	[ -f "$VG_LOG" ] && show "$VG_LOG" 80
	show "$GD_LOG" 20
	e2e_fail_reason "cellgated exited $rc (99: valgrind found errors; 137: killed)"
}

E2E_TESTS=(test_config_apply test_cellctl_commands test_metrics_scrape test_clean_exit)
e2e_run "$@"
