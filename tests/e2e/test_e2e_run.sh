#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_e2e_run.sh - the e2e runner itself (lib.sh's e2e_run, skip.sh): one result line per test
# with its reason, named sub-checks, skips of one test or of the whole script, setup, shared
# state, one test by name, --list, bad names. Needs no root: it runs a small script of its own.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

setup() {
	dir=$(mktemp -d /tmp/cg-e2e-run.XXXXXX) || return
	trap 'rm -rf "$dir"' EXIT
	child=$dir/child.sh
	# the script under test; EXTRA defines a test it does not list, FAIL_SETUP and SKIP_ALL
	# make its setup fail or skip
	cat >"$child" <<CHILD
set -u
. "$top/tests/e2e/lib.sh"
setup() {
	echo "setup ran"
	[ -z "\${SKIP_ALL:-}" ] || e2e_skip child "asked to skip"
	[ -z "\${FAIL_SETUP:-}" ] || e2e_fail_reason "asked to fail"
}
test_ok() { shared=set; }
test_uses_state() { [ "\${shared:-}" = set ] || e2e_fail_reason "shared is '\${shared:-}'"; }
test_fails() { e2e_fail_reason "two is not three"; }
test_fails_plain() { false; }
test_skips() {
	e2e_require_cmd child cg-no-such-command || return
	echo "not reached"
}
test_group() {
	check sub_one true
	check sub_two false
}
test_group_returns() {
	pass sub_three
	return 3
}
[ -z "\${EXTRA:-}" ] || test_extra() { :; }
E2E_TESTS=(test_ok test_uses_state test_fails test_fails_plain test_skips test_group test_group_returns)
e2e_run "\$@"
CHILD
}

# run_child [ARGS...]: the child's output in $dir/out, its exit status in child_rc
run_child() {
	bash "$child" "$@" >"$dir/out" 2>"$dir/err"
	child_rc=$?
}

# expect STATUS TEXT: the child exited STATUS and printed exactly TEXT
expect() {
	if [ "$child_rc" -eq "$1" ] && [ "$(cat "$dir/out")" = "$2" ]; then
		return 0
	fi
	show "$dir/out"
	show "$dir/err"
	e2e_fail_reason "exit status $child_rc (want $1), or the output above is not what was expected"
}

test_runner_all_tests_in_order() {
	run_child
	expect 1 "setup ran
PASS ok
PASS uses_state
FAIL fails: two is not three
FAIL fails_plain: exit status 1
SKIP skips: 'cg-no-such-command' is not installed
PASS sub_one
FAIL sub_two: failed: false
PASS sub_three
FAIL group_returns: exit status 3
child.sh: 4 passed, 4 failed, 1 skipped"
}

test_runner_list() {
	run_child --list
	expect 0 "test_ok
test_uses_state
test_fails
test_fails_plain
test_skips
test_group
test_group_returns"
}

# names with or without test_, run in list order after setup; a skip alone exits 0
test_runner_by_name() {
	run_child test_skips ok
	expect 0 "setup ran
PASS ok
SKIP skips: 'cg-no-such-command' is not installed
child.sh: 1 passed, 0 failed, 1 skipped"
}

# alone, a test that needs an earlier one's state fails (which is why such tests say so)
test_runner_by_name_without_state() {
	run_child uses_state
	expect 1 "setup ran
FAIL uses_state: shared is ''
child.sh: 0 passed, 1 failed, 0 skipped"
}

test_runner_unknown_name() {
	run_child ok nope
	expect 2 "" || return
	grep -qx "child.sh: no test 'nope' (--list shows them)" "$dir/err" ||
		e2e_fail_reason "stderr: $(cat "$dir/err")"
}

test_runner_unknown_option() {
	run_child --frob
	expect 2 ""
}

test_runner_unlisted_test() {
	EXTRA=1 run_child --list
	expect 2 "" || return
	grep -qx "child.sh: test_extra is defined but not in E2E_TESTS" "$dir/err" ||
		e2e_fail_reason "stderr: $(cat "$dir/err")"
}

test_runner_setup_fails() {
	FAIL_SETUP=1 run_child
	expect 1 "setup ran
FAIL setup: asked to fail
child.sh: 0 passed, 1 failed, 0 skipped"
}

test_runner_setup_skips_script() {
	SKIP_ALL=1 run_child
	expect 0 "setup ran
SKIP child: asked to skip"
}

E2E_TESTS=(
	test_runner_all_tests_in_order
	test_runner_list
	test_runner_by_name
	test_runner_by_name_without_state
	test_runner_unknown_name
	test_runner_unknown_option
	test_runner_unlisted_test
	test_runner_setup_fails
	test_runner_setup_skips_script
)
e2e_run "$@"
