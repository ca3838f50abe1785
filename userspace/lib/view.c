// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* view.c - the JSON an operator sees: desired state joined with what the maps hold */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cellgate/config.h"
#include "cellgate/names.h"
#include "cellgate/region.h"
#include "cellgate/stats.h"
#include "cellgate/view.h"
#include "cellgate/field.h"

json_t *cg_object_json(const struct cg_object *o, const void *obj)
{
	char buf[CG_SHOW_TEXT_MAX];
	const struct cg_field *f;
	const char *mem;
	json_t *j = json_object(), *v, *arr;
	size_t i, n;

	for (f = o->fields; j && f->name; f++) {
		mem = (const char *)obj + f->offset;
		switch (f->type) {
		case CG_F_NAME:
		case CG_F_REF:
		case CG_F_TEXT:
		case CG_F_ENUM:
		case CG_F_ADDR:
		case CG_F_LEVEL:
		case CG_F_PREFIX:
			v = json_string(cg_field_format(f, obj, buf, sizeof(buf)));
			break;
		case CG_F_BOOL:
			v = json_boolean(cg_field_get(f, obj));
			break;
		case CG_F_NAMES: /* a pointer to names and their count at aux */
			if (f->flags & CG_FF_INLINE)
				continue;
			arr = json_array();
			memcpy(&n, (const char *)obj + f->aux, sizeof(n));
			for (i = 0; arr && i < n; i++)
				json_array_append_new(arr,
						      json_string((*(char(*const *)[CG_NAME_MAX])(
							      const void *)mem)[i]));
			v = arr;
			break;
		case CG_F_LEVELS: /* levels in their text form, in order */
			arr = json_array();
			memcpy(&n, (const char *)obj + f->aux, sizeof(n));
			for (i = 0; arr && i < n && i < f->size / sizeof(uint32_t); i++) {
				uint32_t ppm;

				memcpy(&ppm, mem + i * sizeof(ppm), sizeof(ppm));
				cg_level_format(ppm, buf, sizeof(buf));
				json_array_append_new(arr, json_string(buf));
			}
			v = arr;
			break;
		case CG_F_TIME:
			v = json_integer((json_int_t)cg_field_get(f, obj));
			break;
		default:
			v = json_integer((json_int_t)cg_field_get(f, obj));
			break;
		}
		if (json_object_set_new(j, f->name, v)) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

const char *cg_view_addr(const struct cg_addr *a, char *buf, size_t len)
{
	return cg_addr_format(a, buf, len);
}

const char *cg_view_cell_state(unsigned int state)
{
	return cg_enum_name(cg_cell_state_names, state, "unused");
}

const char *cg_view_encap(unsigned int encap)
{
	return cg_enum_name(cg_encap_names, encap, "none");
}

/* Sorted copies of pointers, so every view lists objects by name. */
static int by_cell_name(const void *a, const void *b)
{
	return strcmp((*(const struct cg_cell_cfg *const *)a)->name,
		      (*(const struct cg_cell_cfg *const *)b)->name);
}

static int by_service_name(const void *a, const void *b)
{
	return strcmp((*(const struct cg_service_cfg *const *)a)->name,
		      (*(const struct cg_service_cfg *const *)b)->name);
}

static int by_region_cost(const void *a, const void *b)
{
	const struct cg_region_cfg *x = *(const struct cg_region_cfg *const *)a;
	const struct cg_region_cfg *y = *(const struct cg_region_cfg *const *)b;

	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Counters of a cell: every class summed. */
static void cell_counters(struct cg_dp *dp, uint32_t id, struct cg_cell_stats *sum)
{
	cg_stats_read_cell(dp, id, sum);
}

static json_t *cell_json(const struct cg_cell_cfg *c, struct cg_dp *dp)
{
	char mac[18];
	struct cg_cell_stats cs;
	struct cg_cell m;
	json_t *o;

	o = cg_object_json(&cg_cell_obj, c);
	if (!o || !dp || c->id >= CG_MAX_CELLS)
		return o;
	if (cg_dp_cell_get(dp, c->id, &m) == 0) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m.dmac[0], m.dmac[1],
			 m.dmac[2], m.dmac[3], m.dmac[4], m.dmac[5]);
		json_object_set_new(o, "dataplane",
				    json_pack("{s:s, s:s, s:i}", "state",
					      cg_view_cell_state(m.state), "next_hop_mac", mac,
					      "vlan", (int)ntohs(m.vlan)));
	}
	cell_counters(dp, c->id, &cs);
	json_object_set_new(o, "packets", json_integer((json_int_t)cs.packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)cs.bytes));
	json_object_set_new(o, "new_flows", json_integer((json_int_t)cs.new_flows));
	json_object_set_new(o, "drops", json_integer((json_int_t)cs.drops));
	json_object_set_new(o, "shed", json_integer((json_int_t)cs.shed));
	json_object_set_new(o, "shed_hard", json_integer((json_int_t)cs.shed_hard));
	json_object_set_new(o, "ceiling", json_integer((json_int_t)cs.ceiling));
	json_object_set_new(o, "guard", json_integer((json_int_t)cs.guard));
	return o;
}

