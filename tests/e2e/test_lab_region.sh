#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC2015,SC2016 # "A && B || fail" is meant; jq programs and eval strings are single-quoted
# test_lab_region.sh - region evacuation and restore on the lab (3 regions x 2 cells, real
# traffic): the dry run's plan changes nothing, an evacuation moves the region's share to the
# nearest survivors while established flows stay, the rules refuse and --force overrides, the
# restore ramps step by step, a failing step and a kill -9 inside the saga of an evacuation and of
# a restore leave a state the saga describes, and region-failover / region-restore drive it from
# outside with cellctl -j only
#
# One lab and daemon for all tests (setup); the tests run in order on its state (lib.sh, e2e_run).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# the lab's config with fast rules: no wait, 1 s steps of a 3-step ramp
fast_config() {
	cp "$LAB_CONFIG" "$1"
	cat >>"$1" <<'EOF'
failover:
  wait: 0
  dwell: 1
  ramp: [0.25, 0.5, 1]
  max_step: 0.5
EOF
}

setup() {
	e2e_init region
	lab_up || return
	FAST=$LAB_DIR/fast.yaml
	fast_config "$FAST"
	gd_start "$FAST" || fail cellgated_start "cellgated did not become ready"
}

# shares SERVICE: {cell: share} of the service's live table
shares() { cctl -j service show "$1" | jq -c '.table.shares'; }
# region_field NAME FIELD: a field of region show
region_field() { cctl -j region show "$1" | jq -r ".$2"; }
gen() { cctl -j status | jq .generation; }

# a dry run prints the plan (eu-west's share to 0, us-east, the nearest, takes it) and changes
# nothing: neither the generation nor the tables
test_dry_run_changes_nothing() {
	local g0 s0 out=$LAB_DIR/dry.json
	g0=$(gen)
	s0=$(shares web)
	cctl -j region evacuate eu-west --dry-run >"$out" || e2e_fail_reason "dry run failed" || return
	jq -e '.to == "evacuated" and .from == "active" and (.rules.checked | index("min_cells")) and
		([.plan.cells[] | select(.region == "eu-west") | .new_share_ppm] | all(. == 0)) and
		([.plan.cells[] | select(.region == "us-east") | .new_share_ppm] | add) >
		([.plan.cells[] | select(.region == "us-east") | .old_share_ppm] | add) and
		([.plan.cells[] | select(.region == "ap-south") | .new_share_ppm == .old_share_ppm] | all)' \
		"$out" >/dev/null || { show "$out" 30; e2e_fail_reason "the plan is not the expected one"; return; }
	[ "$(gen)" = "$g0" ] && [ "$(shares web)" = "$s0" ] && [ "$(region_field eu-west state)" = active ] ||
		e2e_fail_reason "the dry run changed something"
}

# evacuate eu-west while long connections run on every cell: the tables lose eu-west, its share
# goes to us-east (the nearest), ap-south keeps its own; the connections on every cell finish;
# new flows land nowhere in eu-west
test_evacuate_moves_share_and_keeps_flows() {
	local long=$LAB_DIR/evac-long.out fresh=$LAB_DIR/evac-new.out before after on_eu
	before=$(shares web)
	client_bg "$long" "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 30 --requests 30 \
		--interval-ms 100
	sleep 1
	cctl region evacuate eu-west --reason "lab test" >"$LAB_DIR/evac.out" 2>&1 ||
		{ show "$LAB_DIR/evac.out"; e2e_fail_reason "evacuate failed"; return; }
	[ "$(region_field eu-west state)" = evacuated ] || e2e_fail_reason "not evacuated" || return
	after=$(shares web)
	jq -e -n --argjson b "$before" --argjson a "$after" \
		'($a | has("euw1-a") or has("euw1-b") | not) and
		 ($a["aps1-a"] == $b["aps1-a"]) and ($a["use1-a"] > $b["use1-a"])' >/dev/null ||
		e2e_fail_reason "shares before $before, after $after" || return
	wait "$CLIENT_PID"
	traffic_clean 900 "$long"
	client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 60 --requests 1 >"$fresh"
	on_eu=$(conns "$fresh" | awk '$2 ~ /^euw1-/' | wc -l)
	[ "$on_eu" -eq 0 ] && [ "$(total "$fresh" ok)" = 60 ] ||
		{ show "$fresh" 5; e2e_fail_reason "$on_eu new flows on eu-west, ok=$(total "$fresh" ok)"; }
}

