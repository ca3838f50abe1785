// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_failover.c - the failover controller on a virtual clock: auto evacuation, expiry, ramp, flap */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tstate.h"

#include "cellgate/config.h"
#include "cellgate/failover.h"

/* tstate_lab: 3 regions x 2 cells, as the lab has them (c2 draining) */
enum { A1, A2, B1, B2, C1, C2, NC };
enum { R1, R2, R3 };

struct fx {
	struct cg_state st;
	struct cg_rules rules;
	struct cg_evac recs[3];
	uint8_t health[NC];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || tstate_parse(&f->st, tstate_lab))
		return -1;
	cg_rules_defaults(&f->rules);
	f->rules.max_out_ppm = CG_PPM;
	strcpy(f->recs[R1].region, "r1");
	strcpy(f->recs[R2].region, "r2");
	strcpy(f->recs[R3].region, "r3");
	memset(f->health, CG_HEALTH_UP, sizeof(f->health));
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

static struct cg_fo_input in(struct fx *f, int64_t now, uint32_t auto_ppm)
{
	return (struct cg_fo_input){ .st = &f->st,	.recs = f->recs, .nrecs = 3,
				     .rules = &f->rules, .health = f->health,
				     .auto_ppm = auto_ppm, .now = now };
}

/* decide, and apply what is due through the transition path; the event, or -1 */
static int step(struct fx *f, int64_t now, uint32_t auto_ppm, struct cg_fo_action *a)
{
	struct cg_fo_input i = in(f, now, auto_ppm);
	struct cg_evac_ctx c = { .st = &f->st, .recs = f->recs, .nrecs = 3, .rules = &f->rules,
				 .now = now, .by = "cellgated", .reason = NULL };

	if (!cg_failover_decide(&i, a))
		return -1;
	c.reason = a->why;
	assert_int_equal(cg_evac_transition(&f->recs[a->region], a->ev, &c, NULL), 0);
	return a->ev;
}

static void test_healthy_world_asks_nothing(void **state)
{
	struct fx *f = *state;
	struct cg_fo_action a;
	struct cg_fo_input i = in(f, 1000, 500000);

	assert_int_equal(cg_failover_decide(&i, &a), 0);
	assert_int_equal(a.region, -1);
	assert_int_equal(a.next_due, 0);
}

static void test_region_losing_its_share_is_evacuated(void **state)
{
	struct fx *f = *state;
	struct cg_fo_action a;
	struct cg_fo_input i;

	f->health[B1] = CG_HEALTH_DOWN; /* 1 of 2: below a 100% threshold */
	i = in(f, 1000, CG_PPM);
	assert_int_equal(cg_failover_decide(&i, &a), 0);
	i.auto_ppm = 500000; /* half: 1 of 2 is enough */
	assert_int_equal(cg_failover_decide(&i, &a), 1);
	assert_int_equal(a.region, R2);
	assert_int_equal(a.ev, CG_EV_EVACUATE);
	assert_string_equal(a.why, "health: 1 of 2 cells of 'r2' down");
	i.auto_ppm = 0; /* off */
	assert_int_equal(cg_failover_decide(&i, &a), 0);
}

/* only active cells count: r3's drained c2 is neither a loss nor part of the share */
static void test_share_counts_active_cells_only(void **state)
{
	struct fx *f = *state;
	struct cg_fo_action a;
	struct cg_fo_input i;
	uint32_t total, down, up;

	f->health[C2] = CG_HEALTH_DOWN;
	i = in(f, 1000, CG_PPM);
	assert_int_equal(cg_failover_decide(&i, &a), 0);
	cg_failover_region_health(&f->st, f->health, R3, &total, &down, &up);
	assert_int_equal(total, 1);
	assert_int_equal(down, 0);
	assert_int_equal(up, 1);
	f->health[C1] = CG_HEALTH_DOWN;
	assert_int_equal(cg_failover_decide(&i, &a), 1);
	assert_int_equal(a.region, R3);
	assert_string_equal(a.why, "health: 1 of 1 cells of 'r3' down");
}

