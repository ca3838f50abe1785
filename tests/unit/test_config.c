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
	assert_int_equal(s->default_class, 0);
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
	cg_state_free(&st);
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
	{ "interface listed twice", "region: r1\ninterfaces:\n  - eth0\n  - eth1\n  - eth0\n",
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
	{ "conntrack too small", TOP "conntrack: 10\n",
	  "t.yaml:6: conntrack 10 is out of range (1024..268435456)" },
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
	  "t.yaml:2: bad text: invalid leading UTF-8 octet" },
	{ "control character", "region: r1\n\x01\n",
	  "t.yaml:2: bad text: control characters are not allowed" },
	{ "NUL in a string", "region: \"r\\0\"\n", "t.yaml:1: NUL character in a string" },
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
	assert_true(i >= 30);
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
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_example_parses_to_expected_state),
		cmocka_unit_test(test_config_defaults_applied),
		cmocka_unit_test(test_config_cells_and_services_may_be_absent),
		cmocka_unit_test(test_config_ipv6_addresses),
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
