// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* backpressure.c - the backpressure controller: cells' load in, shed levels out */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/backpressure.h"

#define ONE	 1000000U /* ppm of one class on the ladder, of one capacity */
#define MIN_MOVE 1000U	  /* ladder moves under a thousandth of a class are noise, not made */

struct cg_bp *cg_bp_new(void)
{
	struct cg_bp *bp = calloc(1, sizeof(*bp));

	if (!bp)
		errno = ENOMEM;
	return bp;
}

void cg_bp_free(struct cg_bp *bp)
{
	free(bp);
}

void cg_bp_sync(struct cg_bp *bp, const struct cg_state *st)
{
	bool here[CG_MAX_CELLS] = { false };

	for (size_t i = 0; i < st->ncells; i++)
		if (st->cells[i].id < CG_MAX_CELLS)
			here[st->cells[i].id] = true;
	for (size_t id = 0; id < CG_MAX_CELLS; id++) {
		if (!here[id] && bp->cell[id].present)
			memset(&bp->cell[id], 0, sizeof(bp->cell[id]));
		bp->cell[id].present = here[id];
	}
}

bool cg_bp_report_load(const struct cg_report *r, const struct cg_bp_settings *s, uint32_t *ppm)
{
	uint64_t best = 0;
	bool any = false;

	if (r->util_ppm != CG_REPORT_NONE) {
		best = r->util_ppm;
		any = true;
	}
	if (r->inflight != CG_REPORT_NONE && r->capacity) {
		uint64_t v = (uint64_t)r->inflight * ONE / r->capacity;

		best = v > best ? v : best;
		any = true;
	}
	if (r->queue_us != CG_REPORT_NONE && s->queue_full_us) {
		uint64_t v = (uint64_t)r->queue_us * ONE / s->queue_full_us;

		best = v > best ? v : best;
		any = true;
	}
	*ppm = best > CG_REPORT_UTIL_MAX ? CG_REPORT_UTIL_MAX : (uint32_t)best;
	return any;
}

bool cg_bp_known(const struct cg_bp_signal *sig, int64_t now_ms, const struct cg_bp_settings *s)
{
	return sig->at_ms && now_ms - sig->at_ms <= (int64_t)s->stale_ms;
}

void cg_bp_smooth(struct cg_bp_signal *sig, uint32_t sample, int64_t now_ms,
		  const struct cg_bp_settings *s)
{
	if (!cg_bp_known(sig, now_ms, s)) {
		sig->load_ppm = sample;
	} else {
		uint64_t w = sample > sig->load_ppm ? s->rise_ppm : s->fall_ppm;
		int64_t d = (int64_t)sample - sig->load_ppm;

		sig->load_ppm = (uint32_t)((int64_t)sig->load_ppm + d * (int64_t)w / (int64_t)ONE);
	}
	sig->prev_ppm = sig->raw_ppm;
	sig->raw_ppm = sample;
	sig->at_ms = now_ms ? now_ms : 1;
}

void cg_bp_rate_sample(struct cg_bp_rate *r, uint64_t count, int64_t now_ms,
		       const struct cg_bp_settings *s)
{
	double rate;
	int64_t dt = now_ms - r->at_ms;

	if (r->at_ms && dt <= 0)
		return;
	if (!r->at_ms || dt > (int64_t)s->stale_ms || count < r->count) {
		/* a new base: no rate across a gap, a reload or the first read */
		r->count = count;
		r->at_ms = now_ms ? now_ms : 1;
		r->rated = false;
		return;
	}
	rate = (double)(count - r->count) * 1000.0 / (double)dt;
	if (!r->rated)
		r->per_s = rate;
	else
		r->per_s += (rate - r->per_s) * s->signal_ppm / (double)ONE;
	r->rated = true;
	r->count = count;
	r->at_ms = now_ms;
}

