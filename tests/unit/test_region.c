// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_region.c - region evacuation: transitions, safety rules, redistribution, pre-shed, saga */
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
#include "cellgate/region.h"
#include "cellgate/saga.h"

/* 3 regions x 2 cells; r1 nearest. Capacities in new flows/s. */
static const char cfg[] =
	TSTATE_REGIONS3
	"cells:\n"
	"  - {name: a1, region: r1, gateway: 198.18.1.10, encap: gue, capacity: 250}\n"
	"  - {name: a2, region: r1, gateway: 198.18.1.11, encap: gue, capacity: 150}\n"
	"  - {name: b1, region: r2, gateway: 198.18.2.10, encap: gue, capacity: 1000}\n"
	"  - {name: b2, region: r2, gateway: 198.18.2.11, encap: gue, capacity: 1000}\n"
	"  - {name: c1, region: r3, gateway: 198.18.3.10, encap: gue, capacity: 1000}\n"
	"  - {name: c2, region: r3, gateway: 198.18.3.11, encap: gue, capacity: 1000}\n"
	"services:\n"
	"  - {name: web, vip: 203.0.113.10, port: 80, protocol: tcp,"
	" cells: [a1, a2, b1, b2, c1, c2]}\n"
	"  - {name: api, vip: 203.0.113.11, port: 443, protocol: tcp, cells: [a1, c1, c2]}\n";

/* cell indexes in the sorted state */
enum { A1, A2, B1, B2, C1, C2, NC };
#define L(cell, class) ((cell)*CG_MAX_CLASSES + (class))

struct fx {
	struct cg_state st;
	struct cg_rules rules;
	struct cg_evac recs[3]; /* r1, r2, r3 */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || tstate_parse(&f->st, cfg))
		return -1;
	cg_rules_defaults(&f->rules);
	f->rules.max_out_ppm = CG_PPM; /* tests of max_out set their own */
	strcpy(f->recs[0].region, "r1");
	strcpy(f->recs[1].region, "r2");
	strcpy(f->recs[2].region, "r3");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	cg_state_free(&f->st);
	free(f);
	return 0;
}

static struct cg_evac_ctx ctx(struct fx *f, int64_t now)
{
	return (struct cg_evac_ctx){ .st = &f->st,
				     .recs = f->recs,
				     .nrecs = 3,
				     .rules = &f->rules,
				     .now = now,
				     .by = "ops",
				     .reason = "t" };
}

static int ev(struct fx *f, int r, enum cg_region_event e, int64_t now, struct cg_rules_result *res)
{
	struct cg_evac_ctx c = ctx(f, now);

	return cg_evac_transition(&f->recs[r], e, &c, res);
}

static void test_region_cells_sorted(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->st.ncells, NC);
	assert_string_equal(f->st.cells[A2].name, "a2");
	assert_string_equal(f->st.cells[C2].name, "c2");
}

static void test_region_full_cycle(void **state)
{
	struct fx *f = *state;
	struct cg_evac *r3 = &f->recs[2];
	int64_t t = 1000;

	assert_int_equal(ev(f, 2, CG_EV_EVACUATE, t, NULL), 0);
	assert_int_equal(r3->state, CG_REGION_DRAINING);
	assert_int_equal(r3->expires, t + CG_EVAC_TTL_DEF);
	assert_string_equal(r3->by, "ops");
	assert_int_equal(ev(f, 2, CG_EV_STEP_DONE, t + 1, NULL), 0);
	assert_int_equal(r3->state, CG_REGION_EVACUATED);
	t += CG_WAIT_DEF;
	assert_int_equal(ev(f, 2, CG_EV_RESTORE, t, NULL), 0);
	assert_int_equal(r3->state, CG_REGION_RESTORING);
	for (int s = 0; s < 3; s++) {
		assert_int_equal(r3->step, s);
		t += CG_DWELL_DEF;
		assert_int_equal(ev(f, 2, CG_EV_STEP_DONE, t, NULL), 0);
	}
	assert_int_equal(r3->step, 3);
	t += CG_DWELL_DEF;
	assert_int_equal(ev(f, 2, CG_EV_STEP_DONE, t, NULL), 0);
	assert_int_equal(r3->state, CG_REGION_ACTIVE);
	assert_int_equal(r3->forced, 0);
}

static void test_region_refused_transitions(void **state)
{
	struct fx *f = *state;
	struct cg_rules_result res;

	/* from active */
	assert_int_equal(ev(f, 2, CG_EV_RESTORE, 10, &res), -EALREADY);
	assert_string_equal(res.why, "region 'r3' is active: cannot restore");
	assert_int_equal(ev(f, 2, CG_EV_ABORT, 10, &res), -EINVAL);
	assert_int_equal(ev(f, 2, CG_EV_EXTEND, 10, &res), -EINVAL);
	assert_int_equal(ev(f, 2, CG_EV_EXPIRE, 10, &res), -EINVAL);
	assert_int_equal(ev(f, 2, CG_EV_FLAP, 10, &res), -EINVAL);
	assert_int_equal(ev(f, 2, CG_EV_STEP_DONE, 10, &res), -EINVAL);
	/* from draining */
	assert_int_equal(ev(f, 2, CG_EV_EVACUATE, 1000, NULL), 0);
	assert_int_equal(ev(f, 2, CG_EV_EVACUATE, 1001, &res), -EALREADY);
	assert_int_equal(ev(f, 2, CG_EV_RESTORE, 1001, &res), -EINVAL);
	assert_int_equal(ev(f, 2, CG_EV_FLAP, 1001, &res), -EINVAL);
	/* abort draining goes back to active */
	assert_int_equal(ev(f, 2, CG_EV_ABORT, 1002, NULL), 0);
	assert_int_equal(f->recs[2].state, CG_REGION_ACTIVE);
	assert_int_equal(f->recs[2].expires, 0);
}

