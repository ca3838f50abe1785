/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/backpressure.h - the backpressure controller: cells' load in, shed levels out */
#ifndef CELLGATE_BACKPRESSURE_H
#define CELLGATE_BACKPRESSURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellgate/report.h"
#include "cellgate/shed.h"
#include "cellgate/state.h"
#include "cellgate/stats.h"

/*
 * Pure logic on a virtual clock (ms; the daemon passes unix ms): the daemon
 * hands it every report datagram (cg_bp_report()) and calls cg_bp_step()
 * once a period; the levels it keeps (cg_bp_levels()) go to
 * cg_rec_set_controller(), and each change it returns is logged with the
 * signal that caused it. docs/backpressure.md has the law and its constants:
 *
 * Each cell has a shed ladder: its classes that are not protected, lowest
 * priority (highest id) first, and a position pos on it in ppm of a class:
 * rung r (0 the lowest class) is shed at clamp(pos - r * 1e6, 0, 1e6). So the
 * lowest class is shed first and the next only once the one below is fully
 * shed, by construction. A class an operator level holds stays on the ladder
 * at the operator's level, worth nothing to shed: the ladder walks past it.
 *
 * Every period, with L the cell's smoothed load, x its last report's, T the
 * target, h the hysteresis and A(p) the load admitted at position p (by class
 * from the LB's own counts), p_x the position x was measured under:
 *   L and x > T        pos rises to where A = A(p_x) * T / x, at most
 *                      max_step a period;
 *   L and x < T - h    pos falls to where A = A(p_x) * (T - h) / max(L, x),
 *                      at most release_step a period, once dwell_ms passed
 *                      since the last rise;
 *   otherwise pos holds; and it holds whatever the load when the load is
 *   unknown (no report for stale_ms: never "idle"), when no report came in
 *   since the last change, to rise when the last report was measured before
 *   the change before the last one or before a release (a position no longer
 *   known: a report measured between the last two changes saw the one before
 *   the last, so a rise max_step cut short goes on), or when the last rise
 *   was meant to be enough and the load is falling towards it (a queue
 *   draining is not a new overload).
 */

#define CG_BP_WHY_MAX 160 /* one line of a change's cause */

/* One cell's load as the controller sees it. */
struct cg_bp_signal {
	uint32_t raw_ppm;  /* the last accepted report's load, share of capacity */
	uint32_t prev_ppm; /* the one before */
	uint32_t load_ppm; /* smoothed (EWMA, rise and fall weights from the settings) */
	int64_t at_ms;	   /* when the last report was accepted; 0: none yet */
	int64_t ts_ms;	   /* when its sender measured it (its clock); 0: not known */
};

/*
 * One of the LB's own counters as a rate: sampled once a control period,
 * the rate between two samples folded into an EWMA of weight signal_ppm. A
 * counter that went down (the data plane was reloaded) or a gap longer than
 * stale_ms starts it again from the next sample.
 */
struct cg_bp_rate {
	uint64_t count; /* the counter at the last sample */
	int64_t at_ms;	/* when it was taken; 0: never */
	double per_s;	/* the smoothed rate, a second; meaningful when rated */
	bool rated;	/* two samples have made a rate */
};

/*
 * The LB's own view of one cell, from its counters (the stats snapshot
 * layer). The data plane counts SYN retries per service, not per cell: a
 * cell's are those of the services that list it, with their new flows as
 * the ratio's denominator.
 */
struct cg_bp_view {
	struct cg_bp_rate new_flows;	 /* flows pinned to the cell, every class */
	struct cg_bp_rate packets;	 /* packets forwarded to it */
	struct cg_bp_rate retries;	 /* SYN retries of the services it serves */
	struct cg_bp_rate svc_new_flows; /* new flows of those services */
};

/* The receive side of one of the LB's interfaces (IFLA_STATS64 counters). */
struct cg_bp_link {
	struct cg_bp_rate rx_packets; /* packets received (XDP's included) */
	struct cg_bp_rate rx_drops;   /* rx_dropped + rx_missed: lost before or after the driver */
};

