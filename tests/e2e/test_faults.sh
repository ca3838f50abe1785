#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_faults.sh - kill -9 of cellgated at random points of config applies (each a table swap)
# under steady traffic: after every restart the state is the old one or the new one, never a mix;
# the maps match the persisted state (a second adoption has nothing to write). A hot upgrade (a
# restart that loads a new program onto the pinned link) keeps the maps; one whose build changed the
# layout of derived maps recreates and refills them, one that changed the connection table's is
# refused. No request is lost and no flow moves on the healthy cells through all of it.
#
# One lab for all tests (setup), TCP and UDP traffic running through them; the tests run in order
# (lib.sh, e2e_run). FAULT_ROUNDS (default 20) kills; FAULT_SEED seeds the kill points (printed, so
# a failing run can be repeated). Bounded: the clients have a 45 s deadline, every wait a limit.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=${FAULT_ROUNDS:-20}
SEED=${FAULT_SEED:-$$}

# digest NAME: the digest the running daemon reports
digest() { cctl -j status | jq -r .digest; }

setup() {
	e2e_init faults
	e2e_require_cmd faults bpftool jq
	lab_up || return
	gd_start || fail cellgated_start "cellgated did not become ready" || return
	# two configs that differ in the Maglev weights of two cells: each apply swaps tables
	cfg_a=$LAB_DIR/a.yaml cfg_b=$LAB_DIR/b.yaml
	cctl config dump >"$cfg_a" || fail config_dump "config dump failed" || return
	sed '0,/weight: 100/s//weight: 300/; 0,/weight: 100/s//weight: 40/' "$cfg_a" >"$cfg_b"
	cmp -s "$cfg_a" "$cfg_b" && { fail configs "the two configs do not differ"; return; }
	digest_a=$(digest)
	cctl config apply "$cfg_b" >/dev/null || fail config_apply "config apply failed" || return
	digest_b=$(digest)
	cctl config apply "$cfg_a" >/dev/null || fail config_apply "config apply failed" || return
	[ "$digest_a" != "$digest_b" ] || fail digests "configs a and b have one digest" || return
	tcp=$LAB_DIR/tcp.out udp=$LAB_DIR/udp.out
	client_bg "$tcp" "$LAB_NS_C1" tcp "$LAB_VIP6" "$LAB_TCP_PORT" --conns 20 --requests 300 --interval-ms 100
	tcp_pid=$CLIENT_PID
	client_bg "$udp" "$LAB_NS_C2" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 20 --requests 300 --interval-ms 100
	udp_pid=$CLIENT_PID
	echo "# FAULT_SEED=$SEED FAULT_ROUNDS=$ROUNDS"
	RANDOM=$SEED
	sleep 0.5
}

# ROUNDS times: apply the other config, kill -9 after a random 0-15 ms, restart. The restarted
# daemon's digest is the old config's or the new one's; then kill and restart again: that adoption
# must write nothing, or the maps did not match the persisted state.
test_kill9_during_applies() {
	local i ms cur want to d apply_pid old=0 new=0 bad=
	cur=$digest_a
	for ((i = 1; i <= ROUNDS; i++)); do
		if [ "$cur" = "$digest_a" ]; then to=$cfg_b want=$digest_b; else to=$cfg_a want=$digest_a; fi
		ms=$((RANDOM % 16))
		cctl config apply "$to" >/dev/null 2>&1 &
		apply_pid=$!
		sleep "$(printf '0.%03d' "$ms")"
		gd_kill9
		wait "$apply_pid"
		: >"$GD_LOG"
		gd_start || { bad="round $i (kill at $ms ms): no restart"; break; }
		d=$(digest)
		if [ "$d" = "$want" ]; then
			new=$((new + 1))
		elif [ "$d" = "$cur" ]; then
			old=$((old + 1))
		else
			bad="round $i (kill at $ms ms): digest $d is neither the old $cur nor the new $want"
			break
		fi
		cur=$d
		gd_kill9
		: >"$GD_LOG"
		gd_start || { bad="round $i: no second restart"; break; }
		if grep -q 'reconcile (adopt): wrote' "$GD_LOG"; then
			show "$GD_LOG" 6
			bad="round $i (kill at $ms ms): the second adoption wrote to the maps"
			break
		fi
		[ "$(digest)" = "$cur" ] || { bad="round $i: the digest changed across a clean restart"; break; }
	done
	echo "# $ROUNDS kills: $old left the old state, $new the new one"
	[ -z "$bad" ] || e2e_fail_reason "$bad"
}

