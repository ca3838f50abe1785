// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_locality.c - the locality policy on a virtual clock: spill before shed, nearest first, no flap */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tstate.h"

#include "cellgate/config.h"
#include "cellgate/failover.h"
#include "cellgate/locality.h"
#include "cellgate/shed.h"

/*
 * This LB is in r1. Local capacity 2 x 1000 new flows/s, at the default
 * target 0.8: 1600/s before any spill. r2 (cost 10) has 2 x 500 (800/s at
 * target), r3 (cost 50) 2 x 1000 (1600/s).
 */
#define HEAD                                                                                       \
	"region: r1\n"                                                                             \
	"interfaces: [eth0]\n"                                                                     \
	"source: {ipv4: 198.18.0.1}\n"                                                             \
	"regions:\n"                                                                               \
	"  - {name: r1, cost: 0}\n"                                                                \
	"  - {name: r2, cost: 10}\n"                                                               \
	"  - {name: r3, cost: 50}\n"
#define CELLS                                                                                      \
	"cells:\n"                                                                                 \
	"  - {name: a1, region: r1, gateway: 198.18.1.10, encap: gue, capacity: 1000}\n"           \
	"  - {name: a2, region: r1, gateway: 198.18.1.11, encap: gue, capacity: 1000}\n"           \
	"  - {name: b1, region: r2, gateway: 198.18.2.10, encap: gue, capacity: 500}\n"            \
	"  - {name: b2, region: r2, gateway: 198.18.2.11, encap: gue, capacity: 500}\n"            \
	"  - {name: c1, region: r3, gateway: 198.18.3.10, encap: gue, capacity: 1000}\n"           \
	"  - {name: c2, region: r3, gateway: 198.18.3.11, encap: gue, capacity: 1000,"             \
	" weight: 300}\n"
#define SVC(mode)                                                                                  \
	"services:\n"                                                                              \
	"  - {name: web, vip: 203.0.113.10, port: 80, protocol: tcp, locality: " mode ","          \
	" cells: [a1, a2, b1, b2, c1, c2]}\n"

static const char cfg_local[] = HEAD CELLS SVC("local-first");
static const char cfg_spread[] = HEAD CELLS SVC("spread");
/* sheddable (class 3) is not worth carrying beyond cost 20: r2 yes, r3 no */
static const char cfg_cost[] = HEAD
	"classes:\n"
	"  - {name: critical, id: 0, protected: true}\n"
	"  - {name: high, id: 1}\n"
	"  - {name: normal, id: 2}\n"
	"  - {name: sheddable, id: 3, max_spill_cost: 20}\n" CELLS SVC("local-first");
/* no class may leave r1 */
static const char cfg_stay[] = HEAD
	"classes:\n"
	"  - {name: critical, id: 0, protected: true, max_spill_cost: 5}\n"
	"  - {name: high, id: 1, max_spill_cost: 5}\n"
	"  - {name: normal, id: 2, max_spill_cost: 5}\n"
	"  - {name: sheddable, id: 3, max_spill_cost: 5}\n" CELLS SVC("local-first");

enum { A1, A2, B1, B2, C1, C2, NC };
#define PERIOD 1000 /* ms, the default */

/* the offered load's class mix, in percent: critical, high, normal, sheddable */
static const unsigned int mix[CG_MAX_CLASSES] = { 10, 20, 40, 30 };

struct fx {
	struct cg_state st;
	struct cg_loc *loc;
	struct cg_cell_overlay ov[CG_MAX_CELLS];
	uint32_t frac[3];
	uint32_t load[NC * CG_MAX_CLASSES];
	int64_t now;
	const uint32_t *fracp; /* NULL or frac */
};

static struct fx *fx_new(const char *cfg)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint32_t id = 0;

	assert_non_null(f);
	assert_int_equal(tstate_parse(&f->st, cfg), 0);
	for (size_t i = 0; i < f->st.ncells; i++)
		f->st.cells[i].id = id++; /* in name order: a1 a2 b1 b2 c1 c2 */
	f->loc = cg_loc_new();
	assert_non_null(f->loc);
	f->frac[0] = f->frac[1] = f->frac[2] = CG_PPM;
	return f;
}

static void fx_free(struct fx *f)
{
	cg_loc_free(f->loc);
	cg_state_free(&f->st);
	free(f);
}

