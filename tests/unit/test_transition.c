// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_transition.c - region transitions as sagas on a virtual clock: the restore's ramp, failures, flaps, crashes */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tstate.h"

#include "cellgate/failover.h"
#include "cellgate/transition.h"

#define T0  100000 /* the virtual clock's start */
#define TTL 600	   /* the rules' evacuation ttl */

/* The world: the desired state the commits replace, and the faults. */
struct fx {
	struct cg_state st;
	struct cg_rules rules;
	struct cg_trans_ops ops;
	const char *fault; /* the point that fails (ops->fault), NULL none */
	int crash_at;	   /* the commit that never lands (a kill -9 before it), -1 none */
	int commits;	   /* commits tried */
	char log[4096];	   /* the steps' commits (not the progress saves), one a line */
	jmp_buf crash;
};

static const struct cg_state *fx_state(void *arg)
{
	return &((struct fx *)arg)->st;
}

static int fx_commit(void *arg, struct cg_state *next, const char *what, char *err, size_t len)
{
	struct fx *f = arg;
	const char *w = strstr(what, ": ");
	struct cg_state copy;

	if (f->crash_at >= 0 && f->commits == f->crash_at) {
		cg_state_free(next); /* its owner's frame is gone with the crash */
		longjmp(f->crash, 1);
	}
	f->commits++;
	if (cg_state_copy(&copy, next)) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	cg_state_free(&f->st);
	f->st = copy;
	w = w ? w + 2 : what;
	if (strcmp(w, "saga progress"))
		snprintf(f->log + strlen(f->log), sizeof(f->log) - strlen(f->log), "%s\n", w);
	return 1;
}

static bool fx_fault(void *arg, const char *point)
{
	struct fx *f = arg;

	return f->fault && !strcmp(f->fault, point);
}

/* a shed entry on cell a1 */
static void shed_add(struct cg_state *st, uint8_t class, const char *by, int64_t expires)
{
	struct cg_shed_cfg *e;

	st->shed = realloc(st->shed, (st->nshed + 1) * sizeof(*st->shed));
	assert_non_null(st->shed);
	e = &st->shed[st->nshed++];
	memset(e, 0, sizeof(*e));
	strcpy(e->cell, "a1");
	e->class = class;
	e->level_ppm = 250000;
	e->expires = expires;
	snprintf(e->by, sizeof(e->by), "%s", by);
}

/* tstate_lab with r2 evacuated (expiring at T0 + TTL) with a pre-shed level on a1, and an operator's level */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct cg_evac r = { .region = "r2", .state = CG_REGION_EVACUATED };

	if (!f || tstate_parse(&f->st, tstate_lab))
		return -1;
	cg_rules_defaults(&f->rules);
	f->rules.wait = 0;
	f->rules.ttl = TTL;
	f->rules.max_out_ppm = CG_PPM;
	f->ops = (struct cg_trans_ops){ fx_state, fx_commit, fx_fault, NULL, f };
	f->crash_at = -1;
	r.expires = T0 + TTL;
	r.changed = r.step_started = T0 - 100;
	if (cg_evac_put(&f->st, &r))
		return -1;
	shed_add(&f->st, 3, CG_PRESHED_BY "r2", T0 + TTL);
	shed_add(&f->st, 2, "an operator", 0);
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
	return (struct cg_evac_ctx){ .st = &f->st,	    .recs = f->st.evacs,
				     .nrecs = f->st.nevacs, .rules = &f->rules,
				     .now = now,	    .by = "op",
				     .reason = "test" };
}

static struct cg_evac r2(struct fx *f)
{
	return cg_evac_get(&f->st, "r2");
}

/* the ramp's steps, then active */
static size_t nsteps(struct fx *f)
{
	return f->rules.ramp.nsteps + 1;
}

