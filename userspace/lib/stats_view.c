// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* stats_view.c - the JSON of `cellctl stats` from one counter snapshot, and the snapshot back */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cellgate/names.h"
#include "cellgate/stats.h"
#include "cellgate/view.h"

/* One counter of a record: its JSON key and where it lies in the struct. */
struct field {
	const char *key; /* "packets" */
	size_t off;	 /* offsetof the __u64 in the record */
};

/* The members of each record, in the JSON's order; written and read from these tables alone. */
static const struct field counter_fields[] = {
	{ "packets", offsetof(struct cg_counter, packets) },
	{ "bytes", offsetof(struct cg_counter, bytes) },
};

static const struct field svc_fields[] = {
	{ "packets", offsetof(struct cg_svc_stats, packets) },
	{ "bytes", offsetof(struct cg_svc_stats, bytes) },
	{ "new_flows", offsetof(struct cg_svc_stats, new_flows) },
	{ "drops", offsetof(struct cg_svc_stats, drops) },
	{ "icmp", offsetof(struct cg_svc_stats, icmp) },
	{ "too_big", offsetof(struct cg_svc_stats, too_big) },
	{ "retries", offsetof(struct cg_svc_stats, retries) },
};

static const struct field cell_fields[] = {
	{ "packets", offsetof(struct cg_cell_stats, packets) },
	{ "bytes", offsetof(struct cg_cell_stats, bytes) },
	{ "new_flows", offsetof(struct cg_cell_stats, new_flows) },
	{ "drops", offsetof(struct cg_cell_stats, drops) },
	{ "shed", offsetof(struct cg_cell_stats, shed) },
	{ "shed_hard", offsetof(struct cg_cell_stats, shed_hard) },
	{ "ceiling", offsetof(struct cg_cell_stats, ceiling) },
	{ "guard", offsetof(struct cg_cell_stats, guard) },
};

static const struct field conn_fields[] = {
	{ "entries", offsetof(struct cg_stats_snap, conn_entries) },
	{ "capacity", offsetof(struct cg_stats_snap, conn_capacity) },
};

#define NFIELDS(f) (sizeof(f) / sizeof((f)[0]))

/* Monotonic now for the snapshot's stamp (a label here, never a decision). */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A JSON integer of a counter: a u64 above INT64_MAX is stored as its two's complement. */
static json_t *u64_json(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* {key: value} of each field of the record at rec. */
static json_t *record_json(const void *rec, const struct field *f, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o && i < n; i++)
		json_object_set_new(o, f[i].key,
				    u64_json(*(const uint64_t *)((const char *)rec + f[i].off)));
	return o;
}

/* {class name: counters} of one cell's by-class records, for st's classes. */
static json_t *cell_classes_json(const struct cg_state *st, const struct cg_cell_stats *by_class)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o && i < st->nclasses; i++)
		if (st->classes[i].id < CG_MAX_CLASSES)
			json_object_set_new(o, st->classes[i].name,
					    record_json(&by_class[st->classes[i].id], cell_fields,
							NFIELDS(cell_fields)));
	return o;
}

/* The stats JSON of s; the counters by reason only if counters_read. */
static json_t *stats_json(const struct cg_state *st, const struct cg_stats_snap *s,
			  bool counters_read)
{
	json_t *o, *counters, *svcs, *cells, *classes, *cell;
	uint64_t moved = 0;
	size_t i;

	o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "t_ns", u64_json(s->t_ns));

	counters = json_object();
	if (counters_read)
		for (i = 0; i < CG_STAT_MAX; i++)
			json_object_set_new(
				counters, cg_stat_name((unsigned int)i),
				record_json(&s->stats[i], counter_fields, NFIELDS(counter_fields)));
	json_object_set_new(o, "counters", counters);

	svcs = json_object();
	for (i = 0; i < st->nservices; i++) {
		if (st->services[i].id >= CG_MAX_SERVICES)
			continue;
		json_object_set_new(
			svcs, st->services[i].name,
			record_json(&s->svc[st->services[i].id], svc_fields, NFIELDS(svc_fields)));
	}
	json_object_set_new(o, "services", svcs);

	cells = json_object();
	for (i = 0; i < st->ncells; i++) {
		struct cg_cell_stats cs;

		cg_stats_cell_sum(s, st->cells[i].id, &cs);
		cell = record_json(&cs, cell_fields, NFIELDS(cell_fields));
		/* not by class: flows moved off the cell (its own map, cell_moves) */
		if (st->cells[i].id < CG_MAX_CELLS) {
			json_object_set_new(cell, "moved", u64_json(s->moved[st->cells[i].id]));
			moved += s->moved[st->cells[i].id];
		}
		/* by class: the cell's share of each class (a dashboard's per-(cell, class) rows) */
		if (st->cells[i].id < CG_MAX_CELLS)
			json_object_set_new(cell, "classes",
					    cell_classes_json(st, s->cell[st->cells[i].id]));
		json_object_set_new(cells, st->cells[i].name, cell);
	}
	json_object_set_new(o, "cells", cells);
	/* every cell's moved summed: flows picked again because their cell could not hold them */
	json_object_set_new(o, "moved", u64_json(moved));

	/* by class, every cell summed: what a drill counts as lost or kept per class */
	classes = json_object();
	for (i = 0; i < st->nclasses; i++) {
		struct cg_cell_stats cs = { 0 };
		uint32_t k = st->classes[i].id;

		for (size_t c = 0; k < CG_MAX_CLASSES && c < st->ncells; c++) {
			const struct cg_cell_stats *x;

			if (st->cells[c].id >= CG_MAX_CELLS)
				continue;
			x = &s->cell[st->cells[c].id][k];
			cs.packets += x->packets;
			cs.bytes += x->bytes;
			cs.new_flows += x->new_flows;
			cs.drops += x->drops;
			cs.shed += x->shed;
			cs.shed_hard += x->shed_hard;
			cs.ceiling += x->ceiling;
			cs.guard += x->guard;
		}
		json_object_set_new(classes, st->classes[i].name,
				    record_json(&cs, cell_fields, NFIELDS(cell_fields)));
	}
	json_object_set_new(o, "classes", classes);

	json_object_set_new(o, "conntrack", record_json(s, conn_fields, NFIELDS(conn_fields)));
	return o;
}

