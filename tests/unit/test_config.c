/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_config.c - unit tests of the YAML config parser: the example, defaults, IPv6, every error */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cellgate/config.h"
#include "cellgate/field.h"

#define ERRLEN 512

/* docs/cellgate.example.yaml, from the top of the tree or from build/tests/unit/. */
static const char *example_path(void)
{
	static char path[PATH_MAX + 64];
	char exe[PATH_MAX];
	ssize_t n;

	if (access("docs/cellgate.example.yaml", R_OK) == 0)
		return "docs/cellgate.example.yaml";
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/../../../docs/cellgate.example.yaml", dirname(exe));
	return path;
}

static struct cg_addr v4(const char *s)
{
	struct cg_addr a = { .family = CG_AF_INET };

	assert_int_equal(inet_pton(AF_INET, s, a.a), 1);
	return a;
}

static struct cg_addr v6(const char *s)
{
	struct cg_addr a = { .family = CG_AF_INET6 };

	assert_int_equal(inet_pton(AF_INET6, s, a.a), 1);
	return a;
}

static void assert_addr(const struct cg_addr *got, struct cg_addr want)
{
	assert_memory_equal(got, &want, sizeof(want));
}

static int parse_text(const char *text, struct cg_state *st, char *err)
{
	return cg_config_parse_buf("t.yaml", text, strlen(text), st, err, ERRLEN);
}

static void check_cell(const struct cg_state *st, size_t i, const char *name, uint32_t id,
		       const char *region, struct cg_addr gw, uint8_t encap, uint16_t gue_port,
		       uint32_t weight, uint32_t capacity, uint8_t state)
{
	const struct cg_cell_cfg *c = &st->cells[i];

	assert_string_equal(c->name, name);
	assert_int_equal(c->id, id);
	assert_string_equal(c->region, region);
	assert_addr(&c->gw, gw);
	assert_int_equal(c->encap, encap);
	assert_int_equal(c->gue_port, gue_port);
	assert_int_equal(c->weight, weight);
	assert_int_equal(c->capacity, capacity);
	assert_int_equal(c->state, state);
	assert_true(c->line > 0);
}

static void check_service_cells(const struct cg_service_cfg *s, const char *const *names)
{
	size_t i;

	for (i = 0; names[i]; i++) {
		assert_true(i < s->ncells);
		assert_string_equal(s->cells[i], names[i]);
	}
	assert_int_equal(s->ncells, i);
}

static void check_class(const struct cg_state *st, size_t i, const char *name, uint32_t id,
			bool prot, uint32_t flows, uint32_t packets, uint32_t burst)
{
	const struct cg_class_cfg *c = &st->classes[i];

	assert_string_equal(c->name, name);
	assert_int_equal(c->id, id);
	assert_int_equal(c->protected, prot);
	assert_int_equal(c->new_flows_per_sec, flows);
	assert_int_equal(c->packets_per_sec, packets);
	assert_int_equal(c->burst, burst);
}

static void check_prefix_rule(const struct cg_state *st, size_t i, struct cg_addr prefix,
			      uint8_t len, uint8_t class)
{
	const struct cg_class_rule_cfg *r = &st->rules[i];

	assert_int_equal(r->kind, CG_RULE_PREFIX);
	assert_addr(&r->prefix, prefix);
	assert_int_equal(r->prefix_len, len);
	assert_int_equal(r->dscp, 0);
	assert_int_equal(r->class, class);
	assert_true(r->line > 0);
}

static void check_dscp_rule(const struct cg_state *st, size_t i, uint8_t dscp, uint8_t class)
{
	const struct cg_class_rule_cfg *r = &st->rules[i];

	assert_int_equal(r->kind, CG_RULE_DSCP);
	assert_int_equal(r->prefix.family, 0);
	assert_int_equal(r->dscp, dscp);
	assert_int_equal(r->class, class);
}

static void check_shed(const struct cg_state *st, size_t i, const char *cell, uint8_t class,
		       uint32_t ppm, bool hard, int64_t expires, const char *by, const char *reason)
{
	const struct cg_shed_cfg *e = &st->shed[i];

	assert_string_equal(e->cell, cell);
	assert_int_equal(e->class, class);
	assert_int_equal(e->level_ppm, ppm);
	assert_int_equal(e->hard, hard);
	assert_int_equal(e->expires, expires);
	assert_string_equal(e->by, by);
	assert_string_equal(e->reason, reason);
	assert_true(e->line > 0);
}

/* The four classes of a config without `classes:`. */
static void check_default_classes(const struct cg_state *st)
{
	assert_int_equal(st->nclasses, 4);
	check_class(st, 0, "critical", 0, true, 0, 0, 1);
	check_class(st, 1, "high", 1, false, 0, 0, 1);
	check_class(st, 2, "normal", 2, false, 0, 0, 1);
	check_class(st, 3, "sheddable", 3, false, 0, 0, 1);
}

static void test_config_example_parses_to_expected_state(void **unused)
{
	static const char *const web[] = { "use1-a", "use1-b", "usw2-a", "usw2-b", NULL };
	static const char *const tls[] = { "euw1-a", "euw1-b", "use1-a", "use1-b",
					   "usw2-a", "usw2-b", NULL };
	static const char *const dns[] = { "euw1-a", "euw1-b", NULL };
	char err[ERRLEN] = "";
	struct cg_state st;
	const struct cg_service_cfg *s;
	int ret;

	ret = cg_config_parse(example_path(), &st, err, sizeof(err));
	if (ret)
		print_error("%s\n", err);
	assert_int_equal(ret, 0);

	assert_int_equal(st.generation, 0);
	assert_string_equal(st.region, "us-east");
	assert_int_equal(st.nifaces, 2);
	assert_string_equal(st.ifaces[0], "eth1");
	assert_string_equal(st.ifaces[1], "eth2");
	assert_int_equal(st.xdp_mode, CG_XDP_NATIVE);
	assert_addr(&st.src4, v4("198.18.0.1"));
	assert_addr(&st.src6, v6("2001:db8::1"));
	assert_int_equal(st.mtu, 1500);
	assert_int_equal(st.conntrack_size, 1048576);

	/* sorted by name */
	assert_int_equal(st.nregions, 3);
	assert_string_equal(st.regions[0].name, "eu-west");
	assert_int_equal(st.regions[0].cost, 10);
	assert_string_equal(st.regions[1].name, "us-east");
	assert_int_equal(st.regions[1].cost, 0);
	assert_string_equal(st.regions[2].name, "us-west");
	assert_int_equal(st.regions[2].cost, 5);
	assert_int_equal(st.regions[0].id, CG_ID_AUTO);
	assert_int_equal(st.regions[1].line, 19);

	assert_int_equal(st.ncells, 6);
	check_cell(&st, 0, "euw1-a", CG_ID_AUTO, "eu-west", v6("2001:db8:e::10"), CG_ENCAP_IPIP,
		   6080, 100, 0, CG_CELL_ACTIVE);
	check_cell(&st, 1, "euw1-b", CG_ID_AUTO, "eu-west", v6("2001:db8:e::11"), CG_ENCAP_GUE,
		   6081, 100, 0, CG_CELL_ACTIVE);
	check_cell(&st, 2, "use1-a", 0, "us-east", v4("198.18.1.10"), CG_ENCAP_GUE, 6080, 100,
		   20000, CG_CELL_ACTIVE);
	check_cell(&st, 3, "use1-b", CG_ID_AUTO, "us-east", v4("198.18.1.11"), CG_ENCAP_GUE, 6080,
		   200, 40000, CG_CELL_ACTIVE);
	check_cell(&st, 4, "usw2-a", CG_ID_AUTO, "us-west", v4("198.18.2.10"), CG_ENCAP_IPIP,
		   6080, 100, 0, CG_CELL_ACTIVE);
	check_cell(&st, 5, "usw2-b", CG_ID_AUTO, "us-west", v4("198.18.2.11"), CG_ENCAP_IPIP,
		   6080, 100, 0, CG_CELL_DRAINING);
	assert_int_equal(st.cells[2].line, 25);

	assert_int_equal(st.nservices, 3);
	s = &st.services[0];
	assert_string_equal(s->name, "dns6");
	assert_int_equal(s->id, CG_ID_AUTO);
	assert_addr(&s->vip, v6("2001:db8:100::53"));
	assert_int_equal(s->port, 53);
	assert_int_equal(s->proto, IPPROTO_UDP);
	assert_int_equal(s->table_size, 251);
	assert_int_equal(s->default_class, 1); /* "high" */
	check_service_cells(s, dns);
	s = &st.services[1];
	assert_string_equal(s->name, "web");
	assert_int_equal(s->id, CG_ID_AUTO);
	assert_addr(&s->vip, v4("203.0.113.10"));
	assert_int_equal(s->port, 80);
	assert_int_equal(s->proto, IPPROTO_TCP);
	assert_int_equal(s->table_size, CG_DEFAULT_TABLE_SIZE);
	assert_int_equal(s->default_class, 2);
	check_service_cells(s, web);
	s = &st.services[2];
	assert_string_equal(s->name, "web-tls");
	assert_int_equal(s->id, 1);
	assert_addr(&s->vip, v4("203.0.113.10"));
	assert_int_equal(s->port, 443);
	assert_int_equal(s->proto, IPPROTO_TCP);
	assert_int_equal(s->table_size, 65537);
	assert_int_equal(s->default_class, 0);
	check_service_cells(s, tls); /* given unsorted, stored sorted */

	/* load shedding: classes by id, rules and shed entries in canonical order */
	assert_int_equal(st.nclasses, 4);
	check_class(&st, 0, "critical", 0, true, 0, 0, 1);
	check_class(&st, 1, "high", 1, false, 0, 0, 1);
	check_class(&st, 2, "normal", 2, false, 50000, 0, 5000);
	check_class(&st, 3, "sheddable", 3, false, 5000, 200000, 1000);
	assert_int_equal(st.classes[0].line, 85);
	assert_int_equal(st.classes[3].line, 93);

	assert_int_equal(st.nrules, 5);
	check_prefix_rule(&st, 0, v4("198.18.11.0"), 24, 0);
	check_prefix_rule(&st, 1, v4("198.18.12.0"), 22, 3);
	check_prefix_rule(&st, 2, v6("2001:db8:0:11::"), 64, 0);
	check_dscp_rule(&st, 3, 8, 3);
	check_dscp_rule(&st, 4, 46, 0);
	assert_int_equal(st.rules[0].line, 102);
	assert_int_equal(st.rules[4].line, 105);

	assert_int_equal(st.guard.ipv4_prefix, 24);
	assert_int_equal(st.guard.ipv6_prefix, 64);
	assert_int_equal(st.guard.new_flows_per_sec, 100);
	assert_int_equal(st.guard.burst, 200);

	assert_int_equal(st.nshed, 2);
	check_shed(&st, 0, "*", 3, 100000, false, 0, "ops", "retry storm from one client network");
	check_shed(&st, 1, "use1-a", 3, 250000, false, 1795000000, "uid 0", "launch spike");
	assert_int_equal(st.shed[1].line, 130);

	assert_int_equal(st.failover.min_cells, 2);
	assert_int_equal(st.failover.nramp, 4);
	assert_int_equal(st.failover.ramp_ppm[1], 250000);
	assert_int_equal(st.failover.auto_evacuate_ppm, 500000);

	cg_state_free(&st);
	assert_null(st.cells);
	cg_state_free(&st); /* twice is fine */
}

