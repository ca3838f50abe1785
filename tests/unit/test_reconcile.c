// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_reconcile.c - desired state into real maps: minimal writes, idempotence, adoption */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cellgate/config.h"
#include "cellgate/dataplane.h"
#include "cellgate/reconcile.h"
#include "cellgate/shed.h"
#include "testskip.h"

#include <bpf/libbpf.h>

static const char base_cfg[] =
	"region: r1\n"
	"interfaces: [eth0]\n"
	"source: {ipv4: 198.18.0.1, ipv6: \"2001:db8::1\"}\n"
	"mtu: 1500\n"
	"conntrack: 4096\n"
	"regions:\n"
	"  - {name: r1, cost: 0}\n"
	"  - {name: r2, cost: 10}\n"
	"cells:\n"
	"  - {name: a, region: r1, gateway: 198.18.1.10, encap: gue}\n"
	"  - {name: b, region: r1, gateway: 198.18.1.11, encap: ipip}\n"
	"  - {name: c, region: r2, gateway: \"2001:db8:2::10\", encap: ipip}\n"
	"services:\n"
	"  - {name: web, vip: 203.0.113.10, port: 80, protocol: tcp, table_size: 251, cells: [a, b, c]}\n"
	"  - {name: dns, vip: 203.0.113.10, port: 53, protocol: udp, table_size: 13, cells: [a]}\n"
	"  - {name: dns2, vip: 203.0.113.10, port: 5353, protocol: udp, table_size: 13, cells: [b]}\n";

struct fixture {
	struct cg_dp *dp;
	struct cg_rec *rec;
	struct cg_state st;
	bool unresolved[CG_MAX_CELLS]; /* cell ids whose next hop is not known */
};

/* Next hop stub: MAC 02:00:00:00:00:<id+1>, VLAN 0, unless marked unresolved. */
static int nh(void *arg, const struct cg_cell_cfg *c, uint8_t mac[6], uint16_t *vlan)
{
	struct fixture *f = arg;

	if (f->unresolved[c->id])
		return -EAGAIN;
	memset(mac, 0, 6);
	mac[0] = 0x02;
	mac[5] = (uint8_t)(c->id + 1);
	*vlan = 0;
	return 0;
}

