#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# demo.sh - cellgate in a minute: a lab with 3 regions x 2 cells, live traffic, a drain, a region
# going down and coming back, with a live per-cell view; everything is removed at the end
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

say "building the lab: 2 clients, a router, the LB, 3 regions x 2 cells (namespaces '$LAB_PREFIX-*')"
lab_up
say "starting cellgated on the LB (maps pinned in $LAB_PIN_DIR)"
if ! gd_start; then
	echo "demo: cellgated did not start" >&2
	exit 1
fi
run status
run cell list

say "traffic: 40 long TCP connections from c1, new connections from c2 every 200 ms"
# long connections: 40 x 300 requests, 100 ms apart: 30 s, bounded by labclient's deadline
client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 40 --requests 300 --interval-ms 100 \
	>"$LAB_DIR/long.out" 2>&1 &
bg_pids+=($!)
# churn: a few new connections at a time, at most 200 rounds
(
	for ((r = 0; r < 200; r++)); do
		client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 5 --requests 2 \
			--interval-ms 20 >>"$LAB_DIR/churn.out" 2>&1
		sleep 0.2
	done
) &
bg_pids+=($!)
view 5 "steady state: Maglev spreads flows over all six cells"

say "draining use1-a: its open connections carry on, new flows go elsewhere"
run cell set use1-a --state draining
view 6 "use1-a draining: packets continue, new flows stop"

say "region ap-south fails: both its cells go down; their flows are re-hashed onto live cells"
run cell set aps1-a --state down
run cell set aps1-b --state down
view 6 "ap-south down"

say "ap-south comes back, use1-a returns to service"
run cell set aps1-a --state active
run cell set aps1-b --state active
run cell set use1-a --state active
view 5 "all cells active again"

say "what the clients saw"
kill "${bg_pids[1]}" 2>/dev/null
wait "${bg_pids[0]}" 2>/dev/null
echo "40 long connections, by the cell they were pinned to:"
grep '^conn=' "$LAB_DIR/long.out" | awk '{
		split($3, c, "="); split($6, r, "="); split($5, f, "=")
		n[c[2]]++; if (r[2] == 1) reset[c[2]]++; else if (f[2] == 0) done[c[2]]++
	} END {
		for (k in n) printf "    %-8s %2d connections: %2d completed every request, %2d reset\n",
			k, n[k], done[k], reset[k]
	}' | sort
echo "  ap-south's connections lost their servers when the region died (the blast radius);"
echo "  use1-a's kept working while it drained; the others never noticed."
churn=$(awk '/^total/ {for (i = 2; i <= NF; i++) {split($i, kv, "="); s[kv[1]] += kv[2]}}
	END {printf "%d requests ok, %d failed, %d reset", s["ok"], s["fail"], s["reset"]}' \
	"$LAB_DIR/churn.out")
echo "new connections opened during all of it: $churn"
run service list
