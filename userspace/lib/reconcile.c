// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* reconcile.c - make the maps hold what the desired state says, writing only what differs */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <bpf/libbpf.h>

#include "cellgate/config.h"
#include "cellgate/maglev.h"
#include "cellgate/reconcile.h"
#include "cellgate/shed.h"

/* What the reconciler believes the maps hold. */
struct cg_rec {
	struct cg_dp *dp;
	struct cg_config settings;	       /* the settings entry */
	struct cg_cell cells[CG_MAX_CELLS];    /* the cells map */
	uint32_t table_size[CG_MAX_SERVICES];  /* 0: no table */
	uint32_t table_crc[CG_MAX_SERVICES];   /* crc32 of the live table's slots */
	uint32_t table_sig[CG_MAX_SERVICES];   /* members_sig() of what it was built from */
	bool table_sig_valid[CG_MAX_SERVICES]; /* table_sig is known (not for adopted tables) */
	struct cg_shed shed[CG_MAX_CELLS * CG_MAX_CLASSES]; /* the shed map */
	struct cg_class classes[CG_MAX_CLASSES];	    /* the classes map */
	struct cg_dscp_rule dscp[CG_DSCP_VALUES];	    /* the dscp map */
	int64_t now;			 /* unix time to apply at; 0: the clock's */
	const struct cg_shed_level *ctl; /* the controller's levels */
	size_t nctl;
	struct cg_shed_eff *eff; /* the levels that apply, as of the last apply */
	uint32_t seed_cell;	 /* settings.seed_cell, from the hash key (cg_rec_set_seeds) */
	uint32_t seed_admit;	 /* settings.seed_admit */
	const struct cg_cell_overlay *ov; /* the controllers' view of the cells, or NULL */
	cg_rec_weight_fn weight_fn;	  /* a cell's weight in one service's table, or NULL */
	void *weight_arg;
};

/* A table to swap in, built for one service. */
struct rec_table {
	uint32_t service_id;
	uint32_t size;
	uint32_t crc;
	uint32_t *slots;
};

unsigned int cg_rec_writes(const struct cg_rec_report *rep)
{
	return rep->settings + rep->cells + rep->tables + rep->tables_del + rep->keys +
	       rep->keys_del + rep->shed + rep->classes + rep->rules + rep->rules_del;
}

void cg_rec_set_now(struct cg_rec *rec, int64_t now)
{
	rec->now = now;
}

void cg_rec_set_controller(struct cg_rec *rec, const struct cg_shed_level *levels, size_t n)
{
	rec->ctl = levels;
	rec->nctl = n;
}

void cg_rec_set_overlay(struct cg_rec *rec, const struct cg_cell_overlay *ov)
{
	rec->ov = ov;
}

void cg_rec_set_weight(struct cg_rec *rec, cg_rec_weight_fn fn, void *arg)
{
	rec->weight_fn = fn;
	rec->weight_arg = arg;
}

const struct cg_shed_eff *cg_rec_shed(const struct cg_rec *rec)
{
	return rec->eff;
}

static uint32_t slots_crc(const uint32_t *slots, uint32_t size)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)slots,
			       (uInt)((size_t)size * sizeof(*slots)));
}

void cg_rec_set_seeds(struct cg_rec *rec, uint32_t cell, uint32_t admit)
{
	rec->seed_cell = cell;
	rec->seed_admit = admit;
}

struct cg_rec *cg_rec_new(struct cg_dp *dp)
{
	struct cg_rec *rec;
	uint32_t *slots = NULL, id, size;
	int err;