# asking again is not an error and changes nothing; a second region is refused by min_regions
# once only one would be left, and --force overrides it (logged); then it is restored
test_rules_and_force() {
	local g0 err=$LAB_DIR/rules.err
	g0=$(gen)
	cctl region evacuate eu-west >"$LAB_DIR/again.out" 2>&1 && grep -q 'no changes' "$LAB_DIR/again.out" &&
		[ "$(gen)" = "$g0" ] || e2e_fail_reason "a second evacuate was not a no-op" || return
	cctl config apply "$FAST" >/dev/null 2>&1 # carries the records: still evacuated
	[ "$(region_field eu-west state)" = evacuated ] || e2e_fail_reason "config apply lost the record" || return
	cp "$FAST" "$LAB_DIR/min2.yaml"
	sed -i 's/^  wait: 0$/  wait: 0\n  min_regions: 2/' "$LAB_DIR/min2.yaml"
	cctl config apply "$LAB_DIR/min2.yaml" >/dev/null || e2e_fail_reason "cannot set min_regions 2" || return
	! cctl region evacuate ap-south 2>"$err" && grep -q 'rule min_regions: 1 active region would be left, needs 2 (--force overrides it)' "$err" ||
		{ show "$err"; e2e_fail_reason "min_regions did not refuse"; return; }
	cctl region evacuate ap-south --force --reason drill >/dev/null 2>&1 &&
		[ "$(region_field ap-south state)" = evacuated ] && [ "$(region_field ap-south forced)" = true ] ||
		e2e_fail_reason "--force did not evacuate ap-south" || return
	grep -q 'forced (region evacuate ap-south .*rule min_regions' "$GD_LOG" ||
		e2e_fail_reason "the forced evacuation was not logged" || return
	cctl config apply "$FAST" >/dev/null || e2e_fail_reason "cannot reset the rules" || return
	cctl region restore ap-south >/dev/null &&
		wait_for 15 eval '[ "$(region_field ap-south state)" = active ]' ||
		e2e_fail_reason "ap-south did not come back"
}

# restore eu-west: the ramp is seen step by step (25%, 50%, 100% of its weight), each step
# held at least its dwell, never a larger step than the ramp's; then it is active with its shares
test_restore_ramps_step_by_step() {
	local seen="" s i
	cctl region restore eu-west >/dev/null || e2e_fail_reason "restore refused" || return
	for ((i = 0; i < 150; i++)); do
		s=$(region_field eu-west share)
		case " $seen " in *" $s "*) ;; *) seen="$seen $s" ;; esac
		[ "$(region_field eu-west state)" = active ] && break
		sleep 0.1
	done
	[ "$(region_field eu-west state)" = active ] || e2e_fail_reason "still $(region_field eu-west state) after 15 s" || return
	[ "$seen" = " 0.25 0.5 1" ] || e2e_fail_reason "shares seen:$seen (want 0.25 0.5 1)" || return
	shares web | jq -e 'has("euw1-a") and has("euw1-b")' >/dev/null || e2e_fail_reason "eu-west is not in the tables"
}

