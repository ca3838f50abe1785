/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/locality.h - the locality policy: this LB's region first, the overflow nearest first */
#ifndef CELLGATE_LOCALITY_H
#define CELLGATE_LOCALITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellgate/reconcile.h"
#include "cellgate/state.h"

/*
 * Pure logic on a virtual clock (docs/locality.md): the caller feeds the
 * desired state, the failover overlay, the offered load and the time; no
 * I/O, no clock of its own.
 *
 * A service in mode `spread` keeps its cells' weights as they are. A
 * service in mode `local-first` sends its new flows to the cells of this
 * LB's region (st->region) up to their target load (locality.target of
 * their capacity), and only the overflow spills to the other regions,
 * cheapest locality cost first, each cost tier up to its spare capacity and
 * shared in the tier by spare capacity. A class is never carried to a
 * region whose cost is above its max_spill_cost: the part of it the
 * (class-blind) table sends there is left to the shedder (shed_cost, and
 * the cell's no_carry bits). What no reachable region can take stays on
 * the local cells and is left to shed, lowest class first (shed).
 *
 * Stability: the spill the load asks for (goal) is followed by a tracked
 * spill (ramp) that rises by at most locality.rise and falls by at most
 * locality.withdraw each period; the shares the tables are built from are
 * published only when the ramp or a cell's share moved by more than
 * locality.step since the last publication (and when the spill reaches 0),
 * so Maglev is rebuilt rarely and a noisy load does not flap the tables.
 * A change of which cells may take flows (health, evacuation, desired
 * state) is published at once.
 *
 * Composition with the other controllers, in this order (the last word is
 * the first one's: health down and evacuations always win):
 *   1. the desired state: the cell's state and configured weight;
 *   2. the failover overlay (cg_failover_overlay): health caps, and while a
 *      region is below its full share the plan's weights (a region at 0 has
 *      weight 0);
 *   3. locality, for a local-first service: only the cells still able to
 *      take new flows after 1 and 2 (active, no cap, overlay weight not
 *      forced to 0, region fraction above 0) get a share, a ramping
 *      region's capacity counts at its fraction, every other cell of the
 *      service gets weight 0 (cg_loc_weight);
 *   4. the reconciler writes the cell's state capped by the overlay, so a
 *      capped cell is in no table whatever weight 3 gave it.
 *
 * The tables of one region's LBs agree only as far as their inputs (load,
 * health) agree: the hysteresis keeps them from moving apart on noise, and
 * established flows never move (the connection table keeps them).
 */

#define CG_LOC_WHY_MAX 320 /* one line: a publication's inputs */

/* One cell of a local-first service, as the last step left it. */
struct cg_loc_cell {
	char name[CG_NAME_MAX]; /* the cell */
	uint32_t share;		/* published: ppm of the service's new flows it gets */
	uint32_t weight;	/* Maglev weight from the share; 0: out of the service's table */
	uint32_t cost;		/* its region's locality cost */
	uint64_t avail;		/* new flows/s it takes for this service before spill (capacity x
				 * target x region fraction, less busy, split among its services) */
	uint8_t no_carry;	/* bit k: class k may not be carried here (cost above its
				 * max_spill_cost): the shedder refuses it on this cell */
	bool local;		/* in this LB's region */
	bool eligible;		/* may take new flows (after the desired state and the overlay) */
};

/* What the policy did with one service. */
struct cg_loc_svc {
	char name[CG_NAME_MAX];	       /* the service */
	uint8_t mode;		       /* enum cg_loc_mode */
	bool active;		       /* local-first shares published, else weights as they are */
	bool short_of;		       /* over target even with every unprotected class shed */
	uint32_t spill;		       /* published ppm of new flows sent out of the region */
	uint32_t ramp;		       /* the spill tracked at bounded rates */
	uint32_t goal;		       /* the spill the offered load asks for now */
	uint64_t load[CG_MAX_CLASSES]; /* offered new flows/s by class */
	uint64_t total;		       /* their sum */
	uint64_t local_avail;	       /* what the local cells take before any spill */
	uint64_t shed[CG_MAX_CLASSES]; /* left to shed, flows/s: no reachable capacity */
	uint64_t shed_cost[CG_MAX_CLASSES]; /* left to shed: sent where it may not be carried */
	uint64_t changes;		    /* publications so far */
	int64_t changed_ms;		    /* virtual time of the last one */
	char why[CG_LOC_WHY_MAX];	    /* the last publication and its inputs */
	size_t ncells;			    /* = the service's cells */
	struct cg_loc_cell *cells;	    /* in the service's order */
};