json_t *cg_view_cells(const struct cg_state *st, struct cg_dp *dp)
{
	const struct cg_cell_cfg **v;
	json_t *arr = json_array();
	size_t i;

	v = calloc(st->ncells + 1, sizeof(*v));
	if (!arr || !v) {
		free(v);
		json_decref(arr);
		return NULL;
	}
	for (i = 0; i < st->ncells; i++)
		v[i] = &st->cells[i];
	qsort(v, st->ncells, sizeof(*v), by_cell_name);
	for (i = 0; i < st->ncells; i++)
		json_array_append_new(arr, cell_json(v[i], dp));
	free(v);
	return arr;
}

/* {size, shares: {cell name: slots}} of the live table, or null. */
static json_t *table_json(const struct cg_state *st, const struct cg_service_cfg *s,
			  struct cg_dp *dp)
{
	uint32_t *slots, size = 0, *count;
	json_t *shares, *o = NULL;
	size_t i;

	slots = malloc((size_t)CG_MAX_TABLE_SIZE * sizeof(*slots));
	count = calloc(CG_MAX_CELLS, sizeof(*count));
	if (!slots || !count || cg_dp_table_read(dp, s->id, slots, CG_MAX_TABLE_SIZE, &size))
		goto out;
	for (i = 0; i < size; i++)
		count[slots[i] % CG_MAX_CELLS]++;
	shares = json_object();
	for (i = 0; i < st->ncells; i++)
		if (st->cells[i].id < CG_MAX_CELLS && count[st->cells[i].id])
			json_object_set_new(shares, st->cells[i].name,
					    json_integer(count[st->cells[i].id]));
	o = json_pack("{s:I, s:o}", "size", (json_int_t)size, "shares", shares);
out:
	free(slots);
	free(count);
	return o ? o : json_null();
}

static json_t *service_json(const struct cg_state *st, const struct cg_service_cfg *s,
			    struct cg_dp *dp)
{
	struct cg_svc_stats ss;
	json_t *o;

	o = cg_object_json(&cg_service_obj, s);
	if (!o || !dp || s->id >= CG_MAX_SERVICES)
		return o;
	json_object_set_new(o, "table", table_json(st, s, dp));
	if (cg_dp_svc_stats_read(dp, s->id, &ss) == 0) {
		json_object_set_new(o, "packets", json_integer((json_int_t)ss.packets));
		json_object_set_new(o, "bytes", json_integer((json_int_t)ss.bytes));
		json_object_set_new(o, "new_flows", json_integer((json_int_t)ss.new_flows));
		json_object_set_new(o, "drops", json_integer((json_int_t)ss.drops));
		json_object_set_new(o, "icmp", json_integer((json_int_t)ss.icmp));
		json_object_set_new(o, "too_big", json_integer((json_int_t)ss.too_big));
		json_object_set_new(o, "retries", json_integer((json_int_t)ss.retries));
	}
	return o;
}

json_t *cg_view_services(const struct cg_state *st, struct cg_dp *dp)
{
	const struct cg_service_cfg **v;
	json_t *arr = json_array();
	size_t i;

	v = calloc(st->nservices + 1, sizeof(*v));
	if (!arr || !v) {
		free(v);
		json_decref(arr);
		return NULL;
	}
	for (i = 0; i < st->nservices; i++)
		v[i] = &st->services[i];
	qsort(v, st->nservices, sizeof(*v), by_service_name);
	for (i = 0; i < st->nservices; i++)
		json_array_append_new(arr, service_json(st, v[i], dp));
	free(v);
	return arr;
}