	rec = calloc(1, sizeof(*rec));
	slots = malloc((size_t)CG_MAX_TABLE_SIZE * sizeof(*slots));
	if (rec)
		rec->eff = calloc((size_t)CG_MAX_CELLS * CG_MAX_CLASSES, sizeof(*rec->eff));
	if (!rec || !slots || !rec->eff) {
		err = -ENOMEM;
		goto fail;
	}
	rec->dp = dp;
	err = cg_dp_config_get(dp, &rec->settings);
	for (id = 0; !err && id < CG_MAX_CELLS; id++)
		err = cg_dp_cell_get(dp, id, &rec->cells[id]);
	for (id = 0; !err && id < CG_MAX_CELLS * CG_MAX_CLASSES; id++)
		err = cg_dp_shed_get(dp, id / CG_MAX_CLASSES, id % CG_MAX_CLASSES, &rec->shed[id]);
	for (id = 0; !err && id < CG_MAX_CLASSES; id++)
		err = cg_dp_class_get(dp, id, &rec->classes[id]);
	for (id = 0; !err && id < CG_DSCP_VALUES; id++)
		err = cg_dp_dscp_get(dp, id, &rec->dscp[id]);
	for (id = 0; !err && id < CG_MAX_SERVICES; id++) {
		err = cg_dp_table_read(dp, id, slots, CG_MAX_TABLE_SIZE, &size);
		if (err == -ENOENT) {
			err = 0;
			continue;
		}
		if (!err) {
			rec->table_size[id] = size;
			rec->table_crc[id] = slots_crc(slots, size);
		}
	}
	if (err)
		goto fail;
	free(slots);
	return rec;
fail:
	free(slots);
	if (rec)
		free(rec->eff);
	free(rec);
	errno = -err;
	return NULL;
}

void cg_rec_free(struct cg_rec *rec)
{
	if (rec)
		free(rec->eff);
	free(rec);
}

void cg_rec_cell(const struct cg_rec *rec, uint32_t id, struct cg_cell *out)
{
	if (id < CG_MAX_CELLS)
		*out = rec->cells[id];
	else
		memset(out, 0, sizeof(*out));
}

/* How available a cell state is: writes that raise it go before the tables. */
static int cell_rank(uint8_t state)
{
	switch (state) {
	case CG_CELL_ACTIVE:
		return 3;
	case CG_CELL_DRAINING:
		return 2;
	case CG_CELL_DOWN:
		return 1;
	default:
		return 0;
	}
}

static bool mac_zero(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return !memcmp(mac, zero, 6);
}

/*
 * The cells map entry for c: its next hop from nh, else the one the map has
 * for the same gateway (adopted state), else none: then the cell cannot
 * forward and is written down.
 */
static void cell_desired(const struct cg_rec *rec, const struct cg_state *st,
			 const struct cg_cell_cfg *c, cg_rec_nexthop_fn nh, void *arg,
			 struct cg_cell *out)
{
	const struct cg_cell *cur = &rec->cells[c->id];
	const struct cg_region_cfg *r = cg_state_find_region(st, c->region);
	uint8_t mac[6] = { 0 };
	uint16_t vlan = 0;

	memset(out, 0, sizeof(*out));
	memcpy(out->gw, c->gw.a, sizeof(out->gw));
	out->state = c->state;
	/* the controllers may make a cell less available than desired, never more */
	if (rec->ov && c->id < CG_MAX_CELLS && rec->ov[c->id].cap &&
	    cell_rank(rec->ov[c->id].cap) < cell_rank(out->state))
		out->state = rec->ov[c->id].cap;
	out->encap = c->encap;
	out->family = c->gw.family;
	out->region = r ? (uint8_t)r->id : 0;
	out->gue_port = htons(c->gue_port);
	if (nh && nh(arg, c, mac, &vlan) == 0 && !mac_zero(mac)) {
		memcpy(out->dmac, mac, 6);
		out->vlan = htons(vlan);
	} else if (cur->state != CG_CELL_UNUSED && cur->family == out->family &&
		   !memcmp(cur->gw, out->gw, sizeof(out->gw)) && !mac_zero(cur->dmac)) {
		memcpy(out->dmac, cur->dmac, 6);
		out->vlan = cur->vlan;
	} else {
		out->state = CG_CELL_DOWN;
	}
}

static bool cell_ready(const struct cg_cell *c)
{
	return c->state != CG_CELL_UNUSED && !mac_zero(c->dmac);
}

/*
 * The weight of cell c in svc's table: the overlay's if it sets one, else
 * the configured; then what the weight hook makes of that.
 */
