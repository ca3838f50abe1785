/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_metrics.c - unit tests of the Prometheus text exposition and the metrics.listen parser */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cellgate/config.h"
#include "cellgate/field.h"
#include "cellgate/health.h"
#include "cellgate/metrics.h"

#define ERRLEN 512

static const char config[] =
	"region: r1\n"
	"interfaces: [eth0]\n"
	"source: {ipv4: 198.18.0.1}\n"
	"regions:\n"
	"  - {name: r1, cost: 0}\n"
	"  - {name: r2, cost: 10}\n"
	"cells:\n"
	"  - {name: a, region: r1, gateway: 198.18.1.1, encap: ipip, weight: 7}\n"
	"  - {name: b, region: r2, gateway: 198.18.1.2, encap: ipip, capacity: 500}\n"
	"services:\n"
	"  - {name: web, vip: 203.0.113.1, port: 80, protocol: tcp, cells: [a, b]}\n"
	"shed:\n"
	"  - {cell: a, class: 3, level: 0.25, by: 'ops \"night\" \\ shift', reason: "
	"'path C:\\tmp'}\n";

/* The state of config with its ids assigned. */
static void load(struct cg_state *st)
{
	char err[ERRLEN];

	assert_int_equal(cg_config_parse_buf("t.yaml", config, strlen(config), st, err, ERRLEN), 0);
	assert_int_equal(cg_state_assign_ids(st, NULL), 0);
}

static char *render(const struct cg_metrics_in *in, size_t *len)
{
	char *out = NULL;

	assert_int_equal(cg_metrics_render(in, &out, len), 0);
	assert_non_null(out);
	assert_int_equal(strlen(out), *len);
	return out;
}

/* text holds line as one whole line. */
static void has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
		p += n;
	}
	fail_msg("no line '%s' in:\n%s", line, text);
}

static void test_metrics_escape_backslash_quote_newline(void **unused)
{
	char buf[64];

	assert_string_equal(cg_metrics_escape("plain", buf, sizeof(buf)), "plain");
	assert_string_equal(cg_metrics_escape("a\\b", buf, sizeof(buf)), "a\\\\b");
	assert_string_equal(cg_metrics_escape("say \"hi\"", buf, sizeof(buf)), "say \\\"hi\\\"");
	assert_string_equal(cg_metrics_escape("one\ntwo", buf, sizeof(buf)), "one\\ntwo");
	/* other bytes (a tab, UTF-8) are kept as they are */
	assert_string_equal(cg_metrics_escape("t\tz\xc3\xa9", buf, sizeof(buf)), "t\tz\xc3\xa9");
	/* cut between escapes, never inside one */
	assert_string_equal(cg_metrics_escape("ab\"", buf, 4), "ab");
	assert_string_equal(cg_metrics_escape("ab\"", buf, 5), "ab\\\"");
}

static void test_metrics_state_series_and_escaped_labels(void **unused)
{
	struct cg_metrics_in in = { 0 };
	struct cg_state st;
	size_t len;
	char *out;

	load(&st);
	st.generation = 42;
	in.st = &st;
	in.version = "1.2.3";
	in.digest = 0xabc;
	in.uptime_ms = 61500;
	out = render(&in, &len);
	has_line(out, "# TYPE cellgate_build_info gauge");
	has_line(out, "cellgate_build_info{version=\"1.2.3\"} 1");
	has_line(out, "cellgate_uptime_seconds 61.500");
	has_line(out, "cellgate_state_generation 42");
	has_line(out, "cellgate_config_digest_info{digest=\"00000abc\"} 1");
	has_line(out, "cellgate_config_objects{kind=\"cells\"} 2");
	has_line(out, "cellgate_service_cells{service=\"web\"} 2");
	has_line(out, "cellgate_cell_info{cell=\"a\",region=\"r1\",state=\"active\"} 1");
	has_line(out, "cellgate_cell_weight{cell=\"a\",region=\"r1\"} 7");
	has_line(out, "cellgate_cell_capacity{cell=\"b\",region=\"r2\"} 500");
	/* probes off: every cell unknown */
	has_line(out, "cellgate_cell_health{cell=\"b\",region=\"r2\",state=\"unknown\"} 1");
	has_line(out, "cellgate_cell_health{cell=\"b\",region=\"r2\",state=\"up\"} 0");
	has_line(out, "cellgate_region_cost{region=\"r2\"} 10");
	has_line(out, "cellgate_region_state{region=\"r1\",state=\"active\"} 1");
	has_line(out, "cellgate_region_state{region=\"r1\",state=\"evacuated\"} 0");
	has_line(out, "cellgate_class_info{class=\"critical\",id=\"0\",protected=\"true\"} 1");
	/* the by and reason of the config, escaped */
	has_line(out, "cellgate_shed_level_ratio{cell=\"a\",class=\"sheddable\",hard=\"false\","
		      "by=\"ops \\\"night\\\" \\\\ shift\",reason=\"path C:\\\\tmp\"} 0.250000");
	has_line(out, "cellgate_backpressure_target_ratio 0.800000");
	/* no data plane: no counter series at all */
	assert_null(strstr(out, "_total"));
	assert_null(strstr(out, "cellgate_conntrack"));
	free(out);
	cg_state_free(&st);
}