static const struct cg_loc_svc *web(const struct fx *f)
{
	const struct cg_loc_svc *s = cg_loc_service(f->loc, "web");

	assert_non_null(s);
	return s;
}

/* Offer total new flows/s to web, spread over its cells by the published shares (closed loop). */
static void offer(struct fx *f, uint64_t total)
{
	const struct cg_loc_svc *s = cg_loc_service(f->loc, "web");

	uint64_t given = 0;

	memset(f->load, 0, sizeof(f->load));
	for (size_t k = 0; k < CG_MAX_CLASSES; k++) {
		uint64_t lk = k == CG_MAX_CLASSES - 1 ? total - given : total * mix[k] / 100, sum = 0;
		size_t most = 0;

		given += lk;
		for (size_t i = 0; i < NC; i++) {
			uint64_t share = s && s->active ? s->cells[i].share : CG_PPM / NC;

			f->load[i * CG_MAX_CLASSES + k] = (uint32_t)(lk * share / CG_PPM);
			sum += f->load[i * CG_MAX_CLASSES + k];
			if (share > (s && s->active ? s->cells[most].share : 0))
				most = i;
		}
		/* the rounding's remainder on the busiest cell: each class's total is exact */
		f->load[most * CG_MAX_CLASSES + k] += (uint32_t)(lk - sum);
	}
}

/* One period: offer total, step; returns what the step returned. */
static int tick(struct fx *f, uint64_t total)
{
	struct cg_loc_input in = { .st = &f->st,
				   .ov = f->ov,
				   .frac = f->fracp,
				   .load = f->load,
				   .now_ms = f->now };
	int ret;

	offer(f, total);
	ret = cg_loc_step(f->loc, &in);
	assert_true(ret >= 0);
	f->now += PERIOD;
	return ret;
}

static uint32_t region_share(const struct fx *f, int first)
{
	return web(f)->cells[first].share + web(f)->cells[first + 1].share;
}

/* ppm equality within a rounding margin */
#define assert_near(a, b, tol)                                                                     \
	assert_true((int64_t)(a) - (int64_t)(b) <= (tol) && (int64_t)(b) - (int64_t)(a) <= (tol))

static void test_locality_half_local_capacity_spills_nothing(void **unused)
{
	struct fx *f = fx_new(cfg_local);
	uint64_t shed[CG_MAX_CLASSES];

	(void)unused;
	for (int t = 0; t < 10; t++)
		tick(f, 1000);
	assert_true(web(f)->active);
	assert_int_equal(web(f)->spill, 0);
	assert_int_equal(web(f)->goal, 0);
	assert_int_equal(web(f)->cells[A1].share, 500000);
	assert_int_equal(web(f)->cells[A2].share, 500000);
	for (int i = B1; i < NC; i++) {
		assert_int_equal(web(f)->cells[i].share, 0);
		assert_int_equal(cg_loc_weight(f->loc, &f->st.services[0], &f->st.cells[i], 100), 0);
	}
	assert_true(cg_loc_weight(f->loc, &f->st.services[0], &f->st.cells[A1], 100) > 0);
	assert_false(cg_loc_left_to_shed(f->loc, shed));
	for (int k = 0; k < CG_MAX_CLASSES; k++)
		assert_int_equal(shed[k], 0);
	assert_int_equal(web(f)->changes, 1); /* the start, then nothing */
	fx_free(f);
}