static uint32_t cell_weight(const struct cg_rec *rec, const struct cg_service_cfg *svc,
			    const struct cg_cell_cfg *c)
{
	const struct cg_cell_overlay *o = rec->ov && c->id < CG_MAX_CELLS ? &rec->ov[c->id] : NULL;
	uint32_t w = c->weight;

	if (o && (o->weight || (o->flags & CG_OVERLAY_F_WEIGHT)))
		w = o->weight;
	return rec->weight_fn ? rec->weight_fn(rec->weight_arg, svc, c, w) : w;
}

/* Members of svc's table under st, given the cells map entries planned in want[]. */
static size_t table_members(const struct cg_rec *rec, const struct cg_state *st,
			    const struct cg_service_cfg *svc, const struct cg_cell *want,
			    struct cg_maglev_cell *out, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < svc->ncells && n < cap; i++) {
		const struct cg_cell_cfg *c = cg_state_find_cell(st, svc->cells[i]);

		uint32_t w = c ? cell_weight(rec, svc, c) : 0;

		if (!c || c->state != CG_CELL_ACTIVE || !w)
			continue;
		if (want[c->id].state != CG_CELL_ACTIVE || !cell_ready(&want[c->id]))
			continue;
		out[n++] = (struct cg_maglev_cell){ .id = c->id, .name = c->name, .weight = w };
	}
	return n;
}

size_t cg_rec_table_cells(const struct cg_rec *rec, const struct cg_state *st,
			  const struct cg_service_cfg *svc, uint32_t *ids, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < svc->ncells && n < cap; i++) {
		const struct cg_cell_cfg *c = cg_state_find_cell(st, svc->cells[i]);

		if (!c || c->state != CG_CELL_ACTIVE || c->id >= CG_MAX_CELLS ||
		    !cell_weight(rec, svc, c))
			continue;
		if (rec->cells[c->id].state != CG_CELL_ACTIVE || !cell_ready(&rec->cells[c->id]))
			continue;
		ids[n++] = c->id;
	}
	return n;
}

static void svc_key(const struct cg_service_cfg *s, uint16_t port, struct cg_service_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, s->vip.a, sizeof(k->addr));
	k->port = htons(port);
	k->proto = s->proto;
	k->family = s->vip.family;
}

/*
 * The services map as st wants it: one key per service, and for each
 * (VIP, proto) a port-0 alias owned by the service with the lowest port, so
 * all fragments of a datagram find one table.
 */
static int keys_desired(const struct cg_state *st, struct cg_service_key **keys,
			struct cg_service **vals, size_t *n)
{
	size_t i, j, cnt = 0;

	*keys = calloc(2 * st->nservices + 1, sizeof(**keys));
	*vals = calloc(2 * st->nservices + 1, sizeof(**vals));
	if (!*keys || !*vals)
		return -ENOMEM;
	for (i = 0; i < st->nservices; i++) {
		const struct cg_service_cfg *s = &st->services[i];
		bool owner = true;

		svc_key(s, s->port, &(*keys)[cnt]);
		(*vals)[cnt] =
			(struct cg_service){ .id = s->id, .default_class = s->default_class };
		cnt++;
		for (j = 0; j < st->nservices; j++) {
			const struct cg_service_cfg *o = &st->services[j];

			if (j != i && o->proto == s->proto && o->vip.family == s->vip.family &&
			    !memcmp(o->vip.a, s->vip.a, sizeof(o->vip.a)) && o->port < s->port)
				owner = false;
		}
		if (!owner)
			continue;
		svc_key(s, 0, &(*keys)[cnt]);
		(*vals)[cnt] = (struct cg_service){ .id = s->id,
						    .default_class = s->default_class,
						    .flags = CG_SVC_F_FRAG_ALIAS };
		cnt++;
	}
	*n = cnt;
	return 0;
}

static int write_cell(struct cg_rec *rec, uint32_t id, const struct cg_cell *c,
		      struct cg_rec_report *rep, char *err, size_t errlen)
{
	int ret = cg_dp_cell_set(rec->dp, id, c);

	if (ret) {
		snprintf(err, errlen, "cannot write cell %u: %s", id, strerror(-ret));
		return ret;
	}
	rec->cells[id] = *c;
	rep->cells++;
	return 0;
}