static void test_config_defaults_applied(void **unused)
{
	static const char text[] =
		"region: r1\n"
		"interfaces: [eth0]\n"
		"source: {ipv4: 198.18.0.1}\n"
		"regions: [{name: r1, cost: 0}]\n"
		"cells: [{name: a, region: r1, gateway: 198.18.1.1, encap: gue}]\n"
		"services:\n"
		"  - {name: s, vip: 203.0.113.1, port: 53, protocol: udp, cells: [a]}\n";
	char err[ERRLEN] = "";
	struct cg_state st;

	assert_int_equal(parse_text(text, &st, err), 0);
	assert_int_equal(st.generation, 0);
	assert_int_equal(st.xdp_mode, CG_XDP_AUTO);
	assert_int_equal(st.mtu, CG_DEFAULT_MTU);
	assert_int_equal(st.conntrack_size, CG_DEFAULT_CONNTRACK);
	assert_int_equal(st.src6.family, 0);
	assert_int_equal(st.regions[0].id, CG_ID_AUTO);
	assert_int_equal(st.cells[0].id, CG_ID_AUTO);
	assert_int_equal(st.cells[0].gue_port, CG_GUE_DEFAULT_PORT);
	assert_int_equal(st.cells[0].weight, CG_DEFAULT_WEIGHT);
	assert_int_equal(st.cells[0].capacity, 0);
	assert_int_equal(st.cells[0].state, CG_CELL_ACTIVE);
	assert_int_equal(st.services[0].id, CG_ID_AUTO);
	assert_int_equal(st.services[0].table_size, CG_DEFAULT_TABLE_SIZE);
	assert_int_equal(st.services[0].default_class, 0);
	assert_int_equal(st.services[0].line, 7);
	/* shedding: the four classes, held explicitly; no rules or levels; the guard off */
	check_default_classes(&st);
	assert_int_equal(st.nrules, 0);
	assert_null(st.rules);
	assert_int_equal(st.nshed, 0);
	assert_null(st.shed);
	assert_int_equal(st.guard.ipv4_prefix, 24);
	assert_int_equal(st.guard.ipv6_prefix, 64);
	assert_int_equal(st.guard.new_flows_per_sec, 0);
	assert_int_equal(st.guard.burst, 0);
	cg_state_free(&st);
	check_default_classes(&st); /* as cg_state_init() leaves it */
}

static void test_config_cells_and_services_may_be_absent(void **unused)
{
	static const char text[] =
		"region: r1\ninterfaces: [eth0]\nregions: [{name: r1, cost: 0}]\nservices: []\n";
	char err[ERRLEN] = "";
	struct cg_state st;

	assert_int_equal(parse_text(text, &st, err), 0);
	assert_int_equal(st.ncells, 0);
	assert_int_equal(st.nservices, 0);
	assert_int_equal(st.src4.family, 0);
	cg_state_free(&st);
}

static void test_config_ipv6_addresses(void **unused)
{
	static const char text[] =
		"region: r1\n"
		"interfaces: [eth0]\n"
		"source:\n"
		"  ipv6: 2001:db8::1\n" /* plain: no quotes needed */
		"regions: [{name: r1, cost: 0}]\n"
		"cells:\n"
		"  - {name: a, region: r1, gateway: \"2001:0db8:0000:0000:0000:0000:0000:00a0\", "
		"encap: ipip}\n"
		"  - {name: b, region: r1, gateway: 2001:db8:ffff::b, encap: gue}\n"
		"  - {name: c, region: r1, gateway: '::ffff:198.18.1.1', encap: ipip}\n"
		"services:\n"
		"  - {name: s6, vip: \"2001:DB8:100::80\", port: 443, protocol: tcp, "
		"cells: [a, b]}\n"
		"  - {name: s4, vip: 203.0.113.8, port: 443, protocol: tcp, cells: [c]}\n";
	char err[ERRLEN] = "";
	struct cg_state st;

	if (parse_text(text, &st, err))
		fail_msg("%s", err);
	assert_int_equal(st.src4.family, 0);
	assert_addr(&st.src6, v6("2001:db8::1"));
	assert_addr(&st.cells[0].gw, v6("2001:db8::a0"));
	assert_addr(&st.cells[1].gw, v6("2001:db8:ffff::b"));
	assert_addr(&st.cells[2].gw, v6("::ffff:198.18.1.1"));
	assert_int_equal(st.cells[0].gw.a[0], htonl(0x20010db8));
	assert_addr(&st.services[1].vip, v6("2001:db8:100::80"));
	assert_string_equal(st.services[1].name, "s6");
	assert_addr(&st.services[0].vip, v4("203.0.113.8"));
	assert_int_equal(st.services[0].vip.a[0], htonl(0xcb007108));
	assert_int_equal(st.services[0].vip.a[1], 0);
	cg_state_free(&st);
}

