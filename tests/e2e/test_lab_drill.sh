#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC2015,SC2016 # "A && B || fail" is meant; jq programs are single-quoted
# test_lab_drill.sh - the region-loss drill on the lab (3 regions x 2 cells, real traffic): every
# cell of eu-west fails at once (links down, servers sick); health notices, cellgated evacuates
# the region by itself within 3 probe intervals, connections on healthy cells are not moved or
# reset, new flows go to the nearest survivors; then the region returns and ramps back in, step
# by step, never more than a ramp step at a time
#
# One lab and daemon for all tests (setup); the tests run in order on its state (lib.sh, e2e_run).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

INTERVAL_MS=500

setup() {
	e2e_init drill
	lab_up || return
	CFG=$LAB_DIR/drill.yaml
	# c1's traffic critical (protected), c2's sheddable; 4 new flows/s a cell, so the survivors
	# of eu-west are short of capacity
	{
		sed 's/capacity: 1000/capacity: 4/' "$LAB_CONFIG"
		echo "class_rules: [{prefix: 198.18.11.0/24, class: critical}, {prefix: 198.18.12.0/24, class: sheddable}]"
		echo "health: {probe: tcp, interval_ms: $INTERVAL_MS, timeout_ms: 100, jitter: 0.1, rise: 2, fall: 2, panic_threshold: 0.5}"
		echo "failover: {wait: 0, dwell: 1, ramp: [0.25, 0.5, 1], max_step: 0.5, auto_evacuate: 1}"
	} >"$CFG"
	gd_start "$CFG" || fail cellgated_start "cellgated did not become ready"
}

region_field() { cctl -j region show "$1" | jq -r ".$2"; }
shares() { cctl -j service show "$1" | jq -c '.table.shares'; }
all_up() { cctl -j cell list | jq -e 'all(.[]; .health.state == "up")' >/dev/null; }
sick() { kill -USR2 "$(cat "$LAB_DIR/pids/cellsrv-$1.pid")"; }
ms() { echo $(($(date +%s%N) / 1000000)); }

# cut CELL up|down: the cell's link, on the router's side (its connected route comes back with
# it; the cell keeps its own routes)
cut() { ip -n "$LAB_NS_RTR" link set "to-$1" "$2"; }

test_all_cells_up_first() {
	wait_for 20 all_up || e2e_fail_reason "not every cell up within 20 s"
}

# the prober is cut off (every cell fails its probes at once): panic, nothing is evacuated
# whatever auto_evacuate says, status says why; when the probes answer again, all is as before
test_panic_evacuates_nothing() {
	local c
	for c in use1-a use1-b euw1-a euw1-b aps1-a aps1-b; do sick "$c"; done
	wait_for 10 eval 'cctl -j status | jq -e ".health.panic == true" >/dev/null' ||
		e2e_fail_reason "no panic with every probe failing" || return
	sleep $((3 * INTERVAL_MS / 1000 + 1))
	cctl -j region list | jq -e 'all(.[]; .state == "active")' >/dev/null ||
		e2e_fail_reason "a region was evacuated in panic: $(cctl -j region list | jq -c '[.[] | {name, state}]')" || return
	cctl -j status | jq -e '.health.panic_why | test("probed cells failing")' >/dev/null &&
		cctl status | grep -q 'PANIC' || e2e_fail_reason "status does not say why" || return
	for c in use1-a use1-b euw1-a euw1-b aps1-a aps1-b; do sick "$c"; done
	wait_for 20 all_up || e2e_fail_reason "the cells did not come back up" || return
	wait_for 10 eval 'cctl -j status | jq -e ".health.panic == false" >/dev/null' || e2e_fail_reason "panic did not end" || return
	# coming out of the panic, cells rise one by one: no region is evacuated on the way
	sleep 1
	cctl -j region list | jq -e 'all(.[]; .state == "active")' >/dev/null ||
		e2e_fail_reason "evacuated after the panic: $(cctl -j region list | jq -c '[.[] | {name, state}]')"
}

