/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* state.c - the desired state's model: life cycle, look-up, canonical order, id assignment */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "cellgate/state.h"

/* ---- life cycle, look-up ---- */

/* The classes of a config without `classes:` (docs/config.md). */
static const struct cg_class_cfg default_classes[CG_DEFAULT_CLASSES] = {
	{ .name = "critical",
	  .id = 0,
	  .protected = true,
	  .burst = 1,
	  .max_spill_cost = CG_MAX_REGION_COST },
	{ .name = "high", .id = 1, .burst = 1, .max_spill_cost = CG_MAX_REGION_COST },
	{ .name = "normal", .id = 2, .burst = 1, .max_spill_cost = CG_MAX_REGION_COST },
	{ .name = "sheddable", .id = 3, .burst = 1, .max_spill_cost = CG_MAX_REGION_COST },
};

void cg_failover_defaults(struct cg_failover_settings *f)
{
	memset(f, 0, sizeof(*f));
	f->min_cells = CG_MIN_CELLS_DEF;
	f->min_regions = CG_MIN_REGIONS_DEF;
	f->wait = CG_WAIT_DEF;
	f->evacuation_ttl = CG_EVAC_TTL_DEF;
	f->max_out_ppm = CG_MAX_OUT_DEF;
	f->nramp = 4; /* 10%, 25%, 50%, all */
	f->ramp_ppm[0] = 100000;
	f->ramp_ppm[1] = 250000;
	f->ramp_ppm[2] = 500000;
	f->ramp_ppm[3] = CG_LEVEL_ONE;
	f->dwell = CG_DWELL_DEF;
	f->max_step_ppm = CG_MAX_STEP_DEF;
	f->auto_evacuate_ppm = CG_AUTO_EVACUATE_DEF;
}

void cg_state_init(struct cg_state *st)
{
	memset(st, 0, sizeof(*st));
	st->xdp_mode = CG_XDP_AUTO;
	st->mtu = CG_DEFAULT_MTU;
	st->conntrack_size = CG_DEFAULT_CONNTRACK;
	memcpy(st->classes, default_classes, sizeof(default_classes));
	st->nclasses = CG_DEFAULT_CLASSES;
	st->guard.ipv4_prefix = CG_GUARD_PREFIX4_DEF;
	st->guard.ipv6_prefix = CG_GUARD_PREFIX6_DEF;
	st->guard.ipv4_aggregate = CG_GUARD_AGG4_DEF;
	st->guard.ipv6_aggregate = CG_GUARD_AGG6_DEF;
	cg_loc_settings_defaults(&st->locality);
	st->icmp_rate = CG_ICMP_RATE_DEF;
	st->health.probe = CG_PROBE_OFF;
	st->health.http_status = 200;
	st->health.interval_ms = CG_HEALTH_INTERVAL_DEF;
	st->health.timeout_ms = CG_HEALTH_TIMEOUT_DEF;
	st->health.jitter_ppm = CG_HEALTH_JITTER_DEF;
	st->health.rise = CG_HEALTH_RISE_DEF;
	st->health.fall = CG_HEALTH_FALL_DEF;
	st->health.panic_ppm = CG_HEALTH_PANIC_DEF;
	snprintf(st->health.http_path, sizeof(st->health.http_path), "/");
	st->too_big_rate = CG_ICMP_RATE_DEF;
	cg_failover_defaults(&st->failover);
	cg_bp_settings_defaults(&st->bp);
	cg_metrics_settings_defaults(&st->metrics);
}

void cg_bp_settings_defaults(struct cg_bp_settings *b)
{
	memset(b, 0, sizeof(*b));
	b->mode = CG_BP_AUTO;
	b->target_ppm = CG_BP_TARGET_DEF;
	b->hysteresis_ppm = CG_BP_HYST_DEF;
	b->period_ms = CG_BP_PERIOD_DEF;
	b->dwell_ms = CG_BP_DWELL_DEF;
	b->max_step_ppm = CG_BP_MAX_STEP_DEF;
	b->release_step_ppm = CG_BP_RELEASE_DEF;
	b->rise_ppm = CG_BP_RISE_DEF;
	b->fall_ppm = CG_BP_FALL_DEF;
	b->signal_ppm = CG_BP_SIGNAL_DEF;
	b->stale_ms = CG_BP_STALE_DEF;
	b->queue_full_us = CG_BP_QUEUE_FULL_DEF;
	b->report_rate = CG_BP_RATE_DEF;
	b->report_burst = CG_BP_BURST_DEF;
	b->max_skew_ms = CG_BP_SKEW_DEF;
}

