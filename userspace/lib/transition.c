// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* transition.c - a region transition as a saga over the desired state: evacuate, restore */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/transition.h"

/* ---- commits ---- */

static bool fault(const struct cg_trans *x, const char *point)
{
	return x->ops->fault && x->ops->fault(x->ops->arg, point);
}

static int oom(char *err, size_t len)
{
	snprintf(err, len, "out of memory");
	return -ENOMEM;
}

/* A copy of the current desired state into next; 0 or -ENOMEM. */
static int copy_of(const struct cg_trans *x, struct cg_state *next, char *err, size_t len)
{
	if (!cg_state_copy(next, x->ops->state(x->ops->arg)))
		return 0;
	return oom(err, len);
}

/* Commit next (freed) as one step of x; 0 or -errno with err. */
static int commit(struct cg_trans *x, struct cg_state *next, const char *what, char *err,
		  size_t len)
{
	char cause[256];
	int ret;

	snprintf(cause, sizeof(cause), "%s: %s", x->cause, what);
	ret = x->ops->commit(x->ops->arg, next, cause, err, len);
	cg_state_free(next);
	return ret < 0 ? ret : 0;
}

bool cg_trans_is_preshed(const struct cg_shed_cfg *e, const char *region)
{
	size_t n = strlen(CG_PRESHED_BY);

	return !strncmp(e->by, CG_PRESHED_BY, n) && !strcmp(e->by + n, region);
}

/* next without region's pre-shed entries */
static void preshed_clear(struct cg_state *next, const char *region)
{
	size_t n = 0;

	for (size_t i = 0; i < next->nshed; i++)
		if (!cg_trans_is_preshed(&next->shed[i], region))
			next->shed[n++] = next->shed[i];
	next->nshed = n;
}

/* next with entries added (replacing an earlier pre-shed of the same pair) */
static int preshed_add(struct cg_state *next, const struct cg_shed_cfg *e, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		size_t i;

		for (i = 0; i < next->nshed; i++)
			if (!strcmp(next->shed[i].cell, e[k].cell) &&
			    next->shed[i].class == e[k].class)
				break;
		if (i == next->nshed) {
			struct cg_shed_cfg *g = realloc(next->shed, (next->nshed + 1) * sizeof(*g));

			if (!g)
				return -ENOMEM;
			next->shed = g;
			next->nshed++;
		}
		next->shed[i] = e[k];
	}
	return 0;
}

/* What a record commit does to the region's pre-shed levels. */
enum preshed_op {
	PRESHED_KEEP,	 /* left alone */
	PRESHED_CLEAR,	 /* removed: the region is back at its full share */
	PRESHED_REFRESH, /* kept, expiring with the record (evacuated again) */
};

/* Commit r as its region's record, with op on its pre-shed levels. */
static int put(struct cg_trans *x, const struct cg_evac *r, enum preshed_op op, const char *what,
	       char *err, size_t len)
{
	struct cg_state next;
	int ret = copy_of(x, &next, err, len);

	if (ret)
		return ret;
	if (cg_evac_put(&next, r)) {
		cg_state_free(&next);
		return oom(err, len);
	}
	if (op == PRESHED_CLEAR)
		preshed_clear(&next, r->region);
	for (size_t i = 0; op == PRESHED_REFRESH && i < next.nshed; i++)
		if (cg_trans_is_preshed(&next.shed[i], r->region))
			next.shed[i].expires = r->expires;
	return commit(x, &next, what, err, len);
}

int cg_trans_set(struct cg_trans *x, const struct cg_evac *r, bool clear, const char *what,
		 char *err, size_t len)
{
	return put(x, r, clear ? PRESHED_CLEAR : PRESHED_KEEP, what, err, len);
}

static int injected(char *err, size_t len)
{
	snprintf(err, len, "injected failure");
	return -EIO;
}

/* ---- the evacuation's steps ---- */

/* region's pre-shed levels: set (x's, replacing earlier ones) or cleared, in one commit */
static int preshed_commit(struct cg_trans *x, bool set, char *err, size_t len)
{
	struct cg_state next;
	int ret = copy_of(x, &next, err, len);

	if (ret)
		return ret;
	preshed_clear(&next, x->before.region);
	if (set && preshed_add(&next, x->pre, x->npre)) {
		cg_state_free(&next);
		return oom(err, len);
	}
	return commit(x, &next, set ? "pre-shed the survivors" : "undo: clear the pre-shed levels",
		      err, len);
}

static int preshed_run(void *arg, size_t step, char *err, size_t len)
{
	(void)step;
	if (fault(arg, "preshed"))
		return injected(err, len);
	return preshed_commit(arg, true, err, len);
}

static int preshed_undo(void *arg, size_t step, char *err, size_t len)
{
	(void)step;
	return preshed_commit(arg, false, err, len);
}

static int shift_run(void *arg, size_t step, char *err, size_t len)
{
	struct cg_trans *x = arg;

	(void)step;
	if (fault(x, "shift"))
		return injected(err, len);
	return put(x, &x->target, PRESHED_KEEP, "take the region out of the tables", err, len);
}