static void test_region_extend_and_expire_starts_restore(void **state)
{
	struct fx *f = *state;
	struct cg_rules_result res;
	struct cg_evac_ctx c = ctx(f, 2000);

	assert_int_equal(ev(f, 2, CG_EV_EVACUATE, 1000, NULL), 0);
	assert_int_equal(ev(f, 2, CG_EV_STEP_DONE, 1001, NULL), 0);
	c.extend = 7200;
	assert_int_equal(cg_evac_transition(&f->recs[2], CG_EV_EXTEND, &c, NULL), 0);
	assert_int_equal(f->recs[2].expires, 9200);
	c.extend = 0;
	assert_int_equal(cg_evac_transition(&f->recs[2], CG_EV_EXTEND, &c, &res), -EINVAL);
	assert_int_equal(ev(f, 2, CG_EV_EXPIRE, 9199, &res), -EAGAIN);
	assert_string_equal(res.why, "region 'r3' is evacuated for 1s more");
	assert_int_equal(f->recs[2].state, CG_REGION_EVACUATED);
	/* expiry is never blocked, even by another transition running */
	f->recs[0].state = CG_REGION_RESTORING;
	f->recs[0].changed = 9199;
	assert_int_equal(ev(f, 2, CG_EV_EXPIRE, 9200, &res), 0);
	assert_int_equal(f->recs[2].state, CG_REGION_RESTORING);
	assert_int_equal(f->recs[2].step, 0);
	assert_string_equal(f->recs[2].reason, "evacuation expired");
}

static void test_region_flap_and_abort_restore_go_back_to_evacuated(void **state)
{
	struct fx *f = *state;

	f->recs[2].state = CG_REGION_EVACUATED;
	assert_int_equal(ev(f, 2, CG_EV_RESTORE, 1000, NULL), 0);
	assert_int_equal(ev(f, 2, CG_EV_STEP_DONE, 1000 + CG_DWELL_DEF, NULL), 0);
	assert_int_equal(f->recs[2].step, 1);
	assert_int_equal(ev(f, 2, CG_EV_FLAP, 1070, NULL), 0);
	assert_int_equal(f->recs[2].state, CG_REGION_EVACUATED);
	assert_int_equal(f->recs[2].step, 0);
	assert_int_equal(f->recs[2].expires, 1070 + CG_EVAC_TTL_DEF);
	f->recs[2].changed = 0;
	assert_int_equal(ev(f, 2, CG_EV_RESTORE, 2000, NULL), 0);
	assert_int_equal(ev(f, 2, CG_EV_ABORT, 2001, NULL), 0);
	assert_int_equal(f->recs[2].state, CG_REGION_EVACUATED);
}

static void test_region_dwell_rule_at_boundary_and_force(void **state)
{
	struct fx *f = *state;
	struct cg_rules_result res;
	struct cg_evac_ctx c = ctx(f, 1000 + CG_DWELL_DEF - 1);

	f->recs[2].state = CG_REGION_EVACUATED;
	assert_int_equal(ev(f, 2, CG_EV_RESTORE, 1000, NULL), 0);
	assert_int_equal(ev(f, 2, CG_EV_STEP_DONE, 1000 + CG_DWELL_DEF - 1, &res), -EAGAIN);
	assert_string_equal(res.why, "rule dwell: ramp step 0 held 59s, needs 60s");
	assert_int_equal(res.failed, CG_RULE_DWELL);
	c.force = true;
	assert_int_equal(cg_evac_transition(&f->recs[2], CG_EV_STEP_DONE, &c, &res), 0);
	assert_int_equal(res.overridden, CG_RULE_DWELL);
	assert_int_equal(f->recs[2].forced, 1);
	assert_int_equal(f->recs[2].step, 1);
}

static void test_region_one_at_a_time_and_force(void **state)
{
	struct fx *f = *state;
	struct cg_rules_result res;
	struct cg_evac_ctx c = ctx(f, 5000);

	assert_int_equal(ev(f, 1, CG_EV_EVACUATE, 1000, NULL), 0);
	assert_int_equal(ev(f, 2, CG_EV_EVACUATE, 5000, &res), -EBUSY);
	assert_string_equal(res.why, "rule one_at_a_time: region 'r2' is draining");
	assert_int_equal(res.failed, CG_RULE_ONE_AT_A_TIME);
	assert_int_equal(f->recs[2].state, CG_REGION_ACTIVE);
	c.force = true;
	assert_int_equal(cg_evac_transition(&f->recs[2], CG_EV_EVACUATE, &c, &res), 0);
	assert_int_equal(res.overridden, CG_RULE_ONE_AT_A_TIME);
	assert_string_equal(res.why,
			    "rule one_at_a_time: region 'r2' is draining (overridden by force)");
	assert_int_equal(f->recs[2].forced, 1);
}

static void test_region_wait_rule_at_boundary(void **state)
{
	struct fx *f = *state;
	struct cg_rules_result res;

	f->recs[1].changed = 1000; /* r2 ended a transition at 1000 */
	assert_int_equal(ev(f, 2, CG_EV_EVACUATE, 1000 + CG_WAIT_DEF - 1, &res), -EAGAIN);
	assert_string_equal(
		res.why, "rule wait: region 'r2' changed 299s ago, wait 300s between transitions");
	assert_int_equal(res.failed, CG_RULE_WAIT);
	assert_int_equal(ev(f, 2, CG_EV_EVACUATE, 1000 + CG_WAIT_DEF, &res), 0);
}