static void test_locality_overflow_goes_to_the_nearest_region_first(void **unused)
{
	struct fx *f = fx_new(cfg_local);

	(void)unused;
	/* 1.2x local capacity: the 800/s over the local target fits in r2 (800/s spare) */
	for (int t = 0; t < 10; t++)
		tick(f, 2400);
	assert_near(web(f)->spill, 333333, 2);
	assert_near(region_share(f, A1), 666667, 2);
	assert_near(region_share(f, B1), 333333, 2);
	assert_int_equal(region_share(f, C1), 0);
	/* 1.5x: r2 is full at 800/s, the next 600/s go to r3 */
	for (int t = 0; t < 10; t++)
		tick(f, 3000);
	assert_near(web(f)->spill, 466667, 2);
	assert_near(region_share(f, A1), 533333, 2);
	assert_near(region_share(f, B1), 266667, 2);
	assert_near(region_share(f, C1), 200000, 2);
	/* by spare capacity in the tier (c2's weight 300 does not matter), and never over it */
	assert_near(web(f)->cells[C1].share, web(f)->cells[C2].share, 1);
	for (int i = 0; i < NC; i++)
		assert_true((uint64_t)web(f)->cells[i].share * 3000 / CG_PPM <=
			    web(f)->cells[i].avail + 1);
	assert_non_null(strstr(web(f)->why, "rise: spill"));
	assert_non_null(strstr(web(f)->why, "r2 (cost 10) 800/s, r3 (cost 50) 1600/s"));
	print_message("why: %s\n", web(f)->why);
	fx_free(f);

	/* r2 busy with others' flows (load reports): no spare there, r3 takes the overflow */
	uint32_t busy[NC] = { [B1] = 400, [B2] = 400 };
	struct cg_loc_input in;

	f = fx_new(cfg_local);
	for (int t = 0; t < 10; t++) {
		offer(f, 2400);
		in = (struct cg_loc_input){
			.st = &f->st, .load = f->load, .busy = busy, .now_ms = f->now
		};
		assert_true(cg_loc_step(f->loc, &in) >= 0);
		f->now += PERIOD;
	}
	assert_int_equal(region_share(f, B1), 0);
	assert_near(region_share(f, C1), 333333, 2);
	fx_free(f);
}

static void test_locality_rise_is_bounded_per_period(void **unused)
{
	struct fx *f = fx_new(cfg_local);
	uint32_t last = 0;

	(void)unused;
	tick(f, 1000);
	for (int t = 0; t < 6; t++) {
		tick(f, 4000); /* goal: 2400 of 4000 out = 0.6 */
		assert_true(web(f)->spill - last <= f->st.locality.rise_ppm);
		last = web(f)->spill;
	}
	assert_near(web(f)->spill, 600000, 2);
	fx_free(f);
}

static void test_locality_class_not_spilled_beyond_its_max_spill_cost(void **unused)
{
	struct fx *f = fx_new(cfg_cost);
	uint64_t shed[CG_MAX_CLASSES];

	(void)unused;
	for (int t = 0; t < 10; t++)
		tick(f, 3000);
	/* r2 (cost 10) carries every class; r3 (cost 50) not the sheddable one */
	assert_int_equal(web(f)->cells[B1].no_carry, 0);
	assert_int_equal(web(f)->cells[C1].no_carry, 1U << 3);
	assert_int_equal(web(f)->cells[C2].no_carry, 1U << 3);
	assert_int_equal(web(f)->cells[A1].no_carry, 0);
	/* r3 gets the 600/s r2 cannot take; their sheddable 30% is the shedder's, not r3's */
	assert_near(region_share(f, C1), 200000, 2);
	assert_near(web(f)->shed_cost[3], 180, 1);
	assert_int_equal(web(f)->shed_cost[2], 0);
	assert_false(cg_loc_left_to_shed(f->loc, shed));
	assert_near(shed[3], 180, 1);
	fx_free(f);

	/* no class may leave r1: nothing spills, the excess over target is shed lowest first */
	f = fx_new(cfg_stay);
	for (int t = 0; t < 10; t++)
		tick(f, 3000);
	assert_int_equal(web(f)->spill, 0);
	assert_int_equal(region_share(f, B1) + region_share(f, C1), 0);
	assert_int_equal(web(f)->shed[3], 900); /* all of sheddable */
	assert_int_equal(web(f)->shed[2], 500); /* then normal: 1400/s over the local target */
	assert_int_equal(web(f)->shed[1], 0);
	assert_false(web(f)->short_of);
	fx_free(f);
}

static void test_locality_no_reachable_capacity_is_left_to_shed(void **unused)
{
	struct fx *f = fx_new(cfg_local);
	uint64_t shed[CG_MAX_CLASSES];

	(void)unused;
	/* 6000/s: 1600 local + 800 r2 + 1600 r3 at target, 2000/s left: sheddable 1800, normal 200 */
	for (int t = 0; t < 10; t++)
		tick(f, 6000);
	assert_near(web(f)->spill, 400000, 2);
	assert_false(cg_loc_left_to_shed(f->loc, shed));
	assert_near(shed[3], 1800, 1);
	assert_near(shed[2], 200, 1);
	assert_int_equal(shed[0], 0);
	/* 50000/s: 46000/s over, more than every unprotected class (45000/s) */
	for (int t = 0; t < 10; t++)
		tick(f, 50000);
	assert_true(cg_loc_left_to_shed(f->loc, shed));
	assert_int_equal(shed[0], 0); /* protected: never */
	fx_free(f);
}