static int shift_undo(void *arg, size_t step, char *err, size_t len)
{
	struct cg_trans *x = arg;

	(void)step;
	return put(x, &x->before, PRESHED_KEEP, "undo: the region back at its share", err, len);
}

static int settle_run(void *arg, size_t step, char *err, size_t len)
{
	struct cg_trans *x = arg;
	struct cg_evac r = x->target;

	(void)step;
	if (fault(x, "settle") || (x->ops->applied && !x->ops->applied(x->ops->arg))) {
		snprintf(err, len, "the data plane has not taken the shift (reconcile failed)");
		return -EIO;
	}
	r.state = CG_REGION_EVACUATED;
	return put(x, &r, PRESHED_KEEP, "evacuated", err, len);
}

static int settle_undo(void *arg, size_t step, char *err, size_t len)
{
	struct cg_trans *x = arg;

	(void)step;
	return put(x, &x->target, PRESHED_KEEP, "undo: back to draining", err, len);
}

static const struct cg_saga_step evac_steps[] = {
	{ "preshed", preshed_run, preshed_undo },
	{ "shift", shift_run, shift_undo },
	{ "settle", settle_run, settle_undo },
};

#define EVAC_STEPS (sizeof(evac_steps) / sizeof(evac_steps[0]))

/* ---- the restore's steps ---- */

static const char *const ramp_names[CG_RAMP_MAX] = { "ramp1", "ramp2", "ramp3", "ramp4",
						     "ramp5", "ramp6", "ramp7", "ramp8" };

/* Step i of a restore: ramp step i (restoring at step i), the last one "active". */
static int ramp_run(void *arg, size_t i, char *err, size_t len)
{
	struct cg_trans *x = arg;
	bool last = i + 1 == x->nsteps;
	char what[64];

	if (fault(x, last ? "active" : ramp_names[i]))
		return injected(err, len);
	if (last ? x->target.state != CG_REGION_ACTIVE :
		   x->target.state != CG_REGION_RESTORING || x->target.step != i) {
		snprintf(err, len,
			 "the record (%s at ramp step %u) is not the saga's step %zu of %zu",
			 cg_region_state_name(x->target.state), x->target.step, i + 1, x->nsteps);
		return -EINVAL;
	}
	if (last)
		snprintf(what, sizeof(what), "active: the ramp is done");
	else
		snprintf(what, sizeof(what), "ramp step %zu of %zu", i + 1, x->nsteps - 1);
	return put(x, &x->target, PRESHED_KEEP, what, err, len);
}

static int ramp_undo(void *arg, size_t i, char *err, size_t len)
{
	struct cg_trans *x = arg;
	struct cg_evac r;
	char what[64];

	if (!i) /* evacuated again: its pre-shed levels expire with it */
		return put(x, x->back.region[0] ? &x->back : &x->before, PRESHED_REFRESH,
			   "undo: evacuated again", err, len);
	r = cg_evac_get(x->ops->state(x->ops->arg), x->before.region);
	r.state = CG_REGION_RESTORING;
	r.step = (uint16_t)(i - 1);
	r.step_started = x->now;
	snprintf(what, sizeof(what), "undo: back to ramp step %zu", i);
	return put(x, &r, PRESHED_KEEP, what, err, len);
}

/* ---- progress ---- */

static int persist(void *arg, const struct cg_saga_rec *rec, char *err, size_t len)
{
	struct cg_trans *x = arg;
	struct cg_saga_cfg *g;
	struct cg_state next;
	int ret;

	if (fault(x, "persist"))
		return injected(err, len);
	ret = copy_of(x, &next, err, len);
	if (ret)
		return ret;
	g = &next.saga;
	if (rec->phase == CG_SAGA_DONE || rec->phase == CG_SAGA_COMPENSATED) {
		memset(g, 0, sizeof(*g)); /* nothing in flight any more */
		/* a restore's end: the region is at its full share and sheds no more for it */
		if (rec->phase == CG_SAGA_DONE && x->event == CG_EV_RESTORE)
			preshed_clear(&next, x->before.region);
		return commit(x, &next, "saga progress", err, len);
	}
	if (strcmp(g->region, x->before.region) || g->event != x->event)
		g->started = x->now;
	/* the saga names a region with a record: an active one if it had none */
	if (!cg_evac_find(&next, x->before.region) && cg_evac_put(&next, &x->before)) {
		cg_state_free(&next);
		return oom(err, len);
	}
	snprintf(g->region, sizeof(g->region), "%s", x->before.region);
	g->event = x->event;
	g->from = x->before.state;
	g->from_step = x->before.step;
	g->nsteps = (uint32_t)(x->event == CG_EV_EVACUATE ? EVAC_STEPS : x->nsteps);
	g->rec = *rec;
	return commit(x, &next, "saga progress", err, len);
}

