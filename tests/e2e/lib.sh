# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# lib.sh - shared by the lab tests that run cellgated: the lab, the daemon, cellctl, cleanup
#
# Source it, then call e2e_init NAME: it makes a private lab (LAB_PREFIX
# cg<NAME><pid>, LAB_DIR a temp dir) and a trap that kills the daemon,
# removes its pins and tears the lab down on any exit. Results are printed as
# "PASS name", "FAIL name: why" or (skip.sh) "SKIP name: why"; tests/run.sh counts them.
# Every wait is bounded.
# shellcheck shell=bash

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/e2e/skip.sh
. "$top/tests/e2e/skip.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) build_dir=$BUILD ;; *) build_dir=$top/$BUILD ;; esac
# shellcheck disable=SC2034 # read by the test scripts that source this file
failed=0
GD_PID=

pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1${2:+: $2}"
	# shellcheck disable=SC2034 # read by the test scripts that source this file
	failed=1
}
# show FILE: indented, the context of a failure
show() { sed 's/^/    /' "$1" | tail -n "${2:-40}"; }

# check NAME COMMAND...: PASS if the command succeeds (its output discarded), FAIL otherwise
check() {
	local name=$1
	shift
	if "$@" >/dev/null; then pass "$name"; else fail "$name"; fi
}

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
	rm -rf "$LAB_DIR"
}

# e2e_init NAME: root check, a private lab dir and the cleanup trap. Exits (SKIP) without root.
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

# lab_up [--direct]: build the topology and load its variables (LAB_NS_*, LAB_VIP4, ...)
lab_up() {
	if ! LAB_NO_BUILD=1 bash "$top/scripts/lab.sh" up "$@" >"$LAB_DIR/lab-up.log" 2>&1; then
		fail lab_up
		show "$LAB_DIR/lab-up.log"
		exit 1
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
