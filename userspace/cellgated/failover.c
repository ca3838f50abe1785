// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * failover.c - region transitions in cellgated: operator commands and the
 * automatic controller through one path, the evacuation saga, the overlay
 * every reconcile writes, and the offered load a plan moves.
 *
 * The regions' records and the saga's progress are part of the desired state
 * (persisted atomically with it by cgd_commit()); the overlay is derived from
 * them and from health at every reconcile, so the maps never hold a
 * transition the persisted state does not describe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cellgate/failover.h"
#include "cellgate/load.h"
#include "cellgate/saga.h"
#include "cellgate/stats.h"
#include "cellgate/transition.h"
#include "cellgated.h"

static void rules_of(const struct cg_state *st, struct cg_rules *r)
{
	cg_rules_from(&st->failover, r);
}

/* ---- the overlay and the load ---- */

bool cgd_load_view(const struct cgd *d, uint32_t *load)
{
	if (!d->load_valid || !d->load_ewma)
		return false;
	for (size_t i = 0; i < d->st.ncells; i++) {
		uint32_t id = d->st.cells[i].id;

		for (size_t k = 0; k < CG_MAX_CLASSES; k++)
			load[i * CG_MAX_CLASSES + k] =
				id < CG_MAX_CELLS ?
					(uint32_t)(d->load_ewma[id * CG_MAX_CLASSES + k] + 0.5) :
					0;
	}
	return true;
}

bool cgd_load_measured(const struct cgd *d, uint32_t *load)
{
	uint32_t frac[CG_MAX_REGIONS];
	struct cg_rules r;

	if (!cgd_load_view(d, load))
		return false;
	rules_of(&d->st, &r);
	cg_evac_fractions(&d->st, d->st.evacs, d->st.nevacs, &r.ramp, frac);
	for (size_t i = 0; i < d->st.ncells; i++) {
		uint64_t f = CG_PPM;

		for (size_t g = 0; g < d->st.nregions; g++)
			if (!strcmp(d->st.regions[g].name, d->st.cells[i].region))
				f = frac[g];
		for (size_t k = 0; k < CG_MAX_CLASSES; k++)
			load[i * CG_MAX_CLASSES + k] =
				(uint32_t)((uint64_t)load[i * CG_MAX_CLASSES + k] * f / CG_PPM);
	}
	return true;
}

void cgd_fo_overlay(struct cgd *d)
{
	uint32_t frac[CG_MAX_REGIONS], *load = NULL;
	uint8_t *health = NULL;
	struct cg_rules r;
	int ret;

	memset(d->ov, 0, sizeof(d->ov));
	if (!d->st_valid || !d->st.ncells)
		return;
	rules_of(&d->st, &r);
	cg_evac_fractions(&d->st, d->st.evacs, d->st.nevacs, &r.ramp, frac);
	health = calloc(d->st.ncells, 1);
	load = calloc(d->st.ncells * CG_MAX_CLASSES, sizeof(*load));
	if (!health || !load) {
		cgd_log("failover: out of memory building the overlay: the tables keep the "
			"configured weights");
		goto out;
	}
	cgd_health_view(d, health, true);
	ret = cg_failover_overlay(&d->st, frac, cgd_load_view(d, load) ? load : NULL, health,
				  d->ov);
	if (ret == -ENOSPC && !d->fo_nospc)
		cgd_log("failover: a region's share has no survivor to go to: it keeps its "
			"share");
	d->fo_nospc = ret == -ENOSPC;
out:
	free(health);
	free(load);
}