/* The controller's record of one cell (indexed by cell id). */
struct cg_bp_cell {
	bool present;			/* a cell of the state has this id (cg_bp_sync()) */
	uint8_t mode;			/* enum cg_bp_mode at the last step */
	uint32_t pos_ppm;		/* position on the shed ladder */
	uint32_t prev_ppm;		/* the position before the last change */
	int64_t changed_ms;		/* last change of pos; 0: none */
	int64_t before_ms;		/* the change of pos before it; 0: none */
	int64_t rose_ms;		/* last rise of pos; 0: none */
	uint32_t pred_ppm;		/* the load the last rise should lead to */
	int64_t stepped_ms;		/* last step that looked at the cell; 0: none */
	struct cg_bp_signal sig;	/* its load */
	struct cg_report_rx rx;		/* its reports: replay, rate, counters */
	struct cg_bp_view view;		/* the LB's own view of it (cg_bp_view_sample()) */
	uint32_t level[CG_MAX_CLASSES]; /* the levels pos gives, ppm, by class id */
};

/* The controller: every cell's record, and the levels of cells in auto mode. */
struct cg_bp {
	struct cg_bp_cell cell[CG_MAX_CELLS];
	size_t nlevels;
	struct cg_shed_level levels[CG_MAX_CELLS * CG_MAX_CLASSES]; /* for cg_rec_set_controller */
};

/* Why a level changed. */
enum cg_bp_why {
	CG_BP_WHY_OVERLOAD = 1, /* load over target: shed more */
	CG_BP_WHY_RELEASE = 2,	/* load under target - hysteresis: shed less */
	CG_BP_WHY_MODE = 3,	/* the cell's mode went off: its levels are dropped */
	CG_BP_WHY_GONE = 4,	/* the cell left the state */
};

/* One controller change of one (cell, class) level, with what caused it. */
struct cg_bp_change {
	uint32_t cell;	     /* cell id */
	uint8_t class;	     /* class id */
	uint8_t why;	     /* enum cg_bp_why */
	bool advisory;	     /* manual mode: what it would do, not applied */
	uint32_t from_ppm;   /* the level before */
	uint32_t to_ppm;     /* and after */
	uint32_t load_ppm;   /* smoothed load of the cell */
	uint32_t raw_ppm;    /* its last report's load */
	uint32_t target_ppm; /* the target */
	uint32_t pos_ppm;    /* the ladder position after */
	int64_t at_ms;	     /* when */
	bool retry_known;    /* retry_ppm holds the LB's view (logged, not used by the law) */
	uint32_t retry_ppm;  /* SYN retries over new flows of the cell's services, smoothed */
};

/* What one step is given. */
struct cg_bp_input {
	const struct cg_state *st;     /* cells, classes (protected), the backpressure settings */
	const uint32_t *offered;       /* per st->cells[i] x CG_MAX_CLASSES, new flows a second
					 * offered (cg_load_offered()); NULL: classes weigh alike */
	const struct cg_shed_eff *eff; /* what applies now (cg_rec_shed()), by cell id x class:
					 * operator levels are held; NULL: none */
	const uint8_t *mode;	       /* per st->cells[i], enum cg_bp_mode; NULL: st->bp.mode */
	int64_t now_ms;		       /* the clock */
};

/* cg_bp_new - a controller with no cell, no report. NULL with errno ENOMEM. */
struct cg_bp *cg_bp_new(void);

/* cg_bp_free - release. NULL is a no-op. */
void cg_bp_free(struct cg_bp *bp);

/*
 * cg_bp_sync - the cells of st are the ones reports are taken for; a cell no
 * longer in st loses its record (its levels go with the next step's output).
 */
void cg_bp_sync(struct cg_bp *bp, const struct cg_state *st);

/*
 * cg_bp_report_load - the load one report says, ppm of capacity: the
 * largest of its utilization, in-flight / capacity and (queue_full_us set)
 * queue delay / queue_full_us, up to CG_REPORT_UTIL_MAX. false if it gives
 * none of them.
 */
bool cg_bp_report_load(const struct cg_report *r, const struct cg_bp_settings *s, uint32_t *ppm);

/*
 * cg_bp_smooth - fold sample into sig at now_ms: EWMA with weight rise_ppm
 * when above the smoothed load, fall_ppm when below; the first sample, or
 * one after the signal went stale, is taken as it is.
 */
void cg_bp_smooth(struct cg_bp_signal *sig, uint32_t sample, int64_t now_ms,
		  const struct cg_bp_settings *s);

/*
 * cg_bp_rate_sample - fold the counter count read at now_ms into r (see
 * struct cg_bp_rate). The first sample, the first after a gap of more than
 * stale_ms and the first after the counter went down only set the base;
 * the first rate after them is taken as it is. A sample not later than the
 * last is ignored.
 */