void cg_bp_view_sample(struct cg_bp *bp, const struct cg_state *st,
		       const struct cg_stats_snap *snap, int64_t now_ms)
{
	const struct cg_bp_settings *s = &st->bp;

	for (size_t i = 0; i < st->ncells; i++) {
		const struct cg_cell_cfg *cc = &st->cells[i];
		struct cg_cell_stats sum;
		uint64_t retries = 0, svc_new = 0;
		struct cg_bp_view *v;

		if (cc->id >= CG_MAX_CELLS || !bp->cell[cc->id].present)
			continue;
		v = &bp->cell[cc->id].view;
		cg_stats_cell_sum(snap, cc->id, &sum);
		for (size_t j = 0; j < st->nservices; j++) {
			const struct cg_service_cfg *sv = &st->services[j];

			if (sv->id >= CG_MAX_SERVICES)
				continue;
			for (size_t k = 0; k < sv->ncells; k++) {
				if (strcmp(sv->cells[k], cc->name))
					continue;
				retries += snap->svc[sv->id].retries;
				svc_new += snap->svc[sv->id].new_flows;
				break;
			}
		}
		cg_bp_rate_sample(&v->new_flows, sum.new_flows, now_ms, s);
		cg_bp_rate_sample(&v->packets, sum.packets, now_ms, s);
		cg_bp_rate_sample(&v->retries, retries, now_ms, s);
		cg_bp_rate_sample(&v->svc_new_flows, svc_new, now_ms, s);
	}
}

bool cg_bp_view_retry_ppm(const struct cg_bp_view *v, uint32_t *ppm)
{
	double r;

	if (!v->retries.rated || !v->svc_new_flows.rated || v->svc_new_flows.per_s <= 0)
		return false;
	r = v->retries.per_s / v->svc_new_flows.per_s * ONE;
	*ppm = r >= CG_REPORT_UTIL_MAX ? CG_REPORT_UTIL_MAX : r <= 0 ? 0 : (uint32_t)(r + 0.5);
	return true;
}

void cg_bp_link_sample(struct cg_bp_link *l, uint64_t rx_packets, uint64_t rx_drops, int64_t now_ms,
		       const struct cg_bp_settings *s)
{
	cg_bp_rate_sample(&l->rx_packets, rx_packets, now_ms, s);
	cg_bp_rate_sample(&l->rx_drops, rx_drops, now_ms, s);
}

int cg_bp_report(struct cg_bp *bp, const struct cg_bp_settings *s, const uint8_t *buf, size_t len,
		 const uint8_t *key, int64_t now_ms, char *err, size_t errlen)
{
	static const int codes[] = {
		[CG_REPORT_ACCEPTED] = 0,
		[CG_REPORT_REPLAYED] = -EALREADY,
		[CG_REPORT_SKEWED] = -ERANGE,
		[CG_REPORT_LIMITED] = -EBUSY,
	};
	struct cg_report r;
	struct cg_bp_cell *c;
	enum cg_report_verdict v;
	uint32_t load;
	int ret;

	ret = cg_report_decode(buf, len, key, &r, err, errlen);
	if (ret)
		return ret;
	c = &bp->cell[r.cell];
	if (!c->present) {
		if (err && errlen)
			snprintf(err, errlen, "report: cell %u is not a cell of the state", r.cell);
		return -ENOENT;
	}
	v = cg_report_admit(&c->rx, &r, now_ms, s->max_skew_ms, s->report_rate, s->report_burst,
			    err, errlen);
	if (v != CG_REPORT_ACCEPTED)
		return codes[v];
	if (cg_bp_report_load(&r, s, &load)) {
		cg_bp_smooth(&c->sig, load, now_ms, s);
		c->sig.ts_ms = r.ts_ms > INT64_MAX ? INT64_MAX : (int64_t)r.ts_ms;
	}
	return 0;
}

/* A cell's ladder and the load model of one step. */
struct ladder {
	size_t n;		      /* rungs */
	uint8_t rung[CG_MAX_CLASSES]; /* class id of each, lowest priority first */
	bool held[CG_MAX_CLASSES];    /* by rung: an operator level applies to it */
	double o[CG_MAX_CLASSES];     /* by rung: offered load */
	double fixed;		      /* load admitted outside the ladder's control */
};

/* The level rung r has at position pos. */
static uint32_t rung_level(uint32_t pos, size_t r)
{
	uint64_t base = (uint64_t)r * ONE;

	if (pos <= base)
		return 0;
	return pos - base >= ONE ? ONE : (uint32_t)(pos - base);
}

static bool class_protected(const struct cg_state *st, unsigned int id)
{
	const struct cg_class_cfg *k = cg_state_class_by_id(st, id);

	return k && k->protected;
}