/* Parse text into st, with ids kept from prev (NULL: a first start). */
static void load(struct cg_state *st, const char *text, const struct cg_state *prev)
{
	char err[256];

	cg_state_init(st);
	if (cg_config_parse_buf("test", text, strlen(text), st, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(cg_state_assign_ids(st, prev), 0);
}

/* Replace f->st by text, as 'config apply' does: ids kept by name. */
static void reload(struct fixture *f, const char *text)
{
	struct cg_state prev;

	cg_state_init(&prev);
	assert_int_equal(cg_state_copy(&prev, &f->st), 0);
	cg_state_free(&f->st);
	load(&f->st, text, &prev);
	cg_state_free(&prev);
}

static void apply(struct fixture *f, struct cg_rec_report *rep)
{
	char err[256];

	if (cg_rec_apply(f->rec, &f->st, nh, f, rep, err, sizeof(err)))
		fail_msg("apply: %s", err);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dp = cg_dp_open(&(struct cg_dp_opts){ .conntrack_size = 4096 });
	if (!f->dp)
		return -1;
	f->rec = cg_rec_new(f->dp);
	if (!f->rec)
		return -1;
	load(&f->st, base_cfg, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cg_rec_free(f->rec);
	cg_dp_close(f->dp);
	cg_state_free(&f->st);
	free(f);
	return 0;
}

static uint32_t id_of(const struct fixture *f, const char *cell)
{
	return cg_state_find_cell(&f->st, cell)->id;
}

/* How many slots of service svc's live table name cell. */
static uint32_t slots_of(struct fixture *f, const char *svc, const char *cell)
{
	static uint32_t slots[CG_MAX_TABLE_SIZE];
	uint32_t size = 0, n = 0, id = id_of(f, cell);

	if (cg_dp_table_read(f->dp, cg_state_find_service(&f->st, svc)->id, slots,
			     CG_MAX_TABLE_SIZE, &size))
		return 0;
	for (uint32_t i = 0; i < size; i++)
		n += slots[i] == id;
	return n;
}

static void test_reconcile_first_apply_writes_everything_second_nothing(void **state)
{
	struct fixture *f = *state;
	struct cg_rec_report rep;
	struct cg_cell c;

	apply(f, &rep);
	assert_int_equal(rep.settings, 1);
	assert_int_equal(rep.cells, 3);
	assert_int_equal(rep.tables, 3);
	assert_int_equal(rep.keys, 3 + 2); /* three services, a fragment alias for UDP and TCP */
	assert_int_equal(cg_dp_cell_get(f->dp, id_of(f, "a"), &c), 0);
	assert_int_equal(c.state, CG_CELL_ACTIVE);
	assert_int_equal(c.encap, CG_ENCAP_GUE);
	assert_int_equal(ntohs(c.gue_port), CG_GUE_DEFAULT_PORT);
	assert_int_equal(c.dmac[5], id_of(f, "a") + 1);
	assert_true(slots_of(f, "web", "a") > 0 && slots_of(f, "web", "c") > 0);

	apply(f, &rep);
	assert_int_equal(cg_rec_writes(&rep), 0);
}

/* The port-0 alias of a (VIP, proto) belongs to its lowest-port service. */
static void test_reconcile_fragment_alias_owned_by_lowest_port(void **state)
{
	struct fixture *f = *state;
	struct cg_service_key k = { .proto = IPPROTO_UDP, .family = CG_AF_INET };
	struct cg_service v;

	inet_pton(AF_INET, "203.0.113.10", k.addr);
	assert_int_equal(cg_dp_service_get(f->dp, &k, &v), 0);
	assert_int_equal(v.id, cg_state_find_service(&f->st, "dns")->id);
	assert_int_equal(v.flags, CG_SVC_F_FRAG_ALIAS);
	k.proto = IPPROTO_TCP;
	assert_int_equal(cg_dp_service_get(f->dp, &k, &v), 0); /* web is alone on TCP */
	assert_int_equal(v.id, cg_state_find_service(&f->st, "web")->id);
}

/* Draining: out of the table, state written, nothing else touched. */
static void test_reconcile_drain_rewrites_one_cell_and_its_tables(void **state)
{
	struct fixture *f = *state;
	struct cg_rec_report rep;
	struct cg_cell c;

	cg_state_find_cell(&f->st, "b")->state = CG_CELL_DRAINING;
	apply(f, &rep);
	assert_int_equal(rep.cells, 1);
	assert_int_equal(rep.tables, 1);     /* web */
	assert_int_equal(rep.tables_del, 1); /* dns2: no active cell left */
	assert_int_equal(rep.keys + rep.keys_del + rep.settings, 0);
	assert_int_equal(cg_dp_cell_get(f->dp, id_of(f, "b"), &c), 0);
	assert_int_equal(c.state, CG_CELL_DRAINING);
	assert_int_equal(slots_of(f, "web", "b"), 0);
	/* dns2 has no active cell left: no table, its packets are dropped, counted */
	assert_int_equal(slots_of(f, "dns2", "b"), 0);
	cg_state_find_cell(&f->st, "b")->state = CG_CELL_ACTIVE;
	apply(f, &rep);
	assert_true(slots_of(f, "web", "b") > 0);
	assert_int_equal(slots_of(f, "dns2", "b"), 13);
}

/* A weight change rebuilds the table only. */
static void test_reconcile_weight_change_swaps_table_only(void **state)
{
	struct fixture *f = *state;
	struct cg_rec_report rep;
	uint32_t before = slots_of(f, "web", "a");

	cg_state_find_cell(&f->st, "a")->weight = 300;
	apply(f, &rep);
	assert_int_equal(rep.tables, 1);
	assert_int_equal(rep.cells + rep.keys + rep.keys_del + rep.settings, 0);
	assert_true(slots_of(f, "web", "a") > before);
	cg_state_find_cell(&f->st, "a")->weight = 100;
	apply(f, &rep);
	assert_int_equal(slots_of(f, "web", "a"), before);
}

/*
 * The controllers' overlay: a cap makes a cell less available than desired
 * (never more), a weight replaces the configured one in its tables; the
 * desired state is untouched, and clearing the overlay restores the tables.
 */
static void test_reconcile_overlay_caps_and_weights(void **state)
{
	static struct cg_cell_overlay ov[CG_MAX_CELLS];
	struct fixture *f = *state;
	struct cg_rec_report rep;
	struct cg_cell c;
	uint32_t a0, b0;

	apply(f, &rep);
	a0 = slots_of(f, "web", "a");
	b0 = slots_of(f, "web", "b");
	memset(ov, 0, sizeof(ov));
	cg_rec_set_overlay(f->rec, ov);
	apply(f, &rep); /* the zero overlay changes nothing */
	assert_int_equal(cg_rec_writes(&rep), 0);

	ov[id_of(f, "b")].cap = CG_CELL_DOWN; /* health: b is down */
	apply(f, &rep);
	assert_int_equal(rep.cells, 1);
	assert_int_equal(cg_dp_cell_get(f->dp, id_of(f, "b"), &c), 0);
	assert_int_equal(c.state, CG_CELL_DOWN);
	assert_int_equal(slots_of(f, "web", "b"), 0);
	assert_int_equal(slots_of(f, "dns2", "b"), 0);
	assert_int_equal(cg_state_find_cell(&f->st, "b")->state, CG_CELL_ACTIVE);

	ov[id_of(f, "b")].cap = CG_CELL_DRAINING; /* evacuated: flows it holds stay */
	apply(f, &rep);
	assert_int_equal(cg_dp_cell_get(f->dp, id_of(f, "b"), &c), 0);
	assert_int_equal(c.state, CG_CELL_DRAINING);
	assert_int_equal(slots_of(f, "web", "b"), 0);

	/* a cap never raises a cell: a desired-down cell stays down under a draining cap */
	cg_state_find_cell(&f->st, "a")->state = CG_CELL_DOWN;
	ov[id_of(f, "a")].cap = CG_CELL_DRAINING;
	apply(f, &rep);
	assert_int_equal(cg_dp_cell_get(f->dp, id_of(f, "a"), &c), 0);
	assert_int_equal(c.state, CG_CELL_DOWN);
	cg_state_find_cell(&f->st, "a")->state = CG_CELL_ACTIVE;
	ov[id_of(f, "a")].cap = 0;

	/* a ramp: b back at a tenth of its weight, then weight 0 by flag is out of the tables */
	ov[id_of(f, "b")].cap = 0;
	ov[id_of(f, "b")].weight = 10;
	apply(f, &rep);
	assert_true(slots_of(f, "web", "b") > 0 && slots_of(f, "web", "b") < b0 / 5);
	ov[id_of(f, "b")].weight = 0;
	ov[id_of(f, "b")].flags = CG_OVERLAY_F_WEIGHT;
	apply(f, &rep);
	assert_int_equal(slots_of(f, "web", "b"), 0);
	assert_int_equal(cg_dp_cell_get(f->dp, id_of(f, "b"), &c), 0);
	assert_int_equal(c.state, CG_CELL_ACTIVE);

	cg_rec_set_overlay(f->rec, NULL);
	apply(f, &rep);
	assert_int_equal(slots_of(f, "web", "a"), a0);
	assert_int_equal(slots_of(f, "web", "b"), b0);
}

/* The weight hook: web's table drops b (dns2's keeps it), then b gets three times a's weight in web only. */
static uint32_t weight_hook(void *arg, const struct cg_service_cfg *svc, const struct cg_cell_cfg *c,
			    uint32_t base)
{
	const int *mode = arg;

	if (strcmp(svc->name, "web") || strcmp(c->name, "b"))
		return base;
	return *mode == 0 ? 0 : base * 3;
}

static void test_reconcile_weight_hook_is_per_service(void **state)
{
	struct fixture *f = *state;
	struct cg_rec_report rep;
	uint32_t a0, b0, d0;
	int mode = 0;

	apply(f, &rep);
	a0 = slots_of(f, "web", "a");
	b0 = slots_of(f, "web", "b");
	d0 = slots_of(f, "dns2", "b");
	cg_rec_set_weight(f->rec, weight_hook, &mode);
	apply(f, &rep);
	assert_int_equal(rep.tables, 1); /* web only */
	assert_int_equal(slots_of(f, "web", "b"), 0);
	assert_int_equal(slots_of(f, "dns2", "b"), d0);
	assert_true(slots_of(f, "web", "a") > a0);
	mode = 1;
	apply(f, &rep);
	assert_int_equal(rep.tables, 1);
	assert_true(slots_of(f, "web", "b") > 2 * slots_of(f, "web", "a"));
	cg_rec_set_weight(f->rec, NULL, NULL);
	apply(f, &rep);
	assert_int_equal(slots_of(f, "web", "a"), a0);
	assert_int_equal(slots_of(f, "web", "b"), b0);
}

/* No next hop: the cell cannot forward, so it is down in the map and out of tables. */
static void test_reconcile_unresolved_cell_stays_out_until_resolved(void **state)
{
	struct fixture *f = *state;
	struct cg_rec_report rep;
	struct cg_cell c;
	uint32_t id;

	/* a new cell, never in the map */
	reload(f, "region: r1\ninterfaces: [eth0]\nsource: {ipv4: 198.18.0.1}\n"
		     "regions: [{name: r1, cost: 0}]\n"
		     "cells:\n"
		     "  - {name: a, region: r1, gateway: 198.18.1.10, encap: gue}\n"
		     "  - {name: d, region: r1, gateway: 198.18.1.13, encap: gue}\n"
		     "services:\n"
		     "  - {name: web, vip: 203.0.113.10, port: 80, protocol: tcp, table_size: 251,"
		     " cells: [a, d]}\n");
	id = id_of(f, "d");
	f->unresolved[id] = true;
	apply(f, &rep);
	assert_int_equal(rep.unready, 1);
	assert_string_equal(rep.first_unready, "d");
	assert_int_equal(cg_dp_cell_get(f->dp, id, &c), 0);
	assert_int_equal(c.state, CG_CELL_DOWN);
	assert_int_equal(slots_of(f, "web", "d"), 0);

	f->unresolved[id] = false;
	apply(f, &rep);
	assert_int_equal(rep.unready, 0);
	assert_int_equal(cg_dp_cell_get(f->dp, id, &c), 0);
	assert_int_equal(c.state, CG_CELL_ACTIVE);
	assert_true(slots_of(f, "web", "d") > 0);

	/* once known, a lost resolution keeps the MAC the map has: fail-static */
	f->unresolved[id] = true;
	apply(f, &rep);
	assert_int_equal(cg_rec_writes(&rep), 0);
	assert_true(slots_of(f, "web", "d") > 0);
	f->unresolved[id] = false;
}

/* Removed services and cells leave the maps; the rest is untouched. */
static void test_reconcile_removals_clear_keys_tables_and_cells(void **state)
{
	struct fixture *f = *state;
	struct cg_rec_report rep;
	struct cg_cell c;
	size_t n = 0;
	uint32_t b_id, dns_id;

	reload(f, base_cfg);
	apply(f, &rep);
	b_id = id_of(f, "b");
	dns_id = cg_state_find_service(&f->st, "dns2")->id;

	reload(f, "region: r1\ninterfaces: [eth0]\nsource: {ipv4: 198.18.0.1, ipv6: \"2001:db8::1\"}\n"
		     "conntrack: 4096\n"
		     "regions: [{name: r1, cost: 0}, {name: r2, cost: 10}]\n"
		     "cells:\n"
		     "  - {name: a, region: r1, gateway: 198.18.1.10, encap: gue}\n"
		     "  - {name: c, region: r2, gateway: \"2001:db8:2::10\", encap: ipip}\n"
		     "services:\n"
		     "  - {name: web, vip: 203.0.113.10, port: 80, protocol: tcp, table_size: 251,"
		     " cells: [a, c]}\n"
		     "  - {name: dns, vip: 203.0.113.10, port: 53, protocol: udp, table_size: 13,"
		     " cells: [a]}\n");
	apply(f, &rep);
	assert_int_equal(rep.keys_del, 1);   /* dns2 */
	assert_int_equal(rep.tables_del, 1); /* dns2's */
	assert_int_equal(rep.tables, 1);     /* web without b */
	assert_int_equal(rep.cells, 1);      /* b cleared */
	assert_int_equal(cg_dp_cell_get(f->dp, b_id, &c), 0);
	assert_int_equal(c.state, CG_CELL_UNUSED);
	assert_int_equal(cg_dp_table_read(f->dp, dns_id, NULL, 0, &(uint32_t){ 0 }), -ENOENT);
	assert_int_equal(cg_dp_service_list(f->dp, NULL, NULL, 0, &n), -ENOSPC);
	assert_int_equal(n, 4); /* web, dns and their aliases */
}

/* A restarted controller reads the maps back and has nothing to write. */
static void test_reconcile_adoption_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct cg_rec_report rep;

	apply(f, &rep);
	cg_rec_free(f->rec);
	f->rec = cg_rec_new(f->dp);
	assert_non_null(f->rec);
	apply(f, &rep);
	assert_int_equal(cg_rec_writes(&rep), 0);
}


static const char shed_cfg[] =
	"region: r1\n"
	"interfaces: [eth0]\n"
	"source: {ipv4: 198.18.0.1, ipv6: \"2001:db8::1\"}\n"
	"conntrack: 4096\n"
	"regions: [{name: r1, cost: 0}, {name: r2, cost: 10}]\n"
	"cells:\n"
	"  - {name: a, region: r1, gateway: 198.18.1.10, encap: gue}\n"
	"  - {name: c, region: r2, gateway: \"2001:db8:2::10\", encap: ipip}\n"
	"classes:\n"
	"  - {name: critical, id: 0, protected: true}\n"
	"  - {name: high, id: 1}\n"
	"  - {name: normal, id: 2}\n"
	"  - {name: sheddable, id: 3, new_flows_per_sec: 1001, packets_per_sec: 4000, burst: 101}\n"
	"class_rules:\n"
	"  - {prefix: 198.18.11.0/24, class: critical}\n"
	"  - {prefix: \"2001:db8:0:11::/64\", class: high}\n"
	"  - {dscp: 46, class: high}\n"
	"guard: {ipv4_prefix: 24, ipv6_prefix: 56, new_flows_per_sec: 50, burst: 80}\n"
	"services:\n"
	"  - {name: web, vip: 203.0.113.10, port: 80, protocol: tcp, table_size: 251,"
	" default_class: 3, cells: [a, c]}\n"
	"shed:\n"
	"  - {cell: a, class: sheddable, level: 0.5, expires: 0, by: ops, reason: test}\n"
	"  - {cell: \"*\", class: normal, level: 0.2, hard: true, expires: 4000000000, by: ops,"
	" reason: test}\n";

/* Classes, rules, the guard and levels reach the maps; once; expiry and the controller too. */
static void test_reconcile_shedding_reaches_the_maps(void **state)
{
	struct fixture *f = *state;
	int ncpus = libbpf_num_possible_cpus();
	struct cg_class_prefix p[8];
	struct cg_class_rule r[8];
	struct cg_rec_report rep;
	struct cg_dscp_rule d;
	struct cg_config cfg;
	struct cg_class c;
	struct cg_shed sh;
	uint32_t a, cc;
	size_t n = 0;

	reload(f, shed_cfg);
	apply(f, &rep);
	a = id_of(f, "a");
	cc = id_of(f, "c");
	assert_true(rep.shed >= 3 && rep.classes == 1 && rep.rules == 3);

	/* ceilings: each CPU gets its share, rounded up */
	assert_int_equal(cg_dp_class_get(f->dp, 3, &c), 0);
	assert_int_equal(c.flow_rate, (1001 + ncpus - 1) / ncpus);
	assert_int_equal(c.pkt_rate, (4000 + ncpus - 1) / ncpus);
	assert_int_equal(c.flow_burst, (101 + ncpus - 1) / ncpus);
	/* rules */
	assert_int_equal(cg_dp_class_rule_list(f->dp, p, r, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(cg_dp_dscp_get(f->dp, 46, &d), 0);
	assert_int_equal(d.class, 1);
	assert_int_equal(d.flags, CG_DSCP_F_SET);
	/* levels: a/sheddable soft only; "*"/normal hard on every cell */
	assert_int_equal(cg_dp_shed_get(f->dp, a, 3, &sh), 0);
	assert_int_equal(sh.soft, cg_dp_shed_threshold(500000));
	assert_int_equal(sh.hard, 0);
	assert_int_equal(cg_dp_shed_get(f->dp, cc, 2, &sh), 0);
	assert_int_equal(sh.soft, cg_dp_shed_threshold(200000));
	assert_int_equal(sh.hard, cg_dp_shed_threshold(200000));
	assert_int_equal(cg_dp_shed_get(f->dp, cc, 3, &sh), 0);
	assert_int_equal(sh.soft, 0);
	/* settings: both flags, the guard */
	assert_int_equal(cg_dp_config_get(f->dp, &cfg), 0);
	assert_int_equal(cfg.flags, CG_CFG_F_HARD | CG_CFG_F_PPS);
	assert_int_equal(cfg.guard_rate, 50);
	assert_int_equal(cfg.guard_burst, 80);
	assert_int_equal(cfg.guard_prefix6, 56);
	assert_int_equal(rep.next_expiry, 4000000000LL);

	apply(f, &rep);
	assert_int_equal(cg_rec_writes(&rep), 0);

	/* past its expiry the "*" level goes, and with it the hard flag */
	cg_rec_set_now(f->rec, 4000000000LL);
	apply(f, &rep);
	assert_int_equal(rep.shed, 2);
	assert_int_equal(cg_dp_shed_get(f->dp, cc, 2, &sh), 0);
	assert_int_equal(sh.soft, 0);
	assert_int_equal(cg_dp_config_get(f->dp, &cfg), 0);
	assert_int_equal(cfg.flags, CG_CFG_F_PPS);

	/* the controller: never on the protected class; an operator level wins over it */
	{
		const struct cg_shed_level ctl[] = {
			{ .cell = a, .class = 0, .level_ppm = 900000 },
			{ .cell = a, .class = 3, .level_ppm = 900000 },
			{ .cell = cc, .class = 1, .level_ppm = 300000 },
		};

		cg_rec_set_controller(f->rec, ctl, 3);
		apply(f, &rep);
		cg_rec_set_controller(f->rec, NULL, 0);
	}
	assert_int_equal(cg_dp_shed_get(f->dp, a, 0, &sh), 0);
	assert_int_equal(sh.soft, 0);
	assert_int_equal(cg_dp_shed_get(f->dp, a, 3, &sh), 0);
	assert_int_equal(sh.soft, cg_dp_shed_threshold(500000));
	assert_int_equal(cg_dp_shed_get(f->dp, cc, 1, &sh), 0);
	assert_int_equal(sh.soft, cg_dp_shed_threshold(300000));
	assert_int_equal(cg_rec_shed(f->rec)[cc * CG_MAX_CLASSES + 1].source, CG_SHED_CONTROLLER);
	cg_rec_set_now(f->rec, 0);

	/* rules removed with the config */
	reload(f, base_cfg);
	apply(f, &rep);
	assert_int_equal(rep.rules_del, 2);
	assert_int_equal(cg_dp_class_rule_list(f->dp, p, r, 8, &n), 0);
	assert_int_equal(n, 0);
}

/* A threshold gives back the level it was made from, for every level. */
static void test_reconcile_shed_threshold_round_trip(void **unused)
{
	(void)unused;
	for (uint32_t ppm = 0; ppm <= 1000000; ppm++)
		if (cg_dp_shed_ppm(cg_dp_shed_threshold(ppm)) != ppm)
			fail_msg("ppm %u -> threshold %u -> %u", ppm, cg_dp_shed_threshold(ppm),
				 cg_dp_shed_ppm(cg_dp_shed_threshold(ppm)));
	assert_int_equal(cg_dp_shed_ppm(CG_SHED_ALL), 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reconcile_first_apply_writes_everything_second_nothing),
		cmocka_unit_test(test_reconcile_shed_threshold_round_trip),
		cmocka_unit_test(test_reconcile_fragment_alias_owned_by_lowest_port),
		cmocka_unit_test(test_reconcile_drain_rewrites_one_cell_and_its_tables),
		cmocka_unit_test(test_reconcile_weight_change_swaps_table_only),
		cmocka_unit_test(test_reconcile_overlay_caps_and_weights),
		cmocka_unit_test(test_reconcile_weight_hook_is_per_service),
		cmocka_unit_test(test_reconcile_unresolved_cell_stays_out_until_resolved),
		cmocka_unit_test(test_reconcile_removals_clear_keys_tables_and_cells),
		cmocka_unit_test(test_reconcile_adoption_writes_nothing),
		cmocka_unit_test(test_reconcile_shedding_reaches_the_maps),
	};

	return cg_test_run_group(tests, setup, teardown,
				 geteuid() != 0 ? "needs root (BPF maps)" : NULL);
}
