# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# skip.sh - the one way an e2e script skips (the shell side of tests/lib/testskip.h): it prints
# "SKIP name: reason", which tests/run.sh counts, and exits 0. Sourced by every e2e script.
# shellcheck shell=bash

# e2e_skip NAME REASON...: skip the whole script
e2e_skip() {
	local name=$1
	shift
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
		command -v "$c" >/dev/null 2>&1 || e2e_skip "$name" "'$c' is not installed"
	done
}
