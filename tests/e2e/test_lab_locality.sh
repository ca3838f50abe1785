#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC2015,SC2016 # "A && B || fail" is meant; jq programs are single-quoted
# test_lab_locality.sh - spill before shed on real traffic: the lab's web service is local-first
# (this LB is in us-east), dns and web6 stay spread. While the us-east cells are idle every new
# web flow lands on them; when their load reports say other LBs keep them busy past their target,
# the overflow spills to the nearest region (eu-west, cost 10), never to ap-south (cost 20) while
# eu-west has room; when the reports fall, the spill is withdrawn at its bounded rate, in a few
# logged steps, and the new flows are local again. Established flows never move (the connection
# table); a spread service keeps every region.
#
# One lab and daemon for all tests (setup); the tests run in order on its state (lib.sh, e2e_run).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=7071	# backpressure.report_port: the cells' reports
PERIOD_MS=500	# locality.period_ms
LOADREPORT=$build_dir/loadreport
SEQ=1 # the reports' sequence numbers go on rising across the tests' batches

web_json() { cctl -j service list | jq -c '.[] | select(.name == "web")'; }
loc() { web_json | jq -r ".locality | $1"; }
cell_id() { cctl -j cell list | jq -r --arg c "$1" '.[] | select(.name == $c) | .id'; }
# the cells of web's live table with slots, sorted, space-separated
table_cells() {
	cctl -j service list | jq -r --arg s "${1:-web}" '.[] | select(.name == $s) | .table.shares
		| to_entries | map(select(.value > 0) | .key) | sort | join(" ")'
}

# background new flows to web from c1: short connections one batch after the other until $STOP
# exists (bounded: 90 s) so the LB measures an offered load
load_start() {
	STOP=$LAB_DIR/load.stop
	rm -f "$STOP"
	in_ns "$LAB_NS_C1" bash -c 'end=$((SECONDS + 90))
		while [ ! -e "$1" ] && [ $SECONDS -lt $end ]; do
			"$2" tcp "$3" "$4" --conns 20 --requests 1 --timeout-ms 2000 \
				--connect-timeout-ms 300 --deadline-ms 4000 >/dev/null 2>&1
			sleep 0.2
		done' load "$STOP" "$LAB_LABCLIENT" "$LAB_VIP4" "$LAB_TCP_PORT" &
	LOAD_PID=$!
}
load_stop() {
	[ -n "${LOAD_PID:-}" ] || return 0
	touch "$STOP"
	wait "$LOAD_PID" 2>/dev/null
	LOAD_PID=
}

