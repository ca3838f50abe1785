#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_lab_routing.sh - cellgated in the lab: real TCP and UDP flows, IPv4 and IPv6, each answered
# by the cell the live Maglev table names; the connection table agrees; flows spread over cells
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init routing
lab_up
if ! gd_start; then
	fail cellgated_start
	exit 1
fi
pass cellgated_start

# flows_match NAME PROTO SRC DST PORT FILE: every flow's answering cell is the one the table
# names for its 5-tuple, and the connection table holds the same cell
flows_match() {
	local name=$1 proto=$2 src=$3 dst=$4 port=$5 out=$6 sport cell got n=0 bad=0 cells
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
		pass "$name"
	else
		fail "$name" "$bad of $n flows off the table, $cells cells used, fail=$(total "$out" fail)"
		show "$out" 10
	fi
}

out=$LAB_DIR/tcp4.out
client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 40 --requests 3 --interval-ms 10 >"$out"
flows_match tcp4_flows_follow_the_table tcp "$LAB_C1_V4" "$LAB_VIP4" "$LAB_TCP_PORT" "$out"

out=$LAB_DIR/tcp6.out
client "$LAB_NS_C2" tcp "$LAB_VIP6" "$LAB_TCP_PORT" --conns 40 --requests 3 --interval-ms 10 >"$out"
flows_match tcp6_flows_follow_the_table tcp "$LAB_C2_V6" "$LAB_VIP6" "$LAB_TCP_PORT" "$out"

out=$LAB_DIR/udp4.out
client "$LAB_NS_C2" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 40 --requests 3 --interval-ms 10 >"$out"
flows_match udp4_flows_follow_the_table udp "$LAB_C2_V4" "$LAB_VIP4" "$LAB_UDP_PORT" "$out"

# the counters saw it: forwarded packets per cell add up to the service's
json=$(cctl -j stats)
if jq -e '.counters.fwd.packets > 0 and ([.cells[].packets] | add) == ([.services[].packets] | add)' \
	<<<"$json" >/dev/null; then
	pass counters_cells_add_up_to_services
else
	fail counters_cells_add_up_to_services
	jq -c '{fwd: .counters.fwd, cells: [.cells[].packets], services: [.services[].packets]}' <<<"$json"
fi

# a UDP flow stays on its cell for its lifetime: the same source port, many datagrams
out=$LAB_DIR/udp4-long.out
client "$LAB_NS_C1" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 10 --requests 20 --interval-ms 5 >"$out"
if [ "$(total "$out" moved)" = 0 ] && [ "$(total "$out" fail)" = 0 ]; then
	pass udp_flows_stay_on_their_cell
else
	fail udp_flows_stay_on_their_cell
	show "$out" 5
fi

# the next hop's MAC changes (RTM_NEWNEIGH): cellgated rewrites every cell behind it
macs() { cctl -j cell list | jq -r '[.[].dataplane.next_hop_mac] | unique | join(",")'; }
real_mac=$(macs)
fake_mac=02:00:5e:00:53:01
in_lb ip neigh replace "$LAB_RTR_LB_V4" lladdr "$fake_mac" dev "$LAB_LB_IF" nud reachable
if wait_for 5 test "$(macs)" = "$fake_mac"; then
	pass neighbour_change_updates_cells
else
	fail neighbour_change_updates_cells "cells say $(macs), want $fake_mac"
fi
in_lb ip neigh replace "$LAB_RTR_LB_V4" lladdr "$real_mac" dev "$LAB_LB_IF" nud reachable
if wait_for 5 test "$(macs)" = "$real_mac" &&
	client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 10 --requests 1 >/dev/null; then
	pass neighbour_restored_traffic_flows
else
	fail neighbour_restored_traffic_flows
fi
if grep -q 'next hop is now 02:00:5e:00:53:01' "$GD_LOG"; then
	pass neighbour_change_logged
else
	fail neighbour_change_logged
fi

exit "$failed"
