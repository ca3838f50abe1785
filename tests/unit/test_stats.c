/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_stats.c - unit tests of the stats snapshot layer on a virtual clock */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_link.h>
#include <netinet/in.h>

#include <bpf/libbpf.h>

#include <cmocka.h>

#include "cellgate/stats.h"
#include "cellgate/view.h"
#include "pkt.h"
#include "testrun.h"

#define SEC 1000000000ULL

static void test_delta_rate(void **state)
{
	struct cg_stats_snap *a = cg_stats_new(), *b = cg_stats_new(), *d = cg_stats_new();

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(d);
	a->t_ns = 5 * SEC;
	b->t_ns = 7 * SEC;
	a->stats[0].packets = 100;
	b->stats[0].packets = 300;
	a->svc[3].bytes = 1000;
	b->svc[3].bytes = 5000;
	a->cell[CG_MAX_CELLS - 1][CG_MAX_CLASSES - 1].guard = 1;
	b->cell[CG_MAX_CELLS - 1][CG_MAX_CLASSES - 1].guard = 9;
	b->conn_entries = 42;
	cg_stats_delta(a, b, d);
	assert_int_equal(d->t_ns, 2 * SEC);
	assert_int_equal(d->stats[0].packets, 200);
	assert_int_equal(d->svc[3].bytes, 4000);
	assert_int_equal(d->cell[CG_MAX_CELLS - 1][CG_MAX_CLASSES - 1].guard, 8);
	assert_int_equal(d->conn_entries, 42);
	assert_true(cg_stats_rate(d->stats[0].packets, d->t_ns) == 100.0);
	assert_true(cg_stats_rate(d->svc[3].bytes, d->t_ns) == 2000.0);
	cg_stats_free(a);
	cg_stats_free(b);
	cg_stats_free(d);
}

static void test_reset_and_zero_dt(void **state)
{
	struct cg_stats_snap *a = cg_stats_new(), *b = cg_stats_new(), *d = cg_stats_new();

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(d);
	a->t_ns = b->t_ns = 3 * SEC;
	a->stats[1].packets = 1000; /* then a teardown: the counter starts again */
	b->stats[1].packets = 10;
	a->cell[2][0].packets = 7;
	cg_stats_delta(a, b, d);
	assert_int_equal(d->stats[1].packets, 0);
	assert_int_equal(d->cell[2][0].packets, 0);
	assert_int_equal(d->t_ns, 0);
	assert_true(cg_stats_rate(500, 0) == 0.0);
	/* a clock that went back is a zero interval, not a huge one */
	a->t_ns = 4 * SEC;
	cg_stats_delta(a, b, d);
	assert_int_equal(d->t_ns, 0);
	cg_stats_free(a);
	cg_stats_free(b);
	cg_stats_free(d);
}

static void test_cell_sum(void **state)
{
	struct cg_stats_snap *s = cg_stats_new();
	struct cg_cell_stats sum;
	uint32_t class;

	(void)state;
	assert_non_null(s);
	for (class = 0; class < CG_MAX_CLASSES; class ++)
		s->cell[5][class].packets = class + 1;
	cg_stats_cell_sum(s, 5, &sum);
	assert_int_equal(sum.packets, CG_MAX_CLASSES * (CG_MAX_CLASSES + 1) / 2);
	cg_stats_cell_sum(s, CG_MAX_CELLS, &sum);
	assert_int_equal(sum.packets, 0);
	assert_int_equal(cg_stats_read(NULL, s, 9), -EINVAL);
	assert_int_equal(s->t_ns, 9);
	cg_stats_free(s);
}

/* The names the JSON tests key their services and cells by, at ids out of order. */
static struct cg_service_cfg test_svcs[] = { { .name = "web", .id = 5 }, { .name = "dns", .id = 2 } };
static struct cg_cell_cfg test_cells[] = { { .name = "use1-a", .id = 7 },
					   { .name = "euw1-a", .id = 0 } };