/* every CGD_LOAD_MS: the offered load from the counters of the state's cells, smoothed */
static void load_due(struct cg_loop *loop, void *arg)
{
	struct cgd *d = arg;
	uint32_t frac[CG_MAX_REGIONS], *now = NULL;
	struct cg_rules r;
	struct timespec ts;

	(void)loop;
	d->load_id = cg_loop_timer(d->loop, CGD_LOAD_MS, load_due, d);
	if (!d->dp || !d->st_valid || !d->st.ncells)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	cg_stats_read_cells(d->dp, &d->st, d->load_cur,
			    (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
	now = calloc(d->st.ncells * CG_MAX_CLASSES, sizeof(*now));
	if (now && d->load_prev->t_ns) {
		cg_stats_delta(d->load_prev, d->load_cur, d->load_delta);
		rules_of(&d->st, &r);
		cg_evac_fractions(&d->st, d->st.evacs, d->st.nevacs, &r.ramp, frac);
		cg_load_offered(&d->st, d->load_delta, frac, now);
		for (size_t i = 0; i < d->st.ncells; i++) {
			uint32_t id = d->st.cells[i].id;

			for (size_t k = 0; id < CG_MAX_CELLS && k < CG_MAX_CLASSES; k++) {
				double *e = &d->load_ewma[id * CG_MAX_CLASSES + k];
				double x = now[i * CG_MAX_CLASSES + k];

				*e = d->load_valid ? CGD_LOAD_KEEP * *e + (1 - CGD_LOAD_KEEP) * x :
						     x;
			}
		}
		d->load_valid = true;
	}
	free(now);
	memcpy(d->load_prev, d->load_cur, sizeof(*d->load_cur));
}

static void fo_tick(struct cg_loop *loop, void *arg)
{
	struct cgd *d = arg;

	(void)loop;
	d->fo_tick_id = cg_loop_timer(d->loop, CGD_FO_TICK_MS, fo_tick, d);
	cgd_fo_tick(d);
}

int cgd_fo_start(struct cgd *d)
{
	d->load_prev = cg_stats_new();
	d->load_cur = cg_stats_new();
	d->load_delta = cg_stats_new();
	d->load_ewma = calloc((size_t)CG_MAX_CELLS * CG_MAX_CLASSES, sizeof(*d->load_ewma));
	if (!d->load_prev || !d->load_cur || !d->load_delta || !d->load_ewma)
		return -ENOMEM;
	d->load_id = cg_loop_timer(d->loop, CGD_LOAD_MS, load_due, d);
	d->fo_tick_id = cg_loop_timer(d->loop, CGD_FO_TICK_MS, fo_tick, d);
	return d->load_id < 0 ? d->load_id : d->fo_tick_id < 0 ? d->fo_tick_id : 0;
}

void cgd_fo_stop(struct cgd *d)
{
	cg_stats_free(d->load_prev);
	cg_stats_free(d->load_cur);
	cg_stats_free(d->load_delta);
	free(d->load_ewma);
	d->load_prev = d->load_cur = d->load_delta = NULL;
	d->load_ewma = NULL;
}

/* ---- transitions ---- */

/* The JSON of a rules result: which were checked, failed, overridden, and why. */
static json_t *rules_json(const struct cg_rules_result *res, uint32_t checked)
{
	json_t *o = json_object(), *c = json_array(), *f = json_array(), *ov = json_array();

	for (uint32_t b = 1; b && b <= CG_RULE_DWELL; b <<= 1) {
		if (checked & b)
			json_array_append_new(c, json_string(cg_rule_name(b)));
		if (res->failed & b)
			json_array_append_new(f, json_string(cg_rule_name(b)));
		if (res->overridden & b)
			json_array_append_new(ov, json_string(cg_rule_name(b)));
	}
	json_object_set_new(o, "checked", c);
	json_object_set_new(o, "failed", f);
	json_object_set_new(o, "overridden", ov);
	json_object_set_new(o, "why", json_string(res->why));
	return o;
}

/* The rules an event is checked against (enum cg_rule bits). */
static uint32_t rules_checked(enum cg_region_event ev)
{
	switch (ev) {
	case CG_EV_EVACUATE:
		return CG_RULE_ONE_AT_A_TIME | CG_RULE_WAIT | CG_RULE_MIN_CELLS |
		       CG_RULE_MIN_REGIONS | CG_RULE_MAX_OUT;
	case CG_EV_RESTORE:
		return CG_RULE_ONE_AT_A_TIME | CG_RULE_WAIT;
	case CG_EV_STEP_DONE:
		return CG_RULE_DWELL;
	default:
		return 0;
	}
}

static json_t *record_json(const struct cg_evac *r, const struct cg_rules *rules)
{
	json_t *o =
		json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:s, s:s}", "region", r->region, "state",
			  cg_region_state_name(r->state), "forced", r->forced != 0, "since",
			  (json_int_t)r->step_started, "expires", (json_int_t)r->expires, "changed",
			  (json_int_t)r->changed, "by", r->by, "reason", r->reason);

	if (o && r->state == CG_REGION_RESTORING)
		json_object_set_new(o, "step",
				    json_pack("{s:I, s:I, s:I}", "index", (json_int_t)r->step, "of",
					      (json_int_t)rules->ramp.nsteps, "share_ppm",
					      (json_int_t)cg_ramp_fraction(&rules->ramp, r->step)));
	return o;
}

