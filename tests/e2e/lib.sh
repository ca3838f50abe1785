# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# lib.sh - shared by the e2e scripts: the test runner (e2e_run), results, and for the lab tests that
# run cellgated: the lab, the daemon, cellctl, cleanup
#
# A script is one shell function per test plus the list of them, and ends with e2e_run:
#
#   setup() { e2e_init NAME; lab_up || return; ...; }   # optional: once, before the first test
#   test_apply_writes_only_the_diff() { ...; }  # 0 pass, non-zero fail
#   E2E_TESTS=(test_apply_writes_only_the_diff ...)   # every test_ function, in running order
#   e2e_run "$@"
#
#   bash tests/e2e/test_x.sh               setup, then every listed test in order
#   bash tests/e2e/test_x.sh NAME...       setup, then only those tests (the test_ prefix is
#                                          optional); they still run in list order
#   bash tests/e2e/test_x.sh --list        the tests, one a line; needs no root, runs nothing
#
# Results are lines tests/run.sh counts: "PASS name", "FAIL name: why", "SKIP name: why" (name is
# the function's without test_). A test that returns 0 prints PASS; non-zero prints FAIL with the
# reason it gave through e2e_fail_reason (else its exit status); e2e_skip or e2e_require_* inside
# a test (skip.sh; write `e2e_require_cmd t x || return`) prints SKIP with the reason. A test that
# makes several named checks (check, pass, fail) prints those lines instead of its own, plus a
# FAIL line if it returns non-zero without having printed one. Tests share the shell: a test may
# use what an earlier one left (variables, daemon state) and says so in a comment; run alone by
# name it may then fail. setup may print PASS lines; if it fails (or prints a FAIL, or calls
# e2e_skip: the whole script skips) no test runs.
#
# For the lab: e2e_init NAME (in setup) makes a private lab (LAB_PREFIX cg<NAME><pid>, LAB_DIR a
# temp dir) and a trap that kills the daemon, removes its pins and tears the lab down on any exit,
# failure or interruption included. Every wait is bounded.
# shellcheck shell=bash

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/e2e/skip.sh
. "$top/tests/e2e/skip.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) build_dir=$BUILD ;; *) build_dir=$top/$BUILD ;; esac
GD_PID=

# ---- the runner ----

E2E_TEST=        # the test function running now; skip.sh's helpers read it
E2E_REASON=      # why the running test failed (e2e_fail_reason)
E2E_SKIP_REASON= # why it skipped (skip.sh's e2e_skip)
e2e_npass=0 e2e_nfail=0 e2e_nskip=0 # the script's lines so far
e2e_tlines=0 e2e_tfail=0            # the running test's (or setup's) lines, and its FAIL lines

# e2e_line PASS|FAIL|SKIP NAME [WHY]: print one result line and count it
e2e_line() {
	echo "$1 $2${3:+: $3}"
	case $1 in
	PASS) e2e_npass=$((e2e_npass + 1)) ;;
	FAIL) e2e_nfail=$((e2e_nfail + 1)) e2e_tfail=$((e2e_tfail + 1)) ;;
	SKIP) e2e_nskip=$((e2e_nskip + 1)) ;;
	esac
	e2e_tlines=$((e2e_tlines + 1))
}

# e2e_fail_reason WHY...: what the failing test prints after "FAIL name: "; returns 1, so a test
# can end with it or write `cond || e2e_fail_reason "..." || return`
e2e_fail_reason() {
	E2E_REASON=$*
	return 1
}

# pass NAME / fail NAME [WHY]: one named check of a test (or of setup). fail returns 1 and then
# calls e2e_fail_context if the script defines it (to show the last command's output).
pass() { e2e_line PASS "$1"; }
fail() {
	e2e_line FAIL "$1" "${2:-}"
	if declare -F e2e_fail_context >/dev/null; then e2e_fail_context; fi
	return 1
}

# check NAME COMMAND...: PASS if the command succeeds (its output discarded), FAIL otherwise, with
# the reason the command gave (e2e_fail_reason) or its first line
check() {
	local name=$1 cmd
	shift
	E2E_REASON=
	cmd=${*%%$'\n'*}
	if "$@" >/dev/null; then pass "$name"; else fail "$name" "${E2E_REASON:-failed: ${cmd:0:70}}"; fi
}