# eu-west dies while connections run on every cell: evacuated within 3 probe intervals, by
# cellgated alone; the connections on the other regions' cells finish untouched; new flows land
# on the survivors, us-east (the nearest) taking eu-west's share, ap-south keeping its own.
#
# Class 0 (c1's traffic, class critical) succeeds >= 99.9% throughout, in this request model: a
# steady stream of CLASS0_N class-0 requests, one every CLASS0_GAP_MS, each on its own new TCP
# connection (as HTTP/1.0, or a client that reconnects, would make), no retry by the
# application, only the kernel's own SYN retransmissions (1 s, then 3 s after the first SYN); a
# request fails unless answered within CLASS0_TIMEOUT_MS of its connect(). The stream runs from
# 3 s before the links are cut until about 9 s after (the evacuation takes about 1 s). Requests
# on long-lived connections already pinned to eu-west's cells when they die cannot be saved by
# any L4 balancer (their server is gone): they are not in the figure, and are counted apart as
# "lost with their cell".
CLASS0_N=1200 CLASS0_GAP_MS=10 CLASS0_TIMEOUT_MS=5000
test_region_loss_is_evacuated() {
	local long=$LAB_DIR/long.out fresh=$LAB_DIR/fresh.out stream=$LAB_DIR/class0.out before after
	local t0 t1 bad on_eu churn spid ok n ppm lost moves0 moves
	before=$(shares web)
	moves0=$(cctl -j stats | jq -c '.cells | map_values(.moved)')
	# sheddable churn from c2, bounded: the load the plan moves
	(
		for ((r = 0; r < 40; r++)); do
			client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 6 --requests 1 >/dev/null 2>&1
			sleep 0.2
		done
	) &
	churn=$!
	client_bg "$long" "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 40 --requests 40 \
		--interval-ms 100
	# the class-0 stream (the request model above); bounded in count and time
	timeout 60 ip netns exec "$LAB_NS_C1" "$LAB_LABCLIENT" tcp "$LAB_VIP4" "$LAB_TCP_PORT" \
		--stream --conns "$CLASS0_N" --interval-ms "$CLASS0_GAP_MS" \
		--timeout-ms "$CLASS0_TIMEOUT_MS" --deadline-ms 45000 >"$stream" 2>&1 &
	spid=$!
	sleep 3
	t0=$(ms)
	for c in euw1-a euw1-b; do
		cut "$c" down
		sick "$c"
	done
	wait_for 10 eval '[ "$(region_field eu-west state)" = evacuated ]'
	t1=$(ms)
	[ "$(region_field eu-west state)" = evacuated ] ||
		{ show "$GD_LOG" 10; e2e_fail_reason "eu-west not evacuated 10 s after it died"; return; }
	pass "failure_to_evacuated_$((t1 - t0))ms"
	# 3 probe intervals, plus the saga's commits and this loop's polling (a sanitizer build is
	# slower): the figure itself is make bench's failure_to_evacuated_ms
	[ $((t1 - t0)) -le $((3 * INTERVAL_MS + 500)) ] ||
		e2e_fail_reason "$((t1 - t0)) ms is more than 3 probe intervals ($((3 * INTERVAL_MS)) ms, +500 ms of commits and polling)" || return
	grep -q 'region evacuate eu-west (cellgated: health: 2 of 2 cells' "$GD_LOG" ||
		e2e_fail_reason "the log does not say health evacuated it" || return
	after=$(shares web)
	jq -e -n --argjson b "$before" --argjson a "$after" \
		'($a | has("euw1-a") or has("euw1-b") | not) and ($a["use1-a"] > $b["use1-a"]) and
		 ($a["use1-b"] > $b["use1-b"])' >/dev/null ||
		e2e_fail_reason "shares before $before, after $after" || return
	# the survivors short of capacity shed the lowest class first, never the protected one
	cctl shed show >"$LAB_DIR/shed.txt"
	grep -q 'cellgated: pre-shed for eu-west' "$LAB_DIR/shed.txt" &&
		! awk '/cellgated: pre-shed for / && $2 != "sheddable"' "$LAB_DIR/shed.txt" | grep -q . ||
		{ show "$LAB_DIR/shed.txt"; e2e_fail_reason "pre-shed levels are not sheddable-only"; return; }
	pass "preshed_sheddable_only_$(grep -c 'cellgated: pre-shed for ' "$LAB_DIR/shed.txt")_cells"
	wait "$CLIENT_PID"
	wait "$churn"
	wait "$spid"
	# every connection on a healthy cell ran to the end, on its cell; those pinned to eu-west
	# lose their requests with their cell (no L4 balancer can save them): counted, not judged
	bad=$(grep '^conn=' "$long" | grep -v 'cells=euw1-' | grep -cv 'ok=40 fail=0 reset=0')
	[ "$bad" = 0 ] || { show "$long" 8; e2e_fail_reason "$bad connections on healthy cells were hurt"; return; }
	lost=$(grep '^conn=' "$long" | grep 'cells=euw1-' | sed -n 's/.* fail=\([0-9]*\).*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }')
	pass "lost_with_their_cell_${lost}_requests_$(grep '^conn=' "$long" | grep -c 'cells=euw1-')_conns"
	# class 0 throughout the failure: >= 99.9% of the stream's requests answered in time
	ok=$(total "$stream" ok) n=$(total "$stream" fail)
	ok=${ok:-0} n=$((${ok:-0} + ${n:-0}))
	[ "$n" -ge 1000 ] || { show "$stream" 5; e2e_fail_reason "class-0 stream: $n requests, not >= 1000"; return; }
	ppm=$((ok * 1000000 / n))
	pass "class0_ok_${ppm}ppm"
	[ "$ppm" -ge 999000 ] ||
		{ grep -v 'fail=0' "$stream" | head -n 8 | sed 's/^/    /'
		  e2e_fail_reason "class 0: $ok of $n requests ok ($ppm ppm), under 99.9%"; return; }
	# the data plane's own count of flows moved off cells (cell_moves): some off each of
	# eu-west's cells (their flows, SYN retransmissions included, picked again), none off a
	# healthy cell
	moves=$(cctl -j stats | jq -c --argjson b "$moves0" '.cells | with_entries(.value = .value.moved - $b[.key])')
	jq -e 'to_entries | all(if .key | startswith("euw1-") then .value > 0 else .value == 0 end)' \
		<<<"$moves" >/dev/null || e2e_fail_reason "flows moved off cells: $moves" || return
	pass "moved_off_eu_west_$(jq '[to_entries[] | select(.key | startswith("euw1-")) | .value] | add' <<<"$moves")_off_healthy_0"
	cctl -j stats | jq -e '.moved == ([.cells[].moved] | add)' >/dev/null ||
		e2e_fail_reason "stats' moved is not the sum of the cells'" || return
	# new critical flows all succeed on the survivors (the sheddable ones are pre-shed)
	client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 60 --requests 1 >"$fresh"
	on_eu=$(conns "$fresh" | awk '$2 ~ /^euw1-/' | wc -l)
	[ "$on_eu" -eq 0 ] && [ "$(total "$fresh" ok)" = 60 ] ||
		{ show "$fresh" 5; e2e_fail_reason "$on_eu new flows on eu-west, ok=$(total "$fresh" ok) of 60"; return; }
	cctl -j stats | jq -e '.classes.sheddable.shed > 0 and .classes.critical.shed == 0' >/dev/null ||
		e2e_fail_reason "shed by class: $(cctl -j stats | jq -c '.classes | map_values(.shed)')"
}