/* Plan the tables: build each service's and keep those that differ from the live one. */
/* What a table is built from: its size and members (ids, weights, names), as a crc32. */
static uint32_t members_sig(const struct cg_maglev_cell *m, size_t n, uint32_t size)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	size_t i;

	crc = crc32(crc, (const Bytef *)&size, sizeof(size));
	for (i = 0; i < n; i++) {
		crc = crc32(crc, (const Bytef *)&m[i].id, sizeof(m[i].id));
		crc = crc32(crc, (const Bytef *)&m[i].weight, sizeof(m[i].weight));
		crc = crc32(crc, (const Bytef *)m[i].name, (uInt)strlen(m[i].name) + 1);
	}
	return (uint32_t)crc;
}

/*
 * Plan the tables: the ones whose inputs changed since the live table was
 * built are built again (once per distinct set of inputs: services served
 * by the same cells share a build) and kept if they differ from the live one.
 */
static int plan_tables(struct cg_rec *rec, const struct cg_state *st, const struct cg_cell *want,
		       struct rec_table *out, uint32_t *sigs, size_t *nout, char *err,
		       size_t errlen)
{
	struct cg_maglev_cell *members;
	size_t i, j, n;
	uint32_t sig;
	int ret = 0;

	*nout = 0;
	members = calloc(CG_MAX_CELLS, sizeof(*members));
	if (!members)
		return -ENOMEM;
	for (i = 0; i < st->nservices; i++) {
		const struct cg_service_cfg *s = &st->services[i];
		struct rec_table *t = &out[*nout];

		n = table_members(rec, st, s, want, members, CG_MAX_CELLS);
		if (!n)
			continue; /* no table: removed in the delete phase */
		sig = members_sig(members, n, s->table_size);
		if (rec->table_size[s->id] == s->table_size && rec->table_sig[s->id] == sig &&
		    rec->table_sig_valid[s->id])
			continue; /* built from the same inputs: the same table */
		t->service_id = s->id;
		t->size = s->table_size;
		t->slots = malloc((size_t)t->size * sizeof(*t->slots));
		if (!t->slots) {
			ret = -ENOMEM;
			break;
		}
		for (j = 0; j < *nout; j++)
			if (sigs[j] == sig && out[j].size == t->size)
				break;
		if (j < *nout) {
			memcpy(t->slots, out[j].slots, (size_t)t->size * sizeof(*t->slots));
			t->crc = out[j].crc;
		} else {
			ret = cg_maglev_build(members, n, t->slots, t->size);
			if (ret) {
				snprintf(err, errlen, "service '%s': cannot build its table: %s",
					 s->name, strerror(-ret));
				free(t->slots);
				break;
			}
			t->crc = slots_crc(t->slots, t->size);
		}
		if (rec->table_size[s->id] == t->size && rec->table_crc[s->id] == t->crc) {
			/* the same table after all (an adopted one): remember its inputs */
			rec->table_sig[s->id] = sig;
			rec->table_sig_valid[s->id] = true;
			free(t->slots);
			continue;
		}
		sigs[*nout] = sig;
		(*nout)++;
	}
	free(members);
	return ret;
}

/* Each CPU's share of a whole-LB rate, rounded up so the sum is never below it. */
static uint32_t per_cpu(uint32_t total, unsigned int ncpus)
{
	return total ? (uint32_t)(((uint64_t)total + ncpus - 1) / ncpus) : 0;
}

/* The classes map as st wants it: each CPU gets its share of every ceiling. */
static void classes_desired(const struct cg_state *st, struct cg_class *out)
{
	int n = libbpf_num_possible_cpus();
	unsigned int ncpus = n > 0 ? (unsigned int)n : 1;
	size_t i;

	memset(out, 0, sizeof(*out) * CG_MAX_CLASSES);
	for (i = 0; i < st->nclasses; i++) {
		const struct cg_class_cfg *c = &st->classes[i];
		struct cg_class *o;

		if (c->id >= CG_MAX_CLASSES)
			continue;
		o = &out[c->id];
		o->flow_rate = per_cpu(c->new_flows_per_sec, ncpus);
		o->pkt_rate = per_cpu(c->packets_per_sec, ncpus);
		o->flow_burst = o->flow_rate ? per_cpu(c->burst, ncpus) : 0;
		o->pkt_burst = o->pkt_rate ? per_cpu(c->burst, ncpus) : 0;
		if (o->flow_rate && !o->flow_burst)
			o->flow_burst = 1;
		if (o->pkt_rate && !o->pkt_burst)
			o->pkt_burst = 1;
	}
}

