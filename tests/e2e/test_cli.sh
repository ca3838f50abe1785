#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_cli.sh - cellctl against a live cellgated in a namespace: tables, JSON, changes, bad input, fallback
#
# One namespace holds the load balancer (veth cg0, cellgated, cellctl); a second one is the
# gateway host on the other end of the veth, owning every cell's gateway address so next hops
# resolve, and the client that sends UDP to a VIP so the counters move. cellgated and cellctl
# run through nsenter --net only: `ip netns exec` would give them a private mount namespace in
# which the bpffs pins vanish with the process.
#
# One shell function per group of checks, run in order by tests/e2e/lib.sh's e2e_run after setup
# (the namespaces and one daemon); each check prints "PASS name" or "FAIL name: why" (tests/run.sh
# counts them). The groups share one daemon and build on each other's changes (generation numbers,
# cells, shed levels): run alone by name, a group after the first few may fail. Everything it
# makes is removed on exit, even on failure or interruption: daemon, pins (cellgated --teardown),
# namespaces, temp files.
# shellcheck disable=SC2016,SC2034 # checks are eval'ed strings: variables expand when they run
set -u

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
CELLCTL=$build_dir/cellctl
CELLGATED=$build_dir/cellgated

P=cgcli-$$
NS_LB=$P-lb
NS_GW=$P-gw
PIN=/sys/fs/bpf/$P
TMP=
DPID=

# e2e_fail_context: after a FAIL line (lib.sh's fail), the last command's output, to debug from
# the log alone
e2e_fail_context() {
	if [ -n "$TMP" ]; then
		sed 's/^/    stdout: /' "$TMP/out" 2>/dev/null | head -20
		sed 's/^/    stderr: /' "$TMP/err" 2>/dev/null | head -5
	fi
}