static void test_metrics_counters_from_the_snapshot(void **unused)
{
	struct cg_metrics_bp_cell bp[2] = { 0 };
	struct cg_metrics_in in = { 0 };
	uint8_t health[2] = { CG_HEALTH_UP, CG_HEALTH_DOWN };
	struct cg_stats_snap *s = cg_stats_new();
	struct cg_state st;
	uint32_t a, b, web;
	size_t len;
	char *out;

	assert_non_null(s);
	load(&st);
	a = cg_state_find_cell(&st, "a")->id;
	b = cg_state_find_cell(&st, "b")->id;
	web = st.services[0].id;
	s->stats[CG_STAT_FWD].packets = 1000;
	s->stats[CG_STAT_FWD].bytes = 64000;
	s->stats[CG_STAT_DROP_SHED].packets = 3;
	s->svc[web].new_flows = 17;
	s->cell[a][2].packets = 900;
	s->cell[b][3].shed = 5;
	s->moved[b] = 2;
	s->conn_entries = 256;
	s->conn_capacity = 1024;
	bp[1] = (struct cg_metrics_bp_cell){ .valid = true,
					     .mode = CG_BP_AUTO,
					     .known = true,
					     .load_ppm = 950000,
					     .ladder_ppm = 1500000,
					     .accepted = 9 };
	bp[1].level_ppm[3] = 1000000;
	in.st = &st;
	in.snap = s;
	in.counters_read = true;
	in.health = health;
	in.bp = bp;
	out = render(&in, &len);
	has_line(out, "# TYPE cellgate_packets_total counter");
	has_line(out, "cellgate_packets_total{verdict=\"tx\",reason=\"fwd\"} 1000");
	has_line(out, "cellgate_packets_total{verdict=\"drop\",reason=\"drop_shed\"} 3");
	has_line(out, "cellgate_packets_total{verdict=\"pass\",reason=\"pass_not_ip\"} 0");
	has_line(out, "cellgate_received_bytes_total{verdict=\"tx\",reason=\"fwd\"} 64000");
	has_line(out, "cellgate_service_new_flows_total{service=\"web\"} 17");
	has_line(out, "cellgate_cell_packets_total{cell=\"a\",region=\"r1\",class=\"normal\"} 900");
	has_line(out, "cellgate_cell_refused_total{cell=\"b\",region=\"r2\",class=\"sheddable\","
		      "reason=\"shed\"} 5");
	has_line(out, "cellgate_cell_moved_flows_total{cell=\"b\",region=\"r2\"} 2");
	has_line(out, "cellgate_cell_health{cell=\"a\",region=\"r1\",state=\"up\"} 1");
	has_line(out, "cellgate_cell_health{cell=\"b\",region=\"r2\",state=\"down\"} 1");
	has_line(out, "cellgate_conntrack_entries 256");
	has_line(out, "cellgate_conntrack_occupancy_ratio 0.250000");
	/* the controller's view of b only: a is not valid */
	has_line(out, "cellgate_backpressure_load_ratio{cell=\"b\",region=\"r2\"} 0.950000");
	has_line(out, "cellgate_backpressure_ladder{cell=\"b\",region=\"r2\"} 1.500000");
	has_line(out, "cellgate_backpressure_mode{cell=\"b\",region=\"r2\",mode=\"auto\"} 1");
	has_line(out, "cellgate_backpressure_level_ratio{cell=\"b\",region=\"r2\",class=\"sheddable\","
		      "by=\"controller\"} 1.000000");
	has_line(out, "cellgate_backpressure_reports_total{cell=\"b\",region=\"r2\","
		      "result=\"accepted\"} 9");
	assert_null(strstr(out, "cellgate_backpressure_ladder{cell=\"a\""));
	free(out);
	cg_stats_free(s);
	cg_state_free(&st);
}

