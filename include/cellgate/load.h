/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/load.h - offered new-flow load per cell and class, from two counter snapshots */
#ifndef CELLGATE_LOAD_H
#define CELLGATE_LOAD_H

#include <stdint.h>

#include "cellgate/state.h"
#include "cellgate/stats.h"

/*
 * The load a redistribution plan moves (cellgate/region.h, cg_plan_weights)
 * is the new flows a second each cell is offered, by class, as it would be
 * at its region's full share: flows the data plane pinned to it plus flows
 * its shed level refused (both were offered to it). Flows the guard or a
 * ceiling refused are not load to plan for (a retry storm is not demand).
 * A cell of a region at a fraction f of its share (ramping) is scaled up by
 * 1/f; a cell of a region at 0 offers nothing measurable and counts 0.
 */

/*
 * cg_load_offered - load[i * CG_MAX_CLASSES + k] (per st->cells[i], class k)
 * in new flows a second from delta (cg_stats_delta() of two reads), with the
 * regions' fractions frac (per st->regions[g], ppm; NULL: all at full share).
 * Saturates at UINT32_MAX. A delta of no time gives all 0.
 */
void cg_load_offered(const struct cg_state *st, const struct cg_stats_snap *delta,
		     const uint32_t *frac, uint32_t *load);

#endif /* CELLGATE_LOAD_H */