static void test_config_shedding_references_and_defaults(void **unused)
{
	static const char text[] =
		"region: r1\n"
		"interfaces: [eth0]\n"
		"source: {ipv4: 198.18.0.1}\n"
		"regions: [{name: r1, cost: 0}]\n"
		"cells: [{name: a, region: r1, gateway: 198.18.1.1, encap: ipip}]\n"
		"services:\n"
		"  - {name: s, vip: 203.0.113.1, port: 53, protocol: udp, cells: [a], "
		"default_class: bulk}\n"
		"classes:\n"
		"  - {name: bulk, id: 7, packets_per_sec: 200000}\n"     /* burst: a tenth */
		"  - {name: top, id: 0, new_flows_per_sec: 5}\n"          /* at least 1 */
		"  - {name: mid, id: 4, new_flows_per_sec: 5000, packets_per_sec: 100000}\n"
		"  - {name: \"9lives\", id: 2, protected: false, burst: 7}\n"
		"class_rules:\n"
		"  - {dscp: 0, class: 7}\n"
		"  - {prefix: \"::/0\", class: mid}\n"
		"  - {prefix: 0.0.0.0/0, class: bulk}\n"
		"  - {prefix: 198.18.11.128/25, class: top}\n"
		"  - {prefix: 198.18.11.0/25, class: 0}\n"
		"  - {prefix: 198.18.11.0/24, class: 0}\n"
		"  - {prefix: \"2001:DB8::1/128\", class: 9lives}\n"
		"  - {dscp: 63, class: 4}\n"
		"guard: {new_flows_per_sec: 3000000000}\n"                /* burst saturates */
		"shed:\n"
		"  - {cell: a, class: 0, level: 1}\n"
		"  - {cell: \"*\", class: 7, level: 0.000001, hard: true, expires: 9223372036854775807,"
		" by: \"\", reason: \"caf\xc3\xa9 \\\"quoted\\\"\"}\n"
		"  - {cell: a, class: bulk, level: 1.000000}\n"
		"  - {cell: \"*\", class: 0, level: 0}\n";
	char err[ERRLEN] = "";
	struct cg_state st;

	if (parse_text(text, &st, err))
		fail_msg("%s", err);
	assert_int_equal(st.services[0].default_class, 7);
	assert_int_equal(st.nclasses, 4);
	check_class(&st, 0, "top", 0, false, 5, 0, 1);
	check_class(&st, 1, "9lives", 2, false, 0, 0, 7);
	check_class(&st, 2, "mid", 4, false, 5000, 100000, 500);
	check_class(&st, 3, "bulk", 7, false, 0, 200000, 20000);
	assert_ptr_equal(cg_state_find_class(&st, "mid"), &st.classes[2]);
	assert_ptr_equal(cg_state_class_by_id(&st, 7), &st.classes[3]);
	assert_null(cg_state_find_class(&st, "critical"));
	assert_null(cg_state_class_by_id(&st, 3));

	assert_int_equal(st.nrules, 8);
	check_prefix_rule(&st, 0, v4("0.0.0.0"), 0, 7);
	check_prefix_rule(&st, 1, v4("198.18.11.0"), 24, 0);
	check_prefix_rule(&st, 2, v4("198.18.11.0"), 25, 0);
	check_prefix_rule(&st, 3, v4("198.18.11.128"), 25, 0);
	check_prefix_rule(&st, 4, v6("::"), 0, 4);
	check_prefix_rule(&st, 5, v6("2001:db8::1"), 128, 2);
	check_dscp_rule(&st, 6, 0, 7);
	check_dscp_rule(&st, 7, 63, 4);
	assert_int_equal(st.rules[6].line, 14);

	assert_int_equal(st.guard.new_flows_per_sec, 3000000000U);
	assert_int_equal(st.guard.burst, UINT32_MAX);
	assert_int_equal(st.guard.ipv4_prefix, 24);

	assert_int_equal(st.nshed, 4);
	check_shed(&st, 0, "*", 0, 0, false, 0, "", "");
	check_shed(&st, 1, "*", 7, 1, true, INT64_MAX, "", "caf\xc3\xa9 \"quoted\"");
	check_shed(&st, 2, "a", 0, 1000000, false, 0, "", "");
	check_shed(&st, 3, "a", 7, 1000000, false, 0, "", "");
	cg_state_free(&st);
}

/* cg_level_parse() of one text: its result and ppm. */
struct level_case {
	const char *text; /* input */
	int ret;	  /* 0 or -errno */
	uint32_t ppm;	  /* when ret is 0 */
};

static void test_config_level_parse_is_exact_and_strict(void **unused)
{
	static const struct level_case cases[] = {
		{ "0", 0, 0 },
		{ "1", 0, 1000000 },
		{ "0.25", 0, 250000 },
		{ "0.5", 0, 500000 },
		{ "0.1", 0, 100000 },
		{ "0.9", 0, 900000 },
		{ "0.000001", 0, 1 },
		{ "0.999999", 0, 999999 },
		{ "0.123456", 0, 123456 },
		{ "0.30", 0, 300000 },
		{ "1.0", 0, 1000000 },
		{ "1.000000", 0, 1000000 },
		{ "0.000000", 0, 0 },
		{ "0.1234567", -EDOM, 0 },
		{ "0.2500000", -EDOM, 0 },
		{ "1.0000001", -EDOM, 0 },
		{ "1.000001", -ERANGE, 0 },
		{ "1.5", -ERANGE, 0 },
		{ "2", -ERANGE, 0 },
		{ "10", -ERANGE, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "-0.5", -ERANGE, 0 },
		{ "-0", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ ".5", -EINVAL, 0 },
		{ "5.", -EINVAL, 0 },
		{ "0.", -EINVAL, 0 },
		{ "00.5", -EINVAL, 0 },
		{ "01", -EINVAL, 0 },
		{ "+0.5", -EINVAL, 0 },
		{ "0.5 ", -EINVAL, 0 },
		{ " 0.5", -EINVAL, 0 },
		{ "1e-1", -EINVAL, 0 },
		{ "0x1", -EINVAL, 0 },
		{ "50%", -EINVAL, 0 },
		{ "0.5.1", -EINVAL, 0 },
		{ "-", -EINVAL, 0 },
		{ "nan", -EINVAL, 0 },
	};
	uint32_t ppm;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ppm = 12345;
		ret = cg_level_parse(cases[i].text, &ppm);
		if (ret != cases[i].ret || ppm != (ret ? 12345 : cases[i].ppm))
			fail_msg("'%s': got %d %u, want %d %u", cases[i].text, ret, ppm,
				 cases[i].ret, cases[i].ppm);
	}
}

static void test_config_level_format_round_trips_every_level(void **unused)
{
	char buf[16];
	uint32_t ppm, back;

	cg_level_format(250000, buf, sizeof(buf));
	assert_string_equal(buf, "0.25");
	cg_level_format(1000000, buf, sizeof(buf));
	assert_string_equal(buf, "1");
	cg_level_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "0");
	cg_level_format(1, buf, sizeof(buf));
	assert_string_equal(buf, "0.000001");
	cg_level_format(100000, buf, sizeof(buf));
	assert_string_equal(buf, "0.1");
	cg_level_format(123450, buf, sizeof(buf));
	assert_string_equal(buf, "0.12345");
	cg_level_format(UINT32_MAX, buf, sizeof(buf)); /* not a level, but still exact text */
	assert_string_equal(buf, "4294.967295");
	cg_level_format(250000, buf, 3); /* cut, NUL-terminated */
	assert_string_equal(buf, "0.");
	for (ppm = 0; ppm <= CG_LEVEL_ONE; ppm++) {
		cg_level_format(ppm, buf, sizeof(buf));
		if (cg_level_parse(buf, &back) || back != ppm)
			fail_msg("%u -> '%s' -> %u", ppm, buf, back);
		/* shortest: no trailing zero after the point */
		assert_true(!strchr(buf, '.') || buf[strlen(buf) - 1] != '0');
	}
}

/* One bad config and the message it must give. */
struct bad_case {
	const char *what;   /* what is wrong */
	const char *text;   /* the config */
	const char *expect; /* substring of the message: FILE:LINE: ... */
};

/* Lines 1-5 of most cases. */
#define TOP                                                                                        \
	"region: r1\n"                                                                             \
	"interfaces: [eth0]\n"                                                                     \
	"source: {ipv4: 198.18.0.1}\n"                                                             \
	"regions:\n"                                                                               \
	"  - {name: r1, cost: 0}\n"
/* Lines 6-7. */
#define CELL_A                                                                                     \
	"cells:\n"                                                                                 \
	"  - {name: a, region: r1, gateway: 198.18.1.1, encap: ipip}\n"
/* A cell in block style, lines 6-11 (after TOP), ending with the given extra line(s). */
#define CELL_BLOCK(extra)                                                                          \
	"cells:\n"                                                                                 \
	"  - name: a\n"                                                                            \
	"    region: r1\n"                                                                         \
	"    gateway: 198.18.1.1\n"                                                                \
	"    encap: ipip\n" extra
/* Lines 6-7: a class list with one item (after TOP). */
#define CLASS(item) "classes:\n  - {" item "}\n"
/* Lines 6-7: a class rule list with one item (after TOP). */
#define RULE(item) "class_rules:\n  - {" item "}\n"
/* Lines 8-9: a shed list with one item (after TOP CELL_A). */
#define SHED(item) "shed:\n  - {" item "}\n"
/* 64 bytes: one more than a shed entry's by */
#define S64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
/* Service on line 9 (after TOP CELL_A), with the given keys. */
#define SVC(keys) "services:\n  - {name: web, " keys "}\n"
#define SVC_OK(extra) SVC("vip: 203.0.113.1, port: 80, protocol: tcp, cells: [a]" extra)

