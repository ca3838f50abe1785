# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# skip.sh - the one way an e2e test skips (the shell side of tests/lib/testskip.h). Sourced through
# lib.sh by every e2e script. Outside a test (at the top of a script, or in its setup) a skip is of
# the whole script: it prints "SKIP name: reason", which tests/run.sh counts, and exits 0. Inside a
# test that e2e_run runs (E2E_TEST set) it skips only that test: it records the reason and returns
# 1, the test returns (`e2e_require_cmd t ethtool || return`) and e2e_run prints "SKIP test: reason".
# shellcheck shell=bash

# e2e_skip NAME REASON...: skip the test running now, or else the whole script (named NAME)
e2e_skip() {
	local name=$1
	shift
	if [ -n "${E2E_TEST:-}" ]; then
		# shellcheck disable=SC2034 # read by lib.sh's e2e_run
		E2E_SKIP_REASON=$*
		return 1
	fi
	echo "SKIP $name: $*"
	exit 0
}

# e2e_require_root NAME WHAT: skip unless root; WHAT says what needs it
e2e_require_root() {
	[ "$(id -u)" -eq 0 ] || e2e_skip "$1" "needs root ($2)"
}

# e2e_require_cmd NAME CMD...: skip unless every command is installed
e2e_require_cmd() {
	local name=$1 c
	shift
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || {
			e2e_skip "$name" "'$c' is not installed"
			return
		}
	done
}