/* The shed levels a plan sets before the shift, as shed entries of region's evacuation. */
static int preshed_entries(const struct cg_state *st, const struct cg_plan *plan,
			   const char *region, int64_t expires, struct cg_shed_cfg **out, size_t *n)
{
	struct cg_shed_cfg *a = NULL;

	*n = 0;
	for (size_t i = 0; i < plan->ncells; i++) {
		for (uint32_t k = 0; k < CG_MAX_CLASSES; k++) {
			struct cg_shed_cfg *e, *g;
			bool operator_set = false;

			if (!plan->cells[i].shed_ppm[k])
				continue;
			/* an operator's level for the pair wins: it is left alone */
			for (size_t j = 0; j < st->nshed; j++)
				operator_set |= !strcmp(st->shed[j].cell, st->cells[i].name) &&
						st->shed[j].class == k &&
						strncmp(st->shed[j].by, CG_PRESHED_BY,
							strlen(CG_PRESHED_BY));
			if (operator_set)
				continue;
			g = realloc(a, (*n + 1) * sizeof(*a));
			if (!g) {
				free(a);
				return -ENOMEM;
			}
			a = g;
			e = &a[(*n)++];
			memset(e, 0, sizeof(*e));
			snprintf(e->cell, sizeof(e->cell), "%s", st->cells[i].name);
			e->class = (uint8_t)k;
			e->level_ppm = plan->cells[i].shed_ppm[k];
			e->expires = expires;
			snprintf(e->by, sizeof(e->by), CG_PRESHED_BY "%s", region);
			snprintf(
				e->reason, sizeof(e->reason),
				"survivor short of capacity: %llu new flows/s expected, capacity %u",
				(unsigned long long)plan->cells[i].total, plan->cells[i].capacity);
		}
	}
	*out = a;
	return 0;
}

/* The plan of going from the records of st to st with rec in place, as JSON. */
static json_t *plan_json(const struct cg_state *st, const struct cg_plan *p,
			 const struct cg_state *classes)
{
	json_t *cells = json_array(), *o;

	for (size_t i = 0; i < p->ncells; i++) {
		const struct cg_plan_cell *c = &p->cells[i];
		json_t *load = json_object(), *shed = json_object();

		for (size_t k = 0; k < classes->nclasses; k++) {
			uint32_t id = classes->classes[k].id;

			if (id >= CG_MAX_CLASSES)
				continue;
			json_object_set_new(load, classes->classes[k].name,
					    json_integer((json_int_t)c->load[id]));
			if (c->shed_ppm[id])
				json_object_set_new(shed, classes->classes[k].name,
						    json_integer((json_int_t)c->shed_ppm[id]));
		}
		json_array_append_new(
			cells, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:o, s:b}",
					 "name", st->cells[i].name, "region", st->cells[i].region,
					 "old_weight", (json_int_t)c->old_weight, "new_weight",
					 (json_int_t)c->new_weight, "old_share_ppm",
					 (json_int_t)c->old_share, "new_share_ppm",
					 (json_int_t)c->new_share, "load", load, "total",
					 (json_int_t)c->total, "capacity", (json_int_t)c->capacity,
					 "shed_ppm", shed, "short_of", c->short_of));
	}
	o = json_pack("{s:o, s:I, s:b, s:b}", "cells", cells, "moved", (json_int_t)p->moved,
		      "short_of", p->short_of, "no_survivors", p->no_survivors);
	return o;
}

/*
 * A fault injected by the tests: CELLGATED_FAULT=failover:STEP makes STEP
 * fail, CELLGATED_FAULT=failover-crash:STEP kills the daemon there (as a
 * kill -9 would, nothing cleaned up). STEP: an evacuation's "preshed",
 * "shift", "settle"; a restore's "ramp1".."rampN" (ramp step K reached) and
 * "active"; "persist" (a progress save, of either).
 */
