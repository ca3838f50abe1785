/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_stats.c - unit tests of the stats snapshot layer on a virtual clock */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_link.h>
#include <netinet/in.h>

#include <bpf/libbpf.h>

#include <cmocka.h>

#include "cellgate/stats.h"
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
		cmocka_unit_test(test_kernel_counts_packets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
