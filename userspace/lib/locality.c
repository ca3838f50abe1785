// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* locality.c - the locality policy: this LB's region first, the overflow nearest first */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/field.h"
#include "cellgate/locality.h"
#include "cellgate/region.h"
#include "cellgate/shed.h"

#define NO_CELL ((size_t)-1)

/* One service's working view of its cells during a step. */
struct work {
	const struct cg_loc_input *in;
	const struct cg_state *st;
	const struct cg_service_cfg *sv;
	size_t n;		       /* cells of the service */
	size_t *ci;		       /* index in st->cells, NO_CELL if unknown */
	struct cg_loc_cell *cells;     /* the new record's cells */
	uint64_t load[CG_MAX_CLASSES]; /* offered by class */
	uint64_t total;		       /* their sum */
	size_t nloc, nrem;	       /* eligible local and remote cells */
	bool caps_known;	       /* every eligible local cell has a capacity */
	bool rem_caps_known;	       /* every eligible remote cell has a capacity */
	uint64_t local_avail;	       /* sum of the eligible local cells' avail */
	uint32_t room;		       /* ppm of the flows the remote cells can carry at most */
};

struct cg_loc *cg_loc_new(void)
{
	return calloc(1, sizeof(struct cg_loc));
}

static void svcs_free(struct cg_loc_svc *svc, size_t n)
{
	for (size_t i = 0; svc && i < n; i++)
		free(svc[i].cells);
	free(svc);
}

void cg_loc_free(struct cg_loc *loc)
{
	if (!loc)
		return;
	svcs_free(loc->svc, loc->nsvc);
	free(loc);
}

static long region_index(const struct cg_state *st, const char *name)
{
	for (size_t g = 0; g < st->nregions; g++)
		if (!strcmp(st->regions[g].name, name))
			return (long)g;
	return -1;
}

/* May cell c take new flows after the desired state and the overlay? *f: its region's fraction. */
static bool eligible(const struct cg_loc_input *in, const struct cg_cell_cfg *c, uint32_t *f)
{
	long g = region_index(in->st, c->region);
	const struct cg_cell_overlay *o;

	*f = 0;
	if (g < 0 || c->state != CG_CELL_ACTIVE)
		return false;
	*f = in->frac ? in->frac[g] : CG_PPM;
	if (!*f)
		return false;
	if (in->ov && c->id < CG_MAX_CELLS) {
		o = &in->ov[c->id];
		if (o->cap && o->cap != CG_CELL_ACTIVE)
			return false;
		if (o->flags & CG_OVERLAY_F_WEIGHT && !o->weight)
			return false;
	}
	return true;
}

/* May class k be carried to a region of locality cost cost? */
static bool class_goes(const struct cg_state *st, size_t k, uint32_t cost)
{
	const struct cg_class_cfg *cl = cg_state_class_by_id(st, (uint32_t)k);

	return !cl || cl->max_spill_cost >= cost;
}

/* The share (ppm) of the offered flows of classes that may be carried at cost. */
static uint64_t allowed(const struct work *w, uint32_t cost)
{
	uint64_t ok = 0;

	if (!w->total) {
		for (size_t k = 0; k < CG_MAX_CLASSES; k++)
			if (cg_state_class_by_id(w->st, (uint32_t)k) && class_goes(w->st, k, cost))
				return CG_PPM;
		return 0;
	}
	for (size_t k = 0; k < CG_MAX_CLASSES; k++)
		if (class_goes(w->st, k, cost))
			ok += w->load[k];
	return (uint64_t)((unsigned __int128)ok * CG_PPM / w->total);
}

/*
 * Put amount (ppm of the service's flows) on the eligible remote cells, the
 * cheapest cost tier first, each tier up to what it can carry (its spare,
 * less the share of classes that may not go there), shared in the tier by
 * spare. put[] gets each cell's part; returns what was placed.
 */
