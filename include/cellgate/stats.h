// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* stats.h - one read of every per-CPU counter, and deltas and rates between two reads */
#ifndef CELLGATE_STATS_H
#define CELLGATE_STATS_H

#include <stdint.h>

#include "cellgate/abi/consts.h"
#include "cellgate/abi/structs.h"
#include "cellgate/dataplane.h"
#include "cellgate/state.h"

/*
 * struct cg_stats_snap - every counter at one monotonic time. Large (cells ×
 * classes): always heap-allocated by cg_stats_new(). The library never reads the
 * clock: the caller passes now_ns, so tests run on a virtual clock.
 */
struct cg_stats_snap {
	uint64_t t_ns;						 /* monotonic time of the read */
	struct cg_counter stats[CG_STAT_MAX];			 /* by reason */
	struct cg_svc_stats svc[CG_MAX_SERVICES];		 /* by service id */
	struct cg_cell_stats cell[CG_MAX_CELLS][CG_MAX_CLASSES]; /* by (cell id, class) */
	uint64_t moved[CG_MAX_CELLS]; /* by cell id: flows moved off it (cell_moves) */
	uint64_t conn_entries;	      /* connection entries in use */
	uint64_t conn_capacity;	      /* size of the connection table */
};

/* cg_stats_new - a zeroed snapshot; NULL with errno set when out of memory. */
struct cg_stats_snap *cg_stats_new(void);

/* cg_stats_free - release a snapshot (NULL is fine). */
void cg_stats_free(struct cg_stats_snap *s);

/*
 * cg_stats_read - fill s from dp's maps and stamp it with now_ns. An entry that
 * cannot be read stays 0. Returns 0 or -errno of the global counters' read.
 */
int cg_stats_read(struct cg_dp *dp, struct cg_stats_snap *s, uint64_t now_ns);

/*
 * cg_stats_read_cells - only the (cell, class) counters of st's cells into s
 * (everything else zero), stamped with now_ns: what a controller polling
 * often reads, CG_MAX_CLASSES lookups a cell instead of every slot. An entry
 * that cannot be read stays 0.
 */
void cg_stats_read_cells(struct cg_dp *dp, const struct cg_state *st, struct cg_stats_snap *s,
			 uint64_t now_ns);

/*
 * cg_stats_read_services - the counters of st's services into s->svc (the
 * rest of s untouched): with cg_stats_read_cells(), what the backpressure
 * controller's view reads each period. An entry that cannot be read is 0.
 */
void cg_stats_read_services(struct cg_dp *dp, const struct cg_state *st, struct cg_stats_snap *s);

/*
 * cg_stats_read_state - what cg_stats_read() reads, but of st's cells and
 * services only (every other slot zero): the global counters, st's cells'
 * (cell, class) counters and moves, st's services', the connection table's
 * occupancy; a few hundred lookups for a scrape instead of every slot. An
 * entry that cannot be read stays 0. Returns 0 or -errno of the global
 * counters' read (-EINVAL without dp).
 */
int cg_stats_read_state(struct cg_dp *dp, const struct cg_state *st, struct cg_stats_snap *s,
			uint64_t now_ns);

/*
 * cg_stats_delta - out = b - a, counter by counter; a counter that went down
 * (reset, e.g. after a teardown) gives 0. out->t_ns is b->t_ns - a->t_ns (0 if
 * the clock went back). out may not alias a or b.
 */
void cg_stats_delta(const struct cg_stats_snap *a, const struct cg_stats_snap *b,
		    struct cg_stats_snap *out);

/* cg_stats_counter_delta - b - a for one counter; 0 if it went down (a reset). */
uint64_t cg_stats_counter_delta(uint64_t a, uint64_t b);

/*
 * cg_stats_rate - per second value of a counter delta over dt_ns; 0 when dt_ns
 * is 0.
 */
double cg_stats_rate(uint64_t delta, uint64_t dt_ns);

/* cg_stats_cell_sum - counters of one cell, every class summed, into out. */
void cg_stats_cell_sum(const struct cg_stats_snap *s, uint32_t cell_id, struct cg_cell_stats *out);

/*
 * cg_stats_read_cell - counters of one cell read from dp's maps, every class
 * summed (a class that cannot be read counts 0).
 */
void cg_stats_read_cell(struct cg_dp *dp, uint32_t cell_id, struct cg_cell_stats *out);

#endif