/* Each family's samples follow its own HELP and TYPE lines, and no family comes twice. */
static void test_metrics_families_are_grouped(void **unused)
{
	struct cg_stats_snap *s = cg_stats_new();
	struct cg_metrics_in in = { 0 };
	char cur[128] = "", *out, *line, *save = NULL;
	struct cg_state st;
	size_t len, families = 0;

	load(&st);
	in.st = &st;
	in.snap = s;
	in.counters_read = true;
	out = render(&in, &len);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%127s", name);
			/* a family seen before would have an earlier TYPE line */
			assert_true(strcmp(name, cur));
			snprintf(cur, sizeof(cur), "%s", name);
			families++;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			sscanf(line + 7, "%127s", name);
			assert_string_equal(name, cur);
			continue;
		}
		sscanf(line, "%127[^{ ]", name);
		assert_string_equal(name, cur);
	}
	assert_true(families > 30);
	free(out);
	cg_stats_free(s);
	cg_state_free(&st);
}

static void test_metrics_listen_parse(void **unused)
{
	struct cg_addr a = { 0 };
	char err[ERRLEN], buf[CG_ADDR_TEXT_MAX];
	uint16_t port = 0;

	assert_int_equal(cg_listen_parse("127.0.0.1:9464", "listen", &a, &port, err, ERRLEN), 0);
	assert_int_equal(a.family, CG_AF_INET);
	assert_int_equal(port, 9464);
	assert_int_equal(cg_listen_parse("[::1]:80", "listen", &a, &port, err, ERRLEN), 0);
	assert_int_equal(a.family, CG_AF_INET6);
	assert_string_equal(cg_addr_format(&a, buf, sizeof(buf)), "::1");
	assert_int_equal(port, 80);
	assert_int_equal(cg_listen_parse("off", "listen", &a, &port, err, ERRLEN), 1);
	assert_int_equal(cg_listen_parse("", "listen", &a, &port, err, ERRLEN), 1);
	assert_int_equal(cg_listen_parse("[::1]", "listen", &a, &port, err, ERRLEN), -EINVAL);
	assert_int_equal(cg_listen_parse("[]:80", "listen", &a, &port, err, ERRLEN), -EINVAL);
	assert_int_equal(cg_listen_parse("[127.0.0.1]:80", "listen", &a, &port, err, ERRLEN),
			 -EINVAL);
	assert_int_equal(cg_listen_parse("host:80", "listen", &a, &port, err, ERRLEN), -EINVAL);
	assert_string_equal(err, "listen 'host:80': bad IPv4 address 'host' for the address");
	assert_int_equal(cg_listen_parse("1.2.3.4:08", "listen", &a, &port, err, ERRLEN), -EINVAL);
	assert_int_equal(cg_listen_parse(":80", "listen", &a, &port, err, ERRLEN), -EINVAL);
	assert_null(strchr(err, '\n'));
}

/* The default config serves on loopback, and the state file keeps no metrics section then. */
static void test_metrics_default_listen(void **unused)
{
	struct cg_state st;

	load(&st);
	assert_string_equal(st.metrics.listen, CG_METRICS_LISTEN_DEF);
	cg_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_escape_backslash_quote_newline),
		cmocka_unit_test(test_metrics_state_series_and_escaped_labels),
		cmocka_unit_test(test_metrics_counters_from_the_snapshot),
		cmocka_unit_test(test_metrics_families_are_grouped),
		cmocka_unit_test(test_metrics_listen_parse),
		cmocka_unit_test(test_metrics_default_listen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