# a step that fails (injected: the data plane did not take the shift) is compensated in reverse:
# the region is active again, no pre-shed level and no transition in flight remain
test_failing_step_compensates() {
	local err=$LAB_DIR/fail.err
	gd_stop
	CELLGATED_FAULT=failover:settle gd_start "$FAST" || e2e_fail_reason "restart failed" || return
	! cctl region evacuate eu-west 2>"$err" || e2e_fail_reason "the injected failure did not fail" || return
	grep -q "step 'settle'" "$err" || { show "$err"; e2e_fail_reason "the error does not name the step"; return; }
	[ "$(region_field eu-west state)" = active ] && [ "$(region_field eu-west transition)" = null ] &&
		cctl -j shed show | jq -e '[.. | objects | select(.by? // "" | startswith("cellgated: pre-shed"))] | length == 0' >/dev/null ||
		e2e_fail_reason "not compensated: $(cctl -j region show eu-west | jq -c '{state, transition}')" || return
	shares web | jq -e 'has("euw1-a")' >/dev/null || e2e_fail_reason "eu-west left the tables"
	gd_stop
	gd_start "$FAST" || e2e_fail_reason "restart failed"
}

# log_tail: the daemon's last lines, without the reconciles' changes, indented
log_tail() { grep -v 'change (' "$GD_LOG" | tail -n 12 | sed 's/^/    /'; }

# crash_at STEP CELLCTL-ARGS...: restart cellgated with CELLGATED_FAULT=failover-crash:STEP (a
# fresh log), run the command, wait for the crash; INFLIGHT=1 when the persisted state names a
# transition in flight (a crash before the first progress save leaves the old state: nothing in
# flight, which only STEP persist may); then start it again, without faults
crash_at() {
	local step=$1
	shift
	gd_stop
	: >"$GD_LOG"
	CELLGATED_FAULT=failover-crash:$step gd_start "$FAST" || e2e_fail_reason "restart failed" || return
	cctl "$@" >/dev/null 2>&1
	wait_for 8 eval '! kill -0 "$GD_PID" 2>/dev/null' || e2e_fail_reason "$step: the crash was not injected" || return
	GD_PID=
	INFLIGHT=0
	grep -q '^saga:' "$GD_STATE/state.yaml" && INFLIGHT=1
	[ "$INFLIGHT" = 1 ] || [ "$step" = persist ] ||
		e2e_fail_reason "$step: the persisted state names no transition in flight" || return
	gd_start "$FAST" || e2e_fail_reason "$step: restart after the crash failed"
}

# kill -9 inside the saga, at each of its steps and at a progress save: after a restart the
# state is one the saga describes (a transition in flight), and cellgated finishes it or undoes
# it by itself; the state it ends in matches the tables
test_kill9_in_saga_is_resumed_or_compensated() {
	local step
	for step in preshed shift settle persist; do
		crash_at "$step" region evacuate eu-west || return
		[ "$INFLIGHT" = 0 ] || grep -q 'region evacuate eu-west (resumed after a restart): \(done\|compensated\)' "$GD_LOG" ||
			{ log_tail; e2e_fail_reason "$step: the saga was not finished or undone"; return; }
		case $(region_field eu-west state) in
		active) shares web | jq -e 'has("euw1-a")' >/dev/null ;;
		evacuated) shares web | jq -e 'has("euw1-a") | not' >/dev/null ;;
		*) false ;;
		esac || e2e_fail_reason "$step: state $(region_field eu-west state) does not match the tables" || return
		[ "$(region_field eu-west transition)" = null ] || e2e_fail_reason "$step: a transition is still in flight" || return
		pass "kill9_at_${step}_$(region_field eu-west state)"
		[ "$(region_field eu-west state)" = active ] || cctl region restore eu-west --force >/dev/null
		wait_for 15 eval '[ "$(region_field eu-west state)" = active ]' || e2e_fail_reason "$step: eu-west did not come back" || return
	done
}