/* cellctl region restore r2 at now, as cellgated runs it */
static int restore(struct fx *f, int64_t now, struct cg_saga_rec *rec, char *err, size_t len)
{
	struct cg_trans x = { .ops = &f->ops, .now = now, .nsteps = nsteps(f), .cause = "t" };
	struct cg_evac_ctx c = ctx(f, now);

	x.before = x.target = r2(f);
	assert_int_equal(cg_evac_transition(&x.target, CG_EV_RESTORE, &c, NULL), 0);
	return cg_trans_restore(&x, rec, err, len);
}

/* the controller's step done at now: the next step of the restore in flight */
static int ramp(struct fx *f, int64_t now, struct cg_saga_rec *rec, char *err, size_t len)
{
	struct cg_trans x = { .ops = &f->ops };
	struct cg_evac after = r2(f);
	struct cg_evac_ctx c = ctx(f, now);
	int ret = cg_evac_transition(&after, CG_EV_STEP_DONE, &c, NULL);

	if (ret)
		return ret;
	assert_int_equal(cg_trans_of(&x, rec, &f->st, "r2", &f->rules, now), 0);
	strcpy(x.cause, "t");
	x.target = after;
	return cg_trans_ramp(&x, rec, err, len);
}

/* the region's share now (ppm) */
static uint32_t share(struct fx *f)
{
	uint32_t frac[3];

	cg_evac_fractions(&f->st, f->st.evacs, f->st.nevacs, &f->rules.ramp, frac);
	return frac[1];
}

/* the pre-shed level of r2 on a1 (its expiry in *expires), or NULL */
static const struct cg_shed_cfg *preshed(struct fx *f)
{
	for (size_t i = 0; i < f->st.nshed; i++)
		if (cg_trans_is_preshed(&f->st.shed[i], "r2"))
			return &f->st.shed[i];
	return NULL;
}

/* r2 is evacuated, nothing in flight, its pre-shed level kept and expiring with it */
static void assert_evacuated(struct fx *f)
{
	struct cg_evac r = r2(f);

	assert_int_equal(r.state, CG_REGION_EVACUATED);
	assert_int_equal(share(f), 0);
	assert_string_equal(f->st.saga.region, "");
	assert_non_null(preshed(f));
	assert_int_equal(preshed(f)->expires, r.expires);
	assert_int_equal(f->st.nshed, 2); /* the operator's level is left alone */
}

/* The whole ramp: one saga step each, the saga between steps persisted, pre-shed gone at the end. */
static void test_restore_saga_ramps_step_by_step_to_active(void **state)
{
	struct fx *f = *state;
	struct cg_saga_rec rec;
	int64_t t = T0;
	char err[256];

	assert_int_equal(restore(f, t, &rec, err, sizeof(err)), 0);
	for (size_t k = 1; k < nsteps(f); k++) {
		/* between steps: the persisted saga says how far it got, the record agrees */
		assert_string_equal(f->st.saga.region, "r2");
		assert_int_equal(f->st.saga.event, CG_EV_RESTORE);
		assert_int_equal(f->st.saga.from, CG_REGION_EVACUATED);
		assert_int_equal(f->st.saga.nsteps, nsteps(f));
		assert_int_equal(f->st.saga.rec.phase, CG_SAGA_FORWARD);
		assert_int_equal(f->st.saga.rec.done, k);
		assert_int_equal(f->st.saga.rec.in_step, 0);
		assert_int_equal(r2(f).state, CG_REGION_RESTORING);
		assert_int_equal(r2(f).step, k - 1);
		assert_int_equal(share(f), f->rules.ramp.step_ppm[k - 1]);
		assert_non_null(preshed(f)); /* until the end: a compensation finds it */
		/* the dwell rule holds a step */
		assert_int_equal(ramp(f, t + f->rules.ramp.dwell - 1, &rec, err, sizeof(err)),
				 -EAGAIN);
		t += f->rules.ramp.dwell;
		assert_int_equal(ramp(f, t, &rec, err, sizeof(err)), 0);
	}
	assert_int_equal(rec.phase, CG_SAGA_DONE);
	assert_int_equal(r2(f).state, CG_REGION_ACTIVE);
	assert_int_equal(share(f), CG_PPM);
	assert_string_equal(f->st.saga.region, "");
	assert_null(preshed(f));
	assert_int_equal(f->st.nshed, 1);
	assert_string_equal(f->log, "ramp step 1 of 4\nramp step 2 of 4\nramp step 3 of 4\n"
				    "ramp step 4 of 4\nactive: the ramp is done\n");
}