static bool prefix_eq(const struct cg_class_prefix *a, const struct cg_class_prefix *b)
{
	return a->family == b->family && a->len == b->len && !memcmp(a->addr, b->addr, 16);
}

/* Class rules, DSCP rules, ceilings and shed levels: write what differs. */
static int apply_shedding(struct cg_rec *rec, const struct cg_state *st, struct cg_rec_report *rep,
			  char *err, size_t errlen)
{
	struct cg_class_prefix *want_p = NULL, *cur_p = NULL;
	struct cg_class_rule *want_r = NULL, *cur_r = NULL;
	struct cg_dscp_rule dscp[CG_DSCP_VALUES] = { 0 };
	struct cg_class classes[CG_MAX_CLASSES];
	size_t i, j, nwant = 0, ncur = 0;
	int ret = 0;

	/* classes (ceilings) */
	classes_desired(st, classes);
	for (i = 0; i < CG_MAX_CLASSES; i++) {
		if (!memcmp(&classes[i], &rec->classes[i], sizeof(classes[i])))
			continue;
		ret = cg_dp_class_set(rec->dp, (uint32_t)i, &classes[i]);
		if (ret) {
			snprintf(err, errlen, "cannot write class %zu: %s", i, strerror(-ret));
			return ret;
		}
		rec->classes[i] = classes[i];
		rep->classes++;
	}

	/* DSCP rules */
	for (i = 0; i < st->nrules; i++)
		if (st->rules[i].kind == CG_RULE_DSCP && st->rules[i].dscp < CG_DSCP_VALUES)
			dscp[st->rules[i].dscp] =
				(struct cg_dscp_rule){ .class = st->rules[i].class,
						       .flags = CG_DSCP_F_SET };
	for (i = 0; i < CG_DSCP_VALUES; i++) {
		if (!memcmp(&dscp[i], &rec->dscp[i], sizeof(dscp[i])))
			continue;
		ret = cg_dp_dscp_set(rec->dp, (uint32_t)i, &dscp[i]);
		if (ret) {
			snprintf(err, errlen, "cannot write DSCP rule %zu: %s", i, strerror(-ret));
			return ret;
		}
		rec->dscp[i] = dscp[i];
		rep->rules++;
	}

	/* prefix rules: add or change first, then remove, so no source is unclassified in between */
	want_p = calloc(st->nrules + 1, sizeof(*want_p));
	want_r = calloc(st->nrules + 1, sizeof(*want_r));
	cur_p = calloc(2 * CG_MAX_CLASS_RULES, sizeof(*cur_p));
	cur_r = calloc(2 * CG_MAX_CLASS_RULES, sizeof(*cur_r));
	if (!want_p || !want_r || !cur_p || !cur_r) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < st->nrules; i++) {
		const struct cg_class_rule_cfg *r = &st->rules[i];

		if (r->kind != CG_RULE_PREFIX)
			continue;
		want_p[nwant].family = r->prefix.family;
		want_p[nwant].len = r->prefix_len;
		memcpy(want_p[nwant].addr, r->prefix.a, sizeof(want_p[nwant].addr));
		want_r[nwant] = (struct cg_class_rule){ .class = r->class, .rule = (uint16_t)i };
		nwant++;
	}
	ret = cg_dp_class_rule_list(rec->dp, cur_p, cur_r, 2 * CG_MAX_CLASS_RULES, &ncur);
	if (ret) {
		snprintf(err, errlen, "cannot read the class rules: %s", strerror(-ret));
		goto out;
	}
	for (i = 0; i < nwant; i++) {
		for (j = 0; j < ncur; j++)
			if (prefix_eq(&want_p[i], &cur_p[j]))
				break;
		if (j < ncur && !memcmp(&want_r[i], &cur_r[j], sizeof(want_r[i])))
			continue;
		ret = cg_dp_class_rule_set(rec->dp, &want_p[i], &want_r[i]);
		if (ret) {
			snprintf(err, errlen, "cannot write a class rule: %s", strerror(-ret));
			goto out;
		}
		rep->rules++;
	}
	for (j = 0; j < ncur; j++) {
		for (i = 0; i < nwant; i++)
			if (prefix_eq(&want_p[i], &cur_p[j]))
				break;
		if (i < nwant)
			continue;
		ret = cg_dp_class_rule_del(rec->dp, &cur_p[j]);
		if (ret && ret != -ENOENT) {
			snprintf(err, errlen, "cannot remove a class rule: %s", strerror(-ret));
			goto out;
		}
		ret = 0;
		rep->rules_del++;
	}

	/* shed levels: what applies now, operator over controller */
	rep->next_expiry = cg_shed_effective(st, rec->ctl, rec->nctl,
					     rec->now ? rec->now : (int64_t)time(NULL), rec->eff);
	for (i = 0; i < (size_t)CG_MAX_CELLS * CG_MAX_CLASSES; i++) {
		struct cg_shed sh = { .soft = cg_dp_shed_threshold(rec->eff[i].soft_ppm),
				      .hard = cg_dp_shed_threshold(rec->eff[i].hard_ppm) };

		if (!memcmp(&sh, &rec->shed[i], sizeof(sh)))
			continue;
		ret = cg_dp_shed_set(rec->dp, (uint32_t)(i / CG_MAX_CLASSES),
				     (uint32_t)(i % CG_MAX_CLASSES), &sh);
		if (ret) {
			snprintf(err, errlen, "cannot write a shed level: %s", strerror(-ret));
			goto out;
		}
		rec->shed[i] = sh;
		rep->shed++;
	}