static uint64_t fill(const struct work *w, uint64_t amount, uint64_t *put, uint64_t *key)
{
	uint64_t left = amount, *part = put + w->n; /* put has 2n entries */
	uint32_t tier = 0;

	memset(put, 0, w->n * sizeof(*put));
	while (left) {
		uint32_t next = UINT32_MAX;
		uint64_t spare = 0, a, take;
		unsigned __int128 cap;

		for (size_t m = 0; m < w->n; m++)
			if (w->cells[m].eligible && !w->cells[m].local &&
			    w->cells[m].cost >= tier && w->cells[m].cost < next)
				next = w->cells[m].cost;
		if (next == UINT32_MAX)
			break;
		for (size_t m = 0; m < w->n; m++) {
			const struct cg_loc_cell *c = &w->cells[m];

			key[m] = c->eligible && !c->local && c->cost == next ? c->avail : 0;
			spare += key[m];
		}
		a = allowed(w, next);
		if (spare && a) {
			cap = w->total ? (unsigned __int128)spare * CG_PPM * CG_PPM / w->total / a :
					 (unsigned __int128)left;
			take = cap < left ? (uint64_t)cap : left;
			cg_split(take, key, w->n, part);
			for (size_t m = 0; m < w->n; m++)
				put[m] += part[m];
			left -= take;
		}
		tier = next + 1;
	}
	return amount - left;
}

/* Spread amount over the cells selected by local (eligible ones), by avail, else by weight. */
static void share_out(const struct work *w, bool local, uint64_t amount, uint64_t *put,
		      uint64_t *key)
{
	uint64_t *part = put + w->n, sum = 0;

	for (size_t m = 0; m < w->n; m++) {
		key[m] = w->cells[m].eligible && w->cells[m].local == local ? w->cells[m].avail : 0;
		sum += key[m];
	}
	if (!sum)
		for (size_t m = 0; m < w->n; m++)
			key[m] = w->cells[m].eligible && w->cells[m].local == local ?
					 w->st->cells[w->ci[m]].weight :
					 0;
	cg_split(amount, key, w->n, part);
	for (size_t m = 0; m < w->n; m++)
		put[m] += part[m];
}

/* The shares (ppm, per cell) for a spill of r: the remote part by fill(), the rest local. */
static void shares_for(const struct work *w, uint32_t r, uint64_t *put, uint64_t *key,
		       uint32_t *share)
{
	uint64_t *tmp = put + 2 * w->n, placed; /* put has 3n entries */

	placed = fill(w, r, put, key);
	memcpy(tmp, put, w->n * sizeof(*tmp));
	memset(put, 0, w->n * sizeof(*put));
	if (placed < r) /* more than the tiers carry (no local cell, or a withdrawal): by spare */
		share_out(w, false, r - placed, put, key);
	if (r < CG_PPM)
		share_out(w, true, CG_PPM - r, put, key);
	for (size_t m = 0; m < w->n; m++)
		share[m] = (uint32_t)(put[m] + tmp[m]);
}

/* The spill the load asks for (ppm), and what is left to shed by class (into s). */
static uint32_t goal_of(struct work *w, uint64_t *put, uint64_t *key, struct cg_loc_svc *s)
{
	uint64_t over = 0, placed = 0, excess = 0, flows_over = 0;

	if (!w->nrem && !w->nloc)
		return 0;
	if (!w->nloc) {
		over = CG_PPM;
		flows_over = w->total;
	} else if (w->caps_known && w->total > w->local_avail) {
		flows_over = w->total - w->local_avail;
		over = (uint64_t)((unsigned __int128)flows_over * CG_PPM / w->total);
	}
	if (w->nrem) {
		uint64_t all = fill(w, CG_PPM, put, key);

		w->room = (uint32_t)(all > CG_PPM ? CG_PPM : all);
	}
	if (over && w->nrem)
		placed = fill(w, over, put, key);
	else
		memset(put, 0, w->n * sizeof(*put));
	/* the placed part of a class that may not go where it is placed: the shedder's */
	for (size_t m = 0; m < w->n; m++) {
		uint64_t flows = (uint64_t)((unsigned __int128)put[m] * w->total / CG_PPM);

		for (size_t k = 0; flows && k < CG_MAX_CLASSES; k++)
			if (w->cells[m].no_carry & (1U << k))
				s->shed_cost[k] += (uint64_t)((unsigned __int128)flows *
							      w->load[k] / w->total);
	}
	/* what no reachable region takes stays local: shed, the lowest class first */
	if (over > placed) {
		uint64_t took =
			(uint64_t)(((unsigned __int128)placed * w->total + CG_PPM / 2) / CG_PPM);

		excess = flows_over > took ? flows_over - took : 0;
	}
	if (!w->nloc && !w->rem_caps_known)
		excess = 0; /* nothing known to be short of */
	for (int k = CG_MAX_CLASSES - 1; k >= 0 && excess; k--) {
		const struct cg_class_cfg *cl = cg_state_class_by_id(w->st, (uint32_t)k);
		uint64_t can =
			w->load[k] - (s->shed_cost[k] < w->load[k] ? s->shed_cost[k] : w->load[k]);
		uint64_t x = excess < can ? excess : can;

		if (cl && cl->protected)
			continue;
		s->shed[k] = x;
		excess -= x;
	}
	s->short_of = excess > 0;
	return (uint32_t)(placed > CG_PPM ? CG_PPM : placed);
}

