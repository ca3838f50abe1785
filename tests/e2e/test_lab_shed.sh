#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_lab_shed.sh - shedding in the lab: with a level set on the sheddable class, mixed traffic
# keeps every critical request, refuses sheddable flows at the set fraction, resets nothing admitted
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init shed
lab_up

# c1's prefix is critical, c2's sheddable
cfg=$LAB_DIR/shed.yaml
cp "$LAB_CONFIG" "$cfg"
cat >>"$cfg" <<YAML
class_rules:
  - {prefix: ${LAB_C1_V4%.*}.0/24, class: critical}
  - {prefix: ${LAB_C2_V4%.*}.0/24, class: sheddable}
YAML
if ! gd_start "$cfg"; then
	fail cellgated_start
	exit 1
fi

# a long-lived sheddable connection admitted before the level: it must never be cut
long=$LAB_DIR/long.out
client_bg "$long" "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 20 --requests 40 --interval-ms 100
long_pid=$CLIENT_PID
sleep 0.5

if cctl shed set --cell '*' --class sheddable --level 0.5 --permanent --reason "e2e over capacity" \
	>"$LAB_DIR/set.out" 2>&1; then
	pass shed_set
else
	fail shed_set
	show "$LAB_DIR/set.out"
fi

crit=$LAB_DIR/crit.out
client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 150 --requests 3 --interval-ms 10 \
	--connect-timeout-ms 1500 >"$crit"
if [ "$(total "$crit" fail)" = 0 ] && [ "$(total "$crit" ok)" = 450 ]; then
	pass critical_requests_all_succeed
else
	fail critical_requests_all_succeed
	show "$crit" 4
fi

shed=$LAB_DIR/shed.out
client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 300 --requests 3 --interval-ms 10 \
	--connect-timeout-ms 1500 >"$shed" 2>"$LAB_DIR/shed.err"
refused=$(sed -n 's/^connected conns=[0-9]* failed=\([0-9]*\)/\1/p' "$shed")
admitted_bad=$(grep '^conn=' "$shed" | grep -v 'cells=-' | grep -vc ' ok=3 fail=0 reset=0$')
# 300 flows at p = 0.5: the standard deviation is 8.7 flows; allow 4 of them
if [ -n "$refused" ] && [ "$refused" -ge 115 ] && [ "$refused" -le 185 ]; then
	pass "sheddable_refused_at_level ($refused of 300)"
else
	fail sheddable_refused_at_level "refused=$refused of 300, want 150 +- 35"
	show "$shed" 4
fi
if [ "$admitted_bad" -eq 0 ]; then
	pass admitted_sheddable_flows_complete
else
	fail admitted_sheddable_flows_complete "$admitted_bad admitted connections hurt"
fi

wait "$long_pid"
if [ "$(total "$long" fail)" = 0 ] && [ "$(total "$long" reset)" = 0 ]; then
	pass no_admitted_connection_reset
else
	fail no_admitted_connection_reset
	show "$long" 4
fi

# the drops are counted by cell, class and reason, and none is of the critical class
json=$(cctl -j shed show)
if jq -e '([.counters[] | select(.class == "sheddable") | .shed] | add) > 0
	and ([.counters[] | select(.class == "critical")] | length) == 0
	and (.levels | length) == 6 and all(.levels[]; .source == "operator" and .level == "0.5")' \
	<<<"$json" >/dev/null; then
	pass drops_counted_by_cell_class_reason
else
	fail drops_counted_by_cell_class_reason
	jq -c . <<<"$json" | head -c 600
	echo
fi

# cleared: every sheddable flow is admitted again
cctl shed clear >/dev/null
again=$LAB_DIR/again.out
client "$LAB_NS_C2" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 60 --requests 1 --connect-timeout-ms 1500 \
	>"$again"
if [ "$(total "$again" fail)" = 0 ]; then
	pass shed_clear_admits_again
else
	fail shed_clear_admits_again
fi
if grep -q 'change (shed set \*/3 by' "$GD_LOG"; then
	pass shed_change_logged_with_who
else
	fail shed_change_logged_with_who
fi
exit "$failed"
