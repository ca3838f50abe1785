#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_lab_change.sh - config apply in the lab: the dry run changes nothing, the apply writes only
# the diff, and a cell added to every service moves no established flow
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init change
lab_up

# start without aps1-b in any service; the lab's full config adds it back
small=$LAB_DIR/small.yaml
sed 's/, aps1-b\]/]/' "$LAB_CONFIG" >"$small"
if ! gd_start "$small"; then
	fail cellgated_start
	exit 1
fi
gen0=$(cctl -j status | jq .generation)

long=$LAB_DIR/long.out
client_bg "$long" "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 30 --requests 30 --interval-ms 100
long_pid=$CLIENT_PID
udp=$LAB_DIR/udp.out
client_bg "$udp" "$LAB_NS_C2" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 30 --requests 30 --interval-ms 100
udp_pid=$CLIENT_PID
sleep 0.5

# the dry run shows the three service changes and changes nothing
dry=$LAB_DIR/dry.json
cctl -j config apply "$LAB_CONFIG" --dry-run >"$dry"
if jq -e '(.changes | length) == 3 and all(.changes[]; .op == "~" and .kind == "service")
	and .applied == false' "$dry" >/dev/null && [ "$(cctl -j status | jq .generation)" = "$gen0" ]; then
	pass dry_run_shows_diff_changes_nothing
else
	fail dry_run_shows_diff_changes_nothing
	show "$dry"
fi

# the apply writes exactly the diff: three tables, no cell, no key, no setting
applied=$LAB_DIR/apply.json
cctl -j config apply "$LAB_CONFIG" >"$applied"
if jq -e '.applied and .written.tables == 3 and .written.cells == 0 and .written.settings == 0
	and .written.service_keys == 0 and .written.service_keys_removed == 0' "$applied" >/dev/null &&
	[ "$(cctl -j status | jq .generation)" = "$((gen0 + 1))" ]; then
	pass apply_writes_only_the_diff
else
	fail apply_writes_only_the_diff
	show "$applied"
fi

# applying the same file again is a no-op
again=$(cctl -j config apply "$LAB_CONFIG")
check apply_again_is_a_noop jq -e '(.changes | length) == 0 and .applied == false' <<<"$again"

wait "$long_pid" "$udp_pid"
for f in "$long" "$udp"; do
	if [ "$(total "$f" fail)" = 0 ] && [ "$(total "$f" moved)" = 0 ] && [ "$(total "$f" reset)" = 0 ]; then
		pass "added_cell_moves_no_flow_$(basename "$f" .out)"
	else
		fail "added_cell_moves_no_flow_$(basename "$f" .out)"
		show "$f" 6
	fi
done

# new flows now reach the added cell
fresh=$LAB_DIR/fresh.out
client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 80 --requests 1 >"$fresh"
if conns "$fresh" | awk '{print $2}' | grep -qx aps1-b; then
	pass new_flows_reach_added_cell
else
	fail new_flows_reach_added_cell
	show "$fresh" 5
fi

# the persisted state is what config dump prints, and it parses back
cctl config dump >"$LAB_DIR/dump.yaml"
check dump_parses_back cctl config check "$LAB_DIR/dump.yaml"
if grep -q 'reconcile (config apply): wrote settings 0, cells 0, tables 3' "$GD_LOG"; then
	pass change_logged_with_cause
else
	fail change_logged_with_cause
fi
exit "$failed"