out:
	free(want_p);
	free(want_r);
	free(cur_p);
	free(cur_r);
	return ret;
}

/* a * b, or UINT32_MAX if that does not fit */
static uint32_t sat_mul(uint32_t a, uint32_t b)
{
	uint64_t p = (uint64_t)a * b;

	return p > UINT32_MAX ? UINT32_MAX : (uint32_t)p;
}

/* The settings entry st wants; flags say which established-flow checks are needed. */
static void settings_desired(const struct cg_rec *rec, const struct cg_state *st,
			     struct cg_config *cfg)
{
	int n = libbpf_num_possible_cpus();
	unsigned int ncpus = n > 0 ? (unsigned int)n : 1;
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->src4 = st->src4.a[0];
	memcpy(cfg->src6, st->src6.a, sizeof(cfg->src6));
	cfg->mtu = st->mtu;
	cfg->seed_cell = rec->seed_cell;
	cfg->seed_admit = rec->seed_admit;
	for (i = 0; i < st->nclasses; i++)
		if (st->classes[i].packets_per_sec)
			cfg->flags |= CG_CFG_F_PPS;
	for (i = 0; i < (size_t)CG_MAX_CELLS * CG_MAX_CLASSES; i++)
		if (rec->eff[i].hard_ppm) {
			cfg->flags |= CG_CFG_F_HARD;
			break;
		}
	if (st->guard.new_flows_per_sec) {
		cfg->guard_rate = st->guard.new_flows_per_sec;
		cfg->guard_burst = st->guard.burst ? st->guard.burst : 1;
		cfg->guard_prefix4 = st->guard.ipv4_prefix;
		cfg->guard_prefix6 = st->guard.ipv6_prefix;
		cfg->agg_rate = st->guard.aggregate_new_flows_per_sec ?
					st->guard.aggregate_new_flows_per_sec :
					sat_mul(cfg->guard_rate, CG_GUARD_AGG_FACTOR);
		cfg->agg_burst = st->guard.aggregate_burst ?
					 st->guard.aggregate_burst :
					 sat_mul(cfg->guard_burst, CG_GUARD_AGG_FACTOR);
		cfg->agg_prefix4 = st->guard.ipv4_aggregate;
		cfg->agg_prefix6 = st->guard.ipv6_aggregate;
	}
	cfg->vlan = st->vlan;
	/* each CPU its share, a second's worth deep */
	cfg->icmp_rate = per_cpu(st->icmp_rate, ncpus);
	cfg->icmp_burst = cfg->icmp_rate;
	cfg->too_big_rate = per_cpu(st->too_big_rate, ncpus);
	cfg->too_big_burst = cfg->too_big_rate;
}

