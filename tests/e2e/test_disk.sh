#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_disk.sh - a full and a read-only state directory: a change is refused with a clear error
# and nothing changes; an operator shed level that expires leaves the data plane whatever the
# disk does, and its expiry is saved once the disk has room again.
#
# The state directory is a 1 MiB tmpfs of the test's own (full: a file fills it; read-only: a
# read-only bind mount on top), so the daemon meets ENOSPC and EROFS as on a real disk. One lab and daemon for all
# tests, which run in order (lib.sh, e2e_run).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2317 # called by the trap
disk_cleanup() {
	gd_kill9
	umount -l "$GD_STATE" 2>/dev/null
	umount -l "$GD_STATE" 2>/dev/null
	e2e_cleanup
}

setup() {
	e2e_init disk
	e2e_require_cmd disk bpftool jq
	mkdir -p "$GD_STATE"
	mount -t tmpfs -o size=1m,mode=0700 cgstate "$GD_STATE" || fail tmpfs "cannot mount a tmpfs" || return
	trap disk_cleanup EXIT
	lab_up || return
	gd_start || fail cellgated_start "cellgated did not become ready" || return
}

digest() { cctl -j status | jq -r .digest; }
shed_map() { bpftool map dump pinned "$LAB_PIN_DIR/shed" | md5sum; }
fill() { dd if=/dev/zero of="$GD_STATE/filler" bs=64k 2>/dev/null; sync; }
unfill() { rm -f "$GD_STATE/filler"; }
no_level_saved() { ! grep -q 'reason: disk' "$GD_STATE/state.yaml"; }

# change TEST WHAT: a cell change on a disk that cannot take it: exit 1, one line naming WHAT,
# the same digest and state file after
refused_change() {
	local d0 f0 out=$LAB_DIR/change.err
	d0=$(digest) f0=$(md5sum <"$GD_STATE/state.yaml")
	if cctl cell set use1-a --weight 7 >/dev/null 2>"$out"; then
		e2e_fail_reason "the change was accepted"
		return
	fi
	if [ "$(wc -l <"$out")" != 1 ] || ! grep -q "$1" "$out"; then
		show "$out"
		e2e_fail_reason "no one-line error naming '$1'"
		return
	fi
	if [ "$(digest)" != "$d0" ] || [ "$(md5sum <"$GD_STATE/state.yaml")" != "$f0" ]; then
		e2e_fail_reason "the state changed"
	fi
}

test_full_disk_refuses_a_change() {
	fill
	refused_change "No space left on device"
	local rc=$?
	unfill
	return "$rc"
}

test_readonly_disk_refuses_a_change() {
	# a read-only bind mount on top: the daemon's open lock file keeps the tmpfs itself writable
	mount --bind "$GD_STATE" "$GD_STATE" && mount -o remount,bind,ro "$GD_STATE" ||
		e2e_fail_reason "cannot mount the state directory read-only" || return
	refused_change "Read-only file system"
	local rc=$?
	umount "$GD_STATE"
	return "$rc"
}

# a level set for 2 s; the disk fills; at expiry the shed map is as before the level; when the
# disk has room the expiry is saved (the persisted state has no level left)
test_expiry_reaches_the_maps_on_a_full_disk() {
	local m0 i
	m0=$(shed_map)
	cctl shed set --cell use1-a --class 3 --level 1 --ttl 2s --reason disk >/dev/null ||
		e2e_fail_reason "shed set failed" || return
	[ "$(shed_map)" != "$m0" ] || e2e_fail_reason "the level did not reach the shed map" || return
	fill
	for ((i = 0; i < 60; i++)); do
		[ "$(shed_map)" = "$m0" ] && break
		sleep 0.1
	done
	if [ "$(shed_map)" != "$m0" ]; then
		unfill
		show "$GD_LOG" 5
		e2e_fail_reason "the expired level is still in the shed map"
		return
	fi
	# any reconcile after the expiry drops the level from the map; the save is tried by the
	# expiry's own timer, which may come a moment later
	wait_for 5 grep -q 'cannot save the expiry of 1 shed level' "$GD_LOG" ||
		{ unfill; e2e_fail_reason "no 'cannot save the expiry' line in the log"; return; }
	unfill
	# retries back off 1 s, 2 s, 4 s ...: the next is at most 8 s away
	wait_for 10 no_level_saved ||
		e2e_fail_reason "the expiry was not saved after the disk had room"
}

E2E_TESTS=(test_full_disk_refuses_a_change test_readonly_disk_refuses_a_change
	test_expiry_reaches_the_maps_on_a_full_disk)
e2e_run "$@"