# eu-west's state and tables agree, nothing in flight: "evacuated" (out of the tables, share 0) or
# "active" (both cells in them); names what does not agree in E2E_REASON
region_settled() {
	local want=$1 show
	show=$(cctl -j region show eu-west)
	[ "$(jq -r .transition <<<"$show")" = null ] ||
		e2e_fail_reason "a transition is still in flight: $(jq -c .transition <<<"$show")" || return
	case $want in
	evacuated)
		jq -e '.state == "evacuated" and .share == "0"' <<<"$show" >/dev/null &&
			shares web | jq -e 'has("euw1-a") or has("euw1-b") | not' >/dev/null ;;
	active)
		jq -e '.state == "active" and .share == "1"' <<<"$show" >/dev/null &&
			shares web | jq -e 'has("euw1-a") and has("euw1-b")' >/dev/null ;;
	esac || e2e_fail_reason "not $want: $(jq -c '{state, share}' <<<"$show"), shares $(shares web)"
}

# evacuate eu-west (with a daemon without faults) unless it is evacuated already
evacuated_first() {
	[ "$(region_field eu-west state)" = evacuated ] && return 0
	cctl region evacuate eu-west >/dev/null 2>&1 && region_settled evacuated
}

# a step of the restore that fails (injected at each: the first ramp step, the later ones the
# controller takes after their dwell, the last one to active) is compensated in reverse: eu-west is
# evacuated again, out of the tables, nothing in flight, and the log names the step
test_failing_restore_step_compensates() {
	local step err=$LAB_DIR/rfail.err
	gd_stop
	gd_start "$FAST" || e2e_fail_reason "restart failed" || return
	evacuated_first || return
	for step in ramp1 ramp2 ramp3 active; do
		gd_stop
		: >"$GD_LOG"
		CELLGATED_FAULT=failover:$step gd_start "$FAST" || e2e_fail_reason "restart failed" || return
		if [ "$step" = ramp1 ]; then
			! cctl region restore eu-west 2>"$err" && grep -q "step 'ramp1': injected failure" "$err" ||
				{ show "$err"; e2e_fail_reason "ramp1: the restore did not fail with the step"; return; }
		else
			cctl region restore eu-west >/dev/null 2>&1 || e2e_fail_reason "$step: restore refused" || return
			wait_for 10 grep -q "step '$step': injected failure" "$GD_LOG" ||
				{ log_tail; e2e_fail_reason "$step: the step did not fail"; return; }
		fi
		wait_for 5 region_settled evacuated || e2e_fail_reason "$step: $E2E_REASON" || return
		pass "restore_failure_at_${step}_back_to_evacuated"
	done
	gd_stop
	gd_start "$FAST" || e2e_fail_reason "restart failed" || return
	cctl region restore eu-west >/dev/null && wait_for 15 region_settled active ||
		e2e_fail_reason "eu-west did not come back: $E2E_REASON"
}

# kill -9 inside the restore's saga, at each of its steps and at its first progress save: the
# persisted state names the transition in flight (but for the save), and after a restart it is
# compensated (back to evacuated, the tables agreeing); a kill -9 between two ramp steps is
# resumed: the ramp goes on to active
test_kill9_in_restore_is_resumed_or_compensated() {
	local step
	evacuated_first || return
	for step in ramp1 ramp2 ramp3 active persist; do
		crash_at "$step" region restore eu-west || return
		[ "$INFLIGHT" = 0 ] || grep -q 'region restore eu-west (resumed after a restart): compensated' "$GD_LOG" ||
			{ log_tail; e2e_fail_reason "$step: the saga was not undone"; return; }
		region_settled evacuated || e2e_fail_reason "$step: $E2E_REASON" || return
		pass "kill9_restore_at_${step}_evacuated"
	done
	# between two steps: the saga waits, persisted, for its next step; a restart goes on with it
	: >"$GD_LOG"
	cctl region restore eu-west >/dev/null || e2e_fail_reason "restore refused" || return
	wait_for 5 eval '[ "$(region_field eu-west share)" = 0.5 ]' || e2e_fail_reason "the ramp did not reach 0.5" || return
	kill -9 "$GD_PID"
	wait_for 5 eval '! kill -0 "$GD_PID" 2>/dev/null' || e2e_fail_reason "kill -9 did not kill" || return
	GD_PID=
	grep -q 'in_step: 1' "$GD_STATE/state.yaml" && e2e_fail_reason "killed between steps, yet a step in flight" && return
	gd_start "$FAST" || e2e_fail_reason "restart after kill -9 failed" || return
	wait_for 15 region_settled active || e2e_fail_reason "between steps: $E2E_REASON" || return
	grep -q 'region restore eu-west (resumed after a restart): resumed at ramp step' "$GD_LOG" ||
		{ log_tail; e2e_fail_reason "the ramp was not resumed"; return; }
	pass "kill9_restore_between_steps_resumed_active"
}