void cg_state_free(struct cg_state *st)
{
	size_t i;

	if (st->services)
		for (i = 0; i < st->nservices; i++)
			free(st->services[i].cells);
	free(st->regions);
	free(st->cells);
	free(st->services);
	free(st->rules);
	free(st->shed);
	free(st->evacs);
	cg_state_init(st);
}

int cg_state_copy(struct cg_state *dst, const struct cg_state *src)
{
	struct cg_state t = *src;
	size_t i, n;

	t.regions = NULL;
	t.cells = NULL;
	t.services = NULL;
	t.nservices = 0;
	t.rules = NULL;
	t.shed = NULL;
	t.evacs = NULL;
	if (src->nevacs) {
		t.evacs = malloc(src->nevacs * sizeof(*t.evacs));
		if (!t.evacs)
			goto nomem;
		memcpy(t.evacs, src->evacs, src->nevacs * sizeof(*t.evacs));
	}
	if (src->nrules) {
		t.rules = malloc(src->nrules * sizeof(*t.rules));
		if (!t.rules)
			goto nomem;
		memcpy(t.rules, src->rules, src->nrules * sizeof(*t.rules));
	}
	if (src->nshed) {
		t.shed = malloc(src->nshed * sizeof(*t.shed));
		if (!t.shed)
			goto nomem;
		memcpy(t.shed, src->shed, src->nshed * sizeof(*t.shed));
	}
	if (src->nregions) {
		t.regions = malloc(src->nregions * sizeof(*t.regions));
		if (!t.regions)
			goto nomem;
		memcpy(t.regions, src->regions, src->nregions * sizeof(*t.regions));
	}
	if (src->ncells) {
		t.cells = malloc(src->ncells * sizeof(*t.cells));
		if (!t.cells)
			goto nomem;
		memcpy(t.cells, src->cells, src->ncells * sizeof(*t.cells));
	}
	if (src->nservices) {
		t.services = calloc(src->nservices, sizeof(*t.services));
		if (!t.services)
			goto nomem;
		for (i = 0; i < src->nservices; i++) {
			t.services[i] = src->services[i];
			t.services[i].cells = NULL;
			t.nservices = i + 1;
			n = src->services[i].ncells;
			if (!n)
				continue;
			t.services[i].cells = malloc(n * sizeof(*t.services[i].cells));
			if (!t.services[i].cells)
				goto nomem;
			memcpy(t.services[i].cells, src->services[i].cells, n * CG_NAME_MAX);
		}
	}
	*dst = t;
	return 0;
nomem:
	cg_state_free(&t);
	return -ENOMEM;
}

struct cg_region_cfg *cg_state_find_region(const struct cg_state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->nregions; i++)
		if (!strcmp(st->regions[i].name, name))
			return &st->regions[i];
	return NULL;
}

struct cg_cell_cfg *cg_state_find_cell(const struct cg_state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->ncells; i++)
		if (!strcmp(st->cells[i].name, name))
			return &st->cells[i];
	return NULL;
}

struct cg_service_cfg *cg_state_find_service(const struct cg_state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->nservices; i++)
		if (!strcmp(st->services[i].name, name))
			return &st->services[i];
	return NULL;
}

struct cg_class_cfg *cg_state_find_class(const struct cg_state *st, const char *name)
{
	size_t i, n = st->nclasses < CG_MAX_CLASSES ? st->nclasses : CG_MAX_CLASSES;

	for (i = 0; i < n; i++)
		if (!strncmp(st->classes[i].name, name, CG_NAME_MAX))
			return (struct cg_class_cfg *)&st->classes[i];
	return NULL;
}

struct cg_class_cfg *cg_state_class_by_id(const struct cg_state *st, uint32_t id)
{
	size_t i, n = st->nclasses < CG_MAX_CLASSES ? st->nclasses : CG_MAX_CLASSES;