bool cgd_fo_fault(const char *step)
{
	const char *f = getenv("CELLGATED_FAULT");
	char want[64];

	if (!f)
		return false;
	snprintf(want, sizeof(want), "failover-crash:%s", step);
	if (!strcmp(f, want))
		abort();
	snprintf(want, sizeof(want), "failover:%s", step);
	return !strcmp(f, want);
}

/* ---- a transition's commits (cellgate/transition.h runs the sagas) ---- */

static const struct cg_state *trans_state(void *arg)
{
	return &((struct cgd *)arg)->st;
}

static int trans_commit(void *arg, struct cg_state *next, const char *what, char *err, size_t len)
{
	int ret = cgd_commit(arg, next, what, CGD_RULES_CHECKED, NULL, NULL, err, len);

	return ret < 0 ? ret : 0;
}

static bool trans_fault(void *arg, const char *point)
{
	(void)arg;
	return cgd_fo_fault(point);
}

static bool trans_applied(void *arg)
{
	return !((struct cgd *)arg)->rec_failed;
}

static struct cg_trans_ops trans_ops(struct cgd *d)
{
	return (struct cg_trans_ops){ trans_state, trans_commit, trans_fault, trans_applied, d };
}

/*
 * A step done, a flap or an abort of the restoring region: the next step of
 * the restore in flight, or its compensation down to after (evacuated).
 */
static int restore_in_flight(struct cgd *d, struct cg_trans *x, const char *region,
			     enum cg_region_event ev, const struct cg_evac *after,
			     const struct cg_rules *r, char *err, size_t len)
{
	struct cg_saga_rec rec;
	char cause[sizeof(x->cause)];
	int ret;

	memcpy(cause, x->cause, sizeof(cause));
	ret = cg_trans_of(x, &rec, &d->st, region, r, (int64_t)time(NULL));
	memcpy(x->cause, cause, sizeof(cause));
	if (ret) {
		snprintf(err, len, "region '%s': no restore in flight", region);
		return ret;
	}
	if (ev == CG_EV_STEP_DONE) {
		x->target = *after;
		return cg_trans_ramp(x, &rec, err, len);
	}
	x->back = *after; /* the flap's or the abort's record */
	ret = cg_trans_back(x, &rec, err, len);
	if (ret == -EIO)
		cgd_log("%s: STUCK: %s; an operator must look", x->cause, err);
	return ret;
}

/* Every region's share (ppm) with the records of st, and with rec in place of its region's. */
static void fractions(const struct cg_state *st, const struct cg_rules *r,
		      const struct cg_evac *rec, uint32_t *old_frac, uint32_t *new_frac)
{
	size_t n = st->nevacs, i;
	struct cg_evac *recs = calloc(n + 1, sizeof(*recs));

	cg_evac_fractions(st, st->evacs, n, &r->ramp, old_frac);
	if (!recs) {
		memcpy(new_frac, old_frac, sizeof(*old_frac) * st->nregions);
		return;
	}
	if (n)
		memcpy(recs, st->evacs, n * sizeof(*recs));
	for (i = 0; i < n && strcmp(recs[i].region, rec->region); i++)
		;
	recs[i] = *rec;
	cg_evac_fractions(st, recs, i == n ? n + 1 : n, &r->ramp, new_frac);
	free(recs);
}

