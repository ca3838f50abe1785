// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* plan.c - redistribution of an evacuated region's share and the pre-shed sizing of survivors */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/region.h"

static uint32_t region_frac(const struct cg_state *st, const uint32_t *frac, const char *region,
			    uint32_t *cost)
{
	for (size_t g = 0; g < st->nregions; g++) {
		if (!strcmp(st->regions[g].name, region)) {
			*cost = st->regions[g].cost;
			return frac ? frac[g] : CG_PPM;
		}
	}
	*cost = UINT32_MAX;
	return frac ? 0 : CG_PPM;
}

void cg_split(uint64_t total, const uint64_t *key, size_t n, uint64_t *out)
{
	unsigned __int128 sum = 0;
	uint64_t given = 0;

	for (size_t i = 0; i < n; i++)
		sum += key[i];
	for (size_t i = 0; i < n; i++) {
		out[i] = sum ? (uint64_t)((unsigned __int128)total * key[i] / sum) : 0;
		given += out[i];
	}
	/* fewer than n units are left: one each to the largest remainders */
	while (sum && given < total) {
		size_t best = n;
		unsigned __int128 bestr = 0;

		for (size_t i = 0; i < n; i++) {
			unsigned __int128 r = (unsigned __int128)total * key[i] % sum;
			unsigned __int128 fl = (unsigned __int128)total * key[i] / sum;

			if (key[i] && out[i] == fl && (best == n || r > bestr))
				best = i, bestr = r;
		}
		if (best == n)
			break;
		out[best]++;
		given++;
	}
}

int cg_plan_weights(const struct cg_state *st, const uint32_t *frac, const uint32_t *load,
		    uint32_t *weight, uint64_t *expected)
{
	size_t nc = st->ncells, k;
	uint64_t *own = calloc(nc ? nc : 1, sizeof(*own));
	uint64_t *key = calloc(nc ? nc : 1, sizeof(*key));
	uint64_t *extra = calloc(nc ? nc : 1, sizeof(*extra));
	uint64_t *part = calloc(nc ? nc : 1, sizeof(*part));
	uint32_t *cost = calloc(nc ? nc : 1, sizeof(*cost));
	bool *surv = calloc(nc ? nc : 1, sizeof(*surv));
	uint64_t moved[CG_MAX_CLASSES] = { 0 }, m = 0, wmoved = 0, left;
	int ret = 0;

	if (!own || !key || !extra || !part || !cost || !surv) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nc; i++) {
		const struct cg_cell_cfg *c = &st->cells[i];
		uint32_t f = region_frac(st, frac, c->region, &cost[i]);
		bool on = c->state == CG_CELL_ACTIVE;

		weight[i] = on ? (uint32_t)((uint64_t)c->weight * f / CG_PPM) : 0;
		if (on)
			wmoved += c->weight - weight[i];
		surv[i] = on && f == CG_PPM;
		for (k = 0; k < CG_MAX_CLASSES; k++) {
			uint64_t l = on && load ? load[i * CG_MAX_CLASSES + k] : 0;
			uint64_t kept = l * f / CG_PPM;

			own[i] += kept;
			moved[k] += l - kept;
			m += l - kept;
			if (expected)
				expected[i * CG_MAX_CLASSES + k] = kept;
		}
	}
	bool any = false;

	for (size_t i = 0; i < nc; i++)
		any |= surv[i];
	if (!any) {
		ret = (m || wmoved) ? -ENOSPC : 0;
		goto out;
	}
	/* the moved load, cheapest tier first, each up to its spare capacity */
	left = m;
	uint32_t tier = 0;

	for (;;) {
		uint32_t next = UINT32_MAX;
		uint64_t spare = 0;

		for (size_t i = 0; i < nc; i++)
			if (surv[i] && cost[i] >= tier && cost[i] < next)
				next = cost[i];
		if (next == UINT32_MAX || !left)
			break;
		for (size_t i = 0; i < nc; i++) {
			uint32_t cap = st->cells[i].capacity;

			key[i] = surv[i] && cost[i] == next && cap > own[i] ? cap - own[i] : 0;
			spare += key[i];
		}
		uint64_t take = spare < left ? spare : left;

		cg_split(take, key, nc, part);
		for (size_t i = 0; i < nc; i++)
			extra[i] += part[i];
		left -= take;
		if (next == UINT32_MAX - 1)
			break;
		tier = next + 1;
	}
	if (left) {
		uint64_t caps = 0;

		for (size_t i = 0; i < nc; i++)
			caps += surv[i] ? st->cells[i].capacity : 0;
		for (size_t i = 0; i < nc; i++)
			key[i] = surv[i] ? (caps ? st->cells[i].capacity : st->cells[i].weight) : 0;
		cg_split(left, key, nc, part);
		for (size_t i = 0; i < nc; i++)
			extra[i] += part[i];
	}
	/* the moved weight follows the moved load */
	if (m) {
		cg_split(wmoved, extra, nc, part);
	} else {
		uint32_t best = UINT32_MAX;
		uint64_t caps = 0;

		for (size_t i = 0; i < nc; i++)
			if (surv[i] && cost[i] < best)
				best = cost[i];
		for (size_t i = 0; i < nc; i++)
			caps += surv[i] && cost[i] == best ? st->cells[i].capacity : 0;
		for (size_t i = 0; i < nc; i++)
			key[i] = surv[i] && cost[i] == best ?
					 (caps ? st->cells[i].capacity : st->cells[i].weight) :
					 0;
		cg_split(wmoved, key, nc, part);
	}
	for (size_t i = 0; i < nc; i++) {
		uint64_t w = weight[i] + part[i];

		weight[i] = w > CG_MAX_WEIGHT ? CG_MAX_WEIGHT : (uint32_t)w;
	}
	if (expected && m) {
		for (size_t i = 0; i < nc; i++) {
			uint64_t bycl[CG_MAX_CLASSES], mv[CG_MAX_CLASSES];

			memcpy(mv, moved, sizeof(mv));
			cg_split(extra[i], mv, CG_MAX_CLASSES, bycl);
			for (k = 0; k < CG_MAX_CLASSES; k++)
				expected[i * CG_MAX_CLASSES + k] += bycl[k];
		}
	}
