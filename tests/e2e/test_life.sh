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
	GD_WRAP="env LD_PRELOAD=$build_dir/tests/lib/shim_fault.so CG_FAULT_DIR=$FAULT"
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

# the change is saved but the data plane cannot take it (no new table map): exit 3, its own
# marker in the reply; once the fault is gone the retry timer finishes the job
test_dataplane_refusal_exits_3() {
	local rc=0 out=$LAB_DIR/dp.json err=$LAB_DIR/dp.err
	touch "$FAULT/map_create"
	cctl -j cell set "$cell" --weight 170 >"$out" 2>"$err" || rc=$?
	rm -f "$FAULT/map_create"
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

E2E_TESTS=(
	test_dir_fsync_failure_is_applied_with_a_warning
	test_dataplane_refusal_exits_3
)
e2e_run "$@"
