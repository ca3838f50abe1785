#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_lab_routing.sh - cellgated in the lab: real TCP and UDP flows, IPv4 and IPv6, each answered
# by the cell the live Maglev table names; the connection table agrees; flows spread over cells
#
# One lab and daemon for all tests (setup; lib.sh, e2e_run).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

setup() {
	e2e_init routing
	lab_up || return
	gd_start || fail cellgated_start "cellgated did not become ready" || return
	pass cellgated_start
}

# flows_match PROTO SRC DST PORT FILE: every flow's answering cell is the one the table names for
# its 5-tuple, and the connection table holds the same cell
flows_match() {
	local proto=$1 src=$2 dst=$3 port=$4 out=$5 sport cell got n=0 bad=0 cells
	while read -r sport cell; do
		n=$((n + 1))
		got=$(in_lb "$build_dir/whichcell" "$LAB_PIN_DIR" "$GD_STATE/state.yaml" "$proto" \
			"$src" "$sport" "$dst" "$port")
		if [ "$got" != "table=$cell conntrack=$cell" ]; then
			bad=$((bad + 1))
			echo "    sport $sport answered by $cell, maps say: $got"
		fi
	done < <(conns "$out")
	cells=$(conns "$out" | awk '{print $2}' | sort -u | wc -l)
	if [ "$n" -ge 20 ] && [ "$bad" -eq 0 ] && [ "$(total "$out" fail)" = 0 ] && [ "$cells" -ge 3 ]; then
		return 0
	fi
	show "$out" 10
	e2e_fail_reason "$bad of $n flows off the table, $cells cells used, fail=$(total "$out" fail)"
}

test_tcp4_flows_follow_the_table() {
	local out=$LAB_DIR/tcp4.out
	client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 40 --requests 3 --interval-ms 10 >"$out"
	flows_match tcp "$LAB_C1_V4" "$LAB_VIP4" "$LAB_TCP_PORT" "$out"
}

test_tcp6_flows_follow_the_table() {
	local out=$LAB_DIR/tcp6.out
	client "$LAB_NS_C2" tcp "$LAB_VIP6" "$LAB_TCP_PORT" --conns 40 --requests 3 --interval-ms 10 >"$out"
	flows_match tcp "$LAB_C2_V6" "$LAB_VIP6" "$LAB_TCP_PORT" "$out"
}

test_udp4_flows_follow_the_table() {
	local out=$LAB_DIR/udp4.out
	client "$LAB_NS_C2" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 40 --requests 3 --interval-ms 10 >"$out"
	flows_match udp "$LAB_C2_V4" "$LAB_VIP4" "$LAB_UDP_PORT" "$out"
}

# the counters saw it (the three tests above): forwarded packets per cell add up to the service's
test_counters_cells_add_up_to_services() {
	local json
	json=$(cctl -j stats)
	if jq -e '.counters.fwd.packets > 0 and ([.cells[].packets] | add) == ([.services[].packets] | add)' \
		<<<"$json" >/dev/null; then
		return 0
	fi
	jq -c '{fwd: .counters.fwd, cells: [.cells[].packets], services: [.services[].packets]}' <<<"$json"
	e2e_fail_reason "no packets forwarded, or the cells' packets are not the services'"
}

# a UDP flow stays on its cell for its lifetime: the same source port, many datagrams
test_udp_flows_stay_on_their_cell() {
	local out=$LAB_DIR/udp4-long.out
	client "$LAB_NS_C1" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 10 --requests 20 --interval-ms 5 >"$out"
	[ "$(total "$out" moved)" = 0 ] && [ "$(total "$out" fail)" = 0 ] && return 0
	show "$out" 5
	e2e_fail_reason "moved=$(total "$out" moved) fail=$(total "$out" fail)"
}

# the next hop's MAC changes (RTM_NEWNEIGH): cellgated rewrites every cell behind it
macs() { cctl -j cell list | jq -r '[.[].dataplane.next_hop_mac] | unique | join(",")'; }
fake_mac=02:00:5e:00:53:01

# sets real_mac for the next test, which puts it back
test_neighbour_change_updates_cells() {
	real_mac=$(macs)
	in_lb ip neigh replace "$LAB_RTR_LB_V4" lladdr "$fake_mac" dev "$LAB_LB_IF" nud reachable
	wait_for 5 test "$(macs)" = "$fake_mac" || e2e_fail_reason "cells say $(macs), want $fake_mac"
}

test_neighbour_restored_traffic_flows() {
	in_lb ip neigh replace "$LAB_RTR_LB_V4" lladdr "$real_mac" dev "$LAB_LB_IF" nud reachable
	wait_for 5 test "$(macs)" = "$real_mac" ||
		e2e_fail_reason "cells say $(macs), want $real_mac" || return
	client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 10 --requests 1 >/dev/null ||
		e2e_fail_reason "requests failed after the MAC came back"
}

test_neighbour_change_logged() {
	grep -q 'next hop is now 02:00:5e:00:53:01' "$GD_LOG" || e2e_fail_reason "no 'next hop is now' line in the log"
}

E2E_TESTS=(
	test_tcp4_flows_follow_the_table
	test_tcp6_flows_follow_the_table
	test_udp4_flows_follow_the_table
	test_counters_cells_add_up_to_services
	test_udp_flows_stay_on_their_cell
	test_neighbour_change_updates_cells
	test_neighbour_restored_traffic_flows
	test_neighbour_change_logged
)
e2e_run "$@"