# e2e_run [--list | NAME...]: run setup (if defined), then the tests of E2E_TESTS (all, or those
# named) in list order, one result line each, then a summary line. Returns 0 if nothing failed, 2
# on a bad name or list (nothing run).
e2e_run() {
	local script t name found sel=() rc
	script=$(basename "$0")
	# shellcheck disable=SC2153 # E2E_TESTS is the script's
	if ! declare -p E2E_TESTS >/dev/null 2>&1; then
		echo "$script: no E2E_TESTS list" >&2
		return 2
	fi
	for t in "${E2E_TESTS[@]}"; do
		if [[ $t != test_* ]] || ! declare -F "$t" >/dev/null; then
			echo "$script: '$t' in E2E_TESTS is not a test_ function" >&2
			return 2
		fi
	done
	for t in $(declare -F | awk '$3 ~ /^test_/ {print $3}'); do
		if ! e2e_listed "$t"; then
			echo "$script: $t is defined but not in E2E_TESTS" >&2
			return 2
		fi
	done
	case ${1:-} in
	--list)
		printf '%s\n' "${E2E_TESTS[@]}"
		return 0
		;;
	-h | --help)
		echo "usage: $script [--list | TEST...]   (TEST with or without its test_ prefix)"
		return 0
		;;
	-*)
		echo "$script: unknown option '$1' (--list, or test names)" >&2
		return 2
		;;
	esac
	for name; do
		t=test_${name#test_}
		if ! e2e_listed "$t"; then
			echo "$script: no test '$name' (--list shows them)" >&2
			return 2
		fi
		sel+=("$t")
	done

	if declare -F setup >/dev/null; then
		E2E_REASON='' e2e_tlines=0 e2e_tfail=0
		setup
		rc=$?
		if [ "$rc" -ne 0 ] || [ "$e2e_tfail" -gt 0 ]; then
			[ "$e2e_tfail" -eq 0 ] && e2e_line FAIL setup "${E2E_REASON:-exit status $rc}"
			e2e_summary "$script"
			return 1
		fi
	fi
	for t in "${E2E_TESTS[@]}"; do
		if [ ${#sel[@]} -gt 0 ]; then
			found=0
			for name in "${sel[@]}"; do [ "$name" = "$t" ] && found=1; done
			[ "$found" -eq 1 ] || continue
		fi
		e2e_run_one "$t"
	done
	e2e_summary "$script"
	[ "$e2e_nfail" -eq 0 ]
}

# e2e_listed FUNCTION: true if FUNCTION is in E2E_TESTS
e2e_listed() {
	local t
	for t in "${E2E_TESTS[@]}"; do [ "$t" = "$1" ] && return 0; done
	return 1
}

# e2e_run_one FUNCTION: run one test in this shell and print its line (see the top of the file)
e2e_run_one() {
	local t=$1 name=${1#test_} rc
	E2E_TEST=$t E2E_REASON='' E2E_SKIP_REASON='' e2e_tlines=0 e2e_tfail=0
	"$t"
	rc=$?
	E2E_TEST=
	if [ -n "$E2E_SKIP_REASON" ]; then
		e2e_line SKIP "$name" "$E2E_SKIP_REASON"
	elif [ "$e2e_tlines" -eq 0 ] && [ "$rc" -eq 0 ]; then
		e2e_line PASS "$name"
	elif [ "$rc" -ne 0 ] && [ "$e2e_tfail" -eq 0 ]; then
		fail "$name" "${E2E_REASON:-exit status $rc}"
	fi
	return 0
}

e2e_summary() { echo "$1: $e2e_npass passed, $e2e_nfail failed, $e2e_nskip skipped"; }

# ---- the lab ----

# show FILE: indented, the context of a failure
show() { sed 's/^/    /' "$1" | tail -n "${2:-40}"; }

# in_lb CMD...: run in the LB's network namespace. nsenter, not 'ip netns exec': the latter
# remounts /sys, and pins made under it would vanish with the process.
in_lb() { nsenter --net="/run/netns/$LAB_NS_LB" "$@"; }
in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

cctl() { in_lb "$build_dir/cellctl" -s "$GD_SOCK" --pin-dir "$LAB_PIN_DIR" --state-dir "$GD_STATE" "$@"; }

# e2e_cleanup: everything e2e_init and the test made, whatever state it is in
# shellcheck disable=SC2317 # called by the trap
e2e_cleanup() {
	trap - EXIT INT TERM
	[ -n "$GD_PID" ] && kill -9 "$GD_PID" 2>/dev/null
	wait 2>/dev/null
	if [ -n "${LAB_NS_LB:-}" ] && [ -e "/run/netns/$LAB_NS_LB" ]; then
		in_lb "$build_dir/cellgated" --teardown -p "$LAB_PIN_DIR" >/dev/null 2>&1
	fi
	bash "$top/scripts/lab.sh" down >/dev/null 2>&1
	[ -n "${E2E_KEEP_LOG:-}" ] && [ -f "${GD_LOG:-}" ] && cp "$GD_LOG" "$E2E_KEEP_LOG"
	rm -rf "$LAB_DIR"
}

# e2e_init NAME: root check, a private lab dir and the cleanup trap. Call it in setup: without
# root the whole script skips (exits).
e2e_init() {
	e2e_require_root "$1" "namespaces, veth, XDP, bpffs"
	export LAB_PREFIX=cg${1//[^a-z0-9]/}$$
	LAB_DIR=$(mktemp -d "/tmp/cg-e2e-$1.XXXXXX") || exit 1
	export LAB_DIR BUILD
	GD_STATE=$LAB_DIR/state
	GD_SOCK=$LAB_DIR/ctl.sock
	GD_LOG=$LAB_DIR/cellgated.log
	trap e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Set by lab_up from `scripts/lab.sh env` (eval'ed, so named here for readers and shellcheck).
LAB_NS_LB=${LAB_NS_LB:-} LAB_NS_C1=${LAB_NS_C1:-} LAB_NS_C2=${LAB_NS_C2:-}

# lab_up [--direct]: build the topology and load its variables (LAB_NS_*, LAB_VIP4, ...); on
# failure prints FAIL lab_up and returns 1 (for setup: `lab_up || return`)
lab_up() {
	if ! LAB_NO_BUILD=1 bash "$top/scripts/lab.sh" up "$@" >"$LAB_DIR/lab-up.log" 2>&1; then
		show "$LAB_DIR/lab-up.log"
		fail lab_up "scripts/lab.sh up failed"
		return
	fi
	eval "$(bash "$top/scripts/lab.sh" env)"
}

# gd_start [CONFIG]: start cellgated in the LB namespace and wait until every cell of the
# config is active in the data plane (next hops resolved). Returns 1 on timeout.
# GD_WRAP, if set, is a command (words split at spaces) cellgated runs under, e.g. valgrind: it
# must exec the daemon in its own process, as valgrind does, so that GD_PID stays the daemon's.
gd_start() {
	local cfg=${1:-$LAB_CONFIG} i
	# nsenter execs cellgated, so $! is the daemon itself (a backgrounded function would be a
	# subshell, and kill -9 would miss the daemon)
	# shellcheck disable=SC2086 # GD_WRAP is split into its words on purpose
	nsenter --net="/run/netns/$LAB_NS_LB" ${GD_WRAP:-} "$build_dir/cellgated" -c "$cfg" -d "$GD_STATE" \
		-p "$LAB_PIN_DIR" -s "$GD_SOCK" >>"$GD_LOG" 2>&1 &
	GD_PID=$!
	for ((i = 0; i < 100; i++)); do
		# the daemon itself must answer (not cellctl's fallback on the pins)
		if cctl -j status 2>/dev/null | jq -e --argjson p "$GD_PID" '.pid == $p' \
			>/dev/null 2>&1 && cctl -j cell list 2>/dev/null |
			jq -e 'all(.[]; .state != "active" or .dataplane.state == "active")' \
				>/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$GD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "cellgated did not become ready:" >&2
	show "$GD_LOG" >&2
	return 1
}

# gd_kill9: the daemon dies without a chance to clean anything
gd_kill9() {
	[ -n "$GD_PID" ] || return 0
	kill -9 "$GD_PID" 2>/dev/null
	wait "$GD_PID" 2>/dev/null
	GD_PID=
}

# gd_stop: SIGTERM, and wait (bounded)
gd_stop() {
	local i
	[ -n "$GD_PID" ] || return 0
	kill -TERM "$GD_PID" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$GD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$GD_PID" 2>/dev/null
	wait "$GD_PID" 2>/dev/null
	GD_PID=
}

# client NS ARGS...: labclient in NS, bounded; output on stdout
client() {
	local ns=$1
	shift
	timeout 60 ip netns exec "$ns" "$LAB_LABCLIENT" "$@" --timeout-ms 2000 --deadline-ms 45000
}

# client_bg OUT NS ARGS...: labclient in the background, its output in OUT; sets CLIENT_PID
client_bg() {
	local out=$1
	shift
	client "$@" >"$out" 2>&1 &
	# shellcheck disable=SC2034 # read by the test scripts that source this file
	CLIENT_PID=$!
}

# total FILE FIELD: a field of labclient's total line (ok, fail, reset, moved)
total() { sed -n "s/^total .*\b$2=\([0-9]*\).*/\1/p" "$1"; }

# traffic_clean WANT FILE...: for each labclient output FILE (tcp.out, udp.out), PASS
# no_request_lost_no_flow_moved_<file name> if WANT requests were ok and none failed, moved or was
# reset, FAIL (with the counts and the output's tail) otherwise
traffic_clean() {
	local want=$1 f name
	shift
	for f; do
		name=$(basename "$f" .out)
		if [ "$(total "$f" ok)" = "$want" ] && [ "$(total "$f" fail)" = 0 ] &&
			[ "$(total "$f" moved)" = 0 ] && [ "$(total "$f" reset)" = 0 ]; then
			pass "no_request_lost_no_flow_moved_$name"
		else
			fail "no_request_lost_no_flow_moved_$name" "ok=$(total "$f" ok) of $want, fail=$(total \
				"$f" fail) moved=$(total "$f" moved) reset=$(total "$f" reset)"
			show "$f" 6
		fi
	done
}

# conns FILE: "sport cell" for every connection/flow labclient reported (first cell seen)
conns() { sed -n 's/^conn=[0-9]* sport=\([0-9]*\) cells=\([^ ,]*\).*/\1 \2/p' "$1"; }

# wait_for SECONDS COMMAND...: poll until the command succeeds
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
