// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* diff.c - what changed between two desired states, object by object, field by field */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/diff.h"
#include "cellgate/field.h"
#include "cellgate/names.h"

/* cg_addr_format(), with "none" for an unset address (diff and state file text). */
static const char *addr_str(const struct cg_addr *a, char *buf, size_t len)
{
	if (a->family != CG_AF_INET && a->family != CG_AF_INET6) {
		snprintf(buf, len, "none");
		return buf;
	}
	return cg_addr_format(a, buf, len);
}

#define CG_VAL_MAX 160 /* one field's value as text: room for 8 interface names */

/* A growing string for change details. */
struct cg_strbuf {
	char *s;    /* NUL-terminated text, or NULL before the first append */
	size_t len; /* bytes used, without the NUL */
	size_t cap; /* bytes allocated */
	int err;    /* -ENOMEM once an append failed */
};

static void sb_add(struct cg_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(struct cg_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	char *ns;
	int n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	need = b->len + (size_t)n + 1;
	if (need > b->cap) {
		ns = realloc(b->s, need * 2);
		if (!ns) {
			b->err = -ENOMEM;
			return;
		}
		b->s = ns;
		b->cap = need * 2;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void sb_reset(struct cg_strbuf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

static const char *sb_str(const struct cg_strbuf *b)
{
	return b->s ? b->s : "";
}

/* The fields of one object as text, in the order they are reported. */
#define CG_DIFF_FIELDS 48 /* fields of one object at most; more is a bug (field() aborts) */

struct cg_fields {
	size_t n;			      /* fields used */
	const char *key[CG_DIFF_FIELDS];      /* field names */
	char val[CG_DIFF_FIELDS][CG_VAL_MAX]; /* their values */
	bool quiet
		[CG_DIFF_FIELDS]; /* CG_FF_OMITDEF at its default: not listed for an added object */
};

static void field(struct cg_fields *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void field(struct cg_fields *f, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (f->n >= CG_DIFF_FIELDS)
		abort(); /* an object's table outgrew CG_DIFF_FIELDS: a change would go unseen */
	f->key[f->n] = key;
	va_start(ap, fmt);
	vsnprintf(f->val[f->n], CG_VAL_MAX, fmt, ap);
	va_end(ap);
	f->n++;
}

/*
 * The fields of obj by its table (field.c) as diff shows them: every field
 * but the keys and lists; ids "auto" until assigned, an unset address
 * "none", free text quoted, a class by its name in st (by id for a field
 * written by id).
 */
static void obj_fields(const struct cg_object *o, const void *obj, const struct cg_state *st,
		       struct cg_fields *f)
{
	const struct cg_field *fl;
	char buf[CG_VAL_MAX];
	const char *name;
	uint64_t x;

	f->n = 0;
	for (fl = o->fields; fl->name && f->n < sizeof(f->key) / sizeof(f->key[0]); fl++) {
		if (fl->flags & CG_FF_KEY || fl->type == CG_F_NAMES)
			continue;
		x = cg_field_get(fl, obj);
		f->quiet[f->n] = fl->flags & CG_FF_OMITDEF && x == fl->def;
		switch (fl->type) {
		case CG_F_ID:
			if (x == CG_ID_AUTO)
				field(f, fl->name, "auto");
			else
				field(f, fl->name, "%llu", (unsigned long long)x);
			break;
		case CG_F_ADDR:
			field(f, fl->name, "%s",
			      addr_str((const struct cg_addr *)(const void *)((const char *)obj +
									      fl->offset),
				       buf, sizeof(buf)));
			break;
		case CG_F_ENUM:
			field(f, fl->name, "%s",
			      cg_enum_name(fl->words, (unsigned int)x, "invalid"));
			break;
		case CG_F_TEXT:
			field(f, fl->name, "\"%s\"", cg_field_format(fl, obj, buf, sizeof(buf)));
			break;
		case CG_F_CLASS:
			name = fl->flags & CG_FF_BYID ? NULL : cg_class_name(st, (uint32_t)x);
			if (name)
				field(f, fl->name, "%.*s", CG_NAME_MAX, name);
			else
				field(f, fl->name, "%llu", (unsigned long long)x);
			break;
		default:
			field(f, fl->name, "%s", cg_field_format(fl, obj, buf, sizeof(buf)));
			break;
		}
	}
}

/* "k v, k v" (added) or "k a -> b, ..." for the fields that differ. */
static void fields_detail(struct cg_strbuf *b, const struct cg_fields *old,
			  const struct cg_fields *cur)
{
	size_t i;

	for (i = 0; i < cur->n; i++) {
		if (!old && cur->quiet[i]) {
			continue;
		} else if (!old) {
			sb_add(b, "%s%s %s", b->len ? ", " : "", cur->key[i], cur->val[i]);
		} else if (strcmp(old->val[i], cur->val[i])) {
			sb_add(b, "%s%s %s -> %s", b->len ? ", " : "", cur->key[i], old->val[i],
			       cur->val[i]);
		}
	}
}

/* A service's cells: "cells [a, b]" when added, "cells +c -a" when changed. */
static int cells_detail(struct cg_strbuf *b, const struct cg_service_cfg *old,
			const struct cg_service_cfg *cur)
{
	size_t *oi = NULL, *ci, i = 0, j = 0;
	bool started = false;
	int c;

	ci = cg_sorted_index(cur->cells, CG_NAME_MAX, cur->ncells);
	if (old)
		oi = cg_sorted_index(old->cells, CG_NAME_MAX, old->ncells);
	if (!ci || (old && !oi)) {
		free(ci);
		free(oi);
		return -ENOMEM;
	}
	if (!old) {
		sb_add(b, "%scells [", b->len ? ", " : "");
		for (i = 0; i < cur->ncells; i++)
			sb_add(b, "%s%.*s", i ? ", " : "", CG_NAME_MAX, cur->cells[ci[i]]);
		sb_add(b, "]");
		goto out;
	}
	while (i < old->ncells || j < cur->ncells) {
		if (i == old->ncells)
			c = 1;
		else if (j == cur->ncells)
			c = -1;
		else
			c = strncmp(old->cells[oi[i]], cur->cells[ci[j]], CG_NAME_MAX);
		if (c && !started) {
			sb_add(b, "%scells", b->len ? ", " : "");
			started = true;
		}
		if (c < 0)
			sb_add(b, " -%.*s", CG_NAME_MAX, old->cells[oi[i++]]);
		else if (c > 0)
			sb_add(b, " +%.*s", CG_NAME_MAX, cur->cells[ci[j++]]);
		else
			i++, j++;
	}
out:
	free(oi);
	free(ci);
	return 0;
}

/* State shared by the diff walkers. */
struct cg_differ {
	cg_config_diff_fn emit; /* callback, may be NULL */
	void *arg;		/* its argument */
	int count;		/* changes reported */
	struct cg_strbuf sb;	/* detail being built */
};

static void report(struct cg_differ *d, char op, const char *kind, const char *name)
{
	char nm[CG_NAME_MAX + 1];

	snprintf(nm, sizeof(nm), "%.*s", CG_NAME_MAX, name);
	d->count++;
	if (d->emit)
		d->emit(d->arg, op, kind, nm, sb_str(&d->sb));
	sb_reset(&d->sb);
}

static void diff_setting(struct cg_differ *d, const char *name, const char *a, const char *b)
{
	if (!strcmp(a, b))
		return;
	sb_add(&d->sb, "%s -> %s", a, b);
	report(d, '~', CG_KIND_SETTING, name);
}

static void ifaces_str(const struct cg_state *st, char *buf, size_t len)
{
	char ifaces[CG_MAX_IFACES][IF_NAMESIZE];
	size_t i, n = st->nifaces < CG_MAX_IFACES ? st->nifaces : CG_MAX_IFACES, o;

	memcpy(ifaces, st->ifaces, n * IF_NAMESIZE);
	qsort(ifaces, n, IF_NAMESIZE, cg_ifname_cmp);
	o = (size_t)snprintf(buf, len, "[");
	for (i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%.*s", i ? ", " : "", IF_NAMESIZE,
				      ifaces[i]);
	if (o < len)
		snprintf(buf + o, len - o, "]");
}

/* The changed fields of one settings object (its table in field.c), each named pre + key. */
static void diff_setting_fields(struct cg_differ *d, const struct cg_object *o, const void *a,
				const void *b, const struct cg_state *sa, const struct cg_state *sb,
				const char *pre)
{
	struct cg_fields fa, fb;
	char name[96];
	size_t i;

	obj_fields(o, a, sa, &fa);
	obj_fields(o, b, sb, &fb);
	for (i = 0; i < fb.n && i < fa.n; i++) {
		snprintf(name, sizeof(name), "%s%s", pre, fb.key[i]);
		diff_setting(d, name, fa.val[i], fb.val[i]);
	}
}

/*
 * The settings, by their field tables: every top-level field and every
 * guard field, so a field added to a table is diffed (and saved) with no
 * line here. The interfaces are a list: compared as one value.
 */
static void diff_settings(struct cg_differ *d, const struct cg_state *a, const struct cg_state *b)
{
	char x[CG_VAL_MAX], y[CG_VAL_MAX];

	ifaces_str(a, x, sizeof(x));
	ifaces_str(b, y, sizeof(y));
	diff_setting(d, "interfaces", x, y);
	diff_setting_fields(d, &cg_settings_obj, a, b, a, b, "");
	diff_setting_fields(d, &cg_guard_obj, &a->guard, &b->guard, a, b, "guard.");
	diff_setting_fields(d, &cg_loc_obj, &a->locality, &b->locality, a, b, "locality.");
	diff_setting_fields(d, &cg_health_obj, &a->health, &b->health, a, b, "health.");
	diff_setting_fields(d, &cg_failover_obj, &a->failover, &b->failover, a, b, "failover.");
	diff_setting_fields(d, &cg_bp_obj, &a->bp, &b->bp, a, b, "backpressure.");
	diff_setting_fields(d, &cg_metrics_obj, &a->metrics, &b->metrics, a, b, "metrics.");
	diff_setting_fields(d, &cg_saga_obj, &a->saga, &b->saga, a, b, "saga.");
}

/* Walk two arrays of one kind in name order; describe() fills the detail. */
typedef int (*cg_describe_fn)(struct cg_strbuf *b, const void *old, const void *cur);

static int describe_region(struct cg_strbuf *b, const void *old, const void *cur)
{
	struct cg_fields fo, fc;

	obj_fields(&cg_region_obj, cur, NULL, &fc);
	if (old)
		obj_fields(&cg_region_obj, old, NULL, &fo);
	fields_detail(b, old ? &fo : NULL, &fc);
	return 0;
}

static int describe_cell(struct cg_strbuf *b, const void *old, const void *cur)
{
	struct cg_fields fo, fc;

	obj_fields(&cg_cell_obj, cur, NULL, &fc);
	if (old)
		obj_fields(&cg_cell_obj, old, NULL, &fo);
	fields_detail(b, old ? &fo : NULL, &fc);
	return 0;
}

static int describe_service(struct cg_strbuf *b, const void *old, const void *cur)
{
	struct cg_fields fo, fc;

	obj_fields(&cg_service_obj, cur, NULL, &fc);
	if (old)
		obj_fields(&cg_service_obj, old, NULL, &fo);
	fields_detail(b, old ? &fo : NULL, &fc);
	return cells_detail(b, old, cur);
}

static int describe_evac(struct cg_strbuf *b, const void *old, const void *cur)
{
	struct cg_fields fo, fc;

	obj_fields(&cg_evac_obj, cur, NULL, &fc);
	if (old)
		obj_fields(&cg_evac_obj, old, NULL, &fo);
	fields_detail(b, old ? &fo : NULL, &fc);
	return 0;
}

static int describe_class(struct cg_strbuf *b, const void *old, const void *cur)
{
	struct cg_fields fo, fc;

	obj_fields(&cg_class_obj, cur, NULL, &fc);
	if (old)
		obj_fields(&cg_class_obj, old, NULL, &fo);
	fields_detail(b, old ? &fo : NULL, &fc);
	return 0;
}

/* Report a change of a rule or shed entry (names longer than CG_NAME_MAX). */
static void report_long(struct cg_differ *d, char op, const char *kind, const char *name)
{
	d->count++;
	if (d->emit)
		d->emit(d->arg, op, kind, name, sb_str(&d->sb));
	sb_reset(&d->sb);
}

/* A matched rule's change: its class id, shown by name (a renamed class changes no rule). */
static void rule_detail(struct cg_strbuf *b, const struct cg_state *from,
			const struct cg_class_rule_cfg *x, const struct cg_state *to,
			const struct cg_class_rule_cfg *y)
{
	struct cg_fields fo, fc;

	if (x->class == y->class)
		return;
	obj_fields(&cg_class_rule_obj, x, from, &fo);
	obj_fields(&cg_class_rule_obj, y, to, &fc);
	fields_detail(b, &fo, &fc);
	if (!b->len) /* two classes of one name */
		sb_add(b, "class %u -> %u", x->class, y->class);
}

/* Walk rules or shed entries of from and to in canonical order, matched by key. */
static int diff_keyed(struct cg_differ *d, const struct cg_state *from, const struct cg_state *to,
		      bool rules)
{
	const void *a = rules ? (const void *)from->rules : (const void *)from->shed;
	const void *b = rules ? (const void *)to->rules : (const void *)to->shed;
	size_t na = rules ? from->nrules : from->nshed, nb = rules ? to->nrules : to->nshed;
	size_t stride = rules ? sizeof(*from->rules) : sizeof(*from->shed);
	int (*cmp)(const void *, const void *) = rules ? cg_rule_cmp_v : cg_shed_cmp_v;
	const char *kind = rules ? CG_KIND_RULE : CG_KIND_SHED;
	size_t *ai, *bi, i = 0, j = 0;
	struct cg_fields fo, fc;
	const void *x, *y;
	char name[96];
	int c, ret = 0;

	ai = cg_sorted_index_by(a, stride, na, cmp);
	bi = cg_sorted_index_by(b, stride, nb, cmp);
	if (!ai || !bi) {
		ret = -ENOMEM;
		goto out;
	}
	while ((i < na || j < nb) && !ret) {
		x = i < na ? (const char *)a + ai[i] * stride : NULL;
		y = j < nb ? (const char *)b + bi[j] * stride : NULL;
		c = !x ? 1 : !y ? -1 : cmp(x, y);
		if (c < 0) {
			if (rules)
				cg_rule_str(x, name, sizeof(name));
			else
				cg_shed_str(from, x, name, sizeof(name));
			report_long(d, '-', kind, name);
			i++;
			continue;
		}
		if (rules)
			cg_rule_str(y, name, sizeof(name));
		else
			cg_shed_str(to, y, name, sizeof(name));
		if (c > 0) {
			if (rules)
				obj_fields(&cg_class_rule_obj, y, to, &fc);
			else
				obj_fields(&cg_shed_obj, y, to, &fc);
			fields_detail(&d->sb, NULL, &fc);
			if (!d->sb.err)
				report_long(d, '+', kind, name);
			j++;
		} else {
			if (rules) {
				rule_detail(&d->sb, from, x, to, y);
			} else {
				obj_fields(&cg_shed_obj, x, from, &fo);
				obj_fields(&cg_shed_obj, y, to, &fc);
				fields_detail(&d->sb, &fo, &fc);
			}
			if (!d->sb.err && d->sb.len)
				report_long(d, '~', kind, name);
			i++;
			j++;
		}
		ret = d->sb.err;
	}
out:
	free(ai);
	free(bi);
	return ret;
}

static int diff_kind(struct cg_differ *d, const char *kind, const void *a, size_t na, const void *b,
		     size_t nb, size_t stride, cg_describe_fn describe)
{
	size_t *ai, *bi, i = 0, j = 0;
	const char *x, *y;
	int c, ret = 0;

	ai = cg_sorted_index(a, stride, na);
	bi = cg_sorted_index(b, stride, nb);
	if (!ai || !bi) {
		ret = -ENOMEM;
		goto out;
	}
	while ((i < na || j < nb) && !ret) {
		x = i < na ? (const char *)a + ai[i] * stride : NULL;
		y = j < nb ? (const char *)b + bi[j] * stride : NULL;
		c = !x ? 1 : !y ? -1 : strncmp(x, y, CG_NAME_MAX);
		if (c < 0) {
			report(d, '-', kind, x);
			i++;
		} else if (c > 0) {
			ret = describe(&d->sb, NULL, y);
			if (!ret && !d->sb.err)
				report(d, '+', kind, y);
			j++;
		} else {
			ret = describe(&d->sb, x, y);
			if (!ret && !d->sb.err && d->sb.len)
				report(d, '~', kind, y);
			i++;
			j++;
		}
		if (!ret)
			ret = d->sb.err;
	}
out:
	free(ai);
	free(bi);
	return ret;
}

int cg_state_diff(const struct cg_state *from, const struct cg_state *to, cg_config_diff_fn emit,
		  void *arg)
{
	struct cg_differ d = { .emit = emit, .arg = arg };
	int ret;

	diff_settings(&d, from, to);
	ret = d.sb.err;
	if (!ret)
		ret = diff_kind(&d, CG_KIND_CLASS, from->classes,
				from->nclasses < CG_MAX_CLASSES ? from->nclasses : CG_MAX_CLASSES,
				to->classes,
				to->nclasses < CG_MAX_CLASSES ? to->nclasses : CG_MAX_CLASSES,
				sizeof(from->classes[0]), describe_class);
	if (!ret)
		ret = diff_keyed(&d, from, to, true);
	if (!ret)
		ret = diff_kind(&d, CG_KIND_REGION, from->regions, from->nregions, to->regions,
				to->nregions, sizeof(*from->regions), describe_region);
	if (!ret)
		ret = diff_kind(&d, CG_KIND_CELL, from->cells, from->ncells, to->cells, to->ncells,
				sizeof(*from->cells), describe_cell);
	if (!ret)
		ret = diff_kind(&d, CG_KIND_SERVICE, from->services, from->nservices, to->services,
				to->nservices, sizeof(*from->services), describe_service);
	if (!ret)
		ret = diff_keyed(&d, from, to, false);
	if (!ret)
		ret = diff_kind(&d, CG_KIND_EVACUATION, from->evacs, from->nevacs, to->evacs,
				to->nevacs, sizeof(*from->evacs), describe_evac);
	free(d.sb.s);
	return ret ? ret : d.count;
}