static const struct cg_state test_st = {
	.nservices = 2, .services = test_svcs, .ncells = 2, .cells = test_cells
};

/* A snapshot of test_st with every counter it shows set, no two alike. */
static void fill(struct cg_stats_snap *s)
{
	uint64_t *w, v = 1;
	size_t i, k;

	s->t_ns = 12345 * SEC + 678;
	for (i = 0; i < CG_STAT_MAX; i++) {
		s->stats[i].packets = v++;
		s->stats[i].bytes = v++;
	}
	for (k = 0; k < 2; k++) {
		w = (uint64_t *)&s->svc[test_svcs[k].id];
		for (i = 0; i < sizeof(s->svc[0]) / sizeof(uint64_t); i++)
			w[i] = 1000 * (k + 1) + v++;
		/* the JSON sums the classes: only class 0 comes back as it was */
		w = (uint64_t *)&s->cell[test_cells[k].id][0];
		for (i = 0; i < sizeof(s->cell[0][0]) / sizeof(uint64_t); i++)
			w[i] = 100000 * (k + 1) + v++;
	}
	s->svc[2].retries = UINT64_MAX - 1; /* above INT64_MAX: written negative, read back */
	s->conn_entries = 1752;
	s->conn_capacity = 1048576;
}

/* doc through its text form (as on the wire), rebuilt into out with names. */
static int from_text(const json_t *doc, struct cg_stats_names *names, struct cg_stats_snap *out,
		     char *err, size_t errlen)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	json_t *back;
	int ret;

	assert_non_null(text);
	back = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(back);
	ret = cg_stats_from_json(back, names, out, err, errlen);
	json_decref(back);
	return ret;
}

static void test_json_round_trip(void **state)
{
	struct cg_stats_snap *a = cg_stats_new(), *b = cg_stats_new();
	struct cg_stats_names *names = malloc(sizeof(*names));
	char err[256] = "";
	json_t *doc;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(names);
	fill(a);
	doc = cg_view_stats_snap(&test_st, a);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "t_ns")), 12345 * SEC + 678);
	/* seeded from the state: slots are the ids, and the snapshot comes back whole */
	cg_stats_names_init(names, &test_st);
	assert_int_equal(from_text(doc, names, b, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(b->svc[2].retries, UINT64_MAX - 1);
	assert_memory_equal(a, b, sizeof(*a));
	/* empty: names take slots in the document's order, the values follow them */
	cg_stats_names_init(names, NULL);
	assert_int_equal(from_text(doc, names, b, err, sizeof(err)), 0);
	assert_int_equal(cg_stats_slot(names, CG_STATS_SERVICE, "web"), 0);
	assert_int_equal(cg_stats_slot(names, CG_STATS_SERVICE, "dns"), 1);
	assert_int_equal(cg_stats_slot(names, CG_STATS_CELL, "euw1-a"), 1);
	assert_int_equal(cg_stats_slot(names, CG_STATS_SERVICE, "nope"), -1);
	assert_int_equal(cg_stats_slot(names, CG_STATS_REASON, "fwd"), CG_STAT_FWD);
	assert_memory_equal(&b->svc[0], &a->svc[5], sizeof(b->svc[0]));
	assert_memory_equal(&b->svc[1], &a->svc[2], sizeof(b->svc[0]));
	assert_memory_equal(&b->cell[0][0], &a->cell[7][0], sizeof(b->cell[0][0]));
	assert_memory_equal(&b->cell[1][0], &a->cell[0][0], sizeof(b->cell[0][0]));
	assert_memory_equal(b->stats, a->stats, sizeof(a->stats));
	assert_int_equal(b->t_ns, a->t_ns);
	assert_int_equal(b->conn_capacity, 1048576);
	/* the fallback marks its result; unknown members are ignored */
	json_object_set_new(doc, "source", json_string("pinned"));
	assert_int_equal(from_text(doc, names, b, err, sizeof(err)), 0);
	json_decref(doc);
	cg_stats_free(a);
	cg_stats_free(b);
	free(names);
}

/* by class: each class's counters summed over every cell of the state, keyed by class name */
static void test_json_by_class(void **state)
{
	struct cg_stats_snap *s = cg_stats_new();
	struct cg_state st = test_st;
	json_t *doc, *cl;

	(void)state;
	assert_non_null(s);
	st.nclasses = 2;
	strcpy(st.classes[0].name, "critical");
	st.classes[0].id = 0;
	strcpy(st.classes[1].name, "sheddable");
	st.classes[1].id = 3;
	s->cell[7][0].new_flows = 10;
	s->cell[0][0].new_flows = 5;
	s->cell[7][3].shed = 40;
	s->cell[0][3].shed = 2;
	s->cell[0][3].new_flows = 1;
	s->cell[9][3].shed = 1000; /* a cell the state does not have: not counted */
	s->cell[7][2].new_flows = 77; /* a class the state does not have: not shown */
	doc = cg_view_stats_snap(&st, s);
	assert_non_null(doc);
	cl = json_object_get(doc, "classes");
	assert_int_equal(json_object_size(cl), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(cl, "critical"),
							    "new_flows")),
			 15);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(cl, "critical"), "shed")),
			 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(cl, "sheddable"),
							    "shed")),
			 42);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(cl, "sheddable"),
							    "new_flows")),
			 1);
	/* and per cell: each of the state's classes, the cell's own share */
	cl = json_object_get(json_object_get(json_object_get(doc, "cells"), test_st.cells[0].name),
			     "classes");
	assert_int_equal(json_object_size(cl), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(cl, "sheddable"),
							    "shed")),
			 s->cell[test_st.cells[0].id][3].shed);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(cl, "critical"),
							    "new_flows")),
			 s->cell[test_st.cells[0].id][0].new_flows);
	json_decref(doc);
	cg_stats_free(s);
}