int cg_rec_apply(struct cg_rec *rec, const struct cg_state *st, cg_rec_nexthop_fn nh, void *arg,
		 struct cg_rec_report *rep_out, char *err, size_t errlen)
{
	struct cg_service_key *want_keys = NULL, *cur_keys = NULL;
	struct cg_service *want_vals = NULL, *cur_vals = NULL;
	struct cg_cell *want = NULL;
	struct rec_table *tables = NULL;
	struct cg_dp_table *batch = NULL;
	uint32_t *sigs = NULL;
	struct cg_rec_report rep = { 0 };
	bool *in_state = NULL, *svc_used = NULL;
	size_t i, j, nwant = 0, ncur = 0, ntables = 0;
	struct cg_config cfg = { 0 };
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	want = calloc(CG_MAX_CELLS, sizeof(*want));
	in_state = calloc(CG_MAX_CELLS, sizeof(*in_state));
	svc_used = calloc(CG_MAX_SERVICES, sizeof(*svc_used));
	tables = calloc(st->nservices + 1, sizeof(*tables));
	batch = calloc(st->nservices + 1, sizeof(*batch));
	sigs = calloc(st->nservices + 1, sizeof(*sigs));
	if (!want || !in_state || !svc_used || !tables || !batch || !sigs) {
		ret = -ENOMEM;
		goto out;
	}

	/* settings, with the flags the shed levels and ceilings ask for */
	cg_shed_effective(st, rec->ctl, rec->nctl, rec->now ? rec->now : (int64_t)time(NULL),
			  rec->eff);
	settings_desired(rec, st, &cfg);
	if (memcmp(&cfg, &rec->settings, sizeof(cfg))) {
		ret = cg_dp_config_set(rec->dp, &cfg);
		if (ret) {
			snprintf(err, errlen, "cannot write settings: %s", strerror(-ret));
			goto out;
		}
		rec->settings = cfg;
		rep.settings = 1;
	}

	/* the cells map as it should be */
	for (i = 0; i < st->ncells; i++) {
		const struct cg_cell_cfg *c = &st->cells[i];

		if (c->id >= CG_MAX_CELLS) {
			snprintf(err, errlen, "cell '%s' has no id", c->name);
			ret = -EINVAL;
			goto out;
		}
		cell_desired(rec, st, c, nh, arg, &want[c->id]);
		in_state[c->id] = true;
		if (c->state != CG_CELL_DOWN && want[c->id].state == CG_CELL_DOWN) {
			if (!rep.unready)
				snprintf(rep.first_unready, sizeof(rep.first_unready), "%s",
					 c->name);
			rep.unready++;
		}
	}

	/* 1. cells that become more available (or change otherwise at equal rank) */
	for (i = 0; i < CG_MAX_CELLS; i++) {
		if (!in_state[i] || !memcmp(&want[i], &rec->cells[i], sizeof(want[i])))
			continue;
		if (cell_rank(want[i].state) < cell_rank(rec->cells[i].state))
			continue;
		ret = write_cell(rec, (uint32_t)i, &want[i], &rep, err, errlen);
		if (ret)
			goto out;
	}

	/* 2. tables that differ, swapped in one batch (one RCU grace period) */
	ret = plan_tables(rec, st, want, tables, sigs, &ntables, err, errlen);
	if (ret)
		goto out;
	for (i = 0; i < ntables; i++)
		batch[i] = (struct cg_dp_table){ .service_id = tables[i].service_id,
						 .slots = tables[i].slots,
						 .size = tables[i].size };
	if (ntables) {
		ret = cg_dp_table_swap_many(rec->dp, batch, ntables);
		if (ret) {
			snprintf(err, errlen, "cannot swap %zu tables: %s", ntables,
				 strerror(-ret));
			goto out;
		}
		for (i = 0; i < ntables; i++) {
			rec->table_size[tables[i].service_id] = tables[i].size;
			rec->table_crc[tables[i].service_id] = tables[i].crc;
			rec->table_sig[tables[i].service_id] = sigs[i];
			rec->table_sig_valid[tables[i].service_id] = true;
		}
		rep.tables = (unsigned int)ntables;
	}

