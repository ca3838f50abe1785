/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/region.h - region evacuation: state machine, safety rules, redistribution, ramp */
#ifndef CELLGATE_REGION_H
#define CELLGATE_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellgate/state.h"

/* Pure logic on a virtual clock: every function takes `now` (unix seconds); no I/O. */

#define CG_PPM		1000000U /* a fraction of one, in parts per million */
#define CG_RULE_WHY_MAX 256	 /* one-line reason of a refusal */
/* CG_RAMP_MAX and the rules' defaults (CG_WAIT_DEF, ...) are the failover section's: state.h */

/* enum cg_region_state, enum cg_region_event and struct cg_evac are the state's: state.h */

/* The safety rules (bits of cg_rules_result). */
enum cg_rule {
	CG_RULE_MIN_CELLS = 1 << 0,	/* min active cells per service */
	CG_RULE_MIN_REGIONS = 1 << 1,	/* min active regions overall */
	CG_RULE_ONE_AT_A_TIME = 1 << 2, /* one region transition at a time */
	CG_RULE_WAIT = 1 << 3,		/* wait period between transitions */
	CG_RULE_MAX_OUT = 1 << 4,	/* max share of a service's capacity out at once */
	CG_RULE_DWELL = 1 << 5,		/* a ramp step is held for its dwell */
};

/* The ramp back in. */
struct cg_ramp {
	size_t nsteps; /* 1..CG_RAMP_MAX */
	uint32_t step_ppm
		[CG_RAMP_MAX]; /* share of the region's weight at each step, rising to CG_PPM */
	uint32_t max_step_ppm; /* largest rise between steps allowed; 0 = any */
	int64_t dwell;	       /* seconds each step is held */
};

/* The rules' settings. */
struct cg_rules {
	uint32_t min_cells;   /* active cells each service keeps at least */
	uint32_t min_regions; /* active regions (with an active cell) at least */
	int64_t wait;	      /* seconds between two region transitions */
	int64_t ttl;	      /* seconds an evacuation lasts unless extended; 0 = forever */
	uint32_t max_out_ppm; /* share of a service's capacity one change may take out */
	struct cg_ramp ramp;  /* restore ramp */
};

/* What a check found. */
struct cg_rules_result {
	uint32_t failed;	   /* rules that refused (enum cg_rule bits), not overridden */
	uint32_t overridden;	   /* rules that would have refused but force overrode */
	char why[CG_RULE_WHY_MAX]; /* the first refusal, "rule NAME: ..." */
};

/* An effective view: a state and each cell's effective weight. */
struct cg_eff {
	const struct cg_state *st; /* the state */
	const uint32_t *weight;	   /* per st->cells[i]; NULL = active cells at their weight */
};

/* cg_rules_defaults - the rules of cg_failover_defaults()' settings (cg_rules_from()). */
void cg_rules_defaults(struct cg_rules *r);

/*
 * cg_rules_from - the rules of the desired state's failover section: every
 * field copied (seconds as seconds, shares as ppm). The section was checked
 * by cg_state_check() (the ramp by cg_ramp_check()).
 */
void cg_rules_from(const struct cg_failover_settings *f, struct cg_rules *r);

/*
 * cg_evac_carry - what a config apply does with the operational records:
 * next (a parsed config) gets prev's evacuation records and saga, since
 * they are set by `cellctl region ...`, not by a config. A config that
 * writes them must write exactly prev's (a fresh `config dump`); one that
 * differs is refused. A record of a region next no longer has is dropped
 * when the region is active and no saga names it, and refused otherwise
 * ("region 'x' is evacuated: restore it before removing it"). With prev
 * NULL (first start, repair of an unreadable state) next keeps its own.
 * Returns 0, -EINVAL or -EBUSY with one line in err, -ENOMEM; next is
 * unchanged on failure.
 */
int cg_evac_carry(struct cg_state *next, const struct cg_state *prev, char *err, size_t errlen);

/* cg_evac_find - the record of region in st, or NULL. */
struct cg_evac *cg_evac_find(const struct cg_state *st, const char *region);

