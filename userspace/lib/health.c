// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* health.c - per-cell health state machine, jittered probe schedule, panic threshold */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cellgate/health.h"
#include "cellgate/text.h"

void cg_health_cfg_init(struct cg_health_cfg *cfg)
{
	*cfg = (struct cg_health_cfg){
		.interval_ms = CG_HEALTH_INTERVAL_DEF,
		.timeout_ms = CG_HEALTH_TIMEOUT_DEF,
		.jitter_ppm = CG_HEALTH_JITTER_DEF,
		.rise = CG_HEALTH_RISE_DEF,
		.fall = CG_HEALTH_FALL_DEF,
		.panic_ppm = CG_HEALTH_PANIC_DEF,
	};
}

static uint32_t jitter_ms(const struct cg_health_cfg *cfg)
{
	return (uint32_t)((uint64_t)cfg->interval_ms * cfg->jitter_ppm / 1000000);
}

#define RANGE(v, lo, hi, what, unit)                                                           \
	do {                                                                                   \
		if ((uint64_t)(v) + 1 < (uint64_t)(lo) + 1 || (v) > (hi)) {                    \
			if (err)                                                               \
				snprintf(err, errlen, "health %s %u%s is out of range %u..%u", \
					 what, (unsigned int)(v), unit, (unsigned int)(lo),    \
					 (unsigned int)(hi));                                  \
			return -EINVAL;                                                        \
		}                                                                              \
	} while (0)

int cg_health_cfg_check(const struct cg_health_cfg *cfg, char *err, size_t errlen)
{
	uint32_t j;

	RANGE(cfg->interval_ms, CG_HEALTH_INTERVAL_MIN, CG_HEALTH_INTERVAL_MAX, "interval", " ms");
	RANGE(cfg->timeout_ms, CG_HEALTH_TIMEOUT_MIN, CG_HEALTH_TIMEOUT_MAX, "timeout", " ms");
	RANGE(cfg->jitter_ppm, 0, CG_HEALTH_JITTER_MAX, "jitter", " ppm");
	RANGE(cfg->rise, CG_HEALTH_COUNT_MIN, CG_HEALTH_COUNT_MAX, "rise", "");
	RANGE(cfg->fall, CG_HEALTH_COUNT_MIN, CG_HEALTH_COUNT_MAX, "fall", "");
	RANGE(cfg->panic_ppm, CG_HEALTH_PANIC_MIN, CG_HEALTH_PANIC_MAX, "panic", " ppm");
	j = jitter_ms(cfg);
	if (cfg->timeout_ms > cfg->interval_ms - j) {
		if (err)
			snprintf(
				err, errlen,
				"health timeout %u ms is longer than the shortest gap between probes "
				"(%u ms: interval %u ms less jitter %u ms)",
				cfg->timeout_ms, cfg->interval_ms - j, cfg->interval_ms, j);
		return -EINVAL;
	}
	return 0;
}

void cg_health_cell_init(struct cg_health_cell *c, int64_t now_ms)
{
	memset(c, 0, sizeof(*c));
	c->state = CG_HEALTH_UNKNOWN;
	c->prev_state = CG_HEALTH_UNKNOWN;
	c->changed_ms = now_ms;
}

/* Copy src into dst (CG_HEALTH_ERR_MAX bytes): printable, cut at a character boundary. */
static void copy_err(char *dst, const char *src)
{
	size_t n = strlen(src), i = 0, o = 0;

	while (i < n) {
		uint32_t cp;
		size_t k = cg_utf8_next((const unsigned char *)src + i, n - i, &cp);

		if (!k || cg_char_hidden(cp)) {
			if (o + 1 >= CG_HEALTH_ERR_MAX)
				break;
			dst[o++] = '?';
			i += k ? k : 1;
			continue;
		}
		if (o + k >= CG_HEALTH_ERR_MAX)
			break;
		memcpy(dst + o, src + i, k);
		o += k;
		i += k;
	}
	dst[o] = '\0';
}

static void set_state(struct cg_health_cell *c, uint8_t state, int64_t now_ms)
{
	c->prev_state = c->state;
	c->state = state;
	c->changed_ms = now_ms;
	if (c->nchanges < UINT32_MAX)
		c->nchanges++;
}

int cg_health_result(struct cg_health_cell *c, const struct cg_health_cfg *cfg, bool ok,
		     const char *err, uint32_t latency_us, int64_t now_ms)
{
	if (!c || !cfg)
		return -EINVAL;
	c->nprobes++;
	c->last_ok = ok;
	c->last_ms = now_ms;
	c->latency_us = latency_us;
	if (ok) {
		c->fail = 0;
		if (c->succ < UINT32_MAX)
			c->succ++;
		if (c->state != CG_HEALTH_UP && c->succ >= cfg->rise) {
			set_state(c, CG_HEALTH_UP, now_ms);
			return 1;
		}
		return 0;
	}
	c->succ = 0;
	if (c->fail < UINT32_MAX)
		c->fail++;
	c->err_ms = now_ms;
	copy_err(c->err, err && *err ? err : "probe failed");
	if (c->state != CG_HEALTH_DOWN && c->fail >= cfg->fall) {
		set_state(c, CG_HEALTH_DOWN, now_ms);
		return 1;
	}
	return 0;
}

void cg_health_rng_seed(struct cg_health_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t cg_health_rng_next(struct cg_health_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias worth the name (multiply-shift). */
static uint64_t below(struct cg_health_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)cg_health_rng_next(r) * n) >> 64);
}

int64_t cg_health_next_due(struct cg_health_cell *c, const struct cg_health_cfg *cfg,
			   struct cg_health_rng *rng, int64_t now_ms)
{
	int64_t delay;

	if (!c->scheduled) {
		delay = 1 + (int64_t)below(rng, cfg->interval_ms);
		c->scheduled = true;
	} else {
		uint32_t j = jitter_ms(cfg);

		delay = (int64_t)cfg->interval_ms - j + (int64_t)below(rng, 2 * (uint64_t)j + 1);
	}
	if (delay < 1)
		delay = 1;
	c->next_due_ms = now_ms + delay;
	return c->next_due_ms;
}

bool cg_health_probed(const struct cg_health_cell *c)
{
	return c->nprobes > 0;
}

bool cg_health_failing(const struct cg_health_cell *c)
{
	return cg_health_probed(c) && (c->state == CG_HEALTH_DOWN || !c->last_ok);
}

bool cg_health_panic_counts(uint32_t failing, uint32_t probed, uint32_t panic_ppm)
{
	return probed > 0 && (uint64_t)failing * 1000000 > (uint64_t)panic_ppm * probed;
}

bool cg_health_panic(const struct cg_health_cell *cells, size_t n, const struct cg_health_cfg *cfg)
{
	uint32_t failing = 0, probed = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		probed += cg_health_probed(&cells[i]);
		failing += cg_health_failing(&cells[i]);
	}
	return cg_health_panic_counts(failing, probed, cfg->panic_ppm);
}

const char *cg_health_name(unsigned int state)
{
	switch (state) {
	case CG_HEALTH_UP:
		return "up";
	case CG_HEALTH_DOWN:
		return "down";
	default:
		return "unknown";
	}
}

void cg_health_cfg_from(const struct cg_health_settings *h, struct cg_health_cfg *cfg)
{
	cfg->interval_ms = h->interval_ms;
	cfg->timeout_ms = h->timeout_ms;
	cfg->jitter_ppm = h->jitter_ppm;
	cfg->rise = h->rise;
	cfg->fall = h->fall;
	cfg->panic_ppm = h->panic_ppm;
}