json_t *cg_view_stats(const struct cg_state *st, struct cg_dp *dp)
{
	struct cg_stats_snap *s;
	json_t *o;
	int err;

	if (!dp)
		return json_object();
	s = cg_stats_new();
	if (!s)
		return NULL;
	err = cg_stats_read(dp, s, mono_ns());
	o = stats_json(st, s, !err);
	cg_stats_free(s);
	return o;
}

json_t *cg_view_stats_snap(const struct cg_state *st, const struct cg_stats_snap *s)
{
	return stats_json(st, s, true);
}

void cg_stats_names_init(struct cg_stats_names *n, const struct cg_state *st)
{
	size_t i;
	uint32_t id;

	memset(n, 0, sizeof(*n));
	if (!st)
		return;
	for (i = 0; i < st->nservices; i++) {
		id = st->services[i].id;
		if (id >= CG_MAX_SERVICES)
			continue;
		snprintf(n->svc[id], CG_NAME_MAX, "%s", st->services[i].name);
		if (id >= n->svc_end)
			n->svc_end = id + 1;
	}
	for (i = 0; i < st->ncells; i++) {
		id = st->cells[i].id;
		if (id >= CG_MAX_CELLS)
			continue;
		snprintf(n->cell[id], CG_NAME_MAX, "%s", st->cells[i].name);
		if (id >= n->cell_end)
			n->cell_end = id + 1;
	}
}

/* Slot of name among the first end of names, or -1. */
static int find_name(const char (*names)[CG_NAME_MAX], uint32_t end, const char *name)
{
	uint32_t i;

	for (i = 0; i < end; i++)
		if (names[i][0] && !strcmp(names[i], name))
			return (int)i;
	return -1;
}

int cg_stats_slot(const struct cg_stats_names *n, enum cg_stats_key kind, const char *name)
{
	unsigned int i;

	switch (kind) {
	case CG_STATS_REASON:
		for (i = 0; i < CG_STAT_MAX; i++)
			if (!strcmp(cg_stat_name(i), name))
				return (int)i;
		return -1;
	case CG_STATS_SERVICE:
		return find_name(n->svc, n->svc_end, name);
	case CG_STATS_CELL:
		return find_name(n->cell, n->cell_end, name);
	}
	return -1;
}

/* Sets err to "bad stats: MSG"; returns -EINVAL. */
static int __attribute__((format(printf, 3, 4))) bad(char *err, size_t errlen, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "bad stats: %s", msg);
	return -EINVAL;
}

/* The slot of name in names (max of them), taking the first free one if it has none. */
static int name_slot(char (*names)[CG_NAME_MAX], uint32_t *end, uint32_t max, const char *name)
{
	uint32_t i;
	int slot = find_name((const char(*)[CG_NAME_MAX])names, *end, name);

	if (slot >= 0)
		return slot;
	for (i = 0; i < max; i++)
		if (!names[i][0])
			break;
	if (i == max)
		return -1;
	snprintf(names[i], CG_NAME_MAX, "%s", name);
	if (i >= *end)
		*end = i + 1;
	return (int)i;
}

/* The object member key of o (at path, "" for the top); -EINVAL with err set if it is none. */
static int get_object(const json_t *o, const char *path, const char *key, const json_t **out,
		      char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);
	const char *dot = *path ? "." : "";

	if (!v)
		return bad(err, errlen, "missing '%s%s%s'", path, dot, key);
	if (!json_is_object(v))
		return bad(err, errlen, "'%s%s%s' is not an object", path, dot, key);
	*out = v;
	return 0;
}