static void test_locality_spill_is_withdrawn_slowly_in_few_changes(void **unused)
{
	struct fx *f = fx_new(cfg_local);
	uint64_t before;
	uint32_t last;
	int t;

	(void)unused;
	for (t = 0; t < 10; t++)
		tick(f, 3000);
	before = web(f)->changes;
	last = web(f)->spill;
	for (t = 0; t < 60 && web(f)->spill; t++) {
		tick(f, 1000);
		/* never faster than withdraw a period, republished in steps of about step */
		assert_true(web(f)->spill <= last);
		assert_true(last - web(f)->spill <= f->st.locality.step_ppm +
							   f->st.locality.withdraw_ppm);
		/* withdrawn, or moved nearer: r2 has room for what r3 carried */
		if (web(f)->spill != last && !strstr(web(f)->why, "withdraw: spill") &&
		    !strstr(web(f)->why, "shares moved: spill"))
			fail_msg("%s", web(f)->why);
		last = web(f)->spill;
	}
	assert_int_equal(web(f)->spill, 0);
	/* 0.467 at 0.02 a period: 24 periods, republished every 3rd (0.06 > step 0.05) */
	assert_true(t >= 23 && t <= 25);
	assert_true(web(f)->changes - before <= 9);
	print_message("withdrawn in %d periods, %llu changes\n", t,
		      (unsigned long long)(web(f)->changes - before));
	fx_free(f);
}

/* A deterministic noise in [-pct, +pct] percent of x. */
static uint64_t noisy(uint64_t x, unsigned int pct, uint32_t *seed)
{
	*seed = *seed * 1103515245U + 12345U;
	return x * (100 * 100 - pct * 100 + (*seed >> 8) % (2 * pct * 100 + 1)) / (100 * 100);
}

static void test_locality_noisy_load_does_not_flap(void **unused)
{
	struct fx *f = fx_new(cfg_local);
	uint32_t seed = 7;
	uint64_t before;

	(void)unused;
	/* around the local target itself (1600/s +-4%): the goal wobbles 0..0.04, under the step */
	for (int t = 0; t < 200; t++)
		tick(f, noisy(1600, 4, &seed));
	assert_int_equal(web(f)->changes, 1);
	assert_int_equal(web(f)->spill, 0);
	/* around 1.5x (3000/s +-4%): settles, then stays */
	for (int t = 0; t < 10; t++)
		tick(f, 3000);
	before = web(f)->changes;
	for (int t = 0; t < 200; t++)
		tick(f, noisy(3000, 4, &seed));
	print_message("200 noisy periods at 1.5x: %llu changes\n",
		      (unsigned long long)(web(f)->changes - before));
	assert_int_equal(web(f)->changes - before, 0);
	fx_free(f);
}

static void test_locality_spread_keeps_the_weights(void **unused)
{
	struct fx *f = fx_new(cfg_spread);

	(void)unused;
	for (int t = 0; t < 5; t++)
		assert_int_equal(tick(f, 3000), 0);
	assert_false(web(f)->active);
	for (size_t i = 0; i < NC; i++) {
		const struct cg_cell_cfg *c = &f->st.cells[i];

		assert_int_equal(cg_loc_weight(f->loc, &f->st.services[0], c, c->weight),
				 c->weight);
		assert_int_equal(cg_loc_weight(f->loc, &f->st.services[0], c, 7), 7);
	}
	assert_int_equal(cg_loc_weight(NULL, &f->st.services[0], &f->st.cells[0], 9), 9);
	/* local-first, then back to spread: one change each way */
	f->st.services[0].locality = CG_LOC_LOCAL_FIRST;
	assert_int_equal(tick(f, 3000), 1);
	f->st.services[0].locality = CG_LOC_SPREAD;
	assert_int_equal(tick(f, 3000), 1);
	assert_non_null(strstr(web(f)->why, "spread"));
	assert_int_equal(cg_loc_weight(f->loc, &f->st.services[0], &f->st.cells[C2], 300), 300);
	fx_free(f);
}