static const struct bad_case bad_cases[] = {
	/* references */
	{ "cell in an unknown region",
	  TOP "cells:\n  - {name: use1-a, region: us-wst, gateway: 198.18.1.1, encap: ipip}\n",
	  "t.yaml:7: cell 'use1-a': unknown region 'us-wst'" },
	{ "service with an undefined cell", TOP CELL_A SVC("vip: 203.0.113.1, port: 80, "
							   "protocol: tcp, cells: [a, nope]"),
	  "t.yaml:9: service 'web': cell 'nope' is not defined" },
	{ "LB region not among the regions", "region: r9\ninterfaces: [eth0]\n"
					     "regions: [{name: r1, cost: 0}]\n",
	  "t.yaml:1: region 'r9' is not one of the regions" },
	{ "IPv6 gateway without an IPv6 source",
	  TOP "cells:\n  - {name: a, region: r1, gateway: \"2001:db8::5\", encap: ipip}\n",
	  "t.yaml:7: cell 'a': gateway 2001:db8::5 is IPv6 but source has no ipv6 address" },
	{ "IPv4 gateway without an IPv4 source",
	  "region: r1\ninterfaces: [eth0]\nsource: {ipv6: \"2001:db8::1\"}\n"
	  "regions: [{name: r1, cost: 0}]\n"
	  "cells: [{name: a, region: r1, gateway: 198.18.1.1, encap: ipip}]\n",
	  "t.yaml:5: cell 'a': gateway 198.18.1.1 is IPv4 but source has no ipv4 address" },
	/* unknown and missing keys */
	{ "misspelt key in a cell", TOP CELL_BLOCK("    wieght: 5\n"),
	  "t.yaml:11: unknown key 'wieght' in cell 'a' (did you mean 'weight'?)" },
	{ "unknown top-level key", TOP "servics: []\n",
	  "t.yaml:6: unknown key 'servics' (did you mean 'services'?)" },
	{ "unknown key in source", "region: r1\ninterfaces: [eth0]\nsource:\n  ipv5: 198.18.0.1\n",
	  "t.yaml:4: unknown key 'ipv5' in source (did you mean 'ipv4'?)" },
	{ "unknown key in a region", "region: r1\ninterfaces: [eth0]\nregions:\n"
				     "  - {name: r1, cost: 0, latency: 5}\n",
	  "t.yaml:4: unknown key 'latency' in region 'r1'" },
	{ "missing region", "interfaces: [eth0]\nregions: [{name: r1, cost: 0}]\n",
	  "t.yaml:1: missing 'region'" },
	{ "missing interfaces", "region: r1\nregions: [{name: r1, cost: 0}]\n",
	  "t.yaml:1: missing 'interfaces'" },
	{ "missing regions", "region: r1\ninterfaces: [eth0]\n", "t.yaml:1: missing 'regions'" },
	{ "region without cost", "region: r1\ninterfaces: [eth0]\nregions:\n  - name: r1\n",
	  "t.yaml:4: region 'r1': missing 'cost'" },
	{ "cell without gateway", TOP "cells:\n  - name: a\n    region: r1\n    encap: ipip\n",
	  "t.yaml:7: cell 'a': missing 'gateway'" },
	{ "cell without name", TOP "cells:\n  - {region: r1, gateway: 198.18.1.1, encap: ipip}\n",
	  "t.yaml:7: cell #1: missing 'name'" },
	{ "service without cells", TOP CELL_A SVC("vip: 203.0.113.1, port: 80, protocol: tcp"),
	  "t.yaml:9: service 'web': missing 'cells'" },
	{ "service with no cell", TOP CELL_A SVC("vip: 203.0.113.1, port: 80, protocol: tcp, "
						 "cells: []"),
	  "t.yaml:9: service 'web': cells is empty: a service needs at least one cell" },
	/* duplicates */
	{ "duplicate cell name",
	  TOP CELL_A "  - {name: a, region: r1, gateway: 198.18.1.2, encap: ipip}\n",
	  "t.yaml:8: duplicate cell name 'a' (first at line 7)" },
	{ "duplicate region name", "region: r1\ninterfaces: [eth0]\nregions:\n"
				   "  - {name: r1, cost: 0}\n  - {name: r2, cost: 1}\n"
				   "  - {name: r1, cost: 2}\n",
	  "t.yaml:6: duplicate region name 'r1' (first at line 4)" },
	{ "duplicate service name", TOP CELL_A SVC_OK("")
	  "  - {name: web, vip: 203.0.113.2, port: 80, protocol: tcp, cells: [a]}\n",
	  "t.yaml:10: duplicate service name 'web' (first at line 9)" },
	{ "two services on one vip, port and protocol", TOP CELL_A SVC_OK("")
	  "  - {name: web2, vip: 203.0.113.1, port: 80, protocol: tcp, cells: [a]}\n",
	  "t.yaml:10: service 'web2': 203.0.113.1 port 80 tcp is already served by service 'web' "
	  "(line 9)" },
	{ "duplicate explicit cell id",
	  TOP "cells:\n  - {name: a, id: 7, region: r1, gateway: 198.18.1.1, encap: ipip}\n"
	  "  - {name: b, id: 7, region: r1, gateway: 198.18.1.2, encap: ipip}\n",
	  "t.yaml:8: cell 'b': id 7 is already used by another cell (line 7)" },
	{ "duplicate key in a mapping", TOP CELL_BLOCK("    weight: 5\n    weight: 6\n"),
	  "t.yaml:12: duplicate key 'weight' in cell 'a' (first at line 11)" },
	{ "cell listed twice in a service", TOP CELL_A SVC("vip: 203.0.113.1, port: 80, "
							   "protocol: tcp, cells: [a, a]"),
	  "t.yaml:9: service 'web': cell 'a' is listed twice (first at line 9)" },
	{ "interface listed twice", /* a whole config: cg_state_check() finds duplicates */
	  "region: r1\ninterfaces:\n  - eth0\n  - eth1\n  - eth0\nregions: [{name: r1, cost: 0}]\n",
	  "t.yaml:5: interfaces: 'eth0' is listed twice (first at line 3)" },
	/* addresses */
	{ "bad IPv4 gateway",
	  TOP "cells:\n  - {name: a, region: r1, gateway: 198.18.1.300, encap: ipip}\n",
	  "t.yaml:7: cell 'a': bad IPv4 address '198.18.1.300' for gateway" },
	{ "bad IPv6 VIP", TOP CELL_A SVC("vip: \"2001:db8::zz\", port: 80, protocol: tcp, "
					 "cells: [a]"),
	  "t.yaml:9: service 'web': bad IPv6 address '2001:db8::zz' for vip" },
	{ "multicast VIP", TOP CELL_A SVC("vip: 224.0.0.1, port: 80, protocol: tcp, cells: [a]"),
	  "t.yaml:9: service 'web': vip 224.0.0.1 is not a unicast address" },
	{ "IPv6 as the IPv4 source", "region: r1\ninterfaces: [eth0]\nsource: {ipv4: \"::1\"}\n",
	  "t.yaml:3: source: ipv4 '::1' is not an IPv4 address" },
	/* numbers */
	{ "weight is not a number", TOP CELL_BLOCK("    weight: 12abc\n"),
	  "t.yaml:11: cell 'a': weight '12abc' is not a number" },
	{ "negative weight", TOP CELL_BLOCK("    weight: -5\n"),
	  "t.yaml:11: cell 'a': weight '-5' is not a number (negative)" },
	{ "weight 0", TOP CELL_BLOCK("    weight: 0\n"),
	  "t.yaml:11: cell 'a': weight 0 is out of range (1..65535)" },
	{ "capacity overflows 32 bits", TOP CELL_BLOCK("    capacity: 4294967296\n"),
	  "t.yaml:11: cell 'a': capacity 4294967296 is out of range (0..4294967295)" },
	{ "generation overflows 64 bits", "generation: 18446744073709551616\n",
	  "t.yaml:1: generation 18446744073709551616 is out of range (0..18446744073709551615)" },
	{ "fractional weight", TOP CELL_BLOCK("    weight: 1.5\n"),
	  "t.yaml:11: cell 'a': weight '1.5' is not a number" },
	{ "leading zero", TOP CELL_BLOCK("    gue_port: 0600\n"),
	  "t.yaml:11: cell 'a': gue_port '0600' is not a number (leading zero)" },
	{ "quoted port", TOP CELL_A SVC("vip: 203.0.113.1, port: \"80\", protocol: tcp, "
					"cells: [a]"),
	  "t.yaml:9: service 'web': port: expected a number, found the quoted string '80'" },
	{ "port with no value", TOP CELL_A "services:\n  - name: web\n    vip: 203.0.113.1\n"
				      "    port:\n    protocol: tcp\n    cells: [a]\n",
	  "t.yaml:11: service 'web': port has no value" },
	{ "port 0", TOP CELL_A SVC("vip: 203.0.113.1, port: 0, protocol: tcp, cells: [a]"),
	  "t.yaml:9: service 'web': port 0 is out of range (1..65535)" },
	{ "mtu too small", TOP "mtu: 100\n", "t.yaml:6: mtu 100 is out of range (576..9216)" },
	/* hostile settings: IPv6 below its minimum MTU, a gateway that loops back */
	{ "mtu below 1280 with an IPv6 VIP",
	  TOP CELL_A "mtu: 1000\n"
		     "services:\n  - {name: web6, vip: \"2001:db8::1\", port: 80, protocol: tcp, "
		     "cells: [a]}\n",
	  "t.yaml:8: mtu 1000 is below 1280, the IPv6 minimum, and service 'web6' has an IPv6 VIP" },
	{ "gateway is a VIP",
	  TOP "cells:\n  - {name: a, region: r1, gateway: 203.0.113.1, encap: ipip}\n"
	      "services:\n  - {name: web, vip: 203.0.113.1, port: 80, protocol: tcp, cells: [a]}\n",
	  "t.yaml:7: cell 'a': gateway 203.0.113.1 is the VIP of service 'web'" },
	{ "gateway is the LB's source",
	  TOP "cells:\n  - {name: a, region: r1, gateway: 198.18.0.1, encap: ipip}\n",
	  "t.yaml:7: cell 'a': gateway 198.18.0.1 is this LB's own source address" },
	{ "a UTF-16 file", "\xff\xfer\0e\0",
	  "t.yaml:1: column 1: a UTF-16 byte-order mark (save the file as UTF-8) is not allowed in a config" },
	{ "U+0085 (NEL) in a string", TOP CELL_A SHED("cell: a, class: 3, level: 0.5, reason: \"a\xc2\x85" "b\""),
	  "t.yaml:9: column 47: U+0085 (a C1 control character) is not allowed in a config" },
	{ "a bidi override in a reason", TOP CELL_A SHED("cell: a, class: 3, level: 0.5, reason: \"a\xe2\x80\xae" "b\""),
	  "t.yaml:9: column 47: U+202E (a bidirectional control) is not allowed in a config" },
	{ "a zero-width space in a reason", TOP CELL_A SHED("cell: a, class: 3, level: 0.5, reason: \"a\xe2\x80\x8b" "b\""),
	  "t.yaml:9: column 47: U+200B (a zero-width character) is not allowed in a config" },
	{ "conntrack too small", TOP "conntrack: 10\n",
	  "t.yaml:6: conntrack 10 is out of range (1024..268435456)" },
	{ "probe_port beyond a port", TOP CELL_BLOCK("    probe_port: 65536\n"),
	  "t.yaml:11: cell 'a': probe_port 65536 is out of range (0..65535)" },
	{ "cell id beyond the map", TOP CELL_BLOCK("    id: 4096\n"),
	  "t.yaml:11: cell 'a': id 4096 is out of range (0..4095)" },
	{ "default_class beyond the classes", TOP CELL_A SVC_OK(", default_class: 8"),
	  "t.yaml:9: service 'web': default_class 8 is out of range (0..7)" },
	{ "table_size not prime", TOP CELL_A SVC_OK(", table_size: 65536"),
	  "t.yaml:9: service 'web': table_size 65536 is not prime" },
	{ "table_size too large", TOP CELL_A SVC_OK(", table_size: 1048583"),
	  "t.yaml:9: service 'web': table_size 1048583 is out of range (2..1048573)" },
	{ "table_size smaller than the cells",
	  TOP CELL_A "  - {name: b, region: r1, gateway: 198.18.1.2, encap: ipip}\n"
		     "  - {name: c, region: r1, gateway: 198.18.1.3, encap: ipip}\n"
		     "services:\n  - name: web\n    vip: 203.0.113.1\n    port: 80\n"
		     "    protocol: tcp\n    table_size: 2\n    cells: [a, b, c]\n",
	  "t.yaml:15: service 'web': table_size 2 is smaller than its 3 cells" },
	/* keywords and names */
	{ "unknown encap",
	  TOP "cells:\n  - {name: a, region: r1, gateway: 198.18.1.1, encap: gre}\n",
	  "t.yaml:7: cell 'a': unknown encap 'gre' (expected ipip or gue)" },
	{ "unknown cell state", TOP CELL_BLOCK("    state: drain\n"),
	  "t.yaml:11: cell 'a': unknown state 'drain' (expected active, draining or down)" },
	{ "unknown protocol", TOP CELL_A SVC("vip: 203.0.113.1, port: 80, protocol: sctp, "
					     "cells: [a]"),
	  "t.yaml:9: service 'web': unknown protocol 'sctp' (expected tcp or udp)" },
	{ "unknown xdp_mode", TOP "xdp_mode: fast\n",
	  "t.yaml:6: unknown xdp_mode 'fast' (expected auto, native or generic)" },
	{ "name starting with a dash",
	  TOP "cells:\n  - {name: -a, region: r1, gateway: 198.18.1.1, encap: ipip}\n",
	  "t.yaml:7: cell #1: name '-a' is not a valid name" },
	{ "name too long", "region: r1\ninterfaces: [eth0]\nregions:\n"
			   "  - {name: r23456789012345678901234567890123, cost: 0}\n",
	  "t.yaml:4: region #1: name 'r23456789012345678901234567890123' is not a valid name" },
	{ "bad interface name", "region: r1\ninterfaces: [\"eth 0\"]\n",
	  "t.yaml:2: interfaces: 'eth 0' is not a valid interface name" },
	/* counts */
	{ "no interface", "region: r1\ninterfaces: []\n",
	  "t.yaml:2: interfaces: needs at least 1 item" },
	{ "nine interfaces", "region: r1\ninterfaces: [e1, e2, e3, e4, e5, e6, e7, e8, e9]\n",
	  "t.yaml:2: too many interfaces (9, at most 8)" },
	{ "no region", "region: r1\ninterfaces: [eth0]\nregions: []\n",
	  "t.yaml:3: regions: needs at least 1 item" },
	/* YAML types */
	{ "a mapping where a list is expected", TOP "cells:\n  a: 1\n",
	  "t.yaml:7: cells: expected a list, found a mapping" },
	{ "a list where a mapping is expected", TOP "cells:\n  - [a, r1]\n",
	  "t.yaml:7: cell #1: expected a mapping, found a list" },
	{ "a string where a mapping is expected", TOP "cells:\n  - a\n",
	  "t.yaml:7: cell #1: expected a mapping, found 'a'" },
	{ "null where a list is expected", TOP "cells:\n",
	  "t.yaml:6: cells: expected a list, found nothing (write [] for an empty list)" },
	{ "a list where a number is expected", TOP "mtu: [1500]\n",
	  "t.yaml:6: mtu: expected a number, found a list" },
	{ "a mapping where a string is expected", "region: {name: r1}\n",
	  "t.yaml:1: region: expected a string, found a mapping" },
	{ "a list at the top", "- region: r1\n",
	  "t.yaml:1: expected a mapping of settings, found a list" },
	{ "a mapping as a key", "? {a: 1}\n: 2\n",
	  "t.yaml:1: a key must be a string, found a mapping" },
	/* YAML itself */
	{ "syntax error", "region: r1\ninterfaces: [eth0\nmtu: 1500\n",
	  "t.yaml:3: syntax error: did not find expected ',' or ']' while parsing a flow sequence "
	  "started at line 2" },
	{ "bad indentation", "region: r1\n  mtu: 1500\n",
	  "t.yaml:2: syntax error: mapping values are not allowed in this context" },
	{ "empty file", "", "t.yaml:1: file is empty" },
	{ "only comments", "# nothing\n\n# here\n", "t.yaml:1: file is empty" },
	{ "two documents", "region: r1\n---\nregion: r2\n",
	  "t.yaml:2: more than one YAML document" },
	{ "anchor", "region: &r r1\ninterfaces: [eth0]\n",
	  "t.yaml:1: anchors (&r) are not supported" },
	{ "alias", "region: r1\nx: *r\n", "t.yaml:2: aliases (*r) are not supported" },
	{ "tag", "region: !!str r1\n", "t.yaml:1: tags (tag:yaml.org,2002:str) are not supported" },
	{ "invalid UTF-8", "region: r1\ninterfaces: [\xff]\n",
	  "t.yaml:2: column 14: invalid UTF-8 byte 0xff is not allowed in a config" },
	{ "control character", "region: r1\n\x01\n",
	  "t.yaml:2: column 1: U+0001 (a control character) is not allowed in a config" },
	{ "NUL in a string", "region: \"r\\0\"\n", "t.yaml:1: NUL character in a string" },
	/* classes */
	{ "misspelt key in a class", TOP CLASS("name: a, id: 0, protectd: true"),
	  "t.yaml:7: unknown key 'protectd' in class 'a' (did you mean 'protected'?)" },
	{ "duplicate class name", TOP "classes:\n  - {name: a, id: 0}\n  - {name: a, id: 1}\n",
	  "t.yaml:8: duplicate class name 'a' (first at line 7)" },
	{ "duplicate class id", TOP "classes:\n  - {name: a, id: 0}\n  - {name: b, id: 0}\n",
	  "t.yaml:8: class 'b': id 0 is already used by another class (line 7)" },
	{ "class id out of range", TOP CLASS("name: a, id: 8"),
	  "t.yaml:7: class 'a': id 8 is out of range (0..7)" },
	{ "class without id", TOP CLASS("name: a"), "t.yaml:7: class 'a': missing 'id'" },
	{ "class without name", TOP CLASS("id: 0"), "t.yaml:7: class #1: missing 'name'" },
	{ "class name that is a number", TOP CLASS("name: 5, id: 0"),
	  "t.yaml:7: class '5': name '5' is a number: a class name needs a letter (numbers are "
	  "ids)" },
	{ "protected is not a boolean", TOP CLASS("name: a, id: 0, protected: yes"),
	  "t.yaml:7: class 'a': protected: expected true or false, found 'yes'" },
	{ "class burst 0", TOP CLASS("name: a, id: 0, new_flows_per_sec: 10, burst: 0"),
	  "t.yaml:7: class 'a': burst 0 is out of range (1..4294967295)" },
	{ "class ceiling overflows", TOP CLASS("name: a, id: 0, packets_per_sec: 4294967296"),
	  "t.yaml:7: class 'a': packets_per_sec 4294967296 is out of range (0..4294967295)" },
	{ "nine classes", TOP "classes: [{name: c0, id: 0}, {name: c1, id: 1}, {name: c2, id: 2}, "
		      "{name: c3, id: 3}, {name: c4, id: 4}, {name: c5, id: 5}, {name: c6, id: 6}, "
		      "{name: c7, id: 7}, {name: c8, id: 0}]\n",
	  "t.yaml:6: too many classes (9, at most 8)" },
	{ "no class", TOP "classes: []\n", "t.yaml:6: classes: needs at least 1 item" },
	{ "no class 0 for a service without default_class",
	  TOP CELL_A SVC_OK("") "classes: [{name: a, id: 1}]\n",
	  "t.yaml:9: service 'web': no default_class given, and there is no class 0 to default to" },
	/* default_class: a class by id or name */
	{ "default_class names no class", TOP CELL_A SVC_OK(", default_class: gold"),
	  "t.yaml:9: service 'web': default_class: unknown class 'gold'" },
	{ "default_class id of no class", TOP CELL_A SVC_OK(", default_class: 5"),
	  "t.yaml:9: service 'web': default_class: unknown class id 5" },
	/* class rules */
	{ "misspelt key in a rule", TOP RULE("prefix: 198.18.11.0/24, clas: critical"),
	  "t.yaml:7: unknown key 'clas' in class_rule #1 (did you mean 'class'?)" },
	{ "rule with prefix and dscp", TOP RULE("prefix: 198.18.11.0/24, dscp: 46, class: 0"),
	  "t.yaml:7: class_rule #1: give either 'prefix' or 'dscp', not both" },
	{ "rule with neither prefix nor dscp", TOP RULE("class: critical"),
	  "t.yaml:7: class_rule #1: missing 'prefix' or 'dscp'" },
	{ "rule without class", TOP RULE("dscp: 1"), "t.yaml:7: class_rule #1: missing 'class'" },
	{ "prefix without length", TOP RULE("prefix: 198.18.11.0, class: 0"),
	  "t.yaml:7: class_rule #1: prefix '198.18.11.0' has no length (expected ADDRESS/LENGTH)" },
	{ "prefix with a bad address", TOP RULE("prefix: 198.18.300.0/24, class: 0"),
	  "t.yaml:7: class_rule #1: bad IPv4 address '198.18.300.0' in prefix '198.18.300.0/24'" },
	{ "IPv4 prefix length 33", TOP RULE("prefix: 198.18.11.0/33, class: 0"),
	  "t.yaml:7: class_rule #1: prefix '198.18.11.0/33': length 33 is out of range (0..32)" },
	{ "IPv6 prefix length 129", TOP RULE("prefix: \"2001:db8::/129\", class: 0"),
	  "t.yaml:7: class_rule #1: prefix '2001:db8::/129': length 129 is out of range (0..128)" },
	{ "prefix length not a number", TOP RULE("prefix: 198.18.11.0/2x, class: 0"),
	  "t.yaml:7: class_rule #1: prefix '198.18.11.0/2x': length '2x' is not a number" },
	{ "prefix length with a leading zero", TOP RULE("prefix: 198.18.11.0/024, class: 0"),
	  "t.yaml:7: class_rule #1: prefix '198.18.11.0/024': length '024' is not a number" },
	{ "IPv4 prefix with host bits", TOP RULE("prefix: 198.18.11.1/24, class: 0"),
	  "t.yaml:7: class_rule #1: prefix '198.18.11.1/24' has host bits set (did you mean "
	  "198.18.11.0/24?)" },
	{ "IPv6 prefix with host bits", TOP RULE("prefix: \"2001:db8:0:11::1/64\", class: 0"),
	  "t.yaml:7: class_rule #1: prefix '2001:db8:0:11::1/64' has host bits set (did you mean "
	  "2001:db8:0:11::/64?)" },
	{ "duplicate prefix, spelt differently",
	  TOP "class_rules:\n  - {prefix: \"2001:db8::/32\", class: 0}\n"
	  "  - {prefix: \"2001:DB8:0::/32\", class: high}\n",
	  "t.yaml:8: duplicate rule for 2001:db8::/32 (first at line 7)" },
	{ "duplicate dscp", TOP "class_rules:\n  - {dscp: 46, class: 0}\n  - {dscp: 10, class: 1}\n"
			    "  - {dscp: 46, class: 1}\n",
	  "t.yaml:9: duplicate rule for dscp 46 (first at line 7)" },
	{ "dscp 64", TOP RULE("dscp: 64, class: 0"),
	  "t.yaml:7: class_rule #1: dscp 64 is out of range (0..63)" },
	{ "rule names no class", TOP RULE("dscp: 1, class: gold"),
	  "t.yaml:7: class_rule #1: unknown class 'gold'" },
	{ "rule gives a class id that does not exist", TOP RULE("dscp: 1, class: 5"),
	  "t.yaml:7: class_rule #1: unknown class id 5" },
	{ "rule class id out of range", TOP RULE("dscp: 1, class: 9"),
	  "t.yaml:7: class_rule #1: class 9 is out of range (0..7)" },
	{ "rule class of a replaced default", TOP RULE("dscp: 1, class: sheddable")
	  "classes: [{name: bulk, id: 3}, {name: top, id: 0}]\n",
	  "t.yaml:7: class_rule #1: unknown class 'sheddable'" },
	/* guard */
	{ "misspelt key in the guard", TOP "guard:\n  ipv4_prefx: 24\n",
	  "t.yaml:7: unknown key 'ipv4_prefx' in guard (did you mean 'ipv4_prefix'?)" },
	{ "guard ipv4_prefix 7", TOP "guard:\n  ipv4_prefix: 7\n",
	  "t.yaml:7: guard: ipv4_prefix 7 is out of range (8..32)" },
	{ "guard ipv4_prefix 33", TOP "guard: {ipv4_prefix: 33}\n",
	  "t.yaml:6: guard: ipv4_prefix 33 is out of range (8..32)" },
	{ "health probe unknown", TOP "health: {probe: icmp}\n", "t.yaml:6: health: unknown probe 'icmp' (expected off, tcp or http)" },
	{ "health rise 0", TOP "health: {probe: tcp, rise: 0}\n", "t.yaml:6: health: rise 0 is out of range (1..100)" },
	{ "health timeout too long", TOP "health: {interval_ms: 1000, timeout_ms: 950}\n",
	  "t.yaml:6: health timeout 950 ms is longer than the shortest gap between probes "
	  "(900 ms: interval 1000 ms less jitter 100 ms)" },
	{ "health http_path relative", TOP "health: {probe: http, http_path: healthz}\n",
	  "t.yaml:6: health: http_path must start with '/'" },
	{ "failover ramp not rising", TOP "failover:\n  ramp: [0.5, 0.25, 1]\n",
	  "t.yaml:7: failover: ramp: step 1 (250000 ppm) does not rise from 500000 ppm" },
	{ "failover ramp not to 1", TOP "failover: {ramp: [0.25, 0.5], max_step: 0}\n",
	  "t.yaml:6: failover: ramp: the last step is 500000 ppm, not 1000000" },
	{ "failover ramp step too large", TOP "failover: {ramp: [0.25, 1]}\n",
	  "t.yaml:6: failover: ramp: step 1 rises 750000 ppm, at most 500000" },
	{ "failover ramp too long", TOP "failover: {ramp: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1]}\n",
	  "t.yaml:6: failover: too many ramp (9, at most 8)" },
	{ "failover ramp empty", TOP "failover: {ramp: []}\n",
	  "t.yaml:6: failover: ramp: needs at least 1 item" },
	{ "failover ramp percent", TOP "failover: {ramp: [10%, 1]}\n",
	  "t.yaml:6: failover: ramp '10%' is not a number from 0 to 1 (e.g. 0.25)" },
	{ "failover max_out 0", TOP "failover: {max_out: 0}\n",
	  "t.yaml:6: failover: max_out 0 is out of range (0.000001..1)" },
	{ "failover max_out above 1", TOP "failover: {max_out: 1.5}\n",
	  "t.yaml:6: failover: max_out 1.5 is out of range (0..1)" },
	{ "failover wait too long", TOP "failover: {wait: 86401}\n",
	  "t.yaml:6: failover: wait 86401 is out of range (0..86400)" },
	{ "failover ttl negative", TOP "failover: {evacuation_ttl: -1}\n",
	  "t.yaml:6: failover: evacuation_ttl '-1' is not a number (negative)" },
	{ "failover unknown key", TOP "failover: {dwel: 5}\n",
	  "t.yaml:6: unknown key 'dwel' in failover (did you mean 'dwell'?)" },
	{ "failover min_regions", TOP "failover: {min_regions: 65}\n",
	  "t.yaml:6: failover: min_regions 65 is out of range (0..64)" },
	{ "health panic 0", TOP "health: {panic_threshold: 0}\n", "t.yaml:6: health: panic_threshold 0 is out of range (0.000001..1)" },
	{ "guard ipv6_prefix 8", TOP "guard: {ipv6_prefix: 8}\n",
	  "t.yaml:6: guard: ipv6_prefix 8 is out of range (16..128)" },
	{ "guard ipv6_prefix 129", TOP "guard: {ipv6_prefix: 129}\n",
	  "t.yaml:6: guard: ipv6_prefix 129 is out of range (16..128)" },
	{ "guard burst 0 while on", TOP "guard: {new_flows_per_sec: 100, burst: 0}\n",
	  "t.yaml:6: guard: burst 0 would refuse every new flow (at least 1, or "
	  "new_flows_per_sec 0 to turn the guard off)" },
	{ "guard is not a mapping", TOP "guard: 100\n",
	  "t.yaml:6: guard: expected a mapping, found '100'" },
	/* shed levels */
	{ "misspelt key in a shed entry", TOP CELL_A SHED("cell: a, class: 3, level: 0.5, hardd: true"),
	  "t.yaml:9: unknown key 'hardd' in shed #1 (did you mean 'hard'?)" },
	{ "shed of an unknown cell", TOP CELL_A SHED("cell: b, class: 3, level: 0.5"),
	  "t.yaml:9: shed #1: unknown cell 'b'" },
	{ "shed of an unknown class", TOP CELL_A SHED("cell: a, class: gold, level: 0.5"),
	  "t.yaml:9: shed #1: unknown class 'gold'" },
	{ "shed without level", TOP CELL_A SHED("cell: a, class: 3"),
	  "t.yaml:9: shed #1: missing 'level'" },
	{ "shed for every cell, unquoted", TOP CELL_A SHED("cell: *, class: 3, level: 0.5"),
	  "t.yaml:9: syntax error: did not find expected alphabetic or numeric character while "
	  "scanning an alias started at line 9 (for every cell write \"*\", quoted)" },
	{ "level above 1", TOP CELL_A SHED("cell: a, class: 3, level: 1.5"),
	  "t.yaml:9: shed #1: level 1.5 is out of range (0..1)" },
	{ "negative level", TOP CELL_A SHED("cell: a, class: 3, level: -0.1"),
	  "t.yaml:9: shed #1: level -0.1 is out of range (0..1)" },
	{ "level with 7 decimals", TOP CELL_A SHED("cell: a, class: 3, level: 0.1234567"),
	  "t.yaml:9: shed #1: level 0.1234567 has more than 6 decimals" },
	{ "level without an integer part", TOP CELL_A SHED("cell: a, class: 3, level: .5"),
	  "t.yaml:9: shed #1: level '.5' is not a number from 0 to 1 (e.g. 0.25)" },
	{ "level as a percentage", TOP CELL_A SHED("cell: a, class: 3, level: 50%"),
	  "t.yaml:9: shed #1: level '50%' is not a number from 0 to 1 (e.g. 0.25)" },
	{ "quoted level", TOP CELL_A SHED("cell: a, class: 3, level: \"0.5\""),
	  "t.yaml:9: shed #1: level: expected a number, found the quoted string '0.5'" },
	{ "duplicate shed entry, class by name and by id",
	  TOP CELL_A "shed:\n  - {cell: a, class: sheddable, level: 0.5}\n"
	  "  - {cell: \"*\", class: 3, level: 0.5}\n  - {cell: a, class: 3, level: 0.1}\n",
	  "t.yaml:11: duplicate shed entry for a/sheddable (first at line 9)" },
	{ "negative expires", TOP CELL_A SHED("cell: a, class: 3, level: 0.5, expires: -1"),
	  "t.yaml:9: shed #1: expires -1 is negative (a unix time in seconds; 0 = permanent)" },
	{ "expires beyond int64", TOP CELL_A SHED("cell: a, class: 3, level: 0.5, "
						  "expires: 9223372036854775808"),
	  "t.yaml:9: shed #1: expires 9223372036854775808 is out of range "
	  "(0..9223372036854775807)" },
	{ "hard is not a boolean", TOP CELL_A SHED("cell: a, class: 3, level: 0.5, hard: 1"),
	  "t.yaml:9: shed #1: hard: expected true or false, found '1'" },
	{ "by too long", TOP CELL_A SHED("cell: a, class: 3, level: 0.5, by: " S64),
	  "t.yaml:9: shed #1: by is too long (64 bytes, at most 63)" },
	{ "reason too long", TOP CELL_A SHED("cell: a, class: 3, level: 0.5, reason: " S64 S64),
	  "t.yaml:9: shed #1: reason is too long (128 bytes, at most 127)" },
	{ "reason with a newline", TOP CELL_A SHED("cell: a, class: 3, level: 0.5, "
						   "reason: \"a\\nb\""),
	  "t.yaml:9: shed #1: reason 'a\\x0ab': U+000A (a control character) at byte 1 is not allowed" },
	{ "by is a list", TOP CELL_A SHED("cell: a, class: 3, level: 0.5, by: [me]"),
	  "t.yaml:9: shed #1: by: expected a string, found a list" },
	/* metrics: the listen address */
	{ "metrics listen without a port", TOP "metrics: {listen: 127.0.0.1}\n",
	  "t.yaml:6: metrics: listen '127.0.0.1': expected ADDRESS:PORT, [IPV6]:PORT or off" },
	{ "metrics listen bad address", TOP "metrics: {listen: \"127.0.0.300:9464\"}\n",
	  "t.yaml:6: metrics: listen '127.0.0.300:9464': bad IPv4 address '127.0.0.300' for the "
	  "address" },
	{ "metrics listen port 0", TOP "metrics: {listen: \"127.0.0.1:0\"}\n",
	  "t.yaml:6: metrics: listen '127.0.0.1:0': the port is not a number in 1..65535" },
	{ "metrics listen port too big", TOP "metrics:\n  listen: \"0.0.0.0:70000\"\n",
	  "t.yaml:7: metrics: listen '0.0.0.0:70000': the port is not a number in 1..65535" },
	{ "metrics listen IPv6 without brackets", TOP "metrics: {listen: \"::1:9464\"}\n",
	  "t.yaml:6: metrics: listen '::1:9464': an IPv6 address goes in brackets, [::1]:9464" },
	{ "metrics unknown key", TOP "metrics: {listn: \"127.0.0.1:9464\"}\n",
	  "t.yaml:6: unknown key 'listn' in metrics (did you mean 'listen'?)" },
};

