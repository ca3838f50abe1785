#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_lab_failstatic.sh - kill -9 of cellgated under steady traffic loses no request; the restarted
# daemon adopts the pinned maps and moves no flow; a corrupt state file starts it fail-static, traffic
# unhurt
#
# One lab for all tests (setup), with TCP and UDP traffic running through them all; the tests run
# in order, each on the state the one before left (lib.sh, e2e_run).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

setup() {
	e2e_init failstatic
	lab_up || return
	gd_start || fail cellgated_start "cellgated did not become ready" || return
	tcp=$LAB_DIR/tcp.out
	udp=$LAB_DIR/udp.out
	client_bg "$tcp" "$LAB_NS_C1" tcp "$LAB_VIP6" "$LAB_TCP_PORT" --conns 30 --requests 60 --interval-ms 100
	tcp_pid=$CLIENT_PID
	client_bg "$udp" "$LAB_NS_C2" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 30 --requests 60 --interval-ms 100
	udp_pid=$CLIENT_PID
	sleep 1
}

# the daemon dies with kill -9: the program stays on the interface
test_xdp_stays_attached_after_kill9() {
	gd_kill9
	in_lb ip link show dev "$LAB_LB_IF" | grep -q 'prog/xdp' || e2e_fail_reason "no XDP program on $LAB_LB_IF"
}

# read-only commands answer from the pins while the daemon is gone (after the kill)
test_cellctl_reads_pins_without_daemon() {
	if cctl -j cell list 2>"$LAB_DIR/fallback.err" | jq -e 'length == 6' >/dev/null &&
		grep -q 'not running' "$LAB_DIR/fallback.err"; then
		return 0
	fi
	show "$LAB_DIR/fallback.err"
	e2e_fail_reason "no 6 cells from the pins, or no 'not running' note"
}

# fs_says WORD: cellctl status (from the daemon) says it is fail-static, with WORD in the reason
fs_says() { cctl status 2>/dev/null | grep -q "^FAIL-STATIC: .*$1"; }

# the daemon stays dead a while under traffic; then a corrupt state file: cellgated starts
# fail-static (one error naming the crc32, nothing touched, status says so, changes refused),
# traffic still flows; it is stopped and the good file put back
test_corrupt_state_refused() {
	local rc=0 pid
	sleep 1.5
	cp "$GD_STATE/state.yaml" "$LAB_DIR/state.good"
	sed -i 's/weight: 100/weight: 900/' "$GD_STATE/state.yaml"
	# nsenter execs cellgated, so $! is the daemon (in_lb in the background would be a subshell)
	nsenter --net="/run/netns/$LAB_NS_LB" "$build_dir/cellgated" -d "$GD_STATE" -p "$LAB_PIN_DIR" \
		-s "$GD_SOCK" >"$LAB_DIR/corrupt.log" 2>&1 &
	pid=$!
	if ! wait_for 10 fs_says crc32; then
		show "$LAB_DIR/corrupt.log"
		E2E_REASON="cellgated on a corrupt state file is not fail-static with a crc32 reason"
		rc=1
	elif ! grep -q 'fail-static: .*crc32' "$LAB_DIR/corrupt.log" ||
		grep -q 'reconcile (\|attached to \|detached from ' "$LAB_DIR/corrupt.log"; then
		show "$LAB_DIR/corrupt.log"
		E2E_REASON="no fail-static crc32 line, or the data plane was touched"
		rc=1
	elif cctl cell set "${LAB_CELLS%% *}" --weight 5 >/dev/null 2>"$LAB_DIR/corrupt.err" ||
		! grep -q 'fail-static' "$LAB_DIR/corrupt.err"; then
		show "$LAB_DIR/corrupt.err"
		E2E_REASON="a change was not refused as fail-static"
		rc=1
	fi
	kill -TERM "$pid" 2>/dev/null
	wait_for 5 bash -c "! kill -0 $pid 2>/dev/null"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	cp "$LAB_DIR/state.good" "$GD_STATE/state.yaml"
	return "$rc"
}

# restart: adopts the pins and has nothing to write: restart_after_kill9, restart_adopts_pins,
# adoption_writes_nothing
test_restart() {
	if gd_start; then
		pass restart_after_kill9
	else
		fail restart_after_kill9 "cellgated did not become ready"
	fi
	check restart_adopts_pins jq -e '.adopted == true' <<<"$(cctl -j status)"
	if grep -q 'adopted the data plane' "$GD_LOG" && ! grep -q 'reconcile (adopt): wrote' "$GD_LOG"; then
		pass adoption_writes_nothing
	else
		fail adoption_writes_nothing "no 'adopted the data plane', or the adoption wrote"
		show "$GD_LOG" 12
	fi
}

# the traffic of setup, through all of the above: no_request_lost_no_flow_moved_tcp and _udp
test_no_request_lost_no_flow_moved() {
	wait "$tcp_pid" "$udp_pid"
	traffic_clean 1800 "$tcp" "$udp"
}

E2E_TESTS=(
	test_xdp_stays_attached_after_kill9
	test_cellctl_reads_pins_without_daemon
	test_corrupt_state_refused
	test_restart
	test_no_request_lost_no_flow_moved
)
e2e_run "$@"