/* cg_evac_get - a copy of the record of region in st, or an active one if it has none. */
struct cg_evac cg_evac_get(const struct cg_state *st, const char *region);

/* cg_evac_put - put r into st as its region's record, replacing the old one; 0 or -ENOMEM. */
int cg_evac_put(struct cg_state *st, const struct cg_evac *r);

/* cg_rule_name - "min_cells", "min_regions", ... for one bit; "?" otherwise. */
const char *cg_rule_name(uint32_t rule);

/*
 * cg_rule_min_cells / _min_regions / _max_out - one rule on the change from
 * old to new (any change: region transition, config apply, cell set). Return
 * 0, or -EPERM with the one-line reason in why ("rule min_cells: service 'web'
 * would keep 1 active cell, needs 2"). min_cells and min_regions refuse only
 * a change that leaves fewer than the rule wants and fewer than old had (old
 * NULL: fewer than the rule wants): a state already below may stay, or rise,
 * but not sink further; a new service counts as having had none.
 */
int cg_rule_min_cells(const struct cg_eff *old, const struct cg_eff *nw, const struct cg_rules *r,
		      char *why, size_t len);
int cg_rule_min_regions(const struct cg_eff *old, const struct cg_eff *nw, const struct cg_rules *r,
			char *why, size_t len);
int cg_rule_max_out(const struct cg_eff *old, const struct cg_eff *nw, const struct cg_rules *r,
		    char *why, size_t len);
/* cg_rule_one_at_a_time - -EBUSY if a record other than self is draining or restoring. */
int cg_rule_one_at_a_time(const struct cg_evac *recs, size_t n, const char *self, char *why,
			  size_t len);
/* cg_rule_wait - -EAGAIN if a transition of any record started less than r->wait before now. */
int cg_rule_wait(const struct cg_evac *recs, size_t n, const struct cg_rules *r, int64_t now,
		 char *why, size_t len);

/*
 * cg_rules_check - the state rules (min_cells, min_regions, max_out) on the
 * change old -> nw. With force, a failing rule goes to res->overridden
 * instead of res->failed (res->why still says what it overrode). Returns 0,
 * or -EPERM when a rule refused.
 */
int cg_rules_check(const struct cg_eff *old, const struct cg_eff *nw, const struct cg_rules *r,
		   bool force, struct cg_rules_result *res);

/* The arguments of one transition. */
struct cg_evac_ctx {
	const struct cg_state *st;  /* the desired state (not changed) */
	const struct cg_evac *recs; /* every region's record (rec itself may be among them) */
	size_t nrecs;
	const struct cg_rules *rules;
	int64_t now;		 /* virtual clock */
	bool force;		 /* override the rules, logged with by and reason */
	const char *by, *reason; /* who and why (may be NULL) */
	int64_t extend;		 /* CG_EV_EXTEND: seconds from now */
};

/*
 * cg_evac_transition - apply ev to *rec (region rec->region of ctx->st).
 *   evacuate: active or restoring -> draining (rules: one at a time, wait, state rules)
 *   step-done: draining -> evacuated (expires = now + ttl); restoring: next ramp step once
 *     its dwell passed (rule dwell), the last step -> active
 *   restore: evacuated -> restoring step 0 (rules: one at a time, wait)
 *   expire: evacuated past its expiry -> restoring step 0 (no rule can block it)
 *   abort: draining -> active, restoring -> evacuated
 *   extend: draining or evacuated: expires = now + extend
 *   flap: restoring -> evacuated
 * Returns 0 (res->overridden says what force overrode, rec->forced set), or
 * -errno with res->why "rule NAME: ..." or the refused transition; *rec is
 * unchanged on error. res may be NULL.
 */
int cg_evac_transition(struct cg_evac *rec, enum cg_region_event ev, const struct cg_evac_ctx *ctx,
		       struct cg_rules_result *res);

/* cg_region_state_name / cg_region_event_name - "active", ..., "evacuate", ... */
const char *cg_region_state_name(unsigned int s);
const char *cg_region_event_name(unsigned int ev);

