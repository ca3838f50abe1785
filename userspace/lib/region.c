// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* region.c - the region transition state machine, its safety rules and the restore ramp */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/field.h"
#include "cellgate/region.h"

void cg_rules_defaults(struct cg_rules *r)
{
	struct cg_failover_settings f;

	cg_failover_defaults(&f);
	cg_rules_from(&f, r);
}

void cg_rules_from(const struct cg_failover_settings *f, struct cg_rules *r)
{
	size_t i, n = f->nramp < CG_RAMP_MAX ? f->nramp : CG_RAMP_MAX;

	memset(r, 0, sizeof(*r));
	r->min_cells = f->min_cells;
	r->min_regions = f->min_regions;
	r->wait = f->wait;
	r->ttl = f->evacuation_ttl;
	r->max_out_ppm = f->max_out_ppm;
	r->ramp.nsteps = n;
	for (i = 0; i < n; i++)
		r->ramp.step_ppm[i] = f->ramp_ppm[i];
	r->ramp.max_step_ppm = f->max_step_ppm;
	r->ramp.dwell = f->dwell;
}

const char *cg_rule_name(uint32_t rule)
{
	switch (rule) {
	case CG_RULE_MIN_CELLS:
		return "min_cells";
	case CG_RULE_MIN_REGIONS:
		return "min_regions";
	case CG_RULE_ONE_AT_A_TIME:
		return "one_at_a_time";
	case CG_RULE_WAIT:
		return "wait";
	case CG_RULE_MAX_OUT:
		return "max_out";
	case CG_RULE_DWELL:
		return "dwell";
	}
	return "?";
}

static uint32_t eff_weight(const struct cg_eff *e, size_t i)
{
	if (e->weight)
		return e->weight[i];
	return e->st->cells[i].state == CG_CELL_ACTIVE ? e->st->cells[i].weight : 0;
}

static long cell_index(const struct cg_state *st, const char *name)
{
	for (size_t i = 0; i < st->ncells; i++)
		if (!strcmp(st->cells[i].name, name))
			return (long)i;
	return -1;
}

/* Active cells of service name in e (0 if e is NULL or has no such service). */
static uint32_t service_active(const struct cg_eff *e, const char *name)
{
	const struct cg_service_cfg *svc = e ? cg_state_find_service(e->st, name) : NULL;
	uint32_t n = 0;

	for (size_t k = 0; svc && k < svc->ncells; k++) {
		long i = cell_index(e->st, svc->cells[k]);

		if (i >= 0 && eff_weight(e, (size_t)i) > 0)
			n++;
	}
	return n;
}

/* Regions of e with an active cell (0 if e is NULL). */
static uint32_t regions_active(const struct cg_eff *e)
{
	uint32_t n = 0;

	for (size_t g = 0; e && g < e->st->nregions; g++) {
		for (size_t i = 0; i < e->st->ncells; i++) {
			if (!strcmp(e->st->cells[i].region, e->st->regions[g].name) &&
			    eff_weight(e, i) > 0) {
				n++;
				break;
			}
		}
	}
	return n;
}

int cg_rule_min_cells(const struct cg_eff *old, const struct cg_eff *nw, const struct cg_rules *r,
		      char *why, size_t len)
{
	for (size_t s = 0; s < nw->st->nservices; s++) {
		const struct cg_service_cfg *svc = &nw->st->services[s];
		uint32_t n = service_active(nw, svc->name);

		/* a service already below the rule may stay there, not sink further */
		if (n < r->min_cells && (!old || n < service_active(old, svc->name))) {
			snprintf(
				why, len,
				"rule min_cells: service '%s' would keep %u active cell%s, needs %u",
				svc->name, n, n == 1 ? "" : "s", r->min_cells);
			return -EPERM;
		}
	}
	return 0;
}

int cg_rule_min_regions(const struct cg_eff *old, const struct cg_eff *nw, const struct cg_rules *r,
			char *why, size_t len)
{
	uint32_t n = regions_active(nw);

	if (n < r->min_regions && (!old || n < regions_active(old))) {
		snprintf(why, len, "rule min_regions: %u active region%s would be left, needs %u",
			 n, n == 1 ? "" : "s", r->min_regions);
		return -EPERM;
	}
	return 0;
}

