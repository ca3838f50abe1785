#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC2016 # the wait_for conditions are single-quoted for eval
# demo.sh - cellgate in a minute: a lab with 3 regions x 2 cells and live traffic; a region dies
# (its links cut), health notices, cellgated evacuates it by itself with the dry run's plan and
# the survivors' pre-shedding shown live, critical traffic keeps flowing, the region comes back
# and ramps in; a live per-cell view; everything is removed at the end
#
# Run as root through 'make demo'. Traffic stays inside the lab's namespaces (hosts in
# 198.18.0.0/15, VIPs in 203.0.113.0/24, IPv6 in 2001:db8::/32) and is bounded in time.
set -u

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/../tests/e2e/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces, XDP, bpffs): sudo make demo" >&2
	exit 1
fi
export LAB_PREFIX=cgdemo
LAB_DIR=$(mktemp -d /tmp/cg-demo.XXXXXX) || exit 1
export LAB_DIR BUILD
GD_STATE=$LAB_DIR/state
GD_SOCK=$LAB_DIR/ctl.sock
GD_LOG=$LAB_DIR/cellgated.log
bg_pids=()

# shellcheck disable=SC2317 # called by the trap
demo_cleanup() {
	local p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	say "cleaning up: daemon, pins, namespaces"
	e2e_cleanup
	say "done"
}
trap demo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bold=$(tput bold 2>/dev/null || true)
dim=$(tput dim 2>/dev/null || true)
off=$(tput sgr0 2>/dev/null || true)
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
run() {
	printf '%s$ cellctl %s%s\n' "$dim" "$*" "$off"
	cctl "$@"
}

# view SECONDS TITLE: a per-cell table once a second: state, packet and new-flow rates, a bar
view() {
	local secs=$1 title=$2 i prev cur cells
	prev=$(cctl -j stats)
	for ((i = 1; i <= secs; i++)); do
		sleep 1
		cur=$(cctl -j stats)
		cells=$(cctl -j cell list)
		printf '%s-- %s (t+%ds)%s\n' "$dim" "$title" "$i" "$off"
		jq -r -n --argjson a "$prev" --argjson b "$cur" --argjson c "$cells" '
			def bar(n): "#" * ([(n / 20 | floor), 40] | min);
			["CELL", "REGION", "STATE", "PKTS/S", "NEW FLOWS/S", ""],
			($c[] | . as $x |
				(($b.cells[$x.name].packets - $a.cells[$x.name].packets)) as $p |
				(($b.cells[$x.name].new_flows - $a.cells[$x.name].new_flows)) as $f |
				[$x.name, $x.region, $x.dataplane.state, $p, $f, bar($p)])
			| @tsv' | column -t -s $'\t'
		prev=$cur
	done
}

# the demo's config: the lab's, with health probes, automatic evacuation, a short ramp, c1's
# traffic critical and c2's sheddable, and small capacities so the survivors need pre-shedding
demo_config() {
	sed 's/capacity: 1000/capacity: 4/' "$LAB_CONFIG"
	cat <<-EOF
		health: {probe: tcp, interval_ms: 500, timeout_ms: 100, rise: 2, fall: 2, panic_threshold: 0.5}
		failover: {wait: 0, dwell: 3, ramp: [0.25, 0.5, 1], max_step: 0.5, auto_evacuate: 1}
		class_rules:
		  - {prefix: 198.18.11.0/24, class: critical}
		  - {prefix: 198.18.12.0/24, class: sheddable}
	EOF
}

# regions: one line of each region's state and share
regions() {
	cctl -j region list | jq -r '[.[] | "\(.name) \(.state) \(.share)"] | join("   ")'
}

say "building the lab: 2 clients, a router, the LB, 3 regions x 2 cells (namespaces '$LAB_PREFIX-*')"
lab_up
demo_config >"$LAB_DIR/demo.yaml"
say "starting cellgated on the LB: tcp health probes every 500 ms, automatic evacuation on"
if ! gd_start "$LAB_DIR/demo.yaml"; then
	echo "demo: cellgated did not start" >&2
	exit 1