static void test_config_bad_configs_give_one_line_with_file_and_line(void **unused)
{
	char err[ERRLEN];
	struct cg_state st;
	size_t i, bad = 0;
	int ret;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		memset(err, 0, sizeof(err));
		memset(&st, 0xa5, sizeof(st));
		ret = parse_text(c->text, &st, err);
		if (ret != -EINVAL || !strstr(err, c->expect) ||
		    strchr(err, '\n')) {
			print_error("case %zu '%s': got %d '%s', want '%s'\n", i, c->what, ret, err,
				    c->expect);
			bad++;
		}
		/* untouched on failure */
		assert_int_equal(st.ncells, (size_t)0xa5a5a5a5a5a5a5a5ULL);
	}
	assert_int_equal(bad, 0);
	assert_true(i >= 75 + 25);
}

static void test_config_error_leaves_state_untouched(void **unused)
{
	static const char text[] = TOP CELL_A SVC_OK(", table_size: 65536");
	struct cg_state st, before;
	char err[ERRLEN];

	memset(&st, 0x5a, sizeof(st));
	before = st;
	assert_int_equal(parse_text(text, &st, err), -EINVAL);
	assert_memory_equal(&st, &before, sizeof(st));
}

static void test_config_unterminated_buffer_and_no_err_buffer(void **unused)
{
	static const char text[] =
		"region: r1\ninterfaces: [eth0]\nregions: [{name: r1, cost: 0}]\n"
		"garbage after the length";
	struct cg_state st;

	/* len excludes the tail: the parser must not read past it */
	assert_int_equal(cg_config_parse_buf("t", text, strlen(text) - 24, &st, NULL, 0), 0);
	cg_state_free(&st);
	assert_int_equal(cg_config_parse_buf("t", "mtu: x", 6, &st, NULL, 0), -EINVAL);
}

