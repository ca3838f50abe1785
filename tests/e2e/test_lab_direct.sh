#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_lab_direct.sh - the lab itself works: up --direct, TCP and UDP over IPv4 and IPv6 reach use1-a
#
# Its own lab (LAB_PREFIX cgtd<pid>, LAB_DIR a temporary dir), made by setup and removed on any
# exit; the tests run on it in order (lib.sh, e2e_run), test_lab_down last. Bounded: every client
# has a deadline and runs under timeout(1).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
lab=$top/scripts/lab.sh

# shellcheck disable=SC2317 # called by the trap
cleanup() {
	trap - EXIT INT TERM
	bash "$lab" down >/dev/null 2>&1
	rm -rf "$LAB_DIR"
}

setup() {
	local f
	cd "$top" || return
	e2e_require_root lab_direct "namespaces, veth, XDP"
	export LAB_PREFIX=cgtd$$
	LAB_DIR=$(mktemp -d /tmp/cg-lab-direct.XXXXXX) || return
	export LAB_DIR
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	if ! timeout 120 bash "$lab" up --direct >"$LAB_DIR/up.log" 2>&1; then
		show "$LAB_DIR/up.log"
		for f in "$LAB_DIR"/logs/*.log; do [ -f "$f" ] && show "$f"; done
		fail lab_up_direct "scripts/lab.sh up --direct failed"
		return
	fi
	pass lab_up_direct
	eval "$(bash "$lab" env)"
}

# reaches NAME NS WANT_CELL LABCLIENT_ARGS...: run labclient in NS (output in $LAB_DIR/NAME.out);
# every connection must be answered by WANT_CELL only, every request ok
reaches() {
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
		return 0
	fi
	show "$out"
	e2e_fail_reason "labclient exit $rc, $bad of $conns connections wrong (want cells=$want)"
}

# the data plane pieces are in place: decap on every cell, XDP_PASS on the router's LB link
test_lab_xdp_attached() {
	local c missing=""
	for c in $LAB_CELLS; do
		ip -n "$LAB_PREFIX-$c" link show dev "$LAB_HOST_IF" | grep -q 'prog/xdp' || missing+=" $c"
	done
	ip -n "$LAB_NS_RTR" link show dev "$LAB_RTR_LB_IF" | grep -q 'prog/xdp' || missing+=" rtr"
	[ -z "$missing" ] || e2e_fail_reason "no XDP on$missing"
}

test_lab_config_written() {
	[ -s "$LAB_CONFIG" ] || e2e_fail_reason "no $LAB_CONFIG"
}

# the VIPs, straight to use1-a, from both clients
test_direct_tcp4() {
	reaches direct_tcp4 "$LAB_NS_C1" use1-a tcp "$LAB_VIP4" "$LAB_TCP_PORT" \
		--conns 8 --requests 10 --interval-ms 20
}
test_direct_tcp6() {
	reaches direct_tcp6 "$LAB_NS_C2" use1-a tcp "$LAB_VIP6" "$LAB_TCP_PORT" \
		--conns 8 --requests 10 --interval-ms 20
}
test_direct_udp4() {
	reaches direct_udp4 "$LAB_NS_C2" use1-a udp "$LAB_VIP4" "$LAB_UDP_PORT" \
		--flows 8 --requests 10 --interval-ms 20
}
test_direct_udp6() {
	reaches direct_udp6 "$LAB_NS_C1" use1-a udp "$LAB_VIP6" "$LAB_UDP_PORT" \
		--flows 8 --requests 10 --interval-ms 20
}
test_direct_tcp4_many() {
	reaches direct_tcp4_many "$LAB_NS_C1" use1-a tcp "$LAB_VIP4" "$LAB_TCP_PORT" \
		--conns 200 --requests 5 --interval-ms 50
}

# every cell answers as itself on its gateway address (what a health prober would reach):
# gateway_tcp4_CELL and gateway_udp6_CELL for each cell
test_gateways() {
	local c u v4 v6 name
	for c in $LAB_CELLS; do
		u=${c^^}
		u=${u//-/_}
		v4=LAB_${u}_V4
		v6=LAB_${u}_V6
		name=gateway_tcp4_$c
		if reaches "$name" "$LAB_NS_C2" "$c" tcp "${!v4}" "$LAB_TCP_PORT" --requests 2; then
			pass "$name"
		else
			fail "$name" "$E2E_REASON"
		fi
		name=gateway_udp6_$c
		if reaches "$name" "$LAB_NS_C1" "$c" udp "${!v6}" "$LAB_UDP_PORT" --requests 2; then
			pass "$name"
		else
			fail "$name" "$E2E_REASON"
		fi
	done
}

# down removes every namespace and the pin dir, and is idempotent (last: it removes the lab)
test_lab_down() {
	mkdir -p "$LAB_PIN_DIR" 2>/dev/null # as the daemon would; down must remove it
	if bash "$lab" down >"$LAB_DIR/down.log" 2>&1 && bash "$lab" down >>"$LAB_DIR/down.log" 2>&1 &&
		! ip netns list | grep -q "^$LAB_PREFIX-" && [ ! -e "$LAB_PIN_DIR" ]; then
		return 0
	fi
	show "$LAB_DIR/down.log"
	e2e_fail_reason "namespaces or pins left"
}

E2E_TESTS=(
	test_lab_xdp_attached
	test_lab_config_written
	test_direct_tcp4
	test_direct_tcp6
	test_direct_udp4
	test_direct_udp6
	test_direct_tcp4_many
	test_gateways
	test_lab_down
)
e2e_run "$@"