static const struct cg_loc_svc *old_svc(const struct cg_loc *loc, const char *name)
{
	for (size_t i = 0; i < loc->nsvc; i++)
		if (!strcmp(loc->svc[i].name, name))
			return &loc->svc[i];
	return NULL;
}

static const struct cg_loc_cell *old_cell(const struct cg_loc_svc *o, const char *name)
{
	for (size_t m = 0; o && m < o->ncells; m++)
		if (!strcmp(o->cells[m].name, name))
			return &o->cells[m];
	return NULL;
}

/* Fill the working view of service sv: its cells, their eligibility and avail, its load. */
static void view(struct work *w, const uint32_t *nsvc)
{
	const struct cg_state *st = w->st;
	const uint32_t target = st->locality.target_ppm;

	w->caps_known = true;
	w->rem_caps_known = true;
	for (size_t m = 0; m < w->n; m++) {
		struct cg_loc_cell *c = &w->cells[m];
		const struct cg_cell_cfg *cc;
		uint64_t cap, busy;
		uint32_t f;
		long g;

		snprintf(c->name, sizeof(c->name), "%.*s", CG_NAME_MAX - 1, w->sv->cells[m]);
		w->ci[m] = NO_CELL;
		for (size_t i = 0; i < st->ncells; i++)
			if (!strcmp(st->cells[i].name, c->name))
				w->ci[m] = i;
		if (w->ci[m] == NO_CELL)
			continue;
		cc = &st->cells[w->ci[m]];
		for (size_t k = 0; w->in->load && k < CG_MAX_CLASSES; k++)
			w->load[k] += w->in->load[w->ci[m] * CG_MAX_CLASSES + k] / nsvc[w->ci[m]];
		g = region_index(st, cc->region);
		c->cost = g >= 0 ? st->regions[g].cost : UINT32_MAX;
		c->local = !strcmp(cc->region, st->region);
		c->eligible = eligible(w->in, cc, &f);
		if (!c->local)
			for (size_t k = 0; k < CG_MAX_CLASSES; k++)
				if (!class_goes(st, k, c->cost))
					c->no_carry |= (uint8_t)(1U << k);
		if (!c->eligible)
			continue;
		cap = (uint64_t)cc->capacity * f / CG_PPM * target / CG_PPM;
		busy = w->in->busy ? w->in->busy[w->ci[m]] : 0;

		c->avail = cap > busy ? (cap - busy) / nsvc[w->ci[m]] : 0;
		if (c->local) {
			w->nloc++;
			w->local_avail += c->avail;
			w->caps_known &= cc->capacity > 0;
		} else {
			w->nrem++;
			w->rem_caps_known &= cc->capacity > 0;
		}
	}
	for (size_t k = 0; k < CG_MAX_CLASSES; k++)
		w->total += w->load[k];
}

/* "r2 (cost 10) 800/s, r3 (cost 50) 1600/s": the spare of the remote regions, nearest first. */
static void spares_str(const struct work *w, char *buf, size_t len)
{
	size_t o = 0;
	uint32_t tier = 0;

	buf[0] = '\0';
	for (;;) {
		uint32_t next = UINT32_MAX;

		for (size_t m = 0; m < w->n; m++)
			if (w->cells[m].eligible && !w->cells[m].local &&
			    w->cells[m].cost >= tier && w->cells[m].cost < next)
				next = w->cells[m].cost;
		if (next == UINT32_MAX)
			break;
		for (size_t g = 0; g < w->st->nregions && o < len; g++) {
			const struct cg_region_cfg *r = &w->st->regions[g];
			uint64_t spare = 0;
			bool any = false;

			if (r->cost != next || !strcmp(r->name, w->st->region))
				continue;
			for (size_t m = 0; m < w->n; m++)
				if (w->cells[m].eligible && w->ci[m] != NO_CELL &&
				    !strcmp(w->st->cells[w->ci[m]].region, r->name))
					spare += w->cells[m].avail, any = true;
			if (any)
				o += (size_t)snprintf(buf + o, len - o, "%s%s (cost %u) %llu/s",
						      o ? ", " : "", r->name, r->cost,
						      (unsigned long long)spare);
		}
		if (next == UINT32_MAX - 1)
			break;
		tier = next + 1;
	}
	if (!o)
		snprintf(buf, len, "none");
}