static void test_locality_down_and_evacuated_cells_never_get_spill(void **unused)
{
	struct fx *f = fx_new(cfg_local);
	uint32_t frac[3] = { CG_PPM, 0, CG_PPM };
	int ret;

	(void)unused;
	for (int t = 0; t < 10; t++)
		tick(f, 3000);
	/* b1 down to health: published at once, r2 has half its spare, r3 takes the rest */
	f->ov[B1].cap = CG_CELL_DOWN;
	ret = tick(f, 3000);
	assert_int_equal(ret, 1);
	assert_non_null(strstr(web(f)->why, "cells changed"));
	assert_int_equal(web(f)->cells[B1].share, 0);
	assert_int_equal(cg_loc_weight(f->loc, &f->st.services[0], &f->st.cells[B1], 100), 0);
	assert_near(web(f)->cells[B2].share, 133333, 2);
	assert_near(region_share(f, C1), 333333, 2);
	f->ov[B1].cap = 0;
	/* a desired-state draining cell the same */
	f->st.cells[C1].state = CG_CELL_DRAINING;
	tick(f, 3000);
	assert_int_equal(web(f)->cells[C1].share, 0);
	f->st.cells[C1].state = CG_CELL_ACTIVE;
	/* r2 evacuated: the failover overlay gives its cells weight 0; nothing of the spill there */
	assert_int_equal(cg_failover_overlay(&f->st, frac, f->load, NULL, f->ov), 0);
	f->fracp = frac;
	for (int t = 0; t < 5; t++)
		tick(f, 3000);
	assert_int_equal(region_share(f, B1), 0);
	assert_near(region_share(f, C1), 466667, 2);
	/* this LB's own region evacuated: everything spills, the nearest first */
	frac[1] = CG_PPM;
	frac[0] = 0;
	assert_int_equal(cg_failover_overlay(&f->st, frac, f->load, NULL, f->ov), 0);
	tick(f, 3000);
	assert_int_equal(web(f)->spill, CG_PPM);
	assert_int_equal(region_share(f, A1), 0);
	/* r2 full first (800/s of 3000), r3 full (1600/s); the 600/s beyond both by spare */
	assert_near(region_share(f, B1), 333333, 2);
	assert_near(region_share(f, C1), 666667, 2);
	/* and back: the local cells take flows again at once; the spill is withdrawn slowly,
	 * at once only down to what the remote cells have room for (2400/s of 3000) */
	frac[0] = CG_PPM;
	assert_int_equal(cg_failover_overlay(&f->st, frac, f->load, NULL, f->ov), 0);
	tick(f, 3000);
	assert_true(region_share(f, A1) > 0);
	assert_near(web(f)->spill, 800000, 2);
	assert_near(web(f)->goal, 466667, 2);
	fx_free(f);
}

/*
 * The closed loop over a load trace: each period the cells are offered what
 * the last published shares send them. Prints the cross-region share over
 * time (docs/locality.md has the table).
 */
static void test_locality_closed_loop_simulation(void **unused)
{
	static const struct {
		int until;	/* s */
		uint64_t load;	/* new flows/s, to 'until' */
		uint64_t load2; /* ramping to this at 'until' (0: flat) */
	} trace[] = {
		{ 20, 1000, 0 },  /* 0.5x local capacity */
		{ 30, 1000, 3000 }, /* ramp to 1.5x */
		{ 60, 3000, 0 },
		{ 80, 6500, 0 }, /* beyond every reachable capacity */
		{ 90, 6500, 1000 },
		{ 150, 1000, 0 }, /* back to 0.5x: withdrawal */
	};
	struct fx *f = fx_new(cfg_local);
	uint64_t shed[CG_MAX_CLASSES], changes = 0, crossed = 0, offered = 0;
	int from = 0;

	(void)unused;
	print_message("%5s %8s %7s %7s %7s %7s %8s %8s %7s\n", "t(s)", "offered", "local", "r2",
		      "r3", "cross", "cross/s", "shed/s", "changes");
	for (size_t p = 0; p < sizeof(trace) / sizeof(trace[0]); p++) {
		for (int t = from; t < trace[p].until; t++) {
			int64_t a = (int64_t)trace[p].load, b = (int64_t)trace[p].load2;
			uint64_t l = (uint64_t)a, sum = 0;

			if (b)
				l = (uint64_t)(a + (b - a) * (t - from + 1) / (trace[p].until - from));
			changes += (uint64_t)tick(f, l);
			cg_loc_left_to_shed(f->loc, shed);
			for (int k = 0; k < CG_MAX_CLASSES; k++)
				sum += shed[k];
			crossed += l * web(f)->spill / CG_PPM;
			offered += l;
			if (t % 10 == 9)
				print_message("%5d %8llu %7.3f %7.3f %7.3f %7.3f %8llu %8llu %7llu\n",
					      t + 1, (unsigned long long)l,
					      region_share(f, A1) / 1e6, region_share(f, B1) / 1e6,
					      region_share(f, C1) / 1e6, web(f)->spill / 1e6,
					      (unsigned long long)(l * web(f)->spill / CG_PPM),
					      (unsigned long long)sum, (unsigned long long)changes);
			/* at the steady points */
			if (t == 19)
				assert_int_equal(web(f)->spill, 0);
			if (t == 59) {
				assert_near(web(f)->spill, 466667, 2);
				assert_int_equal(sum, 0);
			}
			if (t == 79) /* 6500 - 4000 at target: 2500 shed, sheddable first */
				assert_near(sum, 2500, 2);
		}
		from = trace[p].until;
	}
	print_message("cross-region new flows: %.1f%% of %llu; %llu table changes in %d s\n",
		      100.0 * (double)crossed / (double)offered, (unsigned long long)offered,
		      (unsigned long long)changes, from);
	assert_int_equal(web(f)->spill, 0);
	assert_true(changes <= 30);
	fx_free(f);
}