# reports UTIL (ppm) from the gateways of CELLS (default both us-east cells), every 100 ms for
# COUNT, in the background
REPORT_PIDS=()
reports_start() {
	local util=$1 count=${2:-150} c id u ns_var addr_var
	for c in ${3:-use1-a use1-b}; do
		id=$(cell_id "$c")
		u=${c^^}
		u=${u//-/_}
		ns_var=LAB_NS_$u addr_var=LAB_${u}_V4
		in_ns "${!ns_var}" "$LOADREPORT" send --to "$LAB_LB_V4:$PORT" --cell "$id" \
			--from "${!addr_var}" --seq "$SEQ" --count "$count" --interval-ms 100 \
			--util "$util" >/dev/null 2>&1 &
		REPORT_PIDS+=($!)
	done
	SEQ=$((SEQ + count + 1))
}
reports_stop() {
	local p
	for p in "${REPORT_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	REPORT_PIDS=()
}

# "OUT ALL": the bytes forwarded so far to cells out of this LB's region (us-east), and to all
# cells, from one reading
bytes_read() {
	cctl -j cell list | jq -r '"\([.[] | select(.region != "us-east") | .bytes] | add) \([.[] | .bytes] | add)"'
}
# a batch of N fresh connections to VIP (default web's), each one's cell: "sport cell" lines in
# OUT; XSHARE gets the share (percent) of the bytes forwarded meanwhile that crossed a region
batch() {
	local out=$1 n=${2:-30} vip=${3:-$LAB_VIP4} o0 a0 o1 a1
	read -r o0 a0 < <(bytes_read)
	client "$LAB_NS_C2" tcp "$vip" "$LAB_TCP_PORT" --conns "$n" --requests 1 >"$out" 2>&1
	read -r o1 a1 < <(bytes_read)
	XSHARE=$(((o1 - o0) * 100 / (a1 - a0 > 0 ? a1 - a0 : 1)))
}
# the distinct regions' cell prefixes of a batch's connections, sorted: "euw1 use1"
batch_regions() { conns "$1" | awk '{ sub(/-[ab]$/, "", $2); print $2 }' | sort -u | xargs; }

setup() {
	e2e_init locality
	trap 'load_stop; reports_stop; e2e_cleanup' EXIT
	lab_up || return
	CFG=$LAB_DIR/loc.yaml
	{
		sed '/^  - name: web$/a\    locality: local-first' "$LAB_CONFIG"
		# sheddable is not worth carrying to ap-south (cost 20), eu-west (10) is fine
		echo "classes: [{name: critical, id: 0, protected: true}, {name: high, id: 1}, {name: normal, id: 2}, {name: sheddable, id: 3, max_spill_cost: 15}]"
		echo "class_rules: [{prefix: ${LAB_C1_V4%.*}.0/24, class: critical}, {prefix: ${LAB_C2_V4%.*}.0/24, class: sheddable}]"
		echo "locality: {period_ms: $PERIOD_MS, rise: 0.5, withdraw: 0.2, step: 0.05}"
		# the reports are taken (mode manual: the shedder only says what it would do)
		echo "backpressure: {mode: manual, report_port: $PORT, period_ms: 500, stale_ms: 3000}"
	} >"$CFG"
	grep -q 'locality: local-first' "$CFG" || fail config "web is not local-first in $CFG" || return
	gd_start "$CFG" || fail cellgated_start "cellgated did not become ready" || return
	load_start
}

# idle local cells: once the load is measured, web's table holds the us-east cells only and
# every new flow lands there; web6 (spread) keeps all six
test_idle_local_cells_take_every_new_flow() {
	wait_for 15 eval '[ "$(loc .active)" = true ] && [ "$(table_cells)" = "use1-a use1-b" ]' ||
		e2e_fail_reason "web's table: '$(table_cells)', locality $(web_json | jq -c .locality)" || return
	[ "$(table_cells web6)" = "aps1-a aps1-b euw1-a euw1-b use1-a use1-b" ] ||
		e2e_fail_reason "web6 (spread) table: '$(table_cells web6)'" || return
	batch "$LAB_DIR/idle6.out" 30 "$LAB_VIP6"
	local x6=$XSHARE
	batch "$LAB_DIR/idle.out" 30
	[ "$(conns "$LAB_DIR/idle.out" | wc -l)" -ge 25 ] && [ "$(batch_regions "$LAB_DIR/idle.out")" = use1 ] ||
		{ show "$LAB_DIR/idle.out" 8; e2e_fail_reason "new flows landed in: '$(batch_regions "$LAB_DIR/idle.out")'"; } ||
		return
	# the bytes that cross a region: none for local-first web, most for spread web6
	[ "$XSHARE" -le 1 ] && [ "$x6" -ge 20 ] ||
		e2e_fail_reason "cross-region bytes: web ${XSHARE}%, web6 ${x6}%" || return
	echo "    cross-region share of the bytes: web (local-first) ${XSHARE}%, web6 (spread) ${x6}%"
	grep -q "locality: service web: start: spill 0 -> 0" "$GD_LOG" ||
		{ show "$GD_LOG" 10; e2e_fail_reason "no start line in the log"; } || return
	cctl service show web >"$LAB_DIR/show.out" 2>&1
	grep -Eq '^locality: +local-first, 0\.0% of new flows spilled' "$LAB_DIR/show.out" &&
		grep -Eq '^ +use1-a +[0-9.]+% of new flows, local$' "$LAB_DIR/show.out" ||
		{ show "$LAB_DIR/show.out"; e2e_fail_reason "service show lacks the locality lines"; }
}

# the us-east cells report 1.5x their capacity (other LBs' flows): web spills to eu-west, all of
# its new flows at most a few periods later, none to ap-south; the rise was logged with its inputs
test_busy_local_cells_spill_to_the_nearest_region() {
	local t0 t1
	t0=$(date +%s%N)
	reports_start 1500000 150
	wait_for 15 eval '[ "$(table_cells)" = "euw1-a euw1-b" ]' ||
		e2e_fail_reason "web's table: '$(table_cells)', locality $(web_json | jq -c .locality)" || return
	t1=$(date +%s%N)
	batch "$LAB_DIR/busy.out" 30
	[ "$(conns "$LAB_DIR/busy.out" | wc -l)" -ge 25 ] && [ "$(batch_regions "$LAB_DIR/busy.out")" = euw1 ] ||
		{ show "$LAB_DIR/busy.out" 8; e2e_fail_reason "new flows landed in: '$(batch_regions "$LAB_DIR/busy.out")'"; } ||
		return
	[ "$XSHARE" -ge 95 ] || e2e_fail_reason "cross-region bytes while spilled: ${XSHARE}%" || return
	echo "    cross-region share of web's bytes while spilled: ${XSHARE}%"
	grep -Eq "locality: service web: rise: spill .* local 'us-east' takes 0/s" "$GD_LOG" ||
		{ show "$GD_LOG" 10; e2e_fail_reason "no rise line with its inputs in the log"; } || return
	echo "    spilled all of web's new flows to eu-west in $(((t1 - t0) / 1000000)) ms"
	grep 'locality: service web: rise' "$GD_LOG" | sed 's/^/    /' | cut -c1-200
}

# the reports fall to 0.1x: the spill is withdrawn at most 20% a period, so in several logged
# steps, not at once; then every new flow is local again
test_spill_withdrawn_slowly_when_the_load_falls() {
	local n0 n1
	n0=$(grep -c 'locality: service web: withdraw' "$GD_LOG")
	reports_stop
	reports_start 100000 150
	wait_for 20 eval '[ "$(table_cells)" = "use1-a use1-b" ]' ||
		e2e_fail_reason "web's table: '$(table_cells)', locality $(web_json | jq -c .locality)" || return
	n1=$(grep -c 'locality: service web: withdraw' "$GD_LOG")
	[ $((n1 - n0)) -ge 3 ] ||
		{ show "$GD_LOG" 12; e2e_fail_reason "withdrawn in $((n1 - n0)) step(s), want 3 or more"; } || return
	batch "$LAB_DIR/back.out" 30
	[ "$(conns "$LAB_DIR/back.out" | wc -l)" -ge 25 ] && [ "$(batch_regions "$LAB_DIR/back.out")" = use1 ] ||
		{ show "$LAB_DIR/back.out" 8; e2e_fail_reason "new flows landed in: '$(batch_regions "$LAB_DIR/back.out")'"; } ||
		return
	[ "$XSHARE" -le 5 ] || e2e_fail_reason "cross-region bytes after the withdrawal: ${XSHARE}%" || return
	echo "    cross-region share of web's bytes after the withdrawal: ${XSHARE}%"
	echo "    withdrawn in $((n1 - n0)) logged steps"
}

# a flow established while spilled keeps its cell through the withdrawal (the connection table)
test_established_flow_keeps_its_cell() {
	local c0
	reports_stop
	reports_start 1500000 200
	wait_for 15 eval '[ "$(table_cells)" = "euw1-a euw1-b" ]' ||
		e2e_fail_reason "web did not spill again: '$(table_cells)'" || return
	client_bg "$LAB_DIR/long.out" "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 4 \
		--requests 40 --interval-ms 200
	sleep 1
	reports_stop
	reports_start 100000 150
	wait "$CLIENT_PID"
	c0=$(conns "$LAB_DIR/long.out" | awk '{print $2}' | sort -u | xargs)
	[ "$(total "$LAB_DIR/long.out" ok)" = 160 ] && [ "$(total "$LAB_DIR/long.out" moved)" = 0 ] &&
		[ "$(total "$LAB_DIR/long.out" reset)" = 0 ] ||
		{ show "$LAB_DIR/long.out" 6; e2e_fail_reason "long flows: ok=$(total "$LAB_DIR/long.out" ok)/160 moved=$(total "$LAB_DIR/long.out" moved) reset=$(total "$LAB_DIR/long.out" reset)"; } ||
		return
	[[ $c0 != *use1* ]] || e2e_fail_reason "flows established while spilled were on: $c0"
}

# sheddable may not be carried to ap-south: its cells refuse the class's new flows (by locality,
# shown by shed show) and nothing else; with us-east and eu-west busy the overflow goes there,
# and critical requests still succeed while sheddable ones are refused
test_class_not_worth_carrying_is_shed() {
	local j s0 s1
	# the shed map is per cell: the class is refused on a cell only when every service that lists
	# it is local-first (a spread service carries its flows anywhere): none yet, web6 and dns spread
	cctl -j shed show | jq -e '[.levels[] | select(.by == "locality")] == []' >/dev/null ||
		e2e_fail_reason "locality levels while spread services list the cells" || return
	sed 's/^    locality: local-first$//; /^  - name: [a-z0-9]*$/a\    locality: local-first' "$CFG" >"$LAB_DIR/all.yaml"
	cctl config apply "$LAB_DIR/all.yaml" >"$LAB_DIR/apply.out" 2>&1 ||
		{ show "$LAB_DIR/apply.out"; e2e_fail_reason "config apply (every service local-first) failed"; } || return
	j=$(cctl -j shed show)
	echo "$j" | jq -e '[.levels[] | select(.source == "controller")] as $l
		| ($l | map(select(.by == "locality")) | map("\(.cell)/\(.class)") | sort) == ["aps1-a/sheddable", "aps1-b/sheddable"]
		and ($l | map(select(.by == "locality" and (.level | tonumber) == 1)) | length) == 2' >/dev/null ||
		e2e_fail_reason "levels: $(echo "$j" | jq -c '[.levels[] | select(.source == "controller")]')" || return
	cctl shed show >"$LAB_DIR/shed.out" 2>&1
	grep -Eq "aps1-a .*sheddable .*locality .*region ap-south costs 20, over the class's max_spill_cost 15" "$LAB_DIR/shed.out" ||
		{ show "$LAB_DIR/shed.out"; e2e_fail_reason "shed show does not say why"; } || return
	reports_stop
	reports_start 1500000 200 "use1-a use1-b euw1-a euw1-b"
	wait_for 15 eval '[ "$(table_cells)" = "aps1-a aps1-b" ]' ||
		e2e_fail_reason "web did not spill to ap-south: '$(table_cells)'" || return
	s0=$(cctl -j cell list | jq '[.[] | select(.region == "ap-south") | .shed] | add')
	client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 20 --requests 1 >"$LAB_DIR/crit.out" 2>&1
	client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 20 --requests 1 \
		--connect-timeout-ms 300 >"$LAB_DIR/shed.out" 2>&1
	s1=$(cctl -j cell list | jq '[.[] | select(.region == "ap-south") | .shed] | add')
	reports_stop
	[ "$(total "$LAB_DIR/crit.out" ok)" = 20 ] ||
		{ show "$LAB_DIR/crit.out" 6; e2e_fail_reason "critical to ap-south: ok=$(total "$LAB_DIR/crit.out" ok)/20"; } || return
	[ "$(total "$LAB_DIR/shed.out" ok)" = 0 ] && [ $((s1 - s0)) -ge 20 ] ||
		{ show "$LAB_DIR/shed.out" 6; e2e_fail_reason "sheddable to ap-south: ok=$(total "$LAB_DIR/shed.out" ok)/20, shed +$((s1 - s0))"; } ||
		return
	echo "    spilled to ap-south: critical 20/20 ok, sheddable 0/20 (shed +$((s1 - s0)) new flows)"
}

E2E_TESTS=(
	test_idle_local_cells_take_every_new_flow
	test_busy_local_cells_spill_to_the_nearest_region
	test_spill_withdrawn_slowly_when_the_load_falls
	test_established_flow_keeps_its_cell
	test_class_not_worth_carrying_is_shed
)
e2e_run "$@"