cleanup() {
	local i
	trap - EXIT INT TERM
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null
		for i in $(seq 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	if [ -e "/var/run/netns/$NS_LB" ] && [ -e "$PIN" ]; then
		timeout 20 nsenter --net="/var/run/netns/$NS_LB" "$CELLGATED" --teardown -p "$PIN" \
			>/dev/null 2>&1
	fi
	[ -e "$PIN" ] && rm -rf "$PIN"
	ip netns del "$NS_LB" 2>/dev/null
	ip netns del "$NS_GW" 2>/dev/null
	[ -n "$TMP" ] && rm -rf "$TMP"
}

# ---- lab ----

cli_lab_up() {
	ip netns add "$NS_LB" && ip netns add "$NS_GW" &&
		ip -n "$NS_LB" link add cg0 type veth peer name cg1 netns "$NS_GW" &&
		ip -n "$NS_LB" addr add 198.18.0.1/24 dev cg0 &&
		ip -n "$NS_LB" link set lo up && ip -n "$NS_LB" link set cg0 up &&
		ip -n "$NS_GW" addr add 198.18.0.2/24 dev cg1 &&
		for a in 10 11 12 13 14; do
			ip -n "$NS_GW" addr add "198.18.0.$a/24" dev cg1 || return 1
		done &&
		ip -n "$NS_GW" link set lo up && ip -n "$NS_GW" link set cg1 up &&
		ip -n "$NS_GW" route add 203.0.113.0/24 via 198.18.0.1
}

# in_cli_lb CMD...: run in the LB namespace, sharing our mount namespace (the pins)
in_cli_lb() { timeout 20 nsenter --net="/var/run/netns/$NS_LB" "$@"; }

# run ARGS...: cellctl with the lab's paths; stdout in $TMP/out, stderr in $TMP/err, status in rc
rc=0
run() {
	in_cli_lb "$CELLCTL" -s "$SOCK" --pin-dir "$PIN" --state-dir "$STATE" "$@" \
		>"$TMP/out" 2>"$TMP/err"
	rc=$?
}

out() { cat "$TMP/out"; }
err_lines() { wc -l <"$TMP/err"; }

# jqo FILTER: true if FILTER holds on the last JSON output
jqo() { jq -e "$1" "$TMP/out" >/dev/null 2>&1; }

# udp_burst N: N datagrams from the gateway namespace to the dns VIP, each a new flow
udp_burst() {
	timeout 20 nsenter --net="/var/run/netns/$NS_GW" bash -c \
		"for i in \$(seq $1); do echo \"q\$i\" > /dev/udp/203.0.113.53/53; done" 2>/dev/null
}

# nsenter without --fork execs cellgated, so $! is the daemon (no timeout: the trap ends it)
start_daemon() {
	nsenter --net="/var/run/netns/$NS_LB" "$CELLGATED" "$@" -d "$STATE" -p "$PIN" -s "$SOCK" \
		>>"$TMP/cellgated.log" 2>&1 &
	DPID=$!
}

# wait_ready: cellgated answers (not the fallback) and every next hop is resolved, within 10 s
wait_ready() {
	local i
	for i in $(seq 100); do
		run -j status
		if [ "$rc" -eq 0 ] && jqo '(has("source") | not) and .unready_cells == 0'; then
			return 0
		fi
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

dump_state() { run -j config dump && jq -r .text "$TMP/out"; }

# bad NAME STATUS [MESSAGE-REGEX] -- ARGS...: cellctl ARGS must exit STATUS with one line on
# stderr (matching MESSAGE-REGEX), nothing on stdout, the state unchanged since "before"
bad() {
	local name=$1 want=$2 re=""
	shift 2
	if [ "$1" != "--" ]; then
		re=$1
		shift
	fi
	shift
	nbad=$((nbad + 1))
	run "$@"
	if [ "$rc" -ne "$want" ]; then
		fail "bad_$name" "exit status $rc, expected $want"
	elif [ "$(err_lines)" -ne 1 ] || ! grep -q '^cellctl: ' "$TMP/err"; then
		fail "bad_$name" "stderr is not one 'cellctl: ' line"
	elif [ -s "$TMP/out" ]; then
		fail "bad_$name" "printed to stdout"
	elif [ -n "$re" ] && ! grep -qE -- "$re" "$TMP/err"; then
		fail "bad_$name" "message does not match '$re'"
	elif [ "$(dump_state)" != "$before" ]; then
		fail "bad_$name" "the state changed"
	else
		pass "bad_$name"
	fi
}

setup() {
	e2e_require_root cli "namespaces, bpffs, XDP"
	e2e_require_cmd cli ip nsenter jq timeout
	if [ ! -x "$CELLCTL" ] || [ ! -x "$CELLGATED" ]; then
		e2e_skip cli "build first: make $BUILD/cellctl $BUILD/cellgated"
	fi
	[ -d /sys/fs/bpf ] || e2e_skip cli "no /sys/fs/bpf"
	trap cleanup EXIT
	trap 'cleanup; exit 130' INT TERM

	TMP=$(mktemp -d /tmp/cgcli.XXXXXX) || e2e_skip cli "cannot make a temp dir"
	SOCK=$TMP/ctl.sock
	STATE=$TMP/state
	if ! cli_lab_up >"$TMP/lab.log" 2>&1; then
		cat "$TMP/lab.log"
		fail lab_up "cannot build the namespaces"
		return
	fi
	cat >"$TMP/cfg.yaml" <<'EOF'
# test_cli.sh: two regions, three cells (gateways on the peer namespace), two services
region: us-east
interfaces: [cg0]
xdp_mode: auto
source:
  ipv4: 198.18.0.1
mtu: 1500
conntrack: 4096
regions:
  - {name: us-east, cost: 0}
  - {name: eu-west, cost: 10}
cells:
  - {name: use1-a, region: us-east, gateway: 198.18.0.10, encap: gue}
  - {name: use1-b, region: us-east, gateway: 198.18.0.11, encap: gue, weight: 200}
  - {name: euw1-a, region: eu-west, gateway: 198.18.0.12, encap: ipip}
services:
  - name: web
    vip: 203.0.113.10
    port: 80
    protocol: tcp
    cells: [use1-a, use1-b, euw1-a]
  - name: dns
    vip: 203.0.113.53
    port: 53
    protocol: udp
    table_size: 251
    cells: [use1-a, euw1-a]
EOF
	start_daemon -c "$TMP/cfg.yaml"
	if ! wait_ready; then
		cat "$TMP/cellgated.log"
		fail daemon_start "cellgated did not become ready"
		return
	fi
	pass daemon_start
}

# ---- read-only: tables and JSON ----

test_status() {
	run status
	check status_table eval '[ $rc -eq 0 ] && out | grep -q "^daemon: .*cellgated 0" &&
		out | grep -q "^state: .*generation 1," && out | grep -q "^objects: .*2 services, 3 cells, 2 regions"'
	run -j status
	check status_json eval '[ $rc -eq 0 ] && jqo ".daemon == \"cellgated\" and .generation == 1 and
		.services == 2 and .cells == 3 and .regions == 2 and .adopted == false and
		.interfaces[0].name == \"cg0\" and .conntrack.capacity == 4096"'
	run -p status
	check status_pretty eval '[ $rc -eq 0 ] && [ $(out | wc -l) -gt 10 ] && jqo ".pid > 0"'
}

# header, then three rows in name order, every column starting where its header does
cells_aligned() {
	local col
	[ "$rc" -eq 0 ] && [ "$(out | wc -l)" -eq 4 ] || return 1
	out | head -1 | grep -q '^NAME  *ID  *REGION  *GATEWAY  *ENCAP  *WEIGHT  *CAPACITY  *STATE  *DP ' ||
		return 1
	[ "$(out | awk 'NR > 1 {print $1}' | tr '\n' ' ')" = "euw1-a use1-a use1-b " ] || return 1
	col=$(out | head -1 | awk '{print index($0, "GATEWAY")}')
	out | awk -v c="$col" 'NR > 1 && substr($0, c - 1, 1) != " " {exit 1}
		NR > 1 && substr($0, c, 7) !~ /^198\.18/ {exit 1}' || return 1
	out | grep -q '^use1-b .* us-east  *198\.18\.0\.11  *gue:6080  *200 .* active  *active '
}

test_cell_list() {
	run cell list
	check cell_list_table cells_aligned
	check cell_list_width eval '[ $(out | awk "{ if (length > m) m = length } END {print m}") -le 100 ]'
	run -j cell list
	check cell_list_json eval '[ $rc -eq 0 ] && jqo "length == 3 and ([.[].name] == [\"euw1-a\", \"use1-a\", \"use1-b\"])
		and all(.[]; .state == \"active\" and .dataplane.state == \"active\" and (has(\"source\") | not))
		and (.[] | select(.name == \"use1-b\") | .weight == 200 and .encap == \"gue\" and .gue_port == 6080)
		and (.[] | select(.name == \"euw1-a\") | .encap == \"ipip\" and .region == \"eu-west\")"'
}

test_cell_show() {
	run cell show use1-b
	check cell_show_table eval '[ $rc -eq 0 ] && out | grep -q "^gateway: *198.18.0.11$" &&
		out | grep -q "^weight: *200$" && out | grep -q "^dataplane: *active, next hop"'
	run -j cell show use1-b
	check cell_show_json eval '[ $rc -eq 0 ] && jqo ".name == \"use1-b\" and .weight == 200"'
}

test_service_list_show() {
	run service list
	check service_list_table eval '[ $rc -eq 0 ] && [ $(out | wc -l) -eq 3 ] &&
		out | head -1 | grep -q "^NAME  *ID  *ADDRESS  *CELLS  *TABLE" &&
		out | grep -q "^dns  *[0-9]  *203.0.113.53:53/udp  *2  *251 " &&
		out | grep -q "^web  *[0-9]  *203.0.113.10:80/tcp  *3  *65537 "'
	run -j service list
	check service_list_json eval '[ $rc -eq 0 ] && jqo "length == 2 and
		(.[] | select(.name == \"dns\") | .table_size == 251 and .table.size == 251 and
		 ([.table.shares[]] | add) == 251 and .cells == [\"euw1-a\", \"use1-a\"] and .protocol == \"udp\")"'
	run service show web
	check service_show_table eval '[ $rc -eq 0 ] && out | grep -q "^address: *203.0.113.10:80/tcp$" &&
		out | grep -q "^table: *65537 slots live$" && [ $(out | grep -c " slots  *[0-9.]*%$") -eq 3 ]'
}

test_region_list() {
	run region list
	check region_list_table eval '[ $rc -eq 0 ] && out | head -1 | grep -q "^NAME  *ID  *COST  *LOCAL  *CELLS  *ACTIVE  *STATE  *SHARE$" &&
		out | sed -n 2p | grep -q "^us-east  *[0-9]  *0  *yes  *2  *2  *active  *1$" &&
		out | sed -n 3p | grep -q "^eu-west  *[0-9]  *10  *no  *1  *1  *active  *1$"'
	run -j region list
	check region_list_json eval '[ $rc -eq 0 ] && jqo "[.[].name] == [\"us-east\", \"eu-west\"] and .[0].local == true and
		.[1].state == \"active\" and .[1].share == \"1\" and .[1].ramp == [\"0.1\", \"0.25\", \"0.5\", \"1\"]"'
}

test_region_show() {
	run region show eu-west
	check region_show_table eval '[ $rc -eq 0 ] && out | grep -q "^state: *active$" && out | grep -q "^share: *1$" &&
		out | grep -q "^ramp step 3: *1$" && out | grep -q "^cells: *1, 1 active$" && out | grep -q "^ *euw1-a  active  weight 100"'
	run -j region show eu-west
	check region_show_json eval '[ $rc -eq 0 ] && jqo ".name == \"eu-west\" and .state == \"active\" and .transition == null and
		[.cell_list[].name] == [\"euw1-a\"]"'
	run region show
	check region_show_missing_name eval '[ $rc -eq 2 ] && grep -q "^cellctl: region show: missing NAME$" "$TMP/err"'
	run region show eu-west extra
	check region_show_extra_arg eval '[ $rc -eq 2 ] && grep -q "unexpected argument .extra." "$TMP/err"'
	run region show "b@d"
	check region_show_bad_name eval '[ $rc -eq 2 ] && grep -q "bad NAME .b@d." "$TMP/err"'
	run region show nowhere
	check region_show_unknown eval '[ $rc -eq 1 ] && grep -q "^cellctl: region .nowhere. not found$" "$TMP/err"'
	run -j region show nowhere
	check region_show_unknown_json eval '[ $rc -eq 1 ] && jqo ".error == \"region '"'"'nowhere'"'"' not found\""'
}

test_prefix_dispatch() {
	run ce li -j
	check prefix_dispatch eval '[ $rc -eq 0 ] && jqo "length == 3"'
}

# ---- stats ----

# 20 dns flows, counted by the next tests too
test_stats_json() {
	udp_burst 20
	run -j stats
	check stats_json eval '[ $rc -eq 0 ] && jqo ".services.dns.packets >= 20 and .services.dns.new_flows >= 20 and
		.counters.fwd.packets >= 20 and
		(.cells | [.[].packets] | add) >= 20 and .services.web.packets == 0 and
		.conntrack.entries >= 20 and .conntrack.capacity == 4096"'
	check stats_json_cells_sum eval 'jqo "(.cells | [.[].packets] | add) == .counters.fwd.packets"'
}

stats_table_ok() {
	[ "$rc" -eq 0 ] && out | grep -q '^rates over 1\.[0-9] s$' &&
		out | grep -q '^SERVICE  *PACKETS  *PKT RATE  *BYTES  *BIT RATE  *NEW FLOWS  *FLOW RATE  *DROPS  *DROP RATE$' &&
		out | grep -q '^CELL  *PACKETS' && out | grep -q '^REASON  *PACKETS' &&
		out | grep -q '^fwd  ' && out | grep -q '^conntrack: ' &&
		out | grep '^dns ' | grep -q '[1-9][0-9.]* k\?pps'
}

test_stats_table_rates() {
	# rates: traffic during the sampling interval shows as a non-zero packet rate for dns
	(for i in $(seq 30); do udp_burst 3; sleep 0.05; done) &
	burst=$!
	run stats --interval 1
	wait "$burst"
	check stats_table_rates stats_table_ok
}

# the flows of test_stats_json are in every sample
test_stats_watch() {
	start=$(date +%s%N)
	run stats --watch --count 3 --interval 0.2
	elapsed=$((($(date +%s%N) - start) / 1000000))
	check stats_watch eval '[ $rc -eq 0 ] && [ $(out | grep -c "^rates over") -eq 3 ] && [ $elapsed -lt 5000 ]'
	run -j stats --watch --count 3 --interval 0.1
	check stats_watch_json eval '[ $rc -eq 0 ] && [ $(out | wc -l) -eq 3 ] && jq -e -s "length == 3 and all(.[]; .counters.fwd.packets >= 20)" "$TMP/out" >/dev/null'
}

# ---- changes (each group counts on the generation the one before left) ----

test_cell_set_draining() {
	run cell set use1-a --state draining
	check cell_set_draining_output eval '[ $rc -eq 0 ] && [ "$(out)" = "~ cell use1-a state active -> draining
applied, generation 2" ]'
	run -j cell list
	check cell_set_draining_json eval 'jqo "(.[] | select(.name == \"use1-a\") | .state == \"draining\" and .dataplane.state == \"draining\")
		and ([.[] | select(.name != \"use1-a\") | .state] == [\"active\", \"active\"])"'
	run -j region list
	check cell_set_draining_region eval 'jqo "(.[] | select(.name == \"us-east\") | .active == 1 and .cells == 2)"'
	run -j service show dns
	check cell_set_draining_table eval 'jqo ".table.shares | keys == [\"euw1-a\"]"'
}

test_cell_set_weight() {
	run -j cell set use1-a --state active --weight 150
	check cell_set_json_reply eval '[ $rc -eq 0 ] && jqo ".applied == true and .generation == 3 and
		(.changes | length == 1) and .changes[0].op == \"~\" and .changes[0].name == \"use1-a\" and
		(.changes[0].detail | test(\"weight 100 -> 150\")) and .written.cells >= 1"'
	run -j cell show use1-a
	check cell_set_round_trip eval 'jqo ".state == \"active\" and .dataplane.state == \"active\" and .weight == 150"'
	check cell_show_probe_port eval 'jqo ".probe_port == 0"'
	run cell set use1-a --weight 150
	check cell_set_no_change eval '[ $rc -eq 0 ] && [ "$(out)" = "no changes" ]'
}

cell_c_live() {
	local i
	for i in $(seq 50); do
		run -j cell show use1-c
		jqo '.dataplane.state == "active"' && return 0
		sleep 0.1
	done
	return 1
}

test_cell_add_del() {
	run cell add use1-c --region us-east --gateway 198.18.0.13 --encap ipip --weight 50 --capacity 1000
	check cell_add_output eval '[ $rc -eq 0 ] && out | grep -q "^+ cell use1-c .*region us-east" &&
		out | grep -q "^applied, generation 4$"'
	check cell_add_round_trip eval 'cell_c_live && jqo ".region == \"us-east\" and .gateway == \"198.18.0.13\" and
		.encap == \"ipip\" and .weight == 50 and .capacity == 1000 and .state == \"active\""'
	run cell del use1-c
	check cell_del eval '[ $rc -eq 0 ] && [ "$(out)" = "- cell use1-c
applied, generation 5" ]'
	run -j cell list
	check cell_del_gone eval 'jqo "length == 3 and all(.[]; .name != \"use1-c\")"'
}

test_service_add_del() {
	run service add api --vip 203.0.113.20 --port 443 --proto tcp --cells use1-a,use1-b --table-size 251 --class 3
	check service_add eval '[ $rc -eq 0 ] && out | grep -q "^+ service api " && out | grep -q "^applied, generation 6$"'
	run -j service show api
	check service_add_round_trip eval 'jqo ".vip == \"203.0.113.20\" and .port == 443 and .protocol == \"tcp\" and
		.default_class == 3 and .table.size == 251 and (.table.shares | keys) == [\"use1-a\", \"use1-b\"]"'
	# deleting a service takes all its capacity out at once: the max_out rule refuses it
	before=$(dump_state) nbad=0
	bad service_del_max_out 1 "^cellctl: rule max_out: service 'api' would lose 100.0% of its capacity at once, at most 50.0% \\(--force overrides it\\)$" -- service del api
	run service del api --dry-run --force
	check service_del_dry_run_forced eval '[ $rc -eq 0 ] && [ "$(out)" = "- service api
dry run: nothing changed" ] && grep -q "^cellctl: would be forced: rule max_out: " "$TMP/err"'
	run service del api --force
	check service_del eval '[ $rc -eq 0 ] && [ "$(out)" = "- service api
applied, generation 7" ] && grep -q "^cellctl: forced: rule max_out: service .api." "$TMP/err"'
	check service_del_forced_logged grep -q "forced (service del api; uid 0 (root) pid [0-9]*): rule max_out" "$TMP/cellgated.log"
	run -j service list
	check service_del_gone eval 'jqo "[.[].name] == [\"dns\", \"web\"]"'
}

# ---- config ----

# bad.yaml and bad_line are used by test_config_apply too
test_config_check() {
	run config check "$TMP/cfg.yaml"
	check config_check_ok eval '[ $rc -eq 0 ] && [ "$(out)" = "$TMP/cfg.yaml: ok (2 services, 3 cells, 2 regions)" ]'
	sed 's/region: eu-west, gateway: 198.18.0.12/region: eu-wst, gateway: 198.18.0.12/' \
		"$TMP/cfg.yaml" >"$TMP/bad.yaml"
	bad_line=$(grep -n 'eu-wst' "$TMP/bad.yaml" | cut -d: -f1)
	run config check "$TMP/bad.yaml"
	check config_check_bad eval '[ $rc -eq 1 ] && [ $(err_lines) -eq 1 ] &&
		grep -q "^cellctl: $TMP/bad.yaml:$bad_line: .*eu-wst" "$TMP/err" && [ ! -s "$TMP/out" ]'
	run -j config check "$TMP/bad.yaml"
	check config_check_bad_json eval '[ $rc -eq 1 ] && jqo ".error | test(\":$bad_line: \")"'
}

# dump.yaml is the base of test_config_apply_dry_run
test_config_dump() {
	run config dump
	cp "$TMP/out" "$TMP/dump.yaml"
	check config_dump eval '[ $rc -eq 0 ] && grep -q "^generation: 7$" "$TMP/dump.yaml" && grep -q "name: use1-a" "$TMP/dump.yaml"'
	run config check "$TMP/dump.yaml"
	check config_dump_parses eval '[ $rc -eq 0 ] && out | grep -q ": ok (2 services, 3 cells, 2 regions)$"'
	run config apply "$TMP/dump.yaml"
	check config_apply_dump_no_changes eval '[ $rc -eq 0 ] && [ "$(out)" = "no changes" ]'
	run -j config dump
	check config_dump_json eval '[ $rc -eq 0 ] && [ "$(jq -r .text "$TMP/out")" = "$(cat "$TMP/dump.yaml")" ]'
}

# The hash key cellgated generated in the state directory: 0600, and shown nowhere (only its
# fingerprint is logged); a key others can read is refused in one line, nothing changed.
test_hash_key_never_shown() {
	local key pin2=/sys/fs/bpf/cgcli-key-$$
	key=$(tr -d '\n' <"$STATE/hash.key" 2>/dev/null)
	check hash_key_generated_0600 eval '[ "$(stat -c %a "$STATE/hash.key")" = 600 ] && [ ${#key} -eq 64 ]'
	check hash_key_fingerprint_logged grep -q "generated a hash key in .*(fingerprint [0-9a-f]\{16\})" "$TMP/cellgated.log"
	run config dump
	check config_dump_hides_hash_key eval '[ $rc -eq 0 ] && [ -n "$key" ] && ! grep -qi -- "$key" "$TMP/out"'
	run -j status
	check status_hides_hash_key eval '[ $rc -eq 0 ] && ! grep -qi -- "$key" "$TMP/out"'
	check state_and_log_hide_hash_key eval '! grep -qi -- "$key" "$STATE/state.yaml" "$TMP/cellgated.log"'
	printf '%s\n' "$key" >"$TMP/open.key"
	chmod 644 "$TMP/open.key"
	in_cli_lb "$CELLGATED" --hash-key "$TMP/open.key" -c "$TMP/cfg.yaml" -d "$TMP/state2" \
		-p "$pin2" -s "$TMP/ctl2.sock" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	check hash_key_open_mode_refused eval '[ $rc -ne 0 ] && [ "$(err_lines)" -eq 1 ] &&
		grep -q "hash key .*open.key. has mode 0644" "$TMP/err" && [ ! -e "$pin2" ] &&
		! grep -qi -- "$key" "$TMP/err"'
}

# The key's fingerprint in status (text and JSON) is the one logged; a second cellgated given a
# copy of the same key (its own interface, pins, state and socket) shows the same fingerprint.
test_hash_key_fingerprint_in_status() {
	local fp fp2 pid2 pin2=/sys/fs/bpf/cgcli-fp-$$ i
	fp=$(sed -n 's/.*generated a hash key in .*(fingerprint \([0-9a-f]\{16\}\)).*/\1/p' \
		"$TMP/cellgated.log" | head -n 1)
	run -j status
	check status_json_fingerprint eval '[ $rc -eq 0 ] && [ -n "$fp" ] &&
		[ "$(jq -r .hash_key_fingerprint "$TMP/out")" = "$fp" ]'
	run status
	check status_text_fingerprint eval '[ $rc -eq 0 ] &&
		out | grep -q "^hash key: *fingerprint $fp (the same on every LB of a fleet)$"'
	if ! ip -n "$NS_LB" link add cgfp0 type veth peer name cgfp1 ||
		! ip -n "$NS_LB" link set cgfp0 up || ! ip -n "$NS_LB" link set cgfp1 up; then
		fail second_lb_iface "cannot add cgfp0"
		return
	fi
	install -m 600 "$STATE/hash.key" "$TMP/fleet.key"
	sed 's/^interfaces: .*/interfaces: [cgfp0]/' "$TMP/cfg.yaml" >"$TMP/cfg2.yaml"
	nsenter --net="/var/run/netns/$NS_LB" "$CELLGATED" --hash-key "$TMP/fleet.key" \
		-c "$TMP/cfg2.yaml" -d "$TMP/state-fp" -p "$pin2" -s "$TMP/ctl-fp.sock" \
		>"$TMP/cellgated-fp.log" 2>&1 &
	pid2=$!
	fp2=
	for i in $(seq 100); do
		fp2=$(in_cli_lb "$CELLCTL" -j -s "$TMP/ctl-fp.sock" status 2>/dev/null |
			jq -r --argjson p "$pid2" 'select(.pid == $p) | .hash_key_fingerprint')
		[ -n "$fp2" ] && break
		kill -0 "$pid2" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pid2" 2>/dev/null
	wait "$pid2" 2>/dev/null
	in_cli_lb "$CELLGATED" --teardown -p "$pin2" >/dev/null 2>&1
	rm -rf "$pin2"
	ip -n "$NS_LB" link del cgfp0 2>/dev/null
	check same_key_same_fingerprint_on_two_lbs eval '[ -n "$fp2" ] && [ "$fp2" = "$fp" ] &&
		grep -q "hash key .*fleet.key. (fingerprint $fp)" "$TMP/cellgated-fp.log"'
}

# The control socket is 0600 from the moment it exists; a symlink planted at the socket path is
# refused in one line and its target (mode and content) is left as it was.
test_socket_mode_and_symlink_refused() {
	local pin3=/sys/fs/bpf/cgcli-ln-$$ before
	check socket_is_0600 eval '[ -S "$SOCK" ] && [ "$(stat -c %a "$SOCK")" = 600 ]'
	printf 'precious\n' >"$TMP/target"
	chmod 644 "$TMP/target"
	ln -s "$TMP/target" "$TMP/ln.sock"
	before=$(stat -c %a:%s "$TMP/target")
	# an interface that does not exist: fail-static, so the lab's cg0 is never touched
	sed 's/^interfaces: .*/interfaces: [cgnone0]/' "$TMP/cfg.yaml" >"$TMP/cfg-ln.yaml"
	in_cli_lb "$CELLGATED" -c "$TMP/cfg-ln.yaml" -d "$TMP/state-ln" -p "$pin3" -s "$TMP/ln.sock" \
		>"$TMP/out" 2>"$TMP/err"
	rc=$?
	in_cli_lb "$CELLGATED" --teardown -p "$pin3" >/dev/null 2>&1
	rm -rf "$pin3"
	check socket_symlink_refused eval '[ $rc -ne 0 ] && grep -q "cannot listen on .*ln.sock.: it is a symbolic link" "$TMP/err" &&
		[ -L "$TMP/ln.sock" ] && [ "$(stat -c %a:%s "$TMP/target")" = "$before" ] &&
		[ "$(cat "$TMP/target")" = precious ]'
}

# new.yaml: the next test applies it, the fallback tests try to
test_config_apply_dry_run() {
	# the change, made to the dump: use1-b heavier, a new cell euw1-b, dns served by it too
	awk '/^services:/ { print "  - {name: euw1-b, region: eu-west, gateway: 198.18.0.14, encap: gue, gue_port: 6081}" }
		{ sub(/weight: 200$/, "weight: 300"); sub(/cells: \[euw1-a, use1-a\]/, "cells: [euw1-a, euw1-b, use1-a]"); print }' \
		"$TMP/dump.yaml" >"$TMP/new.yaml"
	before=$(dump_state)
	run config apply "$TMP/new.yaml" --dry-run
	check config_apply_dry_run_output eval '[ $rc -eq 0 ] && out | grep -q "^+ cell euw1-b " &&
		out | grep -q "^~ cell use1-b weight 200 -> 300$" && out | grep -q "^~ service dns " &&
		[ "$(out | tail -1)" = "dry run: nothing changed" ]'
	check config_apply_dry_run_unchanged eval '[ "$(dump_state)" = "$before" ]'
	run -j config apply "$TMP/new.yaml" --dry-run
	check config_apply_dry_run_json eval 'jqo ".applied == false and .generation == 7 and (.changes | length) == 3"'
}

test_config_apply() {
	run -j config apply "$TMP/new.yaml"
	check config_apply_exact_diff eval '[ $rc -eq 0 ] && jqo ".applied == true and .generation == 8 and
		([.changes[] | \"\(.op) \(.kind) \(.name)\"] == [\"+ cell euw1-b\", \"~ cell use1-b\", \"~ service dns\"])"'
	run -j cell list
	check config_apply_result eval 'jqo "length == 4 and (.[] | select(.name == \"use1-b\") | .weight == 300) and
		(.[] | select(.name == \"euw1-b\") | .gue_port == 6081 and .region == \"eu-west\") and
		(.[] | select(.name == \"use1-a\") | .weight == 150)"'
	run config apply "$TMP/new.yaml"
	check config_apply_again_no_changes eval '[ $rc -eq 0 ] && [ "$(out)" = "no changes" ]'
	run config apply "$TMP/bad.yaml"
	check config_apply_bad_file_line eval '[ $rc -eq 1 ] && [ $(err_lines) -eq 1 ] &&
		grep -q "^cellctl: $TMP/bad.yaml:$bad_line: " "$TMP/err"'
}

# ---- bad input: one line on stderr, the right status, nothing printed, nothing changed ----

# down_config CELLS-REGEX FILE: the current state with the cells matching CELLS-REGEX set down
down_config() {
	dump_state | awk -v re="^  - name: ($1)\$" '$0 ~ re { c = 1 } c && /^    state: / { sub(/active/, "down"); c = 0 } { print }' >"$2"
	grep -q 'state: down' "$2"
}

# the safety rules guard every change: a config taking dns's last active cells out, or two of
# its three at once, is refused with the rule and by how much; a dry run with --force says what
# it would override; nothing changes either way
test_rules_guard_config_apply() {
	local f=$TMP/rules.yaml
	before=$(dump_state) nbad=0
	down_config 'use1-a|euw1-a|euw1-b' "$f" || { fail rules_config_made "no cell set down"; return; }
	bad rules_min_cells 1 "^cellctl: rule min_cells: service 'dns' would keep 0 active cells, needs 1 \\(--force overrides it\\)$" -- config apply "$f"
	bad rules_min_cells_dry_run 1 "rule min_cells: service 'dns'" -- config apply "$f" --dry-run
	run config apply "$f" --dry-run --force
	check rules_forced_dry_run eval '[ $rc -eq 0 ] && out | grep -q "^dry run: nothing changed$" && grep -q "^cellctl: would be forced: rule min_cells: " "$TMP/err" && [ "$(dump_state)" = "$before" ]'
	down_config 'use1-a|euw1-a' "$f"
	bad rules_max_out 1 "^cellctl: rule max_out: service 'dns' would lose 66.6% of its capacity at once, at most 50.0% \\(--force overrides it\\)$" -- config apply "$f"
}

test_bad_input() {
	before=$(dump_state)
	nbad=0
	bad weight_not_number 2 "^cellctl: cell set: bad --weight 'x': not a number$" -- cell set use1-a --weight x
	bad weight_zero 2 "bad --weight '0': must be 1\.\.65535" -- cell set use1-a --weight 0
	bad weight_too_big 2 "must be 1\.\.65535" -- cell set use1-a --weight 70000
	bad weight_negative 2 "not a number" -- cell set use1-a --weight -5
	bad weight_twice 2 "given twice" -- cell set use1-a --weight 5 --weight 6
	bad probe_port_range 2 "^cellctl: cell set: bad --probe-port '70000': must be 0\.\.65535$" -- cell set use1-a --probe-port 70000
	bad state_word 2 "bad --state 'sleepy' \(active, draining, down\)" -- cell set use1-a --state sleepy
	bad set_nothing 2 "nothing to change" -- cell set use1-a
	bad set_missing_name 2 "^cellctl: cell set: missing NAME$" -- cell set
	bad unknown_option 2 "unknown option '--frob'" -- cell set use1-a --frob 1
	bad unknown_command 2 "^cellctl: unknown command 'cell frob' \(try 'cellctl cell help'\)$" -- cell frob
	bad ambiguous_command 2 "ambiguous command 'cell s' \(show, set\)" -- cell s
	bad unknown_object 2 "unknown object 'frob'" -- frob
	bad bad_name 2 "bad NAME 'bad/name'" -- cell set bad/name --weight 3
	bad cell_not_found 1 "^cellctl: cell 'nope' not found$" -- cell set nope --weight 3
	bad cell_show_not_found 1 "^cellctl: cell 'nope' not found$" -- cell show nope
	bad cell_exists 1 "cell 'use1-a' exists" -- cell add use1-a --region us-east --gateway 198.18.0.10
	bad add_missing_gateway 2 "missing --gateway" -- cell add newc --region us-east
	bad add_bad_address 2 "bad --gateway '198.18.0.300'" -- cell add newc --region us-east --gateway 198.18.0.300
	bad add_unknown_region 1 "unknown region 'nowhere'" -- cell add newc --region nowhere --gateway 198.18.0.20
	bad add_v6_without_source 1 "IPv6" -- cell add v6 --region us-east --gateway 2001:db8::99
	bad del_serving_cell 1 "serves service" -- cell del use1-a
	bad service_port_range 2 "bad --port '99999'" -- service add api --vip 203.0.113.20 --port 99999 --proto tcp --cells use1-a
	bad service_proto 2 "bad --proto 'sctp'" -- service add api --vip 203.0.113.20 --port 443 --proto sctp --cells use1-a
	bad service_empty_cell 2 "empty cell name" -- service add api --vip 203.0.113.20 --port 443 --proto tcp --cells use1-a,,use1-b
	bad service_unknown_cell 1 "ghost" -- service add api --vip 203.0.113.20 --port 443 --proto tcp --cells ghost
	bad service_table_not_prime 1 "" -- service add api --vip 203.0.113.20 --port 443 --proto tcp --cells use1-a --table-size 100
	bad service_missing_vip 2 "missing --vip" -- service add api --port 443 --proto tcp --cells use1-a
	bad service_del_not_found 1 "service 'nope' not found" -- service del nope
	bad stats_interval 2 "bad --interval '0'" -- stats --interval 0
	bad stats_count_without_watch 2 "--count needs --watch" -- stats --count 3
	bad config_apply_no_file 1 "cannot open '$TMP/none.yaml'" -- config apply "$TMP/none.yaml"
	bad config_missing_command 2 "missing COMMAND" -- config
	bad timeout_not_number 2 "bad --timeout 'abc'" -- --timeout abc status
	bad extra_argument 2 "unexpected argument 'extra'" -- region list extra
	check bad_input_count eval '[ $nbad -ge 15 ]'
}

json_error_ok() { [ "$rc" -eq 1 ] && [ ! -s "$TMP/err" ] && [ "$(out)" = "{\"error\":\"cell 'nope' not found\"}" ]; }

test_json_errors() {
	run -j cell show nope
	check json_error json_error_ok
	run -j cell set use1-a --weight x
	check json_usage_error eval '[ $rc -eq 2 ] && jqo ".error | test(\"bad --weight\")"'
}

test_help() {
	run help
	check help_top eval '[ $rc -eq 0 ] && out | grep -q "^Usage: cellctl"'
	run cell help
	check help_object eval '[ $rc -eq 0 ] && out | grep -q "cellctl cell set NAME" && out | grep -q "cellctl cell del NAME"'
	run help cell
	check help_object_word eval '[ $rc -eq 0 ] && out | grep -q "cellctl cell set NAME"'
	run cell set --help
	check help_command eval '[ $rc -eq 0 ] && out | grep -q "^  --weight N" && ! out | grep -q "cellctl cell del"'
}

# ---- classes, class rules and shed levels ----

classes_table_ok() {
	[ "$rc" -eq 0 ] && [ "$(out | wc -l)" -eq 5 ] &&
		out | head -1 | grep -q '^ID  *NAME  *PROTECTED  *NEW-FLOWS/S  *PKTS/S  *BURST$' &&
		out | sed -n 2p | grep -q '^ *0  *critical  *yes  *-  *-  *-$' &&
		out | sed -n 3p | grep -q '^ *1  *high  *no  *-  *-  *-$' &&
		out | sed -n 4p | grep -q '^ *2  *normal  *no ' &&
		out | sed -n 5p | grep -q '^ *3  *sheddable  *no '
}

test_class_list() {
	run class list
	check class_list_table classes_table_ok
	run -j class list
	check class_list_json eval '[ $rc -eq 0 ] && jqo "[.[].name] == [\"critical\", \"high\", \"normal\", \"sheddable\"] and
		[.[].id] == [0, 1, 2, 3] and .[0].protected == true and ([.[1:][].protected] | any | not) and
		all(.[]; .new_flows_per_sec == 0 and .packets_per_sec == 0 and (has(\"source\") | not))"'
	run cl li
	check class_prefix_dispatch eval '[ $rc -eq 0 ] && out | grep -q "^ *3  *sheddable"'
}

rules_table_ok() {
	[ "$rc" -eq 0 ] && [ "$(out | wc -l)" -eq 4 ] &&
		out | head -1 | grep -q '^KIND  *MATCH  *CLASS$' &&
		out | grep -q '^prefix  *198\.18\.0\.0/24  *sheddable (3)$' &&
		out | grep -q '^prefix  *2001:db8:11::/48  *normal (2)$' &&
		out | grep -q '^dscp  *46  *high (1)$'
}

test_class_rules() {
	run class rule list
	check class_rule_list_empty eval '[ $rc -eq 0 ] && out | grep -q "^no class rules"'
	gen=$(run -j status && jq .generation "$TMP/out")
	run class rule add --prefix 198.18.0.0/24 --class sheddable
	check class_rule_add eval '[ $rc -eq 0 ] && [ "$(out)" = "+ rule 198.18.0.0/24 class sheddable
applied, generation $((gen + 1))" ]'
	run -j class rule add --dscp 46 --class 1
	check class_rule_add_json eval '[ $rc -eq 0 ] && jqo ".applied == true and .generation == $((gen + 2)) and
		.changes[0].op == \"+\" and .changes[0].kind == \"rule\" and .changes[0].name == \"dscp 46\""'
	run class rule add --prefix 2001:db8:11::/48 --class normal
	check class_rule_add_v6 eval '[ $rc -eq 0 ]'
	run class rule list
	check class_rule_list_table rules_table_ok
	run -j class rule list
	check class_rule_list_json eval '[ $rc -eq 0 ] && jqo "length == 3 and
		(.[] | select(.kind == \"prefix\" and .prefix == \"198.18.0.0/24\") | .class == \"sheddable\" and .class_id == 3) and
		(.[] | select(.kind == \"dscp\") | .dscp == 46 and .class == \"high\" and .class_id == 1)"'
	run config dump
	check class_rule_persisted eval 'out | grep -q "198.18.0.0/24"'
	run class rule del --dscp 46
	check class_rule_del eval '[ $rc -eq 0 ] && [ "$(out | head -1)" = "- rule dscp 46" ]'
	run class rule del --prefix 2001:db8:11::/48
	run -j class rule list
	check class_rule_del_gone eval '[ $rc -eq 0 ] && jqo "length == 1 and .[0].prefix == \"198.18.0.0/24\""'
}

test_shed_show_empty() {
	# no shedding yet: the table says so, stats has no breakdown
	run shed show
	check shed_show_empty eval '[ $rc -eq 0 ] && [ "$(out)" = "no shedding" ]'
	run -j shed show
	check shed_show_empty_json eval '[ $rc -eq 0 ] && jqo ".levels == [] and .entries == [] and .counters == []"'
	run stats --interval 0.1
	check stats_no_shed_table eval '[ $rc -eq 0 ] && ! out | grep -q "SHED RATE"'
}

shed_table_ok() {
	[ "$rc" -eq 0 ] &&
		out | head -1 | grep -q '^CELL  *CLASS  *LEVEL  *HARD  *SOURCE  *FOR  *BY  *LEFT  *REASON$' &&
		out | grep -qE '^use1-a  +sheddable  +0\.25  +-  +operator  +use1-a  +uid 0 \([a-z]*\)  +(10m|9m[0-9]+s)  +launch spike$'
}

test_shed_set() {
	run shed set --cell use1-a --class sheddable --level 0.25 --ttl 10m --reason "launch spike"
	check shed_set eval '[ $rc -eq 0 ] && out | grep -q "^+ shed use1-a/sheddable level 0.25, " &&
		out | grep -q "by \"uid 0 (" && out | grep -q "^applied, generation "'
	run shed show
	check shed_show_table shed_table_ok
	check shed_show_width eval '[ $(out | awk "{ if (length > m) m = length } END {print m}") -le 100 ]'
	run -j shed show
	check shed_show_json eval '[ $rc -eq 0 ] && jqo "(.levels | length) == 1 and
		(.levels[0] | .cell == \"use1-a\" and .class == \"sheddable\" and .class_id == 3 and
		 .level == \"0.25\" and .hard_level == \"0\" and .source == \"operator\" and .set_for == \"use1-a\" and
		 (.by | test(\"uid 0\")) and .reason == \"launch spike\" and
		 .expires_in_s >= 590 and .expires_in_s <= 600 and .expires > now) and
		(.entries | length) == 1 and .entries[0].expired == false and .entries[0].hard == false"'
}

test_shed_ttl_units() {
	# --ttl units: plain seconds and days
	run -j shed set --cell use1-b --class normal --level 0.000001 --ttl 90
	run -j shed show
	check shed_ttl_seconds eval 'jqo "(.levels[] | select(.cell == \"use1-b\" and .class == \"normal\") |
		.level == \"0.000001\" and .expires_in_s >= 85 and .expires_in_s <= 90)"'
	run shed set --cell use1-b --class 2 --level 0.5 --ttl 1d
	run -j shed show
	check shed_ttl_days eval 'jqo "[.levels[] | select(.cell == \"use1-b\" and .class == \"normal\")] | length == 1 and
		.[0].level == \"0.5\" and .[0].expires_in_s >= 86390 and .[0].expires_in_s <= 86400"'
	run shed show
	check shed_show_left_days eval 'out | grep -qE "^use1-b  +normal  +0\.5 .*  (1d|23h59m)  +-$"'
	run -j shed set --cell use1-b --class normal --level 2
	check shed_json_usage_error eval '[ $rc -eq 2 ] && [ ! -s "$TMP/err" ] && jqo ".error | test(\"bad --level\")"'
	run shed clear --cell use1-b --class normal
	check shed_clear_cell_class eval '[ $rc -eq 0 ] && [ "$(out | head -1)" = "- shed use1-b/normal" ]'
}

stats_shed_table_ok() {
	[ "$rc" -eq 0 ] &&
		out | grep -q '^CELL  *SHED  *SHED RATE  *SHED HARD  *HARD RATE  *CEILING  *CEIL RATE  *GUARD  *GUARD RATE$' &&
		[ "$(out | sed -n '/SHED RATE/,/^$/p' | grep -c '^[a-z]')" -eq 1 ] &&
		out | sed -n '/SHED RATE/,/^$/p' | grep -q '^use1-a  *[1-9]' &&
		out | grep -q '^drop_shed  *[1-9]' &&
		[ "$(out | awk '{ if (length > m) m = length } END {print m}')" -le 100 ]
}

test_shed_counters() {
	# every new flow of the class refused on use1-a: the drops show per cell, class and reason
	run shed set --cell use1-a --class sheddable --level 1 --ttl 10m --reason "launch spike"
	shed_before=$(run -j stats && jq '.cells["use1-a"].shed' "$TMP/out")
	udp_burst 60
	run -j shed show
	check shed_counters_json eval '[ $rc -eq 0 ] && jqo "(.counters[] | select(.cell == \"use1-a\" and .class == \"sheddable\") |
		.shed > 0 and .shed_hard == 0 and .ceiling == 0 and .guard == 0) and all(.counters[]; .cell == \"use1-a\")"'
	run shed show
	check shed_counters_table eval '[ $rc -eq 0 ] && out | grep -q "^CELL  *CLASS  *SHED  *SHED HARD  *CEILING  *GUARD$" &&
		out | grep -q "^use1-a  *sheddable  *[1-9][0-9.k]*  *0  *0  *0$"'
	run -j stats
	check stats_shed_json eval '[ $rc -eq 0 ] && jqo ".cells[\"use1-a\"].shed > $shed_before and
		.cells[\"use1-a\"].drops >= .cells[\"use1-a\"].shed and .counters.drop_shed.packets > 0 and
		.cells[\"euw1-a\"].shed == 0"'
	run stats --interval 0.2
	check stats_shed_table stats_shed_table_ok
	run cell show use1-a
	check cell_show_shed eval '[ $rc -eq 0 ] && out | grep -q "^  shed: *[1-9]" && ! out | grep -q "^  guard:"'
	run -j cell list
	check cell_list_shed_json eval 'jqo "(.[] | select(.name == \"use1-a\") | .shed > 0 and .drops >= .shed and has(\"guard\"))"'
	run cell list
	check cell_list_drops eval '[ $rc -eq 0 ] && out | grep -q "^use1-a .* [1-9][0-9.k]*$"'
}

test_shed_wildcard() {
	# a "*" level, hard, permanent: every cell gets it, the named cell's own level still wins
	run shed set --cell '*' --class sheddable --level 0.5 --hard --permanent
	run -j shed show
	check shed_wildcard_json eval '[ $rc -eq 0 ] && jqo "(.levels | length) == 4 and
		(.levels[] | select(.cell == \"use1-a\") | .level == \"1\" and .set_for == \"use1-a\") and
		(.levels[] | select(.cell == \"use1-b\") | .level == \"0.5\" and .hard_level == \"0.5\" and
		 .set_for == \"*\" and .expires_in_s == null and .expires == 0)"'
	run shed show
	check shed_wildcard_table eval 'out | grep -qE "^use1-b  +sheddable  +0\.5  +0\.5  +operator  +\*  +uid 0 .*  permanent  +-$"'
}

shed_expired() {
	while [ $((($(date +%s%N) - set_ms) / 1000000)) -lt 4500 ]; do
		run -j shed show
		[ "$rc" -eq 0 ] && jqo 'all(.levels[], .entries[]; .class != "high")' && return 0
		sleep 0.1
	done
	return 1
}

test_shed_ttl_expires() {
	# an operator level with a TTL of 2 s leaves the state when it expires (bounded wait)
	run shed set --cell use1-b --class high --level 0.1 --ttl 2s
	set_ms=$(date +%s%N)
	run -j shed show
	check shed_ttl_set eval 'jqo "(.levels[] | select(.cell == \"use1-b\" and .class == \"high\") | .expires_in_s <= 2)"'
	check shed_ttl_expires shed_expired
	run shed show
	check shed_ttl_expired_table eval '[ $rc -eq 0 ] && ! out | grep -q "^use1-b  *high "'
}

test_shed_clear() {
	run shed clear --cell use1-a
	check shed_clear_cell eval '[ $rc -eq 0 ] && [ "$(out | head -1)" = "- shed use1-a/sheddable" ]'
	run -j shed show
	check shed_clear_cell_json eval 'jqo "(.entries | length) == 1 and .entries[0].cell == \"*\" and
		(.levels[] | select(.cell == \"use1-a\") | .set_for == \"*\" and .level == \"0.5\")"'
	run -j shed clear --class 3
	check shed_clear_class_json eval '[ $rc -eq 0 ] && jqo ".applied == true and (.changes | length) == 1 and
		.changes[0].op == \"-\" and .changes[0].kind == \"shed\""'
	run shed show
	check shed_clear_all eval '[ $rc -eq 0 ] && out | grep -q "^no shed levels$" && out | grep -q "^use1-a  *sheddable "'
	run shed clear
	check shed_clear_nothing eval '[ $rc -eq 0 ] && [ "$(out)" = "no changes" ]'
}

test_help_class_shed() {
	run class rule add --help
	check help_class_rule_add eval '[ $rc -eq 0 ] && out | grep -q "^  --prefix A/LEN" && out | grep -q "cellctl class rule add"'
	run class help
	check help_class eval '[ $rc -eq 0 ] && out | grep -q "cellctl class rule \[list\]"'
	run shed set -h
	check help_shed_set eval '[ $rc -eq 0 ] && out | grep -q "^  --ttl T" && out | grep -q "^  --permanent"'
}

test_bad_shed_and_rules() {
	# what the fallback below shows: a permanent level on a class no traffic has, the rule gone
	run shed set --cell use1-b --class high --level 0.5 --permanent --reason maintenance
	run class rule del --prefix 198.18.0.0/24
	run class rule add --prefix 198.18.7.0/24 --class sheddable

	before=$(dump_state)
	bad shed_level_above_one 2 "^cellctl: shed set: bad --level '1.5': must be 0\.\.1$" -- shed set --cell use1-a --class 3 --level 1.5
	bad shed_level_word 2 "bad --level 'abc'" -- shed set --cell use1-a --class 3 --level abc
	bad shed_level_decimals 2 "at most 6 decimals" -- shed set --cell use1-a --class 3 --level 0.1234567
	bad shed_level_missing 2 "missing --level" -- shed set --cell use1-a --class 3
	bad shed_ttl_zero 2 "bad --ttl '0'" -- shed set --cell use1-a --class 3 --level 0.5 --ttl 0
	bad shed_ttl_word 2 "bad --ttl '5x'" -- shed set --cell use1-a --class 3 --level 0.5 --ttl 5x
	bad shed_ttl_and_permanent 2 "give either --ttl or --permanent" -- shed set --cell use1-a --class 3 --level 0.5 --ttl 10m --permanent
	bad shed_unknown_class 1 "^cellctl: class 'gold' not found$" -- shed set --cell use1-a --class gold --level 0.5
	bad shed_class_id_range 2 "bad --class '9': must be 0\.\.7" -- shed set --cell use1-a --class 9 --level 0.5
	bad shed_unknown_class_id 1 "not found" -- shed set --cell use1-a --class 6 --level 0.5
	bad shed_unknown_cell 1 "^cellctl: cell 'nope' not found$" -- shed set --cell nope --class 3 --level 0.5
	bad shed_bad_cell 2 "bad --cell 'a/b'" -- shed set --cell a/b --class 3 --level 0.5
	bad shed_reason_control 2 "control character" -- shed set --cell use1-a --class 3 --level 0.5 --reason "$(printf 'a\tb')"
	bad shed_clear_unknown_class 1 "class 'gold' not found" -- shed clear --class gold
	bad rule_duplicate 1 "^cellctl: a rule for that prefix exists" -- class rule add --prefix 198.18.7.0/24 --class 2
	bad rule_both 2 "give either --prefix or --dscp" -- class rule del --prefix 198.18.7.0/24 --dscp 1
	bad rule_bad_prefix 2 "bad --prefix '198.18.7/24'" -- class rule add --prefix 198.18.7/24 --class 3
	bad rule_prefix_length 2 "bad --prefix '198.18.7.0/33'" -- class rule add --prefix 198.18.7.0/33 --class 3
	bad rule_host_bits 1 "host bits" -- class rule add --prefix 198.18.7.1/24 --class 3
	bad rule_unknown_class 1 "class 'gold' not found" -- class rule add --dscp 10 --class gold
	bad rule_dscp_range 2 "bad --dscp '64'" -- class rule add --dscp 64 --class 3
	bad rule_del_missing 1 "no rule for that DSCP value" -- class rule del --dscp 10
	bad rule_missing_class 2 "missing --class" -- class rule add --dscp 10
}

# the controller's mode: a dry run changes nothing, a cell's and a service's mode are persisted
# (shed_mode in the dump), default follows the level above; bad modes and names change nothing
bp_mode() { run -j shed show && jq -r --arg c "$1" '.controller.cells[] | select(.cell == $c) | .mode' "$TMP/out"; }
test_shed_mode() {
	run shed mode manual --cell use1-a --dry-run
	check shed_mode_dry_run eval '[ $rc -eq 0 ] && out | grep -q "dry run" && [ "$(bp_mode use1-a)" = auto ]'
	run shed mode manual --cell use1-a
	check shed_mode_cell eval '[ $rc -eq 0 ] && [ "$(bp_mode use1-a)" = manual ] && [ "$(bp_mode use1-b)" = auto ] &&
		dump_state | grep -Eq "name: use1-a.*shed_mode: manual|shed_mode: manual"'
	# dns's cells go off but use1-a, whose own mode wins; the others stay auto
	local dns want got
	dns=$(run -j service show dns && jq -r '.cells[] | if type == "object" then .name else . end' "$TMP/out")
	want=$(run -j cell list && jq -r --arg d "$dns" '.[].name' "$TMP/out" | sort | while read -r c; do
		if [ "$c" = use1-a ]; then echo "$c manual"
		elif grep -qx "$c" <<<"$dns"; then echo "$c off"
		else echo "$c auto"; fi
	done)
	run shed mode off --service dns
	got=$(run -j shed show && jq -r '.controller.cells[] | "\(.cell) \(.mode)"' "$TMP/out" | sort)
	if [ -n "$dns" ] && grep -q off <<<"$want" && [ "$got" = "$want" ]; then
		pass shed_mode_service
	else
		fail shed_mode_service "dns: ${dns//$'\n'/ }; want: ${want//$'\n'/, }; got: ${got//$'\n'/, }"
	fi
	run shed mode default --service dns
	run shed mode default --cell use1-a
	check shed_mode_default eval '[ $rc -eq 0 ] && [ "$(bp_mode use1-a)" = auto ] && [ "$(bp_mode euw1-a)" = auto ] &&
		! dump_state | grep -q shed_mode'
	before=$(dump_state)
	bad shed_mode_word 2 "bad mode 'fast'" -- shed mode fast
	bad shed_mode_missing 2 "" -- shed mode
	bad shed_mode_both 2 "^cellctl: shed mode: give either --cell or --service$" -- shed mode off --cell use1-a --service dns
	bad shed_mode_default_everywhere 2 "bad mode 'default'" -- shed mode default
	bad shed_mode_unknown_cell 1 "^cellctl: cell 'nope' not found$" -- shed mode off --cell nope
	bad shed_mode_unknown_service 1 "service 'nope' not found" -- shed mode off --service nope
	bad shed_mode_bad_name 2 "bad --cell 'a/b'" -- shed mode off --cell a/b
}

# ---- the daemon down: reads from the pins, writes refused ----

# before and gen_before are what the fallback and restart groups compare with
test_daemon_killed() {
	before=$(dump_state)
	gen_before=$(run -j status && jq .generation "$TMP/out")
	killed=$DPID
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
	check daemon_killed eval '! kill -0 "$killed" 2>/dev/null'
}

test_fallback_reads() {
	run -j cell list
	check fallback_cell_list eval '[ $rc -eq 0 ] && jqo "length == 4 and all(.[]; .source == \"pinned\") and
		(.[] | select(.name == \"use1-b\") | .weight == 300 and .dataplane.state == \"active\")"'
	check fallback_says_so eval '[ $(err_lines) -eq 1 ] && [ "$(cat "$TMP/err")" = "cellctl: cellgated is not running; showing the pinned data plane and the persisted state" ]'
	run cell list
	check fallback_cell_list_table eval '[ $rc -eq 0 ] && [ $(out | wc -l) -eq 5 ]'
	run -j status
	check fallback_status eval '[ $rc -eq 0 ] && jqo ".source == \"pinned\" and .generation == $gen_before and .cells == 4"'
	run -j service show dns
	check fallback_service_show eval '[ $rc -eq 0 ] && jqo ".source == \"pinned\" and .table.size == 251"'
	check fallback_config_dump eval '[ "$(dump_state)" = "$before" ]'
	fwd_before=$(run -j stats && jq .counters.fwd.packets "$TMP/out")
	udp_burst 10
	run -j stats
	check fallback_stats_fail_static eval '[ $rc -eq 0 ] && jqo ".source == \"pinned\" and .counters.fwd.packets >= $fwd_before + 10"'
	run stats --interval 0.2
	check fallback_stats_table eval '[ $rc -eq 0 ] && out | grep -q "^SERVICE "'
	run -j class list
	check fallback_class_list eval '[ $rc -eq 0 ] && jqo "length == 4 and all(.[]; .source == \"pinned\") and .[3].name == \"sheddable\""'
	run class list
	check fallback_class_list_table eval '[ $rc -eq 0 ] && [ $(out | wc -l) -eq 5 ] && [ $(err_lines) -eq 1 ]'
	run -j class rule list
	check fallback_class_rule_list eval '[ $rc -eq 0 ] && jqo "length == 1 and .[0].prefix == \"198.18.7.0/24\" and .[0].source == \"pinned\""'
	run -j shed show
	check fallback_shed_show eval '[ $rc -eq 0 ] && jqo ".source == \"pinned\" and (.levels | length) == 1 and
		(.levels[0] | .cell == \"use1-b\" and .class == \"high\" and .level == \"0.5\" and .reason == \"maintenance\" and
		 .expires_in_s == null) and (.counters[] | select(.cell == \"use1-a\" and .class == \"sheddable\") | .shed > 0)"'
	run shed show
	check fallback_shed_show_table eval '[ $rc -eq 0 ] && out | grep -qE "^use1-b  +high  +0\.5  +-  +operator  +use1-b  +uid 0 .*  permanent  +maintenance$" &&
		out | grep -q "^use1-a  *sheddable "'
}

refused_ok() {
	[ "$rc" -eq 1 ] && [ "$(err_lines)" -eq 1 ] &&
		grep -qF "cellctl: cannot connect to '$SOCK': Connection refused (is cellgated running?)" "$TMP/err"
}

test_fallback_writes_refused() {
	run shed set --cell use1-a --class 3 --level 0.5
	check fallback_shed_set_refused eval '[ $rc -eq 1 ] && [ $(err_lines) -eq 1 ] && grep -q "is cellgated running" "$TMP/err"'
	run class rule add --dscp 3 --class 3
	check fallback_rule_add_refused eval '[ $rc -eq 1 ] && grep -q "is cellgated running" "$TMP/err"'
	run cell set use1-a --weight 7
	check fallback_mutating_refused refused_ok
	run service del web
	check fallback_service_del_refused eval '[ $rc -eq 1 ] && grep -q "is cellgated running" "$TMP/err"'
	run config apply "$TMP/new.yaml"
	check fallback_config_apply_refused eval '[ $rc -eq 1 ] && grep -q "is cellgated running" "$TMP/err"'
	check fallback_nothing_changed eval '[ "$(dump_state)" = "$before" ]'
}

# ---- restart: cellgated adopts the pinned maps ----

test_restart() {
	start_daemon
	if ! wait_ready; then
		fail restart_adopted "cellgated did not come back"
		tail -5 "$TMP/cellgated.log"
		return 1
	fi
	run -j status
	check restart_adopted eval 'jqo ".adopted == true and .generation == $gen_before"'
	run status
	check restart_adopted_table eval 'out | grep -q "adopted from a previous run"'
	run -j cell list
	check restart_same_cells eval 'jqo "length == 4 and all(.[]; has(\"source\") | not) and
		(.[] | select(.name == \"use1-b\") | .weight == 300)"'
	check restart_same_state eval '[ "$(dump_state)" = "$before" ]'
}

E2E_TESTS=(
	test_status
	test_cell_list
	test_cell_show
	test_service_list_show
	test_region_list
	test_region_show
	test_prefix_dispatch
	test_stats_json
	test_stats_table_rates
	test_stats_watch
	test_cell_set_draining
	test_cell_set_weight
	test_cell_add_del
	test_service_add_del
	test_config_check
	test_config_dump
	test_hash_key_never_shown
	test_hash_key_fingerprint_in_status
	test_socket_mode_and_symlink_refused
	test_config_apply_dry_run
	test_config_apply
	test_rules_guard_config_apply
	test_bad_input
	test_json_errors
	test_help
	test_class_list
	test_class_rules
	test_shed_show_empty
	test_shed_set
	test_shed_ttl_units
	test_shed_counters
	test_shed_wildcard
	test_shed_ttl_expires
	test_shed_clear
	test_help_class_shed
	test_bad_shed_and_rules
	test_shed_mode
	test_daemon_killed
	test_fallback_reads
	test_fallback_writes_refused
	test_restart
)
e2e_run "$@"
