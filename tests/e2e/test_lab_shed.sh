#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_lab_shed.sh - shedding in the lab: with a level set on the sheddable class, mixed traffic
# keeps every critical request, refuses sheddable flows at the set fraction, resets nothing admitted
#
# One lab and daemon for all tests (setup); the tests run in order on its state (lib.sh, e2e_run).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# c1's prefix is critical, c2's sheddable; a long-lived sheddable connection admitted before the
# level (test_no_admitted_connection_reset): it must never be cut
setup() {
	e2e_init shed
	lab_up || return
	local cfg=$LAB_DIR/shed.yaml
	cp "$LAB_CONFIG" "$cfg"
	cat >>"$cfg" <<YAML
class_rules:
  - {prefix: ${LAB_C1_V4%.*}.0/24, class: critical}
  - {prefix: ${LAB_C2_V4%.*}.0/24, class: sheddable}
YAML
	gd_start "$cfg" || fail cellgated_start "cellgated did not become ready" || return
	long=$LAB_DIR/long.out
	client_bg "$long" "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 20 --requests 40 --interval-ms 100
	long_pid=$CLIENT_PID
	sleep 0.5
}

# level 0.5 on the sheddable class of every cell; the tests after it run under it
test_shed_set() {
	cctl shed set --cell '*' --class sheddable --level 0.5 --permanent --reason "e2e over capacity" \
		>"$LAB_DIR/set.out" 2>&1 && return 0
	show "$LAB_DIR/set.out"
	e2e_fail_reason "cellctl shed set failed"
}

test_critical_requests_all_succeed() {
	local crit=$LAB_DIR/crit.out
	client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 150 --requests 3 --interval-ms 10 \
		--connect-timeout-ms 1500 >"$crit"
	[ "$(total "$crit" fail)" = 0 ] && [ "$(total "$crit" ok)" = 450 ] && return 0
	show "$crit" 4
	e2e_fail_reason "ok=$(total "$crit" ok) fail=$(total "$crit" fail), want 450 and 0"
}

# sheddable flows under the level: sheddable_refused_at_level (the line says how many) and
# admitted_sheddable_flows_complete
test_sheddable_flows() {
	local shed=$LAB_DIR/shed.out refused admitted_bad
	client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 300 --requests 3 --interval-ms 10 \
		--connect-timeout-ms 1500 >"$shed" 2>"$LAB_DIR/shed.err"
	refused=$(sed -n 's/^connected conns=[0-9]* failed=\([0-9]*\)/\1/p' "$shed")
	admitted_bad=$(grep '^conn=' "$shed" | grep -v 'cells=-' | grep -vc ' ok=3 fail=0 reset=0$')
	# 300 flows at p = 0.5: the standard deviation is 8.7 flows; allow 4 of them
	if [ -n "$refused" ] && [ "$refused" -ge 115 ] && [ "$refused" -le 185 ]; then
		pass "sheddable_refused_at_level ($refused of 300)"
	else
		fail sheddable_refused_at_level "refused=$refused of 300, want 150 +- 35"
		show "$shed" 4
	fi
	if [ "$admitted_bad" -eq 0 ]; then
		pass admitted_sheddable_flows_complete
	else
		fail admitted_sheddable_flows_complete "$admitted_bad admitted connections hurt"
	fi
}

# the connection of setup, through the level
test_no_admitted_connection_reset() {
	wait "$long_pid"
	[ "$(total "$long" fail)" = 0 ] && [ "$(total "$long" reset)" = 0 ] && return 0
	show "$long" 4
	e2e_fail_reason "fail=$(total "$long" fail) reset=$(total "$long" reset)"
}

# the drops are counted by cell, class and reason, and none is of the critical class
test_drops_counted_by_cell_class_reason() {
	local json
	json=$(cctl -j shed show)
	if jq -e '([.counters[] | select(.class == "sheddable") | .shed] | add) > 0
		and ([.counters[] | select(.class == "critical")] | length) == 0
		and (.levels | length) == 6 and all(.levels[]; .source == "operator" and .level == "0.5")' \
		<<<"$json" >/dev/null; then
		return 0
	fi
	jq -c . <<<"$json" | head -c 600
	echo
	e2e_fail_reason "shed show's counters or levels are not as set"
}

# cleared: every sheddable flow is admitted again
test_shed_clear_admits_again() {
	local again=$LAB_DIR/again.out
	cctl shed clear >/dev/null
	client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 60 --requests 1 --connect-timeout-ms 1500 \
		>"$again"
	[ "$(total "$again" fail)" = 0 ] || e2e_fail_reason "fail=$(total "$again" fail) after shed clear"
}

test_shed_change_logged_with_who() {
	grep -Eq 'change \(shed set \*/3; uid 0 \(root\) pid [0-9]+\)' "$GD_LOG" ||
		e2e_fail_reason "no 'change (shed set */3; uid 0 (root) pid N)' line in the log"
}

E2E_TESTS=(
	test_shed_set
	test_critical_requests_all_succeed
	test_sheddable_flows
	test_no_admitted_connection_reset
	test_drops_counted_by_cell_class_reason
	test_shed_clear_admits_again
	test_shed_change_logged_with_who
)
e2e_run "$@"
