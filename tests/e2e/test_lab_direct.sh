#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_lab_direct.sh - the lab itself works: up --direct, TCP and UDP over IPv4 and IPv6 reach use1-a
#
# Prints "PASS name", "FAIL name" or "SKIP name: reason" per check (tests/run.sh counts them).
# Its own lab (LAB_PREFIX cgtd<pid>, LAB_DIR a temporary dir), removed on any exit.
# Bounded: every client has a deadline and runs under timeout(1).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
lab=$top/scripts/lab.sh

# shellcheck source=tests/e2e/skip.sh
. "$top/tests/e2e/skip.sh"
e2e_require_root lab_direct "namespaces, veth, XDP"

export LAB_PREFIX=cgtd$$
LAB_DIR=$(mktemp -d /tmp/cg-lab-direct.XXXXXX) || exit 1
export LAB_DIR
failed=0

# shellcheck disable=SC2317 # called by the trap
cleanup() {
	trap - EXIT INT TERM
	bash "$lab" down >/dev/null 2>&1
	rm -rf "$LAB_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1${2:+: $2}"
	failed=1
}

# show FILE: indented, for a failure's context
show() { sed 's/^/    /' "$1"; }

# client NAME NS WANT_CELL LABCLIENT_ARGS...: run labclient in NS; every connection must be
# answered by WANT_CELL only, every request ok
client() {
	local name=$1 ns=$2 want=$3 out rc conns bad
	shift 3
	out=$LAB_DIR/$name.out
	timeout 30 ip netns exec "$ns" "$LAB_LABCLIENT" "$@" --timeout-ms 2000 --deadline-ms 20000 \
		>"$out" 2>&1
	rc=$?
	conns=$(grep -c '^conn=' "$out")
	bad=$(grep '^conn=' "$out" | grep -vc " cells=$want ok=[0-9]* fail=0 reset=0\$")
	if [ "$rc" -eq 0 ] && [ "$conns" -gt 0 ] && [ "$bad" -eq 0 ] &&
		grep -q '^total ok=[1-9][0-9]* fail=0 reset=0 moved=0$' "$out"; then
		pass "$name"
	else
		fail "$name" "labclient exit $rc, $bad of $conns connections wrong (want cells=$want)"
		show "$out"
	fi
}

if ! timeout 120 bash "$lab" up --direct >"$LAB_DIR/up.log" 2>&1; then
	fail lab_up_direct
	show "$LAB_DIR/up.log"
	for f in "$LAB_DIR"/logs/*.log; do [ -f "$f" ] && show "$f"; done
	exit 1
fi
pass lab_up_direct
eval "$(bash "$lab" env)"

# the data plane pieces are in place: decap on every cell, XDP_PASS on the router's LB link
missing=""
for c in $LAB_CELLS; do
	ip -n "$LAB_PREFIX-$c" link show dev "$LAB_HOST_IF" | grep -q 'prog/xdp' || missing+=" $c"
done
ip -n "$LAB_NS_RTR" link show dev "$LAB_RTR_LB_IF" | grep -q 'prog/xdp' || missing+=" rtr"
if [ -z "$missing" ]; then pass lab_xdp_attached; else fail lab_xdp_attached "no XDP on$missing"; fi
if [ -s "$LAB_CONFIG" ]; then pass lab_config_written; else fail lab_config_written "no $LAB_CONFIG"; fi

# the VIPs, straight to use1-a, from both clients
client direct_tcp4 "$LAB_NS_C1" use1-a tcp "$LAB_VIP4" "$LAB_TCP_PORT" \
	--conns 8 --requests 10 --interval-ms 20
client direct_tcp6 "$LAB_NS_C2" use1-a tcp "$LAB_VIP6" "$LAB_TCP_PORT" \
	--conns 8 --requests 10 --interval-ms 20
client direct_udp4 "$LAB_NS_C2" use1-a udp "$LAB_VIP4" "$LAB_UDP_PORT" \
	--flows 8 --requests 10 --interval-ms 20
client direct_udp6 "$LAB_NS_C1" use1-a udp "$LAB_VIP6" "$LAB_UDP_PORT" \
	--flows 8 --requests 10 --interval-ms 20
client direct_tcp4_many "$LAB_NS_C1" use1-a tcp "$LAB_VIP4" "$LAB_TCP_PORT" \
	--conns 200 --requests 5 --interval-ms 50

# every cell answers as itself on its gateway address (what a health prober would reach)
for c in $LAB_CELLS; do
	u=${c^^}
	u=${u//-/_}
	v4=LAB_${u}_V4
	v6=LAB_${u}_V6
	client "gateway_tcp4_$c" "$LAB_NS_C2" "$c" tcp "${!v4}" "$LAB_TCP_PORT" --requests 2
	client "gateway_udp6_$c" "$LAB_NS_C1" "$c" udp "${!v6}" "$LAB_UDP_PORT" --requests 2
done

# down removes every namespace and the pin dir, and is idempotent
mkdir -p "$LAB_PIN_DIR" 2>/dev/null # as the daemon would; down must remove it
if bash "$lab" down >"$LAB_DIR/down.log" 2>&1 && bash "$lab" down >>"$LAB_DIR/down.log" 2>&1 &&
	! ip netns list | grep -q "^$LAB_PREFIX-" && [ ! -e "$LAB_PIN_DIR" ]; then
	pass lab_down
else
	fail lab_down "namespaces or pins left"
	show "$LAB_DIR/down.log"
fi
exit "$failed"