/* A failure injected at each step (and at the first progress save): every step done is undone, in reverse. */
static void test_restore_failure_at_every_step_compensates_in_reverse(void **state)
{
	static const char *const points[] = { "persist", "ramp1", "ramp2", "ramp3", "ramp4",
					      "active" };
	/* a failing progress save undoes the step it was for: ramp1, which had not run */
	static const char *const undo[] = {
		"undo: evacuated again\n",
		"undo: evacuated again\n",
		"undo: back to ramp step 1\nundo: evacuated again\n",
		"undo: back to ramp step 2\nundo: back to ramp step 1\nundo: evacuated again\n",
		"undo: back to ramp step 3\nundo: back to ramp step 2\nundo: back to ramp step "
		"1\nundo: evacuated again\n",
		"undo: back to ramp step 4\nundo: back to ramp step 3\nundo: back to ramp step "
		"2\nundo: back to ramp step 1\nundo: evacuated again\n",
	};

	for (size_t k = 0; k < sizeof(points) / sizeof(points[0]); k++) {
		struct fx *f;
		struct cg_saga_rec rec;
		int64_t t = T0;
		char err[256] = "", *u;
		int ret;

		assert_int_equal(setup((void **)&f), 0);
		f->fault = points[k];
		ret = restore(f, t, &rec, err, sizeof(err));
		for (size_t s = 1; !ret && s < nsteps(f); s++) {
			t += f->rules.ramp.dwell;
			ret = ramp(f, t, &rec, err, sizeof(err));
		}
		assert_int_equal(ret, -EIO);
		if (k) {
			char want[64];

			snprintf(want, sizeof(want), "step '%s': injected failure", points[k]);
			assert_string_equal(err, want);
		}
		assert_int_equal(rec.phase, CG_SAGA_COMPENSATED);
		assert_evacuated(f);
		/* the failing step is undone first, then each before it, the last first */
		u = strstr(f->log, "undo:");
		assert_string_equal(u ? u : "", undo[k]);
		/* a compensated restore expires again: not at once */
		assert_int_equal(r2(f).expires, t + TTL);
		teardown((void **)&f);
	}
}

/* A cell down while restoring: the controller's flap compensates the ramp back to evacuated. */
static void test_flap_during_ramp_goes_back_to_evacuated(void **state)
{
	struct fx *f = *state;
	uint8_t health[6];
	struct cg_fo_action a;
	struct cg_saga_rec rec;
	struct cg_trans x = { .ops = &f->ops };
	struct cg_evac after;
	struct cg_evac_ctx c;
	int64_t t = T0;
	char err[256];

	memset(health, CG_HEALTH_UP, sizeof(health));
	assert_int_equal(restore(f, t, &rec, err, sizeof(err)), 0);
	t += f->rules.ramp.dwell;
	assert_int_equal(ramp(f, t, &rec, err, sizeof(err)), 0);
	assert_int_equal(share(f), f->rules.ramp.step_ppm[1]);
	health[3] = CG_HEALTH_DOWN; /* b2 */
	struct cg_fo_input in = { .st = &f->st,
				  .recs = f->st.evacs,
				  .nrecs = f->st.nevacs,
				  .rules = &f->rules,
				  .health = health,
				  .now = t + 1 };
	assert_int_equal(cg_failover_decide(&in, &a), 1);
	assert_int_equal(a.ev, CG_EV_FLAP);
	/* as cellgated applies it: the flap's record is where the compensation ends */
	after = r2(f);
	c = ctx(f, t + 1);
	assert_int_equal(cg_evac_transition(&after, CG_EV_FLAP, &c, NULL), 0);
	assert_int_equal(cg_trans_of(&x, &rec, &f->st, "r2", &f->rules, t + 1), 0);
	x.back = after;
	f->log[0] = '\0';
	assert_int_equal(cg_trans_back(&x, &rec, err, sizeof(err)), 0);
	assert_int_equal(rec.phase, CG_SAGA_COMPENSATED);
	assert_string_equal(f->log, "undo: back to ramp step 1\nundo: evacuated again\n");
	assert_evacuated(f);
	assert_string_equal(r2(f).reason, "health flapped while restoring");
	assert_int_equal(r2(f).expires, t + 1 + TTL);
	/* evacuated: the controller waits for the expiry, no restore loop */
	in.recs = f->st.evacs;
	in.nrecs = f->st.nevacs;
	assert_int_equal(cg_failover_decide(&in, &a), 0);
	assert_int_equal(a.next_due, t + 1 + TTL);
}