/* Build cell i's ladder from the state, the offered load and what applies. */
static void ladder_build(const struct cg_bp_input *in, size_t i, struct ladder *l)
{
	const struct cg_state *st = in->st;
	uint32_t id = st->cells[i].id;
	const uint32_t *off = in->offered ? &in->offered[i * CG_MAX_CLASSES] : NULL;
	double total = 0;

	memset(l, 0, sizeof(*l));
	for (size_t k = 0; off && k < CG_MAX_CLASSES; k++)
		total += off[k];
	if (total <= 0)
		off = NULL; /* nothing counted yet: every class weighs alike */
	for (size_t j = st->nclasses; j-- > 0;) {
		const struct cg_class_cfg *k = &st->classes[j];
		const struct cg_shed_eff *e =
			in->eff ? &in->eff[id * CG_MAX_CLASSES + k->id] : NULL;
		double o = off ? off[k->id] : 1.0;
		bool op = e && e->source == CG_SHED_OPERATOR;

		if (k->protected || op) {
			l->fixed += o * (1.0 - (op ? e->soft_ppm : 0) / (double)ONE);
			if (k->protected)
				continue;
		}
		l->rung[l->n] = (uint8_t)k->id;
		l->held[l->n] = op;
		l->o[l->n] = op ? 0 : o; /* shedding a held class changes nothing */
		l->n++;
	}
}

/* The load admitted at position pos. */
static double admitted(const struct ladder *l, uint32_t pos)
{
	double a = l->fixed;

	for (size_t r = 0; r < l->n; r++)
		a += l->o[r] * (1.0 - rung_level(pos, r) / (double)ONE);
	return a;
}

/* The position at which the admitted load is goal (the ladder's top if none is low enough). */
static uint32_t solve(const struct ladder *l, double goal)
{
	double cut = admitted(l, 0) - goal;
	uint64_t pos = 0;

	for (size_t r = 0; r < l->n; r++) {
		if (cut <= 0)
			break;
		if (l->o[r] <= cut) { /* a held or idle rung is passed for free */
			cut -= l->o[r];
			pos = (uint64_t)(r + 1) * ONE;
			continue;
		}
		pos = (uint64_t)r * ONE + (uint64_t)(cut / l->o[r] * ONE);
		cut = 0;
	}
	return (uint32_t)pos;
}

/* Record the changes of cell id's levels that pos gives, then keep them. */
static size_t emit(struct cg_bp_cell *c, uint32_t id, const struct ladder *l, uint32_t pos,
		   uint8_t why, bool advisory, const struct cg_bp_settings *s, int64_t now,
		   struct cg_bp_change *out, size_t cap, size_t n)
{
	uint32_t level[CG_MAX_CLASSES] = { 0 }, retry = 0;
	bool retry_known = cg_bp_view_retry_ppm(&c->view, &retry);

	for (size_t r = 0; r < l->n; r++)
		level[l->rung[r]] = rung_level(pos, r);
	for (size_t k = 0; k < CG_MAX_CLASSES; k++) {
		if (level[k] == c->level[k])
			continue;
		if (n < cap)
			out[n] = (struct cg_bp_change){
				.cell = id,
				.class = (uint8_t)k,
				.why = why,
				.advisory = advisory,
				.from_ppm = c->level[k],
				.to_ppm = level[k],
				.load_ppm = c->sig.load_ppm,
				.raw_ppm = c->sig.raw_ppm,
				.target_ppm = s->target_ppm,
				.pos_ppm = pos,
				.at_ms = now,
				.retry_known = retry_known,
				.retry_ppm = retry,
			};
		n++;
	}
	memcpy(c->level, level, sizeof(level));
	if (pos != c->pos_ppm) {
		c->before_ms = c->changed_ms;
		c->changed_ms = now ? now : 1;
		c->prev_ppm = c->pos_ppm;
	}
	if (pos > c->pos_ppm)
		c->rose_ms = c->changed_ms;
	c->pos_ppm = pos;
	return n;
}

/* One period of the law for st->cells[i]; returns the change count so far. */
static size_t step_cell(struct cg_bp *bp, const struct cg_bp_input *in, size_t i,
			struct cg_bp_change *out, size_t cap, size_t n)
{
	const struct cg_bp_settings *s = &in->st->bp;
	uint32_t id = in->st->cells[i].id;
	struct cg_bp_cell *c = &bp->cell[id];
	uint8_t mode = in->mode ? in->mode[i] : s->mode;
	int64_t now = in->now_ms;
	struct ladder l;
	uint32_t hi, lo, want, pos = c->pos_ppm;
	double a, lv;
	bool late;

