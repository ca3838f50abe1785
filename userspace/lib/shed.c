// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* shed.c - which shed level applies to each (cell, class), and why */
#include <string.h>

#include "cellgate/config.h"
#include "cellgate/shed.h"

const char *cg_shed_source_name(unsigned int source)
{
	switch (source) {
	case CG_SHED_OPERATOR:
		return "operator";
	case CG_SHED_CONTROLLER:
		return "controller";
	default:
		return "none";
	}
}

static bool class_protected(const struct cg_state *st, uint8_t class)
{
	size_t i;

	for (i = 0; i < st->nclasses; i++)
		if (st->classes[i].id == class)
			return st->classes[i].protected;
	return false;
}

/* Apply operator entry i of st to slot e; a named cell beats "*". */
static void apply_entry(const struct cg_state *st, size_t i, bool wildcard, struct cg_shed_eff *e)
{
	const struct cg_shed_cfg *s = &st->shed[i];

	if (wildcard && e->source == CG_SHED_OPERATOR && e->entry >= 0 &&
	    strcmp(st->shed[e->entry].cell, CG_SHED_ANY_CELL))
		return;
	e->soft_ppm = s->level_ppm;
	e->hard_ppm = s->hard ? s->level_ppm : 0;
	e->source = CG_SHED_OPERATOR;
	e->entry = (int32_t)i;
}

int64_t cg_shed_effective(const struct cg_state *st, const struct cg_shed_level *ctl, size_t nctl,
			  int64_t now, struct cg_shed_eff *out)
{
	int64_t next = 0;
	size_t i, j;

	for (i = 0; i < (size_t)CG_MAX_CELLS * CG_MAX_CLASSES; i++)
		out[i] = (struct cg_shed_eff){ .entry = -1 };

	/* the controller first: operators override it below */
	for (i = 0; i < nctl; i++) {
		struct cg_shed_eff *e;

		if (ctl[i].cell >= CG_MAX_CELLS || ctl[i].class >= CG_MAX_CLASSES ||
		    !ctl[i].level_ppm || class_protected(st, ctl[i].class))
			continue;
		e = &out[ctl[i].cell * CG_MAX_CLASSES + ctl[i].class];
		e->soft_ppm = ctl[i].level_ppm;
		e->hard_ppm = ctl[i].hard ? ctl[i].level_ppm : 0;
		e->source = CG_SHED_CONTROLLER;
	}

	for (i = 0; i < st->nshed; i++) {
		const struct cg_shed_cfg *s = &st->shed[i];
		bool wildcard = !strcmp(s->cell, CG_SHED_ANY_CELL);

		if (s->expires && s->expires <= now)
			continue;
		if (s->expires && (!next || s->expires < next))
			next = s->expires;
		if (s->class >= CG_MAX_CLASSES)
			continue;
		for (j = 0; j < st->ncells; j++) {
			const struct cg_cell_cfg *c = &st->cells[j];

			if (c->id >= CG_MAX_CELLS || (!wildcard && strcmp(c->name, s->cell)))
				continue;
			apply_entry(st, i, wildcard, &out[c->id * CG_MAX_CLASSES + s->class]);
		}
	}
	return next;
}