int cg_rule_max_out(const struct cg_eff *old, const struct cg_eff *nw, const struct cg_rules *r,
		    char *why, size_t len)
{
	for (size_t s = 0; s < old->st->nservices; s++) {
		const struct cg_service_cfg *svc = &old->st->services[s];
		const struct cg_service_cfg *nsvc = cg_state_find_service(nw->st, svc->name);
		uint64_t cap = 0, out = 0;

		for (size_t k = 0; k < svc->ncells; k++) {
			long i = cell_index(old->st, svc->cells[k]);
			long j = cell_index(nw->st, svc->cells[k]);
			bool kept = false;

			if (i < 0 || eff_weight(old, (size_t)i) == 0)
				continue;
			/* unknown capacity counts as one unit, so the rule still sees cells */
			uint64_t c = old->st->cells[i].capacity ? old->st->cells[i].capacity : 1;

			cap += c;
			if (nsvc && j >= 0 && eff_weight(nw, (size_t)j) > 0)
				for (size_t m = 0; m < nsvc->ncells; m++)
					kept |= !strcmp(nsvc->cells[m], svc->cells[k]);
			if (!kept)
				out += c;
		}
		if (cap && out * CG_PPM > (uint64_t)r->max_out_ppm * cap) {
			snprintf(
				why, len,
				"rule max_out: service '%s' would lose %llu.%01llu%% of its capacity at "
				"once, at most %u.%01u%%",
				svc->name, (unsigned long long)(out * 100 / cap),
				(unsigned long long)(out * 1000 / cap % 10), r->max_out_ppm / 10000,
				r->max_out_ppm / 1000 % 10);
			return -EPERM;
		}
	}
	return 0;
}

int cg_rule_one_at_a_time(const struct cg_evac *recs, size_t n, const char *self, char *why,
			  size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (self && !strcmp(recs[i].region, self))
			continue;
		if (recs[i].state == CG_REGION_DRAINING || recs[i].state == CG_REGION_RESTORING) {
			snprintf(why, len, "rule one_at_a_time: region '%s' is %s", recs[i].region,
				 cg_region_state_name(recs[i].state));
			return -EBUSY;
		}
	}
	return 0;
}

int cg_rule_wait(const struct cg_evac *recs, size_t n, const struct cg_rules *r, int64_t now,
		 char *why, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (recs[i].changed && now < recs[i].changed + r->wait) {
			snprintf(why, len,
				 "rule wait: region '%s' changed %llds ago, wait %llds between "
				 "transitions",
				 recs[i].region, (long long)(now - recs[i].changed),
				 (long long)r->wait);
			return -EAGAIN;
		}
	}
	return 0;
}

/* Record rule's verdict ret in res; returns the error to stop at, 0 to go on. */
static int verdict(int ret, uint32_t rule, bool force, struct cg_rules_result *res, const char *why)
{
	if (!ret)
		return 0;
	if (!res->why[0]) {
		size_t n = strnlen(why, sizeof(res->why) - 1);

		memcpy(res->why, why, n);
		res->why[n] = '\0';
		if (force && n + 23 <= sizeof(res->why))
			memcpy(res->why + n, " (overridden by force)", 23);
	}
	if (force) {
		res->overridden |= rule;
		return 0;
	}
	res->failed |= rule;
	return ret;
}

int cg_rules_check(const struct cg_eff *old, const struct cg_eff *nw, const struct cg_rules *r,
		   bool force, struct cg_rules_result *res)
{
	char why[CG_RULE_WHY_MAX];
	int ret, first = 0;

	ret = verdict(cg_rule_min_cells(old, nw, r, why, sizeof(why)), CG_RULE_MIN_CELLS, force,
		      res, why);
	first = first ? first : ret;
	ret = verdict(cg_rule_min_regions(old, nw, r, why, sizeof(why)), CG_RULE_MIN_REGIONS, force,
		      res, why);
	first = first ? first : ret;
	ret = verdict(cg_rule_max_out(old, nw, r, why, sizeof(why)), CG_RULE_MAX_OUT, force, res,
		      why);
	first = first ? first : ret;
	return first;
}

const char *cg_region_state_name(unsigned int s)
{
	static const char *const n[] = { "active", "draining", "evacuated", "restoring" };

	return s < 4 ? n[s] : "?";
}

