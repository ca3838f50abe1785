/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/failover.h - the failover controller: what health and the clock ask of each region */
#ifndef CELLGATE_FAILOVER_H
#define CELLGATE_FAILOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellgate/health.h"
#include "cellgate/reconcile.h"
#include "cellgate/region.h"
#include "cellgate/state.h"

/*
 * Pure logic on a virtual clock: given the desired state, the regions'
 * records, the cells' health and the time, which one region event is due
 * next. The daemon (and a test) runs it after every health change, every
 * transition and at the time it names; it applies the event through
 * cg_evac_transition(), the same path an operator's command takes, so the
 * rules guard automatic and manual transitions alike.
 *
 * In order (the first that applies wins, regions in st->regions order):
 *   panic            nothing at all (the prober is believed cut off: freeze)
 *   flap             restoring, and a cell of the region is down
 *   step done        restoring, the step's dwell passed and the region is healthy
 *                    (no cell down; with probes on, at least one up)
 *   expire           evacuated, and its expiry passed
 *   evacuate         active (or no record), and at least auto_ppm of its
 *                    active cells are down (auto_ppm 0: never)
 * A draining region is the saga's: nothing here moves it.
 */

/* The controller's view of the world. */
struct cg_fo_input {
	const struct cg_state *st;  /* the desired state */
	const struct cg_evac *recs; /* the regions' records (a region without one is active) */
	size_t nrecs;
	const struct cg_rules *rules; /* ramp dwell */
	const uint8_t *health;	      /* per st->cells[i], enum cg_health_state; NULL: probes off */
	bool panic;		      /* the panic threshold is passed */
	uint32_t auto_ppm;	      /* share of a region's active cells down that evacuates it */
	int64_t now;		      /* unix seconds */
};

/* What is due. */
struct cg_fo_action {
	long region;		   /* index in st->regions, -1: nothing due now */
	uint8_t ev;		   /* enum cg_region_event (valid when region >= 0) */
	char why[CG_RULE_WHY_MAX]; /* one line: "health: 2 of 2 cells down", ... */
	int64_t next_due;	   /* earliest time a timed event may fall due; 0: none */
};

/*
 * cg_failover_decide - fill *out with the event due now (region >= 0, return
 * 1) or none (region -1, return 0). next_due is set either way, from the
 * dwell and expiry times still ahead, so the caller knows when to look again
 * without a health change.
 */
int cg_failover_decide(const struct cg_fo_input *in, struct cg_fo_action *out);

/*
 * cg_failover_region_health - of region g's active cells (st->cells whose
 * region is st->regions[g].name and whose state is active): how many
 * (*total), how many are down (*down) and up (*up). health NULL: none down
 * or up.
 */
void cg_failover_region_health(const struct cg_state *st, const uint8_t *health, size_t g,
			       uint32_t *total, uint32_t *down, uint32_t *up);

/*
 * cg_failover_overlay - the controllers' view of every cell, for
 * cg_rec_set_overlay() (ov indexed by cell id, CG_MAX_CELLS entries, every
 * one rewritten):
 *   - a cell whose health is down (health NULL: none) is capped CG_CELL_DOWN:
 *     out of the tables, its flows re-hashed (the server is gone);
 *   - when a region is below its full share (frac, per st->regions[g], ppm;
 *     NULL: all full), every cell gets its weight from cg_plan_weights() with
 *     load (per st->cells[i] x CG_MAX_CLASSES; NULL: by capacity) and the
 *     down cells left out of the survivors: a region at 0 has weight 0 (out of
 *     the tables, its established flows continue), its share goes to the
 *     survivors by spare capacity, nearest first.
 * With every region full and no cell down, ov is all zero (the desired state
 * as it is). Returns 0, -ENOSPC when a region's share has no survivor to go
 * to (ov then has the health caps only: the region keeps its share rather
 * than the service losing it), -ENOMEM.
 */
int cg_failover_overlay(const struct cg_state *st, const uint32_t *frac, const uint32_t *load,
			const uint8_t *health, struct cg_cell_overlay *ov);

#endif /* CELLGATE_FAILOVER_H */