static void test_unknown_is_not_down(void **state)
{
	struct fx *f = *state;
	struct cg_fo_action a;
	struct cg_fo_input i;

	memset(f->health, CG_HEALTH_UNKNOWN, sizeof(f->health));
	i = in(f, 1000, 1);
	assert_int_equal(cg_failover_decide(&i, &a), 0);
	i.health = NULL; /* probes off */
	assert_int_equal(cg_failover_decide(&i, &a), 0);
}

static void test_panic_freezes_everything(void **state)
{
	struct fx *f = *state;
	struct cg_fo_action a;
	struct cg_fo_input i;

	memset(f->health, CG_HEALTH_DOWN, sizeof(f->health));
	f->recs[R3].state = CG_REGION_EVACUATED;
	f->recs[R3].expires = 500;
	i = in(f, 1000, 1);
	i.panic = true;
	assert_int_equal(cg_failover_decide(&i, &a), 0);
	assert_int_equal(a.region, -1);
	i.panic = false;
	assert_int_equal(cg_failover_decide(&i, &a), 1);
}

static void test_expiry_is_due_at_its_time(void **state)
{
	struct fx *f = *state;
	struct cg_fo_action a;
	struct cg_fo_input i;

	f->recs[R2].state = CG_REGION_EVACUATED;
	f->recs[R2].expires = 2000;
	i = in(f, 1999, 0);
	assert_int_equal(cg_failover_decide(&i, &a), 0);
	assert_int_equal(a.next_due, 2000);
	i.now = 2000;
	assert_int_equal(cg_failover_decide(&i, &a), 1);
	assert_int_equal(a.region, R2);
	assert_int_equal(a.ev, CG_EV_EXPIRE);
	f->recs[R2].expires = 0; /* never expires */
	assert_int_equal(cg_failover_decide(&i, &a), 0);
	assert_int_equal(a.next_due, 0);
}

/* the whole life of a region on the virtual clock, through cg_evac_transition */
static void test_loss_evacuation_expiry_and_ramp(void **state)
{
	struct fx *f = *state;
	struct cg_fo_action a;
	int64_t t = 10000;
	uint32_t frac[3];

	f->rules.ttl = 600;
	f->health[B1] = f->health[B2] = CG_HEALTH_DOWN;
	assert_int_equal(step(f, t, 500000, &a), CG_EV_EVACUATE);
	assert_int_equal(f->recs[R2].state, CG_REGION_DRAINING);
	assert_string_equal(f->recs[R2].reason, "health: 2 of 2 cells of 'r2' down");
	/* draining is the saga's: the controller leaves it alone */
	assert_int_equal(step(f, t + 1, 500000, &a), -1);
	assert_int_equal(cg_evac_transition(&f->recs[R2], CG_EV_STEP_DONE,
					    &(struct cg_evac_ctx){ .st = &f->st, .recs = f->recs,
								   .nrecs = 3, .rules = &f->rules,
								   .now = t + 1 },
					    NULL),
			 0);
	/* evacuated: due again at its expiry, health or not */
	f->health[B1] = f->health[B2] = CG_HEALTH_UP;
	assert_int_equal(step(f, t + 2, 500000, &a), -1);
	assert_int_equal(a.next_due, t + 600);
	assert_int_equal(step(f, t + 600, 500000, &a), CG_EV_EXPIRE);
	assert_int_equal(f->recs[R2].state, CG_REGION_RESTORING);
	/* each ramp step waits its dwell, then moves one step */
	for (size_t s = 0; s < f->rules.ramp.nsteps; s++) {
		int64_t start = f->recs[R2].step_started;

		cg_evac_fractions(&f->st, f->recs, 3, &f->rules.ramp, frac);
		assert_int_equal(frac[R2], f->rules.ramp.step_ppm[s]);
		/* stamps are whole seconds: held dwell for sure one second after */
		assert_int_equal(step(f, start + f->rules.ramp.dwell, 500000, &a), -1);
		assert_int_equal(a.next_due, start + f->rules.ramp.dwell + 1);
		assert_int_equal(step(f, start + f->rules.ramp.dwell + 1, 500000, &a),
				 CG_EV_STEP_DONE);
	}
	assert_int_equal(f->recs[R2].state, CG_REGION_ACTIVE);
	assert_int_equal(step(f, t + 100000, 500000, &a), -1);
}