# abort in the middle of the ramp compensates the restore's steps in reverse, down to evacuated
test_abort_of_restore_compensates() {
	evacuated_first || return
	: >"$GD_LOG"
	cctl region restore eu-west >/dev/null || e2e_fail_reason "restore refused" || return
	wait_for 5 eval '[ "$(region_field eu-west share)" = 0.5 ]' || e2e_fail_reason "the ramp did not reach 0.5" || return
	cctl region abort eu-west --reason "lab abort" >/dev/null 2>&1 || e2e_fail_reason "abort failed" || return
	region_settled evacuated || return
	[ "$(region_field eu-west reason)" = "lab abort" ] || e2e_fail_reason "reason $(region_field eu-west reason)" || return
	grep -q 'undo: back to ramp step 1' "$GD_LOG" && grep -q 'undo: evacuated again' "$GD_LOG" ||
		{ log_tail; e2e_fail_reason "the ramp's steps were not compensated"; return; }
	cctl region restore eu-west >/dev/null && wait_for 15 region_settled active ||
		e2e_fail_reason "eu-west did not come back: $E2E_REASON"
}

# bad region commands: one clear line, nothing changed
test_bad_region_commands() {
	local g0 e=$LAB_DIR/bad.err
	g0=$(gen)
	! cctl region evacuate nowhere 2>"$e" && grep -q "^cellctl: region 'nowhere' not found$" "$e" ||
		{ show "$e"; e2e_fail_reason "unknown region"; return; }
	! cctl region abort us-east 2>"$e" && grep -q "^cellctl: region 'us-east' is active: cannot abort$" "$e" ||
		{ show "$e"; e2e_fail_reason "abort of an active region"; return; }
	cctl region restore us-east >"$e" 2>&1 && grep -q "^region us-east is active: no changes$" "$e" ||
		{ show "$e"; e2e_fail_reason "restore of an active region is not a no-op"; return; }
	! cctl region extend us-east 2>"$e" && grep -q "missing --ttl" "$e" ||
		{ show "$e"; e2e_fail_reason "extend without --ttl"; return; }
	! cctl region abort us-east --ttl 5 2>"$e" && grep -q "unknown option '--ttl'" "$e" ||
		{ show "$e"; e2e_fail_reason "abort with --ttl"; return; }
	! cctl region evacuate eu-west --reason "$(printf 'a\033[31mred')" 2>"$e" && grep -q "U+001B" "$e" ||
		{ show "$e"; e2e_fail_reason "a control character in --reason"; return; }
	[ "$(gen)" = "$g0" ] || e2e_fail_reason "a bad command changed the state"
}

