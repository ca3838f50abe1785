#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_stats_watch.sh - `cellctl stats --watch` in a real terminal (tmux, 120x40): under steady
# traffic the screen's per-cell rows show non-zero rates exactly for the cells the counters say
# got traffic, 0 for the others, a per-(cell, class) block, the top drops, and it fits the pane
#
# One lab and daemon for all tests (setup); the tests read the screen setup's traffic draws.
# E2E_KEEP_SCREEN=FILE keeps the captured screen (what docs/cli.md shows).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

TMUX_SOCK=cgwatch$$ # a private tmux server: the trap kills it, and nothing else
SCREEN=
# the cells the services use; the lab's other cells must show no traffic
BUSY_CELLS="use1-a use1-b"

tmx() { tmux -L "$TMUX_SOCK" "$@"; }

# shellcheck disable=SC2317 # called by the trap
watch_cleanup() {
	tmx kill-server 2>/dev/null
	e2e_cleanup
}

# c1 is critical, c2 sheddable; every service on BUSY_CELLS only; traffic from both clients for
# 20 s (bounded by labclient's deadline too); the dashboard in tmux from the start
setup() {
	local cfg cmd
	e2e_init statswatch
	trap watch_cleanup EXIT
	command -v tmux >/dev/null 2>&1 || bash "$top/scripts/deps.sh" >/dev/null 2>&1
	e2e_require_cmd statswatch tmux jq
	lab_up || return
	cfg=$LAB_DIR/watch.yaml
	sed "s/^    cells: \[.*\]$/    cells: [${BUSY_CELLS// /, }]/" "$LAB_CONFIG" >"$cfg"
	cat >>"$cfg" <<YAML
class_rules:
  - {prefix: ${LAB_C1_V4%.*}.0/24, class: critical}
  - {prefix: ${LAB_C2_V4%.*}.0/24, class: sheddable}
YAML
	gd_start "$cfg" || fail cellgated_start "cellgated did not become ready" || return
	pass cellgated_start
	client_bg "$LAB_DIR/udp.out" "$LAB_NS_C1" udp "$LAB_VIP4" "$LAB_UDP_PORT" --flows 20 \
		--requests 200 --interval-ms 100
	udp_pid=$CLIENT_PID
	client_bg "$LAB_DIR/tcp.out" "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 20 \
		--requests 200 --interval-ms 100
	# the same invocation as cctl; the pane stays after cellctl ends, to show why it did
	cmd=$(printf '%q ' nsenter --net="/run/netns/$LAB_NS_LB" "$build_dir/cellctl" -s "$GD_SOCK" \
		--pin-dir "$LAB_PIN_DIR" --state-dir "$GD_STATE" stats --watch --interval 1)
	tmx new-session -d -x 120 -y 40 -s watch "$cmd 2>&1; echo cellctl exited \$?; sleep 60" ||
		fail tmux_started "tmux new-session failed" || return
	pass tmux_started
}

# packets DOC FILTER: a counter of a `cellctl -j stats` document
counter() { jq -r "$2 // 0" <<<"$1"; }

# the screen after some redraws, with the counters read on either side of the redraw it shows:
# sets SCREEN (the pane, wrapped lines joined), J1 and J2
test_screen_captured() {
	sleep 3.5
	J1=$(cctl -j stats) || e2e_fail_reason "cellctl -j stats failed" || return
	sleep 1.2
	SCREEN=$LAB_DIR/screen.txt
	tmx capture-pane -p -J -t watch >"$SCREEN" || e2e_fail_reason "capture-pane failed" || return
	J2=$(cctl -j stats) || e2e_fail_reason "cellctl -j stats failed" || return
	[ -n "${E2E_KEEP_SCREEN:-}" ] && cp "$SCREEN" "$E2E_KEEP_SCREEN"
	grep -q '^CELL  *PKT/S' "$SCREEN" && return 0
	show "$SCREEN"
	e2e_fail_reason "no CELL table on the screen"
}

test_header_has_time_interval_generation() {
	grep -Eq '^rates over [0-9.]+ s, at [0-9]{2}:[0-9]{2}:[0-9]{2}, every 1\.0 s, generation [0-9]+$' \
		"$SCREEN" && return 0
	show "$SCREEN" 40
	e2e_fail_reason "no header 'rates over ..., at HH:MM:SS, every 1.0 s, generation N'"
}

# the columns, in order; each block once (a redraw in place, not appended)
test_blocks_and_columns() {
	local re
	for re in '^SERVICE  *PKT/S  *BIT/S  *FLOWS/S  *DROPS/S  *PACKETS  *DROPS$' \
		'^CELL  *PKT/S  *BIT/S  *FLOWS/S  *DROPS/S  *SHED/S  *PACKETS  *DROPS$' \
		'^CELL  *CLASS  *PKT/S  *BIT/S  *FLOWS/S  *DROPS/S  *SHED/S  *PACKETS$' \
		'^TOP DROPS' '^conntrack: '; do
		[ "$(grep -Ec "$re" "$SCREEN")" = 1 ] && continue
		show "$SCREEN" 40
		e2e_fail_reason "not exactly one line matching '$re'"
		return
	done
}

