#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC2015,SC2016 # "A && B || fail" is meant; jq programs are single-quoted
# test_lab_backpressure.sh - the backpressure loop on real traffic: every cell's cellsrv reports
# its real load to cellgated; one cell (use1-a) has a small capacity and is pushed past it by
# sheddable traffic: the controller sheds the sheddable class on that cell only, by itself,
# critical requests keep succeeding, and the level is released by itself once the load stops;
# spoofed and replayed reports change nothing; a cell that stops reporting keeps its levels; the
# LB's own view (new flows, packets, SYN retries per cell, interface rx) is shown and sane
#
# One lab and daemon for all tests (setup); the tests run in order on its state (lib.sh, e2e_run).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

PORT=7070	 # backpressure.report_port
HOT=use1-a	 # the cell with a capacity: 2 workers, 20 ms a request (100 requests/s)
PERIOD_MS=500	 # backpressure.period_ms
STALE_MS=2000	 # backpressure.stale_ms
LOADREPORT=$build_dir/loadreport

ms() { echo $(($(date +%s%N) / 1000000)); }
shed_json() { cctl -j shed show; }
cell_id() { cctl -j cell list | jq -r --arg c "$1" '.[] | select(.name == $c) | .id'; }
sig() { shed_json | jq -r --arg c "$1" ".controller.cells[] | select(.cell == \$c) | $2"; }
# the controller's level of CELL's sheddable class, 0 if none
hot_level() {
	shed_json | jq -r --arg c "${1:-$HOT}" '[.levels[] | select(.cell == $c and .class == "sheddable"
		and .source == "controller") | .level | tonumber] | (.[0] // 0)'
}
engaged() { [ "$(hot_level)" != 0 ]; }
released() { shed_json | jq -e '[.levels[] | select(.source == "controller")] == []' >/dev/null; }

# the sheddable load: short connections from c2, one run after the other, until $STOP exists
# (bounded: 60 s, so the cleanup's wait never hangs)
load_start() {
	STOP=$LAB_DIR/load.stop
	rm -f "$STOP"
	in_ns "$LAB_NS_C2" bash -c 'end=$((SECONDS + 60))
		while [ ! -e "$1" ] && [ $SECONDS -lt $end ]; do
			"$2" tcp "$3" "$4" --conns 80 --requests 2 --interval-ms 20 --timeout-ms 3000 \
				--connect-timeout-ms 300 --deadline-ms 6000 >/dev/null 2>&1
		done' load "$STOP" "$LAB_LABCLIENT" "$LAB_VIP4" "$LAB_TCP_PORT" &
	LOAD_PID=$!
}
load_stop() {
	[ -n "${LOAD_PID:-}" ] || return 0
	touch "$STOP"
	wait "$LOAD_PID" 2>/dev/null
	LOAD_PID=
}

