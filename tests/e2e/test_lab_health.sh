#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_lab_health.sh - health probes: every cell up, a sick cell down (new flows avoid it, others'
# flows stay), back up after rise probes, an HTTP status mismatch, and a panic that freezes
#
# One lab and daemon (setup); the tests run in order on its state. A cell is made sick with
# SIGUSR2 to its cellsrv (its gateway listeners close: probes are refused, the VIP still serves).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

HCFG=
setup() {
	e2e_init health
	lab_up || return
	HCFG=$LAB_DIR/health.yaml
	# tcp probes every 200 ms, timeout 100 ms, rise 2, fall 2, panic above half the cells
	{
		cat "$LAB_CONFIG"
		echo "health: {probe: tcp, interval_ms: 200, timeout_ms: 100, jitter: 0.1, rise: 2, fall: 2, panic_threshold: 0.5}"
	} >"$HCFG"
	gd_start "$HCFG" || fail cellgated_start "cellgated did not become ready"
}

# health STATE CELL: the cell's health state is STATE
health_is() { cctl -j cell list | jq -e --arg c "$2" --arg s "$1" '.[] | select(.name == $c) | .health.state == $s' >/dev/null; }
all_up() { cctl -j cell list | jq -e 'all(.[]; .health.state == "up")' >/dev/null; }
sick() { kill -USR2 "$(cat "$LAB_DIR/pids/cellsrv-$1.pid")"; }

test_every_cell_becomes_up() {
	wait_for 10 all_up && return 0
	cctl cell list
	e2e_fail_reason "not every cell is up"
}

test_status_shows_health() {
	check status_health_json eval 'cctl -j status | jq -e ".health.probe == \"tcp\" and .health.up == 6 and .health.panic == false"'
	check status_health_text eval 'cctl status | grep -q "^health: *tcp probes: 6 up, 0 down, 0 unknown; panic no"'
	check cell_list_health_column eval 'cctl cell list | head -1 | grep -q " DP  *HEALTH "'
}

# use1-b goes sick while TCP connections run on every cell: it becomes down, new flows avoid it,
# connections on the other cells are not moved. Sets victim, long for the next test.
test_sick_cell_goes_down() {
	local t0 t1 fresh=$LAB_DIR/new.out
	victim=use1-b
	long=$LAB_DIR/long.out
	client_bg "$long" "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 30 --requests 40 --interval-ms 100
	sleep 1
	t0=$(date +%s%N)
	sick "$victim"
	# fall 2 x interval 220 ms + timeout 100 ms: well under 5 s
	if wait_for 5 health_is down "$victim"; then
		t1=$(date +%s%N)
		pass "sick_cell_down_in_$(((t1 - t0) / 1000000))ms"
	else
		fail sick_cell_down "$victim not down within 5 s"
		return 1
	fi
	check only_that_cell_down eval 'cctl -j cell list | jq -e "[.[] | select(.health.state == \"down\")] | length == 1"'
	check down_cell_out_of_dataplane eval "cctl -j cell list | jq -e '.[] | select(.name == \"$victim\") | .dataplane.state == \"down\" and .health.out_for_health and (.health.last_error | test(\"refused\"))'"
	check log_has_change grep -q "health: cell $victim up -> down (probe failed" "$GD_LOG"
	client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 60 --requests 1 >"$fresh"
	if [ "$(conns "$fresh" | awk -v c="$victim" '$2 == c' | wc -l)" -eq 0 ] && [ "$(total "$fresh" fail)" = 0 ]; then
		pass new_flows_avoid_down_cell
	else
		fail new_flows_avoid_down_cell "new flows on $victim or failures"
		show "$fresh" 5
	fi
}

test_other_cells_connections_kept() {
	local bad
	wait "$CLIENT_PID"
	bad=$(grep '^conn=' "$long" | grep -v " cells=$victim" | grep -vc ' ok=40 fail=0 reset=0$')
	[ "$bad" -eq 0 ] && return 0
	show "$long" 8
	e2e_fail_reason "$bad connections on other cells hurt"
}