static void why_str(const struct work *w, const struct cg_loc_svc *s, const char *reason,
		    uint32_t from, char *buf, size_t len)
{
	char a[16], b[16], g[16], t[16], sp[160];
	uint64_t shed = 0;

	for (size_t k = 0; k < CG_MAX_CLASSES; k++)
		shed += s->shed[k] + s->shed_cost[k];
	cg_level_format(from, a, sizeof(a));
	cg_level_format(s->spill, b, sizeof(b));
	cg_level_format(s->goal, g, sizeof(g));
	cg_level_format(w->st->locality.target_ppm, t, sizeof(t));
	spares_str(w, sp, sizeof(sp));
	snprintf(buf, len,
		 "%s: spill %s -> %s (goal %s) of %llu new flows/s; local '%s' takes %llu/s "
		 "(%u cells at %s of capacity%s); spare: %s; left to shed %llu/s",
		 reason, a, b, g, (unsigned long long)w->total, w->st->region,
		 (unsigned long long)w->local_avail, (unsigned int)w->nloc, t,
		 w->caps_known ? "" : ", a capacity unknown: no spill", sp,
		 (unsigned long long)shed);
}

static uint32_t udiff(uint32_t a, uint32_t b)
{
	return a > b ? a - b : b - a;
}

/*
 * One local-first service: goal, ramp, the hysteresis, the shares; s is the
 * new record (cells allocated), o the last step's (may be NULL). Returns 1
 * if it published, 0 if not.
 */
static int step_local_first(struct work *w, struct cg_loc_svc *s, const struct cg_loc_svc *o,
			    bool tick, uint64_t *put, uint64_t *key, uint32_t *cand)
{
	const struct cg_loc_settings *set = &w->st->locality;
	bool was = o && o->active, forced = !was;
	uint32_t r, maxd = 0, from = was ? o->spill : 0;
	const char *reason = was ? NULL : "start";

	s->goal = goal_of(w, put, key, s);
	if (!w->nloc && !w->nrem) {
		s->active = false;
		if (was)
			snprintf(s->why, sizeof(s->why),
				 "no cell of the service can take new flows: weights as they are");
		return was;
	}
	s->active = true;
	for (size_t m = 0; was && m < w->n; m++) {
		const struct cg_loc_cell *oc = old_cell(o, w->cells[m].name);

		if (!oc || oc->eligible != w->cells[m].eligible)
			forced = true, reason = reason ? reason : "cells changed";
	}
	if (was && o->ncells != w->n)
		forced = true, reason = reason ? reason : "cells changed";
	r = was ? o->ramp : s->goal;
	if (!w->nloc) {
		r = CG_PPM;
	} else if (!w->nrem) {
		r = 0;
	} else if (tick && s->goal > r) {
		r = s->goal - r > set->rise_ppm ? r + set->rise_ppm : s->goal;
	} else if (tick && s->goal < r) {
		r = r - s->goal > set->withdraw_ppm ? r - set->withdraw_ppm : s->goal;
	}
	if (w->nloc && r > w->room)
		r = w->room; /* withdrawn slowly only while the remote cells have room for it */
	s->ramp = r;
	shares_for(w, r, put, key, cand);
	for (size_t m = 0; was && m < w->n; m++) {
		const struct cg_loc_cell *oc = old_cell(o, w->cells[m].name);
		uint32_t d = udiff(cand[m], oc ? oc->share : 0);

		maxd = d > maxd ? d : maxd;
	}
	if (!forced && (udiff(r, o->spill) > set->step_ppm || (!r && o->spill) ||
			(r < o->spill && o->spill > w->room)))
		reason = r > o->spill ? "rise" : "withdraw";
	else if (!forced && maxd > set->step_ppm)
		reason = "shares moved";
	if (reason) {
		for (size_t m = 0; m < w->n; m++)
			w->cells[m].share = cand[m];
		s->spill = r;
		s->changes++;
		s->changed_ms = w->in->now_ms;
		why_str(w, s, reason, from, s->why, sizeof(s->why));
	} else {
		for (size_t m = 0; m < w->n; m++) {
			const struct cg_loc_cell *oc = old_cell(o, w->cells[m].name);

			w->cells[m].share = oc ? oc->share : 0;
		}
		s->spill = o->spill;
	}
	for (size_t m = 0; m < w->n; m++) {
		uint64_t wt = (uint64_t)w->cells[m].share * CG_MAX_WEIGHT / CG_PPM;

		w->cells[m].weight = w->cells[m].share ? (wt ? (uint32_t)wt : 1) : 0;
	}
	return reason != NULL;
}

