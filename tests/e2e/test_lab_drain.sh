#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_lab_drain.sh - draining a cell: new flows avoid it while its open TCP connections exchange
# data to the end; taking a cell down: its flows move, flows on other cells do not notice
#
# One lab and daemon for all tests (setup); the tests run in order on its state (lib.sh, e2e_run).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

setup() {
	e2e_init drain
	lab_up || return
	gd_start || fail cellgated_start "cellgated did not become ready"
}

# busiest_since SNAPSHOT FIELD: the cell whose FIELD counter grew most since SNAPSHOT (JSON of stats)
busiest_since() {
	jq -r --argjson before "$1" --arg f "$2" \
		'.cells | to_entries | map({k: .key, d: (.value[$f] - $before.cells[.key][$f])})
		 | max_by(.d) | .k' <<<"$(cctl -j stats)"
}

# ---- drain ----

# long connections start, then the busiest cell is drained: drain_command and
# drain_visible_in_cell_list. Sets victim and long for the next two tests.
test_drain() {
	local before json
	before=$(cctl -j stats)
	long=$LAB_DIR/drain-long.out
	client_bg "$long" "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 30 --requests 40 \
		--interval-ms 100
	sleep 1
	victim=$(busiest_since "$before" new_flows)
	if cctl cell set "$victim" --state draining >"$LAB_DIR/set.out" 2>&1; then
		pass drain_command
	else
		fail drain_command "cellctl cell set $victim --state draining failed"
		show "$LAB_DIR/set.out"
	fi
	json=$(cctl -j cell list)
	# shellcheck disable=SC2016 # $c is jq's variable, not the shell's
	check drain_visible_in_cell_list jq -e --arg c "$victim" \
		'.[] | select(.name == $c) | .state == "draining" and .dataplane.state == "draining"' \
		<<<"$json"
}

# new flows, while the long connections run: none may land on the draining cell (after test_drain)
test_new_flows_avoid_draining_cell() {
	local fresh=$LAB_DIR/drain-new.out on_victim
	client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 60 --requests 1 >"$fresh"
	on_victim=$(conns "$fresh" | awk -v c="$victim" '$2 == c' | wc -l)
	if [ "$on_victim" -eq 0 ] && [ "$(total "$fresh" fail)" = 0 ] && [ "$(conns "$fresh" | wc -l)" -eq 60 ]; then
		return 0
	fi
	show "$fresh" 5
	e2e_fail_reason "$on_victim new flows on $victim"
}

# the long connections of test_drain ran to the end; the cell is made active again
test_draining_cell_keeps_its_connections_to_the_end() {
	local kept rc=0
	wait "$CLIENT_PID"
	kept=$(grep -c "^conn=.* cells=$victim ok=40 fail=0 reset=0" "$long")
	if ! [ "$(total "$long" fail)" = 0 ] || ! [ "$(total "$long" reset)" = 0 ] ||
		! [ "$(total "$long" moved)" = 0 ] || ! [ "$kept" -ge 1 ]; then
		show "$long" 8
		rc=1
		E2E_REASON="$kept connections completed on $victim"
	fi
	cctl cell set "$victim" --state active >/dev/null
	return "$rc"
}

# ---- down ----

# UDP and TCP flows run while the busiest cell goes down (before, only a failure of the command
# printed a line); the three tests after this one read its results (victim, udp, tcp)
test_down_command() {
	local before udp_pid tcp_pid rc=0
	before=$(cctl -j stats)
	udp=$LAB_DIR/down-udp.out
	tcp=$LAB_DIR/down-tcp.out
	client_bg "$udp" "$LAB_NS_C1" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 30 --requests 30 --interval-ms 100
	udp_pid=$CLIENT_PID
	client_bg "$tcp" "$LAB_NS_C2" tcp "$LAB_VIP6" "$LAB_TCP_PORT" --conns 30 --requests 30 --interval-ms 100
	tcp_pid=$CLIENT_PID
	sleep 1
	victim=$(busiest_since "$before" new_flows)
	cctl cell set "$victim" --state down >/dev/null || rc=1
	wait "$udp_pid" "$tcp_pid"
	[ "$rc" -eq 0 ] || e2e_fail_reason "cellctl cell set $victim --state down failed"
}

# UDP flows on the dead cell moved to a live one and lost nothing; the others stayed
test_down_cell_flows_move() {
	local moved_ok
	moved_ok=$(grep -c "^conn=.* cells=$victim,[a-z0-9-]* ok=30 fail=0" "$udp")
	if [ "$(total "$udp" fail)" = 0 ] && [ "$moved_ok" -ge 1 ] && [ "$(total "$udp" moved)" = "$moved_ok" ]; then
		return 0
	fi
	show "$udp" 8
	e2e_fail_reason "$moved_ok flows moved off $victim cleanly"
}

# TCP connections on other cells never noticed
test_flows_on_other_cells_unaffected() {
	local others_bad
	others_bad=$(grep '^conn=' "$tcp" | grep -v " cells=$victim" | grep -vc ' ok=30 fail=0 reset=0$')
	[ "$others_bad" -eq 0 ] && return 0
	show "$tcp" 8
	e2e_fail_reason "$others_bad connections hurt"
}

test_new_flows_avoid_down_cell() {
	local fresh=$LAB_DIR/down-new.out
	client "$LAB_NS_C1" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 60 --requests 1 >"$fresh"
	if ! conns "$fresh" | awk '{print $2}' | grep -qx "$victim" && [ "$(total "$fresh" fail)" = 0 ]; then
		return 0
	fi
	e2e_fail_reason "a new flow on $victim, or a request failed"
}

E2E_TESTS=(
	test_drain
	test_new_flows_avoid_draining_cell
	test_draining_cell_keeps_its_connections_to_the_end
	test_down_command
	test_down_cell_flows_move
	test_flows_on_other_cells_unaffected
	test_new_flows_avoid_down_cell
)
e2e_run "$@"