/*
 * A kill -9 before each commit of the whole restore: the state left is one
 * the saga describes, and after the restart it is compensated (cut inside a
 * step) or goes on (between steps) to active.
 */
static void test_restore_crash_at_every_commit_resumes_or_compensates(void **state)
{
	int total = 5 * 3 + 1; /* each step: save, commit, save; then the end */

	(void)state;
	for (volatile int n = 0; n < total; n++) {
		struct fx *f;
		struct cg_saga_rec rec;
		struct cg_trans x;
		volatile int64_t t = T0;
		char err[256];
		struct cg_evac r;
		int ret;

		assert_int_equal(setup((void **)&f), 0);
		f->crash_at = n;
		if (!setjmp(f->crash)) {
			ret = restore(f, t, &rec, err, sizeof(err));
			for (size_t s = 1; !ret && s < nsteps(f); s++) {
				t += f->rules.ramp.dwell;
				ret = ramp(f, t, &rec, err, sizeof(err));
			}
			fail_msg("commit %d: no crash", n);
		}
		f->crash_at = -1;
		r = r2(f);
		/* what was persisted: the saga in flight and the record agree */
		if (!f->st.saga.region[0]) {
			assert_true(n == 0); /* before the first progress save: nothing began */
			assert_int_equal(r.state, CG_REGION_EVACUATED);
			teardown((void **)&f);
			continue;
		}
		const struct cg_saga_rec p = f->st.saga.rec;
		/* the last step that may have run (in_step: it may or may not have) */
		uint32_t at = p.done - (p.in_step ? 0 : 1);

		assert_int_equal(p.phase, CG_SAGA_FORWARD);
		if (r.state == CG_REGION_RESTORING)
			assert_true(r.step == at || (p.in_step && (uint32_t)r.step + 1 == at));
		else if (r.state == CG_REGION_ACTIVE)
			assert_true(at == nsteps(f) - 1);
		else
			assert_true(r.state == CG_REGION_EVACUATED && p.done == 0);
		/* the restart */
		x.ops = &f->ops;
		assert_int_equal(cg_trans_of(&x, &rec, &f->st, "r2", &f->rules, t), 0);
		ret = cg_trans_resume(&x, &rec, err, sizeof(err));
		if (p.in_step) {
			assert_int_equal(ret, -ECANCELED);
			assert_evacuated(f);
		} else {
			assert_int_equal(ret, 0); /* between steps: the ramp goes on */
			for (size_t s = rec.done; s < nsteps(f); s++) {
				t += f->rules.ramp.dwell;
				assert_int_equal(ramp(f, t, &rec, err, sizeof(err)), 0);
			}
			assert_int_equal(r2(f).state, CG_REGION_ACTIVE);
			assert_string_equal(f->st.saga.region, "");
			assert_null(preshed(f));
		}
		teardown((void **)&f);
	}
}