void cg_bp_rate_sample(struct cg_bp_rate *r, uint64_t count, int64_t now_ms,
		       const struct cg_bp_settings *s);

/*
 * cg_bp_view_sample - one sample of the LB's own view of every cell of st
 * from snap (cg_stats_read_cells() and the services' counters of st): each
 * cell's new flows and packets, every class summed, and the SYN retries and
 * new flows of the services that list it. Cells not of cg_bp_sync()'s are
 * skipped.
 */
void cg_bp_view_sample(struct cg_bp *bp, const struct cg_state *st,
		       const struct cg_stats_snap *snap, int64_t now_ms);

/*
 * cg_bp_view_retry_ppm - SYN retries over new flows of the cell's services,
 * ppm (at most CG_REPORT_UTIL_MAX), from the smoothed rates; false when not
 * rated yet or no new flow.
 */
bool cg_bp_view_retry_ppm(const struct cg_bp_view *v, uint32_t *ppm);

/*
 * cg_bp_link_sample - one sample of an interface's receive counters:
 * rx_packets and rx_dropped + rx_missed, as cg_bp_rate_sample() does.
 */
void cg_bp_link_sample(struct cg_bp_link *l, uint64_t rx_packets, uint64_t rx_drops, int64_t now_ms,
		       const struct cg_bp_settings *s);

/* cg_bp_known - sig has a report not older than stale_ms at now_ms. */
bool cg_bp_known(const struct cg_bp_signal *sig, int64_t now_ms, const struct cg_bp_settings *s);

/*
 * cg_bp_report - one datagram received at now_ms: decode (key NULL: reports
 * are not signed), the cell must be one of cg_bp_sync()'s, admit
 * (cg_report_admit() with the settings' skew and rate) and fold its load into
 * the cell's signal. Returns 0 when accepted; -EBADMSG or -EPERM (decoding),
 * -ENOENT (unknown cell), -EALREADY (replayed), -ERANGE (skewed), -EBUSY
 * (rate limited); err gets one line either way.
 */
int cg_bp_report(struct cg_bp *bp, const struct cg_bp_settings *s, const uint8_t *buf, size_t len,
		 const uint8_t *key, int64_t now_ms, char *err, size_t errlen);

/*
 * cg_bp_step - one control period at in->now_ms for every cell of in->st
 * (a cell stepped less than period_ms ago is left as it is). Writes the
 * changes into out (cap entries; the count is returned even when larger than
 * cap, only cap are written) and rebuilds the levels cg_bp_levels() returns.
 */
size_t cg_bp_step(struct cg_bp *bp, const struct cg_bp_input *in, struct cg_bp_change *out,
		  size_t cap);

/*
 * cg_bp_adopt - a restarted controller takes over the levels a previous run
 * left in the maps (held: soft levels by (cell, class), those no operator
 * level explains), so a restart during an overload does not release it: for
 * each cell of st in auto mode (mode per st->cells[i], NULL: st->bp.mode)
 * without a position of its own, the ladder position those levels are at
 * (rungs from the lowest class up to the first not fully shed; hard levels
 * and protected classes are not the controller's and are ignored) becomes
 * its position, as if it had just risen there at now_ms: held while the load
 * is unknown, released only after dwell_ms on reports under the target.
 * Rebuilds cg_bp_levels(); returns the cells adopted.
 */
size_t cg_bp_adopt(struct cg_bp *bp, const struct cg_state *st, const uint8_t *mode,
		   const struct cg_shed_level *held, size_t n, int64_t now_ms);

/*
 * cg_bp_levels - the levels of cells in auto mode after the last step, every
 * nonzero (cell, class), for cg_rec_set_controller(); valid until the next
 * step. *n gets the count.
 */
const struct cg_shed_level *cg_bp_levels(const struct cg_bp *bp, size_t *n);

/*
 * cg_bp_change_str - one log line of a change: "cell 3 class 3: 0.000 ->
 * 0.500 (overload: load 1.300, last report 2.000, target 0.800, ladder
 * 0.500)", loads as shares of capacity, and ", syn retries 0.120" before
 * the parenthesis closes when retry_known. Returns buf.
 */
const char *cg_bp_change_str(const struct cg_bp_change *c, char *buf, size_t len);

/* cg_bp_why_name - "overload", "release", "mode", "gone". */
const char *cg_bp_why_name(unsigned int why);

#endif /* CELLGATE_BACKPRESSURE_H */
