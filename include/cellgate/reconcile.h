/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/reconcile.h - make the maps hold what the desired state says, writing only what differs */
#ifndef CELLGATE_RECONCILE_H
#define CELLGATE_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

#include "cellgate/dataplane.h"
#include "cellgate/shed.h"
#include "cellgate/state.h"

/*
 * The reconciler keeps a copy of what it believes the maps hold (read from
 * the maps when it is created, so a restarted cellgated adopting pinned maps
 * starts from the truth), computes what they should hold, and writes the
 * difference in an order no packet can be hurt by:
 *
 *   settings; cells that become more available (unused < down < draining <
 *   active); Maglev tables (built, frozen, swapped); service keys added or
 *   changed; service keys removed; shedding (class ceilings, DSCP and prefix
 *   rules, shed levels); tables of removed services; cells that become less
 *   available or are removed.
 *
 * So a draining cell leaves the tables before its state says draining (no
 * new flow is ever sent to a non-active cell), and a new cell is in the cells
 * map before any table names it. Running it twice writes nothing the second
 * time.
 */

struct cg_rec;

/*
 * Next hop of a cell, from the daemon's neighbour cache: fill mac and *vlan
 * (802.1Q VLAN id, 0 for none) and return 0, or return -EAGAIN if it is not
 * resolved yet (the cell is then kept out of the tables, or keeps the next
 * hop the map already has for the same gateway).
 */
typedef int (*cg_rec_nexthop_fn)(void *arg, const struct cg_cell_cfg *cell, uint8_t mac[6],
				 uint16_t *vlan);

/* What one cg_rec_apply() wrote. */
struct cg_rec_report {
	unsigned int settings;		 /* 1 if the settings entry was written */
	unsigned int cells;		 /* cell entries written (cleared ones included) */
	unsigned int tables;		 /* tables swapped in */
	unsigned int tables_del;	 /* tables removed */
	unsigned int keys;		 /* service keys written (aliases included) */
	unsigned int keys_del;		 /* service keys removed */
	unsigned int shed;		 /* (cell, class) shed thresholds written */
	unsigned int classes;		 /* class ceilings written */
	unsigned int rules;		 /* class rules (prefix or DSCP) written */
	unsigned int rules_del;		 /* prefix rules removed */
	int64_t next_expiry;		 /* earliest unix time an operator level expires, 0: none */
	unsigned int unready;		 /* cells left out of the tables: next hop unresolved */
	char first_unready[CG_NAME_MAX]; /* name of one of them, for the log */
};

/* cg_rec_writes - total writes in a report: 0 means the maps already matched. */
unsigned int cg_rec_writes(const struct cg_rec_report *rep);

/*
 * cg_rec_new - a reconciler over dp, primed with what the maps hold now.
 * Returns NULL with errno set (ENOMEM, or what reading the maps failed with).
 */
struct cg_rec *cg_rec_new(struct cg_dp *dp);

/*
 * cg_rec_set_seeds - the flow hash seeds the settings entry gets from the next
 * apply on (cg_hash_key_seeds() of the deployment's key); 0 and 0 until set.
 */
void cg_rec_set_seeds(struct cg_rec *rec, uint32_t cell, uint32_t admit);

/* cg_rec_free - release; the maps are not touched. NULL is a no-op. */
void cg_rec_free(struct cg_rec *rec);

/*
 * cg_rec_apply - write st into the maps. st must be valid (as the config
 * parser returns it) with ids assigned. nh resolves next hops; NULL means
 * "keep whatever the map has, else unresolved". rep (may be NULL) gets what
 * was written. Returns 0, or -errno with err holding one line; the maps may
 * then hold part of the change, each part consistent, and calling again with
 * the same state finishes it.
 */
int cg_rec_apply(struct cg_rec *rec, const struct cg_state *st, cg_rec_nexthop_fn nh, void *arg,
		 struct cg_rec_report *rep, char *err, size_t errlen);

/*
 * cg_rec_table_cells - the cells the tables of service svc are built from
 * under st: its cells that are active, weighted and have a next hop (per the
 * reconciler's last apply). Fills ids (cap entries) and returns the count.
 */
size_t cg_rec_table_cells(const struct cg_rec *rec, const struct cg_state *st,
			  const struct cg_service_cfg *svc, uint32_t *ids, size_t cap);

/* cg_rec_set_now - apply levels as of unix time now (tests); 0: the wall clock. */
void cg_rec_set_now(struct cg_rec *rec, int64_t now);

/*
 * cg_rec_set_controller - the automatic controller's levels, kept by
 * pointer (they must outlive the next cg_rec_apply()); they never apply to
 * protected classes and yield to operator levels.
 */
void cg_rec_set_controller(struct cg_rec *rec, const struct cg_shed_level *levels, size_t n);

/*
 * cg_rec_shed - the levels the last cg_rec_apply() computed, indexed by
 * cell id * CG_MAX_CLASSES + class (CG_MAX_CELLS * CG_MAX_CLASSES entries).
 */
const struct cg_shed_eff *cg_rec_shed(const struct cg_rec *rec);

/*
 * What the controllers (health, region evacuation, restore ramps) make of a
 * cell, on top of its desired state; the desired state itself is never
 * changed by them. The zero value changes nothing.
 */
struct cg_cell_overlay {
	uint8_t cap; /* the most available state the cell may have: 0 no cap, else
			  * CG_CELL_DRAINING (no new flows) or CG_CELL_DOWN (none at all) */
	uint8_t pad[3];
	uint32_t weight; /* Maglev weight in its tables instead of the configured one; 0: that */
	uint32_t flags;	 /* CG_OVERLAY_F_* */
};

#define CG_OVERLAY_F_WEIGHT (1U << 0) /* weight applies even when 0 (out of the tables) */

/*
 * cg_rec_set_overlay - the controllers' view of each cell, indexed by cell id
 * (CG_MAX_CELLS entries), kept by pointer (it must outlive the next
 * cg_rec_apply()); NULL: none. A capped cell is written with the lesser of
 * its desired state and the cap; a cell that is not active is in no table.
 */
void cg_rec_set_overlay(struct cg_rec *rec, const struct cg_cell_overlay *ov);

/*
 * A cell's Maglev weight in one service's table, given base: what the
 * desired state and the overlay give it. 0 leaves it out of that table
 * (and only that one). The locality policy is one (cellgate/locality.h).
 */
typedef uint32_t (*cg_rec_weight_fn)(void *arg, const struct cg_service_cfg *svc,
				     const struct cg_cell_cfg *c, uint32_t base);

/* cg_rec_set_weight - the weight hook of every table built from now on; fn NULL: base. */
void cg_rec_set_weight(struct cg_rec *rec, cg_rec_weight_fn fn, void *arg);

/* cg_rec_cell - what the reconciler last wrote for cell id (zeroed if unused or out of range). */
void cg_rec_cell(const struct cg_rec *rec, uint32_t id, struct cg_cell *out);

#endif /* CELLGATE_RECONCILE_H */
