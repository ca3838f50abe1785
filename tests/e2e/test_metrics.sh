#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_metrics.sh - /metrics in the lab: served on the default listen address, valid text format
# (promtool), the counters cellctl stats reports, scraped by a real Prometheus server; the listen
# address follows a config apply, a bad one is refused with one line and nothing changed
#
# One lab and daemon for all tests (setup); the tests run in order on its state (lib.sh, e2e_run).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

PROM_PID=
METRICS_URL=http://127.0.0.1:9464/metrics # the default listen address, in the LB's namespace

# prom_stop: the Prometheus server of test_prometheus_scrapes, if it runs
# shellcheck disable=SC2317 # called by the trap
prom_stop() {
	[ -n "$PROM_PID" ] || return 0
	kill -9 "$PROM_PID" 2>/dev/null
	wait "$PROM_PID" 2>/dev/null
	PROM_PID=
}

# scrape OUT [URL]: GET /metrics from inside the LB's namespace into OUT
scrape() { in_lb curl -sS -f --max-time 5 -o "$1" "${2:-$METRICS_URL}"; }

# series FILE SAMPLE: the value of the sample line SAMPLE (name and labels, exactly)
series() { awk -v s="$1" 'index($0, s " ") == 1 { print $NF }' "$2"; }

setup() {
	e2e_init metrics
	e2e_require_cmd metrics curl || return
	e2e_require_cmd metrics promtool || return
	e2e_require_cmd metrics prometheus || return
	trap 'prom_stop; e2e_cleanup' EXIT
	lab_up || return
	# the lab's config has no metrics section: the default listen address
	gd_start || fail cellgated_start "cellgated did not become ready" || return
}

test_served_on_the_default_address() {
	local out=$LAB_DIR/first.prom
	wait_for 5 scrape "$out" || e2e_fail_reason "no answer at $METRICS_URL" || return
	grep -q '^cellgate_build_info{version="[^"]*"} 1$' "$out" ||
		e2e_fail_reason "no cellgate_build_info line" || return
	grep -q "^# TYPE cellgate_packets_total counter$" "$out" ||
		e2e_fail_reason "no cellgate_packets_total family" || return
	grep -q 'serving /metrics on 127.0.0.1:9464' "$GD_LOG" ||
		e2e_fail_reason "no 'serving /metrics' log line" || return
	cctl -j status | jq -e '.metrics | .listen == "127.0.0.1:9464" and .serving and .scrapes >= 1
		and .error == ""' >/dev/null || e2e_fail_reason "status: $(cctl -j status | jq -c .metrics)" ||
		return
	cctl status | grep -Eq '^metrics: +http://127\.0\.0\.1:9464/metrics, [0-9]+ scrapes$' ||
		e2e_fail_reason "no 'metrics: http://127.0.0.1:9464/metrics, N scrapes' line in status"
}

# traffic, then the daemon's counters stand still: the scrape and cellctl stats -j agree
test_counters_match_cellctl_stats() {
	local out=$LAB_DIR/after.prom tcp=$LAB_DIR/tcp.out want got
	client "$LAB_NS_C1" tcp "$LAB_VIP4" "$LAB_TCP_PORT" --conns 20 --requests 3 --interval-ms 10 \
		>"$tcp" 2>&1
	[ "$(total "$tcp" ok)" = 60 ] || e2e_fail_reason "traffic: ok=$(total "$tcp" ok) of 60" || return
	sleep 0.5
	want=$(cctl -j stats | jq -r '.services.web.new_flows')
	scrape "$out" || e2e_fail_reason "scrape failed" || return
	got=$(series 'cellgate_service_new_flows_total{service="web"}' "$out")
	[ -n "$want" ] && [ "$want" -ge 20 ] && [ "$got" = "$want" ] ||
		e2e_fail_reason "new flows of web: /metrics $got, cellctl stats $want (want >= 20)" || return
	want=$(cctl -j stats | jq -r '.counters.fwd.packets')
	got=$(series 'cellgate_packets_total{verdict="tx",reason="fwd"}' "$out")
	[ "$got" = "$want" ] || e2e_fail_reason "fwd packets: /metrics $got, cellctl stats $want"
}

test_promtool_accepts_the_scrape() {
	local out=$LAB_DIR/after.prom # test_counters_match_cellctl_stats's scrape
	[ -s "$out" ] || scrape "$out" || e2e_fail_reason "scrape failed" || return
	promtool check metrics <"$out" >"$LAB_DIR/promtool.out" 2>&1 && return 0
	show "$LAB_DIR/promtool.out" 10
	e2e_fail_reason "promtool check metrics refused the scrape"
}

test_other_paths_and_methods_refused() {
	local code
	code=$(in_lb curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:9464/)
	[ "$code" = 404 ] || e2e_fail_reason "GET / answered $code, want 404" || return
	code=$(in_lb curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST -d x "$METRICS_URL")
	[ "$code" = 405 ] || e2e_fail_reason "POST /metrics answered $code, want 405"
}

