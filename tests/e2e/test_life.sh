#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_life.sh - the daemon's life cycle: a change saved with an unsynced directory is applied with
# a warning; a change the data plane refuses after it was saved exits 3; a bad persisted state or a
# missing interface at start is fail-static (data plane untouched, control socket up, repaired by
# config apply); stale link pins of interfaces the state no longer names are removed at start;
# changes the kernel or bpffs would refuse are refused first
#
# One lab for all tests (setup); the tests run in order, each on the state the one before left
# (lib.sh, e2e_run). cellgated runs under tests/lib/shim_fault.so (LD_PRELOAD): a test turns a
# fault on by creating a file in $FAULT (see the shim's comment) and always removes it again.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

setup() {
	e2e_init life
	lab_up || return
	FAULT=$LAB_DIR/fault
	mkdir -p "$FAULT"
	# a sanitizer build (make test SAN=1) wants its runtime first in the preload list
	asan=$(ldd "$build_dir/cellgated" 2>/dev/null | awk '/libasan/ {print $3}')
	GD_WRAP="env LD_PRELOAD=${asan:+$asan:}$build_dir/tests/lib/shim_fault.so CG_FAULT_DIR=$FAULT"
	gd_start || fail cellgated_start "cellgated did not become ready" || return
	cell=${LAB_CELLS%% *}
}

# cell_weight NAME: the weight the daemon's desired state has for a cell
cell_weight() { cctl -j cell list | jq -r --arg n "$1" '.[] | select(.name == $n) | .weight'; }

# the directory's fsync fails after the rename: applied (exit 0), with the warning in reply and log
test_dir_fsync_failure_is_applied_with_a_warning() {
	local rc=0 out=$LAB_DIR/fsync.out err=$LAB_DIR/fsync.err
	touch "$FAULT/fsync_dir"
	cctl cell set "$cell" --weight 150 >"$out" 2>"$err" || rc=$?
	rm -f "$FAULT/fsync_dir"
	if [ "$rc" -ne 0 ] || ! grep -q 'applied, generation' "$out" ||
		! grep -q "saved, durability unknown (fsync of $GD_STATE: Input/output error)" "$err" ||
		! grep -q "saved, durability unknown (fsync of $GD_STATE" "$GD_LOG" ||
		[ "$(cell_weight "$cell")" != 150 ] || ! grep -q 'weight: 150' "$GD_STATE/state.yaml"; then
		show "$out"
		show "$err"
		e2e_fail_reason "exit $rc, no 'applied' or no durability warning, or weight not 150"
	fi
}

# the change is saved but the data plane cannot take it (the table swap fails): exit 3, its own
# marker in the reply; once the fault is gone the retry timer finishes the job
test_dataplane_refusal_exits_3() {
	local rc=0 out=$LAB_DIR/dp.json err=$LAB_DIR/dp.err
	touch "$FAULT/table_publish"
	cctl -j cell set "$cell" --weight 170 >"$out" 2>"$err" || rc=$?
	rm -f "$FAULT/table_publish"
	if [ "$rc" -ne 3 ] || ! jq -e '.applied and (.dataplane_error | startswith("saved, but the data plane refused it"))' \
		"$out" >/dev/null || ! grep -q 'saved, but the data plane refused it' "$err" ||
		! grep -q 'weight: 170' "$GD_STATE/state.yaml"; then
		show "$out"
		show "$err"
		e2e_fail_reason "exit $rc (want 3), or no dataplane_error marker, or not saved"
		return 1
	fi
	wait_for 5 grep -q 'reconcile (next hop resolved): wrote.*tables [1-9]' "$GD_LOG" ||
		e2e_fail_reason "the retry did not write the table"
}

# gd_start_fs WORD: start cellgated (as gd_start does) and wait until its status says it is
# fail-static with WORD in the reason
gd_start_fs() {
	# shellcheck disable=SC2086 # GD_WRAP is split into its words on purpose
	nsenter --net="/run/netns/$LAB_NS_LB" ${GD_WRAP:-} "$build_dir/cellgated" -d "$GD_STATE" \
		-p "$LAB_PIN_DIR" -s "$GD_SOCK" >>"$GD_LOG" 2>&1 &
	GD_PID=$!
	wait_for 10 fs_says "$1"
}

# fs_says WORD: cellctl status says fail-static, with WORD in the reason
fs_says() { cctl status 2>/dev/null | grep -q "^FAIL-STATIC: .*$1"; }

# xdp_on IF: the router is attached to the LB's interface IF
xdp_on() { in_lb ip link show dev "$1" 2>/dev/null | grep -q 'prog/xdp'; }

# a second veth in the LB namespace, served by a config of two interfaces (cfg2)
extra_iface_up() {
	in_lb ip link add cglife0 type veth peer name cglife1 2>/dev/null
	in_lb ip link set cglife0 up && in_lb ip link set cglife1 up
	cfg2=$LAB_DIR/two-ifaces.yaml
	sed "s/^interfaces: \[.*\]/interfaces: [$LAB_LB_IF, cglife0]/" "$LAB_CONFIG" >"$cfg2"
}

