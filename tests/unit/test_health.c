// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_health.c - health rise/fall, flapping, error text, jittered schedule, panic threshold */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cellgate/health.h"

static struct cg_health_cfg cfg22(void)
{
	struct cg_health_cfg c;

	cg_health_cfg_init(&c);
	c.rise = 2;
	c.fall = 3;
	return c;
}

static void test_health_defaults_are_valid(void **state)
{
	struct cg_health_cfg c;
	char err[160];

	cg_health_cfg_init(&c);
	assert_int_equal(c.interval_ms, 1000);
	assert_int_equal(c.timeout_ms, 500);
	assert_int_equal(c.jitter_ppm, 100000);
	assert_int_equal(c.rise, 3);
	assert_int_equal(c.fall, 2);
	assert_int_equal(c.panic_ppm, 500000);
	assert_int_equal(cg_health_cfg_check(&c, err, sizeof(err)), 0);
	c.timeout_ms = 901;
	assert_int_equal(cg_health_cfg_check(&c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "health timeout 901 ms is longer than the shortest gap between "
				 "probes (900 ms: interval 1000 ms less jitter 100 ms)");
	cg_health_cfg_init(&c);
	c.rise = 0;
	assert_int_equal(cg_health_cfg_check(&c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "health rise 0 is out of range 1..100");
}

static void test_health_unknown_needs_rise_successes(void **state)
{
	struct cg_health_cfg c = cfg22();
	struct cg_health_cell h;

	cg_health_cell_init(&h, 5);
	assert_int_equal(h.state, CG_HEALTH_UNKNOWN);
	assert_int_equal(h.changed_ms, 5);
	assert_int_equal(cg_health_result(&h, &c, true, NULL, 100, 10), 0);
	assert_int_equal(h.state, CG_HEALTH_UNKNOWN);
	assert_int_equal(cg_health_result(&h, &c, true, NULL, 120, 20), 1);
	assert_int_equal(h.state, CG_HEALTH_UP);
	assert_int_equal(h.prev_state, CG_HEALTH_UNKNOWN);
	assert_int_equal(h.changed_ms, 20);
	assert_int_equal(h.nchanges, 1);
	assert_int_equal(h.latency_us, 120);
	assert_int_equal(cg_health_result(&h, &c, true, NULL, 1, 30), 0);
	assert_int_equal(h.nchanges, 1);
}

static void test_health_unknown_needs_fall_failures(void **state)
{
	struct cg_health_cfg c = cfg22();
	struct cg_health_cell h;

	cg_health_cell_init(&h, 0);
	assert_int_equal(cg_health_result(&h, &c, false, "x", 0, 1), 0);
	assert_int_equal(cg_health_result(&h, &c, false, "x", 0, 2), 0);
	assert_int_equal(h.state, CG_HEALTH_UNKNOWN);
	assert_int_equal(cg_health_result(&h, &c, false, "x", 0, 3), 1);
	assert_int_equal(h.state, CG_HEALTH_DOWN);
	assert_int_equal(h.prev_state, CG_HEALTH_UNKNOWN);
	assert_int_equal(h.fail, 3);
}

static void test_health_up_goes_down_after_fall_and_back_after_rise(void **state)
{
	struct cg_health_cfg c = cfg22();
	struct cg_health_cell h;

	cg_health_cell_init(&h, 0);
	cg_health_result(&h, &c, true, NULL, 1, 1);
	cg_health_result(&h, &c, true, NULL, 1, 2);
	assert_int_equal(h.state, CG_HEALTH_UP);
	assert_int_equal(cg_health_result(&h, &c, false, "timeout after 500 ms", 500000, 3), 0);
	assert_int_equal(cg_health_result(&h, &c, false, "timeout after 500 ms", 500000, 4), 0);
	assert_int_equal(h.state, CG_HEALTH_UP);
	assert_int_equal(cg_health_result(&h, &c, false, "connect: Connection refused", 7, 5), 1);
	assert_int_equal(h.state, CG_HEALTH_DOWN);
	assert_int_equal(h.prev_state, CG_HEALTH_UP);
	assert_string_equal(h.err, "connect: Connection refused");
	assert_int_equal(h.err_ms, 5);
	assert_int_equal(cg_health_result(&h, &c, true, NULL, 1, 6), 0);
	assert_int_equal(h.state, CG_HEALTH_DOWN);
	assert_int_equal(cg_health_result(&h, &c, true, NULL, 1, 7), 1);
	assert_int_equal(h.state, CG_HEALTH_UP);
	assert_int_equal(h.prev_state, CG_HEALTH_DOWN);
	assert_int_equal(h.nchanges, 3);
	assert_true(h.last_ok);
	assert_string_equal(h.err, "connect: Connection refused"); /* kept for show */
}

static void test_health_flapping_never_changes_state(void **state)
{
	struct cg_health_cfg c = cfg22();
	struct cg_health_cell h;
	int i, start;

	for (start = 0; start < 3; start++) {
		cg_health_cell_init(&h, 0);
		if (start == 1) {
			cg_health_result(&h, &c, true, NULL, 1, 0);
			cg_health_result(&h, &c, true, NULL, 1, 0);
		} else if (start == 2) {
			for (i = 0; i < 3; i++)
				cg_health_result(&h, &c, false, "e", 1, 0);
		}
		uint8_t s = h.state;
		uint32_t n = h.nchanges;

		for (i = 0; i < 1000; i++)
			assert_int_equal(cg_health_result(&h, &c, i % 2, "e", 1, i), 0);
		assert_int_equal(h.state, s);
		assert_int_equal(h.nchanges, n);
	}
}

static void test_health_error_text_kept_and_bounded(void **state)
{
	struct cg_health_cfg c = cfg22();
	struct cg_health_cell h;
	char big[300];

	cg_health_cell_init(&h, 0);
	cg_health_result(&h, &c, false, "http status 503, expected 200", 1, 1);
	assert_string_equal(h.err, "http status 503, expected 200");
	cg_health_result(&h, &c, false, NULL, 1, 2);
	assert_string_equal(h.err, "probe failed");
	cg_health_result(&h, &c, false, "bad\nline\x1b[2J\xff", 1, 3);
	assert_string_equal(h.err, "bad?line?[2J?");
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	cg_health_result(&h, &c, false, big, 1, 4);
	assert_int_equal(strlen(h.err), CG_HEALTH_ERR_MAX - 1);
	/* a two-byte character that does not fit is left out whole */
	memset(big, 'a', CG_HEALTH_ERR_MAX - 2);
	strcpy(big + CG_HEALTH_ERR_MAX - 2, "\xc3\xa9zz");
	cg_health_result(&h, &c, false, big, 1, 5);
	assert_int_equal(strlen(h.err), CG_HEALTH_ERR_MAX - 2);
	assert_int_equal(cg_health_result(NULL, &c, true, NULL, 0, 0), -EINVAL);
}

static void test_health_jitter_stays_in_bounds_and_varies(void **state)
{
	struct cg_health_cfg c = cfg22();
	struct cg_health_rng r;
	struct cg_health_cell h;
	int64_t now = 1000, d, lo = INT64_MAX, hi = 0;
	int i, seen_lo_half = 0, seen_hi_half = 0;

	cg_health_rng_seed(&r, 42);
	cg_health_cell_init(&h, 0);
	cg_health_next_due(&h, &c, &r, now);
	for (i = 0; i < 10000; i++) {
		d = cg_health_next_due(&h, &c, &r, now) - now;
		assert_true(d >= 900 && d <= 1100);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		seen_lo_half += d < 1000;
		seen_hi_half += d > 1000;
		now += d;
	}
	assert_int_equal(lo, 900);
	assert_int_equal(hi, 1100);
	assert_true(seen_lo_half > 4000 && seen_hi_half > 4000);
	/* no jitter: exactly the interval, never zero */
	c.jitter_ppm = 0;
	assert_int_equal(cg_health_next_due(&h, &c, &r, 7) - 7, 1000);
}

static void test_health_first_probes_spread_over_interval(void **state)
{
	struct cg_health_cfg c = cfg22();
	struct cg_health_rng r;
	struct cg_health_cell h;
	int bucket[10] = { 0 }, i;
	int64_t d;

	cg_health_rng_seed(&r, 7);
	for (i = 0; i < 1000; i++) {
		cg_health_cell_init(&h, 0);
		d = cg_health_next_due(&h, &c, &r, 0);
		assert_true(d >= 1 && d <= 1000);
		bucket[(d - 1) / 100]++;
	}
	for (i = 0; i < 10; i++)
		assert_true(bucket[i] >= 50 && bucket[i] <= 150);
}

static void test_health_two_seeds_give_different_schedules(void **state)
{
	struct cg_health_cfg c = cfg22();
	struct cg_health_rng a, b;
	struct cg_health_cell ha, hb;
	int i, same = 0;

	cg_health_rng_seed(&a, 1);
	cg_health_rng_seed(&b, 2);
	for (i = 0; i < 100; i++) {
		cg_health_cell_init(&ha, 0);
		cg_health_cell_init(&hb, 0);
		same += cg_health_next_due(&ha, &c, &a, 0) == cg_health_next_due(&hb, &c, &b, 0);
	}
	assert_true(same < 5);
	/* the same seed gives the same schedule */
	cg_health_rng_seed(&a, 9);
	cg_health_rng_seed(&b, 9);
	for (i = 0; i < 100; i++)
		assert_int_equal(cg_health_rng_next(&a), cg_health_rng_next(&b));
}

/* 200 cells from two LBs over 60 s: no 10 ms window holds more than a few probe starts. */
static void test_health_no_synchronized_waves(void **state)
{
	enum { N = 100, LBS = 2, T = 60000, W = 10 };
	struct cg_health_cfg c = cfg22();
	static struct cg_health_cell h[LBS][N];
	static int win[T / W];
	struct cg_health_rng r[LBS];
	int l, i, max = 0, total = 0;
	int64_t t;

	memset(win, 0, sizeof(win));
	for (l = 0; l < LBS; l++) {
		cg_health_rng_seed(&r[l], 1000 + l);
		for (i = 0; i < N; i++) {
			cg_health_cell_init(&h[l][i], 0);
			cg_health_next_due(&h[l][i], &c, &r[l], 0);
		}
	}
	for (t = 0; t < T; t++)
		for (l = 0; l < LBS; l++)
			for (i = 0; i < N; i++)
				if (h[l][i].next_due_ms == t) {
					win[t / W]++;
					total++;
					cg_health_next_due(&h[l][i], &c, &r[l], t);
				}
	for (i = 0; i < T / W; i++)
		max = win[i] > max ? win[i] : max;
	/* 200 probes per second: 2 per 10 ms on average */
	assert_true(total >= 11800 && total <= 12200);
	assert_true(max <= 10);
}

static void mark(struct cg_health_cell *h, uint8_t st, bool last_ok, bool probed)
{
	cg_health_cell_init(h, 0);
	h->state = st;
	h->last_ok = last_ok;
	h->nprobes = probed;
}

static void test_health_panic_threshold(void **state)
{
	struct cg_health_cfg c = cfg22();
	struct cg_health_cell cells[12];
	int i;

	/* 10 probed, 2 unknown never probed */
	for (i = 0; i < 10; i++)
		mark(&cells[i], CG_HEALTH_UP, true, true);
	mark(&cells[10], CG_HEALTH_UNKNOWN, false, false);
	mark(&cells[11], CG_HEALTH_UNKNOWN, false, false);
	for (i = 0; i < 5; i++)
		mark(&cells[i], CG_HEALTH_DOWN, false, true);
	assert_false(cg_health_panic(cells, 12, &c)); /* exactly 50% */
	mark(&cells[5], CG_HEALTH_UP, false, true);   /* its last probe failed */
	assert_true(cg_health_panic(cells, 12, &c));  /* 60% */
	mark(&cells[5], CG_HEALTH_UP, true, true);
	mark(&cells[4], CG_HEALTH_UP, true, true);
	assert_false(cg_health_panic(cells, 12, &c)); /* 40% */
	/* an unknown cell with a failed result counts: 5 of 11 */
	mark(&cells[10], CG_HEALTH_UNKNOWN, false, true);
	assert_false(cg_health_panic(cells, 12, &c));
	mark(&cells[11], CG_HEALTH_UNKNOWN, false, true);
	assert_false(cg_health_panic(cells, 12, &c)); /* 6 of 12 is 50%: no */
	mark(&cells[9], CG_HEALTH_UP, false, true);
	assert_true(cg_health_panic(cells, 12, &c)); /* 7 of 12 */
	assert_false(cg_health_panic_counts(6, 12, 500000));
	assert_true(cg_health_panic_counts(7, 12, 500000));
	assert_false(cg_health_panic_counts(0, 0, 500000));
	assert_false(cg_health_panic_counts(10, 10, 1000000));
	assert_true(cg_health_panic_counts(1, 1, 999999));
	assert_false(cg_health_panic(cells, 0, &c));
}

static void test_health_names(void **state)
{
	assert_string_equal(cg_health_name(CG_HEALTH_UP), "up");
	assert_string_equal(cg_health_name(CG_HEALTH_DOWN), "down");
	assert_string_equal(cg_health_name(CG_HEALTH_UNKNOWN), "unknown");
	assert_string_equal(cg_health_name(77), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_defaults_are_valid),
		cmocka_unit_test(test_health_unknown_needs_rise_successes),
		cmocka_unit_test(test_health_unknown_needs_fall_failures),
		cmocka_unit_test(test_health_up_goes_down_after_fall_and_back_after_rise),
		cmocka_unit_test(test_health_flapping_never_changes_state),
		cmocka_unit_test(test_health_error_text_kept_and_bounded),
		cmocka_unit_test(test_health_jitter_stays_in_bounds_and_varies),
		cmocka_unit_test(test_health_first_probes_spread_over_interval),
		cmocka_unit_test(test_health_two_seeds_give_different_schedules),
		cmocka_unit_test(test_health_no_synchronized_waves),
		cmocka_unit_test(test_health_panic_threshold),
		cmocka_unit_test(test_health_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
