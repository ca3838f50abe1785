# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash disable=SC2034,SC2317 # variables and functions for the sourcing script
# failover-lib.sh - what scripts/region-failover, region-restore and drill share: the load
# balancers given, cellctl -j calls, waits with bounded exponential backoff and full jitter,
# and a stack of compensations run in reverse on failure, timeout or Ctrl-C.
#
# Sourced, not run. The caller sets PROG (its name) before sourcing. Everything goes through
# `cellctl -j` ($CELLCTL, default cellctl from PATH): these scripts never touch maps or files.

CELLCTL=${CELLCTL:-cellctl}
LBS=()		  # control sockets, one per load balancer (-s SOCK, repeatable)
COMP=()		  # compensations, newest last: each one "FUNC ARG..."
REPORT=()	  # lines of the final report
DRY_RUN=0
FORCE=0
REASON=""
TIMEOUT=120	  # seconds a wait may take, whole
BACKOFF_BASE_MS=${CG_BACKOFF_BASE_MS:-200} # first wait's cap, ms (the environment may set it)
BACKOFF_MAX_MS=${CG_BACKOFF_MAX_MS:-5000}   # no wait longer than this, ms

# Exit statuses, the same for every script (docs/failover.md).
EX_OK=0		 # done (or there was nothing to do)
EX_FAILED=1	 # a step failed; every compensation ran: the load balancers are as before
EX_USAGE=2	 # bad arguments
EX_PREFLIGHT=3	 # a preflight check refused: nothing was changed
EX_STUCK=4	 # a step failed and so did a compensation: an operator must look (see the report)
EX_INTERRUPTED=130 # Ctrl-C or TERM; compensated like a failure

WHY=""		  # why the step (or compensation) running now failed, for the report

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
report() { REPORT+=("$*"); }

# why SOCK TEXT: say what went wrong on that LB, and keep TEXT for the report's line
why() {
	WHY=$2
	say "$1: $2"
}

# ctl SOCK ARGS...: cellctl -j against one LB; its JSON on stdout, its status returned
ctl() {
	local sock=$1
	shift
	"$CELLCTL" -s "$sock" -j "$@"
}

# ctl_err FILE: the one-line error of a failed cellctl -j call (its JSON's "error"), or the text
ctl_err() { jq -r '.error // empty' "$1" 2>/dev/null || head -c 300 "$1"; }

# rand_ms N: a uniform random integer in [0, N]
rand_ms() { echo $((((RANDOM << 15) | RANDOM) % ($1 + 1))); }

# sleep_ms N
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# wait_for WHAT CMD...: run CMD until it succeeds, waiting between tries with exponential
# backoff and full jitter (a uniform wait in [0, min(max, base * 2^n, time left)]), for at most
# $TIMEOUT seconds in all. Returns 0 once CMD succeeded, 1 on timeout (said with WHAT).
wait_for() {
	local what=$1 n=0 cap deadline left
	shift
	deadline=$((SECONDS + TIMEOUT))
	while ! "$@"; do
		left=$(((deadline - SECONDS) * 1000))
		if [ "$left" -le 0 ]; then
			WHY="timed out after ${TIMEOUT}s waiting for $what"
			say "$WHY"
			return 1
		fi
		cap=$((BACKOFF_BASE_MS << (n < 10 ? n : 10)))
		[ "$cap" -gt "$BACKOFF_MAX_MS" ] && cap=$BACKOFF_MAX_MS
		[ "$cap" -gt "$left" ] && cap=$left
		sleep_ms "$(rand_ms "$cap")"
		n=$((n + 1))
	done
}

# push_comp FUNC ARGS...: remember FUNC ARGS... (a function of the script, args without
# spaces) as the compensation of the step about to run; it must be safe whether or not that
# step ran, and return 0 once the LB is back as it was
push_comp() { COMP+=("$*"); }