static void test_region_min_cells_at_boundary_and_force(void **state)
{
	struct fx *f = *state;
	struct cg_rules_result res;
	struct cg_evac_ctx c = ctx(f, 1000);

	/* api is a1, c1, c2: evacuating r3 leaves it 1 */
	f->rules.min_cells = 1;
	assert_int_equal(ev(f, 2, CG_EV_EVACUATE, 1000, &res), 0);
	memset(&f->recs[2], 0, sizeof(f->recs[2]));
	strcpy(f->recs[2].region, "r3");
	f->rules.min_cells = 2;
	assert_int_equal(ev(f, 2, CG_EV_EVACUATE, 1000, &res), -EPERM);
	assert_string_equal(res.why,
			    "rule min_cells: service 'api' would keep 1 active cell, needs 2");
	assert_int_equal(res.failed, CG_RULE_MIN_CELLS);
	c.force = true;
	assert_int_equal(cg_evac_transition(&f->recs[2], CG_EV_EVACUATE, &c, &res), 0);
	assert_int_equal(res.overridden, CG_RULE_MIN_CELLS);
	assert_int_equal(res.failed, 0);
}

static void test_region_min_regions_at_boundary(void **state)
{
	struct fx *f = *state;
	struct cg_rules_result res;

	f->rules.min_cells = 0;
	f->rules.min_regions = 2;
	f->recs[0].state = CG_REGION_EVACUATED;
	assert_int_equal(ev(f, 2, CG_EV_EVACUATE, 1000, &res), -EPERM);
	assert_string_equal(res.why, "rule min_regions: 1 active region would be left, needs 2");
	f->recs[0].state = CG_REGION_ACTIVE;
	assert_int_equal(ev(f, 2, CG_EV_EVACUATE, 1000, &res), 0);
}

static void test_region_rules_check_any_change_max_out(void **state)
{
	struct fx *f = *state;
	struct cg_rules_result res = { 0 };
	uint32_t ow[NC] = { 100, 100, 100, 100, 100, 100 }, nw[NC];
	struct cg_eff old = { &f->st, ow }, nwv = { &f->st, nw };

	/* a cell set taking a1 and a2 (400 of web's 4400 = 9.0%) out */
	memcpy(nw, ow, sizeof(nw));
	nw[A1] = nw[A2] = 0;
	/* api (first by name) loses a1: 250 of 2250 = 111111.1 ppm; web 400 of 4400 */
	f->rules.max_out_ppm = 111111;
	assert_int_equal(cg_rules_check(&old, &nwv, &f->rules, false, &res), -EPERM);
	assert_int_equal(res.failed, CG_RULE_MAX_OUT);
	assert_string_equal(res.why, "rule max_out: service 'api' would lose 11.1% of its capacity "
				     "at once, at most 11.1%");
	memset(&res, 0, sizeof(res));
	nw[A1] = 100; /* only a2 out: web 150 of 4400 = 34090.9 ppm */
	f->rules.max_out_ppm = 34090;
	assert_int_equal(cg_rules_check(&old, &nwv, &f->rules, false, &res), -EPERM);
	assert_string_equal(res.why, "rule max_out: service 'web' would lose 3.4% of its capacity "
				     "at once, at most 3.4%");
	memset(&res, 0, sizeof(res));
	f->rules.max_out_ppm = 34091;
	assert_int_equal(cg_rules_check(&old, &nwv, &f->rules, false, &res), 0);
	nw[A1] = 0;
	f->rules.max_out_ppm = 111112;
	assert_int_equal(cg_rules_check(&old, &nwv, &f->rules, false, &res), 0);
	assert_int_equal(res.failed | res.overridden, 0);
	f->rules.max_out_ppm = 0;
	assert_int_equal(cg_rules_check(&old, &nwv, &f->rules, true, &res), 0);
	assert_int_equal(res.overridden, CG_RULE_MAX_OUT);
}

/* a service already below min_cells may stay there or rise, never sink further */
static void test_region_rules_min_cells_never_worse(void **state)
{
	struct fx *f = *state;
	struct cg_rules_result res = { 0 };
	uint32_t ow[NC] = { 100, 0, 0, 0, 0, 0 }, nw[NC];
	struct cg_eff old = { &f->st, ow }, nwv = { &f->st, nw };

	f->rules.min_cells = 2; /* api has only a1 active of a1, c1, c2 */
	memcpy(nw, ow, sizeof(nw));
	assert_int_equal(cg_rules_check(&old, &nwv, &f->rules, false, &res), 0);
	nw[C1] = 100; /* rises to 2 */
	assert_int_equal(cg_rules_check(&old, &nwv, &f->rules, false, &res), 0);
	nw[C1] = 0, nw[A1] = 0; /* sinks to 0 */
	f->rules.max_out_ppm = CG_PPM;
	assert_int_equal(cg_rules_check(&old, &nwv, &f->rules, false, &res), -EPERM);
	assert_true(res.failed & CG_RULE_MIN_CELLS);
	assert_string_equal(res.why, "rule min_cells: service 'api' would keep 0 active cells, "
				     "needs 2");
	/* without an old view the rule is absolute */
	memcpy(nw, ow, sizeof(nw));
	assert_int_equal(cg_rule_min_cells(NULL, &nwv, &f->rules, res.why, sizeof(res.why)),
			 -EPERM);
	assert_int_equal(cg_rule_min_cells(&old, &nwv, &f->rules, res.why, sizeof(res.why)), 0);
	/* a region rule the same way: one active region (r1) stays one */
	f->rules.min_regions = 2;
	f->rules.min_cells = 0;
	assert_int_equal(cg_rules_check(&old, &nwv, &f->rules, false, &res), 0);
	assert_int_equal(cg_rule_min_regions(NULL, &nwv, &f->rules, res.why, sizeof(res.why)),
			 -EPERM);
}

