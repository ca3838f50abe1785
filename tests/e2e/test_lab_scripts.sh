#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC2015,SC2016 # "A && B || fail" is meant; jq programs are single-quoted
# test_lab_scripts.sh - scripts/region-failover and region-restore against two load balancers:
# the lab's LB and a second one (its own namespace, veth to the router, cellgated, control socket,
# state dir and pins), each carrying real traffic (c1's through the first, c2's through the
# second). Both are evacuated and restored by one run, a second run is a no-op on both, a dry run
# changes nothing on either, preflight refuses when one LB does not answer and leaves the other
# alone, a failure injected at each step of the saga on the second LB (CELLGATED_FAULT) and a
# Ctrl-C in the middle leave both as they were; the exit statuses and the reports say so.
#
# One lab and two daemons for all tests (setup); the tests run in order on their state.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# The second LB sits on the router's link 2 (198.18.2.0/24, 2001:db8:0:2::/64), which the lab's
# address plan leaves free; lab.sh down removes its namespace (the lab's prefix starts its name).
LB2_V4=198.18.2.2 LB2_V6=2001:db8:0:2::2 LB2_RTR_V4=198.18.2.1 LB2_RTR_V6=2001:db8:0:2::1
# lb_sources keys (struct cg_decap_addr: 16 address bytes, CG_AF_*, 3 bytes of padding) of
# LB2_V4 and LB2_V6, for the cells' decap program
LB2_KEY4="c6 12 02 02 00 00 00 00 00 00 00 00 00 00 00 00 04 00 00 00"
LB2_KEY6="20 01 0d b8 00 00 00 02 00 00 00 00 00 00 00 02 06 00 00 00"
LB2_TABLE=102 # the router's routing table that sends c2's traffic for the VIPs to the second LB
GD2_PID=
SCRIPT_PID=   # a script run in the background (the Ctrl-C test)
LB2_NS='' LB2_PIN_DIR=''

# the lab's config (source: SRC4, SRC6) with fast rules: no wait, 1 s steps of a 3-step ramp
fast_config() {
	sed -e "s/^  ipv4: .*/  ipv4: $2/" -e "s/^  ipv6: .*/  ipv6: $3/" "$LAB_CONFIG" >"$1"
	cat >>"$1" <<'EOF'
failover:
  wait: 0
  dwell: 1
  ramp: [0.25, 0.5, 1]
  max_step: 0.5
EOF
}

# scripts_cleanup: the second LB (daemon, pins, a script still running), then lib.sh's cleanup
# shellcheck disable=SC2317 # called by the trap
scripts_cleanup() {
	{
		[ -n "$SCRIPT_PID" ] && kill -9 -- "-$SCRIPT_PID" "$SCRIPT_PID"
		[ -n "$GD2_PID" ] && kill -9 "$GD2_PID" && wait "$GD2_PID"
	} 2>/dev/null
	if [ -n "$LB2_NS" ] && [ -e "/run/netns/$LB2_NS" ]; then
		nsenter --net="/run/netns/$LB2_NS" "$build_dir/cellgated" --teardown -p "$LB2_PIN_DIR" \
			>/dev/null 2>&1
	fi
	[ -n "$LB2_PIN_DIR" ] && [ -e "$LB2_PIN_DIR" ] && rm -rf -- "$LB2_PIN_DIR"
	e2e_cleanup
}

# in_lb2 CMD...: run in the second LB's network namespace (nsenter: see in_lb)
in_lb2() { nsenter --net="/run/netns/$LB2_NS" "$@"; }
cctl2() { in_lb2 "$build_dir/cellctl" -s "$GD2_SOCK" --pin-dir "$LB2_PIN_DIR" --state-dir "$GD2_STATE" "$@"; }

