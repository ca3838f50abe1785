#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_lab_change.sh - config apply in the lab: the dry run changes nothing, the apply writes only
# the diff, and a cell added to every service moves no established flow
#
# One lab and daemon for all tests (setup); the tests run in order on its state (lib.sh, e2e_run).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# the daemon starts without aps1-b in any service; the lab's full config adds it back, while
# long TCP and UDP flows run (the tests below wait for them)
setup() {
	e2e_init change
	lab_up || return
	small=$LAB_DIR/small.yaml
	sed 's/, aps1-b\]/]/' "$LAB_CONFIG" >"$small"
	gd_start "$small" || fail cellgated_start "cellgated did not become ready" || return
	gen0=$(cctl -j status | jq .generation)

	long=$LAB_DIR/long.out
	client_bg "$long" "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 30 --requests 30 --interval-ms 100
	long_pid=$CLIENT_PID
	udp=$LAB_DIR/udp.out
	client_bg "$udp" "$LAB_NS_C2" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 30 --requests 30 --interval-ms 100
	udp_pid=$CLIENT_PID
	sleep 0.5
}

# the dry run shows the three service changes and changes nothing
test_dry_run_shows_diff_changes_nothing() {
	local dry=$LAB_DIR/dry.json
	cctl -j config apply "$LAB_CONFIG" --dry-run >"$dry"
	if jq -e '(.changes | length) == 3 and all(.changes[]; .op == "~" and .kind == "service")
		and .applied == false' "$dry" >/dev/null && [ "$(cctl -j status | jq .generation)" = "$gen0" ]; then
		return 0
	fi
	show "$dry"
	e2e_fail_reason "not 3 service changes, or the generation moved"
}

# the apply writes exactly the diff: three tables, no cell, no key, no setting
test_apply_writes_only_the_diff() {
	local applied=$LAB_DIR/apply.json
	cctl -j config apply "$LAB_CONFIG" >"$applied"
	if jq -e '.applied and .written.tables == 3 and .written.cells == 0 and .written.settings == 0
		and .written.service_keys == 0 and .written.service_keys_removed == 0' "$applied" >/dev/null &&
		[ "$(cctl -j status | jq .generation)" = "$((gen0 + 1))" ]; then
		return 0
	fi
	show "$applied"
	e2e_fail_reason "wrote more than three tables, or the generation is not $((gen0 + 1))"
}

# applying the same file again is a no-op (after test_apply_writes_only_the_diff)
test_apply_again_is_a_noop() {
	cctl -j config apply "$LAB_CONFIG" | jq -e '(.changes | length) == 0 and .applied == false' >/dev/null ||
		e2e_fail_reason "the second apply changed something"
}

# the flows of setup, which ran through the apply: added_cell_moves_no_flow_long and _udp
test_added_cell_moves_no_flow() {
	local f
	wait "$long_pid" "$udp_pid"
	for f in "$long" "$udp"; do
		if [ "$(total "$f" fail)" = 0 ] && [ "$(total "$f" moved)" = 0 ] && [ "$(total "$f" reset)" = 0 ]; then
			pass "added_cell_moves_no_flow_$(basename "$f" .out)"
		else
			fail "added_cell_moves_no_flow_$(basename "$f" .out)" "a request failed, or a flow moved or was reset"
			show "$f" 6
		fi
	done
}

# new flows now reach the added cell (after the apply)
test_new_flows_reach_added_cell() {
	local fresh=$LAB_DIR/fresh.out
	client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 80 --requests 1 >"$fresh"
	conns "$fresh" | awk '{print $2}' | grep -qx aps1-b && return 0
	show "$fresh" 5
	e2e_fail_reason "none of 80 new flows on aps1-b"
}

# the persisted state is what config dump prints, and it parses back
test_dump_parses_back() {
	cctl config dump >"$LAB_DIR/dump.yaml"
	cctl config check "$LAB_DIR/dump.yaml" >/dev/null || e2e_fail_reason "config check refused the dump"
}

test_change_logged_with_cause() {
	grep -Eq 'reconcile \(config apply; uid 0 \(root\) pid [0-9]+\): wrote settings 0, cells 0, tables 3' "$GD_LOG" && return
	grep 'reconcile' "$GD_LOG" | tail -3 >&2
	e2e_fail_reason "no 'reconcile (config apply)' line in the daemon's log"
}

E2E_TESTS=(
	test_dry_run_shows_diff_changes_nothing
	test_apply_writes_only_the_diff
	test_apply_again_is_a_noop
	test_added_cell_moves_no_flow
	test_new_flows_reach_added_cell
	test_dump_parses_back
	test_change_logged_with_cause
)
e2e_run "$@"