/* The policy's memory between steps. */
struct cg_loc {
	size_t nsvc;		/* = st->nservices of the last step */
	struct cg_loc_svc *svc; /* per st->services[i] of the last step */
	int64_t last_ms;	/* the last step that moved the ramps */
	bool started;		/* a step ran */
};

/* One step's inputs. */
struct cg_loc_input {
	const struct cg_state *st;	  /* desired state (its locality section, classes) */
	const struct cg_cell_overlay *ov; /* by cell id, CG_MAX_CELLS entries; NULL: none */
	const uint32_t *frac;		  /* per st->regions[g], ppm; NULL: all at full share */
	const uint32_t *load;		  /* per st->cells[i] x CG_MAX_CLASSES: offered new
					   * flows/s as measured (cg_load_offered() with frac
					   * NULL); NULL: no load */
	const uint32_t *busy;		  /* per st->cells[i]: new flows/s it carries for
					   * others (load reports, other LBs); NULL: none */
	int64_t now_ms;			  /* virtual clock */
};

/* cg_loc_new - an empty policy (every service spread until its first step). NULL on ENOMEM. */
struct cg_loc *cg_loc_new(void);

/* cg_loc_free - release; NULL is a no-op. */
void cg_loc_free(struct cg_loc *loc);

/*
 * cg_loc_step - one step at in->now_ms: every service of in->st is
 * recomputed (services are matched with the last step's by name; a cell
 * by name in its service). The ramps move only when locality.period_ms
 * passed since the last step that moved them; a change of eligible cells
 * is published at any step. Returns how many services published new
 * shares (their why says why), or -ENOMEM (loc unchanged).
 * A service's load is the sum of its cells' loads, a cell serving several
 * services counting for each its share 1/n (the data plane counts per
 * cell, not per service and cell), and so is its capacity.
 */
int cg_loc_step(struct cg_loc *loc, const struct cg_loc_input *in);

/* cg_loc_service - the last step's record of service name, or NULL. */
const struct cg_loc_svc *cg_loc_service(const struct cg_loc *loc, const char *name);

/*
 * cg_loc_weight - the Maglev weight of cell c in the table of service svc:
 * base (what the desired state and the overlay give: step 1 and 2 above)
 * unless the service's local-first shares are published, then the share's
 * weight (0: out of the table; a cell the service does not list: 0).
 * loc NULL: base.
 */
uint32_t cg_loc_weight(const struct cg_loc *loc, const struct cg_service_cfg *svc,
		       const struct cg_cell_cfg *c, uint32_t base);

/*
 * cg_loc_left_to_shed - per class, the new flows/s the last step left to
 * the shedder over every service: shed (no reachable capacity) plus
 * shed_cost (not to be carried where the table sends it). out has
 * CG_MAX_CLASSES entries. Returns true if some service is short even with
 * every unprotected class shed.
 */
bool cg_loc_left_to_shed(const struct cg_loc *loc, uint64_t *out);

/*
 * cg_loc_busy - busy[i] (per st->cells[i]): the new flows/s cell i carries
 * for others (other LBs), for cg_loc_input.busy: what its load report says
 * it carries (report_ppm[i] of its capacity; CG_LOC_NO_REPORT: none fresh)
 * less what this LB offers it (load, per st->cells[i] x CG_MAX_CLASSES,
 * summed; NULL: nothing). 0 without a report or a capacity, or when this
 * LB's own flows explain all of it. Saturates at UINT32_MAX.
 */
#define CG_LOC_NO_REPORT UINT32_MAX
void cg_loc_busy(const struct cg_state *st, const uint32_t *report_ppm, const uint32_t *load,
		 uint32_t *busy);

/*
 * cg_loc_no_carry - the shed levels that keep each class off the regions it
 * is not worth carrying to (its max_spill_cost), for the shedder: class k of
 * cell c is refused (level 1, new flows only) when c's region costs more
 * than k's max_spill_cost, k is not protected, and every service that lists
 * c is local-first (a spread service sends its flows there whatever they
 * cost, and the shed map is per cell, not per service). From the desired
 * state alone, so the same at every step and after a restart. Fills out
 * (cap entries) and returns the count.
 */
struct cg_shed_level;
size_t cg_loc_no_carry(const struct cg_state *st, struct cg_shed_level *out, size_t cap);

/* cg_loc_is_no_carry - is (cell id, class) one of cg_loc_no_carry()'s? */
bool cg_loc_is_no_carry(const struct cg_state *st, uint32_t cell, uint8_t class);

#endif /* CELLGATE_LOCALITY_H */