# lb2_up: the second LB's namespace and link, XDP_PASS on the router's end (XDP_TX needs it),
# the cells' decap accepting its source addresses, and c2's traffic to the VIPs routed to it
lb2_up() {
	local r=$LAB_NS_RTR n c id m map
	ip netns add "$LB2_NS" || return
	ip -n "$LB2_NS" link set lo up
	for n in all default; do
		in_ns "$LB2_NS" sysctl -qw "net.ipv4.conf.$n.rp_filter=0" "net.ipv6.conf.$n.accept_dad=0" \
			"net.ipv6.conf.$n.accept_ra=0" >/dev/null
	done
	ip -n "$r" link add to-lb2 type veth peer name "$LAB_HOST_IF" netns "$LB2_NS" &&
		ip -n "$r" addr add "$LB2_RTR_V4/24" dev to-lb2 &&
		ip -n "$r" addr add "$LB2_RTR_V6/64" dev to-lb2 nodad &&
		ip -n "$LB2_NS" addr add "$LB2_V4/24" dev "$LAB_HOST_IF" &&
		ip -n "$LB2_NS" addr add "$LB2_V6/64" dev "$LAB_HOST_IF" nodad &&
		ip -n "$r" link set to-lb2 up && ip -n "$LB2_NS" link set "$LAB_HOST_IF" up &&
		ip -n "$LB2_NS" route add default via "$LB2_RTR_V4" &&
		ip -n "$LB2_NS" -6 route add default via "$LB2_RTR_V6" &&
		ip -n "$r" link set dev to-lb2 xdp obj "$build_dir/bpf/pass.bpf.o" sec xdp &&
		in_ns "$r" ethtool -K to-lb2 tx off >/dev/null || return
	for c in $LAB_CELLS; do
		n=$LAB_PREFIX-$c
		id=$(ip -n "$n" -d link show dev "$LAB_HOST_IF" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
		map=
		for m in $(bpftool -j prog show id "$id" | jq -r '.map_ids[]'); do
			[ "$(bpftool -j map show id "$m" | jq -r .name)" = lb_sources ] && map=$m
		done
		[ -n "$map" ] || { echo "no lb_sources map on $c" >&2; return 1; }
		# shellcheck disable=SC2086 # one word per byte
		bpftool map update id "$map" key hex $LB2_KEY4 value hex 01 &&
			bpftool map update id "$map" key hex $LB2_KEY6 value hex 01 || return
	done
	ip -n "$r" rule add from "$LAB_C2_V4/32" to "$LAB_VIP4_NET" lookup "$LB2_TABLE" &&
		ip -n "$r" route add "$LAB_VIP4_NET" via "$LB2_V4" table "$LB2_TABLE" &&
		ip -n "$r" -6 rule add from "$LAB_C2_V6/128" to "$LAB_VIP6_NET" lookup "$LB2_TABLE" &&
		ip -n "$r" -6 route add "$LAB_VIP6_NET" via "$LB2_V6" table "$LB2_TABLE"
}

# gd2_start CONFIG [FAULT]: cellgated on the second LB (CELLGATED_FAULT=FAULT if given), ready as
# gd_start's: the daemon itself answers and every active cell is active in the data plane
gd2_start() {
	local i
	CELLGATED_FAULT=${2:-} nsenter --net="/run/netns/$LB2_NS" "$build_dir/cellgated" -c "$1" \
		-d "$GD2_STATE" -p "$LB2_PIN_DIR" -s "$GD2_SOCK" >>"$GD2_LOG" 2>&1 &
	GD2_PID=$!
	for ((i = 0; i < 100; i++)); do
		if cctl2 -j status 2>/dev/null | jq -e --argjson p "$GD2_PID" '.pid == $p' >/dev/null 2>&1 &&
			cctl2 -j cell list 2>/dev/null |
			jq -e 'all(.[]; .state != "active" or .dataplane.state == "active")' >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$GD2_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "the second cellgated did not become ready:" >&2
	show "$GD2_LOG" >&2
	return 1
}

# gd2_stop: SIGTERM, and wait (bounded)
gd2_stop() {
	local i
	[ -n "$GD2_PID" ] || return 0
	kill -TERM "$GD2_PID" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$GD2_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$GD2_PID" 2>/dev/null
	wait "$GD2_PID" 2>/dev/null
	GD2_PID=
}

# the cellctl the scripts run (CELLCTL): as on a real LB, in the LB's namespace and with its pins
# and persisted state, so that a dead daemon still gets cellctl's read-only fallback answers
write_cellctl_wrapper() {
	cat >"$WRAP" <<EOF
#!/usr/bin/env bash
# the lab's cellctl for the LB whose control socket is given (written by test_lab_scripts.sh)
case " \$* " in
*" $GD2_SOCK "*) exec nsenter --net=/run/netns/$LB2_NS "$build_dir/cellctl" --pin-dir "$LB2_PIN_DIR" --state-dir "$GD2_STATE" "\$@" ;;
*" $GD_SOCK "*) exec nsenter --net=/run/netns/$LAB_NS_LB "$build_dir/cellctl" --pin-dir "$LAB_PIN_DIR" --state-dir "$GD_STATE" "\$@" ;;
*) exec "$build_dir/cellctl" "\$@" ;;
esac
EOF
	chmod +x "$WRAP"
}