const char *cg_region_event_name(unsigned int ev)
{
	static const char *const n[] = { "evacuate", "restore", "abort",    "extend",
					 "expire",   "flap",	"step-done" };

	return ev < 7 ? n[ev] : "?";
}

uint32_t cg_ramp_fraction(const struct cg_ramp *r, size_t step)
{
	return step < r->nsteps ? r->step_ppm[step] : CG_PPM;
}

int cg_ramp_check(const struct cg_ramp *r, char *why, size_t len)
{
	uint32_t prev = 0;

	if (r->nsteps < 1 || r->nsteps > CG_RAMP_MAX) {
		snprintf(why, len, "ramp: %zu steps, needs 1..%d", r->nsteps, CG_RAMP_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < r->nsteps; i++) {
		if (r->step_ppm[i] <= prev || r->step_ppm[i] > CG_PPM) {
			snprintf(why, len, "ramp: step %zu (%u ppm) does not rise from %u ppm", i,
				 r->step_ppm[i], prev);
			return -EINVAL;
		}
		if (r->max_step_ppm && r->step_ppm[i] - prev > r->max_step_ppm) {
			snprintf(why, len, "ramp: step %zu rises %u ppm, at most %u", i,
				 r->step_ppm[i] - prev, r->max_step_ppm);
			return -EINVAL;
		}
		prev = r->step_ppm[i];
	}
	if (prev != CG_PPM) {
		snprintf(why, len, "ramp: the last step is %u ppm, not %u", prev, CG_PPM);
		return -EINVAL;
	}
	return 0;
}

void cg_evac_fractions(const struct cg_state *st, const struct cg_evac *recs, size_t n,
		       const struct cg_ramp *ramp, uint32_t *frac)
{
	for (size_t g = 0; g < st->nregions; g++) {
		frac[g] = CG_PPM;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(recs[i].region, st->regions[g].name))
				continue;
			if (recs[i].state == CG_REGION_DRAINING ||
			    recs[i].state == CG_REGION_EVACUATED)
				frac[g] = 0;
			else if (recs[i].state == CG_REGION_RESTORING)
				frac[g] = cg_ramp_fraction(ramp, recs[i].step);
		}
	}
}

/* The state rules on taking rec's region out, with the other records as they are. */
static int check_out(const struct cg_evac *rec, const struct cg_evac_ctx *c,
		     struct cg_rules_result *res)
{
	size_t nr = c->st->nregions, nc = c->st->ncells;
	uint32_t frac[CG_MAX_REGIONS], ow[nc ? nc : 1], nw[nc ? nc : 1];

	cg_evac_fractions(c->st, c->recs, c->nrecs, &c->rules->ramp, frac);
	for (size_t i = 0; i < nc; i++) {
		const struct cg_cell_cfg *cell = &c->st->cells[i];
		uint32_t f = CG_PPM;

		for (size_t g = 0; g < nr; g++)
			if (!strcmp(c->st->regions[g].name, cell->region))
				f = frac[g];
		ow[i] = cell->state == CG_CELL_ACTIVE && f ? cell->weight : 0;
		nw[i] = strcmp(cell->region, rec->region) ? ow[i] : 0;
	}
	return cg_rules_check(&(struct cg_eff){ c->st, ow }, &(struct cg_eff){ c->st, nw },
			      c->rules, c->force, res);
}

static void enter(struct cg_evac *rec, uint8_t state, const struct cg_evac_ctx *c)
{
	rec->state = state;
	rec->step = 0;
	rec->step_started = c->now;
	rec->changed = c->now;
	snprintf(rec->by, sizeof(rec->by), "%s", c->by ? c->by : "");
	snprintf(rec->reason, sizeof(rec->reason), "%s", c->reason ? c->reason : "");
}

/* The transition rules on starting a new transition of rec. */
static int check_start(const struct cg_evac *rec, const struct cg_evac_ctx *c,
		       struct cg_rules_result *res)
{
	char why[CG_RULE_WHY_MAX];
	int ret, first;