test_well_cell_comes_back_up() {
	sick "$victim" # toggles back to well
	wait_for 5 health_is up "$victim" || e2e_fail_reason "$victim not up again" || return
	wait_for 3 eval "cctl -j cell list | jq -e '.[] | select(.name == \"$victim\") | .dataplane.state == \"active\"' >/dev/null" ||
		e2e_fail_reason "$victim not active in the data plane again"
}

# more than half the cells sick: panic, nothing taken out, loud log and status; then well again
test_panic_freezes() {
	local c frozen
	for c in use1-a use1-b euw1-a euw1-b; do sick "$c"; done
	if ! wait_for 5 eval 'cctl -j status | jq -e ".health.panic == true" >/dev/null'; then
		for c in use1-a use1-b euw1-a euw1-b; do sick "$c"; done
		e2e_fail_reason "no panic"
		return 1
	fi
	# frozen: what the data plane held when the panic began stays (a cell that reached down
	# before the fourth first failure may be out already), while health tracks the probes
	frozen=$(cctl -j cell list | jq -c '[.[] | .dataplane.state]')
	sleep 1
	check panic_status_why eval 'cctl -j status | jq -e ".health.panic_why | test(\"of 6 probed cells failing\")"'
	check panic_status_text eval 'cctl status | grep -q "^HEALTH PANIC:"'
	check panic_log_loud grep -q "health: PANIC: .*FROZEN" "$GD_LOG"
	if [ "$(cctl -j cell list | jq -c '[.[] | .dataplane.state]')" = "$frozen" ]; then
		pass panic_overlay_frozen
	else
		fail panic_overlay_frozen "the data plane changed during the panic"
	fi
	check panic_health_tracks eval 'cctl -j cell list | jq -e "[.[] | select(.health.state == \"down\")] | length == 4"'
	check panic_most_cells_kept eval 'cctl -j cell list | jq -e "[.[] | select(.dataplane.state == \"active\")] | length >= 3"'
	for c in use1-a use1-b euw1-a euw1-b; do sick "$c"; done
	check panic_ends eval 'wait_for 5 eval "cctl -j status | jq -e \".health.panic == false\" >/dev/null"'
	check panic_over_logged grep -q "health: panic over" "$GD_LOG"
	wait_for 5 all_up || e2e_fail_reason "not every cell up after the panic"
}

# an HTTP probe expecting 204 from cells answering 200: cells go down with the status in the error
# (every cell fails: a panic, so the overlay stays; the error is what is checked)
test_http_wrong_status() {
	local f=$LAB_DIR/http.yaml
	sed 's/^health: .*/health: {probe: http, interval_ms: 200, timeout_ms: 100, rise: 2, fall: 2, http_status: 204}/' "$HCFG" >"$f"
	cctl config apply "$f" >/dev/null || e2e_fail_reason "config apply failed" || return
	wait_for 5 eval 'cctl -j cell list | jq -e "all(.[]; .health.state == \"down\" and (.health.last_error | test(\"http status 200, expected 204\")))" >/dev/null' ||
		{ cctl -j cell list | jq -c '.[].health' >&2; e2e_fail_reason "cells not down with the status"; return 1; }
	sed 's/^health: .*/health: {probe: http, interval_ms: 200, timeout_ms: 100, rise: 2, fall: 2, http_status: 200}/' "$HCFG" >"$f"
	cctl config apply "$f" >/dev/null || e2e_fail_reason "config apply failed" || return
	wait_for 5 all_up || e2e_fail_reason "cells not up on a good http status"
}

test_probe_off_clears() {
	local f=$LAB_DIR/off.yaml
	sed 's/^health: .*/health: {probe: off}/' "$HCFG" >"$f"
	cctl config apply "$f" >/dev/null || e2e_fail_reason "config apply failed" || return
	cctl -j status | jq -e '.health.probe == "off" and .health.unknown == 6' >/dev/null ||
		e2e_fail_reason "status does not say probes off"
}

E2E_TESTS=(
	test_every_cell_becomes_up
	test_status_shows_health
	test_sick_cell_goes_down
	test_other_cells_connections_kept
	test_well_cell_comes_back_up
	test_panic_freezes
	test_http_wrong_status
	test_probe_off_clears
)
e2e_run "$@"