setup() {
	e2e_init scripts
	trap scripts_cleanup EXIT
	lab_up || return
	LB2_NS=$LAB_PREFIX-lb2
	LB2_PIN_DIR=/sys/fs/bpf/$LAB_PREFIX-lb2
	GD2_STATE=$LAB_DIR/state2 GD2_SOCK=$LAB_DIR/ctl2.sock GD2_LOG=$LAB_DIR/cellgated2.log
	WRAP=$LAB_DIR/cellctl
	lb2_up || fail lb2_up "cannot build the second LB's namespace and link" || return
	FAST1=$LAB_DIR/fast1.yaml FAST2=$LAB_DIR/fast2.yaml
	fast_config "$FAST1" "$LAB_LB_V4" "$LAB_LB_V6"
	fast_config "$FAST2" "$LB2_V4" "$LB2_V6"
	write_cellctl_wrapper
	gd_start "$FAST1" || fail cellgated_start "cellgated did not become ready" || return
	gd2_start "$FAST2" || fail cellgated2_start "the second cellgated did not become ready"
}

# lbctl N ARGS...: cellctl -j on LB N (1 or 2)
lbctl() {
	local n=$1
	shift
	if [ "$n" = 1 ]; then cctl -j "$@"; else cctl2 -j "$@"; fi
}
sock_of() { if [ "$1" = 1 ]; then echo "$GD_SOCK"; else echo "$GD2_SOCK"; fi; }
gen() { lbctl "$1" status | jq .generation; }
region_field() { lbctl "$1" region show "$2" | jq -r ".$3"; }
new_flows() { lbctl "$1" stats | jq '[.cells[].new_flows] | add // 0'; }

# snapshot N FILE: what "as it was" means on LB N, in one file: every region's state, ramp
# step, share, forced and transition in flight; each service's table shares; the shed
# levels and entries; the persisted state but for its checksum line, generation and region
# records (the records' audit fields, since, by and reason, say who made the last transition,
# and a region with no record is active with one in state active: both are compared above)
snapshot() {
	local n=$1 state=$GD_STATE/state.yaml
	[ "$n" = 1 ] || state=$GD2_STATE/state.yaml
	{
		lbctl "$n" region list | jq -c 'map({name, state, step, share, forced, transition})'
		lbctl "$n" service list | jq -c 'map({name, shares: .table.shares})'
		lbctl "$n" shed show | jq -c '{levels, entries}'
		awk '/^# cellgate-state/ || /^generation:/ { next }
			/^[a-z_]+:/ { skip = ($1 == "evacuations:") }
			!skip' "$state"
	} >"$2"
	lbctl "$n" region list | jq -r '.[] | "\(.name) \(.expires)"' >"$2.expires"
	grep -v -e '^# cellgate-state' -e '^generation:' "$state" >"$2.state"
}

# same_state N TAG0 TAG1: LB N's persisted state the same, records and all, but for its checksum
# line and generation
same_state() {
	cmp -s "$LAB_DIR/snap-$2-$1.state" "$LAB_DIR/snap-$3-$1.state" && return 0
	diff "$LAB_DIR/snap-$2-$1.state" "$LAB_DIR/snap-$3-$1.state" | head -n 8 | sed 's/^/    /'
	e2e_fail_reason "LB $1's persisted state changed"
}

# snap_both TAG: snapshots of both LBs in $LAB_DIR/snap-TAG-{1,2}
snap_both() { snapshot 1 "$LAB_DIR/snap-$1-1" && snapshot 2 "$LAB_DIR/snap-$1-2"; }

# same_as TAG0 TAG1: both LBs' snapshots equal, and each region's expiry the same to within
# 2 s (a compensation puts an expiry back from the LB's clock); else the reason names the LB
same_as() {
	local n a b
	for n in 1 2; do
		a=$LAB_DIR/snap-$1-$n b=$LAB_DIR/snap-$2-$n
		if ! cmp -s "$a" "$b"; then
			diff "$a" "$b" | head -n 8 | sed 's/^/    /'
			e2e_fail_reason "LB $n is not as it was"
			return 1
		fi
		if ! paste -d' ' "$a.expires" "$b.expires" |
			awk '$1 != $3 || $2 - $4 > 2 || $4 - $2 > 2 { bad = 1 } END { exit bad }'; then
			paste -d' ' "$a.expires" "$b.expires" | sed 's/^/    /'
			e2e_fail_reason "LB $n: a region's expiry moved"
			return 1
		fi
	done
}