	ladder_build(in, i, &l);
	if (mode != c->mode) {
		/* manual advice was never applied, off has none: a new auto starts from nothing */
		n = emit(c, id, &l, 0, CG_BP_WHY_MODE, c->mode == CG_BP_MANUAL, s, now, out, cap,
			 n);
		c->mode = mode;
		c->changed_ms = c->before_ms = c->rose_ms = 0;
		pos = 0;
	}
	if (mode == CG_BP_OFF)
		return n;
	if (c->stepped_ms && now - c->stepped_ms < (int64_t)s->period_ms)
		return n;
	c->stepped_ms = now ? now : 1;
	/* unknown is not idle: hold; and act only on a report received since the last change */
	if (!cg_bp_known(&c->sig, now, s) || c->sig.at_ms <= c->changed_ms || !l.n)
		return n;
	/* to shed more both the smoothed and the last load must be over; to release, both under */
	hi = c->sig.load_ppm > c->sig.raw_ppm ? c->sig.load_ppm : c->sig.raw_ppm;
	lo = c->sig.load_ppm < c->sig.raw_ppm ? c->sig.load_ppm : c->sig.raw_ppm;
	/* what was admitted when the last report was measured: a late report measured
	 * before the last change saw the position before it */
	late = c->sig.ts_ms && c->sig.ts_ms <= c->changed_ms;
	a = admitted(&l, late ? c->prev_ppm : pos);
	if (lo > s->target_ppm && a > 0) {
		/* a late report (measured before the last change) shows the load under the
		 * position before it: the goal it gives is still right, so a rise the step
		 * bound cut short goes on; one measured before the change before that, or
		 * before a release, saw a position no longer known: wait. And if the last
		 * rise was meant to be enough while the load falls towards it (a queue
		 * draining), wait */
		if (late && (c->sig.ts_ms <= c->before_ms || c->pos_ppm < c->prev_ppm))
			return n;
		if (c->rose_ms && c->pred_ppm <= s->target_ppm && c->sig.raw_ppm < c->sig.prev_ppm)
			return n;
		/* sized by the last report: the smoothed load lags a step of the load */
		want = solve(&l, a * s->target_ppm / c->sig.raw_ppm);
		if (want < pos + MIN_MOVE)
			return n;
		want = want - pos > s->max_step_ppm ? pos + s->max_step_ppm : want;
		c->pred_ppm = (uint32_t)(c->sig.raw_ppm * admitted(&l, want) / a);
		return emit(c, id, &l, want, CG_BP_WHY_OVERLOAD, mode == CG_BP_MANUAL, s, now, out,
			    cap, n);
	}
	if (hi < s->target_ppm - s->hysteresis_ppm && pos) {
		if (c->rose_ms && now - c->rose_ms < (int64_t)s->dwell_ms)
			return n;
		lv = hi ? hi : 1;
		want = a > 0 ? solve(&l, a * (s->target_ppm - s->hysteresis_ppm) / lv) : 0;
		if (want + MIN_MOVE > pos)
			return n;
		want = pos - want > s->release_step_ppm ? pos - s->release_step_ppm : want;
		return emit(c, id, &l, want, CG_BP_WHY_RELEASE, mode == CG_BP_MANUAL, s, now, out,
			    cap, n);
	}
	return n;
}

/* The levels of the cells in auto mode, for cg_bp_levels(). */
static void levels_build(struct cg_bp *bp, const struct cg_state *st)
{
	bp->nlevels = 0;
	for (uint32_t id = 0; id < CG_MAX_CELLS; id++) {
		const struct cg_bp_cell *c = &bp->cell[id];

		if (!c->present || c->mode != CG_BP_AUTO)
			continue;
		for (size_t k = 0; k < CG_MAX_CLASSES; k++)
			if (c->level[k] && !class_protected(st, (unsigned int)k))
				bp->levels[bp->nlevels++] = (struct cg_shed_level){
					.cell = id, .class = (uint8_t)k, .level_ppm = c->level[k]
				};
	}
}

size_t cg_bp_step(struct cg_bp *bp, const struct cg_bp_input *in, struct cg_bp_change *out,
		  size_t cap)
{
	bool here[CG_MAX_CELLS] = { false };
	size_t n = 0;

	for (size_t i = 0; i < in->st->ncells; i++)
		if (in->st->cells[i].id < CG_MAX_CELLS)
			here[in->st->cells[i].id] = true;
	for (uint32_t id = 0; id < CG_MAX_CELLS; id++) {
		struct cg_bp_cell *c = &bp->cell[id];

		if (here[id] || !c->present)
			continue;
		for (size_t k = 0; k < CG_MAX_CLASSES; k++) {
			if (!c->level[k])
				continue;
			if (n < cap)
				out[n] = (struct cg_bp_change){ .cell = id,
								.class = (uint8_t)k,
								.why = CG_BP_WHY_GONE,
								.from_ppm = c->level[k],
								.target_ppm = in->st->bp.target_ppm,
								.at_ms = in->now_ms };
			n++;
		}
	}
	cg_bp_sync(bp, in->st);
	for (size_t i = 0; i < in->st->ncells; i++)
		if (in->st->cells[i].id < CG_MAX_CELLS)
			n = step_cell(bp, in, i, out, cap, n);
	levels_build(bp, in->st);
	return n;
}