static void test_config_file_errors(void **unused)
{
	char dir[] = "/tmp/cg-test-config.XXXXXX", path[PATH_MAX], err[ERRLEN];
	struct cg_state st;
	FILE *f;
	int ret;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/absent.yaml", dir);
	ret = cg_config_parse(path, &st, err, sizeof(err));
	assert_int_equal(ret, -ENOENT);
	assert_non_null(strstr(err, "cannot open '"));
	assert_non_null(strstr(err, "absent.yaml': No such file or directory"));

	ret = cg_config_parse(dir, &st, err, sizeof(err));
	assert_int_equal(ret, -EISDIR);
	assert_non_null(strstr(err, "cannot read '"));

	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), CG_CONFIG_MAX_SIZE + 1), 0);
	fclose(f);
	ret = cg_config_parse(path, &st, err, sizeof(err));
	assert_int_equal(ret, -EFBIG);
	assert_non_null(
		strstr(err, "big.yaml: file is too large (4194305 bytes, at most 4194304)"));
	unlink(path);

	snprintf(path, sizeof(path), "%s/ok.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("region: r1\ninterfaces: [eth0]\nregions: [{name: r1, cost: 0}]\nmtu: 9000\n", f);
	fclose(f);
	assert_int_equal(cg_config_parse(path, &st, err, sizeof(err)), 0);
	assert_int_equal(st.mtu, 9000);
	cg_state_free(&st);
	unlink(path);

	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("region: r1\ninterfaces: [eth0]\nregions: [{name: r1, cost: 0}]\nmtu: 9001x\n", f);
	fclose(f);
	assert_int_equal(cg_config_parse(path, &st, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad.yaml:4: mtu '9001x' is not a number"));
	assert_ptr_equal(strstr(err, dir), err); /* the path as given */
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

static void test_config_buffer_over_size_cap_is_efbig(void **unused)
{
	size_t len = CG_CONFIG_MAX_SIZE + 1;
	char *buf = malloc(len), err[ERRLEN];
	struct cg_state st;

	assert_non_null(buf);
	memset(buf, '#', len);
	assert_int_equal(cg_config_parse_buf("big", buf, len, &st, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "big: file is too large"));
	free(buf);
}

static void test_config_deep_nesting_is_refused(void **unused)
{
	char text[256], err[ERRLEN];
	struct cg_state st;
	size_t i, o = 0;

	o += (size_t)snprintf(text, sizeof(text), "x: ");
	for (i = 0; i < 40; i++)
		text[o++] = '[';
	for (i = 0; i < 40; i++)
		text[o++] = ']';
	text[o] = '\0';
	assert_int_equal(parse_text(text, &st, err), -EINVAL);
	assert_non_null(strstr(err, "t.yaml:1: nested more than 32 levels deep"));
}

/* A config with n cells c0000.. in one region and one service over all of them. */
static char *big_config(size_t ncells, size_t nservices)
{
	size_t cap = 256 + ncells * 96 + nservices * 160 + ncells * 8, o = 0, i;
	char *t = malloc(cap);

	assert_non_null(t);
	o += (size_t)snprintf(t + o, cap - o,
			      "region: r1\ninterfaces: [eth0]\nsource: {ipv4: 198.18.0.1}\n"
			      "regions: [{name: r1, cost: 0}]\ncells:\n");
	for (i = 0; i < ncells; i++)
		o += (size_t)snprintf(t + o, cap - o,
				      "  - {name: c%04zu, region: r1, gateway: 198.18.%zu.%zu, "
				      "encap: ipip}\n",
				      i, 1 + i / 250, 1 + i % 250);
	o += (size_t)snprintf(t + o, cap - o, "services:\n");
	for (i = 0; i < nservices; i++)
		o += (size_t)snprintf(t + o, cap - o,
				      "  - {name: s%04zu, vip: 203.0.113.%zu, port: %zu, "
				      "protocol: tcp, cells: [c0000]}\n",
				      i, 1 + i % 200, 1 + i);
	assert_true(o < cap);
	return t;
}

/* A config with n4 IPv4 /32 and n6 IPv6 /128 prefix rules, and a rule for every DSCP value. */
static char *rules_config(size_t n4, size_t n6)
{
	size_t cap = 256 + (n4 + n6 + 64) * 64, o = 0, i;
	char *t = malloc(cap);

	assert_non_null(t);
	o += (size_t)snprintf(t + o, cap - o,
			      "region: r1\ninterfaces: [eth0]\nregions: [{name: r1, cost: 0}]\n"
			      "class_rules:\n");
	for (i = 0; i < n4; i++)
		o += (size_t)snprintf(t + o, cap - o, "  - {prefix: 10.%zu.%zu.1/32, class: 1}\n",
				      i / 256, i % 256);
	for (i = 0; i < n6; i++)
		o += (size_t)snprintf(t + o, cap - o, "  - {prefix: \"2001:db8::%zx/128\", class: 2}\n",
				      i + 1);
	for (i = 0; i < 64; i++)
		o += (size_t)snprintf(t + o, cap - o, "  - {dscp: %zu, class: sheddable}\n", i);
	assert_true(o < cap);
	return t;
}

static void test_config_limits_accepted_and_exceeded(void **unused)
{
	char *t, err[ERRLEN];
	struct cg_state st;
	clock_t t0;

	t = big_config(CG_MAX_CELLS, CG_MAX_SERVICES);
	t0 = clock();
	if (parse_text(t, &st, err))
		fail_msg("%s", err);
	assert_true(clock() - t0 < CLOCKS_PER_SEC); /* a full config parses in well under 1 s */
	assert_int_equal(st.ncells, CG_MAX_CELLS);
	assert_int_equal(st.nservices, CG_MAX_SERVICES);
	assert_string_equal(st.cells[CG_MAX_CELLS - 1].name, "c4095");
	cg_state_free(&st);
	free(t);

	t = big_config(CG_MAX_CELLS + 1, 0);
	assert_int_equal(parse_text(t, &st, err), -EINVAL);
	if (!strstr(err, "t.yaml:6: too many cells (4097, at most 4096)"))
		fail_msg("%s", err);
	free(t);
	t = big_config(1, CG_MAX_SERVICES + 1);
	assert_int_equal(parse_text(t, &st, err), -EINVAL);
	if (!strstr(err, "too many services (1025, at most 1024)"))
		fail_msg("%s", err);
	free(t);

	/* CG_MAX_CLASS_RULES prefixes of each family, and one more */
	t = rules_config(CG_MAX_CLASS_RULES, CG_MAX_CLASS_RULES);
	if (parse_text(t, &st, err))
		fail_msg("%s", err);
	assert_int_equal(st.nrules, 2 * CG_MAX_CLASS_RULES + 64);
	cg_state_free(&st);
	free(t);
	t = rules_config(CG_MAX_CLASS_RULES - 1, CG_MAX_CLASS_RULES + 1);
	assert_int_equal(parse_text(t, &st, err), -EINVAL);
	if (!strstr(err, ": class_rule #8192: too many IPv6 prefixes (at most 4096)"))
		fail_msg("%s", err);
	free(t);
	t = rules_config(CG_MAX_CLASS_RULES, CG_MAX_CLASS_RULES + 1);
	assert_int_equal(parse_text(t, &st, err), -EINVAL);
	if (!strstr(err, "t.yaml:5: too many class_rules (8257, at most 8256)"))
		fail_msg("%s", err);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_example_parses_to_expected_state),
		cmocka_unit_test(test_config_defaults_applied),
		cmocka_unit_test(test_config_cells_and_services_may_be_absent),
		cmocka_unit_test(test_config_ipv6_addresses),
		cmocka_unit_test(test_config_shedding_references_and_defaults),
		cmocka_unit_test(test_config_level_parse_is_exact_and_strict),
		cmocka_unit_test(test_config_level_format_round_trips_every_level),
		cmocka_unit_test(test_config_bad_configs_give_one_line_with_file_and_line),
		cmocka_unit_test(test_config_error_leaves_state_untouched),
		cmocka_unit_test(test_config_unterminated_buffer_and_no_err_buffer),
		cmocka_unit_test(test_config_file_errors),
		cmocka_unit_test(test_config_buffer_over_size_cap_is_efbig),
		cmocka_unit_test(test_config_deep_nesting_is_refused),
		cmocka_unit_test(test_config_limits_accepted_and_exceeded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
