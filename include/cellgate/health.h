/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/health.h - per-cell health state machine, jittered probe schedule, panic threshold */
#ifndef CELLGATE_HEALTH_H
#define CELLGATE_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellgate/state.h"

/*
 * Pure logic on a virtual monotonic clock: nothing here reads a clock or does
 * I/O; every function that needs the time takes now_ms.
 *
 * States: a cell starts unknown (no verdict: health asks the controller to
 * change nothing for it). Every result counts, the first one included:
 * unknown becomes up after rise consecutive good probes and down after fall
 * consecutive failed ones, so one lucky probe never makes a new cell up and
 * startup never evacuates a cell on one failure. up becomes down after fall
 * consecutive failures, down becomes up after rise consecutive successes.
 *
 * Panic: a cell is probed once it has at least one result; it is failing when
 * it is down or its last probe failed. Panic is on when failing * 1000000 >
 * panic_ppm * probed (strictly more than the share; never with nothing
 * probed). Counting "last probe failed" and not only "down" makes a cut-off
 * prober panic within one interval, before the first cell reaches down.
 * In panic the controller freezes (fail-static): it evacuates nothing, keeps
 * the tables it has, and says so in the log and in status; the states keep
 * tracking what the prober sees.
 */

enum cg_health_state {
	CG_HEALTH_UNKNOWN = 0, /* no verdict yet */
	CG_HEALTH_UP = 1,      /* rise good probes in a row */
	CG_HEALTH_DOWN = 2,    /* fall failed probes in a row */
};

#define CG_HEALTH_ERR_MAX 80 /* bytes of last error text, NUL included */

/* How cells are probed and judged. */
struct cg_health_cfg {
	uint32_t interval_ms; /* between probe starts, before jitter */
	uint32_t timeout_ms;  /* a probe slower than this failed; <= interval - jitter */
	uint32_t jitter_ppm;  /* each delay is interval +- this share of it, uniform */
	uint32_t rise;	      /* consecutive good probes to become up */
	uint32_t fall;	      /* consecutive failed probes to become down */
	uint32_t panic_ppm;   /* panic when more than this share of probed cells fail */
};

/* One cell's health. */
struct cg_health_cell {
	uint8_t state;		     /* enum cg_health_state */
	uint8_t prev_state;	     /* state before the last change */
	bool last_ok;		     /* the last probe succeeded */
	bool scheduled;		     /* next_due_ms is set (the first probe was placed) */
	uint32_t succ;		     /* consecutive good probes (saturates) */
	uint32_t fail;		     /* consecutive failed probes (saturates) */
	uint32_t latency_us;	     /* latency of the last probe */
	uint64_t nprobes;	     /* results applied */
	uint32_t nchanges;	     /* state changes, unknown -> up/down included */
	int64_t changed_ms;	     /* time of the last change (of init before any) */
	int64_t last_ms;	     /* time of the last result, 0 before any */
	int64_t err_ms;		     /* time of the last failed probe, 0 before any */
	int64_t next_due_ms;	     /* when the next probe starts, if scheduled */
	char err[CG_HEALTH_ERR_MAX]; /* the last failure's text, printable, "" before any */
};

/* A small deterministic PRNG (splitmix64); the caller owns it, one per LB. */
struct cg_health_rng {
	uint64_t s; /* state */
};

/* cg_health_cfg_init - fill cfg with the defaults (CG_HEALTH_*_DEF). */
void cg_health_cfg_init(struct cg_health_cfg *cfg);

/*
 * cg_health_cfg_check - whether cfg is in range, with timeout_ms at most
 * interval - jitter (so probes of one cell never overlap). Returns 0, or
 * -EINVAL with a message in err (errlen bytes; err may be NULL).
 */
int cg_health_cfg_check(const struct cg_health_cfg *cfg, char *err, size_t errlen);

/* cg_health_cfg_from - the state machine's settings from the desired state's health section. */
void cg_health_cfg_from(const struct cg_health_settings *h, struct cg_health_cfg *cfg);

/* cg_health_cell_init - a cell with no result yet: unknown since now_ms, not scheduled. */
void cg_health_cell_init(struct cg_health_cell *c, int64_t now_ms);

/*
 * cg_health_result - apply one probe result at now_ms: ok, or failed with
 * the prober's err ("connect: Connection refused"; NULL or "" gives "probe
 * failed"), kept cut to CG_HEALTH_ERR_MAX - 1 bytes at a character boundary
 * with controls, invalid UTF-8 and hidden characters as '?'. latency_us is
 * the probe's duration. Returns 1 if the state changed (c->prev_state ->
 * c->state; log it with this result), 0 if not, -EINVAL if c or cfg is NULL.
 */
int cg_health_result(struct cg_health_cell *c, const struct cg_health_cfg *cfg, bool ok,
		     const char *err, uint32_t latency_us, int64_t now_ms);

/* cg_health_rng_seed - seed r; seed it per LB (getrandom(2)): equal seeds give equal schedules. */
void cg_health_rng_seed(struct cg_health_rng *r, uint64_t seed);

/* cg_health_rng_next - the next 64 random bits of r. */
uint64_t cg_health_rng_next(struct cg_health_rng *r);

/*
 * cg_health_next_due - schedule c's next probe; call it when the cell is
 * added and when each probe starts, at now_ms. The first delay is uniform in
 * [1, interval], later ones uniform in [interval - jitter, interval + jitter]
 * (jitter = interval * jitter_ppm / 1e6), never below 1 ms. Stores and
 * returns the due time (c->next_due_ms).
 */
int64_t cg_health_next_due(struct cg_health_cell *c, const struct cg_health_cfg *cfg,
			   struct cg_health_rng *rng, int64_t now_ms);

/* cg_health_probed - c has at least one result. */
bool cg_health_probed(const struct cg_health_cell *c);

/* cg_health_failing - c is probed and down or its last probe failed. */
bool cg_health_failing(const struct cg_health_cell *c);

/* cg_health_panic_counts - failing * 1000000 > panic_ppm * probed, and probed > 0. */
bool cg_health_panic_counts(uint32_t failing, uint32_t probed, uint32_t panic_ppm);

/* cg_health_panic - cg_health_panic_counts over cells[0..n) with cfg's threshold. */
bool cg_health_panic(const struct cg_health_cell *cells, size_t n, const struct cg_health_cfg *cfg);

/* cg_health_name - "up", "down" or "unknown" (anything else). */
const char *cg_health_name(unsigned int state);

#endif /* CELLGATE_HEALTH_H */