/* cg_stats_from_json of doc must fail with -EINVAL and the message want. */
static void expect_bad(json_t *doc, const char *want)
{
	struct cg_stats_snap *s = cg_stats_new();
	struct cg_stats_names *names = malloc(sizeof(*names));
	char err[256] = "";

	assert_non_null(s);
	assert_non_null(names);
	cg_stats_names_init(names, NULL);
	assert_int_equal(cg_stats_from_json(doc, names, s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	cg_stats_free(s);
	free(names);
}

/* The JSON of a filled snapshot of test_st. */
static json_t *good_doc(void)
{
	struct cg_stats_snap *s = cg_stats_new();
	json_t *doc;

	assert_non_null(s);
	fill(s);
	doc = cg_view_stats_snap(&test_st, s);
	assert_non_null(doc);
	cg_stats_free(s);
	return doc;
}

static void test_json_missing_field(void **state)
{
	json_t *doc;

	(void)state;
	doc = good_doc();
	json_object_del(doc, "t_ns");
	expect_bad(doc, "bad stats: missing 't_ns'");
	json_decref(doc);

	doc = good_doc();
	json_object_del(json_object_get(json_object_get(doc, "services"), "dns"), "packets");
	expect_bad(doc, "bad stats: missing 'services.dns.packets'");
	json_decref(doc);

	doc = good_doc();
	json_object_del(json_object_get(doc, "counters"), "fwd");
	expect_bad(doc, "bad stats: missing 'counters.fwd'");
	json_decref(doc);

	doc = good_doc();
	json_object_del(doc, "conntrack");
	expect_bad(doc, "bad stats: missing 'conntrack'");
	json_decref(doc);

	/* counters the daemon could not read are {}: all 0, not an error */
	doc = good_doc();
	json_object_set_new(doc, "counters", json_object());
	{
		struct cg_stats_snap *s = cg_stats_new();
		struct cg_stats_names *names = malloc(sizeof(*names));
		char err[256] = "";

		assert_non_null(s);
		assert_non_null(names);
		cg_stats_names_init(names, NULL);
		assert_int_equal(cg_stats_from_json(doc, names, s, err, sizeof(err)), 0);
		assert_int_equal(s->stats[CG_STAT_FWD].packets, 0);
		cg_stats_free(s);
		free(names);
	}
	json_decref(doc);
}

static void test_json_wrong_type(void **state)
{
	json_t *doc;

	(void)state;
	doc = json_array();
	expect_bad(doc, "bad stats: not an object");
	json_decref(doc);

	doc = good_doc();
	json_object_set_new(json_object_get(json_object_get(doc, "cells"), "use1-a"), "drops",
			    json_string("7"));
	expect_bad(doc, "bad stats: 'cells.use1-a.drops' is not an integer");
	json_decref(doc);

	doc = good_doc();
	json_object_set_new(doc, "t_ns", json_real(1.5));
	expect_bad(doc, "bad stats: 't_ns' is not an integer");
	json_decref(doc);

	doc = good_doc();
	json_object_set_new(doc, "services", json_array());
	expect_bad(doc, "bad stats: 'services' is not an object");
	json_decref(doc);

	doc = good_doc();
	json_object_set_new(json_object_get(doc, "services"), "web", json_integer(3));
	expect_bad(doc, "bad stats: 'services.web' is not an object");
	json_decref(doc);

	doc = good_doc();
	json_object_set_new(json_object_get(doc, "counters"), "fwd_typo",
			    json_pack("{s:I, s:I}", "packets", (json_int_t)1, "bytes", (json_int_t)1));
	expect_bad(doc, "bad stats: unknown reason 'counters.fwd_typo'");
	json_decref(doc);
}

/* Two readings as cellctl gets them: the delta and the rates are over their own t_ns. */
static void test_json_delta_rate(void **state)
{
	struct cg_stats_snap *a = cg_stats_new(), *b = cg_stats_new(), *d = cg_stats_new();
	struct cg_stats_names *names = malloc(sizeof(*names));
	json_t *doc1, *doc2, *dns1, *dns2;
	char err[256] = "";
	int dns, web;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(d);
	assert_non_null(names);
	doc1 = good_doc();
	doc2 = good_doc();
	json_object_set_new(doc1, "t_ns", json_integer(10 * SEC));
	json_object_set_new(doc2, "t_ns", json_integer(10 * SEC + SEC / 4));
	dns1 = json_object_get(json_object_get(doc1, "services"), "dns");
	dns2 = json_object_get(json_object_get(doc2, "services"), "dns");
	json_object_set_new(dns1, "packets", json_integer(1000));
	json_object_set_new(dns2, "packets", json_integer(1500));
	/* a counter that went down (cellgated restarted, maps made anew) */
	json_object_set_new(dns1, "bytes", json_integer(90000));
	json_object_set_new(dns2, "bytes", json_integer(400));
	/* the second reading names the services in another order: slots stay */
	json_object_del(json_object_get(doc2, "services"), "web");
	json_object_set_new(json_object_get(doc2, "services"), "web",
			    json_deep_copy(json_object_get(json_object_get(doc1, "services"), "web")));
	cg_stats_names_init(names, NULL);
	assert_int_equal(cg_stats_from_json(doc1, names, a, err, sizeof(err)), 0);
	assert_int_equal(cg_stats_from_json(doc2, names, b, err, sizeof(err)), 0);
	dns = cg_stats_slot(names, CG_STATS_SERVICE, "dns");
	web = cg_stats_slot(names, CG_STATS_SERVICE, "web");
	assert_true(dns >= 0 && web >= 0 && dns != web);
	cg_stats_delta(a, b, d);
	assert_int_equal(d->t_ns, SEC / 4);
	assert_int_equal(d->svc[dns].packets, 500);
	assert_int_equal(d->svc[dns].bytes, 0);
	assert_int_equal(d->svc[web].packets, 0);
	assert_true(cg_stats_rate(d->svc[dns].packets, d->t_ns) == 2000.0);
	assert_true(cg_stats_rate(d->svc[dns].bytes, d->t_ns) == 0.0);
	json_decref(doc1);
	json_decref(doc2);
	cg_stats_free(a);
	cg_stats_free(b);
	cg_stats_free(d);
	free(names);
}

/* Real kernel (root): packets to no service count in the snapshot and its delta. */
static void test_kernel_counts_packets(void **state)
{
	struct cg_dp_opts o = { .conntrack_size = 1024 * (uint32_t)libbpf_num_possible_cpus() };
	struct tpkt p = { .family = 4,
			  .src = "192.0.2.1",
			  .dst = "198.51.100.9",
			  .proto = IPPROTO_UDP,
			  .sport = 1000,
			  .dport = 53 };
	struct cg_stats_snap *a = NULL, *b = NULL, *d = NULL;
	uint8_t frame[256], out[512];
	struct cg_state st;
	struct timespec t0, t1;
	struct cg_dp *dp;
	size_t len, out_len;
	uint32_t verdict;
	int i;

	(void)state;
	if (geteuid() != 0)
		skip();
	dp = cg_dp_open(&o);
	assert_non_null(dp);
	a = cg_stats_new();
	b = cg_stats_new();
	d = cg_stats_new();
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(d);
	len = tpkt_build(&p, frame, sizeof(frame));
	assert_true(len > 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(cg_stats_read(dp, a, 1 * SEC), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("cg_stats_read: %.1f ms\n", (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
							  (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	for (i = 0; i < 10; i++) {
		assert_int_equal(trun_xdp(cg_dp_prog_fd(dp), frame, len, out, sizeof(out), &out_len,
					  &verdict),
				 0);
		assert_int_equal(verdict, XDP_PASS);
	}
	assert_int_equal(cg_stats_read(dp, b, 3 * SEC), 0);
	assert_int_equal(b->stats[CG_STAT_PASS_NO_SERVICE].packets, 10);
	assert_int_equal(b->stats[CG_STAT_PASS_NO_SERVICE].bytes, 10 * len);
	cg_stats_delta(a, b, d);
	assert_int_equal(d->t_ns, 2 * SEC);
	assert_int_equal(d->stats[CG_STAT_PASS_NO_SERVICE].packets, 10);
	assert_true(cg_stats_rate(d->stats[CG_STAT_PASS_NO_SERVICE].packets, d->t_ns) == 5.0);
	assert_int_equal(d->stats[CG_STAT_FWD].packets, 0);
	/* the read of a scrape (only the state's objects): the same global counters and table */
	cg_state_init(&st);
	assert_int_equal(cg_stats_read_state(dp, &st, a, 4 * SEC), 0);
	assert_int_equal(a->t_ns, 4 * SEC);
	assert_memory_equal(a->stats, b->stats, sizeof(a->stats));
	assert_int_equal(a->conn_capacity, b->conn_capacity);
	assert_int_equal(a->conn_entries, b->conn_entries);
	assert_int_equal(cg_stats_read_state(NULL, &st, a, 5 * SEC), -EINVAL);
	cg_state_free(&st);
	cg_stats_free(a);
	cg_stats_free(b);
	cg_stats_free(d);
	cg_dp_close(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta_rate),
		cmocka_unit_test(test_reset_and_zero_dt),
		cmocka_unit_test(test_cell_sum),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_by_class),
		cmocka_unit_test(test_json_missing_field),
		cmocka_unit_test(test_json_wrong_type),
		cmocka_unit_test(test_json_delta_rate),
		cmocka_unit_test(test_kernel_counts_packets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