# the region comes back (links up, servers well): its cells are up again, the operator restores
# it, and the ramp is seen step by step: 0.25, 0.5, 1 of its share, never a jump
test_region_returns_and_ramps() {
	local seen="" s i
	for c in euw1-a euw1-b; do
		cut "$c" up
		sick "$c" # toggles back to well
	done
	wait_for 20 all_up || e2e_fail_reason "eu-west's cells not up again within 20 s" || return
	[ "$(region_field eu-west state)" = evacuated ] || e2e_fail_reason "eu-west came back by itself" || return
	cctl region restore eu-west --reason "drill: region back" >/dev/null || e2e_fail_reason "restore refused" || return
	for ((i = 0; i < 200; i++)); do
		s=$(region_field eu-west share)
		case " $seen " in *" $s "*) ;; *) seen="$seen $s" ;; esac
		[ "$(region_field eu-west state)" = active ] && break
		sleep 0.1
	done
	[ "$(region_field eu-west state)" = active ] || e2e_fail_reason "still $(region_field eu-west state) after 20 s" || return
	# the largest rise seen against the ramp's largest step (0.5: 0.5 -> 1), in ppm of the share
	pass "restore_ramp_step_error_$(awk -v s="$seen" 'BEGIN { n = split(s, a, " "); p = 0; m = 0
		for (i = 1; i <= n; i++) { d = a[i] - p; if (d > m) m = d; p = a[i] }
		e = (m - 0.5) * 1000000; printf "%d", (e > 0 ? e : 0) }')ppm"
	[ "$seen" = " 0.25 0.5 1" ] || e2e_fail_reason "shares seen:$seen (want 0.25 0.5 1)" || return
	shares web | jq -e 'has("euw1-a") and has("euw1-b")' >/dev/null || e2e_fail_reason "eu-west is not in the tables"
}

E2E_TESTS=(
	test_all_cells_up_first
	test_panic_evacuates_nothing
	test_region_loss_is_evacuated
	test_region_returns_and_ramps
)
e2e_run "$@"
