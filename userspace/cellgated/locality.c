// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * locality.c - cellgated's locality policy: local-first services' new flows
 * to this LB's region up to its target, the overflow to the nearest regions.
 *
 * The library (cellgate/locality.h) decides everything; this file feeds it
 * what cellgated sees (the desired state, the failover overlay, the offered
 * load failover.c measures, what the cells' load reports say they carry for
 * other LBs) every locality.period_ms and before every reconcile, logs each
 * publication with its inputs, and gives the reconciler the policy's weight
 * of each (service, cell) through its weight hook. The shares are runtime
 * state, never persisted: a restarted cellgated builds its tables with the
 * weights as they are until the load is measured again (about a second),
 * then publishes the shares that load asks for at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/locality.h"
#include "cellgate/region.h"
#include "cellgate/shed.h"
#include "cellgate/text.h"
#include "cellgated.h"

static void step_due(struct cg_loop *loop, void *arg);

static void arm(struct cgd *d)
{
	int id;

	if (d->loc_timer_id > 0)
		cg_loop_timer_cancel(d->loop, d->loc_timer_id);
	d->loc_period_ms = d->st.locality.period_ms ? d->st.locality.period_ms : CG_LOC_PERIOD_DEF;
	id = cg_loop_timer(d->loop, d->loc_period_ms, step_due, d);
	d->loc_timer_id = id > 0 ? id : 0;
}

/* The reconciler's weight hook: the policy's weight of c in svc's table. */
static uint32_t weight_of(void *arg, const struct cg_service_cfg *svc, const struct cg_cell_cfg *c,
			  uint32_t base)
{
	const struct cgd *d = arg;

	return cg_loc_weight(d->loc, svc, c, base);
}

/* Any local-first service in the state? */
static bool wanted(const struct cg_state *st)
{
	for (size_t j = 0; j < st->nservices; j++)
		if (st->services[j].locality == CG_LOC_LOCAL_FIRST)
			return true;
	return false;
}

void cgd_ctl_publish(struct cgd *d)
{
	const struct cg_shed_level *bp;
	size_t nbp, n = 0, cap = CG_MAX_CELLS * CG_MAX_CLASSES;
	struct cg_shed_level *loc = NULL;
	size_t nloc;

	if (!d->rec)
		return;
	if (!d->auto_lv) {
		d->auto_lv = calloc(cap, sizeof(*d->auto_lv));
		if (!d->auto_lv) {
			cgd_log("cannot hand the automatic shed levels over: %s", strerror(ENOMEM));
			return;
		}
	}
	loc = calloc(cap, sizeof(*loc));
	bp = cgd_bp_levels(d, &nbp);
	nloc = loc && d->st_valid ? cg_loc_no_carry(&d->st, loc, cap) : 0;
	for (size_t i = 0; i < nbp && n < cap; i++)
		d->auto_lv[n++] = bp[i];
	for (size_t j = 0; j < nloc; j++) {
		size_t i;

		for (i = 0; i < n; i++)
			if (d->auto_lv[i].cell == loc[j].cell &&
			    d->auto_lv[i].class == loc[j].class)
				break;
		if (i < n && d->auto_lv[i].level_ppm < loc[j].level_ppm)
			d->auto_lv[i].level_ppm = loc[j].level_ppm;
		else if (i == n && n < cap)
			d->auto_lv[n++] = loc[j];
	}
	free(loc);
	d->nauto_lv = n;
	cg_rec_set_controller(d->rec, d->auto_lv, d->nauto_lv);
}

int cgd_loc_step(struct cgd *d)
{
	uint32_t frac[CG_MAX_REGIONS], *load = NULL, *busy = NULL, *rep = NULL;
	struct cg_rules r;
	struct cg_loc_input in;
	int n = 0;

	if (!d->loc || !d->st_valid || d->fail_static[0])
		return 0;
	if (d->rec) /* a repair may have opened the data plane after cgd_loc_init() */
		cg_rec_set_weight(d->rec, weight_of, d);
	cgd_ctl_publish(d); /* the desired state may have changed what is not worth carrying */
	/* nothing measured yet, or nothing local-first now and before: weights as they are */
	if (!d->loc->started && (!d->load_valid || !wanted(&d->st)))
		return 0;
	if (d->loc_period_ms !=
	    (d->st.locality.period_ms ? d->st.locality.period_ms : CG_LOC_PERIOD_DEF))
		arm(d);
	load = calloc(d->st.ncells * CG_MAX_CLASSES + 1, sizeof(*load));
	busy = calloc(d->st.ncells + 1, sizeof(*busy));
	rep = calloc(d->st.ncells + 1, sizeof(*rep));
	if (!load || !busy || !rep) {
		cgd_log("locality: out of memory: this step is skipped, the tables stay as they are");
		goto out;
	}
	cg_rules_from(&d->st.failover, &r);
	cg_evac_fractions(&d->st, d->st.evacs, d->st.nevacs, &r.ramp, frac);
	in = (struct cg_loc_input){ .st = &d->st,
				    .ov = d->ov,
				    .frac = frac,
				    .load = cgd_load_measured(d, load) ? load : NULL,
				    .busy = busy,
				    .now_ms = (int64_t)cg_loop_now_ms() };
	for (size_t i = 0; i < d->st.ncells; i++)
		if (!cgd_bp_report_ppm(d, d->st.cells[i].id, &rep[i]))
			rep[i] = CG_LOC_NO_REPORT;
	cg_loc_busy(&d->st, rep, in.load, busy);
	n = cg_loc_step(d->loc, &in);
	if (n < 0) {
		cgd_log("locality: out of memory: this step is skipped, the tables stay as they are");
		n = 0;
		goto out;
	}
	for (size_t j = 0; n && j < d->st.nservices; j++) {
		const struct cg_loc_svc *s = cg_loc_service(d->loc, d->st.services[j].name);
		char name[CG_SHOW_TEXT_MAX], why[CG_LOC_WHY_MAX * 4 + 8];

		if (s && s->changed_ms == in.now_ms) {
			cg_escape(why, sizeof(why), s->why, strlen(s->why), 0);
			cgd_log("locality: service %s: %s", cg_show(s->name, name, sizeof(name)),
				why);
		}
	}
out:
	free(load);
	free(busy);
	free(rep);
	return n;
}