/* ---- config ---- */

static int parse(const char *text, struct cg_state *st, char *err, size_t len)
{
	return cg_config_parse_buf("t.yaml", text, strlen(text), st, err, len);
}

static char *dump(const struct cg_state *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(cg_state_write(st, m), 0);
	fclose(m);
	return buf;
}

static void test_locality_config_defaults_write_nothing(void **unused)
{
	struct cg_state st, back;
	char err[256], *text, *again;

	(void)unused;
	cg_state_init(&st);
	assert_int_equal(parse(HEAD CELLS "services:\n  - {name: web, vip: 203.0.113.10, port: "
					  "80, protocol: tcp, cells: [a1]}\n",
			       &st, err, sizeof(err)),
			 0);
	assert_int_equal(st.services[0].locality, CG_LOC_SPREAD);
	assert_int_equal(st.classes[3].max_spill_cost, CG_MAX_REGION_COST);
	assert_int_equal(st.locality.target_ppm, CG_LOC_TARGET_DEF);
	text = dump(&st);
	assert_null(strstr(text, "locality"));
	assert_null(strstr(text, "max_spill_cost"));
	free(text);
	cg_state_free(&st);

	/* given, they are written and read back the same */
	cg_state_init(&st);
	assert_int_equal(parse(cfg_cost, &st, err, sizeof(err)), 0);
	st.locality.target_ppm = 700000;
	st.locality.withdraw_ppm = 10000;
	text = dump(&st);
	assert_non_null(strstr(text, "locality: local-first"));
	assert_non_null(strstr(text, "max_spill_cost: 20"));
	assert_non_null(strstr(text, "target: 0.7"));
	assert_non_null(strstr(text, "withdraw: 0.01"));
	assert_non_null(strstr(text, "rise: 0.25")); /* the section is written whole */
	cg_state_init(&back);
	if (parse(text, &back, err, sizeof(err)))
		fail_msg("%s\n%s", err, text);
	again = dump(&back);
	assert_string_equal(text, again);
	free(text);
	free(again);
	cg_state_free(&st);
	cg_state_free(&back);
}

struct bad {
	const char *what, *text, *expect;
};

#define TOP_                                                                                       \
	"region: r1\n"                                                                             \
	"interfaces: [eth0]\n"                                                                     \
	"source: {ipv4: 198.18.0.1}\n"                                                             \
	"regions:\n"                                                                               \
	"  - {name: r1, cost: 0}\n"
#define SVC_(extra)                                                                                \
	"cells:\n"                                                                                 \
	"  - {name: a, region: r1, gateway: 198.18.1.1, encap: ipip}\n"                            \
	"services:\n"                                                                              \
	"  - {name: web, vip: 203.0.113.1, port: 80, protocol: tcp, cells: [a]" extra "}\n"