static void test_region_ramp_fraction_and_check(void **state)
{
	struct fx *f = *state;
	struct cg_ramp r = f->rules.ramp;
	char why[CG_RULE_WHY_MAX];

	assert_int_equal(cg_ramp_fraction(&r, 0), 100000);
	assert_int_equal(cg_ramp_fraction(&r, 1), 250000);
	assert_int_equal(cg_ramp_fraction(&r, 2), 500000);
	assert_int_equal(cg_ramp_fraction(&r, 3), CG_PPM);
	assert_int_equal(cg_ramp_fraction(&r, 9), CG_PPM);
	assert_int_equal(cg_ramp_check(&r, why, sizeof(why)), 0);
	r.max_step_ppm = 499999;
	assert_int_equal(cg_ramp_check(&r, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "ramp: step 3 rises 500000 ppm, at most 499999");
	r.max_step_ppm = 500000;
	r.step_ppm[3] = 900000;
	assert_int_equal(cg_ramp_check(&r, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "ramp: the last step is 900000 ppm, not 1000000");
	r.step_ppm[1] = 100000;
	assert_int_equal(cg_ramp_check(&r, why, sizeof(why)), -EINVAL);
}

static void test_region_fractions_from_records(void **state)
{
	struct fx *f = *state;
	uint32_t frac[3];

	f->recs[0].state = CG_REGION_DRAINING;
	f->recs[2].state = CG_REGION_RESTORING;
	f->recs[2].step = 1;
	cg_evac_fractions(&f->st, f->recs, 3, &f->rules.ramp, frac);
	assert_int_equal(frac[0], 0);
	assert_int_equal(frac[1], CG_PPM);
	assert_int_equal(frac[2], 250000);
}

static void test_region_plan_follows_spare_capacity_and_locality(void **state)
{
	struct fx *f = *state;
	uint32_t load[NC * CG_MAX_CLASSES] = { 0 };
	uint32_t nf[3] = { CG_PPM, CG_PPM, 0 };
	struct cg_plan p;

	for (int c = 0; c < NC; c++)
		load[L(c, 0)] = 40, load[L(c, 3)] = 60;
	assert_int_equal(cg_plan_build(&f->st, NULL, nf, load, &p), 0);
	/* r3 moves 200; r1's spare (150 + 50) takes it all, b's spare is farther */
	assert_int_equal(p.moved, 200);
	assert_int_equal(p.cells[A1].new_weight, 250);
	assert_int_equal(p.cells[A2].new_weight, 150);
	assert_int_equal(p.cells[B1].new_weight, 100);
	assert_int_equal(p.cells[B2].new_weight, 100);
	assert_int_equal(p.cells[C1].new_weight, 0);
	assert_int_equal(p.cells[C2].new_weight, 0);
	assert_int_equal(p.cells[A1].old_share, 166666);
	assert_int_equal(p.cells[A1].new_share, 416666);
	assert_int_equal(p.cells[A1].total, 250);
	assert_int_equal(p.cells[A1].load[0], 100);
	assert_int_equal(p.cells[A1].load[3], 150);
	assert_int_equal(p.cells[A2].total, 150);
	assert_int_equal(p.cells[B1].total, 100);
	assert_int_equal(p.cells[C1].total, 0);
	assert_false(p.short_of);
	assert_int_equal(p.cells[A1].shed_ppm[3], 0);
	cg_plan_free(&p);
}

static void test_region_plan_spills_to_next_tier(void **state)
{
	struct fx *f = *state;
	uint32_t load[NC * CG_MAX_CLASSES] = { 0 };
	uint32_t nf[3] = { CG_PPM, CG_PPM, 0 };
	struct cg_plan p;

	for (int c = 0; c < NC; c++)
		load[L(c, 2)] = 150;
	/* moved 300; r1 spare 100 + 0, the rest 200 to r2 by spare (850 each) */
	assert_int_equal(cg_plan_build(&f->st, NULL, nf, load, &p), 0);
	assert_int_equal(p.cells[A1].total, 250);
	assert_int_equal(p.cells[A2].total, 150);
	assert_int_equal(p.cells[B1].total, 250);
	assert_int_equal(p.cells[B2].total, 250);
	/* weight 200 follows the extra load 100 : 0 : 100 : 100 */
	assert_int_equal(p.cells[A1].new_weight, 167);
	assert_int_equal(p.cells[A2].new_weight, 100);
	assert_int_equal(p.cells[B1].new_weight, 167);
	assert_int_equal(p.cells[B2].new_weight, 166);
	cg_plan_free(&p);
}

static void test_region_preshed_lowest_first_protected_never(void **state)
{
	struct fx *f = *state;
	uint64_t load[CG_MAX_CLASSES] = { 100, 50, 50, 40 };
	uint32_t shed[CG_MAX_CLASSES];

	/* 240 on 170: 70 over; class 3 all (40), class 2 30 of 50 */
	assert_true(cg_preshed(&f->st, load, 170, shed));
	assert_int_equal(shed[3], CG_PPM);
	assert_int_equal(shed[2], 600000);
	assert_int_equal(shed[1], 0);
	assert_int_equal(shed[0], 0);
	/* 99 capacity: even all of 1..3 (140) leaves 100 > 99; class 0 never shed */
	assert_false(cg_preshed(&f->st, load, 99, shed));
	assert_int_equal(shed[0], 0);
	assert_int_equal(shed[1], CG_PPM);
	/* exactly at capacity: nothing */
	assert_true(cg_preshed(&f->st, load, 240, shed));
	assert_int_equal(shed[3], 0);
}

static void test_region_plan_short_of_capacity(void **state)
{
	struct fx *f = *state;
	uint32_t load[NC * CG_MAX_CLASSES] = { 0 };
	uint32_t nf[3] = { CG_PPM, 0, 0 };
	struct cg_plan p;

	for (int c = 0; c < NC; c++)
		load[L(c, 0)] = 100, load[L(c, 3)] = 100;
	/* only r1 (400) left for 1200 */
	assert_int_equal(cg_plan_build(&f->st, NULL, nf, load, &p), 0);
	assert_true(p.short_of);
	assert_true(p.cells[A1].short_of);
	assert_int_equal(p.cells[A1].shed_ppm[0], 0);
	assert_int_equal(p.cells[A1].shed_ppm[3], CG_PPM);
	cg_plan_free(&p);
	nf[0] = 0;
	assert_int_equal(cg_plan_build(&f->st, NULL, nf, load, &p), 0);
	assert_true(p.no_survivors);
	cg_plan_free(&p);
}

/* The saga: 4 steps over a world of 4 counters. */
#define NSTEPS 4
struct world {
	int v[NSTEPS];
	int fail_at;	 /* step whose do fails, -1 none */
	int crash_after; /* persist calls before a crash, -1 none */
	int persists;
	struct cg_saga_rec disk;
	char log[64];
	jmp_buf crash;
};

static int w_run(void *arg, size_t i, char *err, size_t len)
{
	struct world *w = arg;

	if ((int)i == w->fail_at) {
		w->v[i] = 7; /* half done */
		snprintf(err, len, "injected");
		return -EIO;
	}
	w->v[i] = 1;
	return 0;
}

static int w_undo(void *arg, size_t i, char *err, size_t len)
{
	struct world *w = arg;
	size_t n = strlen(w->log);

	w->v[i] = 0;
	w->log[n] = (char)('0' + i);
	w->log[n + 1] = '\0';
	return 0;
}

static int w_persist(void *arg, const struct cg_saga_rec *rec, char *err, size_t len)
{
	struct world *w = arg;

	w->disk = *rec;
	if (w->crash_after >= 0 && ++w->persists > w->crash_after)
		longjmp(w->crash, 1);
	return 0;
}

static const struct cg_saga_step steps[NSTEPS] = {
	{ "preshed", w_run, w_undo },
	{ "swap", w_run, w_undo },
	{ "persist", w_run, w_undo },
	{ "unshed", w_run, w_undo },
};

static void test_saga_all_steps(void **state)
{
	struct world w = { .fail_at = -1, .crash_after = -1 };
	struct cg_saga s = { steps, NSTEPS, w_persist, &w };
	struct cg_saga_rec rec;
	char err[256];

	assert_int_equal(cg_saga_run(&s, &rec, err, sizeof(err)), 0);
	assert_int_equal(rec.phase, CG_SAGA_DONE);
	assert_int_equal(w.disk.done, NSTEPS);
	for (int i = 0; i < NSTEPS; i++)
		assert_int_equal(w.v[i], 1);
}

static void test_saga_failure_at_every_step_compensates_in_reverse(void **state)
{
	static const char *const order[NSTEPS] = { "0", "10", "210", "3210" };

	for (int k = 0; k < NSTEPS; k++) {
		struct world w = { .fail_at = k, .crash_after = -1 };
		struct cg_saga s = { steps, NSTEPS, w_persist, &w };
		struct cg_saga_rec rec;
		char err[256];

		assert_int_equal(cg_saga_run(&s, &rec, err, sizeof(err)), -EIO);
		assert_string_equal(w.log, order[k]);
		assert_int_equal(w.disk.phase, CG_SAGA_COMPENSATED);
		assert_int_equal(w.disk.done, 0);
		for (int i = 0; i < NSTEPS; i++)
			assert_int_equal(w.v[i], 0);
	}
}

static void test_saga_crash_at_every_persist_resumes_or_compensates(void **state)
{
	/* forward persists: 2 per step + 1 at the end */
	for (volatile int n = 0; n <= 2 * NSTEPS; n++) {
		struct world w = { .fail_at = -1, .crash_after = n };
		struct cg_saga s = { steps, NSTEPS, w_persist, &w };
		struct cg_saga_rec rec;
		char err[256];
		int ret;

		if (!setjmp(w.crash))
			cg_saga_run(&s, &rec, err, sizeof(err));
		rec = w.disk;
		w.crash_after = -1;
		enum cg_saga_action a = cg_saga_decide(&rec);

		ret = cg_saga_resume(&s, &rec, err, sizeof(err));
		if (n == 2 * NSTEPS) {
			assert_int_equal(a, CG_SAGA_NOTHING);
			assert_int_equal(ret, 0);
		} else if (n % 2 == 0) {
			/* crashed with a step started: it is compensated, world as before */
			assert_int_equal(a, CG_SAGA_COMPENSATE);
			assert_int_equal(ret, -ECANCELED);
			for (int i = 0; i < NSTEPS; i++)
				assert_int_equal(w.v[i], 0);
			continue;
		} else {
			assert_int_equal(a, CG_SAGA_RESUME);
			assert_int_equal(ret, 0);
		}
		assert_int_equal(w.disk.phase, CG_SAGA_DONE);
		for (int i = 0; i < NSTEPS; i++)
			assert_int_equal(w.v[i], 1);
	}
}

static void test_saga_crash_while_compensating_finishes_compensation(void **state)
{
	/* fail at step 2: persists 0..4 forward, then back; crash in each back persist */
	for (volatile int n = 5; n < 5 + 7; n++) {
		struct world w = { .fail_at = 2, .crash_after = n };
		struct cg_saga s = { steps, NSTEPS, w_persist, &w };
		struct cg_saga_rec rec;
		char err[256];

		if (!setjmp(w.crash))
			cg_saga_run(&s, &rec, err, sizeof(err));
		rec = w.disk;
		w.crash_after = -1;
		assert_int_equal(cg_saga_resume(&s, &rec, err, sizeof(err)), -ECANCELED);
		assert_int_equal(w.disk.phase, CG_SAGA_COMPENSATED);
		for (int i = 0; i < NSTEPS; i++)
			assert_int_equal(w.v[i], 0);
	}
}

static void test_saga_one_step_at_a_time_then_abort_in_reverse(void **state)
{
	struct world w = { .fail_at = -1, .crash_after = -1 };
	struct cg_saga s = { steps, NSTEPS, w_persist, &w };
	struct cg_saga_rec rec = { 0 };
	char err[256];

	/* each call runs one step and leaves the saga between two steps */
	for (int k = 0; k < 3; k++) {
		assert_int_equal(cg_saga_next(&s, &rec, err, sizeof(err)), 0);
		assert_int_equal(rec.phase, CG_SAGA_FORWARD);
		assert_int_equal(rec.done, k + 1);
		assert_int_equal(rec.in_step, 0);
		assert_memory_equal(&w.disk, &rec, sizeof(rec));
	}
	assert_int_equal(cg_saga_abort(&s, &rec, err, sizeof(err)), 0);
	assert_string_equal(w.log, "210");
	assert_int_equal(w.disk.phase, CG_SAGA_COMPENSATED);
	for (int i = 0; i < NSTEPS; i++)
		assert_int_equal(w.v[i], 0);
	/* neither runs on a saga that is not between two steps */
	assert_int_equal(cg_saga_abort(&s, &rec, err, sizeof(err)), -EINVAL);
	assert_int_equal(cg_saga_next(&s, &rec, err, sizeof(err)), -EINVAL);

	/* to the end: the last step makes it DONE */
	memset(&rec, 0, sizeof(rec));
	for (int k = 0; k < NSTEPS; k++)
		assert_int_equal(cg_saga_next(&s, &rec, err, sizeof(err)), 0);
	assert_int_equal(rec.phase, CG_SAGA_DONE);
	assert_int_equal(w.disk.phase, CG_SAGA_DONE);

	/* a failing step compensates the earlier ones too, in reverse */
	struct world f = { .fail_at = 2, .crash_after = -1 };
	struct cg_saga sf = { steps, NSTEPS, w_persist, &f };

	memset(&rec, 0, sizeof(rec));
	assert_int_equal(cg_saga_next(&sf, &rec, err, sizeof(err)), 0);
	assert_int_equal(cg_saga_next(&sf, &rec, err, sizeof(err)), 0);
	assert_int_equal(cg_saga_next(&sf, &rec, err, sizeof(err)), -EIO);
	assert_string_equal(err, "step 'persist': injected");
	assert_string_equal(f.log, "210");
	assert_int_equal(f.disk.phase, CG_SAGA_COMPENSATED);
}

/* A config's failover section: parsed, checked, mapped to the rules, diffed, written back. */
static void diff_count(void *arg, char op, const char *kind, const char *name, const char *detail)
{
	char *out = arg;

	(void)op;
	(void)kind;
	snprintf(out + strlen(out), 512 - strlen(out), "%s: %s\n", name, detail);
}

static void test_failover_section_parses_maps_to_rules_and_diffs(void **unused)
{
	static const char text[] =
		"region: r1\ninterfaces: [eth0]\nregions:\n  - {name: r1, cost: 0}\n"
		"failover:\n  min_cells: 2\n  min_regions: 2\n  wait: 30\n"
		"  evacuation_ttl: 0\n  max_out: 0.25\n  ramp: [0.2, 0.6, 1]\n"
		"  dwell: 5\n  max_step: 0.4\n  auto_evacuate: 0.5\n";
	struct cg_state def, st, back;
	struct cg_rules r, d;
	char err[256], changes[512] = "", *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)unused;
	cg_state_init(&def);
	cg_rules_from(&def.failover, &r);
	cg_rules_defaults(&d);
	assert_memory_equal(&r, &d, sizeof(r)); /* the section's defaults are the rules' */

	assert_int_equal(cg_config_parse_buf("t.yaml", text, strlen(text), &st, err, sizeof(err)),
			 0);
	assert_int_equal(st.failover.auto_evacuate_ppm, 500000);
	cg_rules_from(&st.failover, &r);
	assert_int_equal(r.min_cells, 2);
	assert_int_equal(r.min_regions, 2);
	assert_int_equal(r.wait, 30);
	assert_int_equal(r.ttl, 0);
	assert_int_equal(r.max_out_ppm, 250000);
	assert_int_equal(r.ramp.nsteps, 3);
	assert_int_equal(r.ramp.step_ppm[0], 200000);
	assert_int_equal(r.ramp.step_ppm[2], CG_PPM);
	assert_int_equal(r.ramp.dwell, 5);
	assert_int_equal(r.ramp.max_step_ppm, 400000);

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(cg_state_write(&st, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "    ramp: [0.2, 0.6, 1]\n"));
	assert_int_equal(cg_config_parse_buf("w.yaml", buf, len, &back, err, sizeof(err)), 0);
	assert_int_equal(cg_state_diff(&st, &back, NULL, NULL), 0);
	free(buf);

	cg_state_free(&def);
	assert_int_equal(cg_state_copy(&def, &st), 0);
	def.failover.nramp = 4;
	def.failover.ramp_ppm[2] = 800000;
	def.failover.ramp_ppm[3] = CG_PPM;
	def.failover.wait = 60;
	assert_int_equal(cg_state_diff(&st, &def, diff_count, changes), 2);
	assert_string_equal(changes, "failover.wait: 30 -> 60\n"
				     "failover.ramp: [0.2, 0.6, 1] -> [0.2, 0.6, 0.8, 1]\n");
	cg_state_free(&def);
	cg_state_free(&back);
	cg_state_free(&st);
}

/* Two regions, one record each state can be checked against, a saga in flight. */
#define EVAC_TOP                                                              \
	"region: r1\ninterfaces: [eth0]\nregions:\n  - {name: r1, cost: 0}\n" \
	"  - {name: r2, cost: 5}\n"

static const char evac_text[] =
	EVAC_TOP "evacuations:\n"
		 "  - {region: r2, state: evacuated, since: 1795000100, expires: 1795003600,\n"
		 "     changed: 1795000000, forced: true, by: ops, reason: \"cable cut\"}\n"
		 "saga:\n  region: r2\n  event: evacuate\n  from: active\n  steps: 3\n"
		 "  started: 1795000000\n  phase: forward\n  done: 1\n  in_step: 1\n";

static void parse_ok(const char *text, struct cg_state *st)
{
	char err[256];

	if (cg_config_parse_buf("t.yaml", text, strlen(text), st, err, sizeof(err)))
		fail_msg("%s", err);
}

static void test_evac_records_parse_check_round_trip_and_diff(void **unused)
{
	struct cg_state st, back, nw;
	char err[256], changes[512] = "", *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)unused;
	parse_ok(evac_text, &st);
	assert_int_equal(st.nevacs, 1);
	assert_string_equal(st.evacs[0].region, "r2");
	assert_int_equal(st.evacs[0].state, CG_REGION_EVACUATED);
	assert_true(st.evacs[0].forced);
	assert_int_equal(st.evacs[0].expires, 1795003600);
	assert_string_equal(st.saga.region, "r2");
	assert_int_equal(st.saga.rec.phase, CG_SAGA_FORWARD);
	assert_int_equal(st.saga.rec.done, 1);
	assert_int_equal(st.saga.rec.in_step, 1);
	assert_int_equal(cg_saga_decide(&st.saga.rec), CG_SAGA_COMPENSATE);

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(cg_state_write(&st, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "evacuations:\n  - region: r2\n    state: evacuated\n"));
	assert_non_null(strstr(buf, "saga:\n    region: r2\n    event: evacuate\n"));
	assert_int_equal(cg_config_parse_buf("w.yaml", buf, len, &back, err, sizeof(err)), 0);
	assert_int_equal(cg_state_diff(&st, &back, NULL, NULL), 0);
	free(buf);

	/* a copy is deep; a transition shows in the diff, so it is saved */
	assert_int_equal(cg_state_copy(&nw, &st), 0);
	assert_ptr_not_equal(nw.evacs, st.evacs);
	nw.evacs[0].state = CG_REGION_RESTORING;
	nw.evacs[0].expires = 0;
	nw.saga.rec.done = 2;
	nw.saga.rec.in_step = 0;
	assert_int_equal(cg_state_check(&nw, NULL, err, sizeof(err)), 0);
	assert_int_equal(cg_state_diff(&st, &nw, diff_count, changes), 3);
	assert_string_equal(changes, "saga.done: 1 -> 2\nsaga.in_step: 1 -> 0\n"
				     "r2: state evacuated -> restoring, expires 1795003600 -> 0\n");
	/* no saga in flight: the section is not written */
	nw.saga.region[0] = '\0';
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(cg_state_write(&nw, f), 0);
	fclose(f);
	assert_null(strstr(buf, "saga:"));
	free(buf);
	cg_state_free(&nw);
	cg_state_free(&back);
	cg_state_free(&st);
}