# the interface leaves the config while cellgated is down (a fresh state from a config without
# it): its link and pin are removed at start, with a log line
test_stale_link_pin_removed_at_start() {
	extra_iface_up
	cctl config apply "$cfg2" >/dev/null || e2e_fail_reason "cannot apply $cfg2" || return
	[ -e "$LAB_PIN_DIR/link_cglife0" ] && xdp_on cglife0 ||
		e2e_fail_reason "cglife0 not attached and pinned" || return
	gd_stop
	rm -f "$GD_STATE/state.yaml"
	gd_start || e2e_fail_reason "cellgated did not restart" || return
	if [ -e "$LAB_PIN_DIR/link_cglife0" ] || xdp_on cglife0 ||
		! grep -q "removed the stale link of 'cglife0'" "$GD_LOG" || ! xdp_on "$LAB_LB_IF"; then
		show "$GD_LOG" 10
		e2e_fail_reason "the stale link of cglife0 is still there, or not logged"
	fi
}

# start_without_cglife0: apply $cfg2 (which names cglife0), stop cellgated, remove cglife0 and
# start again: it must come up fail-static on the missing interface
start_without_cglife0() {
	extra_iface_up
	cctl config apply "$cfg2" >/dev/null || e2e_fail_reason "cannot apply $cfg2" || return
	gd_stop
	in_lb ip link del cglife0
	gd_start_fs "cannot attach to 'cglife0': no such interface" ||
		e2e_fail_reason "not fail-static on the missing cglife0"
}

# an interface the state names is gone when cellgated starts: fail-static (reason in status,
# the data plane and its pins left as they are, changes refused, reads work); a config apply
# without it repairs it and removes the stale pin
test_missing_interface_at_start_is_fail_static() {
	local err=$LAB_DIR/missing.err
	start_without_cglife0 || return
	[ -e "$LAB_PIN_DIR/link_cglife0" ] && xdp_on "$LAB_LB_IF" ||
		e2e_fail_reason "the data plane was touched" || return
	! cctl cell set "$cell" --weight 7 2>"$err" && grep -q 'fail-static' "$err" ||
		e2e_fail_reason "a change was not refused as fail-static" || return
	cctl -j cell list | jq -e 'length == 6' >/dev/null || e2e_fail_reason "cell list does not work" ||
		return
	cctl config apply "$LAB_CONFIG" >/dev/null 2>"$err" || e2e_fail_reason "the repair failed" || return
	if fs_says '' || [ -e "$LAB_PIN_DIR/link_cglife0" ] || ! grep -q 'fail-static ends' "$GD_LOG"; then
		show "$GD_LOG" 10
		e2e_fail_reason "still fail-static after the repair, or the stale pin stayed"
	fi
}

# a persisted state that fails its check: fail-static, the maps adopted as they are, state reads
# refused with the reason; a config apply of a valid config repairs it and traffic flows
test_bad_state_is_fail_static_and_config_apply_repairs() {
	local err=$LAB_DIR/bad.err out=$LAB_DIR/bad.out top_cell top_svc
	top_cell=$(cctl -j cell list | jq '[.[].id] | max')
	top_svc=$(cctl -j service list | jq '[.[].id] | max')
	gd_stop
	sed -i 's/weight: 100/weight: 900/' "$GD_STATE/state.yaml"
	gd_start_fs crc32 || e2e_fail_reason "not fail-static on a corrupt state file" || return
	! cctl cell list 2>"$err" >/dev/null && grep -q 'fail-static.*crc32.*config apply' "$err" ||
		e2e_fail_reason "cell list was not refused with the reason" || return
	xdp_on "$LAB_LB_IF" || e2e_fail_reason "the router left $LAB_LB_IF" || return
	cctl config apply "$LAB_CONFIG" >/dev/null 2>"$err" || e2e_fail_reason "the repair failed" || return
	fs_says '' && e2e_fail_reason "still fail-static after the repair" && return 1
	grep -q 'weight: 900' "$GD_STATE/state.yaml.bad" || e2e_fail_reason "the refused file was not kept" ||
		return
	cctl -j cell list | jq -e 'length == 6 and all(.[]; .dataplane.state == "active")' >/dev/null ||
		e2e_fail_reason "not every cell active after the repair" || return
	# the unreadable state took its id marks along: new ids start above what the maps held
	cctl -j cell list | jq -e --argjson top "$top_cell" 'all(.[]; .id > $top)' >/dev/null ||
		e2e_fail_reason "a cell id at or below $top_cell was reissued by the repair" || return
	cctl -j service list | jq -e --argjson top "$top_svc" 'all(.[]; .id > $top)' >/dev/null ||
		e2e_fail_reason "a service id at or below $top_svc was reissued by the repair" || return
	client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 4 --requests 2 >"$out" 2>&1
	[ "$(total "$out" ok)" = 8 ] || e2e_fail_reason "traffic after the repair: ok=$(total "$out" ok) of 8"
}