# row TITLE NAME: the screen's row of NAME in the block under the header starting with TITLE
row() {
	awk -v t="$1" -v n="$2" '$0 ~ "^" t "  " { inb = 1; next } /^$/ { inb = 0 }
		inb && $1 == n { print; exit }' "$SCREEN"
}

# every lab cell has a row; PKT/S and BIT/S are non-zero exactly where the counters moved
test_cells_rates_match_counters() {
	local c r d bad=0 n=0
	for c in $LAB_CELLS; do
		r=$(row CELL "$c")
		d=$(($(counter "$J2" ".cells[\"$c\"].packets") - $(counter "$J1" ".cells[\"$c\"].packets")))
		if [ -z "$r" ]; then
			echo "    no row for cell $c"
			bad=$((bad + 1))
			continue
		fi
		read -r _ pps bps _ <<<"$r"
		if [ "$d" -gt 0 ]; then
			n=$((n + 1))
			[ "$pps" != 0 ] && [ "$bps" != 0 ] && [ "$pps" != - ] && continue
		else
			[ "$pps" = 0 ] && [ "$bps" = 0 ] && continue
		fi
		echo "    cell $c: counters moved by $d packets, the screen says: $r"
		bad=$((bad + 1))
	done
	if [ "$bad" -eq 0 ] && [ "$n" -eq "$(wc -w <<<"$BUSY_CELLS")" ]; then
		return 0
	fi
	show "$SCREEN" 40
	e2e_fail_reason "$bad cells disagree with the counters; $n with traffic, want $BUSY_CELLS"
}

# the services' rows: dns and web busy, web6 idle
test_services_rates() {
	local s r want
	for s in dns web web6; do
		r=$(row SERVICE "$s")
		want=busy
		[ "$s" = web6 ] && want=idle
		read -r _ pps _ <<<"$r"
		if { [ "$want" = busy ] && [ -n "$pps" ] && [ "$pps" != 0 ]; } ||
			{ [ "$want" = idle ] && [ "$pps" = 0 ]; }; then
			continue
		fi
		show "$SCREEN" 40
		e2e_fail_reason "service $s should be $want, the screen says: '$r'"
		return
	done
}

# the (cell, class) rows: each busy cell has a critical (c1) and a sheddable (c2) row with a
# non-zero packet rate where its class counters moved; no row for an idle cell
test_class_block_per_cell() {
	local c k r d bad=0
	for c in $LAB_CELLS; do
		for k in critical sheddable; do
			r=$(awk -v c="$c" -v k="$k" '$0 ~ /^CELL  *CLASS/ { inb = 1; next } /^$/ { inb = 0 }
				inb && $1 == c && $2 == k { print; exit }' "$SCREEN")
			d=$(($(counter "$J2" ".cells[\"$c\"].classes.$k.packets") - \
				$(counter "$J1" ".cells[\"$c\"].classes.$k.packets")))
			read -r _ _ pps _ <<<"$r"
			case " $BUSY_CELLS " in
			*" $c "*) [ "$d" -gt 0 ] && [ -n "$pps" ] && [ "$pps" != 0 ] && continue ;;
			*) [ -z "$r" ] && [ "$d" -eq 0 ] && continue ;;
			esac
			echo "    ($c, $k): counters moved by $d packets, the screen says: '$r'"
			bad=$((bad + 1))
		done
	done
	[ "$bad" -eq 0 ] && return 0
	show "$SCREEN" 40
	e2e_fail_reason "$bad (cell, class) rows disagree with the counters"
}

# no line wraps in 120 columns, and the widest is at most 100 (fits a 100-column terminal)
test_fits_the_terminal() {
	local w
	w=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$SCREEN")
	[ "$w" -le 100 ] && return 0
	show "$SCREEN" 40
	e2e_fail_reason "widest line is $w columns"
}

# the traffic ended clean: the dashboard reads, it does not disturb
test_traffic_clean() {
	wait "$udp_pid" "$CLIENT_PID" 2>/dev/null
	traffic_clean 4000 "$LAB_DIR/udp.out" "$LAB_DIR/tcp.out"
}

E2E_TESTS=(
	test_screen_captured
	test_header_has_time_interval_generation
	test_blocks_and_columns
	test_cells_rates_match_counters
	test_services_rates
	test_class_block_per_cell
	test_fits_the_terminal
	test_traffic_clean
)
e2e_run "$@"