static void test_flap_while_restoring_goes_back(void **state)
{
	struct fx *f = *state;
	struct cg_fo_action a;

	f->recs[R2].state = CG_REGION_RESTORING;
	f->recs[R2].step = 1;
	f->recs[R2].step_started = 1000;
	f->health[B2] = CG_HEALTH_DOWN;
	assert_int_equal(step(f, 1001, 0, &a), CG_EV_FLAP); /* even with auto off */
	assert_string_equal(a.why, "health: 1 of 2 cells of 'r2' down while restoring");
	assert_int_equal(f->recs[R2].state, CG_REGION_EVACUATED);
}

/* a ramp step is gated by health: with no cell up yet, the dwell alone does not move it */
static void test_step_waits_for_an_up_cell(void **state)
{
	struct fx *f = *state;
	struct cg_fo_action a;
	struct cg_fo_input i;

	f->recs[R2].state = CG_REGION_RESTORING;
	f->recs[R2].step_started = 1000;
	f->health[B1] = f->health[B2] = CG_HEALTH_UNKNOWN;
	i = in(f, 1000 + f->rules.ramp.dwell + 1, 0);
	assert_int_equal(cg_failover_decide(&i, &a), 0);
	f->health[B1] = CG_HEALTH_UP;
	assert_int_equal(cg_failover_decide(&i, &a), 1);
	assert_int_equal(a.ev, CG_EV_STEP_DONE);
	i.health = NULL; /* probes off: the dwell is the gate */
	f->health[B1] = CG_HEALTH_UNKNOWN;
	assert_int_equal(cg_failover_decide(&i, &a), 1);
}

/* the rules still guard what the controller asks: the last active region is never evacuated */
static void test_rules_refuse_an_automatic_evacuation(void **state)
{
	struct fx *f = *state;
	struct cg_fo_action a;
	struct cg_fo_input i;
	struct cg_rules_result res;
	struct cg_evac_ctx c = { .st = &f->st, .recs = f->recs, .nrecs = 3, .rules = &f->rules,
				 .now = 5000 };

	f->recs[R2].state = f->recs[R3].state = CG_REGION_EVACUATED;
	f->health[A1] = f->health[A2] = CG_HEALTH_DOWN;
	i = in(f, 5000, 500000);
	assert_int_equal(cg_failover_decide(&i, &a), 1);
	assert_int_equal(a.region, R1);
	assert_int_equal(cg_evac_transition(&f->recs[R1], a.ev, &c, &res), -EPERM);
	assert_true(res.failed & CG_RULE_MIN_REGIONS);
	assert_int_equal(f->recs[R1].state, CG_REGION_ACTIVE);
}

static void assign_ids(struct fx *f)
{
	for (size_t i = 0; i < f->st.ncells; i++)
		f->st.cells[i].id = (uint32_t)(10 + i); /* ids are not indexes */
}

/* everything full and healthy: no overlay at all; a down cell: a cap and nothing else */
static void test_overlay_caps_down_cells_only_when_full(void **state)
{
	struct fx *f = *state;
	static struct cg_cell_overlay ov[CG_MAX_CELLS], zero[CG_MAX_CELLS];
	uint32_t frac[3] = { CG_PPM, CG_PPM, CG_PPM };

	assign_ids(f);
	memset(ov, 0xff, sizeof(ov));
	assert_int_equal(cg_failover_overlay(&f->st, frac, NULL, f->health, ov), 0);
	assert_memory_equal(ov, zero, sizeof(ov));
	f->health[B1] = CG_HEALTH_DOWN;
	assert_int_equal(cg_failover_overlay(&f->st, NULL, NULL, f->health, ov), 0);
	assert_int_equal(ov[10 + B1].cap, CG_CELL_DOWN);
	assert_int_equal(ov[10 + B1].flags, 0);
	ov[10 + B1].cap = 0;
	assert_memory_equal(ov, zero, sizeof(ov));
}