# The scripts' waits back off up to 1 s here, not 5 s: the same code, shorter idle polls.
export CG_BACKOFF_MAX_MS=1000

# run_script OUT NAME ARGS...: scripts/NAME against both LBs through the wrapper; its output in
# OUT; returns the script's exit status
run_script() {
	local out=$1 name=$2
	shift 2
	CELLCTL=$WRAP timeout 120 "$top/scripts/$name" -s "$GD_SOCK" -s "$GD2_SOCK" "$@" >"$out" 2>&1
}

# on_eu FILE: labclient's connections that landed on a cell of eu-west
on_eu() { conns "$1" | awk '$2 ~ /^euw1-/' | wc -l; }

# c1's traffic goes through the first LB, c2's through the second: each LB counts new flows of
# its own client's connections only, and every request is answered
test_both_lbs_carry_traffic() {
	local a1 a2 b1 b2 o1=$LAB_DIR/t1.out o2=$LAB_DIR/t2.out
	a1=$(new_flows 1) a2=$(new_flows 2)
	client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 20 --requests 1 >"$o1"
	sleep 1.2 # the stats are read every second
	b1=$(new_flows 1) b2=$(new_flows 2)
	[ "$(total "$o1" ok)" = 20 ] && [ $((b1 - a1)) -ge 20 ] && [ "$b2" = "$a2" ] ||
		{ show "$o1" 4; e2e_fail_reason "c1: ok=$(total "$o1" ok), LB1 +$((b1 - a1)), LB2 +$((b2 - a2))"; return; }
	client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 20 --requests 1 >"$o2"
	client "$LAB_NS_C2" tcp "$LAB_VIP6" "$LAB_TCP_PORT" --conns 10 --requests 1 >>"$o2"
	sleep 1.2
	a1=$(new_flows 1) a2=$(new_flows 2)
	[ "$(total "$o2" ok | awk '{ s += $1 } END { print s + 0 }')" = 30 ] && [ $((a2 - b2)) -ge 30 ] && [ "$a1" = "$b1" ] ||
		{ show "$o2" 4; e2e_fail_reason "c2: ok=$(total "$o2" ok | paste -sd' '), LB2 +$((a2 - b2)), LB1 +$((a1 - b1))"; }
}

# bad arguments: exit 2 and one line saying why, nothing asked of any LB
test_usage_exits_2() {
	local out=$LAB_DIR/usage.out rc
	run_script "$out" region-failover
	rc=$?
	[ "$rc" = 2 ] && grep -q 'needs exactly one REGION' "$out" || { show "$out"; e2e_fail_reason "no REGION: exit $rc"; return; }
	run_script "$out" region-restore --bogus eu-west
	rc=$?
	[ "$rc" = 2 ] && grep -q "unknown option '--bogus'" "$out" || { show "$out"; e2e_fail_reason "--bogus: exit $rc"; return; }
	run_script "$out" region-failover --settle x eu-west
	rc=$?
	[ "$rc" = 2 ] || { show "$out"; e2e_fail_reason "--settle x: exit $rc"; return; }
	CG_BACKOFF_MAX_MS=0 run_script "$out" region-failover eu-west
	rc=$?
	[ "$rc" = 2 ] && grep -q 'CG_BACKOFF_MAX_MS' "$out" || { show "$out"; e2e_fail_reason "CG_BACKOFF_MAX_MS=0: exit $rc"; }
}