/* Each field of o (at path) into the record at rec; -EINVAL with err set naming a bad one. */
static int get_fields(const json_t *o, const char *path, const struct field *f, size_t n, void *rec,
		      char *err, size_t errlen)
{
	const char *dot = *path ? "." : "";
	const json_t *v;
	size_t i;

	for (i = 0; i < n; i++) {
		v = json_object_get(o, f[i].key);
		if (!v)
			return bad(err, errlen, "missing '%s%s%s'", path, dot, f[i].key);
		if (!json_is_integer(v))
			return bad(err, errlen, "'%s%s%s' is not an integer", path, dot, f[i].key);
		/* the inverse of u64_json() */
		*(uint64_t *)((char *)rec + f[i].off) = (uint64_t)json_integer_value(v);
	}
	return 0;
}

/* The named records of object o (services or cells) into their slots of names. */
static int get_named(const json_t *o, const char *path, char (*names)[CG_NAME_MAX], uint32_t *end,
		     uint32_t max, const struct field *f, size_t nf, void *recs, size_t rec_size,
		     char *err, size_t errlen)
{
	char where[CG_NAME_MAX + 16];
	const char *name;
	json_t *v;
	int slot;

	json_object_foreach((json_t *)o, name, v) {
		if (!*name || strlen(name) >= CG_NAME_MAX)
			return bad(err, errlen, "bad name '%.40s' in '%s'", name, path);
		snprintf(where, sizeof(where), "%s.%s", path, name);
		if (!json_is_object(v))
			return bad(err, errlen, "'%s' is not an object", where);
		slot = name_slot(names, end, max, name);
		if (slot < 0)
			return bad(err, errlen, "no slot for '%s': more than %u names", where, max);
		if (get_fields(v, where, f, nf, (char *)recs + (size_t)slot * rec_size, err,
			       errlen))
			return -EINVAL;
	}
	return 0;
}

/* Each cell's "moved" (cells already read by get_named); absent (an older daemon's) is 0. */
static int get_moved(const json_t *cells, const struct cg_stats_names *n, struct cg_stats_snap *out,
		     char *err, size_t errlen)
{
	const char *name;
	json_t *c, *v;
	int slot;

	json_object_foreach((json_t *)cells, name, c) {
		v = json_object_get(c, "moved");
		if (!v)
			continue;
		if (!json_is_integer(v))
			return bad(err, errlen, "'cells.%.40s.moved' is not an integer", name);
		slot = cg_stats_slot(n, CG_STATS_CELL, name);
		if (slot >= 0)
			out->moved[slot] = (uint64_t)json_integer_value(v);
	}
	return 0;
}

int cg_stats_from_json(const json_t *doc, struct cg_stats_names *n, struct cg_stats_snap *out,
		       char *err, size_t errlen)
{
	const json_t *counters, *svcs, *cells, *conn, *v;
	char where[64];
	const char *key;
	unsigned int i;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc))
		return bad(err, errlen, "not an object");
	v = json_object_get(doc, "t_ns");
	if (!v)
		return bad(err, errlen, "missing 't_ns'");
	if (!json_is_integer(v))
		return bad(err, errlen, "'t_ns' is not an integer");
	out->t_ns = (uint64_t)json_integer_value(v);

	if (get_object(doc, "", "counters", &counters, err, errlen))
		return -EINVAL;
	json_object_foreach((json_t *)counters, key, v)
		if (cg_stats_slot(n, CG_STATS_REASON, key) < 0)
			return bad(err, errlen, "unknown reason 'counters.%.40s'", key);
	/* {} when the daemon could not read them: all 0, as cg_stats_read() leaves them */
	for (i = 0; json_object_size(counters) && i < CG_STAT_MAX; i++) {
		snprintf(where, sizeof(where), "counters.%s", cg_stat_name(i));
		if (get_object(counters, "counters", cg_stat_name(i), &v, err, errlen) ||
		    get_fields(v, where, counter_fields, NFIELDS(counter_fields), &out->stats[i],
			       err, errlen))
			return -EINVAL;
	}

	if (get_object(doc, "", "services", &svcs, err, errlen) ||
	    get_named(svcs, "services", n->svc, &n->svc_end, CG_MAX_SERVICES, svc_fields,
		      NFIELDS(svc_fields), out->svc, sizeof(out->svc[0]), err, errlen))
		return -EINVAL;
	/* a cell's counters are its classes' sum: rebuilt into class 0, the rest stay 0 */
	if (get_object(doc, "", "cells", &cells, err, errlen) ||
	    get_named(cells, "cells", n->cell, &n->cell_end, CG_MAX_CELLS, cell_fields,
		      NFIELDS(cell_fields), out->cell, sizeof(out->cell[0]), err, errlen) ||
	    get_moved(cells, n, out, err, errlen))
		return -EINVAL;
	if (get_object(doc, "", "conntrack", &conn, err, errlen) ||
	    get_fields(conn, "conntrack", conn_fields, NFIELDS(conn_fields), out, err, errlen))
		return -EINVAL;
	return 0;
}