static void test_locality_config_errors(void **unused)
{
	static const struct bad cases[] = {
		{ "unknown mode", TOP_ SVC_(", locality: nearest"),
		  "t.yaml:9: service 'web': unknown locality 'nearest' (expected spread or "
		  "local-first)" },
		{ "mode as a number", TOP_ SVC_(", locality: 1"),
		  "t.yaml:9: service 'web': unknown locality '1' (expected spread or local-first)" },
		{ "max_spill_cost too high", TOP_ "classes: [{name: a, id: 0, max_spill_cost: 1000001}]\n",
		  "t.yaml:6: class 'a': max_spill_cost 1000001 is out of range (0..1000000)" },
		{ "max_spill_cost negative", TOP_ "classes: [{name: a, id: 0, max_spill_cost: -1}]\n",
		  "t.yaml:6: class 'a': max_spill_cost '-1' is not a number (negative)" },
		{ "max_spill_cost a word", TOP_ "classes: [{name: a, id: 0, max_spill_cost: far}]\n",
		  "t.yaml:6: class 'a': max_spill_cost 'far' is not a number" },
		{ "target 0", TOP_ "locality: {target: 0}\n",
		  "t.yaml:6: locality: target 0 is out of range (0.000001..1)" },
		{ "target above 1", TOP_ "locality: {target: 1.5}\n",
		  "t.yaml:6: locality: target 1.5 is out of range (0..1)" },
		{ "step too large", TOP_ "locality: {step: 0.6}\n",
		  "t.yaml:6: locality: step 0.6 is out of range (0..0.5)" },
		{ "rise 0", TOP_ "locality: {rise: 0}\n",
		  "t.yaml:6: locality: rise 0 is out of range (0.000001..1)" },
		{ "withdraw 0", TOP_ "locality: {withdraw: 0}\n",
		  "t.yaml:6: locality: withdraw 0 is out of range (0.000001..1)" },
		{ "withdraw faster than rise", TOP_ "locality:\n  rise: 0.1\n  withdraw: 0.2\n",
		  "t.yaml:8: locality: withdraw 200000 ppm is above rise (100000 ppm): withdrawal "
		  "must be the slower" },
		{ "period too short", TOP_ "locality: {period_ms: 50}\n",
		  "t.yaml:6: locality: period_ms 50 is out of range (100..60000)" },
		{ "period a percentage", TOP_ "locality: {target: 80%}\n",
		  "t.yaml:6: locality: target '80%' is not a number from 0 to 1 (e.g. 0.25)" },
		{ "unknown key", TOP_ "locality: {targt: 0.5}\n",
		  "t.yaml:6: unknown key 'targt' in locality (did you mean 'target'?)" },
		{ "a mode where the section goes", TOP_ "locality: local-first\n",
		  "t.yaml:6: locality: expected a mapping, found 'local-first'" },
	};
	struct cg_state st;
	char err[256];
	int bad = 0;

	(void)unused;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		memset(err, 0, sizeof(err));
		memset(&st, 0xa5, sizeof(st));
		ret = parse(cases[i].text, &st, err, sizeof(err));
		if (ret != -EINVAL || strcmp(err, cases[i].expect)) {
			print_error("case '%s': got %d '%s', want '%s'\n", cases[i].what, ret, err,
				    cases[i].expect);
			bad++;
		}
		assert_int_equal(st.ncells, (size_t)0xa5a5a5a5a5a5a5a5ULL); /* untouched */
	}
	assert_int_equal(bad, 0);
}

/* What a cell's report says it carries, less this LB's own flows to it, is what it carries for others. */
static void test_locality_busy_from_reports(void **unused)
{
	struct fx *f = fx_new(cfg_local);
	uint32_t rep[NC], busy[NC];

	(void)unused;
	for (size_t i = 0; i < NC; i++)
		rep[i] = CG_LOC_NO_REPORT;
	rep[A1] = 900000;  /* 0.9 x 1000 = 900/s carried */
	rep[A2] = 100000;  /* 100/s, and this LB offers it 300/s: none for others */
	rep[B1] = 2000000; /* 2 x 500 = 1000/s: overloaded by others */
	f->load[A1 * CG_MAX_CLASSES + 0] = 200;
	f->load[A1 * CG_MAX_CLASSES + 3] = 100;
	f->load[A2 * CG_MAX_CLASSES + 2] = 300;
	memset(busy, 0xa5, sizeof(busy));
	cg_loc_busy(&f->st, rep, f->load, busy);
	assert_int_equal(busy[A1], 600);
	assert_int_equal(busy[A2], 0);
	assert_int_equal(busy[B1], 1000);
	assert_int_equal(busy[B2], 0); /* no report */
	f->st.cells[B1].capacity = 0;  /* no capacity: a share of nothing */
	cg_loc_busy(&f->st, rep, NULL, busy);
	assert_int_equal(busy[B1], 0);
	assert_int_equal(busy[A1], 900); /* no load given: all of it is others' */
	cg_loc_busy(&f->st, NULL, f->load, busy);
	for (size_t i = 0; i < NC; i++)
		assert_int_equal(busy[i], 0);
	fx_free(f);
}