struct evac_bad {
	const char *text, *expect;
};

static void test_evac_records_bad_values_name_field_and_line(void **unused)
{
	static const struct evac_bad cases[] = {
		{ EVAC_TOP "evacuations:\n  - {region: r9, state: evacuated}\n",
		  "t.yaml:7: evacuation 'r9': unknown region 'r9'" },
		{ EVAC_TOP "evacuations:\n  - {region: r2, state: gone}\n",
		  "t.yaml:7: evacuation #1: unknown state 'gone' (expected active, draining, "
		  "evacuated or restoring)" },
		{ EVAC_TOP "evacuations:\n  - {region: r2, state: restoring, step: 4}\n",
		  "t.yaml:7: evacuation 'r2': step 4: a step is only kept while restoring, below "
		  "the ramp's 4 steps" },
		{ EVAC_TOP "evacuations:\n  - {region: r2, state: active, expires: 5}\n",
		  "t.yaml:7: evacuation 'r2': expires 5: only a draining or evacuated region "
		  "expires" },
		{ EVAC_TOP "evacuations:\n  - {region: r2, state: active, since: 5, changed: 9}\n",
		  "t.yaml:7: evacuation 'r2': since 5 is before its last transition (changed 9)" },
		{ EVAC_TOP "evacuations:\n  - {region: r2, state: active}\n"
			   "  - {region: r2, state: active}\n",
		  "t.yaml:8: duplicate evacuation name 'r2' (first at line 7)" },
		{ EVAC_TOP "saga: {region: r2, event: evacuate, from: active, steps: 2, phase: "
			   "forward}\n",
		  "t.yaml:6: saga: region 'r2' has no evacuation record" },
		{ EVAC_TOP "evacuations:\n  - {region: r2, state: draining}\n"
			   "saga: {region: r2, event: evacuate, from: active, steps: 2, phase: "
			   "forward, done: 3}\n",
		  "t.yaml:8: saga: done 3 is more than its 2 steps" },
		{ EVAC_TOP "evacuations:\n  - {region: r2, state: draining}\n"
			   "saga: {region: r2, event: evacuate, from: active, steps: 2, phase: "
			   "idle}\n",
		  "t.yaml:8: saga: phase idle: a saga in flight has started" },
	};
	struct cg_state st;
	char err[256];

	(void)unused;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(cg_config_parse_buf("t.yaml", cases[i].text, strlen(cases[i].text),
						     &st, err, sizeof(err)),
				 -EINVAL);
		if (strcmp(err, cases[i].expect))
			fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].expect);
	}
}

