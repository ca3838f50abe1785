/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/metrics.h - the Prometheus text exposition of one counter snapshot and the state */
#ifndef CELLGATE_METRICS_H
#define CELLGATE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellgate/state.h"
#include "cellgate/stats.h"

/* The content type of what cg_metrics_render() writes (text format 0.0.4). */
#define CG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The backpressure controller's view of one cell, as the daemon hands it over. */
struct cg_metrics_bp_cell {
	bool valid;			    /* the controller runs: the rest is meaningful */
	uint8_t mode;			    /* enum cg_bp_mode it applies to the cell */
	bool known;			    /* a fresh report: load_ppm is the cell's load */
	uint32_t load_ppm;		    /* smoothed load, share of the cell's capacity */
	uint32_t last_ppm;		    /* the last report's load, unsmoothed */
	uint32_t ladder_ppm;		    /* position on the shed ladder, in classes (ppm) */
	uint32_t level_ppm[CG_MAX_CLASSES]; /* by class id: set (auto) or advised (manual) */
	uint64_t accepted;		    /* reports accepted from the cell */
	uint64_t refused;		    /* reports refused, every reason */
};

/* What one scrape shows; everything but st may be absent. */
struct cg_metrics_in {
	const struct cg_state *st;	     /* the desired state: names, labels, settings */
	const struct cg_stats_snap *snap;    /* the counters; NULL: no data plane, none shown */
	bool counters_read;		     /* snap->stats (by reason) was read */
	const uint8_t *health;		     /* per st->cells[i], enum cg_health_state; NULL: off */
	const struct cg_metrics_bp_cell *bp; /* per st->cells[i]; NULL: no controller */
	const char *version;		     /* the build's version */
	uint32_t digest;		     /* cg_state_digest() of st */
	bool fail_static;		     /* the data plane is left as it is */
	uint64_t uptime_ms;		     /* since the daemon started */
};

/*
 * cg_metrics_render - the Prometheus text exposition of in: every series
 * named cellgate_..., each with its HELP and TYPE lines (docs/observability.md
 * lists them), label values escaped (cg_metrics_escape). Reads no map and no
 * clock. On success *out is a NUL-terminated malloc'd text of *len bytes (the
 * caller frees it) and 0 is returned; -ENOMEM leaves *out NULL.
 */
int cg_metrics_render(const struct cg_metrics_in *in, char **out, size_t *len);

/*
 * cg_metrics_escape - s as a label value of the text format: backslash,
 * double quote and newline become \\, \" and \n, every other byte is kept.
 * Writes at most len bytes, NUL included, and returns buf; a value that does
 * not fit is cut at a character boundary of the escaped text.
 */
const char *cg_metrics_escape(const char *s, char *buf, size_t len);

#endif /* CELLGATE_METRICS_H */