	/* 3. service keys added or changed, 4. removed */
	ret = keys_desired(st, &want_keys, &want_vals, &nwant);
	if (ret)
		goto out;
	cur_keys = calloc(CG_MAX_SERVICE_KEYS, sizeof(*cur_keys));
	cur_vals = calloc(CG_MAX_SERVICE_KEYS, sizeof(*cur_vals));
	if (!cur_keys || !cur_vals) {
		ret = -ENOMEM;
		goto out;
	}
	ret = cg_dp_service_list(rec->dp, cur_keys, cur_vals, CG_MAX_SERVICE_KEYS, &ncur);
	if (ret) {
		snprintf(err, errlen, "cannot read the services map: %s", strerror(-ret));
		goto out;
	}
	for (i = 0; i < nwant; i++) {
		for (j = 0; j < ncur; j++)
			if (!memcmp(&want_keys[i], &cur_keys[j], sizeof(want_keys[i])))
				break;
		if (j < ncur && !memcmp(&want_vals[i], &cur_vals[j], sizeof(want_vals[i])))
			continue;
		ret = cg_dp_service_set(rec->dp, &want_keys[i], &want_vals[i]);
		if (ret) {
			snprintf(err, errlen, "cannot write a service key: %s", strerror(-ret));
			goto out;
		}
		rep.keys++;
	}
	for (j = 0; j < ncur; j++) {
		for (i = 0; i < nwant; i++)
			if (!memcmp(&want_keys[i], &cur_keys[j], sizeof(want_keys[i])))
				break;
		if (i < nwant)
			continue;
		ret = cg_dp_service_del(rec->dp, &cur_keys[j]);
		if (ret && ret != -ENOENT) {
			snprintf(err, errlen, "cannot remove a service key: %s", strerror(-ret));
			goto out;
		}
		rep.keys_del++;
	}

	/* shedding: classes, rules, levels */
	ret = apply_shedding(rec, st, &rep, err, errlen);
	if (ret)
		goto out;

	/* 5. tables nobody uses: removed services, services without a live cell */
	for (i = 0; i < st->nservices; i++) {
		struct cg_maglev_cell one;

		if (st->services[i].id < CG_MAX_SERVICES &&
		    table_members(rec, st, &st->services[i], want, &one, 1))
			svc_used[st->services[i].id] = true;
	}
	for (i = 0; i < CG_MAX_SERVICES; i++) {
		if (svc_used[i] || !rec->table_size[i])
			continue;
		ret = cg_dp_table_del(rec->dp, (uint32_t)i);
		if (ret && ret != -ENOENT) {
			snprintf(err, errlen, "cannot remove the table of service %zu: %s", i,
				 strerror(-ret));
			goto out;
		}
		ret = 0;
		rec->table_size[i] = 0;
		rec->table_crc[i] = 0;
		rec->table_sig_valid[i] = false;
		rep.tables_del++;
	}

	/* 6. cells that become less available, or are gone */
	for (i = 0; i < CG_MAX_CELLS; i++) {
		struct cg_cell gone = { 0 };
		const struct cg_cell *c = in_state[i] ? &want[i] : &gone;

		if (!memcmp(c, &rec->cells[i], sizeof(*c)))
			continue;
		ret = write_cell(rec, (uint32_t)i, c, &rep, err, errlen);
		if (ret)
			goto out;
	}
out:
	if (ret == -ENOMEM && err && !err[0])
		snprintf(err, errlen, "out of memory");
	for (i = 0; tables && i < ntables; i++)
		free(tables[i].slots);
	free(tables);
	free(batch);
	free(sigs);
	free(want_keys);
	free(want_vals);
	free(cur_keys);
	free(cur_vals);
	free(want);
	free(in_state);
	free(svc_used);
	if (rep_out)
		*rep_out = rep;
	return ret;
}