	ret = cg_rule_one_at_a_time(c->recs, c->nrecs, rec->region, why, sizeof(why));
	first = verdict(ret, CG_RULE_ONE_AT_A_TIME, c->force, res, why);
	ret = cg_rule_wait(c->recs, c->nrecs, c->rules, c->now, why, sizeof(why));
	ret = verdict(ret, CG_RULE_WAIT, c->force, res, why);
	return first ? first : ret;
}

static int refuse(struct cg_rules_result *res, int err, const struct cg_evac *rec,
		  enum cg_region_event ev)
{
	snprintf(res->why, sizeof(res->why), "region '%s' is %s: cannot %s", rec->region,
		 cg_region_state_name(rec->state), cg_region_event_name(ev));
	return err;
}

int cg_evac_transition(struct cg_evac *rec, enum cg_region_event ev, const struct cg_evac_ctx *c,
		       struct cg_rules_result *res)
{
	struct cg_rules_result dummy;
	struct cg_evac r = *rec;
	int ret = 0;

	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (!cg_state_find_region(c->st, rec->region)) {
		snprintf(res->why, sizeof(res->why), "unknown region '%s'", rec->region);
		return -ENOENT;
	}
	switch (ev) {
	case CG_EV_EVACUATE:
		if (r.state != CG_REGION_ACTIVE && r.state != CG_REGION_RESTORING)
			return refuse(res, -EALREADY, rec, ev);
		ret = check_start(&r, c, res);
		if (!ret)
			ret = check_out(&r, c, res);
		if (ret)
			return ret;
		enter(&r, CG_REGION_DRAINING, c);
		r.expires = c->rules->ttl ? c->now + c->rules->ttl : 0;
		break;
	case CG_EV_RESTORE:
		if (r.state != CG_REGION_EVACUATED)
			return refuse(res, r.state == CG_REGION_ACTIVE ? -EALREADY : -EINVAL, rec,
				      ev);
		ret = check_start(&r, c, res);
		if (ret)
			return ret;
		enter(&r, CG_REGION_RESTORING, c);
		r.expires = 0;
		break;
	case CG_EV_EXPIRE:
		if (r.state != CG_REGION_EVACUATED || !r.expires)
			return refuse(res, -EINVAL, rec, ev);
		if (c->now < r.expires) {
			snprintf(res->why, sizeof(res->why),
				 "region '%s' is evacuated for %llds more", r.region,
				 (long long)(r.expires - c->now));
			return -EAGAIN;
		}
		/* expiry is a restore, never a jump: no rule blocks it */
		enter(&r, CG_REGION_RESTORING, c);
		snprintf(r.reason, sizeof(r.reason), "evacuation expired");
		r.expires = 0;
		break;
	case CG_EV_ABORT:
		if (r.state == CG_REGION_DRAINING) {
			enter(&r, CG_REGION_ACTIVE, c);
			r.expires = 0;
		} else if (r.state == CG_REGION_RESTORING) {
			enter(&r, CG_REGION_EVACUATED, c);
			r.expires = c->rules->ttl ? c->now + c->rules->ttl : 0;
		} else {
			return refuse(res, -EINVAL, rec, ev);
		}
		break;
	case CG_EV_EXTEND:
		if (r.state != CG_REGION_DRAINING && r.state != CG_REGION_EVACUATED)
			return refuse(res, -EINVAL, rec, ev);
		if (c->extend <= 0) {
			snprintf(res->why, sizeof(res->why), "extend by %llds: must be positive",
				 (long long)c->extend);
			return -EINVAL;
		}
		r.expires = c->now + c->extend;
		break;
	case CG_EV_FLAP:
		if (r.state != CG_REGION_RESTORING)
			return refuse(res, -EINVAL, rec, ev);
		r.state = CG_REGION_EVACUATED;
		r.step = 0;
		r.step_started = c->now;
		r.expires = c->rules->ttl ? c->now + c->rules->ttl : 0;
		snprintf(r.reason, sizeof(r.reason), "health flapped while restoring");
		break;
	case CG_EV_STEP_DONE:
		if (r.state == CG_REGION_DRAINING) {
			r.state = CG_REGION_EVACUATED;
			r.step_started = c->now;
		} else if (r.state == CG_REGION_RESTORING) {
			if (c->now < r.step_started + c->rules->ramp.dwell) {
				char why[CG_RULE_WHY_MAX];

				snprintf(why, sizeof(why),
					 "rule dwell: ramp step %u held %llds, needs %llds", r.step,
					 (long long)(c->now - r.step_started),
					 (long long)c->rules->ramp.dwell);
				ret = verdict(-EAGAIN, CG_RULE_DWELL, c->force, res, why);
				if (ret)
					return ret;
			}
			if (r.step + 1u >= c->rules->ramp.nsteps)
				r.state = CG_REGION_ACTIVE, r.step = 0;
			else
				r.step++;
			r.step_started = c->now;
		} else {
			return refuse(res, -EINVAL, rec, ev);
		}
		break;
	default:
		snprintf(res->why, sizeof(res->why), "unknown event %d", (int)ev);
		return -EINVAL;
	}
	if (res->overridden)
		r.forced = 1;
	*rec = r;
	return 0;
}