fi
wait_for 15 eval 'cctl -j cell list | jq -e "all(.[]; .health.state == \"up\")" >/dev/null'
run status
run cell list

say "traffic: 40 long TCP connections from c1 (critical), new connections from c2 (sheddable)"
# long connections: 40 x 250 requests, 100 ms apart: 25 s, bounded by labclient's deadline
client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 40 --requests 250 --interval-ms 100 \
	>"$LAB_DIR/long.out" 2>&1 &
bg_pids+=($!)
# churn: a few new connections at a time, at most 250 rounds
(
	for ((r = 0; r < 250; r++)); do
		client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 5 --requests 2 \
			--interval-ms 20 >>"$LAB_DIR/churn.out" 2>&1
		sleep 0.2
	done
) &
bg_pids+=($!)
view 4 "steady state: Maglev spreads flows over all six cells"

say "what cellgated would do if eu-west died (a dry run: nothing changes)"
run region evacuate eu-west --dry-run

say "eu-west dies: both its cells' links are cut and their servers stop answering"
for c in euw1-a euw1-b; do
	ip -n "$LAB_NS_RTR" link set "to-$c" down
	kill -USR2 "$(cat "$LAB_DIR/pids/cellsrv-$c.pid")"
done
t0=$(date +%s%N)
wait_for 10 eval '[ "$(cctl -j region show eu-west | jq -r .state)" = evacuated ]'
echo "  evacuated $((($(date +%s%N) - t0) / 1000000)) ms after the failure, by cellgated itself:"
grep -E 'health: cell euw1|region evacuate eu-west \(cellgated.*-> evacuated|PANIC' "$GD_LOG" |
	sed 's/^/    /' | tail -n 4
echo "  $(regions)"
run shed show
view 4 "eu-west evacuated: its share went to the survivors by spare capacity, nearest first; sheddable pre-shed where short"

say "eu-west comes back: links up, servers well; once healthy, the operator restores it"
for c in euw1-a euw1-b; do
	ip -n "$LAB_NS_RTR" link set "to-$c" up
	kill -USR2 "$(cat "$LAB_DIR/pids/cellsrv-$c.pid")"
done
wait_for 15 eval 'cctl -j cell list | jq -e "all(.[]; .health.state == \"up\")" >/dev/null'
run region restore eu-west --reason "demo: region back"
for ((i = 1; i <= 10; i++)); do
	sleep 1
	printf '%s-- ramping back (t+%ds)%s  %s\n' "$dim" "$i" "$off" "$(regions)"
	[ "$(cctl -j region show eu-west | jq -r .state)" = active ] && break
done
view 3 "all regions active again"

say "what the clients saw"
kill "${bg_pids[1]}" 2>/dev/null
wait "${bg_pids[0]}" 2>/dev/null
echo "40 long critical connections, by the cell they were pinned to:"
grep '^conn=' "$LAB_DIR/long.out" | awk '{
		split($3, c, "="); split($6, r, "="); split($5, f, "=")
		n[c[2]]++; if (r[2] == 1) reset[c[2]]++; else if (f[2] == 0) done[c[2]]++
	} END {
		for (k in n) printf "    %-8s %2d connections: %2d completed every request, %2d reset\n",
			k, n[k], done[k], reset[k]
	}' | sort
echo "  eu-west's connections lost their servers when the region died (the blast radius);"
echo "  the others never noticed."
churn=$(awk '/^total/ {for (i = 2; i <= NF; i++) {split($i, kv, "="); s[kv[1]] += kv[2]}}
	END {printf "%d requests ok, %d failed, %d reset", s["ok"], s["fail"], s["reset"]}' \
	"$LAB_DIR/churn.out")
echo "new sheddable connections opened during all of it: $churn"
echo "by class, at the LB:"
cctl -j stats | jq -r '.classes | to_entries[] |
	"    \(.key): \(.value.new_flows) new flows, \(.value.shed) shed"'
