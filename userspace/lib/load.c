// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* load.c - offered new-flow load per cell and class, from two counter snapshots */
#include <string.h>

#include "cellgate/load.h"
#include "cellgate/region.h"

/* The fraction of cell c's region, CG_PPM when none is given or the region is unknown. */
static uint32_t cell_frac(const struct cg_state *st, const uint32_t *frac,
			  const struct cg_cell_cfg *c)
{
	if (!frac)
		return CG_PPM;
	for (size_t g = 0; g < st->nregions; g++)
		if (!strcmp(st->regions[g].name, c->region))
			return frac[g];
	return CG_PPM;
}

void cg_load_offered(const struct cg_state *st, const struct cg_stats_snap *delta,
		     const uint32_t *frac, uint32_t *load)
{
	for (size_t i = 0; i < st->ncells; i++) {
		const struct cg_cell_cfg *c = &st->cells[i];
		uint32_t f = cell_frac(st, frac, c);

		for (size_t k = 0; k < CG_MAX_CLASSES; k++) {
			const struct cg_cell_stats *s;
			double r = 0;

			if (c->id < CG_MAX_CELLS && f && delta->t_ns) {
				s = &delta->cell[c->id][k];
				r = cg_stats_rate(s->new_flows + s->shed, delta->t_ns);
				if (f < CG_PPM)
					r = r * CG_PPM / f;
			}
			load[i * CG_MAX_CLASSES + k] =
				r >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)(r + 0.5);
		}
	}
}