/* r2 out: its cells weigh 0, the nearest survivors (r1) take its weight, r3 keeps its own */
static void test_overlay_moves_an_evacuated_share_to_the_nearest(void **state)
{
	struct fx *f = *state;
	static struct cg_cell_overlay ov[CG_MAX_CELLS];
	uint32_t frac[3] = { CG_PPM, 0, CG_PPM };

	assign_ids(f);
	assert_int_equal(cg_failover_overlay(&f->st, frac, NULL, NULL, ov), 0);
	for (size_t i = 0; i < NC - 1; i++)
		assert_true(ov[10 + i].flags & CG_OVERLAY_F_WEIGHT);
	assert_int_equal(ov[10 + B1].weight, 0);
	assert_int_equal(ov[10 + B2].weight, 0);
	assert_int_equal(ov[10 + A1].weight + ov[10 + A2].weight, 400); /* 200 own + 200 moved */
	assert_int_equal(ov[10 + C1].weight, 100);
	assert_int_equal(ov[10 + C2].flags, 0); /* draining in the state: not the plan's */
}

/* a down survivor takes nothing: the share goes to the healthy ones */
static void test_overlay_skips_down_survivors(void **state)
{
	struct fx *f = *state;
	static struct cg_cell_overlay ov[CG_MAX_CELLS];
	uint32_t frac[3] = { CG_PPM, 0, CG_PPM };

	assign_ids(f);
	f->health[A2] = CG_HEALTH_DOWN;
	assert_int_equal(cg_failover_overlay(&f->st, frac, NULL, f->health, ov), 0);
	assert_int_equal(ov[10 + A2].cap, CG_CELL_DOWN);
	assert_int_equal(ov[10 + A2].flags, 0);
	assert_int_equal(ov[10 + A1].weight, 300);
}

/* a dead region evacuated: its cells are down too, and still its share goes to the nearest */
static void test_overlay_dead_region_share_goes_nearest(void **state)
{
	struct fx *f = *state;
	static struct cg_cell_overlay ov[CG_MAX_CELLS];
	uint32_t frac[3] = { CG_PPM, 0, CG_PPM };

	assign_ids(f);
	f->health[B1] = f->health[B2] = CG_HEALTH_DOWN;
	assert_int_equal(cg_failover_overlay(&f->st, frac, NULL, f->health, ov), 0);
	assert_int_equal(ov[10 + B1].cap, CG_CELL_DOWN);
	assert_int_equal(ov[10 + B2].cap, CG_CELL_DOWN);
	assert_int_equal(ov[10 + A1].weight + ov[10 + A2].weight, 400);
	assert_int_equal(ov[10 + C1].weight, 100);
}

/* a ramp step: the region keeps exactly its fraction of its weight */
static void test_overlay_ramp_fraction(void **state)
{
	struct fx *f = *state;
	static struct cg_cell_overlay ov[CG_MAX_CELLS];
	uint32_t frac[3] = { CG_PPM, 250000, CG_PPM };

	assign_ids(f);
	assert_int_equal(cg_failover_overlay(&f->st, frac, NULL, NULL, ov), 0);
	assert_int_equal(ov[10 + B1].weight, 25);
	assert_int_equal(ov[10 + B2].weight, 25);
	assert_int_equal(ov[10 + A1].weight + ov[10 + A2].weight, 350);
}

static void test_overlay_without_survivors(void **state)
{
	struct fx *f = *state;
	static struct cg_cell_overlay ov[CG_MAX_CELLS];
	uint32_t frac[3] = { 0, 0, 0 };

	assign_ids(f);
	f->health[C1] = CG_HEALTH_DOWN;
	assert_int_equal(cg_failover_overlay(&f->st, frac, NULL, f->health, ov), -ENOSPC);
	assert_int_equal(ov[10 + C1].cap, CG_CELL_DOWN);
	assert_int_equal(ov[10 + A1].flags, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_healthy_world_asks_nothing),
		T(test_region_losing_its_share_is_evacuated),
		T(test_share_counts_active_cells_only),
		T(test_unknown_is_not_down),
		T(test_panic_freezes_everything),
		T(test_expiry_is_due_at_its_time),
		T(test_loss_evacuation_expiry_and_ramp),
		T(test_flap_while_restoring_goes_back),
		T(test_step_waits_for_an_up_cell),
		T(test_rules_refuse_an_automatic_evacuation),
		T(test_overlay_caps_down_cells_only_when_full),
		T(test_overlay_moves_an_evacuated_share_to_the_nearest),
		T(test_overlay_skips_down_survivors),
		T(test_overlay_dead_region_share_goes_nearest),
		T(test_overlay_ramp_fraction),
		T(test_overlay_without_survivors),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