# a real Prometheus server on a free loopback port scrapes cellgated every second; the value its
# query API returns is the one cellctl stats reports (no traffic since: the counter stands still)
test_prometheus_scrapes() {
	local dir=$LAB_DIR/prom port want got i
	mkdir -p "$dir/data"
	for ((i = 0; i < 20; i++)); do
		port=$((20000 + RANDOM % 40000))
		in_lb ss -Htln "sport = :$port" | grep -q . || break
	done
	cat >"$dir/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: cellgated
    static_configs:
      - targets: ['127.0.0.1:9464']
YAML
	nsenter --net="/run/netns/$LAB_NS_LB" prometheus --config.file="$dir/prometheus.yml" \
		--storage.tsdb.path="$dir/data" --web.listen-address="127.0.0.1:$port" \
		>"$dir/prometheus.log" 2>&1 &
	PROM_PID=$!
	want=$(cctl -j stats | jq -r '.services.web.new_flows')
	for ((i = 0; i < 300; i++)); do
		got=$(in_lb curl -s --max-time 2 "http://127.0.0.1:$port/api/v1/query" \
			--data-urlencode 'query=cellgate_service_new_flows_total{service="web"}' |
			jq -r '.data.result[0].value[1] // empty' 2>/dev/null)
		[ -n "$got" ] && break
		kill -0 "$PROM_PID" 2>/dev/null || break
		sleep 0.1
	done
	prom_stop
	[ -n "$got" ] || { show "$dir/prometheus.log" 10; e2e_fail_reason "Prometheus never had the series"; } ||
		return
	[ "$got" = "$want" ] || e2e_fail_reason "Prometheus has $got, cellctl stats $want"
}

# a listen address that is not one: one line naming it, and nothing changed (still served)
test_bad_listen_refused() {
	local cfg=$LAB_DIR/bad.yaml gen before
	before=$(cctl -j status | jq -r '.generation')
	cp "$LAB_CONFIG" "$cfg"
	printf 'metrics:\n  listen: "127.0.0.1:99999"\n' >>"$cfg"
	if cctl config apply "$cfg" >"$LAB_DIR/bad.out" 2>&1; then
		e2e_fail_reason "a bad listen address was applied"
		return
	fi
	grep -q "metrics: listen '127.0.0.1:99999': the port is not a number in 1..65535" \
		"$LAB_DIR/bad.out" && [ "$(wc -l <"$LAB_DIR/bad.out")" = 1 ] ||
		{ show "$LAB_DIR/bad.out"; e2e_fail_reason "not the one-line error"; } || return
	gen=$(cctl -j status | jq -r '.generation')
	[ "$gen" = "$before" ] || e2e_fail_reason "generation $before became $gen" || return
	scrape "$LAB_DIR/still.prom" || e2e_fail_reason "no longer served after the refused apply"
}

# a config apply moves the listener, and "off" closes it
test_listen_follows_config_apply() {
	local cfg=$LAB_DIR/moved.yaml
	cp "$LAB_CONFIG" "$cfg"
	printf 'metrics:\n  listen: "127.0.0.1:9465"\n' >>"$cfg"
	cctl config apply "$cfg" >/dev/null 2>&1 || e2e_fail_reason "apply of listen 9465 failed" || return
	wait_for 5 scrape "$LAB_DIR/moved.prom" http://127.0.0.1:9465/metrics ||
		e2e_fail_reason "not served on 9465 after the apply" || return
	scrape "$LAB_DIR/old.prom" 2>/dev/null && e2e_fail_reason "still served on 9464" && return 1
	cp "$LAB_CONFIG" "$cfg"
	printf 'metrics:\n  listen: "off"\n' >>"$cfg"
	cctl config apply "$cfg" >/dev/null 2>&1 || e2e_fail_reason "apply of listen off failed" || return
	scrape "$LAB_DIR/off.prom" http://127.0.0.1:9465/metrics 2>/dev/null &&
		e2e_fail_reason "still served with listen off" && return 1
	return 0
}

# an address that parses but cannot be bound (not this host's): the commit succeeds, the failure
# is one log line, cellgated runs on; back to the default address, it is served again
test_unbindable_listen_logged() {
	local cfg=$LAB_DIR/unbound.yaml
	cp "$LAB_CONFIG" "$cfg"
	printf 'metrics:\n  listen: "192.0.2.99:9464"\n' >>"$cfg"
	cctl config apply "$cfg" >"$LAB_DIR/unbound.out" 2>&1 ||
		{ show "$LAB_DIR/unbound.out"; e2e_fail_reason "apply of an unbindable address failed"; } ||
		return
	wait_for 5 grep -q "metrics: cannot serve on '192.0.2.99:9464': " "$GD_LOG" ||
		e2e_fail_reason "no 'cannot serve' log line" || return
	cctl -j status | jq -e '.metrics | (.serving | not) and (.error | startswith("cannot serve"))' \
		>/dev/null || e2e_fail_reason "status: $(cctl -j status | jq -c .metrics)" || return
	cctl config apply "$LAB_CONFIG" >/dev/null 2>&1 || e2e_fail_reason "apply of the default failed" ||
		return
	wait_for 5 scrape "$LAB_DIR/back.prom" || e2e_fail_reason "not served again on 9464"
}

E2E_TESTS=(
	test_served_on_the_default_address
	test_counters_match_cellctl_stats
	test_promtool_accepts_the_scrape
	test_other_paths_and_methods_refused
	test_prometheus_scrapes
	test_bad_listen_refused
	test_listen_follows_config_apply
	test_unbindable_listen_logged
)
e2e_run "$@"