/* Step service sv into the new record s (o: the last step's, or NULL). */
static int step_service(const struct cg_loc_input *in, const struct cg_service_cfg *sv,
			const uint32_t *nsvc, const struct cg_loc_svc *o, bool tick,
			struct cg_loc_svc *s)
{
	struct work w = { .in = in, .st = in->st, .sv = sv, .n = sv->ncells };
	size_t n = sv->ncells ? sv->ncells : 1;
	uint64_t *put = calloc(3 * n, sizeof(*put)), *key = calloc(n, sizeof(*key));
	uint32_t *cand = calloc(n, sizeof(*cand));
	int ret = -ENOMEM;

	w.ci = calloc(n, sizeof(*w.ci));
	s->cells = calloc(n, sizeof(*s->cells));
	if (!put || !key || !cand || !w.ci || !s->cells)
		goto out;
	w.cells = s->cells;
	s->ncells = sv->ncells;
	snprintf(s->name, sizeof(s->name), "%.*s", CG_NAME_MAX - 1, sv->name);
	s->mode = sv->locality;
	if (o) {
		s->changes = o->changes;
		s->changed_ms = o->changed_ms;
		memcpy(s->why, o->why, sizeof(s->why));
	}
	view(&w, nsvc);
	memcpy(s->load, w.load, sizeof(s->load));
	s->total = w.total;
	s->local_avail = w.local_avail;
	if (sv->locality == CG_LOC_LOCAL_FIRST) {
		ret = step_local_first(&w, s, o, tick, put, key, cand);
	} else {
		ret = o && o->active;
		if (ret) {
			s->changes++;
			s->changed_ms = in->now_ms;
			snprintf(s->why, sizeof(s->why), "spread: weights as they are");
		}
	}
out:
	free(put);
	free(key);
	free(cand);
	free(w.ci);
	return ret;
}

int cg_loc_step(struct cg_loc *loc, const struct cg_loc_input *in)
{
	const struct cg_state *st = in->st;
	size_t ns = st->nservices;
	struct cg_loc_svc *svc = calloc(ns ? ns : 1, sizeof(*svc));
	uint32_t *nsvc = calloc(st->ncells ? st->ncells : 1, sizeof(*nsvc));
	bool tick = !loc->started || in->now_ms - loc->last_ms >= st->locality.period_ms;
	int changed = 0, ret = 0;

	if (!svc || !nsvc) {
		ret = -ENOMEM;
		goto fail;
	}
	for (size_t j = 0; j < ns; j++)
		for (size_t m = 0; m < st->services[j].ncells; m++)
			for (size_t i = 0; i < st->ncells; i++)
				if (!strcmp(st->cells[i].name, st->services[j].cells[m]))
					nsvc[i]++;
	for (size_t i = 0; i < st->ncells; i++)
		nsvc[i] = nsvc[i] ? nsvc[i] : 1;
	for (size_t j = 0; j < ns; j++) {
		ret = step_service(in, &st->services[j], nsvc, old_svc(loc, st->services[j].name),
				   tick, &svc[j]);
		if (ret < 0)
			goto fail;
		changed += ret;
	}
	svcs_free(loc->svc, loc->nsvc);
	loc->svc = svc;
	loc->nsvc = ns;
	if (tick)
		loc->last_ms = in->now_ms;
	loc->started = true;
	free(nsvc);
	return changed;
fail:
	svcs_free(svc, ns);
	free(nsvc);
	return ret;
}

