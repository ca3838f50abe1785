#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_lab_failstatic.sh - kill -9 of cellgated under steady traffic loses no request; the restarted
# daemon adopts the pinned maps and moves no flow; a corrupt state file is refused, traffic unhurt
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init failstatic
lab_up
if ! gd_start; then
	fail cellgated_start
	exit 1
fi

tcp=$LAB_DIR/tcp.out
udp=$LAB_DIR/udp.out
client_bg "$tcp" "$LAB_NS_C1" tcp "$LAB_VIP6" "$LAB_TCP_PORT" --conns 30 --requests 60 --interval-ms 100
tcp_pid=$CLIENT_PID
client_bg "$udp" "$LAB_NS_C2" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 30 --requests 60 --interval-ms 100
udp_pid=$CLIENT_PID
sleep 1

gd_kill9
if in_lb ip link show dev "$LAB_LB_IF" | grep -q 'prog/xdp'; then
	pass xdp_stays_attached_after_kill9
else
	fail xdp_stays_attached_after_kill9
fi
# read-only commands answer from the pins while the daemon is gone
if cctl -j cell list 2>"$LAB_DIR/fallback.err" | jq -e 'length == 6' >/dev/null &&
	grep -q 'not running' "$LAB_DIR/fallback.err"; then
	pass cellctl_reads_pins_without_daemon
else
	fail cellctl_reads_pins_without_daemon
	show "$LAB_DIR/fallback.err"
fi
sleep 1.5

# a corrupt state file: refused, nothing touched, traffic still flows
cp "$GD_STATE/state.yaml" "$LAB_DIR/state.good"
sed -i 's/weight: 100/weight: 900/' "$GD_STATE/state.yaml"
if in_lb timeout 10 "$build_dir/cellgated" -d "$GD_STATE" -p "$LAB_PIN_DIR" -s "$GD_SOCK" \
	>"$LAB_DIR/corrupt.log" 2>&1; then
	fail corrupt_state_refused "cellgated started on a corrupt state file"
elif grep -q 'refusing to start' "$LAB_DIR/corrupt.log" && grep -q crc32 "$LAB_DIR/corrupt.log"; then
	pass corrupt_state_refused
else
	fail corrupt_state_refused
	show "$LAB_DIR/corrupt.log"
fi
cp "$LAB_DIR/state.good" "$GD_STATE/state.yaml"

# restart: adopts the pins and has nothing to write
if gd_start; then
	pass restart_after_kill9
else
	fail restart_after_kill9
fi
check restart_adopts_pins jq -e '.adopted == true' <<<"$(cctl -j status)"
if grep -q 'adopted the data plane' "$GD_LOG" && ! grep -q 'reconcile (adopt): wrote' "$GD_LOG"; then
	pass adoption_writes_nothing
else
	fail adoption_writes_nothing
	show "$GD_LOG" 12
fi

wait "$tcp_pid" "$udp_pid"
for f in "$tcp" "$udp"; do
	name=$(basename "$f" .out)
	if [ "$(total "$f" ok)" = 1800 ] && [ "$(total "$f" fail)" = 0 ] && [ "$(total "$f" moved)" = 0 ] &&
		[ "$(total "$f" reset)" = 0 ]; then
		pass "no_request_lost_no_flow_moved_$name"
	else
		fail "no_request_lost_no_flow_moved_$name"
		show "$f" 6
	fi
done
exit "$failed"