# --dry-run prints both LBs' plans and changes nothing on either: generation and snapshot equal
test_dry_run_changes_nothing_on_either() {
	local out=$LAB_DIR/dry.out g1 g2 rc
	snap_both dry0
	g1=$(gen 1) g2=$(gen 2)
	run_script "$out" region-failover --dry-run eu-west
	rc=$?
	[ "$rc" = 0 ] && grep -q "^region-failover: preflight: $GD_SOCK: ok (active -> draining" "$out" &&
		grep -q "^region-failover: preflight: $GD2_SOCK: ok (active -> draining" "$out" &&
		grep -q '^region-failover: dry run: nothing was changed$' "$out" &&
		[ "$(grep -c '"plan"' "$out")" = 2 ] || { show "$out"; e2e_fail_reason "region-failover --dry-run: exit $rc"; return; }
	run_script "$out" region-restore --dry-run eu-west
	rc=$?
	[ "$rc" = 0 ] && [ "$(grep -c "'eu-west' is active: left alone" "$out")" = 2 ] ||
		{ show "$out"; e2e_fail_reason "region-restore --dry-run: exit $rc"; return; }
	snap_both dry1
	[ "$(gen 1)" = "$g1" ] && [ "$(gen 2)" = "$g2" ] || e2e_fail_reason "a generation moved" || return
	same_as dry0 dry1 && same_state 1 dry0 dry1 && same_state 2 dry0 dry1
}

# preflight refuses (exit 3) when one LB does not answer: a socket nobody listens on, then the
# second cellgated killed (cellctl still answers from its pins and state, read-only: not enough);
# the LB that answers is left alone
test_preflight_refuses_unreachable_lb() {
	local out=$LAB_DIR/pre.out g1 rc
	g1=$(gen 1)
	snap_both pre0
	CELLCTL=$WRAP timeout 60 "$top/scripts/region-failover" -s "$GD_SOCK" -s "$LAB_DIR/nowhere.sock" \
		eu-west >"$out" 2>&1
	rc=$?
	[ "$rc" = 3 ] && grep -q "preflight: $LAB_DIR/nowhere.sock: cellgated does not answer" "$out" &&
		grep -q "^region-failover: preflight refused: nothing was changed$" "$out" ||
		{ show "$out"; e2e_fail_reason "unknown socket: exit $rc"; return; }
	kill -9 "$GD2_PID"
	wait "$GD2_PID" 2>/dev/null
	GD2_PID=
	cctl2 -j status >/dev/null 2>&1 || e2e_fail_reason "cellctl's fallback does not answer: the test needs it" || return
	run_script "$out" region-failover eu-west
	rc=$?
	[ "$rc" = 3 ] && grep -q "preflight: $GD2_SOCK: cellgated does not answer" "$out" ||
		{ show "$out"; e2e_fail_reason "dead second daemon: exit $rc"; return; }
	run_script "$out" region-restore eu-west
	rc=$?
	[ "$rc" = 3 ] || { show "$out"; e2e_fail_reason "region-restore, dead second daemon: exit $rc"; return; }
	gd2_start "$FAST2" || e2e_fail_reason "the second cellgated did not restart" || return
	[ "$(gen 1)" = "$g1" ] || e2e_fail_reason "LB 1's generation moved" || return
	snap_both pre1
	same_as pre0 pre1 && same_state 1 pre0 pre1 && same_state 2 pre0 pre1
}

