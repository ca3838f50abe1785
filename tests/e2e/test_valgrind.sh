#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_valgrind.sh - cellgated under valgrind for a short lab run (start, a config apply, cellctl
# commands, SIGTERM): no invalid access, no use of uninitialised memory, no leak
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_require_cmd valgrind_lab valgrind
e2e_init valgrind
lab_up

vg_log=$LAB_DIR/valgrind.log
# 99: an error valgrind found (any leak kind counts as one with --errors-for-leak-kinds=all)
GD_WRAP="valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=all \
--errors-for-leak-kinds=all --suppressions=$top/tests/e2e/valgrind.supp --log-file=$vg_log"
if ! gd_start; then
	fail cellgated_start_under_valgrind
	[ -f "$vg_log" ] && show "$vg_log"
	exit 1
fi
pass cellgated_start_under_valgrind

# a config apply that changes something: a cell's weight
changed=$LAB_DIR/changed.yaml
cctl config dump >"$changed" 2>"$LAB_DIR/dump.err" || show "$LAB_DIR/dump.err"
sed -i '0,/weight: [0-9]*/s//weight: 7/' "$changed"
check config_apply_under_valgrind cctl config apply "$changed"
ok=1
for args in "status" "-j cell list" "-j service list" "-j stats" "cell show use1-a" \
	"shed show"; do
	# shellcheck disable=SC2086 # args is split into its words on purpose
	if ! cctl $args >"$LAB_DIR/cmd.out" 2>&1; then
		ok=0
		echo "cellctl $args failed:" >&2
		show "$LAB_DIR/cmd.out" >&2
	fi
done
[ "$ok" = 1 ] && pass cellctl_commands_under_valgrind || fail cellctl_commands_under_valgrind

# SIGTERM, then valgrind's leak check, which takes its time: bounded at 120 s
kill -TERM "$GD_PID"
for ((i = 0; i < 1200; i++)); do
	kill -0 "$GD_PID" 2>/dev/null || break
	sleep 0.1
done
kill -9 "$GD_PID" 2>/dev/null
wait "$GD_PID"
rc=$?
GD_PID=
# valgrind's own warnings (an eBPF command it does not know) are not errors: the exit code is
if [ "$rc" -eq 0 ] && ! grep -q '^==[0-9]*== ' "$vg_log"; then
	pass valgrind_clean_exit
else
	fail valgrind_clean_exit "cellgated exited $rc (99: valgrind found errors; 137: killed)"
	[ -f "$vg_log" ] && show "$vg_log" 80
	show "$GD_LOG" 20
fi
exit "$failed"