size_t cg_bp_adopt(struct cg_bp *bp, const struct cg_state *st, const uint8_t *mode,
		   const struct cg_shed_level *held, size_t n, int64_t now_ms)
{
	size_t adopted = 0;

	cg_bp_sync(bp, st);
	for (size_t i = 0; i < st->ncells; i++) {
		uint32_t id = st->cells[i].id, lv[CG_MAX_CLASSES] = { 0 };
		struct cg_bp_input in = { .st = st, .now_ms = now_ms };
		struct cg_bp_cell *c;
		struct ladder l;
		uint64_t pos = 0;

		if (id >= CG_MAX_CELLS || (mode ? mode[i] : st->bp.mode) != CG_BP_AUTO)
			continue;
		c = &bp->cell[id];
		if (c->pos_ppm)
			continue; /* the controller has its own record: nothing to adopt */
		for (size_t j = 0; j < n; j++)
			if (held[j].cell == id && held[j].class < CG_MAX_CLASSES && !held[j].hard)
				lv[held[j].class] =
					held[j].level_ppm > ONE ? ONE : held[j].level_ppm;
		/* the position those levels are on the ladder: rungs from the lowest class up to
		 * the first one not fully shed (the ladder never sheds a class above it) */
		ladder_build(&in, i, &l);
		for (size_t r = 0; r < l.n; r++) {
			pos += lv[l.rung[r]];
			if (lv[l.rung[r]] < ONE)
				break;
		}
		if (!pos)
			continue;
		c->mode = CG_BP_AUTO;
		c->pos_ppm = (uint32_t)pos;
		c->prev_ppm = 0;
		/* a rise now: dwell before any release; no prediction to wait on */
		c->changed_ms = c->rose_ms = now_ms ? now_ms : 1;
		c->before_ms = 0;
		c->pred_ppm = UINT32_MAX;
		memset(c->level, 0, sizeof(c->level));
		for (size_t r = 0; r < l.n; r++)
			c->level[l.rung[r]] = rung_level(c->pos_ppm, r);
		adopted++;
	}
	levels_build(bp, st);
	return adopted;
}

const struct cg_shed_level *cg_bp_levels(const struct cg_bp *bp, size_t *n)
{
	*n = bp->nlevels;
	return bp->levels;
}

const char *cg_bp_why_name(unsigned int why)
{
	switch (why) {
	case CG_BP_WHY_OVERLOAD:
		return "overload";
	case CG_BP_WHY_RELEASE:
		return "release";
	case CG_BP_WHY_MODE:
		return "mode";
	case CG_BP_WHY_GONE:
		return "gone";
	default:
		return "unknown";
	}
}

/* ppm as a decimal of 3 places: 1413000 -> "1.413". */
static const char *dec3(uint32_t ppm, char *buf, size_t len)
{
	uint32_t v = (uint32_t)(((uint64_t)ppm + 500) / 1000);

	snprintf(buf, len, "%u.%03u", v / 1000, v % 1000);
	return buf;
}

const char *cg_bp_change_str(const struct cg_bp_change *c, char *buf, size_t len)
{
	char from[16], to[16], load[16], raw[16], target[16], pos[16], retry[40] = "";

	if (c->retry_known)
		snprintf(retry, sizeof(retry), ", syn retries %s",
			 dec3(c->retry_ppm, from, sizeof(from)));
	snprintf(
		buf, len,
		"cell %u class %u: %s -> %s%s (%s: load %s, last report %s, target %s, ladder %s%s)",
		c->cell, c->class, dec3(c->from_ppm, from, sizeof(from)),
		dec3(c->to_ppm, to, sizeof(to)), c->advisory ? " advised" : "",
		cg_bp_why_name(c->why), dec3(c->load_ppm, load, sizeof(load)),
		dec3(c->raw_ppm, raw, sizeof(raw)), dec3(c->target_ppm, target, sizeof(target)),
		dec3(c->pos_ppm, pos, sizeof(pos)), retry);
	return buf;
}