	for (i = 0; i < n; i++)
		if (st->classes[i].id == id)
			return (struct cg_class_cfg *)&st->classes[i];
	return NULL;
}

/* ---- name order ---- */

/* An array of records that start with a name, seen through an index. */
struct cg_names {
	const char *base; /* first record */
	size_t stride;	  /* bytes from one record to the next */
};

static int cmp_index(const void *a, const void *b, void *arg)
{
	const struct cg_names *nm = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strncmp(nm->base + x * nm->stride, nm->base + y * nm->stride, CG_NAME_MAX);

	if (c)
		return c;
	return (x > y) - (x < y); /* duplicate names: keep array order, deterministically */
}

/* Indexes 0..n-1 in name order, malloc'ed (NULL with errno ENOMEM; a valid pointer when n is 0). */
size_t *cg_sorted_index(const void *base, size_t stride, size_t n)
{
	struct cg_names nm = { base, stride };
	size_t *idx, i;

	idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx)
		return NULL;
	for (i = 0; i < n; i++)
		idx[i] = i;
	if (n > 1)
		qsort_r(idx, n, sizeof(*idx), cmp_index, &nm);
	return idx;
}

/* An array of records in an order given by a comparator, seen through an index. */
struct cg_order {
	const char *base;			  /* first record */
	size_t stride;				  /* bytes from one record to the next */
	int (*cmp)(const void *a, const void *b); /* the order of two records */
};

static int cmp_index_by(const void *a, const void *b, void *arg)
{
	const struct cg_order *o = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = o->cmp(o->base + x * o->stride, o->base + y * o->stride);

	if (c)
		return c;
	return (x > y) - (x < y);
}

/* Indexes 0..n-1 in cmp order, malloc'ed (NULL with errno ENOMEM; valid when n is 0). */
size_t *cg_sorted_index_by(const void *base, size_t stride, size_t n,
			   int (*cmp)(const void *a, const void *b))
{
	struct cg_order o = { base, stride, cmp };
	size_t *idx, i;

	idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx)
		return NULL;
	for (i = 0; i < n; i++)
		idx[i] = i;
	if (n > 1)
		qsort_r(idx, n, sizeof(*idx), cmp_index_by, &o);
	return idx;
}

/* Canonical order of classes: by id. */
int cg_class_cmp_v(const void *a, const void *b)
{
	const struct cg_class_cfg *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int cg_rule_cmp(const struct cg_class_rule_cfg *x, const struct cg_class_rule_cfg *y)
{
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->kind == CG_RULE_DSCP)
		return (x->dscp > y->dscp) - (x->dscp < y->dscp);
	if (x->prefix.family != y->prefix.family)
		return x->prefix.family < y->prefix.family ? -1 : 1;
	c = memcmp(x->prefix.a, y->prefix.a, sizeof(x->prefix.a));
	if (c)
		return c < 0 ? -1 : 1;
	return (x->prefix_len > y->prefix_len) - (x->prefix_len < y->prefix_len);
}

int cg_rule_cmp_v(const void *a, const void *b)
{
	return cg_rule_cmp(a, b);
}

/* Canonical order of shed entries: by cell ("*" first), then class id. */
int cg_shed_cmp_v(const void *a, const void *b)
{
	const struct cg_shed_cfg *x = a, *y = b;
	int c = strncmp(x->cell, y->cell, CG_NAME_MAX);

	if (c)
		return c < 0 ? -1 : 1;
	return (x->class > y->class) - (x->class < y->class);
}

/* The name of class id in st, or NULL. */
const char *cg_class_name(const struct cg_state *st, uint32_t id)
{
	const struct cg_class_cfg *c = cg_state_class_by_id(st, id);

	return c ? c->name : NULL;
}

/* ---- ids ---- */

/*
 * Assign the ids of one kind. Objects are seen through name, id and count
 * accessors so one function serves regions, cells and services. ids[] gets
 * the result; the state is only changed by the caller once all kinds worked.
 */