# gen: the daemon's generation
gen() { cctl -j status | jq .generation; }

# an interface the state names is missing at start: fail-static; once it appears, cellgated
# leaves fail-static by itself (no operator), attaches to it and routes
test_interface_back_ends_fail_static() {
	local out=$LAB_DIR/back.out
	start_without_cglife0 || return
	extra_iface_up
	if ! wait_for 15 eval '! fs_says "" && xdp_on cglife0'; then
		show "$GD_LOG" 10
		e2e_fail_reason "still fail-static 15 s after cglife0 came back" || return
	fi
	grep -q "fail-static ends (its interfaces are there)" "$GD_LOG" ||
		e2e_fail_reason "the end of fail-static was not logged with its cause" || return
	client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 4 --requests 2 >"$out" 2>&1
	[ "$(total "$out" ok)" = 8 ] || e2e_fail_reason "traffic after the heal: ok=$(total "$out" ok) of 8" ||
		return
	cctl config apply "$LAB_CONFIG" >/dev/null || e2e_fail_reason "cannot apply $LAB_CONFIG"
}

# refused FILE PATTERN: config apply of FILE exits 1 with one line matching PATTERN on stderr, and
# the generation does not move
refused() {
	local g0 rc=0 err=$LAB_DIR/refused.err
	g0=$(gen)
	cctl config apply "$1" >/dev/null 2>"$err" || rc=$?
	if [ "$rc" -ne 1 ] || [ "$(wc -l <"$err")" -ne 1 ] || ! grep -q "$2" "$err" || [ "$(gen)" != "$g0" ]; then
		show "$err"
		e2e_fail_reason "exit $rc (want 1), not one line matching '$2', or the generation moved"
	fi
}

# an interface that does not exist: one line, nothing changed
test_missing_interface_in_a_change_is_refused() {
	local cfg=$LAB_DIR/nosuch.yaml
	sed "s/^interfaces: \[.*\]/interfaces: [$LAB_LB_IF, cgnosuch0]/" "$LAB_CONFIG" >"$cfg"
	refused "$cfg" "interface 'cgnosuch0' does not exist; nothing was changed"
}

# an xdp_mode unlike the pinned link's: one line, nothing changed
test_xdp_mode_unlike_the_links_is_refused() {
	local cfg=$LAB_DIR/generic.yaml
	sed 's/^xdp_mode: .*/xdp_mode: generic/' "$LAB_CONFIG" >"$cfg"
	refused "$cfg" "xdp_mode generic: the router's link on '$LAB_LB_IF' runs in native mode"
}

# a conntrack size the kernel refuses (made to by the shim: no map can be created): one line,
# nothing changed
test_conntrack_size_the_kernel_refuses_is_refused() {
	local cfg=$LAB_DIR/conntrack.yaml
	sed 's/^conntrack: .*/conntrack: 131072/' "$LAB_CONFIG" >"$cfg"
	touch "$FAULT/map_create"
	refused "$cfg" "conntrack 131072: the kernel refuses a connection table of that size"
	local rc=$?
	rm -f "$FAULT/map_create"
	return "$rc"
}

# an interface name with a dot (a VLAN's, eth0.100), which bpffs cannot pin as it is: its link
# pin's name escapes the dot, and it detaches and unpins as any other
test_dotted_interface_name_pins_escaped() {
	local cfg=$LAB_DIR/dotted.yaml pin="$LAB_PIN_DIR/link_cgl%2e100"
	in_lb ip link add cgl.100 type veth peer name cglp100 2>/dev/null
	in_lb ip link set cgl.100 up && in_lb ip link set cglp100 up
	sed "s/^interfaces: \[.*\]/interfaces: [$LAB_LB_IF, cgl.100]/" "$LAB_CONFIG" >"$cfg"
	cctl config apply "$cfg" >/dev/null || e2e_fail_reason "cannot apply a config with cgl.100" || return
	[ -e "$pin" ] && xdp_on cgl.100 || e2e_fail_reason "cgl.100 not attached, or no pin $pin" || return
	cctl config apply "$LAB_CONFIG" >/dev/null || e2e_fail_reason "cannot apply $LAB_CONFIG" || return
	if [ -e "$pin" ] || xdp_on cgl.100; then
		e2e_fail_reason "cgl.100 still attached or pinned"
	fi
}

E2E_TESTS=(
	test_dir_fsync_failure_is_applied_with_a_warning
	test_dataplane_refusal_exits_3
	test_stale_link_pin_removed_at_start
	test_missing_interface_at_start_is_fail_static
	test_interface_back_ends_fail_static
	test_bad_state_is_fail_static_and_config_apply_repairs
	test_missing_interface_in_a_change_is_refused
	test_xdp_mode_unlike_the_links_is_refused
	test_conntrack_size_the_kernel_refuses_is_refused
	test_dotted_interface_name_pins_escaped
)
e2e_run "$@"