json_t *cg_view_regions(const struct cg_state *st, struct cg_dp *dp)
{
	uint32_t frac[CG_MAX_REGIONS];
	const struct cg_region_cfg **v;
	struct cg_rules rules;
	json_t *arr = json_array();
	size_t i, j;

	v = calloc(st->nregions + 1, sizeof(*v));
	if (!arr || !v) {
		free(v);
		json_decref(arr);
		return NULL;
	}
	for (i = 0; i < st->nregions; i++)
		v[i] = &st->regions[i];
	qsort(v, st->nregions, sizeof(*v), by_region_cost);
	cg_rules_from(&st->failover, &rules);
	cg_evac_fractions(st, st->evacs, st->nevacs, &rules.ramp, frac);
	for (i = 0; i < st->nregions; i++) {
		const struct cg_evac *e = cg_evac_find(st, v[i]->name);
		unsigned int cells = 0, active = 0;
		json_t *o, *ramp;
		char lvl[16];
		size_t k;

		for (j = 0; j < st->ncells; j++) {
			const struct cg_cell_cfg *c = &st->cells[j];
			struct cg_cell m;

			if (strcmp(c->region, v[i]->name))
				continue;
			cells++;
			if (dp ? cg_dp_cell_get(dp, c->id, &m) == 0 && m.state == CG_CELL_ACTIVE :
				 c->state == CG_CELL_ACTIVE)
				active++;
		}
		o = cg_object_json(&cg_region_obj, v[i]);
		if (!o)
			continue;
		json_object_set_new(o, "local", json_boolean(!strcmp(v[i]->name, st->region)));
		json_object_set_new(o, "cells", json_integer((json_int_t)cells));
		json_object_set_new(o, "active", json_integer((json_int_t)active));
		/* the evacuation record (a region without one is active) and its share */
		json_object_set_new(
			o, "state",
			json_string(cg_region_state_name(e ? e->state : CG_REGION_ACTIVE)));
		json_object_set_new(o, "since", json_integer(e ? e->step_started : 0));
		json_object_set_new(o, "expires", json_integer(e ? e->expires : 0));
		json_object_set_new(o, "step", json_integer(e ? e->step : 0));
		json_object_set_new(o, "forced", json_boolean(e && e->forced));
		json_object_set_new(o, "by", json_string(e ? e->by : ""));
		json_object_set_new(o, "reason", json_string(e ? e->reason : ""));
		cg_level_format(frac[v[i] - st->regions], lvl, sizeof(lvl));
		json_object_set_new(o, "share", json_string(lvl));
		ramp = json_array();
		for (k = 0; ramp && k < rules.ramp.nsteps; k++) {
			cg_level_format(rules.ramp.step_ppm[k], lvl, sizeof(lvl));
			json_array_append_new(ramp, json_string(lvl));
		}
		json_object_set_new(o, "ramp", ramp);
		json_object_set_new(o, "dwell", json_integer((json_int_t)rules.ramp.dwell));
		json_object_set_new(o, "transition",
				    !strcmp(st->saga.region, v[i]->name) ?
					    cg_object_json(&cg_saga_obj, &st->saga) :
					    json_null());
		json_array_append_new(arr, o);
	}
	free(v);
	return arr;
}

json_t *cg_view_classes(const struct cg_state *st)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < st->nclasses; i++)
		json_array_append_new(arr, cg_object_json(&cg_class_obj, &st->classes[i]));
	return arr;
}

static const char *class_name(const struct cg_state *st, uint32_t id)
{
	const struct cg_class_cfg *c = cg_state_class_by_id(st, id);

	return c ? c->name : "?";
}