struct cg_idkind {
	const void *objs; /* array of the kind in st */
	size_t n;	  /* its length */
	const void *prev; /* same kind in prev, NULL if none */
	size_t nprev;	  /* its length */
	size_t stride;	  /* size of one object */
	size_t id_off;	  /* offsetof(..., id) */
	uint32_t max;	  /* ids are < max */
	uint32_t mark;	  /* in: the high-water mark; out: one past the highest id handed out */
};

static uint32_t obj_id(const void *objs, size_t stride, size_t off, size_t i)
{
	uint32_t id;

	memcpy(&id, (const char *)objs + i * stride + off, sizeof(id));
	return id;
}

static const char *obj_name(const void *objs, size_t stride, size_t i)
{
	return (const char *)objs + i * stride; /* the name is the first field */
}

static int assign_kind(struct cg_idkind *k, uint32_t *ids)
{
	uint8_t *owner = NULL;	/* 1: taken in st */
	uint8_t *inprev = NULL; /* 1: used by an object of prev */
	size_t *order = NULL, i, j;
	uint32_t id, pid;
	int ret = 0;

	owner = calloc(k->max, 1);
	inprev = calloc(k->max, 1);
	if (!owner || !inprev) {
		ret = -ENOMEM;
		goto out;
	}
	for (j = 0; j < k->nprev; j++) {
		pid = obj_id(k->prev, k->stride, k->id_off, j);
		if (pid < k->max) {
			inprev[pid] = 1;
			if (pid >= k->mark)
				k->mark = pid + 1;
		}
	}
	/* 1. explicit ids */
	for (i = 0; i < k->n; i++) {
		id = obj_id(k->objs, k->stride, k->id_off, i);
		ids[i] = id;
		if (id == CG_ID_AUTO)
			continue;
		if (id >= k->max) {
			ret = -ERANGE;
			goto out;
		}
		if (owner[id]) {
			ret = -EEXIST;
			goto out;
		}
		owner[id] = 1;
	}
	/* 2. the id the same name had in prev */
	for (i = 0; i < k->n; i++) {
		if (ids[i] != CG_ID_AUTO)
			continue;
		for (j = 0; j < k->nprev; j++)
			if (!strncmp(obj_name(k->prev, k->stride, j),
				     obj_name(k->objs, k->stride, i), CG_NAME_MAX))
				break;
		if (j == k->nprev)
			continue;
		pid = obj_id(k->prev, k->stride, k->id_off, j);
		if (pid >= k->max)
			continue; /* prev never had one assigned */
		if (owner[pid]) {
			ret = -EEXIST; /* pinned onto an id a living object holds */
			goto out;
		}
		owner[pid] = 1;
		ids[i] = pid;
	}
	/* 3. new objects, in name order: past the high-water mark, else an id nobody used, else a freed one */
	order = cg_sorted_index(k->objs, k->stride, k->n);
	if (!order) {
		ret = -ENOMEM;
		goto out;
	}
	for (j = 0; j < k->n; j++) {
		i = order[j];
		if (ids[i] != CG_ID_AUTO)
			continue;
		for (id = k->mark; id < k->max && owner[id]; id++)
			;
		if (id >= k->max)
			for (id = 0; id < k->max && (owner[id] || inprev[id]); id++)
				;
		if (id == k->max)
			for (id = 0; id < k->max && owner[id]; id++)
				;
		if (id == k->max) {
			ret = -ENOSPC;
			goto out;
		}
		owner[id] = 1;
		ids[i] = id;
	}
	for (i = 0; i < k->n; i++)
		if (ids[i] < k->max && ids[i] >= k->mark)
			k->mark = ids[i] + 1;
out:
	free(order);
	free(owner);
	free(inprev);
	return ret;
}

/* The high-water mark to assign from: the larger of st's own and prev's. */
static uint32_t id_mark(uint32_t own, uint32_t prev)
{
	return own > prev ? own : prev;
}