# compensate WHY: run the compensations newest first. Returns 0 if every one succeeded.
compensate() {
	local i rc=0 words
	[ "${#COMP[@]}" -gt 0 ] || return 0
	say "compensating (${#COMP[@]} step(s)): $1"
	for ((i = ${#COMP[@]} - 1; i >= 0; i--)); do
		read -r -a words <<<"${COMP[i]}"
		WHY=""
		if "${words[@]}"; then
			report "compensated: ${COMP[i]}"
		else
			report "COMPENSATION FAILED: ${COMP[i]}${WHY:+: $WHY}"
			rc=1
		fi
	done
	COMP=()
	return "$rc"
}

# finish STATUS: print the report and exit STATUS
finish() {
	local l
	for l in "${REPORT[@]}"; do printf '%s: %s\n' "$PROG" "$l"; done
	exit "$1"
}

# ignore_signals: while compensating, a second Ctrl-C or TERM does not cut the compensation
# short (each of its waits is bounded by --timeout); it is said, not obeyed
ignore_signals() { trap 'say "compensating: interrupt ignored until the compensation is done"' INT TERM; }

# fail WHAT: a step failed: compensate, report (what failed and why, each compensation, the
# outcome), exit EX_FAILED (EX_STUCK if a compensation failed)
fail() {
	report "failed: $*${WHY:+: $WHY}"
	ignore_signals
	if compensate "$*"; then
		report "result: failed; compensated: every load balancer touched is as it was (exit $EX_FAILED)"
		finish "$EX_FAILED"
	fi
	stuck
}

# on_signal: Ctrl-C or TERM in the middle: compensate, exit EX_INTERRUPTED (or EX_STUCK)
on_signal() {
	ignore_signals
	report "interrupted"
	if compensate "interrupted"; then
		report "result: interrupted; compensated: every load balancer touched is as it was (exit $EX_INTERRUPTED)"
		finish "$EX_INTERRUPTED"
	fi
	stuck
}

# stuck: a compensation failed: the last line says so, exit EX_STUCK
stuck() {
	report "result: STUCK: a compensation failed (above); an operator must look (exit $EX_STUCK)"
	finish "$EX_STUCK"
}

# region_state SOCK REGION: the region's state on one LB (active, draining, evacuated,
# restoring), nothing and 1 if it cannot be read
region_state() { ctl "$1" region show "$2" 2>/dev/null | jq -er '.state'; }

# region_is SOCK REGION STATE: the region is in STATE on that LB
region_is() { [ "$(region_state "$1" "$2")" = "$3" ]; }

# cells_new_flows SOCK REGION: the new-flow counters of the region's cells, summed
cells_new_flows() {
	local cells
	cells=$(ctl "$1" region show "$2" | jq -c '[.cell_list[].name]') || return 1
	ctl "$1" stats | jq -e --argjson c "$cells" \
		'[.cells | to_entries[] | select(.key as $k | $c | index($k)) | .value.new_flows] | add // 0'
}

# ramp_seconds SOCK REGION: how long the region's restore ramp takes on that LB at most: each
# step is held its dwell plus up to a second (steps are stamped in whole seconds)
ramp_seconds() { ctl "$1" region show "$2" | jq -er '(.ramp | length) * (.dwell + 1)'; }

# lb_reachable SOCK: cellgated itself answers (not cellctl's read-only fallback on the pins and
# the persisted state, which has no pid and says its "source") and is not fail-static
lb_reachable() {
	local out
	out=$(ctl "$1" status 2>/dev/null) || return 1
	jq -e '(.source == null) and (.pid | type == "number") and ((.fail_static // "") == "")' \
		<<<"$out" >/dev/null
}

# common_usage: the options every script takes
common_usage() {
	cat <<EOF
  -s, --socket SOCK   a load balancer's control socket (repeat for several; default
                      /run/cellgate/ctl.sock)
  -n, --dry-run       check and print the plan on every load balancer; change nothing
  -f, --force         let cellgated override a safety rule (logged with the reason)
  -r, --reason TEXT   why (kept with the transition; default: "$PROG")
  -t, --timeout S     longest wait for one step, seconds (default $TIMEOUT)
  -h, --help          this help
Environment: CELLCTL (the cellctl to run), CG_BACKOFF_BASE_MS and CG_BACKOFF_MAX_MS (the
waits' backoff: first cap and largest wait, default $BACKOFF_BASE_MS and $BACKOFF_MAX_MS ms).
EOF
}

# parse_common ARGS...: the common options into LBS, DRY_RUN, FORCE, REASON, TIMEOUT; the
# remaining words into ARGS (the caller's positional arguments). Exits EX_USAGE on a bad one.
ARGS=()
parse_common() {
	while [ $# -gt 0 ]; do
		case $1 in
		-s | --socket)
			[ $# -ge 2 ] || { say "$1 needs a socket path"; exit "$EX_USAGE"; }
			LBS+=("$2")
			shift
			;;
		-n | --dry-run) DRY_RUN=1 ;;
		-f | --force) FORCE=1 ;;
		-r | --reason)
			[ $# -ge 2 ] || { say "$1 needs a text"; exit "$EX_USAGE"; }
			REASON=$2
			shift
			;;
		-t | --timeout)
			if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]{0,4}$ ]]; then
				say "$1 needs a number of seconds, 1..99999"
				exit "$EX_USAGE"
			fi
			TIMEOUT=$2
			shift
			;;
		-h | --help)
			usage
			exit "$EX_OK"
			;;
		--)
			shift
			ARGS+=("$@")
			break
			;;
		-*)
			say "unknown option '$1' (see --help)"
			exit "$EX_USAGE"
			;;
		*) ARGS+=("$1") ;;
		esac
		shift
	done
	if ! [[ $BACKOFF_BASE_MS =~ ^[1-9][0-9]{0,5}$ && $BACKOFF_MAX_MS =~ ^[1-9][0-9]{0,5}$ ]] ||
		[ "$BACKOFF_BASE_MS" -gt "$BACKOFF_MAX_MS" ]; then
		say "CG_BACKOFF_BASE_MS and CG_BACKOFF_MAX_MS need 1..999999 ms, the base not above the max"
		exit "$EX_USAGE"
	fi
	[ "${#LBS[@]}" -gt 0 ] || LBS=(/run/cellgate/ctl.sock)
	[ -n "$REASON" ] || REASON=$PROG
	command -v jq >/dev/null || { say "jq is needed"; exit "$EX_USAGE"; }
	command -v "$CELLCTL" >/dev/null || { say "cellctl not found (set CELLCTL)"; exit "$EX_USAGE"; }
}

# transition_args: the options a transition command gets from the common ones
transition_args() {
	local a=(--reason "$REASON")
	[ "$FORCE" = 1 ] && a+=(--force)
	printf '%s\n' "${a[@]}"
}