static void step_due(struct cg_loop *loop, void *arg)
{
	struct cgd *d = arg;
	char err[256];

	(void)loop;
	d->loc_timer_id = 0;
	arm(d);
	if (!d->rec || !d->st.ncells)
		return;
	cgd_fo_overlay(d); /* the overlay the step looks at is the one the reconcile will use */
	if (cgd_loc_step(d) > 0)
		cgd_reconcile(d, "locality", err, sizeof(err));
}

int cgd_loc_init(struct cgd *d)
{
	d->loc = cg_loc_new();
	if (!d->loc)
		return -ENOMEM;
	if (d->rec)
		cg_rec_set_weight(d->rec, weight_of, d);
	arm(d);
	return 0;
}

void cgd_loc_free(struct cgd *d)
{
	if (!d->loc)
		return;
	if (d->loc_timer_id > 0)
		cg_loop_timer_cancel(d->loop, d->loc_timer_id);
	d->loc_timer_id = 0;
	if (d->rec) {
		cg_rec_set_weight(d->rec, NULL, NULL);
		cg_rec_set_controller(d->rec, NULL, 0);
	}
	cg_loc_free(d->loc);
	d->loc = NULL;
	free(d->auto_lv);
	d->auto_lv = NULL;
	d->nauto_lv = 0;
}

static json_t *ppm_json(uint32_t ppm)
{
	return json_real((double)ppm / CG_PPM);
}

json_t *cgd_loc_service_json(const struct cgd *d, const struct cg_service_cfg *svc)
{
	const struct cg_loc_svc *s = d->loc ? cg_loc_service(d->loc, svc->name) : NULL;
	json_t *cells, *o, *shed;
	uint64_t left = 0;

	if (!s)
		return json_pack("{s:s, s:b}", "mode",
				 svc->locality == CG_LOC_LOCAL_FIRST ? "local-first" : "spread",
				 "active", false);
	cells = json_array();
	shed = json_object();
	for (size_t k = 0; k < CG_MAX_CLASSES; k++) {
		uint64_t x = s->shed[k] + s->shed_cost[k];

		left += x;
		if (x) {
			const char *cn = cg_class_name(&d->st, (uint32_t)k);
			char id[16];

			snprintf(id, sizeof(id), "%zu", k);
			json_object_set_new(shed, cn ? cn : id, json_integer((json_int_t)x));
		}
	}
	for (size_t m = 0; m < s->ncells; m++) {
		const struct cg_loc_cell *c = &s->cells[m];

		json_array_append_new(cells,
				      json_pack("{s:s, s:o, s:I, s:b, s:b, s:I, s:I}", "cell",
						c->name, "share", ppm_json(c->share), "weight",
						(json_int_t)c->weight, "local", c->local,
						"eligible", c->eligible, "avail",
						(json_int_t)c->avail, "cost", (json_int_t)c->cost));
	}
	o = json_pack("{s:s, s:b, s:b, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:I, s:s, s:o}", "mode",
		      s->mode == CG_LOC_LOCAL_FIRST ? "local-first" : "spread", "active", s->active,
		      "short", s->short_of, "spill", ppm_json(s->spill), "ramp", ppm_json(s->ramp),
		      "goal", ppm_json(s->goal), "offered", (json_int_t)s->total, "local_avail",
		      (json_int_t)s->local_avail, "left_to_shed", (json_int_t)left, "left_by_class",
		      shed, "changes", (json_int_t)s->changes, "why", s->why, "cells", cells);
	return o;
}

void cgd_loc_inputs(const struct cgd *d, const struct cg_cell_cfg *c, const struct cg_class_cfg *cl,
		    json_t *level)
{
	const struct cg_region_cfg *r = cg_state_find_region(&d->st, c->region);

	json_object_set_new(level, "by", json_string("locality"));
	json_object_set_new(level, "inputs",
			    json_pack("{s:s, s:I, s:I}", "region", c->region, "cost",
				      (json_int_t)(r ? r->cost : 0), "max_spill_cost",
				      (json_int_t)cl->max_spill_cost));
}
