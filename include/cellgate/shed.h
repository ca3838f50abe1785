/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/shed.h - which shed level applies to each (cell, class), and why */
#ifndef CELLGATE_SHED_H
#define CELLGATE_SHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellgate/state.h"

/*
 * Two sources set levels: operators (entries of the desired state, with an
 * expiry) and, later, the automatic backpressure controller. An unexpired
 * operator entry for a (cell, class) wins over the controller's level, and an
 * entry naming the cell wins over one for every cell ("*"). The controller
 * never touches a protected class: only an operator can shed it.
 */

/* A level the automatic controller wants for (cell, class). */
struct cg_shed_level {
	uint32_t cell;	    /* cell id */
	uint8_t class;	    /* class id */
	bool hard;	    /* also established flows */
	uint32_t level_ppm; /* parts per million of flows refused */
};

/* Who set the level that applies. */
enum cg_shed_source {
	CG_SHED_NONE = 0,
	CG_SHED_OPERATOR = 1,
	CG_SHED_CONTROLLER = 2,
};

/* The level that applies to one (cell, class). */
struct cg_shed_eff {
	uint32_t soft_ppm; /* new flows refused */
	uint32_t hard_ppm; /* established flows' packets dropped */
	uint8_t source;	   /* enum cg_shed_source */
	int32_t entry;	   /* index in st->shed of the operator entry, -1 otherwise */
};

/*
 * cg_shed_effective - fill out[cell id * CG_MAX_CLASSES + class] (an array of
 * CG_MAX_CELLS * CG_MAX_CLASSES) with what applies at unix time now, from
 * st's operator entries and the controller's levels ctl[0..nctl).
 * Returns the earliest expiry still ahead among the operator entries
 * (0 if none), so the caller knows when to look again.
 */
int64_t cg_shed_effective(const struct cg_state *st, const struct cg_shed_level *ctl, size_t nctl,
			  int64_t now, struct cg_shed_eff *out);

/* cg_shed_source_name - "operator", "controller" or "none". */
const char *cg_shed_source_name(unsigned int source);

#endif /* CELLGATE_SHED_H */