const struct cg_loc_svc *cg_loc_service(const struct cg_loc *loc, const char *name)
{
	return loc ? old_svc(loc, name) : NULL;
}

uint32_t cg_loc_weight(const struct cg_loc *loc, const struct cg_service_cfg *svc,
		       const struct cg_cell_cfg *c, uint32_t base)
{
	const struct cg_loc_svc *s = cg_loc_service(loc, svc->name);
	const struct cg_loc_cell *lc;

	if (!s || !s->active || s->mode != CG_LOC_LOCAL_FIRST ||
	    svc->locality != CG_LOC_LOCAL_FIRST)
		return base;
	lc = old_cell(s, c->name);
	return lc ? lc->weight : 0;
}

bool cg_loc_left_to_shed(const struct cg_loc *loc, uint64_t *out)
{
	bool short_of = false;

	memset(out, 0, CG_MAX_CLASSES * sizeof(*out));
	for (size_t i = 0; loc && i < loc->nsvc; i++) {
		const struct cg_loc_svc *s = &loc->svc[i];

		if (!s->active)
			continue;
		for (size_t k = 0; k < CG_MAX_CLASSES; k++)
			out[k] += s->shed[k] + s->shed_cost[k];
		short_of |= s->short_of;
	}
	return short_of;
}

void cg_loc_busy(const struct cg_state *st, const uint32_t *report_ppm, const uint32_t *load,
		 uint32_t *busy)
{
	for (size_t i = 0; i < st->ncells; i++) {
		const struct cg_cell_cfg *c = &st->cells[i];
		uint64_t carried, own = 0;

		busy[i] = 0;
		if (!report_ppm || report_ppm[i] == CG_LOC_NO_REPORT || !c->capacity)
			continue;
		carried = (uint64_t)report_ppm[i] * c->capacity / CG_PPM;
		for (size_t k = 0; load && k < CG_MAX_CLASSES; k++)
			own += load[i * CG_MAX_CLASSES + k];
		if (carried > own)
			busy[i] =
				carried - own > UINT32_MAX ? UINT32_MAX : (uint32_t)(carried - own);
	}
}

/* Is every service that lists cell c local-first (and one at least)? */
static bool only_local_first(const struct cg_state *st, const struct cg_cell_cfg *c)
{
	size_t n = 0;

	for (size_t j = 0; j < st->nservices; j++)
		for (size_t m = 0; m < st->services[j].ncells; m++)
			if (!strcmp(st->services[j].cells[m], c->name)) {
				if (st->services[j].locality != CG_LOC_LOCAL_FIRST)
					return false;
				n++;
			}
	return n > 0;
}

static bool no_carry_of(const struct cg_state *st, const struct cg_cell_cfg *c, uint32_t cost,
			uint8_t class)
{
	const struct cg_class_cfg *cl = cg_state_class_by_id(st, class);

	return cl && !cl->protected && cost > cl->max_spill_cost;
}

static uint32_t region_cost(const struct cg_state *st, const struct cg_cell_cfg *c, bool *found)
{
	long g = region_index(st, c->region);

	*found = g >= 0;
	return g >= 0 ? st->regions[g].cost : 0;
}

bool cg_loc_is_no_carry(const struct cg_state *st, uint32_t cell, uint8_t class)
{
	for (size_t i = 0; i < st->ncells; i++) {
		const struct cg_cell_cfg *c = &st->cells[i];
		bool found;
		uint32_t cost;

		if (c->id != cell)
			continue;
		cost = region_cost(st, c, &found);
		return found && no_carry_of(st, c, cost, class) && only_local_first(st, c);
	}
	return false;
}

size_t cg_loc_no_carry(const struct cg_state *st, struct cg_shed_level *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < st->ncells; i++) {
		const struct cg_cell_cfg *c = &st->cells[i];
		bool found, checked = false, only = false;
		uint32_t cost = region_cost(st, c, &found);

		for (uint8_t k = 0; found && k < CG_MAX_CLASSES && n < cap; k++) {
			if (!no_carry_of(st, c, cost, k))
				continue;
			if (!checked)
				only = only_local_first(st, c), checked = true;
			if (!only)
				break;
			out[n++] = (struct cg_shed_level){ .cell = c->id,
							   .class = k,
							   .level_ppm = CG_PPM };
		}
	}
	return n;
}