struct cg_evac *cg_evac_find(const struct cg_state *st, const char *region)
{
	for (size_t i = 0; i < st->nevacs; i++)
		if (!strcmp(st->evacs[i].region, region))
			return &st->evacs[i];
	return NULL;
}

struct cg_evac cg_evac_get(const struct cg_state *st, const char *region)
{
	const struct cg_evac *r = cg_evac_find(st, region);
	struct cg_evac a = { 0 };

	if (r)
		return *r;
	snprintf(a.region, sizeof(a.region), "%s", region);
	a.state = CG_REGION_ACTIVE;
	return a;
}

int cg_evac_put(struct cg_state *st, const struct cg_evac *r)
{
	struct cg_evac *a = cg_evac_find(st, r->region);

	if (a) {
		*a = *r;
		return 0;
	}
	a = realloc(st->evacs, (st->nevacs + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	st->evacs = a;
	st->evacs[st->nevacs++] = *r;
	return 0;
}

static int carry_err(char *err, size_t len, int ret, const char *fmt, const char *a, const char *b)
{
	if (err && len)
		snprintf(err, len, fmt, a, b);
	return ret;
}

int cg_evac_carry(struct cg_state *next, const struct cg_state *prev, char *err, size_t errlen)
{
	static const char differs[] =
		"evacuations: region '%s': the config's record differs from the running one%s; "
		"records are set by 'cellctl region', not by a config (leave the section out)";
	struct cg_evac *recs;
	size_t i, n = 0;

	if (!prev)
		return 0;
	/* a config that writes the records writes the running ones: a fresh config dump */
	for (i = 0; i < next->nevacs; i++) {
		const struct cg_evac *p = cg_evac_find(prev, next->evacs[i].region);

		if (!p || !cg_object_equal(&cg_evac_obj, p, &next->evacs[i]))
			return carry_err(err, errlen, -EINVAL, differs, next->evacs[i].region,
					 p ? "" : " (there is none)");
	}
	for (i = 0; i < prev->nevacs; i++)
		if (!cg_evac_find(next, prev->evacs[i].region) && next->nevacs)
			return carry_err(err, errlen, -EINVAL, differs, prev->evacs[i].region,
					 " (the config has none)");
	if ((next->saga.region[0] || prev->saga.region[0]) &&
	    (strcmp(next->saga.region, prev->saga.region) ||
	     !cg_object_equal(&cg_saga_obj, &next->saga, &prev->saga)) &&
	    (next->saga.region[0] || next->nevacs))
		return carry_err(err, errlen, -EINVAL,
				 "saga: the config's differs from the transition in flight%s%s; it "
				 "is cellgated's (leave the section out)",
				 "", "");
	recs = calloc(prev->nevacs ? prev->nevacs : 1, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	for (i = 0; i < prev->nevacs; i++) {
		const struct cg_evac *p = &prev->evacs[i];

		if (cg_state_find_region(next, p->region)) {
			recs[n++] = *p;
			continue;
		}
		if (p->state != CG_REGION_ACTIVE || !strcmp(prev->saga.region, p->region)) {
			free(recs);
			return carry_err(
				err, errlen, -EBUSY,
				"region '%s' is %s: restore it before removing it from the "
				"config",
				p->region,
				p->state != CG_REGION_ACTIVE ? cg_region_state_name(p->state) :
							       "in a transition");
		}
	}
	free(next->evacs);
	next->evacs = recs;
	next->nevacs = n;
	next->saga = prev->saga;
	return 0;
}