# the XDP program on the LB's interface (its id)
prog_id() { in_lb ip -j link show dev "$LAB_LB_IF" | jq -r '.[0].xdp.prog.id // empty'; }
# the forwarded-packet counter
fwd_packets() { cctl -j stats | jq -r '.counters.fwd.packets'; }
# connection-table entries
ct_entries() { bpftool -j map dump pinned "$LAB_PIN_DIR/conntrack" 2>/dev/null | jq length; }

# hot upgrade: a restart of cellgated (as a new build would be) under traffic loads its program,
# switches the pinned link to it in place, and keeps the maps: a new program id, the connection
# table kept, the counters continuing (the traffic check below: no request lost)
test_hot_upgrade() {
	local id0 id1 fwd0 fwd1 ct0 ct1
	id0=$(prog_id) fwd0=$(fwd_packets) ct0=$(ct_entries)
	gd_stop
	: >"$GD_LOG"
	gd_start || e2e_fail_reason "no restart" || return
	id1=$(prog_id) fwd1=$(fwd_packets) ct1=$(ct_entries)
	grep -q 'adopted the data plane' "$GD_LOG" || e2e_fail_reason "the restart did not adopt" || return
	[ -n "$id0" ] && [ -n "$id1" ] && [ "$id0" != "$id1" ] ||
		e2e_fail_reason "program id $id0 -> $id1: not replaced" || return
	[ "$fwd1" -ge "$fwd0" ] || e2e_fail_reason "fwd counter went from $fwd0 to $fwd1" || return
	[ "$ct1" -ge "$ct0" ] || e2e_fail_reason "connection table went from $ct0 to $ct1 entries"
}

# the drop counters, summed
drops() { cctl -j stats | jq '[.counters | to_entries[] | select(.key | startswith("drop_")) | .value.packets] | add'; }
# value size of the map pinned as NAME
pinned_value_size() { bpftool -j map show pinned "$LAB_PIN_DIR/$1" | jq -r .bytes_value; }
# the pins, each with its inode: a replaced pin has another
pins_list() { find "$LAB_PIN_DIR" -mindepth 1 -printf '%f %i\n' | sort; }

# with_traffic NAME FUNCTION: FUNCTION under its own TCP and UDP traffic (10 connections and 10 flows,
# 10 s), then the traffic check no_request_lost_no_flow_moved_NAME_tcp and _udp; returns FUNCTION's
# status (its E2E_REASON kept)
with_traffic() {
	local name=$1 fn=$2 t=$LAB_DIR/$1_tcp.out u=$LAB_DIR/$1_udp.out tp up rc
	client_bg "$t" "$LAB_NS_C1" tcp "$LAB_VIP6" "$LAB_TCP_PORT" --conns 10 --requests 100 --interval-ms 100
	tp=$CLIENT_PID
	client_bg "$u" "$LAB_NS_C2" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 10 --requests 100 --interval-ms 100
	up=$CLIENT_PID
	sleep 0.5
	"$fn"
	rc=$?
	wait "$tp" "$up"
	traffic_clean 1000 "$t" "$u"
	return "$rc"
}

# an upgrade whose build changed a map's layout: with the old build's pins (settings of 48-byte
# values, no budgets, no cell_moves counters) in place the running program goes on forwarding on
# its own maps; the restart adopts the rest, recreates settings, budgets and cell_moves (at
# zero), fills them before the link is switched and pins
# them after: a new program id, the connection table and the counters kept, no drop, no request
# lost, no flow moved; the next restart recreates nothing
upgrade_recreating() {
	local id0 id1 fwd0 fwd1 ct0 ct1 drop0 drop1 f
	in_lb rm -f "$LAB_PIN_DIR/settings" "$LAB_PIN_DIR/budgets" "$LAB_PIN_DIR/cell_moves"
	in_lb bpftool map create "$LAB_PIN_DIR/settings" type array key 4 value 48 entries 1 name settings ||
		e2e_fail_reason "bpftool map create failed" || return
	fwd0=$(fwd_packets)
	sleep 0.5
	fwd1=$(fwd_packets)
	[ "$fwd1" -gt "$fwd0" ] || e2e_fail_reason "with the old pins: fwd $fwd0 -> $fwd1, no traffic" || return
	id0=$(prog_id) fwd0=$(fwd_packets) ct0=$(ct_entries) drop0=$(drops)
	gd_stop
	: >"$GD_LOG"
	gd_start || e2e_fail_reason "no restart" || return
	id1=$(prog_id) fwd1=$(fwd_packets) ct1=$(ct_entries) drop1=$(drops)
	for f in "map 'settings': recreated (value size 48 -> 76), refilled from the desired state" \
		"map 'budgets': recreated (no pin)" \
		"map 'cell_moves': recreated (no pin), its counters start at zero" \
		"replaced the pins of 3 recreated map(s)" \
		'adopted the data plane'; do
		grep -qF "$f" "$GD_LOG" || { show "$GD_LOG" 12; e2e_fail_reason "no '$f' in the log"; return 1; }
	done
	[ "$(pinned_value_size settings)" = 76 ] ||
		e2e_fail_reason "settings pin: value size $(pinned_value_size settings), not 76" || return
	[ -e "$LAB_PIN_DIR/budgets" ] || e2e_fail_reason "no budgets pin" || return
	[ -e "$LAB_PIN_DIR/cell_moves" ] || e2e_fail_reason "no cell_moves pin" || return
	[ -n "$id0" ] && [ -n "$id1" ] && [ "$id0" != "$id1" ] ||
		e2e_fail_reason "program id $id0 -> $id1: not replaced" || return
	[ "$fwd1" -ge "$fwd0" ] || e2e_fail_reason "fwd counter went from $fwd0 to $fwd1" || return
	[ "$ct1" -ge "$ct0" ] || e2e_fail_reason "connection table went from $ct0 to $ct1 entries" || return
	[ "$drop1" = "$drop0" ] || e2e_fail_reason "drops went from $drop0 to $drop1" || return
	sleep 0.5
	[ "$(fwd_packets)" -gt "$fwd1" ] || e2e_fail_reason "no traffic after the upgrade" || return
	gd_stop
	: >"$GD_LOG"
	gd_start || e2e_fail_reason "no second restart" || return
	! grep -q 'recreated' "$GD_LOG" || e2e_fail_reason "the second restart recreated maps again"
}
test_upgrade_recreates_changed_maps() { with_traffic upgrade upgrade_recreating; }