# the runbooks as code: region-failover then region-restore, driven by cellctl -j only
test_scripts_failover_and_restore() {
	local out=$LAB_DIR/script.out
	export CELLCTL="$build_dir/cellctl"
	in_lb env CELLCTL="$CELLCTL" "$top/scripts/region-failover" -s "$GD_SOCK" --settle 1 -t 30 eu-west >"$out" 2>&1 ||
		{ show "$out"; e2e_fail_reason "region-failover failed"; return; }
	grep -q "done: 'eu-west' is evacuated on 1 load balancer" "$out" && [ "$(region_field eu-west state)" = evacuated ] ||
		{ show "$out"; e2e_fail_reason "region-failover did not evacuate"; return; }
	in_lb env CELLCTL="$CELLCTL" "$top/scripts/region-failover" -s "$GD_SOCK" --settle 1 -t 30 eu-west >"$out" 2>&1 &&
		grep -q "already evacuated: left alone" "$out" || { show "$out"; e2e_fail_reason "not idempotent"; return; }
	in_lb env CELLCTL="$CELLCTL" "$top/scripts/region-restore" -s "$GD_SOCK" -t 30 eu-west >"$out" 2>&1 ||
		{ show "$out"; e2e_fail_reason "region-restore failed"; return; }
	grep -q "at ramp step 1 (share 0.25)" "$out" && [ "$(region_field eu-west state)" = active ] ||
		{ show "$out"; e2e_fail_reason "region-restore did not ramp back"; }
}

# a failure at each step of the evacuation inside region-failover leaves the LB as it was: the
# region active, in the tables, no pre-shed level, nothing in flight (compensated, exit 1)
test_script_failure_compensates() {
	local out=$LAB_DIR/scriptfail.out rc step
	for step in preshed shift settle persist; do
		gd_stop
		CELLGATED_FAULT=failover:$step gd_start "$FAST" || e2e_fail_reason "restart failed" || return
		in_lb env CELLCTL="$build_dir/cellctl" "$top/scripts/region-failover" -s "$GD_SOCK" --settle 1 -t 20 eu-west >"$out" 2>&1
		rc=$?
		if [ "$rc" = 1 ] && grep -q 'compensated: back_to_active' "$out" &&
			[ "$(region_field eu-west state)" = active ] && [ "$(region_field eu-west transition)" = null ] &&
			shares web | jq -e 'has("euw1-a") and has("euw1-b")' >/dev/null &&
			cctl -j shed show | jq -e '[.. | objects | select(.by? // "" | startswith("cellgated: pre-shed"))] | length == 0' >/dev/null; then
			pass "script_failure_at_${step}_compensated"
		else
			show "$out"
			e2e_fail_reason "$step: exit $rc, state $(region_field eu-west state)"
			return
		fi
	done
	gd_stop
	gd_start "$FAST" || e2e_fail_reason "restart failed"
}

# a practice failover: evacuated, held, rolled back, with a report by class
test_drill_rolls_back() {
	local out=$LAB_DIR/drill.out
	in_lb env CELLCTL="$build_dir/cellctl" "$top/scripts/drill" -s "$GD_SOCK" --hold 1 -t 30 eu-west >"$out" 2>&1 ||
		{ show "$out"; e2e_fail_reason "the drill failed"; return; }
	grep -q "^drill: evacuated 'eu-west' in [0-9]*s on 1 load balancer" "$out" &&
		grep -q "^drill: rolled back: 'eu-west' active again" "$out" &&
		grep -q "^drill: .*: class critical: [0-9]* new flows, [0-9]* shed, [0-9]* dropped$" "$out" &&
		grep -q "^drill: .*: flows moved off cells: [0-9]* off failed or evacuated cells, 0 off healthy cells$" "$out" &&
		[ "$(region_field eu-west state)" = active ] || { show "$out"; e2e_fail_reason "the drill's report or rollback"; }
}

E2E_TESTS=(
	test_dry_run_changes_nothing
	test_evacuate_moves_share_and_keeps_flows
	test_rules_and_force
	test_restore_ramps_step_by_step
	test_failing_step_compensates
	test_kill9_in_saga_is_resumed_or_compensated
	test_failing_restore_step_compensates
	test_kill9_in_restore_is_resumed_or_compensated
	test_abort_of_restore_compensates
	test_bad_region_commands
	test_scripts_failover_and_restore
	test_script_failure_compensates
	test_drill_rolls_back
)
e2e_run "$@"