out:
	free(own);
	free(key);
	free(extra);
	free(part);
	free(cost);
	free(surv);
	return ret;
}

bool cg_preshed(const struct cg_state *st, const uint64_t *load, uint32_t capacity, uint32_t *shed)
{
	uint64_t total = 0, excess;

	memset(shed, 0, CG_MAX_CLASSES * sizeof(*shed));
	for (size_t k = 0; k < CG_MAX_CLASSES; k++)
		total += load[k];
	if (!capacity || total <= capacity)
		return true;
	excess = total - capacity;
	for (int k = CG_MAX_CLASSES - 1; k >= 0 && excess; k--) {
		const struct cg_class_cfg *cl = cg_state_class_by_id(st, (uint32_t)k);
		uint64_t s;

		if (!load[k] || (cl && cl->protected))
			continue;
		s = excess < load[k] ? excess : load[k];
		/* round up: shedding a little more never leaves the cell over capacity */
		shed[k] = (uint32_t)((s * CG_PPM + load[k] - 1) / load[k]);
		excess -= s;
	}
	return excess == 0;
}

static void shares(const uint32_t *w, size_t n, uint32_t *share, size_t stride)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += w[i];
	for (size_t i = 0; i < n; i++)
		*(uint32_t *)((char *)share + i * stride) =
			sum ? (uint32_t)((uint64_t)w[i] * CG_PPM / sum) : 0;
}

int cg_plan_build(const struct cg_state *st, const uint32_t *old_frac, const uint32_t *new_frac,
		  const uint32_t *load, struct cg_plan *plan)
{
	size_t nc = st->ncells;
	uint32_t *ow = calloc(nc ? nc : 1, sizeof(*ow));
	uint32_t *nw = calloc(nc ? nc : 1, sizeof(*nw));
	uint64_t *exp = calloc((nc ? nc : 1) * CG_MAX_CLASSES, sizeof(*exp));
	int ret = -ENOMEM;

	memset(plan, 0, sizeof(*plan));
	plan->cells = calloc(nc ? nc : 1, sizeof(*plan->cells));
	if (!ow || !nw || !exp || !plan->cells)
		goto out;
	ret = cg_plan_weights(st, old_frac, load, ow, NULL);
	if (ret && ret != -ENOSPC)
		goto out;
	ret = cg_plan_weights(st, new_frac, load, nw, exp);
	if (ret == -ENOSPC)
		plan->no_survivors = true;
	else if (ret)
		goto out;
	ret = 0;
	plan->ncells = nc;
	for (size_t i = 0; i < nc; i++) {
		struct cg_plan_cell *pc = &plan->cells[i];

		pc->old_weight = ow[i];
		pc->new_weight = nw[i];
		pc->capacity = st->cells[i].capacity;
		for (size_t k = 0; k < CG_MAX_CLASSES; k++) {
			pc->load[k] = exp[i * CG_MAX_CLASSES + k];
			pc->total += pc->load[k];
		}
		pc->short_of = !cg_preshed(st, pc->load, pc->capacity, pc->shed_ppm);
		plan->short_of |= pc->short_of;
	}
	shares(ow, nc, &plan->cells[0].old_share, sizeof(*plan->cells));
	shares(nw, nc, &plan->cells[0].new_share, sizeof(*plan->cells));
	plan->moved = 0;
	for (size_t i = 0; i < nc && load; i++) {
		uint32_t cost, f = region_frac(st, new_frac, st->cells[i].region, &cost);

		for (size_t k = 0; st->cells[i].state == CG_CELL_ACTIVE && k < CG_MAX_CLASSES;
		     k++) {
			uint64_t l = load[i * CG_MAX_CLASSES + k];

			plan->moved += l - l * f / CG_PPM;
		}
	}
out:
	free(ow);
	free(nw);
	free(exp);
	if (ret) {
		free(plan->cells);
		plan->cells = NULL;
	}
	return ret;
}

void cg_plan_free(struct cg_plan *plan)
{
	free(plan->cells);
	memset(plan, 0, sizeof(*plan));
}