# a conntrack pin of another layout: the restart refuses with the clear error (naming --teardown and
# what it drops) and changes no pin, while the running program forwards on (no request lost); with
# the real pin back the daemon adopts again
upgrade_refused() {
	local ctid key val before after out rc
	gd_stop
	ctid=$(bpftool -j map show pinned "$LAB_PIN_DIR/conntrack" | jq -r .id)
	key=$(bpftool -j map show pinned "$LAB_PIN_DIR/conntrack" | jq -r .bytes_key)
	val=$(bpftool -j map show pinned "$LAB_PIN_DIR/conntrack" | jq -r .bytes_value)
	rm -f "$LAB_PIN_DIR/conntrack"
	bpftool map create "$LAB_PIN_DIR/conntrack" type lru_hash key "$key" value $((val + 8)) \
		entries 4096 name conntrack flags 2 || e2e_fail_reason "bpftool map create failed"
	rc=$?
	before=$(pins_list)
	if [ "$rc" = 0 ]; then
		out=$(in_lb timeout 20 "$build_dir/cellgated" -c "$LAB_CONFIG" -d "$GD_STATE" -p "$LAB_PIN_DIR" \
			-s "$GD_SOCK" 2>&1)
		rc=$?
		after=$(pins_list)
		if [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
			e2e_fail_reason "cellgated started (status $rc) on a conntrack of another layout"
		elif ! grep -qF "cannot adopt '$LAB_PIN_DIR/conntrack': its value size differs from this build's ($((val + 8)) -> $val); 'cellgated --teardown' starts over but drops every connection entry" <<<"$out"; then
			e2e_fail_reason "not the clear error: $(head -c 300 <<<"$out")"
		elif [ "$before" != "$after" ]; then
			e2e_fail_reason "the refused start changed the pins"
		else
			rc=0
		fi
	fi
	# the real conntrack back, from the program that still runs on it
	rm -f "$LAB_PIN_DIR/conntrack"
	bpftool map pin id "$ctid" "$LAB_PIN_DIR/conntrack" || e2e_fail_reason "cannot pin conntrack back" || return
	: >"$GD_LOG"
	gd_start || e2e_fail_reason "no restart with the conntrack pin back" || return
	return "$rc"
}
test_upgrade_refuses_changed_conntrack() { with_traffic refused upgrade_refused; }

# no temp file is left once the daemon has started again
test_no_temp_files_left() {
	local left
	left=$(find "$GD_STATE" -name '*.tmp*' | wc -l)
	[ "$left" = 0 ] || e2e_fail_reason "$left temp file(s) in the state directory"
}

# the traffic of setup, through every kill: no_request_lost_no_flow_moved_tcp and _udp
test_no_request_lost_no_flow_moved() {
	wait "$tcp_pid" "$udp_pid"
	traffic_clean 6000 "$tcp" "$udp"
}

E2E_TESTS=(test_kill9_during_applies test_no_temp_files_left test_hot_upgrade test_upgrade_recreates_changed_maps
	test_upgrade_refuses_changed_conntrack test_no_request_lost_no_flow_moved)
e2e_run "$@"
