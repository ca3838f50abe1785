/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_state.c - unit tests of the desired state: round trip, digest, ids, persistence, diff */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <zlib.h>

#include "cellgate/config.h"
#include "testskip.h"

#define ERRLEN 512

/* ---- helpers ---- */

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

static void parse_ok(const char *text, struct cg_state *st)
{
	char err[ERRLEN] = "";

	if (cg_config_parse_buf("t.yaml", text, strlen(text), st, err, sizeof(err)))
		fail_msg("parse: %s", err);
}

static void load_example(struct cg_state *st)
{
	char err[ERRLEN] = "";

	if (cg_config_parse(example_path(), st, err, sizeof(err)))
		fail_msg("parse: %s", err);
}

/* The canonical text of st, malloc'ed. */
static char *write_str(const struct cg_state *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(cg_state_write(st, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* Every field but the line numbers, objects in array order. */
static void assert_state_equal(const struct cg_state *a, const struct cg_state *b)
{
	size_t i, j;

	assert_int_equal(a->generation, b->generation);
	assert_string_equal(a->region, b->region);
	assert_int_equal(a->nifaces, b->nifaces);
	for (i = 0; i < a->nifaces; i++)
		assert_string_equal(a->ifaces[i], b->ifaces[i]);
	assert_int_equal(a->xdp_mode, b->xdp_mode);
	assert_memory_equal(&a->src4, &b->src4, sizeof(a->src4));
	assert_memory_equal(&a->src6, &b->src6, sizeof(a->src6));
	assert_int_equal(a->mtu, b->mtu);
	assert_int_equal(a->conntrack_size, b->conntrack_size);
	assert_int_equal(a->nregions, b->nregions);
	for (i = 0; i < a->nregions; i++) {
		assert_string_equal(a->regions[i].name, b->regions[i].name);
		assert_int_equal(a->regions[i].id, b->regions[i].id);
		assert_int_equal(a->regions[i].cost, b->regions[i].cost);
	}
	assert_int_equal(a->ncells, b->ncells);
	for (i = 0; i < a->ncells; i++) {
		const struct cg_cell_cfg *x = &a->cells[i], *y = &b->cells[i];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->id, y->id);
		assert_string_equal(x->region, y->region);
		assert_memory_equal(&x->gw, &y->gw, sizeof(x->gw));
		assert_int_equal(x->encap, y->encap);
		assert_int_equal(x->state, y->state);
		assert_int_equal(x->gue_port, y->gue_port);
		assert_int_equal(x->weight, y->weight);
		assert_int_equal(x->capacity, y->capacity);
	}
	assert_int_equal(a->nservices, b->nservices);
	for (i = 0; i < a->nservices; i++) {
		const struct cg_service_cfg *x = &a->services[i], *y = &b->services[i];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->id, y->id);
		assert_memory_equal(&x->vip, &y->vip, sizeof(x->vip));
		assert_int_equal(x->port, y->port);
		assert_int_equal(x->proto, y->proto);
		assert_int_equal(x->default_class, y->default_class);
		assert_int_equal(x->table_size, y->table_size);
		assert_int_equal(x->ncells, y->ncells);
		for (j = 0; j < x->ncells; j++)
			assert_string_equal(x->cells[j], y->cells[j]);
	}
	assert_int_equal(a->nclasses, b->nclasses);
	for (i = 0; i < a->nclasses; i++) {
		const struct cg_class_cfg *x = &a->classes[i], *y = &b->classes[i];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->id, y->id);
		assert_int_equal(x->protected, y->protected);
		assert_int_equal(x->new_flows_per_sec, y->new_flows_per_sec);
		assert_int_equal(x->packets_per_sec, y->packets_per_sec);
		assert_int_equal(x->burst, y->burst);
	}
	assert_int_equal(a->nrules, b->nrules);
	for (i = 0; i < a->nrules; i++) {
		const struct cg_class_rule_cfg *x = &a->rules[i], *y = &b->rules[i];

		assert_int_equal(x->kind, y->kind);
		assert_memory_equal(&x->prefix, &y->prefix, sizeof(x->prefix));
		assert_int_equal(x->prefix_len, y->prefix_len);
		assert_int_equal(x->dscp, y->dscp);
		assert_int_equal(x->class, y->class);
	}
	assert_memory_equal(&a->guard, &b->guard, sizeof(a->guard));
	assert_int_equal(a->nshed, b->nshed);
	for (i = 0; i < a->nshed; i++) {
		const struct cg_shed_cfg *x = &a->shed[i], *y = &b->shed[i];

		assert_string_equal(x->cell, y->cell);
		assert_int_equal(x->class, y->class);
		assert_int_equal(x->level_ppm, y->level_ppm);
		assert_int_equal(x->hard, y->hard);
		assert_int_equal(x->expires, y->expires);
		assert_string_equal(x->by, y->by);
		assert_string_equal(x->reason, y->reason);
	}
}

static char *read_all(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	*len = 0;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		size_t n = fread(buf + *len, 1, cap - *len, f);

		if (!n)
			break;
		*len += n;
	}
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