int cg_state_assign_ids(struct cg_state *st, const struct cg_state *prev)
{
	uint32_t *rid = NULL, *cid = NULL, *sid = NULL, rmark, cmark;
	struct cg_idkind k;
	size_t i;
	int ret;

	rid = malloc((st->nregions + 1) * sizeof(*rid));
	cid = malloc((st->ncells + 1) * sizeof(*cid));
	sid = malloc((st->nservices + 1) * sizeof(*sid));
	if (!rid || !cid || !sid) {
		ret = -ENOMEM;
		goto out;
	}

	k = (struct cg_idkind){ st->regions,
				st->nregions,
				prev ? prev->regions : NULL,
				prev ? prev->nregions : 0,
				sizeof(*st->regions),
				offsetof(struct cg_region_cfg, id),
				CG_MAX_REGIONS,
				id_mark(st->next_region_id, prev ? prev->next_region_id : 0) };
	ret = assign_kind(&k, rid);
	if (ret)
		goto out;
	rmark = k.mark;
	k = (struct cg_idkind){ st->cells,
				st->ncells,
				prev ? prev->cells : NULL,
				prev ? prev->ncells : 0,
				sizeof(*st->cells),
				offsetof(struct cg_cell_cfg, id),
				CG_MAX_CELLS,
				id_mark(st->next_cell_id, prev ? prev->next_cell_id : 0) };
	ret = assign_kind(&k, cid);
	if (ret)
		goto out;
	cmark = k.mark;
	k = (struct cg_idkind){ st->services,
				st->nservices,
				prev ? prev->services : NULL,
				prev ? prev->nservices : 0,
				sizeof(*st->services),
				offsetof(struct cg_service_cfg, id),
				CG_MAX_SERVICES,
				id_mark(st->next_service_id, prev ? prev->next_service_id : 0) };
	ret = assign_kind(&k, sid);
	if (ret)
		goto out;
	st->next_region_id = rmark;
	st->next_cell_id = cmark;
	st->next_service_id = k.mark;

	for (i = 0; i < st->nregions; i++)
		st->regions[i].id = rid[i];
	for (i = 0; i < st->ncells; i++)
		st->cells[i].id = cid[i];
	for (i = 0; i < st->nservices; i++)
		st->services[i].id = sid[i];
out:
	free(rid);
	free(cid);
	free(sid);
	return ret;
}

int cg_ifname_cmp(const void *a, const void *b)
{
	return strncmp(a, b, IF_NAMESIZE);
}

static int cmp_name_v(const void *a, const void *b)
{
	/* every object sorted by name has its name first */
	return strcmp(a, b);
}

void cg_state_sort(struct cg_state *st)
{
	size_t i;

	qsort(st->ifaces, st->nifaces, sizeof(st->ifaces[0]), cg_ifname_cmp);
	qsort(st->classes, st->nclasses, sizeof(st->classes[0]), cg_class_cmp_v);
	if (st->nrules)
		qsort(st->rules, st->nrules, sizeof(*st->rules), cg_rule_cmp_v);
	if (st->nregions)
		qsort(st->regions, st->nregions, sizeof(*st->regions), cmp_name_v);
	if (st->ncells)
		qsort(st->cells, st->ncells, sizeof(*st->cells), cmp_name_v);
	if (st->nservices)
		qsort(st->services, st->nservices, sizeof(*st->services), cmp_name_v);
	for (i = 0; i < st->nservices; i++)
		if (st->services[i].ncells)
			qsort(st->services[i].cells, st->services[i].ncells,
			      sizeof(st->services[i].cells[0]), cmp_name_v);
	if (st->nshed)
		qsort(st->shed, st->nshed, sizeof(*st->shed), cg_shed_cmp_v);
	if (st->nevacs)
		qsort(st->evacs, st->nevacs, sizeof(*st->evacs), cmp_name_v);
}

int cg_state_generation_next(const struct cg_state *cur, uint64_t *next)
{
	if (cur->generation == UINT64_MAX)
		return -EOVERFLOW;
	*next = cur->generation + 1;
	return 0;
}

void cg_loc_settings_defaults(struct cg_loc_settings *l)
{
	memset(l, 0, sizeof(*l));
	l->target_ppm = CG_LOC_TARGET_DEF;
	l->step_ppm = CG_LOC_STEP_DEF;
	l->rise_ppm = CG_LOC_RISE_DEF;
	l->withdraw_ppm = CG_LOC_WITHDRAW_DEF;
	l->period_ms = CG_LOC_PERIOD_DEF;
}

void cg_metrics_settings_defaults(struct cg_metrics_settings *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->listen, sizeof(m->listen), "%s", CG_METRICS_LISTEN_DEF);
}