/* cg_ramp_fraction - the ppm of the region's share at ramp step (CG_PPM past the end). */
uint32_t cg_ramp_fraction(const struct cg_ramp *r, size_t step);

/*
 * cg_ramp_check - 0 if the ramp rises strictly to CG_PPM in 1..CG_RAMP_MAX
 * steps, none larger than max_step_ppm; else -EINVAL with why.
 */
int cg_ramp_check(const struct cg_ramp *r, char *why, size_t len);

/*
 * cg_evac_fractions - each region's share (ppm, per st->regions[i]) from the
 * records: active (or no record) CG_PPM, draining and evacuated 0, restoring
 * the ramp's fraction at its step.
 */
void cg_evac_fractions(const struct cg_state *st, const struct cg_evac *recs, size_t n,
		       const struct cg_ramp *ramp, uint32_t *frac);

/* One cell of a redistribution plan. */
struct cg_plan_cell {
	uint32_t old_weight, new_weight;   /* effective Maglev weight before and after */
	uint32_t old_share, new_share;	   /* ppm of the total effective weight */
	uint64_t load[CG_MAX_CLASSES];	   /* expected new flows/s by class after */
	uint64_t total;			   /* sum of load */
	uint32_t capacity;		   /* the cell's capacity (0 = unknown) */
	uint32_t shed_ppm[CG_MAX_CLASSES]; /* pre-shed level to set before the shift */
	bool short_of;			   /* even shedding every unprotected class is not enough */
};

/* A redistribution plan, for a dry run and for the shift. */
struct cg_plan {
	size_t ncells;		    /* = st->ncells */
	struct cg_plan_cell *cells; /* per st->cells[i], malloc'ed */
	uint64_t moved;		    /* new flows/s that move to survivors */
	bool no_survivors;	    /* nothing is left to take the moved load */
	bool short_of;		    /* some survivor stays over capacity after pre-shedding */
};

/*
 * cg_split - split total over key[0..n) in proportion into out: the floors,
 * then one each to the largest remainders (ties to the lower index), so out
 * sums to total unless every key is 0 (all 0 then).
 */
void cg_split(uint64_t total, const uint64_t *key, size_t n, uint64_t *out);

/*
 * cg_plan_weights - effective weights (per st->cells[i]) for region
 * fractions frac (per st->regions[i], ppm) and offered load (per cell,
 * CG_MAX_CLASSES new flows/s each, as the cell gets at its full share).
 * Only active cells count. A region at fraction f keeps f of its cells'
 * weight and load; the rest moves to the survivors (cells of regions at
 * CG_PPM): cheapest locality cost first, each cost tier filled up to its spare
 * capacity, shared in the tier by spare capacity; what no tier can take goes
 * to every survivor by capacity (by weight if capacities are unknown). The
 * moved weight follows the moved load; with no load it goes to the cheapest
 * tier by capacity. expected (may be NULL) gets the load by class after.
 * Returns 0, -ENOSPC when load would move but there is no survivor.
 */
int cg_plan_weights(const struct cg_state *st, const uint32_t *frac, const uint32_t *load,
		    uint32_t *weight, uint64_t *expected);

/*
 * cg_plan_build - the plan from fractions old_frac to new_frac (NULL: every
 * region at CG_PPM), with pre-shed levels: on each cell over capacity, the
 * excess is shed from the highest class id down, never a protected class.
 * Returns 0 or -ENOMEM; cg_plan_free() releases it.
 */
int cg_plan_build(const struct cg_state *st, const uint32_t *old_frac, const uint32_t *new_frac,
		  const uint32_t *load, struct cg_plan *plan);
void cg_plan_free(struct cg_plan *plan);

/*
 * cg_preshed - shed[class] levels (ppm) so that load by class fits capacity:
 * the highest class id first, protected classes never. Returns true if it
 * fits (capacity 0 = unknown: fits), false if even all unprotected is short.
 */
bool cg_preshed(const struct cg_state *st, const uint64_t *load, uint32_t capacity, uint32_t *shed);

#endif /* CELLGATE_REGION_H */