# one run evacuates eu-west on both LBs and verifies each by its counters; new flows through
# either LB land nowhere in eu-west; a second run changes nothing on either (same generations);
# region-restore ramps both back; a second restore is a no-op too; both LBs end as they began
test_failover_and_restore_both_idempotent() {
	local out=$LAB_DIR/fo.out o1=$LAB_DIR/fo-c1.out o2=$LAB_DIR/fo-c2.out g1 g2 rc n
	snap_both fo0
	run_script "$out" region-failover --settle 1 -t 30 eu-west
	rc=$?
	[ "$rc" = 0 ] && grep -q "^region-failover: done: 'eu-west' is evacuated on 2 load balancer(s)$" "$out" &&
		grep -q "^region-failover: $GD_SOCK: verified: no new flow to 'eu-west'" "$out" &&
		grep -q "^region-failover: $GD2_SOCK: verified: no new flow to 'eu-west'" "$out" &&
		[ "$(region_field 1 eu-west state)" = evacuated ] && [ "$(region_field 2 eu-west state)" = evacuated ] ||
		{ show "$out"; e2e_fail_reason "region-failover: exit $rc"; return; }
	for n in 1 2; do
		lbctl "$n" service list | jq -e 'all(.[]; .table.shares | has("euw1-a") or has("euw1-b") | not)' \
			>/dev/null || e2e_fail_reason "LB $n: eu-west is still in the tables" || return
	done
	client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 30 --requests 1 >"$o1"
	client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 30 --requests 1 >"$o2"
	[ "$(total "$o1" ok)" = 30 ] && [ "$(total "$o2" ok)" = 30 ] && [ "$(on_eu "$o1")" = 0 ] &&
		[ "$(on_eu "$o2")" = 0 ] || e2e_fail_reason "new flows: c1 ok=$(total "$o1" ok) on eu-west \
$(on_eu "$o1"), c2 ok=$(total "$o2" ok) on eu-west $(on_eu "$o2")" || return
	g1=$(gen 1) g2=$(gen 2)
	snap_both fo1
	run_script "$out" region-failover --settle 1 -t 30 eu-west
	rc=$?
	[ "$rc" = 0 ] && [ "$(grep -c "already evacuated: left alone" "$out")" = 2 ] &&
		[ "$(gen 1)" = "$g1" ] && [ "$(gen 2)" = "$g2" ] ||
		{ show "$out"; e2e_fail_reason "second region-failover: exit $rc, not a no-op"; return; }
	snap_both fo2
	same_as fo1 fo2 && same_state 1 fo1 fo2 && same_state 2 fo1 fo2 || return
	run_script "$out" region-restore -t 30 eu-west
	rc=$?
	n=$(grep -c "at ramp step 1 (share 0.25)" "$out")
	[ "$rc" = 0 ] && [ "$n" = 2 ] && grep -q "^region-restore: done: 'eu-west' is active on 2 load balancer(s)$" "$out" &&
		[ "$(region_field 1 eu-west state)" = active ] && [ "$(region_field 2 eu-west state)" = active ] ||
		{ show "$out"; e2e_fail_reason "region-restore: exit $rc, $n ramps seen"; return; }
	g1=$(gen 1) g2=$(gen 2)
	snap_both fo3
	run_script "$out" region-restore -t 30 eu-west
	rc=$?
	snap_both fo4
	same_state 1 fo3 fo4 && same_state 2 fo3 fo4 || return
	[ "$rc" = 0 ] && [ "$(grep -c "'eu-west' is active: left alone" "$out")" = 2 ] &&
		[ "$(gen 1)" = "$g1" ] && [ "$(gen 2)" = "$g2" ] ||
		{ show "$out"; e2e_fail_reason "second region-restore: exit $rc, not a no-op"; return; }
	same_as fo0 fo4
}

# a failure injected at each step of the evacuation saga on the second LB, after the first LB
# was evacuated and verified: region-failover compensates both (the first LB restored, forced
# past the wait rule and ramped back), exits 1 and says so; both LBs are exactly as before, the
# second (its saga compensated by cellgated itself) to the byte of its persisted state.
# -t 2 is shorter than the first LB's ramp back (3 steps of 1 s): the compensation waits for the
# ramp, not only for --timeout.
test_failure_on_second_lb_compensates_both() {
	local out=$LAB_DIR/fault.out rc step cause
	for step in preshed shift settle persist; do
		gd2_stop
		gd2_start "$FAST2" "failover:$step" || e2e_fail_reason "$step: restart failed" || return
		snap_both "f$step-0"
		run_script "$out" region-failover --settle 1 -t 2 eu-west
		rc=$?
		snap_both "f$step-1"
		# the report's failed line says why (a failed progress save has no step of its own)
		cause="evacuate refused: step '$step': ."
		[ "$step" != persist ] || cause="evacuate refused: ."
		if [ "$rc" = 1 ] && grep -q "^region-failover: failed: evacuating 'eu-west' on $GD2_SOCK: $cause" "$out" &&
			[ "$(tail -n 1 "$out")" = "region-failover: result: failed; compensated: every load balancer touched is as it was (exit 1)" ] &&
			grep -q "^region-failover: $GD_SOCK: verified: no new flow" "$out" &&
			grep -q "^region-failover: compensated: back_to_active $GD2_SOCK eu-west$" "$out" &&
			grep -q "^region-failover: compensated: back_to_active $GD_SOCK eu-west$" "$out" &&
			same_as "f$step-0" "f$step-1" && same_state 2 "f$step-0" "f$step-1"; then
			pass "failure_at_${step}_on_lb2_compensates_both"
		else
			show "$out"
			e2e_fail_reason "$step: exit $rc${E2E_REASON:+: $E2E_REASON}"
			break
		fi
	done
	# the next tests want the second LB without the fault, whatever happened here
	gd2_stop
	gd2_start "$FAST2" || e2e_fail_reason "restart failed" || return
	[ -z "$E2E_REASON" ]
}