static void test_evac_config_apply_carries_records_and_refuses_removal(void **unused)
{
	struct cg_state run, conf;
	char err[256];

	(void)unused;
	parse_ok(evac_text, &run);
	/* a config that does not mention them: the records and the saga are carried */
	parse_ok(EVAC_TOP, &conf);
	assert_int_equal(cg_evac_carry(&conf, &run, err, sizeof(err)), 0);
	assert_int_equal(conf.nevacs, 1);
	assert_int_equal(conf.evacs[0].state, CG_REGION_EVACUATED);
	assert_string_equal(conf.saga.region, "r2");
	assert_int_equal(cg_state_check(&conf, NULL, err, sizeof(err)), 0);
	assert_int_equal(cg_state_diff(&run, &conf, NULL, NULL), 0);
	cg_state_free(&conf);

	/* one that writes them as they run (a fresh dump) too */
	parse_ok(evac_text, &conf);
	assert_int_equal(cg_evac_carry(&conf, &run, err, sizeof(err)), 0);
	cg_state_free(&conf);

	/* one that writes other records is refused */
	parse_ok(EVAC_TOP "evacuations:\n  - {region: r2, state: active}\n", &conf);
	assert_int_equal(cg_evac_carry(&conf, &run, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "evacuations: region 'r2': the config's record differs from the "
				 "running one; records are set by 'cellctl region', not by a "
				 "config (leave the section out)");
	assert_int_equal(conf.nevacs, 1);
	assert_int_equal(conf.evacs[0].state, CG_REGION_ACTIVE); /* untouched */
	cg_state_free(&conf);

	/* removing a region with a live record is refused */
	parse_ok("region: r1\ninterfaces: [eth0]\nregions:\n  - {name: r1, cost: 0}\n", &conf);
	assert_int_equal(cg_evac_carry(&conf, &run, err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "region 'r2' is evacuated: restore it before removing it from "
				 "the config");
	assert_int_equal(conf.nevacs, 0);
	/* an active record without a saga goes with its region */
	run.evacs[0].state = CG_REGION_ACTIVE;
	run.evacs[0].expires = 0;
	run.saga.region[0] = '\0';
	assert_int_equal(cg_evac_carry(&conf, &run, err, sizeof(err)), 0);
	assert_int_equal(conf.nevacs, 0);
	cg_state_free(&conf);

	/* no running state (first start, repair): the file's records are taken */
	parse_ok(evac_text, &conf);
	assert_int_equal(cg_evac_carry(&conf, NULL, err, sizeof(err)), 0);
	assert_int_equal(conf.nevacs, 1);
	cg_state_free(&conf);
	cg_state_free(&run);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_region_cells_sorted),
		T(test_region_full_cycle),
		T(test_region_refused_transitions),
		T(test_region_extend_and_expire_starts_restore),
		T(test_region_flap_and_abort_restore_go_back_to_evacuated),
		T(test_region_dwell_rule_at_boundary_and_force),
		T(test_region_one_at_a_time_and_force),
		T(test_region_wait_rule_at_boundary),
		T(test_region_min_cells_at_boundary_and_force),
		T(test_region_min_regions_at_boundary),
		T(test_region_rules_check_any_change_max_out),
		T(test_region_rules_min_cells_never_worse),
		T(test_region_ramp_fraction_and_check),
		T(test_region_fractions_from_records),
		T(test_region_plan_follows_spare_capacity_and_locality),
		T(test_region_plan_spills_to_next_tier),
		T(test_region_preshed_lowest_first_protected_never),
		T(test_region_plan_short_of_capacity),
		cmocka_unit_test(test_failover_section_parses_maps_to_rules_and_diffs),
		cmocka_unit_test(test_evac_records_parse_check_round_trip_and_diff),
		cmocka_unit_test(test_evac_records_bad_values_name_field_and_line),
		cmocka_unit_test(test_evac_config_apply_carries_records_and_refuses_removal),
		cmocka_unit_test(test_saga_all_steps),
		cmocka_unit_test(test_saga_failure_at_every_step_compensates_in_reverse),
		cmocka_unit_test(test_saga_crash_at_every_persist_resumes_or_compensates),
		cmocka_unit_test(test_saga_crash_while_compensating_finishes_compensation),
		cmocka_unit_test(test_saga_one_step_at_a_time_then_abort_in_reverse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