json_t *cg_view_rules(const struct cg_state *st)
{
	char addr[INET6_ADDRSTRLEN], prefix[INET6_ADDRSTRLEN + 8];
	json_t *arr = json_array(), *o;
	size_t i;

	for (i = 0; arr && i < st->nrules; i++) {
		const struct cg_class_rule_cfg *r = &st->rules[i];

		if (r->kind == CG_RULE_PREFIX) {
			snprintf(prefix, sizeof(prefix), "%s/%u",
				 cg_view_addr(&r->prefix, addr, sizeof(addr)), r->prefix_len);
			o = json_pack("{s:s, s:s}", "kind", "prefix", "prefix", prefix);
		} else {
			o = json_pack("{s:s, s:i}", "kind", "dscp", "dscp", (int)r->dscp);
		}
		if (!o)
			continue;
		json_object_set_new(o, "class", json_string(class_name(st, r->class)));
		json_object_set_new(o, "class_id", json_integer(r->class));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *level_json(uint32_t ppm)
{
	char buf[16];

	cg_level_format(ppm, buf, sizeof(buf));
	return json_string(buf);
}

json_t *cg_view_shed(const struct cg_state *st, const struct cg_shed_eff *eff, struct cg_dp *dp)
{
	struct cg_shed_eff *own = NULL;
	json_t *levels = json_array(), *entries = json_array(), *counters = json_array();
	int64_t now = (int64_t)time(NULL);
	size_t i, k;

	if (!eff) {
		own = calloc((size_t)CG_MAX_CELLS * CG_MAX_CLASSES, sizeof(*own));
		if (own)
			cg_shed_effective(st, NULL, 0, now, own);
		eff = own;
	}
	for (i = 0; eff && i < st->ncells; i++) {
		const struct cg_cell_cfg *c = &st->cells[i];

		if (c->id >= CG_MAX_CELLS)
			continue;
		for (k = 0; k < CG_MAX_CLASSES; k++) {
			const struct cg_shed_eff *e = &eff[c->id * CG_MAX_CLASSES + k];
			const struct cg_shed_cfg *s = e->entry >= 0 ? &st->shed[e->entry] : NULL;
			json_t *o;

			/* an operator's level 0 (exempting a cell from '*') is shown too */
			if (!e->soft_ppm && !e->hard_ppm && e->source != CG_SHED_OPERATOR)
				continue;
			o = json_pack("{s:s, s:s, s:I, s:o, s:o, s:s}", "cell", c->name, "class",
				      class_name(st, (uint32_t)k), "class_id", (json_int_t)k,
				      "level", level_json(e->soft_ppm), "hard_level",
				      level_json(e->hard_ppm), "source",
				      cg_shed_source_name(e->source));
			if (o && s) {
				json_object_set_new(o, "set_for", json_string(s->cell));
				json_object_set_new(o, "by", json_string(s->by));
				json_object_set_new(o, "reason", json_string(s->reason));
				json_object_set_new(o, "expires", json_integer(s->expires));
				json_object_set_new(o, "expires_in_s",
						    s->expires ? json_integer(s->expires - now) :
								 json_null());
			}
			json_array_append_new(levels, o);
		}
	}
	for (i = 0; i < st->nshed; i++) {
		const struct cg_shed_cfg *s = &st->shed[i];

		json_array_append_new(
			entries, json_pack("{s:s, s:s, s:o, s:b, s:I, s:s, s:s, s:b}", "cell",
					   s->cell, "class", class_name(st, s->class), "level",
					   level_json(s->level_ppm), "hard", s->hard, "expires",
					   (json_int_t)s->expires, "by", s->by, "reason", s->reason,
					   "expired", s->expires && s->expires <= now));
	}
	for (i = 0; dp && i < st->ncells; i++) {
		const struct cg_cell_cfg *c = &st->cells[i];
		struct cg_cell_stats cs;

		for (k = 0; c->id < CG_MAX_CELLS && k < CG_MAX_CLASSES; k++) {
			if (cg_dp_cell_stats_read(dp, c->id, (uint32_t)k, &cs) ||
			    !(cs.shed || cs.shed_hard || cs.ceiling || cs.guard))
				continue;
			json_array_append_new(
				counters,
				json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "cell", c->name,
					  "class", class_name(st, (uint32_t)k), "shed",
					  (json_int_t)cs.shed, "shed_hard",
					  (json_int_t)cs.shed_hard, "ceiling",
					  (json_int_t)cs.ceiling, "guard", (json_int_t)cs.guard));
		}
	}
	free(own);
	return json_pack("{s:o, s:o, s:o}", "levels", levels, "entries", entries, "counters",
			 counters);
}