# run_bg OUT NAME ARGS...: scripts/NAME against both LBs in the background, as a job of its own
# (job control: its own process group, and SIGINT not ignored as it is for a plain background
# command; not under timeout(1), which would move it to another group); sets SCRIPT_PID (also the
# group's id). Bounded by the script's own -t, and killed by the cleanup.
run_bg() {
	local out=$1 name=$2
	shift 2
	set -m
	CELLCTL=$WRAP "$top/scripts/$name" -s "$GD_SOCK" -s "$GD2_SOCK" "$@" >"$out" 2>&1 &
	SCRIPT_PID=$!
	set +m
}

# ctrl_c: SIGINT to the script's whole process group, as a terminal's Ctrl-C; its exit status
ctrl_c() {
	local rc
	kill -INT -- "-$SCRIPT_PID"
	wait "$SCRIPT_PID"
	rc=$?
	SCRIPT_PID=
	return "$rc"
}

# Ctrl-C once the second LB is evacuated too (the script is verifying it by its counters):
# region-failover compensates both, newest first, exits 130; a second SIGINT while it
# compensates (to the script: its children would die of a terminal's) is said and ignored; both
# LBs are exactly as before
test_ctrl_c_compensates_both() {
	local out=$LAB_DIR/int.out rc
	snap_both int0
	run_bg "$out" region-failover --settle 3 -t 30 eu-west
	wait_for 20 eval '[ "$(region_field 2 eu-west state)" = evacuated ]' ||
		{ ctrl_c; show "$out"; e2e_fail_reason "the second LB was never evacuated"; return; }
	sleep 0.5
	kill -INT -- "-$SCRIPT_PID"
	wait_for 10 eval '[ "$(region_field 2 eu-west state)" != evacuated ]' && sleep 0.3
	kill -INT "$SCRIPT_PID"
	wait "$SCRIPT_PID"
	rc=$?
	SCRIPT_PID=
	snap_both int1
	[ "$rc" = 130 ] && grep -q '^region-failover: interrupted$' "$out" &&
		grep -q 'compensating: interrupt ignored' "$out" &&
		[ "$(tail -n 1 "$out")" = "region-failover: result: interrupted; compensated: every load balancer touched is as it was (exit 130)" ] &&
		[ "$(grep -n "compensated: back_to_active $GD2_SOCK" "$out" | cut -d: -f1)" -lt \
			"$(grep -n "compensated: back_to_active $GD_SOCK" "$out" | cut -d: -f1)" ] ||
		{ show "$out"; e2e_fail_reason "exit $rc, or the report"; return; }
	same_as int0 int1
}

# Ctrl-C in the middle of region-restore (the first LB ramping back): both LBs go back to
# evacuated, as they were before the restore; exit 130. Then a clean restore of both.
test_ctrl_c_in_restore_compensates_both() {
	local out=$LAB_DIR/rint.out rc
	run_script "$out" region-failover --settle 1 -t 30 eu-west || { show "$out"; e2e_fail_reason "region-failover failed"; return; }
	snap_both rint0
	run_bg "$out" region-restore -t 30 eu-west
	wait_for 20 eval '[ "$(region_field 1 eu-west state)" = restoring ]' ||
		{ ctrl_c; show "$out"; e2e_fail_reason "the first LB never began restoring"; return; }
	ctrl_c
	rc=$?
	snap_both rint1
	[ "$rc" = 130 ] && grep -q '^region-restore: interrupted$' "$out" &&
		grep -q "compensated: back_to_evacuated $GD_SOCK eu-west" "$out" ||
		{ show "$out"; e2e_fail_reason "exit $rc, or the report"; return; }
	# the second LB was not reached: untouched to the byte
	same_as rint0 rint1 && same_state 2 rint0 rint1 || return
	run_script "$out" region-restore -t 30 eu-west && [ "$(region_field 1 eu-west state)" = active ] &&
		[ "$(region_field 2 eu-west state)" = active ] || { show "$out"; e2e_fail_reason "the final restore failed"; }
}

E2E_TESTS=(
	test_both_lbs_carry_traffic
	test_usage_exits_2
	test_dry_run_changes_nothing_on_either
	test_preflight_refuses_unreachable_lb
	test_failover_and_restore_both_idempotent
	test_failure_on_second_lb_compensates_both
	test_ctrl_c_compensates_both
	test_ctrl_c_in_restore_compensates_both
)
e2e_run "$@"