/* The saga of x; steps is room for a restore's. */
static void saga_of(struct cg_trans *x, struct cg_saga *s, struct cg_saga_step *steps)
{
	*s = (struct cg_saga){ evac_steps, EVAC_STEPS, persist, x };
	if (x->event == CG_EV_EVACUATE)
		return;
	if (x->nsteps < 2 || x->nsteps > CG_RAMP_MAX + 1)
		x->nsteps = x->nsteps < 2 ? 2 : CG_RAMP_MAX + 1;
	for (size_t i = 0; i < x->nsteps; i++)
		steps[i] = (struct cg_saga_step){ i + 1 < x->nsteps ? ramp_names[i] : "active",
						  ramp_run, ramp_undo };
	s->steps = steps;
	s->nsteps = x->nsteps;
}

/* ---- the transitions ---- */

int cg_trans_evacuate(struct cg_trans *x, struct cg_saga_rec *rec, char *err, size_t len)
{
	struct cg_saga s;

	x->event = CG_EV_EVACUATE;
	saga_of(x, &s, NULL);
	return cg_saga_run(&s, rec, err, len);
}

int cg_trans_restore(struct cg_trans *x, struct cg_saga_rec *rec, char *err, size_t len)
{
	struct cg_saga_step steps[CG_RAMP_MAX + 1];
	struct cg_saga s;

	x->event = CG_EV_RESTORE;
	saga_of(x, &s, steps);
	memset(rec, 0, sizeof(*rec));
	return cg_saga_next(&s, rec, err, len);
}

/* Is x a restore that has begun? Says why not in err. */
static bool restoring(const struct cg_trans *x, const struct cg_saga_rec *rec, char *err,
		      size_t len)
{
	if (x->event == CG_EV_RESTORE && rec->phase != CG_SAGA_IDLE)
		return true;
	snprintf(err, len, "%s",
		 x->event != CG_EV_RESTORE ? "the transition in flight is not a restore" :
					     "the restore has not begun");
	return false;
}

int cg_trans_ramp(struct cg_trans *x, struct cg_saga_rec *rec, char *err, size_t len)
{
	struct cg_saga_step steps[CG_RAMP_MAX + 1];
	struct cg_saga s;

	if (!restoring(x, rec, err, len))
		return -EINVAL;
	saga_of(x, &s, steps);
	return cg_saga_next(&s, rec, err, len);
}

int cg_trans_back(struct cg_trans *x, struct cg_saga_rec *rec, char *err, size_t len)
{
	struct cg_saga_step steps[CG_RAMP_MAX + 1];
	struct cg_saga s;

	if (!restoring(x, rec, err, len))
		return -EINVAL;
	saga_of(x, &s, steps);
	return cg_saga_abort(&s, rec, err, len);
}

int cg_trans_resume(struct cg_trans *x, struct cg_saga_rec *rec, char *err, size_t len)
{
	struct cg_saga_step steps[CG_RAMP_MAX + 1];
	struct cg_saga s;

	saga_of(x, &s, steps);
	/* between two ramp steps: the next one falls due by itself (after the last: the end) */
	if (x->event == CG_EV_RESTORE && cg_saga_decide(rec) == CG_SAGA_RESUME &&
	    rec->done < s.nsteps)
		return 0;
	return cg_saga_resume(&s, rec, err, len);
}

int cg_trans_of(struct cg_trans *x, struct cg_saga_rec *rec, const struct cg_state *st,
		const char *region, const struct cg_rules *r, int64_t now)
{
	const struct cg_trans_ops *ops = x->ops;
	const struct cg_evac *cur = cg_evac_find(st, region);
	const struct cg_saga_cfg *g = &st->saga;

	memset(x, 0, sizeof(*x));
	x->ops = ops;
	x->now = now;
	if (!strcmp(g->region, region)) {
		*rec = g->rec;
		x->event = g->event == CG_EV_EVACUATE ? CG_EV_EVACUATE : CG_EV_RESTORE;
		x->nsteps = g->nsteps;
		x->before = cg_evac_get(st, region);
		x->before.state = g->from; /* what compensation goes back to */
		x->before.step = g->from_step;
	} else if (cur && cur->state == CG_REGION_RESTORING) {
		/* a restore no saga names: between two steps, at its ramp step */
		memset(rec, 0, sizeof(*rec));
		rec->phase = CG_SAGA_FORWARD;
		rec->done = (uint32_t)cur->step + 1;
		x->event = CG_EV_RESTORE;
		x->nsteps = r->ramp.nsteps + 1;
		x->before = *cur;
		x->before.state = CG_REGION_EVACUATED;
		x->before.step = 0;
	} else {
		return -ENOENT;
	}
	if (x->before.state == CG_REGION_ACTIVE || x->before.state == CG_REGION_RESTORING)
		x->before.expires = 0; /* only an evacuation expires */
	x->target = cur ? *cur : x->before;
	if (x->event == CG_EV_EVACUATE && x->target.state != CG_REGION_DRAINING) {
		/* the shift has not run: the record it writes */
		x->target = x->before;
		x->target.state = CG_REGION_DRAINING;
		x->target.step = 0;
		x->target.step_started = x->target.changed = now;
	}
	if (x->event == CG_EV_RESTORE) {
		x->back = x->before;
		x->back.state = CG_REGION_EVACUATED;
		x->back.step = 0;
		x->back.step_started = now;
		x->back.expires = r->ttl ? now + r->ttl : 0;
	}
	return 0;
}