/*
 * The classes not worth carrying: sheddable (max_spill_cost 20) is refused on
 * r3's cells (cost 50), not on r2's (10) nor the local ones; a cell a spread
 * service also lists is left alone (the shed map is per cell).
 */
static void test_locality_no_carry_levels(void **unused)
{
	static const char spread_too[] = HEAD
		"classes:\n"
		"  - {name: critical, id: 0, protected: true, max_spill_cost: 5}\n"
		"  - {name: high, id: 1}\n"
		"  - {name: normal, id: 2}\n"
		"  - {name: sheddable, id: 3, max_spill_cost: 20}\n" CELLS
		"services:\n"
		"  - {name: web, vip: 203.0.113.10, port: 80, protocol: tcp, locality: local-first,"
		" cells: [a1, a2, b1, b2, c1, c2]}\n"
		"  - {name: api, vip: 203.0.113.11, port: 80, protocol: tcp, cells: [c2]}\n";
	struct fx *f = fx_new(cfg_cost);
	struct cg_shed_level lv[CG_MAX_CELLS * CG_MAX_CLASSES];
	size_t n;

	(void)unused;
	n = cg_loc_no_carry(&f->st, lv, CG_MAX_CELLS * CG_MAX_CLASSES);
	assert_int_equal(n, 2);
	assert_int_equal(lv[0].cell, C1);
	assert_int_equal(lv[1].cell, C2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(lv[i].class, 3);
		assert_int_equal(lv[i].level_ppm, CG_PPM);
		assert_false(lv[i].hard);
	}
	assert_true(cg_loc_is_no_carry(&f->st, C1, 3));
	assert_false(cg_loc_is_no_carry(&f->st, C1, 2));
	assert_false(cg_loc_is_no_carry(&f->st, B1, 3));
	assert_false(cg_loc_is_no_carry(&f->st, A1, 3));
	assert_int_equal(cg_loc_no_carry(&f->st, lv, 1), 1); /* bounded by cap */
	fx_free(f);

	f = fx_new(spread_too); /* critical is protected: never refused, whatever it costs */
	n = cg_loc_no_carry(&f->st, lv, CG_MAX_CELLS * CG_MAX_CLASSES);
	assert_int_equal(n, 1);
	assert_int_equal(lv[0].cell, C1);
	assert_int_equal(lv[0].class, 3);
	assert_false(cg_loc_is_no_carry(&f->st, C2, 3));
	assert_false(cg_loc_is_no_carry(&f->st, C1, 0));
	fx_free(f);

	f = fx_new(cfg_spread); /* no local-first service: nothing */
	assert_int_equal(cg_loc_no_carry(&f->st, lv, CG_MAX_CELLS * CG_MAX_CLASSES), 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locality_half_local_capacity_spills_nothing),
		cmocka_unit_test(test_locality_overflow_goes_to_the_nearest_region_first),
		cmocka_unit_test(test_locality_rise_is_bounded_per_period),
		cmocka_unit_test(test_locality_class_not_spilled_beyond_its_max_spill_cost),
		cmocka_unit_test(test_locality_no_reachable_capacity_is_left_to_shed),
		cmocka_unit_test(test_locality_spill_is_withdrawn_slowly_in_few_changes),
		cmocka_unit_test(test_locality_noisy_load_does_not_flap),
		cmocka_unit_test(test_locality_spread_keeps_the_weights),
		cmocka_unit_test(test_locality_down_and_evacuated_cells_never_get_spill),
		cmocka_unit_test(test_locality_closed_loop_simulation),
		cmocka_unit_test(test_locality_config_defaults_write_nothing),
		cmocka_unit_test(test_locality_config_errors),
		cmocka_unit_test(test_locality_busy_from_reports),
		cmocka_unit_test(test_locality_no_carry_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