int cgd_fo_event(struct cgd *d, const char *region, enum cg_region_event ev, unsigned int flags,
		 const char *by, const char *reason, int64_t extend, json_t **result, char *err,
		 size_t errlen)
{
	uint32_t old_frac[CG_MAX_REGIONS], new_frac[CG_MAX_REGIONS], *load = NULL;
	struct cg_rules_result res = { 0 };
	struct cg_plan plan = { 0 };
	struct cg_saga_rec srec = { 0 };
	struct cg_trans_ops ops = trans_ops(d);
	struct cg_trans x = { .ops = &ops };
	struct cg_shed_cfg *pre = NULL;
	struct cg_evac after;
	struct cg_rules r;
	struct cg_evac_ctx ctx;
	char rname[CG_NAME_MAX];
	json_t *out = NULL, *jpre;
	uint8_t from;
	int ret;

	if (result)
		*result = NULL;
	if (!cg_state_find_region(&d->st, region)) {
		snprintf(err, errlen, "region '%s' not found", region);
		return -ENOENT;
	}
	/* region must not point into d->st: every commit below replaces it */
	snprintf(rname, sizeof(rname), "%s", region);
	region = rname;
	rules_of(&d->st, &r);
	x.before = after = cg_evac_get(&d->st, region);
	from = x.before.state;
	ctx = (struct cg_evac_ctx){ .st = &d->st,
				    .recs = d->st.evacs,
				    .nrecs = d->st.nevacs,
				    .rules = &r,
				    .now = (int64_t)time(NULL),
				    .force = flags & CGD_FORCE,
				    .by = by,
				    .reason = reason,
				    .extend = extend };
	ret = cg_evac_transition(&after, ev, &ctx, &res);
	if (ret == -EALREADY) { /* asked for what already is: nothing to do, not an error */
		if (result)
			*result = json_pack("{s:s, s:s, s:s, s:b, s:o}", "region", region, "from",
					    cg_region_state_name(x.before.state), "to",
					    cg_region_state_name(x.before.state), "changed", false,
					    "record", record_json(&x.before, &r));
		return 0;
	}
	if (ret) {
		snprintf(err, errlen, "%s%s", res.why, res.failed ? " (--force overrides it)" : "");
		return ret;
	}
	/* the plan: the shares before and after, the load that moves, the pre-shed levels */
	fractions(&d->st, &r, &after, old_frac, new_frac);
	load = calloc(d->st.ncells * CG_MAX_CLASSES + 1, sizeof(*load));
	if (!load || cg_plan_build(&d->st, old_frac, new_frac, cgd_load_view(d, load) ? load : NULL,
				   &plan)) {
		free(load);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	free(load);
	x.target = after;
	x.now = ctx.now;
	ret = ev == CG_EV_EVACUATE ?
		      preshed_entries(&d->st, &plan, region, after.expires, &pre, &x.npre) :
		      0;
	x.pre = pre;
	if (ret) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	jpre = json_array();
	for (size_t i = 0; i < x.npre; i++)
		json_array_append_new(jpre, json_pack("{s:s, s:I, s:I, s:s}", "cell", x.pre[i].cell,
						      "class", (json_int_t)x.pre[i].class,
						      "level_ppm", (json_int_t)x.pre[i].level_ppm,
						      "reason", x.pre[i].reason));
	out = json_pack(
		"{s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o}", "region", region, "from",
		cg_region_state_name(x.before.state), "to",
		cg_region_state_name(ev == CG_EV_EVACUATE ? CG_REGION_EVACUATED : after.state),
		"changed", true, "record", record_json(&after, &r), "rules",
		rules_json(&res, rules_checked(ev)), "plan", plan_json(&d->st, &plan, &d->st),
		"preshed", jpre);
	if (flags & CGD_DRY_RUN)
		goto done;
	snprintf(x.cause, sizeof(x.cause), "region %s %s (%s%s%s)", cg_region_event_name(ev),
		 region, by && by[0] ? by : "cellgated", reason && reason[0] ? ": " : "",
		 reason ? reason : "");
	if (res.overridden)
		cgd_log("forced (%s): %s", x.cause, res.why);
	if (ev == CG_EV_EVACUATE) {
		ret = cg_trans_evacuate(&x, &srec, err, errlen);
	} else if (ev == CG_EV_RESTORE || ev == CG_EV_EXPIRE) {
		x.nsteps = r.ramp.nsteps + 1; /* the ramp's steps, then active */
		ret = cg_trans_restore(&x, &srec, err, errlen);
	} else if (x.before.state == CG_REGION_RESTORING) {
		ret = restore_in_flight(d, &x, region, ev, &after, &r, err, errlen);
	} else {
		/* one commit: the record (a region back at its full share sheds no more for it) */
		ret = cg_trans_set(&x, &after, after.state == CG_REGION_ACTIVE,
				   cg_region_state_name(after.state), err, errlen);
	}
	if (ret)
		cgd_log("%s failed: %s", x.cause, err);
	else
		cgd_log("%s: %s -> %s", x.cause, cg_region_state_name(from),
			cg_region_state_name(cg_evac_get(&d->st, region).state));
	if (!ret && out)
		json_object_set_new(out, "generation", json_integer((json_int_t)d->st.generation));
done:
	free(pre);
	cg_plan_free(&plan);
	if (ret || !result)
		json_decref(out);
	else
		*result = out;
	return ret;
}

int cgd_fo_resume(struct cgd *d)
{
	struct cg_trans_ops ops = trans_ops(d);
	struct cg_trans x = { .ops = &ops };
	char err[256], region[CG_NAME_MAX];
	enum cg_saga_action act;
	struct cg_saga_rec rec;
	struct cg_rules r;
	int ret;

	if (!d->st_valid || d->fail_static[0] || !d->st.saga.region[0])
		return 0;
	/* a copy: the commits below replace d->st */
	snprintf(region, sizeof(region), "%s", d->st.saga.region);
	rules_of(&d->st, &r);
	if (cg_trans_of(&x, &rec, &d->st, region, &r, (int64_t)time(NULL)))
		return 0;
	act = cg_saga_decide(&rec);
	if (act == CG_SAGA_NOTHING)
		return 0;
	snprintf(x.cause, sizeof(x.cause), "region %s %s (resumed after a restart)",
		 cg_region_event_name(x.event), region);
	cgd_log("%s: the saga was cut at step %u (%s): %s", x.cause, rec.done,
		rec.phase == CG_SAGA_BACK ? "compensating" : "forward",
		act != CG_SAGA_RESUME	  ? "compensating" :
		x.event == CG_EV_EVACUATE ? "resuming" :
					    "resuming: the ramp goes on when its step falls due");
	ret = cg_trans_resume(&x, &rec, err, sizeof(err));
	if (ret == -EIO)
		cgd_log("%s: STUCK: %s; an operator must look", x.cause, err);
	else if (act == CG_SAGA_RESUME && x.event == CG_EV_RESTORE && !ret)
		cgd_log("%s: resumed at ramp step %u of %zu", x.cause, rec.done, x.nsteps - 1);
	else
		cgd_log("%s: %s", x.cause, !ret ? "done" : ret == -ECANCELED ? "compensated" : err);
	return ret;
}

/* ---- the automatic controller ---- */

void cgd_fo_tick(struct cgd *d)
{
	struct cg_fo_action a;
	struct cg_fo_input in;
	struct cg_rules r;
	uint8_t *health;
	char err[512];
	int ret;

	if (!d->st_valid || d->fail_static[0] || !d->st.nregions)
		return;
	health = calloc(d->st.ncells + 1, 1);
	if (!health)
		return;
	rules_of(&d->st, &r);
	in = (struct cg_fo_input){ .st = &d->st,
				   .recs = d->st.evacs,
				   .nrecs = d->st.nevacs,
				   .rules = &r,
				   .health = cgd_health_view(d, health, false) ? health : NULL,
				   .panic = cgd_health_panicking(d),
				   .auto_ppm = d->st.failover.auto_evacuate_ppm,
				   .now = (int64_t)time(NULL) };
	if (cg_failover_decide(&in, &a)) {
		char name[CG_NAME_MAX]; /* a copy: the commit replaces d->st and its names */

		snprintf(name, sizeof(name), "%s", d->st.regions[a.region].name);
		char key[sizeof(d->fo_refused)];

		ret = cgd_fo_event(d, name, (enum cg_region_event)a.ev, 0, "cellgated", a.why, 0,
				   NULL, err, sizeof(err));
		snprintf(key, sizeof(key), "%s %s: %.500s", cg_region_event_name(a.ev), name, err);
		if (ret && strcmp(key, d->fo_refused)) { /* once per refusal, not every tick */
			cgd_log("failover: %s of '%s' (%s) refused: %s", cg_region_event_name(a.ev),
				name, a.why, err);
			snprintf(d->fo_refused, sizeof(d->fo_refused), "%s", key);
		} else if (!ret) {
			d->fo_refused[0] = '\0';
		}
	}
	free(health);
}