# reports of CELL no longer reach the LB (or again): a blackhole route in the cell's namespace
reports_cut() {
	local u=${HOT^^}
	u=${u//-/_}
	local ns_var=LAB_NS_$u
	ip -n "${!ns_var}" route "$1" blackhole "$LAB_LB_V4/32"
}

setup() {
	e2e_init backpressure
	trap 'load_stop; e2e_cleanup' EXIT
	lab_up || return
	CFG=$LAB_DIR/bp.yaml
	{
		cat "$LAB_CONFIG"
		echo "class_rules: [{prefix: ${LAB_C1_V4%.*}.0/24, class: critical}, {prefix: ${LAB_C2_V4%.*}.0/24, class: sheddable}]"
		echo "backpressure: {report_port: $PORT, period_ms: $PERIOD_MS, stale_ms: $STALE_MS, dwell_ms: 5000, release_step: 0.5}"
	} >"$CFG"
	gd_start "$CFG" || fail cellgated_start "cellgated did not become ready" || return
	local c id u extra
	for c in $LAB_CELLS; do
		id=$(cell_id "$c")
		u=${c^^}
		u=LAB_${u//-/_}_V4
		extra=()
		[ "$c" = "$HOT" ] && extra=(--service-ms 20 --workers 2)
		bash "$top/scripts/lab.sh" cellsrv "$c" "${extra[@]}" --report "$LAB_LB_V4:$PORT" \
			--report-cell "$id" --report-from "${!u}" --report-ms 100 >>"$LAB_DIR/cellsrv.log" 2>&1 ||
			{ show "$LAB_DIR/cellsrv.log"; fail cellsrv_restart "cellsrv $c did not restart"; return 1; }
	done
}

# every cell's reports come in, none stale, no level: the loop is closed and idle
test_reports_accepted_from_every_cell() {
	wait_for 10 eval 'shed_json | jq -e "[.controller.cells[] | select(.accepted > 0 and .stale == false)] | length == 6" >/dev/null' ||
		e2e_fail_reason "not every cell reports: $(shed_json | jq -c '[.controller.cells[] | {cell, accepted, stale, last_refused}]')" || return
	released || e2e_fail_reason "levels without load: $(shed_json | jq -c .levels)" || return
	cctl shed show --signals >"$LAB_DIR/signals.out" 2>&1
	grep -Eq "^$HOT +auto +" "$LAB_DIR/signals.out" ||
		{ show "$LAB_DIR/signals.out"; e2e_fail_reason "shed show --signals has no row for $HOT"; }
}

# the LB's own view: every cell and interface has its smoothed rates, none negative, in text and
# JSON; the interfaces' receive rate covers what the cells are sent
test_lb_view_signals_present_and_sane() {
	local j
	wait_for 10 eval 'shed_json | jq -e "[.controller.cells[].lb | .new_flows, .packets, .syn_retries] | all(type == \"number\")" >/dev/null' ||
		e2e_fail_reason "no rates in the LB's view: $(shed_json | jq -c '[.controller.cells[] | {cell, lb}]')" || return
	j=$(shed_json)
	echo "$j" | jq -e '([.controller.cells[].lb | .new_flows, .packets, .syn_retries] | all(. >= 0))
		and (.controller.interfaces | length) >= 1
		and (.controller.interfaces | all(.error == "" and (.rx_packets | type) == "number"
			and .rx_packets >= 0 and .rx_drops >= 0))' >/dev/null ||
		e2e_fail_reason "the view is not sane: $(echo "$j" | jq -c '{c: [.controller.cells[] | {cell, lb}], i: .controller.interfaces}')" || return
	cctl shed show --signals >"$LAB_DIR/signals.out" 2>&1
	grep -Eq "^CELL +MODE .* NEW/S +PKTS/S +RETRIES/S +RETRY$" "$LAB_DIR/signals.out" &&
		grep -Eq "^$HOT +auto +.* [0-9]+\.[0-9] +[0-9]+\.[0-9] +[0-9]+\.[0-9] +([0-9.]+|-)$" "$LAB_DIR/signals.out" &&
		grep -Eq "^INTERFACE +RX PKTS/S +RX DROPS/S" "$LAB_DIR/signals.out" ||
		{ show "$LAB_DIR/signals.out"; e2e_fail_reason "shed show --signals lacks the LB's view"; } ||
		return
	sed 's/^/    /' "$LAB_DIR/signals.out"
}

# 20 reports of 5x capacity for the hot cell from c1 (not its gateway): refused as source,
# nothing changes; 20 reports from its gateway, older than the last accepted: replayed
test_spoofed_and_replayed_reports_change_nothing() {
	local id src0 rep0 src1 rep1
	id=$(cell_id "$HOT")
	src0=$(sig "$HOT" .refused.source)
	rep0=$(sig "$HOT" .refused.replayed)
	in_ns "$LAB_NS_C1" "$LOADREPORT" send --to "$LAB_LB_V4:$PORT" --cell "$id" --count 20 \
		--interval-ms 10 --util 5000000 >/dev/null 2>&1
	local u=${HOT^^}
	u=${u//-/_}
	local ns_var=LAB_NS_$u addr_var=LAB_${u}_V4
	in_ns "${!ns_var}" "$LOADREPORT" send --to "$LAB_LB_V4:$PORT" --cell "$id" --from "${!addr_var}" \
		--seq 1 --same-seq --ts-offset-ms -3000 --count 20 --interval-ms 10 --util 5000000 \
		>/dev/null 2>&1
	sleep $((3 * PERIOD_MS / 1000 + 1))
	src1=$(sig "$HOT" .refused.source)
	rep1=$(sig "$HOT" .refused.replayed)
	[ $((src1 - src0)) -eq 20 ] && pass "spoofed_report_refused (source +$((src1 - src0)))" ||
		fail spoofed_report_refused "refused as source: $src0 -> $src1, want +20"
	[ $((rep1 - rep0)) -eq 20 ] && pass "replayed_report_refused (replayed +$((rep1 - rep0)))" ||
		fail replayed_report_refused "refused as replayed: $rep0 -> $rep1, want +20"
	released && pass spoofed_and_replayed_change_no_level ||
		fail spoofed_and_replayed_change_no_level "levels: $(shed_json | jq -c .levels)"
	grep -q 'backpressure: .* report(s) refused since the last line' "$GD_LOG" &&
		[ "$(grep -c 'backpressure: .* report(s) refused' "$GD_LOG")" -le 3 ] &&
		pass refusals_logged_in_summary_lines ||
		fail refusals_logged_in_summary_lines "$(grep -c 'refused' "$GD_LOG") refusal lines"
}

# the hot cell past its capacity with sheddable traffic while critical traffic runs: the
# controller sheds use1-a's sheddable class by itself, on no other cell, never critical
test_overload_engages_by_itself() {
	local t0 t1 bad
	CRIT=$LAB_DIR/crit.out
	client_bg "$CRIT" "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 30 --requests 220 \
		--interval-ms 100
	CRIT_PID=$CLIENT_PID
	sleep 1
	t0=$(ms)
	load_start
	wait_for 20 engaged || e2e_fail_reason "no level on $HOT within 20 s: $(shed_json | jq -c '.controller.cells[] | select(.cell == "'$HOT'")')" || return
	t1=$(ms)
	ENGAGE_MS=$((t1 - t0))
	# what shows the level is read as soon as it is there (the load may fall under it)
	local snap
	snap=$(shed_json)
	cctl shed show >"$LAB_DIR/show.out" 2>&1
	jq -e --arg c "$HOT" '.levels[] | select(.cell == $c and .source == "controller") |
		.by == "controller" and (.inputs.load | tonumber) > 0 and .inputs.stale == false' \
		<<<"$snap" >/dev/null || e2e_fail_reason "the level has no inputs: $(jq -c .levels <<<"$snap")" || return
	sleep 2
	bad=$(shed_json | jq -c --arg c "$HOT" '[.levels[] | select(.source == "controller" and
		(.cell != $c or .class == "critical"))]')
	[ "$bad" = "[]" ] || e2e_fail_reason "controller levels elsewhere: $bad" || return
	grep -Eq "^$HOT +sheddable +[0-9.]+ +- +controller +.*load [0-9.]+ \(last [0-9.]+\), target 0\.8" \
		"$LAB_DIR/show.out" || { show "$LAB_DIR/show.out"; e2e_fail_reason "shed show has no controller row"; } || return
	grep -q "backpressure: $HOT cell [0-9]* class 3: 0.000 -> .* (overload: load" "$GD_LOG" ||
		e2e_fail_reason "the change is not logged with its inputs" || return
	echo "    time to engage: $ENGAGE_MS ms; $(grep "$HOT " "$LAB_DIR/show.out" | head -n 1 | tr -s ' ')"
	# under load the LB sees the hot cell's new flows and packets, and its interfaces received
	# at least what it sent the cells (XDP_TX packets are received first)
	shed_json | jq -e --arg c "$HOT" '(.controller.cells | map(select(.cell == $c))[0].lb) as $h |
		$h.new_flows > 0 and $h.packets > 0 and
		([.controller.cells[].lb.packets] | add) <= ([.controller.interfaces[].rx_packets] | add) * 1.2 + 50' \
		>/dev/null || e2e_fail_reason "the LB's view under load: $(shed_json | jq -c '{c: [.controller.cells[] | {cell, lb}], i: .controller.interfaces}')" || return
	echo "    LB view of $HOT: $(sig "$HOT" '.lb | tostring'); interfaces: $(shed_json | jq -c '[.controller.interfaces[] | {name, rx_packets, rx_drops}]')"
}

# cellgated restarts in the middle of the overload: the new one takes over the levels the maps
# hold (logged), its first reconcile rewrites no shed level (nothing was released), and the level is
# still there when it is ready
test_restart_keeps_the_levels() {
	local before after mark
	# the load still runs: the level is there, or back within a few periods
	wait_for 10 engaged || e2e_fail_reason "no level to keep" || return
	before=$(hot_level)
	mark=$(wc -l <"$GD_LOG")
	gd_stop
	gd_start "$CFG" || e2e_fail_reason "cellgated did not restart" || return
	after=$(hot_level)
	tail -n +"$((mark + 1))" "$GD_LOG" >"$LAB_DIR/restart.log"
	grep -q "backpressure: took over the shed levels of 1 cell(s) left in the maps, .*: $HOT ladder" \
		"$LAB_DIR/restart.log" || { show "$LAB_DIR/restart.log"; e2e_fail_reason "no takeover logged"; } || return
	! grep -Eq "reconcile \(adopt\): .* shed levels [1-9]" "$LAB_DIR/restart.log" ||
		{ show "$LAB_DIR/restart.log"; e2e_fail_reason "the restart's reconcile rewrote shed levels"; } || return
	[ "$after" != 0 ] || e2e_fail_reason "level $before -> $after across the restart" || return
	echo "    level $before before the restart, $after when ready"
}

# the hot cell's reports stop (and its load too): unknown is not idle, the level stays
test_stale_cell_keeps_its_levels() {
	local before after
	reports_cut add
	REPORTS_CUT=1
	# a step may still act on the last report that came in before the cut: the level is the
	# one the cell has once its load is unknown
	sleep $((STALE_MS / 1000 + 1))
	[ "$(sig "$HOT" .stale)" = true ] || e2e_fail_reason "$HOT not stale without reports" || return
	before=$(hot_level)
	[ "$before" != 0 ] || e2e_fail_reason "no level left when the reports stopped" || return
	load_stop
	sleep 4
	after=$(hot_level)
	[ "$(sig "$HOT" .stale)" = true ] || e2e_fail_reason "$HOT not stale without reports" || return
	[ "$after" != 0 ] && awk -v a="$after" -v b="$before" 'BEGIN { exit !(a >= b) }' ||
		e2e_fail_reason "level $before -> $after without reports" || return
	echo "    level $before held 4 s after its load went unknown (stale), the load gone meanwhile"
}

# reports again, the load gone: the level goes by itself, slowly
test_releases_by_itself() {
	local t0 t1
	load_stop
	[ -n "${REPORTS_CUT:-}" ] && reports_cut del
	REPORTS_CUT=
	t0=$(ms)
	wait_for 30 released || e2e_fail_reason "not released 30 s after the load stopped: $(shed_json | jq -c .levels)" || return
	t1=$(ms)
	echo "    time to release: $((t1 - t0)) ms after the reports resumed (load already gone)"
	grep -q "backpressure: $HOT cell [0-9]* class 3: .* -> 0.000 (release: load" "$GD_LOG" ||
		e2e_fail_reason "the release is not logged"
}

test_critical_requests_keep_succeeding() {
	local ok fail
	[ -n "${CRIT_PID:-}" ] || { e2e_fail_reason "no critical traffic ran"; return 1; }
	wait "$CRIT_PID"
	ok=$(total "$CRIT" ok)
	fail=$(total "$CRIT" fail)
	[ -n "$ok" ] && [ -n "$fail" ] || { show "$CRIT" 4; e2e_fail_reason "no total line"; return 1; }
	echo "    critical: ok=$ok fail=$fail ($(awk -v o="$ok" -v f="$fail" 'BEGIN { printf "%.4f", o / (o + f) }'))"
	awk -v o="$ok" -v f="$fail" 'BEGIN { exit !(o + f > 0 && o / (o + f) >= 0.999) }' ||
		e2e_fail_reason "critical success ok=$ok fail=$fail, under 99.9%"
}

# manual: the controller says what it would do and applies nothing; back to auto
test_manual_mode_applies_nothing() {
	cctl shed mode manual --cell "$HOT" --dry-run | grep -q 'dry run' ||
		e2e_fail_reason "no dry run" || return
	[ "$(sig "$HOT" .mode)" = auto ] || e2e_fail_reason "the dry run changed the mode" || return
	cctl shed mode manual --cell "$HOT" >/dev/null || e2e_fail_reason "shed mode manual failed" || return
	[ "$(sig "$HOT" .mode)" = manual ] || e2e_fail_reason "mode is $(sig "$HOT" .mode)" || return
	load_start
	sleep 6
	load_stop
	released || e2e_fail_reason "manual mode applied a level: $(shed_json | jq -c .levels)" || return
	grep -q "backpressure (manual, not applied): $HOT" "$GD_LOG" ||
		e2e_fail_reason "no advice logged in manual mode" || return
	cctl shed mode default --cell "$HOT" >/dev/null && [ "$(sig "$HOT" .mode)" = auto ] ||
		e2e_fail_reason "back to the default did not give auto"
}

# a key file that cannot be read refuses the commit with one line naming it, nothing changed; a
# good key is applied, and the cells' unsigned reports are then refused as auth; back unsigned
test_key_file() {
	local gen0 gen1 kf=$LAB_DIR/report.key auth0 auth1
	gen0=$(cctl -j status | jq .generation)
	for k in missing short; do
		rm -f "$kf"
		[ "$k" = short ] && { echo 0123abcd >"$kf"; chmod 600 "$kf"; }
		sed "s|^backpressure: {|backpressure: {key_file: $kf, |" "$CFG" >"$LAB_DIR/key.yaml"
		cctl config apply "$LAB_DIR/key.yaml" >"$LAB_DIR/key.out" 2>"$LAB_DIR/key.err"
		local rc=$?
		gen1=$(cctl -j status | jq .generation)
		if [ "$rc" -eq 1 ] && [ "$(wc -l <"$LAB_DIR/key.err")" -eq 1 ] &&
			grep -q "^cellctl: .*backpressure.key_file '$kf': .*nothing was changed" "$LAB_DIR/key.err" &&
			[ "$gen1" = "$gen0" ] && [ "$(sig "$HOT" .mode)" = auto ] &&
			shed_json | jq -e '.controller.signed == false' >/dev/null; then
			pass "key_file_${k}_refused ($(cut -c1-110 "$LAB_DIR/key.err"))"
		else
			fail "key_file_${k}_refused" "rc $rc, generation $gen0 -> $gen1: $(head -c 300 "$LAB_DIR/key.err")"
		fi
	done
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$kf"
	chmod 600 "$kf"
	auth0=$(sig "$HOT" .refused.auth)
	cctl config apply "$LAB_DIR/key.yaml" >/dev/null 2>&1 || e2e_fail_reason "a good key was refused" || return
	shed_json | jq -e '.controller.signed == true' >/dev/null || e2e_fail_reason "not signed after the key" || return
	sleep 1
	auth1=$(sig "$HOT" .refused.auth)
	[ $((auth1 - auth0)) -ge 3 ] || e2e_fail_reason "unsigned reports not refused as auth: $auth0 -> $auth1" || return
	cctl config apply "$CFG" >/dev/null 2>&1 && shed_json | jq -e '.controller.signed == false' >/dev/null ||
		e2e_fail_reason "back to unsigned failed"
}

E2E_TESTS=(
	test_reports_accepted_from_every_cell
	test_lb_view_signals_present_and_sane
	test_spoofed_and_replayed_reports_change_nothing
	test_overload_engages_by_itself
	test_restart_keeps_the_levels
	test_stale_cell_keeps_its_levels
	test_releases_by_itself
	test_critical_requests_keep_succeeding
	test_manual_mode_applies_nothing
	test_key_file
)
e2e_run "$@"