/* A restoring region no saga names (an evacuation of it compensated) ramps on through a saga. */
static void test_restoring_without_saga_is_adopted(void **state)
{
	struct fx *f = *state;
	struct cg_evac r = r2(f);
	struct cg_saga_rec rec;
	struct cg_trans x = { .ops = &f->ops };
	char err[256];

	r.state = CG_REGION_RESTORING;
	r.step = 2;
	r.step_started = T0;
	r.expires = 0;
	assert_int_equal(cg_evac_put(&f->st, &r), 0);
	assert_int_equal(cg_trans_of(&x, &rec, &f->st, "r2", &f->rules, T0), 0);
	assert_int_equal(x.event, CG_EV_RESTORE);
	assert_int_equal(rec.phase, CG_SAGA_FORWARD);
	assert_int_equal(rec.done, 3);
	assert_int_equal(ramp(f, T0 + f->rules.ramp.dwell, &rec, err, sizeof(err)), 0);
	assert_int_equal(r2(f).step, 3);
	assert_int_equal(f->st.saga.rec.done, 4);
	/* a record out of step with the saga fails the step: the restore is compensated */
	struct cg_trans y = { .ops = &f->ops };

	assert_int_equal(cg_trans_of(&y, &rec, &f->st, "r2", &f->rules, T0), 0);
	y.target = r2(f); /* still step 3: not the saga's next step (active) */
	assert_int_equal(cg_trans_ramp(&y, &rec, err, sizeof(err)), -EINVAL);
	assert_evacuated(f);
	/* nothing in flight for an active region */
	assert_int_equal(cg_trans_of(&y, &rec, &f->st, "r1", &f->rules, T0), -ENOENT);
}

/* The evacuation runs through the same machinery: a failure at each step is undone in reverse. */
static void test_evacuate_failure_at_every_step_compensates(void **state)
{
	static const char *const points[] = { "preshed", "shift", "settle" };
	static const char *const undo[] = {
		"undo: clear the pre-shed levels\n",
		"undo: the region back at its share\nundo: clear the pre-shed levels\n",
		"undo: back to draining\nundo: the region back at its share\nundo: clear the "
		"pre-shed levels\n",
	};

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		struct fx *f;
		struct cg_shed_cfg pre = { .cell = "c1", .class = 3, .level_ppm = 100000 };
		struct cg_trans x;
		struct cg_saga_rec rec;
		struct cg_evac_ctx c;
		char err[256];

		assert_int_equal(setup((void **)&f), 0);
		x = (struct cg_trans){ .ops = &f->ops, .now = T0, .cause = "t" };
		snprintf(pre.by, sizeof(pre.by), CG_PRESHED_BY "r3");
		x.pre = &pre;
		x.npre = 1;
		x.before = x.target = cg_evac_get(&f->st, "r3");
		c = ctx(f, T0);
		assert_int_equal(cg_evac_transition(&x.target, CG_EV_EVACUATE, &c, NULL), 0);
		f->fault = points[k];
		assert_int_equal(cg_trans_evacuate(&x, &rec, err, sizeof(err)), -EIO);
		assert_int_equal(rec.phase, CG_SAGA_COMPENSATED);
		assert_string_equal(strstr(f->log, "undo:"), undo[k]);
		assert_int_equal(cg_evac_get(&f->st, "r3").state, CG_REGION_ACTIVE);
		assert_int_equal(f->st.nshed, 2); /* r3's pre-shed gone, the others kept */
		assert_string_equal(f->st.saga.region, "");
		teardown((void **)&f);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_restore_saga_ramps_step_by_step_to_active),
		cmocka_unit_test(test_restore_failure_at_every_step_compensates_in_reverse),
		T(test_flap_during_ramp_goes_back_to_evacuated),
		cmocka_unit_test(test_restore_crash_at_every_commit_resumes_or_compensates),
		T(test_restoring_without_saga_is_adopted),
		cmocka_unit_test(test_evacuate_failure_at_every_step_compensates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