static void write_file(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Entries of dir other than . and .. */
static int count_entries(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* A temporary directory and a state file path in it. */
struct tmp {
	char dir[64];        /* mkdtemp'ed */
	char path[PATH_MAX]; /* dir/state.yaml */
};

static void tmp_make(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/cg-test-state.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/state.yaml", t->dir);
}

static void tmp_remove(struct tmp *t)
{
	char cmd[PATH_MAX + 32];

	chmod(t->dir, 0700);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
}

static const char diff_old[] = "region: r1\n"
			       "interfaces: [eth0]\n"
			       "source: {ipv4: 198.18.0.1}\n"
			       "regions: [{name: r1, cost: 0}, {name: r2, cost: 10}]\n"
			       "cells:\n"
			       "  - {name: a, region: r1, gateway: 198.18.1.1, encap: ipip}\n"
			       "  - {name: b, region: r1, gateway: 198.18.1.2, encap: ipip}\n"
			       "  - {name: c, region: r2, gateway: 198.18.2.1, encap: gue}\n"
			       "services:\n"
			       "  - {name: web, vip: 203.0.113.1, port: 80, protocol: tcp, "
			       "cells: [a, b]}\n"
			       "  - {name: old, vip: 203.0.113.2, port: 80, protocol: tcp, "
			       "cells: [c]}\n";

static const char diff_new[] = "region: r1\n"
			       "interfaces: [eth1, eth0]\n"
			       "source: {ipv4: 198.18.0.1, ipv6: \"2001:db8::1\"}\n"
			       "mtu: 9000\n"
			       "regions: [{name: r1, cost: 0}, {name: r3, cost: 20}]\n"
			       "cells:\n"
			       "  - {name: a, region: r1, gateway: 198.18.1.1, encap: ipip, "
			       "weight: 200, state: draining}\n"
			       "  - {name: b, region: r1, gateway: 198.18.1.2, encap: ipip}\n"
			       "  - {name: d, region: r3, gateway: \"2001:db8::d\", encap: gue, "
			       "capacity: 5}\n"
			       "services:\n"
			       "  - {name: web, vip: 203.0.113.1, port: 80, protocol: tcp, "
			       "default_class: 1, cells: [b, d]}\n"
			       "  - {name: new, vip: \"2001:db8::80\", port: 443, protocol: tcp, "
			       "cells: [d]}\n";

/* ---- round trip and digest ---- */

static void test_state_round_trip_parse_write_parse_is_identical(void **unused)
{
	struct cg_state a, b;
	char *t1, *t2, err[ERRLEN];

	load_example(&a);
	assert_int_equal(cg_state_assign_ids(&a, NULL), 0);
	a.generation = 42;
	t1 = write_str(&a);
	if (cg_config_parse_buf("w.yaml", t1, strlen(t1), &b, err, sizeof(err)))
		fail_msg("%s\n%s", err, t1);
	assert_state_equal(&a, &b);
	t2 = write_str(&b);
	assert_string_equal(t1, t2);
	assert_int_equal(cg_state_digest(&a), cg_state_digest(&b));
	assert_int_equal(cg_state_diff(&a, &b, NULL, NULL), 0);
	/* every field explicit, ids included */
	assert_non_null(strstr(t1, "generation: 42\n"));
	assert_non_null(strstr(t1, "  - name: usw2-b\n    id: 5\n    region: us-west\n"
				   "    gateway: 198.18.2.11\n    encap: ipip\n    gue_port: 6080\n"
				   "    weight: 100\n    probe_port: 0\n    capacity: 0\n    state: draining\n"));
	assert_non_null(strstr(t1, "  - {name: eu-west, id: 0, cost: 10}\n"));
	assert_non_null(strstr(t1, "source: {ipv4: 198.18.0.1, ipv6: \"2001:db8::1\"}\n"));
	/* shedding: classes by id, rules by kind and address, shed by cell, levels exact */
	assert_non_null(strstr(t1, "conntrack: 1048576\nvlan: 0\nicmp_errors_per_sec: 1000\n"
				   "icmp_too_big_per_sec: 1000\nclasses:\n  - name: critical\n    id: 0\n"
				   "    protected: true\n    new_flows_per_sec: 0\n"
				   "    packets_per_sec: 0\n    burst: 1\n  - name: high\n"));
	assert_non_null(strstr(t1, "  - name: sheddable\n    id: 3\n    protected: false\n"
				   "    new_flows_per_sec: 5000\n    packets_per_sec: 200000\n"
				   "    burst: 1000\nclass_rules:\n"
				   "  - {prefix: 198.18.11.0/24, class: critical}\n"
				   "  - {prefix: 198.18.12.0/22, class: sheddable}\n"
				   "  - {prefix: \"2001:db8:0:11::/64\", class: critical}\n"
				   "  - {dscp: 8, class: sheddable}\n"
				   "  - {dscp: 46, class: critical}\n"
				   "guard:\n    ipv4_prefix: 24\n    ipv6_prefix: 64\n"
				   "    new_flows_per_sec: 100\n    burst: 200\n    ipv4_aggregate: 16\n"
				   "    ipv6_aggregate: 48\n    aggregate_new_flows_per_sec: 0\n"
				   "    aggregate_burst: 0\nhealth:\n    probe: off\n"
				   "    interval_ms: 1000\n    timeout_ms: 500\n    jitter: 0.1\n"
				   "    rise: 3\n    fall: 2\n    panic_threshold: 0.5\n"
				   "    http_path: \"/\"\n    http_status: 200\nfailover:\n"
				   "    min_cells: 2\n    min_regions: 1\n    wait: 300\n"
				   "    evacuation_ttl: 3600\n    max_out: 0.5\n"
				   "    ramp: [0.1, 0.25, 0.5, 1]\n    dwell: 60\n    max_step: 0.5\n"
				   "    auto_evacuate: 0.5\nregions:\n"));
	assert_non_null(strstr(t1, "    default_class: 1\n    cells: [euw1-a, euw1-b]\n"));
	assert_non_null(strstr(t1, "]\nshed:\n  - cell: \"*\"\n    class: sheddable\n"
				   "    level: 0.1\n    hard: false\n    expires: 0\n    by: ops\n"
				   "    reason: \"retry storm from one client network\"\n"
				   "  - cell: use1-a\n    class: sheddable\n    level: 0.25\n"
				   "    hard: false\n    expires: 1795000000\n    by: \"uid 0\"\n"
				   "    reason: \"launch spike\"\n"));
	assert_int_equal(t1[strlen(t1) - 1], '\n');
	assert_null(strstr(t1, "0.250000"));
	free(t1);
	free(t2);
	cg_state_free(&a);
	cg_state_free(&b);
}

static void test_state_round_trip_long_cell_list_and_unassigned_ids(void **unused)
{
	size_t cap = 1 << 20, o = 0, i;
	char *text = malloc(cap), *t1, *t2, err[ERRLEN];
	struct cg_state a, b;

	assert_non_null(text);
	o += (size_t)snprintf(text + o, cap - o,
			      "region: r1\ninterfaces: [eth0]\nsource: {ipv4: 198.18.0.1}\n"
			      "regions: [{name: r1, cost: 0}]\ncells:\n");
	for (i = 0; i < 500; i++)
		o += (size_t)snprintf(text + o, cap - o,
				      "  - {name: cell-%03zu.long_name, region: r1, "
				      "gateway: 198.18.%zu.%zu, encap: ipip}\n",
				      i, 1 + i / 200, 1 + i % 200);
	o += (size_t)snprintf(text + o, cap - o, "services:\n  - name: all\n    vip: 203.0.113.1\n"
						 "    port: 80\n    protocol: tcp\n    cells: [");
	for (i = 500; i-- > 0;)
		o += (size_t)snprintf(text + o, cap - o, "cell-%03zu.long_name%s", i,
				      i ? ", " : "]\n");
	parse_ok(text, &a);
	t1 = write_str(&a); /* no ids assigned: none written (classes always have theirs) */
	assert_null(strstr(strstr(t1, "\nregions:"), "id:"));
	if (cg_config_parse_buf("w.yaml", t1, strlen(t1), &b, err, sizeof(err)))
		fail_msg("%s", err);
	assert_state_equal(&a, &b);
	t2 = write_str(&b);
	assert_string_equal(t1, t2);
	/* the list is wrapped before column 100 */
	for (char *l = t1; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		assert_true((strchr(l, '\n') ? (size_t)(strchr(l, '\n') - l) : strlen(l)) < 100);
	free(text);
	free(t1);
	free(t2);
	cg_state_free(&a);
	cg_state_free(&b);
}

static void test_state_digest_independent_of_input_order(void **unused)
{
	static const char one[] =
		"region: r1\ninterfaces: [eth0, eth1]\nsource: {ipv4: 198.18.0.1}\n"
		"regions: [{name: r1, cost: 0}, {name: r2, cost: 3}]\n"
		"cells:\n"
		"  - {name: a, region: r1, gateway: 198.18.1.1, encap: ipip}\n"
		"  - {name: b, region: r2, gateway: 198.18.1.2, encap: gue, weight: 7}\n"
		"services:\n"
		"  - {name: s1, vip: 203.0.113.1, port: 80, protocol: tcp, cells: [a, b]}\n"
		"  - {name: s2, vip: 203.0.113.1, port: 53, protocol: udp, cells: [b]}\n";
	static const char two[] =
		"services:\n"
		"  - {cells: [b], name: s2, port: 53, vip: 203.0.113.1, protocol: udp}\n"
		"  - {name: s1, protocol: tcp, vip: 203.0.113.1, port: 80, cells: [b, a]}\n"
		"cells:\n"
		"  - {weight: 7, name: b, encap: gue, region: r2, gateway: 198.18.1.2}\n"
		"  - {name: a, gateway: 198.18.1.1, region: r1, encap: ipip}\n"
		"regions: [{name: r2, cost: 3}, {cost: 0, name: r1}]\n"
		"source: {ipv4: 198.18.0.1}\n"
		"interfaces: [eth1, eth0]\n"
		"region: r1\n";
	struct cg_state a, b;
	struct cg_cell_cfg t;
	uint32_t d;

	parse_ok(one, &a);
	parse_ok(two, &b);
	d = cg_state_digest(&a);
	assert_int_not_equal(d, 0);
	assert_int_equal(cg_state_digest(&b), d);
	/* the arrays' order does not matter either */
	t = b.cells[0];
	b.cells[0] = b.cells[1];
	b.cells[1] = t;
	assert_int_equal(cg_state_digest(&b), d);
	/* the generation is history, not content */
	b.generation = 99;
	assert_int_equal(cg_state_digest(&b), d);
	/* any field is content */
	b.cells[0].weight++;
	assert_int_not_equal(cg_state_digest(&b), d);
	b.cells[0].weight--;
	b.mtu = 1400;
	assert_int_not_equal(cg_state_digest(&b), d);
	cg_state_free(&a);
	cg_state_free(&b);
}

static void test_state_digest_of_shedding_independent_of_order(void **unused)
{
	static const char one[] =
		"region: r1\ninterfaces: [eth0]\nsource: {ipv4: 198.18.0.1}\n"
		"regions: [{name: r1, cost: 0}]\n"
		"cells: [{name: a, region: r1, gateway: 198.18.1.1, encap: ipip},"
		" {name: b, region: r1, gateway: 198.18.1.2, encap: ipip}]\n"
		"classes: [{name: gold, id: 0, protected: true}, {name: lead, id: 5}]\n"
		"class_rules:\n"
		"  - {prefix: 198.18.11.0/24, class: gold}\n"
		"  - {prefix: \"2001:db8::/32\", class: lead}\n"
		"  - {dscp: 46, class: gold}\n"
		"  - {prefix: 198.18.0.0/16, class: lead}\n"
		"guard: {new_flows_per_sec: 10}\n"
		"shed:\n"
		"  - {cell: b, class: lead, level: 0.5}\n"
		"  - {cell: \"*\", class: lead, level: 0.25}\n"
		"  - {cell: a, class: gold, level: 1, hard: true}\n";
	static const char two[] =
		"shed:\n"
		"  - {cell: a, class: 0, level: 1.000000, hard: true, expires: 0, by: \"\"}\n"
		"  - {cell: \"*\", class: 5, level: 0.250}\n"
		"  - {cell: b, class: 5, level: 0.50}\n"
		"guard: {burst: 20, new_flows_per_sec: 10, ipv6_prefix: 64}\n"
		"class_rules:\n"
		"  - {prefix: 198.18.0.0/16, class: 5}\n"
		"  - {dscp: 46, class: 0}\n"
		"  - {prefix: \"2001:DB8:0::/32\", class: 5}\n"
		"  - {prefix: 198.18.11.0/24, class: 0}\n"
		"classes: [{name: lead, id: 5, burst: 1}, {id: 0, name: gold, protected: true}]\n"
		"cells: [{name: b, region: r1, gateway: 198.18.1.2, encap: ipip},"
		" {name: a, region: r1, gateway: 198.18.1.1, encap: ipip}]\n"
		"regions: [{name: r1, cost: 0}]\n"
		"source: {ipv4: 198.18.0.1}\ninterfaces: [eth0]\nregion: r1\n";
	struct cg_state a, b;
	struct cg_class_rule_cfg r;
	struct cg_shed_cfg e;
	uint32_t d;

	parse_ok(one, &a);
	parse_ok(two, &b);
	assert_state_equal(&a, &b);
	d = cg_state_digest(&a);
	assert_int_equal(cg_state_digest(&b), d);
	/* arrays out of canonical order (as code may build them): same digest, same text */
	r = b.rules[0];
	b.rules[0] = b.rules[3];
	b.rules[3] = r;
	e = b.shed[0];
	b.shed[0] = b.shed[2];
	b.shed[2] = e;
	assert_int_equal(cg_state_digest(&b), d);
	/* every new field is content */
	b.shed[0].level_ppm++;
	assert_int_not_equal(cg_state_digest(&b), d);
	b.shed[0].level_ppm--;
	b.rules[1].class = 5 - b.rules[1].class;
	assert_int_not_equal(cg_state_digest(&b), d);
	b.rules[1].class = 5 - b.rules[1].class;
	b.classes[1].burst = 2;
	assert_int_not_equal(cg_state_digest(&b), d);
	b.classes[1].burst = 1;
	b.guard.ipv4_prefix = 16;
	assert_int_not_equal(cg_state_digest(&b), d);
	b.guard.ipv4_prefix = 24;
	strcpy(b.shed[1].by, "x");
	assert_int_not_equal(cg_state_digest(&b), d);
	b.shed[1].by[0] = '\0';
	assert_int_equal(cg_state_digest(&b), d);
	cg_state_free(&a);
	cg_state_free(&b);
}

static void test_state_code_built_shedding_round_trips_sorted(void **unused)
{
	struct cg_state a, b;
	char *t1, *t2, err[ERRLEN];

	parse_ok(diff_old, &a);
	/* appended out of order, as cellctl or cellgated would */
	a.rules = calloc(3, sizeof(*a.rules));
	a.shed = calloc(2, sizeof(*a.shed));
	assert_non_null(a.rules);
	assert_non_null(a.shed);
	a.nrules = 3;
	a.rules[0] = (struct cg_class_rule_cfg){ .kind = CG_RULE_DSCP, .dscp = 10, .class = 3 };
	a.rules[1] = (struct cg_class_rule_cfg){ .kind = CG_RULE_PREFIX,
						  .prefix = { .family = CG_AF_INET6 },
						  .prefix_len = 8,
						  .class = 1 };
	a.rules[1].prefix.a[0] = htonl(0xfd000000);
	a.rules[2] = (struct cg_class_rule_cfg){ .kind = CG_RULE_PREFIX,
						  .prefix = { .family = CG_AF_INET },
						  .prefix_len = 8,
						  .class = 0 };
	a.rules[2].prefix.a[0] = htonl(0x0a000000);
	a.nshed = 2;
	a.shed[0] = (struct cg_shed_cfg){ .cell = "b", .class = 3, .level_ppm = 333333,
					  .expires = 1700000000, .by = "uid 1000",
					  .reason = "say \"hi\"\\" };
	a.shed[1] = (struct cg_shed_cfg){ .cell = "*", .class = 2, .level_ppm = 1000000, .hard = true };
	t1 = write_str(&a);
	assert_non_null(strstr(t1, "class_rules:\n  - {prefix: 10.0.0.0/8, class: critical}\n"
				   "  - {prefix: \"fd00::/8\", class: high}\n"
				   "  - {dscp: 10, class: sheddable}\nguard:"));
	assert_non_null(strstr(t1, "shed:\n  - cell: \"*\"\n    class: normal\n    level: 1\n"
				   "    hard: true\n"));
	assert_non_null(strstr(t1, "    level: 0.333333\n"));
	if (cg_config_parse_buf("w.yaml", t1, strlen(t1), &b, err, sizeof(err)))
		fail_msg("%s\n%s", err, t1);
	/* the parser gives them back in canonical order */
	assert_int_equal(b.rules[0].prefix.family, CG_AF_INET);
	assert_int_equal(b.rules[2].kind, CG_RULE_DSCP);
	assert_string_equal(b.shed[0].cell, "*");
	assert_string_equal(b.shed[1].reason, "say \"hi\"\\");
	assert_int_equal(b.shed[1].level_ppm, 333333);
	assert_int_equal(b.shed[1].expires, 1700000000);
	assert_int_equal(cg_state_digest(&a), cg_state_digest(&b));
	assert_int_equal(cg_state_diff(&a, &b, NULL, NULL), 0);
	t2 = write_str(&b);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	cg_state_free(&a);
	cg_state_free(&b);
}

static void test_state_copy_is_deep_and_find_works(void **unused)
{
	struct cg_state a, b;

	load_example(&a);
	assert_int_equal(cg_state_copy(&b, &a), 0);
	assert_ptr_not_equal(a.services[0].cells, b.services[0].cells);
	assert_ptr_not_equal(a.cells, b.cells);
	assert_state_equal(&a, &b);
	strcpy(b.services[0].cells[0], "zzz");
	assert_string_equal(a.services[0].cells[0], "euw1-a");
	/* the shedding arrays too */
	assert_ptr_not_equal(a.rules, b.rules);
	assert_ptr_not_equal(a.shed, b.shed);
	b.rules[0].class = 7;
	b.shed[0].level_ppm = 1;
	strcpy(b.shed[1].reason, "changed");
	strcpy(b.classes[3].name, "bulk");
	b.guard.burst = 1;
	assert_int_equal(a.rules[0].class, 0);
	assert_int_equal(a.shed[0].level_ppm, 100000);
	assert_string_equal(a.shed[1].reason, "launch spike");
	assert_string_equal(a.classes[3].name, "sheddable");
	assert_int_equal(a.guard.burst, 200);
	/* a service cell, a rule's class id, 2 shed entries, the class renamed (- +), the guard */
	assert_int_equal(cg_state_diff(&a, &b, NULL, NULL), 7);
	assert_ptr_equal(cg_state_find_class(&a, "normal"), &a.classes[2]);
	assert_ptr_equal(cg_state_class_by_id(&a, 3), &a.classes[3]);
	assert_null(cg_state_find_class(&a, "bulk"));
	assert_null(cg_state_class_by_id(&a, 4));
	assert_null(cg_state_class_by_id(&a, CG_ID_AUTO));

	assert_ptr_equal(cg_state_find_cell(&a, "use1-b"), &a.cells[3]);
	assert_ptr_equal(cg_state_find_region(&a, "us-west"), &a.regions[2]);
	assert_ptr_equal(cg_state_find_service(&a, "web"), &a.services[1]);
	assert_null(cg_state_find_cell(&a, "nope"));
	assert_null(cg_state_find_region(&a, "use1-a"));
	assert_null(cg_state_find_service(&a, ""));
	cg_state_free(&a);
	cg_state_free(&b);

	cg_state_init(&a);
	assert_int_equal(cg_state_copy(&b, &a), 0);
	assert_null(b.cells);
	assert_null(b.rules);
	assert_null(b.shed);
	assert_int_equal(b.mtu, CG_DEFAULT_MTU);
	assert_int_equal(b.nclasses, 4);
	assert_string_equal(cg_state_class_by_id(&b, 3)->name, "sheddable");
	assert_true(cg_state_find_class(&b, "critical")->protected);
	cg_state_free(&b);
}

/* ---- ids ---- */

static uint32_t cell_id(const struct cg_state *st, const char *name)
{
	const struct cg_cell_cfg *c = cg_state_find_cell(st, name);

	assert_non_null(c);
	return c->id;
}

static void test_state_assign_ids_first_time_in_name_order_explicit_kept(void **unused)
{
	struct cg_state st;

	load_example(&st);
	assert_int_equal(cg_state_assign_ids(&st, NULL), 0);
	/* use1-a pinned to 0; the rest in name order */
	assert_int_equal(cell_id(&st, "use1-a"), 0);
	assert_int_equal(cell_id(&st, "euw1-a"), 1);
	assert_int_equal(cell_id(&st, "euw1-b"), 2);
	assert_int_equal(cell_id(&st, "use1-b"), 3);
	assert_int_equal(cell_id(&st, "usw2-a"), 4);
	assert_int_equal(cell_id(&st, "usw2-b"), 5);
	assert_int_equal(cg_state_find_service(&st, "web-tls")->id, 1);
	assert_int_equal(cg_state_find_service(&st, "dns6")->id, 0);
	assert_int_equal(cg_state_find_service(&st, "web")->id, 2);
	assert_int_equal(cg_state_find_region(&st, "eu-west")->id, 0);
	assert_int_equal(cg_state_find_region(&st, "us-west")->id, 2);
	cg_state_free(&st);
}

static void test_state_assign_ids_keeps_ids_across_a_change(void **unused)
{
	struct cg_state prev, next;

	parse_ok(diff_old, &prev);
	assert_int_equal(cg_state_assign_ids(&prev, NULL), 0);
	assert_int_equal(cell_id(&prev, "a"), 0);
	assert_int_equal(cell_id(&prev, "b"), 1);
	assert_int_equal(cell_id(&prev, "c"), 2);

	/* the same config again: nothing moves */
	parse_ok(diff_old, &next);
	assert_int_equal(cg_state_assign_ids(&next, &prev), 0);
	assert_int_equal(cg_state_diff(&prev, &next, NULL, NULL), 0);
	cg_state_free(&next);

	/* c removed, d added: a and b keep theirs, d gets a never-used id, not c's 2 */
	parse_ok(diff_new, &next);
	assert_int_equal(cg_state_assign_ids(&next, &prev), 0);
	assert_int_equal(cell_id(&next, "a"), 0);
	assert_int_equal(cell_id(&next, "b"), 1);
	assert_int_equal(cell_id(&next, "d"), 3);
	assert_int_equal(cg_state_find_service(&next, "web")->id, 1);
	assert_int_equal(cg_state_find_service(&next, "new")->id, 2);
	assert_int_equal(cg_state_find_region(&next, "r3")->id, 2);
	cg_state_free(&next);
	cg_state_free(&prev);
}

/* A state with n regions r00.. (no cells or services), ids unassigned. */
static void regions_state(struct cg_state *st, size_t n, size_t first)
{
	size_t i;

	cg_state_init(st);
	st->regions = calloc(n, sizeof(*st->regions));
	assert_non_null(st->regions);
	st->nregions = n;
	for (i = 0; i < n; i++) {
		snprintf(st->regions[i].name, CG_NAME_MAX, "r%02zu", first + i);
		st->regions[i].id = CG_ID_AUTO;
	}
}

static void test_state_assign_ids_reuses_freed_ids_only_when_needed(void **unused)
{
	struct cg_state prev, next;
	size_t i;

	/* 64 regions r00..r63: full */
	regions_state(&prev, CG_MAX_REGIONS, 0);
	assert_int_equal(cg_state_assign_ids(&prev, NULL), 0);
	for (i = 0; i < CG_MAX_REGIONS; i++)
		assert_int_equal(prev.regions[i].id, i);

	/* r05 and r06 removed, r64 added: the only free ids are freed ones, so one is reused */
	regions_state(&next, CG_MAX_REGIONS - 1, 0);
	for (i = 5; i < CG_MAX_REGIONS - 1; i++)
		snprintf(next.regions[i].name, CG_NAME_MAX, "r%02zu", i + 2); /* r07..r64 */
	assert_int_equal(cg_state_assign_ids(&next, &prev), 0);
	assert_int_equal(cg_state_find_region(&next, "r64")->id, 5);
	assert_int_equal(cg_state_find_region(&next, "r63")->id, 63);
	cg_state_free(&next);

	/* with room to spare, a freed id is left alone */
	cg_state_free(&prev);
	regions_state(&prev, 10, 0);
	assert_int_equal(cg_state_assign_ids(&prev, NULL), 0);
	regions_state(&next, 10, 1); /* r00 removed, r10 added */
	assert_int_equal(cg_state_assign_ids(&next, &prev), 0);
	assert_int_equal(cg_state_find_region(&next, "r01")->id, 1);
	assert_int_equal(cg_state_find_region(&next, "r10")->id, 10);
	cg_state_free(&next);
	cg_state_free(&prev);
}

/* The state written and read back, as a restart reads it. */
static void reload(struct cg_state *st)
{
	char *buf = NULL, err[ERRLEN] = "";
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(cg_state_write(st, f), 0);
	assert_int_equal(fclose(f), 0);
	cg_state_free(st);
	if (cg_config_parse_buf("state.yaml", buf, len, st, err, sizeof(err)))
		fail_msg("parse: %s", err);
	free(buf);
}

static void test_state_assign_ids_never_reissue_a_deleted_id_after_del_then_add(void **unused)
{
	struct cg_state prev, mid, next;

	/* r00..r09 get 0..9 */
	regions_state(&prev, 10, 0);
	assert_int_equal(cg_state_assign_ids(&prev, NULL), 0);
	assert_int_equal(prev.next_region_id, 10);
	/* one commit deletes r09 */
	regions_state(&mid, 9, 0);
	assert_int_equal(cg_state_assign_ids(&mid, &prev), 0);
	assert_int_equal(mid.next_region_id, 10);
	/* the next adds r10: it gets 10, not the 9 entries and counters may still hold */
	regions_state(&next, 10, 0);
	snprintf(next.regions[9].name, CG_NAME_MAX, "r10");
	assert_int_equal(cg_state_assign_ids(&next, &mid), 0);
	assert_int_equal(cg_state_find_region(&next, "r10")->id, 10);
	assert_int_equal(next.next_region_id, 11);
	cg_state_free(&next);
	cg_state_free(&mid);
	cg_state_free(&prev);

	/* the mark survives the state file (a restart, fail-static): 3..6 were used and deleted */
	parse_ok(diff_old, &prev);
	assert_int_equal(cg_state_assign_ids(&prev, NULL), 0);
	assert_int_equal(prev.next_cell_id, 3);
	prev.next_cell_id = 7;
	reload(&prev);
	assert_int_equal(prev.next_cell_id, 7);
	/* c removed, d added: d gets 7 */
	parse_ok(diff_new, &next);
	assert_int_equal(cg_state_assign_ids(&next, &prev), 0);
	assert_int_equal(cell_id(&next, "d"), 7);
	assert_int_equal(next.next_cell_id, 8);
	cg_state_free(&next);
	cg_state_free(&prev);
}

static void test_state_generation_next_refuses_to_wrap(void **unused)
{
	struct cg_state st;
	uint64_t g = 7;

	cg_state_init(&st);
	st.generation = 41;
	assert_int_equal(cg_state_generation_next(&st, &g), 0);
	assert_int_equal(g, 42);
	st.generation = UINT64_MAX - 1;
	assert_int_equal(cg_state_generation_next(&st, &g), 0);
	assert_true(g == UINT64_MAX);
	st.generation = UINT64_MAX;
	g = 7;
	assert_int_equal(cg_state_generation_next(&st, &g), -EOVERFLOW);
	assert_int_equal(g, 7);
	cg_state_free(&st);
}

static void test_state_assign_ids_errors_leave_state_unchanged(void **unused)
{
	struct cg_state prev, next, before;

	parse_ok(diff_old, &prev);
	assert_int_equal(cg_state_assign_ids(&prev, NULL), 0);

	/* d pinned to 0, which a (still present) keeps from prev */
	parse_ok(diff_new, &next);
	cg_state_find_cell(&next, "d")->id = 0;
	assert_int_equal(cg_state_copy(&before, &next), 0);
	assert_int_equal(cg_state_assign_ids(&next, &prev), -EEXIST);
	assert_state_equal(&next, &before);
	/* pinned to c's old id: c is gone, so that is allowed */
	cg_state_find_cell(&next, "d")->id = 2;
	assert_int_equal(cg_state_assign_ids(&next, &prev), 0);
	assert_int_equal(cell_id(&next, "d"), 2);
	cg_state_free(&next);
	cg_state_free(&before);

	/* two explicit ids collide */
	parse_ok(diff_new, &next);
	cg_state_find_cell(&next, "a")->id = 9;
	cg_state_find_cell(&next, "b")->id = 9;
	assert_int_equal(cg_state_assign_ids(&next, NULL), -EEXIST);
	assert_int_equal(cell_id(&next, "d"), CG_ID_AUTO);
	/* beyond the map */
	cg_state_find_cell(&next, "b")->id = CG_MAX_CELLS;
	assert_int_equal(cg_state_assign_ids(&next, NULL), -ERANGE);
	cg_state_free(&next);
	cg_state_free(&prev);

	/* more regions than ids */
	regions_state(&next, CG_MAX_REGIONS + 1, 0);
	assert_int_equal(cg_state_assign_ids(&next, NULL), -ENOSPC);
	assert_int_equal(next.regions[0].id, CG_ID_AUTO);
	cg_state_free(&next);
}

/* ---- persistence ---- */

static void test_state_save_load_round_trip(void **unused)
{
	struct cg_state a, b;
	char err[ERRLEN] = "", *buf, *body, hdr[96];
	size_t len, blen;
	struct tmp t;

	tmp_make(&t);
	load_example(&a);
	assert_int_equal(cg_state_assign_ids(&a, NULL), 0);
	a.generation = 7;
	if (cg_state_save(&a, t.path, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(count_entries(t.dir), 1); /* no temp file left */

	/* the header covers exactly the bytes after it */
	buf = read_all(t.path, &len);
	body = strchr(buf, '\n') + 1;
	blen = len - (size_t)(body - buf);
	snprintf(hdr, sizeof(hdr), "# cellgate-state v1 crc32=%08lx len=%zu\n",
		 crc32(0, (const Bytef *)body, (uInt)blen), blen);
	assert_memory_equal(buf, hdr, strlen(hdr));
	assert_int_equal(strncmp(body, "generation: 7\n", 14), 0);
	free(buf);

	if (cg_state_load(t.path, &b, err, sizeof(err)))
		fail_msg("%s", err);
	assert_state_equal(&a, &b);
	assert_int_equal(cg_state_digest(&a), cg_state_digest(&b));
	cg_state_free(&b);

	/* saving again replaces the file */
	a.generation = 8;
	a.cells[0].weight = 1;
	assert_int_equal(cg_state_save(&a, t.path, err, sizeof(err)), 0);
	assert_int_equal(cg_state_load(t.path, &b, err, sizeof(err)), 0);
	assert_int_equal(b.generation, 8);
	assert_int_equal(b.cells[0].weight, 1);
	assert_int_equal(count_entries(t.dir), 1);
	cg_state_free(&b);
	cg_state_free(&a);
	tmp_remove(&t);
}

/* Damage the saved file with fn, then load must give -EBADMSG and expect. */
static void check_refused(const char *what, void (*damage)(char *buf, size_t *len),
			  const char *expect)
{
	struct cg_state a, b;
	char err[ERRLEN] = "", *buf;
	struct tmp t;
	size_t len;

	tmp_make(&t);
	load_example(&a);
	assert_int_equal(cg_state_save(&a, t.path, err, sizeof(err)), 0);
	buf = read_all(t.path, &len);
	damage(buf, &len);
	write_file(t.path, buf, len);
	memset(&b, 0x5a, sizeof(b));
	if (cg_state_load(t.path, &b, err, sizeof(err)) != -EBADMSG || !strstr(err, expect) ||
	    strchr(err, '\n'))
		fail_msg("%s: got '%s', want '%s'", what, err, expect);
	assert_int_equal(b.ncells, (size_t)0x5a5a5a5a5a5a5a5aULL); /* untouched */
	assert_non_null(strstr(err, t.path));
	free(buf);
	cg_state_free(&a);
	tmp_remove(&t);
}

static void flip_a_byte(char *buf, size_t *len)
{
	buf[*len - 10] ^= 0x01; /* inside the last service's cell list */
}

static void truncate_it(char *buf, size_t *len)
{
	*len -= 50;
}

static void drop_header(char *buf, size_t *len)
{
	size_t h = (size_t)(strchr(buf, '\n') + 1 - buf);

	memmove(buf, buf + h, *len - h);
	*len -= h;
}

static void bad_header(char *buf, size_t *len)
{
	memcpy(strstr(buf, "crc32="), "crc32=X", 7);
}

static void future_version(char *buf, size_t *len)
{
	buf[18] = '9'; /* "# cellgate-state v9 ..." */
}

static void append_data(char *buf, size_t *len)
{
	buf[(*len)++] = '\n';
}

static void empty_it(char *buf, size_t *len)
{
	*len = 0;
}

static void test_state_load_refuses_damaged_files(void **unused)
{
	check_refused("flipped byte", flip_a_byte, ": state file is corrupted: crc32 is ");
	check_refused("truncated", truncate_it, ": state file is truncated: ");
	check_refused("missing header", drop_header,
		      ":1: not a cellgate state file (no '# cellgate-state v1 crc32=... len=...' "
		      "header)");
	check_refused("bad header", bad_header, ":1: bad state header");
	check_refused("future version", future_version, ":1: unsupported state file version");
	check_refused("trailing data", append_data, ": state file has trailing data: ");
	check_refused("empty", empty_it, ":1: not a cellgate state file");
}

/* load_buf on text, which must be refused with -EBADMSG and a one-line message containing expect */
static void check_buf_refused(const char *text, size_t len, const char *expect)
{
	char err[ERRLEN] = "", *copy = malloc(len ? len : 1);
	struct cg_state st;

	assert_non_null(copy);
	memcpy(copy, text, len); /* exactly len bytes, no NUL after them */
	memset(&st, 0x5a, sizeof(st));
	if (cg_state_load_buf("s.yaml", copy, len, &st, err, sizeof(err)) != -EBADMSG ||
	    !strstr(err, expect) || strchr(err, '\n'))
		fail_msg("'%.*s': got '%s', want '%s'", (int)len, text, err, expect);
	assert_int_equal(st.ncells, (size_t)0x5a5a5a5a5a5a5a5aULL);
	free(copy);
}

static void test_state_load_buf_is_load_from_memory(void **unused)
{
	char err[ERRLEN] = "", *buf, *copy, longhdr[256];
	struct cg_state a, b;
	struct tmp t;
	size_t len;

	tmp_make(&t);
	load_example(&a);
	assert_int_equal(cg_state_save(&a, t.path, err, sizeof(err)), 0);
	buf = read_all(t.path, &len);
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, buf, len); /* no NUL after the file's bytes */
	assert_int_equal(cg_state_load_buf("mem.yaml", copy, len, &b, err, sizeof(err)), 0);
	assert_state_equal(&a, &b);
	cg_state_free(&b);
	/* messages name the buffer as given */
	copy[len - 10] ^= 0x01;
	assert_int_equal(cg_state_load_buf("mem.yaml", copy, len, &b, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "mem.yaml: state file is corrupted"));
	free(copy);
	free(buf);
	cg_state_free(&a);
	tmp_remove(&t);

	/* headers that are nearly right, in buffers that end where the bytes do */
	check_buf_refused("# cellgate-state v1 ", 20, "not a cellgate state file");
	check_buf_refused("# cellgate-st", 13, "not a cellgate state file");
	check_buf_refused("# cellgate-state v1 crc32=00000000 len=0\0x\n", 43, "bad state header");
	check_buf_refused("# cellgate-state v1 crc32=00000000 len=+0\n", 42, "bad state header");
	check_buf_refused("# cellgate-state v1 crc32=0000000 len=0\n", 40, "bad state header");
	memset(longhdr, '0', sizeof(longhdr));
	memcpy(longhdr, "# cellgate-state v1 crc32=00000000 len=", 39);
	longhdr[sizeof(longhdr) - 1] = '\n';
	check_buf_refused(longhdr, sizeof(longhdr), "bad state header");
	check_buf_refused("# cellgate-state v1 crc32=00000000 len=5\nab", 43, "is truncated");
}

static void test_state_load_absent_is_enoent(void **unused)
{
	char err[ERRLEN] = "";
	struct cg_state st;
	struct tmp t;

	tmp_make(&t);
	assert_int_equal(cg_state_load(t.path, &st, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot open '"));
	assert_non_null(strstr(err, "state.yaml': No such file or directory"));
	tmp_remove(&t);
}

/* A save killed before its rename leaves path.tmp.<pid>: the directory's owner removes only those. */
static void test_state_tmp_clean_removes_only_stale_temp_files(void **unused)
{
	static const char *const stale[] = { "state.yaml.tmp.1", "state.yaml.tmp.424242" };
	static const char *const kept[] = { "state.yaml", "state.yaml.tmp.", "state.yaml.tmp.12x",
					    "other.yaml.tmp.7", "cellgated.lock" };
	char err[ERRLEN] = "", p[PATH_MAX + 64];
	struct tmp t;
	size_t i;
	int fd;

	(void)unused;
	tmp_make(&t);
	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", t.dir, stale[i]);
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	for (i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "%s/%s", t.dir, kept[i]);
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	assert_int_equal(cg_state_tmp_clean(t.path, err, sizeof(err)), 2);
	assert_int_equal(count_entries(t.dir), 5);
	for (i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "%s/%s", t.dir, kept[i]);
		assert_int_equal(access(p, F_OK), 0);
	}
	assert_int_equal(cg_state_tmp_clean(t.path, err, sizeof(err)), 0);
	snprintf(p, sizeof(p), "%s/nodir/state.yaml", t.dir);
	assert_int_equal(cg_state_tmp_clean(p, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot read directory '"));
	tmp_remove(&t);
}

static void test_state_save_into_missing_directory_fails_cleanly(void **unused)
{
	char err[ERRLEN] = "", path[PATH_MAX + 32];
	struct cg_state st;
	struct tmp t;

	tmp_make(&t);
	load_example(&st);
	snprintf(path, sizeof(path), "%s/nodir/state.yaml", t.dir);
	assert_int_equal(cg_state_save(&st, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot create '"));
	assert_non_null(strstr(err, "/nodir/state.yaml.tmp."));
	assert_non_null(strstr(err, "': No such file or directory"));
	assert_int_equal(count_entries(t.dir), 0);
	cg_state_free(&st);
	tmp_remove(&t);
}

/* Drop the capabilities that let root write anywhere (this process only). */
static int drop_dac_override(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective &= ~((1U << CAP_DAC_OVERRIDE) | (1U << CAP_DAC_READ_SEARCH) |
			    (1U << CAP_FOWNER));
	return (int)syscall(SYS_capset, &h, d);
}

static void test_state_save_into_read_only_directory_keeps_old_file(void **unused)
{
	char err[ERRLEN] = "", probe[PATH_MAX + 8], *before, *after;
	struct cg_state st;
	size_t blen, alen;
	struct tmp t;
	int fds[2], status, fd, ret = 0;
	ssize_t n;
	pid_t pid;

	tmp_make(&t);
	load_example(&st);
	assert_int_equal(cg_state_save(&st, t.path, err, sizeof(err)), 0);
	before = read_all(t.path, &blen);
	st.cells[0].weight = 3; /* a different state, so a write would show */
	assert_int_equal(chmod(t.dir, 0555), 0);

	/* in a child: it may drop root's override of permissions */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		snprintf(probe, sizeof(probe), "%s/probe", t.dir);
		if (drop_dac_override())
			_exit(77);
		fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd >= 0) {
			unlink(probe);
			_exit(77); /* cannot make the directory read-only for us */
		}
		ret = cg_state_save(&st, t.path, err, sizeof(err));
		if (write(fds[1], &ret, sizeof(ret)) != sizeof(ret) ||
		    write(fds[1], err, sizeof(err)) != sizeof(err))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], &ret, sizeof(ret));
	if (n == sizeof(ret))
		assert_int_equal(read(fds[0], err, sizeof(err)), sizeof(err));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		cg_state_free(&st);
		free(before);
		tmp_remove(&t);
		cg_test_skip("cannot make a directory read-only for this process");
	}
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(ret, -EACCES);
	assert_non_null(strstr(err, "cannot create '"));
	assert_non_null(strstr(err, "': Permission denied"));

	after = read_all(t.path, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	assert_int_equal(count_entries(t.dir), 1);
	free(before);
	free(after);
	cg_state_free(&st);
	tmp_remove(&t);
}

static void test_state_save_failing_mid_way_keeps_old_file_and_removes_temp(void **unused)
{
	char err[ERRLEN] = "", tmpname[PATH_MAX + 32], inner[PATH_MAX + 64], *before, *after;
	struct cg_state st;
	size_t blen, alen;
	struct tmp t;

	tmp_make(&t);
	load_example(&st);
	assert_int_equal(cg_state_save(&st, t.path, err, sizeof(err)), 0);
	before = read_all(t.path, &blen);

	/* the temp name is taken by a directory: the create fails, nothing else is touched */
	snprintf(tmpname, sizeof(tmpname), "%s.tmp.%d", t.path, (int)getpid());
	assert_int_equal(mkdir(tmpname, 0700), 0);
	snprintf(inner, sizeof(inner), "%s/keep", tmpname);
	write_file(inner, "x", 1);
	st.mtu = 9000;
	assert_int_equal(cg_state_save(&st, t.path, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "cannot create '"));
	assert_int_equal(access(inner, F_OK), 0);
	after = read_all(t.path, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(after);

	/* an invalid state is never written */
	assert_int_equal(unlink(inner), 0);
	assert_int_equal(rmdir(tmpname), 0);
	st.cells[0].weight = 0;
	assert_int_equal(cg_state_save(&st, t.path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cannot save an invalid state to '"));
	if (!strstr(err, "state.yaml': cell 'euw1-a': weight 0 is out of range (1..65535)"))
		fail_msg("%s", err);
	after = read_all(t.path, &alen);
	assert_memory_equal(after, before, blen);
	assert_int_equal(count_entries(t.dir), 1);
	free(after);
	free(before);
	cg_state_free(&st);
	tmp_remove(&t);
}

/* ---- diff ---- */

/* Changes collected as "op kind name: detail" lines. */
struct changes {
	char lines[32][256]; /* one per change */
	size_t n;            /* collected */
};

static void collect(void *arg, char op, const char *kind, const char *name, const char *detail)
{
	struct changes *c = arg;

	assert_true(c->n < 32);
	snprintf(c->lines[c->n++], sizeof(c->lines[0]), "%c %s %s: %s", op, kind, name, detail);
}

static void test_state_diff_reports_exactly_the_changes(void **unused)
{
	static const char *const want[] = {
		"~ setting interfaces: [eth0] -> [eth0, eth1]",
		"~ setting source.ipv6: none -> 2001:db8::1",
		"~ setting mtu: 1500 -> 9000",
		"- region r2: ",
		"+ region r3: id 2, cost 20",
		"~ cell a: weight 100 -> 200, state active -> draining",
		"- cell c: ",
		"+ cell d: id 3, region r3, gateway 2001:db8::d, encap gue, gue_port 6080, "
		"weight 100, probe_port 0, capacity 5, state active",
		"+ service new: id 2, vip 2001:db8::80, port 443, protocol tcp, table_size 65537, "
		"default_class 0, cells [d]",
		"- service old: ",
		"~ service web: default_class 0 -> 1, cells -a +d",
	};
	struct changes got = { .n = 0 };
	struct cg_state prev, next;
	size_t i;
	int n;

	parse_ok(diff_old, &prev);
	parse_ok(diff_new, &next);
	assert_int_equal(cg_state_assign_ids(&prev, NULL), 0);
	assert_int_equal(cg_state_assign_ids(&next, &prev), 0);
	n = cg_state_diff(&prev, &next, collect, &got);
	if (n != (int)(sizeof(want) / sizeof(want[0])))
		for (i = 0; i < got.n; i++)
			print_error("got: %s\n", got.lines[i]);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	assert_int_equal(got.n, (size_t)n);
	for (i = 0; i < got.n; i++)
		assert_string_equal(got.lines[i], want[i]);

	/* the other way round: as many changes, signs swapped */
	assert_int_equal(cg_state_diff(&next, &prev, NULL, NULL), n);
	/* a cell's id change is a change */
	cg_state_find_cell(&next, "b")->id = 9;
	got.n = 0;
	cg_state_diff(&prev, &next, collect, &got);
	assert_string_equal(got.lines[6], "~ cell b: id 1 -> 9");
	cg_state_free(&prev);
	cg_state_free(&next);
}

static const char shed_old[] = "region: r1\n"
			       "interfaces: [eth0]\n"
			       "source: {ipv4: 198.18.0.1}\n"
			       "regions: [{name: r1, cost: 0}]\n"
			       "cells:\n"
			       "  - {name: use1-a, region: r1, gateway: 198.18.1.1, encap: ipip}\n"
			       "  - {name: use1-b, region: r1, gateway: 198.18.1.2, encap: ipip}\n"
			       "class_rules:\n"
			       "  - {prefix: 198.18.12.0/24, class: sheddable}\n"
			       "  - {prefix: \"2001:db8:0:11::/64\", class: high}\n"
			       "  - {dscp: 46, class: high}\n"
			       "shed:\n"
			       "  - {cell: \"*\", class: sheddable, level: 0.25}\n"
			       "  - {cell: use1-b, class: normal, level: 0.5, by: ops}\n";

static const char shed_new[] =
	"region: r1\n"
	"interfaces: [eth0]\n"
	"source: {ipv4: 198.18.0.1}\n"
	"regions: [{name: r1, cost: 0}]\n"
	"cells:\n"
	"  - {name: use1-a, region: r1, gateway: 198.18.1.1, encap: ipip}\n"
	"  - {name: use1-b, region: r1, gateway: 198.18.1.2, encap: ipip}\n"
	"classes:\n"
	"  - {name: critical, id: 0, protected: true}\n"
	"  - {name: high, id: 1}\n"
	"  - {name: normal, id: 2, protected: true}\n"
	"  - {name: sheddable, id: 3, new_flows_per_sec: 5000}\n"
	"  - {name: scavenger, id: 7}\n"
	"class_rules:\n"
	"  - {prefix: 198.18.11.0/24, class: critical}\n"
	"  - {prefix: \"2001:db8:0:11::/64\", class: high}\n"
	"  - {dscp: 46, class: critical}\n"
	"guard: {new_flows_per_sec: 100, ipv4_prefix: 20}\n"
	"shed:\n"
	"  - {cell: \"*\", class: sheddable, level: 0.5, hard: true}\n"
	"  - {cell: use1-a, class: sheddable, level: 0.25, expires: 1795000000, by: \"uid 0\", "
	"reason: \"launch spike\"}\n";

static void test_state_diff_reports_shedding_changes(void **unused)
{
	static const char *const want[] = {
		"~ setting guard.ipv4_prefix: 24 -> 20",
		"~ setting guard.new_flows_per_sec: 0 -> 100",
		"~ setting guard.burst: 0 -> 200",
		"~ class normal: protected false -> true",
		"+ class scavenger: id 7, protected false, new_flows_per_sec 0, packets_per_sec 0, "
		"burst 1",
		"~ class sheddable: new_flows_per_sec 0 -> 5000, burst 1 -> 500",
		"+ rule 198.18.11.0/24: class critical",
		"- rule 198.18.12.0/24: ",
		"~ rule dscp 46: class high -> critical",
		"~ shed */sheddable: level 0.25 -> 0.5, hard false -> true",
		"+ shed use1-a/sheddable: level 0.25, hard false, expires 1795000000, by \"uid 0\", "
		"reason \"launch spike\"",
		"- shed use1-b/normal: ",
	};
	struct changes got = { .n = 0 };
	struct cg_state prev, next;
	size_t i;
	int n;

	parse_ok(shed_old, &prev);
	parse_ok(shed_new, &next);
	n = cg_state_diff(&prev, &next, collect, &got);
	if (n != (int)(sizeof(want) / sizeof(want[0])))
		for (i = 0; i < got.n; i++)
			print_error("got: %s\n", got.lines[i]);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < got.n; i++)
		assert_string_equal(got.lines[i], want[i]);
	/* the other way round: as many changes */
	assert_int_equal(cg_state_diff(&next, &prev, NULL, NULL), n);

	/* a long rule name is not cut; a change of reason alone is a change */
	got.n = 0;
	cg_state_free(&prev);
	assert_int_equal(cg_state_copy(&prev, &next), 0);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:1234:5678:9abc:def0:1234:5600",
				   next.rules[1].prefix.a),
			 1);
	next.rules[1].prefix_len = 120;
	strcpy(next.shed[1].reason, "launch over");
	cg_state_diff(&prev, &next, collect, &got);
	assert_int_equal(got.n, 3);
	assert_string_equal(got.lines[0], "- rule 2001:db8:0:11::/64: ");
	assert_string_equal(got.lines[1], "+ rule 2001:db8:1234:5678:9abc:def0:1234:5600/120: class high");
	assert_string_equal(got.lines[2],
			    "~ shed use1-a/sheddable: reason \"launch spike\" -> \"launch over\"");
	cg_state_free(&prev);
	cg_state_free(&next);
}

static void test_state_diff_of_equal_states_is_empty(void **unused)
{
	struct changes got = { .n = 0 };
	struct cg_state a, b;

	load_example(&a);
	assert_int_equal(cg_state_copy(&b, &a), 0);
	b.generation = 100;
	assert_int_equal(cg_state_diff(&a, &b, collect, &got), 0);
	assert_int_equal(got.n, 0);
	cg_state_free(&a);
	cg_state_free(&b);
	/* from nothing: everything is added */
	cg_state_init(&a);
	load_example(&b);
	/* settings 5 + guard 2 + failover 2 (min_cells, auto_evacuate), classes normal and
	 * sheddable, 5 rules, 3 regions, 6 cells, 3 services, 2 shed entries */
	assert_int_equal(cg_state_diff(&a, &b, NULL, NULL), 5 + 2 + 2 + 2 + 5 + 3 + 6 + 3 + 2);
	cg_state_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_round_trip_parse_write_parse_is_identical),
		cmocka_unit_test(test_state_round_trip_long_cell_list_and_unassigned_ids),
		cmocka_unit_test(test_state_digest_independent_of_input_order),
		cmocka_unit_test(test_state_digest_of_shedding_independent_of_order),
		cmocka_unit_test(test_state_code_built_shedding_round_trips_sorted),
		cmocka_unit_test(test_state_copy_is_deep_and_find_works),
		cmocka_unit_test(test_state_assign_ids_first_time_in_name_order_explicit_kept),
		cmocka_unit_test(test_state_assign_ids_keeps_ids_across_a_change),
		cmocka_unit_test(test_state_assign_ids_reuses_freed_ids_only_when_needed),
		cmocka_unit_test(test_state_assign_ids_errors_leave_state_unchanged),
		cmocka_unit_test(test_state_assign_ids_never_reissue_a_deleted_id_after_del_then_add),
		cmocka_unit_test(test_state_generation_next_refuses_to_wrap),
		cmocka_unit_test(test_state_save_load_round_trip),
		cmocka_unit_test(test_state_load_refuses_damaged_files),
		cmocka_unit_test(test_state_load_absent_is_enoent),
		cmocka_unit_test(test_state_load_buf_is_load_from_memory),
		cmocka_unit_test(test_state_save_into_missing_directory_fails_cleanly),
		cmocka_unit_test(test_state_save_into_read_only_directory_keeps_old_file),
		cmocka_unit_test(test_state_save_failing_mid_way_keeps_old_file_and_removes_temp),
		cmocka_unit_test(test_state_tmp_clean_removes_only_stale_temp_files),
		cmocka_unit_test(test_state_diff_reports_exactly_the_changes),
		cmocka_unit_test(test_state_diff_reports_shedding_changes),
		cmocka_unit_test(test_state_diff_of_equal_states_is_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
