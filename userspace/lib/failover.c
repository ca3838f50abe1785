// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* failover.c - the failover controller: which region event health and the clock make due */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/failover.h"

void cg_failover_region_health(const struct cg_state *st, const uint8_t *health, size_t g,
			       uint32_t *total, uint32_t *down, uint32_t *up)
{
	*total = *down = *up = 0;
	for (size_t i = 0; i < st->ncells; i++) {
		const struct cg_cell_cfg *c = &st->cells[i];

		if (c->state != CG_CELL_ACTIVE || strcmp(c->region, st->regions[g].name))
			continue;
		(*total)++;
		if (health && health[i] == CG_HEALTH_DOWN)
			(*down)++;
		else if (health && health[i] == CG_HEALTH_UP)
			(*up)++;
	}
}

static const struct cg_evac *record_of(const struct cg_fo_input *in, const char *region)
{
	for (size_t i = 0; i < in->nrecs; i++)
		if (!strcmp(in->recs[i].region, region))
			return &in->recs[i];
	return NULL;
}

/* Earlier of a pending due time and t (0: none). */
static void due(int64_t *next, int64_t t)
{
	if (t > 0 && (!*next || t < *next))
		*next = t;
}

static int found(struct cg_fo_action *out, size_t g, enum cg_region_event ev)
{
	out->region = (long)g;
	out->ev = (uint8_t)ev;
	return 1;
}

/* The first event of region g due now, or 0; adds its future times to out->next_due. */
static int region_due(const struct cg_fo_input *in, size_t g, struct cg_fo_action *out)
{
	const struct cg_region_cfg *r = &in->st->regions[g];
	const struct cg_evac *rec = record_of(in, r->name);
	uint8_t state = rec ? rec->state : CG_REGION_ACTIVE;
	uint32_t total, down, up;
	int64_t t;

	cg_failover_region_health(in->st, in->health, g, &total, &down, &up);
	switch (state) {
	case CG_REGION_RESTORING:
		if (down) {
			snprintf(out->why, sizeof(out->why),
				 "health: %u of %u cells of '%s' down while restoring", down, total,
				 r->name);
			return found(out, g, CG_EV_FLAP);
		}
		/*
		 * Stamps are whole seconds: a step stamped S began in S..S+1, so it
		 * has surely been held dwell seconds only from S + dwell + 1.
		 */
		t = rec->step_started + in->rules->ramp.dwell + 1;
		if (in->now < t) {
			due(&out->next_due, t);
			return 0;
		}
		if (in->health && !up)
			return 0; /* no verdict yet: a health change brings us back */
		snprintf(out->why, sizeof(out->why), "ramp step %u of '%s' held %llds healthy",
			 (unsigned int)rec->step + 1, r->name, (long long)in->rules->ramp.dwell);
		return found(out, g, CG_EV_STEP_DONE);
	case CG_REGION_EVACUATED:
		if (!rec->expires)
			return 0;
		if (in->now < rec->expires) {
			due(&out->next_due, rec->expires);
			return 0;
		}
		snprintf(out->why, sizeof(out->why), "the evacuation of '%s' expired", r->name);
		return found(out, g, CG_EV_EXPIRE);
	case CG_REGION_ACTIVE:
		if (!in->auto_ppm || !total || !down ||
		    (uint64_t)down * CG_PPM < (uint64_t)in->auto_ppm * total)
			return 0;
		snprintf(out->why, sizeof(out->why), "health: %u of %u cells of '%s' down", down,
			 total, r->name);
		return found(out, g, CG_EV_EVACUATE);
	default: /* draining: the saga's */
		return 0;
	}
}

int cg_failover_decide(const struct cg_fo_input *in, struct cg_fo_action *out)
{
	memset(out, 0, sizeof(*out));
	out->region = -1;
	if (in->panic)
		return 0;
	for (size_t g = 0; g < in->st->nregions; g++)
		if (region_due(in, g, out))
			return 1;
	out->why[0] = '\0';
	return 0;
}

/* The fraction of cell c's region (CG_PPM if frac is NULL or the region unknown). */
static uint32_t cell_frac(const struct cg_state *st, const uint32_t *frac,
			  const struct cg_cell_cfg *c)
{
	for (size_t g = 0; frac && g < st->nregions; g++)
		if (!strcmp(st->regions[g].name, c->region))
			return frac[g];
	return CG_PPM;
}

int cg_failover_overlay(const struct cg_state *st, const uint32_t *frac, const uint32_t *load,
			const uint8_t *health, struct cg_cell_overlay *ov)
{
	struct cg_state view = *st;
	bool partial = false;
	uint32_t *weight;
	int ret;

	memset(ov, 0, sizeof(*ov) * CG_MAX_CELLS);
	for (size_t i = 0; i < st->ncells; i++)
		if (health && health[i] == CG_HEALTH_DOWN && st->cells[i].id < CG_MAX_CELLS)
			ov[st->cells[i].id].cap = CG_CELL_DOWN;
	for (size_t g = 0; frac && g < st->nregions; g++)
		partial |= frac[g] < CG_PPM;
	if (!partial || !st->ncells)
		return 0;
	/* the plan sees down cells as down: they take no share */
	view.cells = malloc(st->ncells * sizeof(*view.cells));
	weight = calloc(st->ncells, sizeof(*weight));
	if (!view.cells || !weight) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(view.cells, st->cells, st->ncells * sizeof(*view.cells));
	/* a down cell takes no share; one of a region below its full share still gives its own */
	for (size_t i = 0; i < st->ncells; i++)
		if (health && health[i] == CG_HEALTH_DOWN &&
		    cell_frac(st, frac, &st->cells[i]) == CG_PPM)
			view.cells[i].state = CG_CELL_DOWN;
	ret = cg_plan_weights(&view, frac, load, weight, NULL);
	if (ret)
		goto out;
	for (size_t i = 0; i < st->ncells; i++) {
		struct cg_cell_overlay *o;

		if (st->cells[i].id >= CG_MAX_CELLS || view.cells[i].state != CG_CELL_ACTIVE ||
		    (health && health[i] == CG_HEALTH_DOWN))
			continue; /* out of the tables by its cap */
		o = &ov[st->cells[i].id];
		o->weight = weight[i];
		o->flags |= CG_OVERLAY_F_WEIGHT;
	}
out:
	free(view.cells);
	free(weight);
	return ret;
}
