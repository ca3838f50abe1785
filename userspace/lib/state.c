/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* state.c - desired state: copy, id assignment, canonical form, digest, atomic persistence, diff */
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

#include "cellgate/config.h"
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

/* ---- life cycle, look-up ---- */

/* The classes of a config without `classes:` (docs/config.md). */
static const struct cg_class_cfg default_classes[CG_DEFAULT_CLASSES] = {
	{ .name = "critical", .id = 0, .protected = true, .burst = 1 },
	{ .name = "high", .id = 1, .burst = 1 },
	{ .name = "normal", .id = 2, .burst = 1 },
	{ .name = "sheddable", .id = 3, .burst = 1 },
};

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

/* ---- shed levels ---- */

int cg_level_parse(const char *text, uint32_t *ppm)
{
	const char *s = text, *frac = NULL;
	bool neg = false;
	uint32_t ip = 0, fp = 0;
	size_t i, nint, nfrac = 0;

	if (*s == '-') {
		neg = true;
		s++;
	}
	for (nint = 0; s[nint] >= '0' && s[nint] <= '9'; nint++)
		;
	if (!nint || (nint > 1 && s[0] == '0'))
		return -EINVAL; /* no integer part (".5"), or a leading zero */
	if (s[nint] == '.') {
		frac = s + nint + 1;
		for (nfrac = 0; frac[nfrac] >= '0' && frac[nfrac] <= '9'; nfrac++)
			;
		if (!nfrac || frac[nfrac])
			return -EINVAL; /* "5." or junk after the decimals */
	} else if (s[nint]) {
		return -EINVAL;
	}
	if (nfrac > CG_LEVEL_DECIMALS)
		return -EDOM;
	if (neg || nint > 1)
		return -ERANGE;
	ip = (uint32_t)(s[0] - '0');
	for (i = 0; i < CG_LEVEL_DECIMALS; i++)
		fp = fp * 10 + (i < nfrac ? (uint32_t)(frac[i] - '0') : 0);
	if (ip > 1 || (ip == 1 && fp))
		return -ERANGE;
	*ppm = ip * CG_LEVEL_ONE + fp;
	return 0;
}

void cg_level_format(uint32_t ppm, char *buf, size_t len)
{
	char frac[8];
	int n;

	if (!len)
		return;
	n = snprintf(frac, sizeof(frac), "%06u", ppm % CG_LEVEL_ONE);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	snprintf(buf, len, "%u%s%s", ppm / CG_LEVEL_ONE, n ? "." : "", frac);
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
static size_t *sorted_index(const void *base, size_t stride, size_t n)
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
static size_t *sorted_index_by(const void *base, size_t stride, size_t n,
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
static int cmp_class(const void *a, const void *b)
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

static int cmp_rule(const void *a, const void *b)
{
	return cg_rule_cmp(a, b);
}

/* Canonical order of shed entries: by cell ("*" first), then class id. */
static int cmp_shed(const void *a, const void *b)
{
	const struct cg_shed_cfg *x = a, *y = b;
	int c = strncmp(x->cell, y->cell, CG_NAME_MAX);

	if (c)
		return c < 0 ? -1 : 1;
	return (x->class > y->class) - (x->class < y->class);
}

/* The name of class id in st, or NULL. */
static const char *class_name(const struct cg_state *st, uint32_t id)
{
	const struct cg_class_cfg *c = cg_state_class_by_id(st, id);

	return c ? c->name : NULL;
}

/* "198.18.11.0/24", "2001:db8::/32", "dscp 46". */
static const char *rule_str(const struct cg_class_rule_cfg *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (r->kind == CG_RULE_DSCP)
		snprintf(buf, len, "dscp %u", r->dscp);
	else
		snprintf(buf, len, "%s/%u", addr_str(&r->prefix, a, sizeof(a)), r->prefix_len);
	return buf;
}

/* "use1-a/sheddable"; the class id if st has no such class. */
static const char *shed_str(const struct cg_state *st, const struct cg_shed_cfg *e, char *buf,
			    size_t len)
{
	const char *cn = class_name(st, e->class);

	if (cn)
		snprintf(buf, len, "%.*s/%.*s", CG_NAME_MAX, e->cell, CG_NAME_MAX, cn);
	else
		snprintf(buf, len, "%.*s/%u", CG_NAME_MAX, e->cell, e->class);
	return buf;
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

static int assign_kind(const struct cg_idkind *k, uint32_t *ids)
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
		if (pid < k->max)
			inprev[pid] = 1;
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
	/* 3. new objects, in name order: an id nobody used, else a freed one */
	order = sorted_index(k->objs, k->stride, k->n);
	if (!order) {
		ret = -ENOMEM;
		goto out;
	}
	for (j = 0; j < k->n; j++) {
		i = order[j];
		if (ids[i] != CG_ID_AUTO)
			continue;
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
out:
	free(order);
	free(owner);
	free(inprev);
	return ret;
}

int cg_state_assign_ids(struct cg_state *st, const struct cg_state *prev)
{
	uint32_t *rid = NULL, *cid = NULL, *sid = NULL;
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
				CG_MAX_REGIONS };
	ret = assign_kind(&k, rid);
	if (ret)
		goto out;
	k = (struct cg_idkind){ st->cells,
				st->ncells,
				prev ? prev->cells : NULL,
				prev ? prev->ncells : 0,
				sizeof(*st->cells),
				offsetof(struct cg_cell_cfg, id),
				CG_MAX_CELLS };
	ret = assign_kind(&k, cid);
	if (ret)
		goto out;
	k = (struct cg_idkind){ st->services,
				st->nservices,
				prev ? prev->services : NULL,
				prev ? prev->nservices : 0,
				sizeof(*st->services),
				offsetof(struct cg_service_cfg, id),
				CG_MAX_SERVICES };
	ret = assign_kind(&k, sid);
	if (ret)
		goto out;

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

/* ---- canonical form ---- */

#define CG_WRAP_COLUMN 100 /* long service cell lists are wrapped before this column */

/* Where canonical text goes: a FILE, a checksum, or both. */
struct cg_sink {
	FILE *f;      /* output; NULL to only checksum */
	uint32_t crc; /* zlib crc32 of everything put */
	size_t col;   /* column of the next byte */
	int err;      /* first error, -errno */
};

static void sink_bytes(struct cg_sink *s, const char *buf, size_t n)
{
	const char *nl;

	if (s->err || !n)
		return;
	s->crc = (uint32_t)crc32(s->crc, (const Bytef *)buf, (uInt)n);
	if (s->f && fwrite(buf, 1, n, s->f) != n)
		s->err = -EIO;
	nl = memrchr(buf, '\n', n);
	s->col = nl ? (size_t)(buf + n - nl - 1) : s->col + n;
}

static void sink_put(struct cg_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sink_put(struct cg_sink *s, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		if (!s->err)
			s->err = -EOVERFLOW; /* every piece is short: a caller bug */
		return;
	}
	sink_bytes(s, buf, (size_t)n);
}

/* A string as YAML: plain when it is a simple word, else double-quoted. */
static void sink_scalar(struct cg_sink *s, const char *str, size_t max)
{
	size_t i, n = strnlen(str, max);
	bool plain = n > 0;
	char buf[8];

	for (i = 0; i < n && plain; i++) {
		unsigned char c = (unsigned char)str[i];

		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || (i && (c == '.' || c == '_' || c == '-'));
	}
	if (plain) {
		sink_bytes(s, str, n);
		return;
	}
	sink_bytes(s, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)str[i];

		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
			snprintf(buf, sizeof(buf), "\\x%02x", c);
			sink_bytes(s, buf, 4);
		} else {
			sink_bytes(s, &str[i], 1);
		}
	}
	sink_bytes(s, "\"", 1);
}

static void sink_addr(struct cg_sink *s, const struct cg_addr *a)
{
	char buf[INET6_ADDRSTRLEN + 2];

	addr_str(a, buf, sizeof(buf));
	if (a->family == CG_AF_INET6)
		sink_put(s, "\"%s\"", buf); /* colons: quoted to be safe in flow context */
	else
		sink_bytes(s, buf, strlen(buf));
}

static void sink_id(struct cg_sink *s, const char *indent, uint32_t id)
{
	if (id != CG_ID_AUTO)
		sink_put(s, "%sid: %u", indent, id);
}

static int cmp_ifname(const void *a, const void *b)
{
	return strncmp(a, b, IF_NAMESIZE);
}

static void encode_settings(const struct cg_state *st, struct cg_sink *s, bool generation)
{
	char ifaces[CG_MAX_IFACES][IF_NAMESIZE];
	size_t i, n = st->nifaces < CG_MAX_IFACES ? st->nifaces : CG_MAX_IFACES;

	if (generation)
		sink_put(s, "generation: %llu\n", (unsigned long long)st->generation);
	sink_put(s, "region: ");
	sink_scalar(s, st->region, CG_NAME_MAX);
	memcpy(ifaces, st->ifaces, n * IF_NAMESIZE);
	qsort(ifaces, n, IF_NAMESIZE, cmp_ifname);
	sink_put(s, "\ninterfaces: [");
	for (i = 0; i < n; i++) {
		if (i)
			sink_put(s, ", ");
		sink_scalar(s, ifaces[i], IF_NAMESIZE);
	}
	sink_put(s, "]\nxdp_mode: %s\nsource: {",
		 cg_enum_name(cg_xdp_mode_names, st->xdp_mode, "invalid"));
	if (st->src4.family) {
		sink_put(s, "ipv4: ");
		sink_addr(s, &st->src4);
	}
	if (st->src6.family) {
		sink_put(s, "%sipv6: ", st->src4.family ? ", " : "");
		sink_addr(s, &st->src6);
	}
	sink_put(s, "}\nmtu: %u\nconntrack: %u\n", st->mtu, st->conntrack_size);
}

static void encode_region(const struct cg_region_cfg *r, struct cg_sink *s)
{
	sink_put(s, "  - {name: ");
	sink_scalar(s, r->name, CG_NAME_MAX);
	sink_id(s, ", ", r->id);
	sink_put(s, ", cost: %u}\n", r->cost);
}

static void encode_cell(const struct cg_cell_cfg *c, struct cg_sink *s)
{
	sink_put(s, "  - name: ");
	sink_scalar(s, c->name, CG_NAME_MAX);
	sink_id(s, "\n    ", c->id);
	sink_put(s, "\n    region: ");
	sink_scalar(s, c->region, CG_NAME_MAX);
	sink_put(s, "\n    gateway: ");
	sink_addr(s, &c->gw);
	sink_put(s,
		 "\n    encap: %s\n    gue_port: %u\n    weight: %u\n    capacity: %u\n"
		 "    state: %s\n",
		 cg_enum_name(cg_encap_names, c->encap, "invalid"), c->gue_port, c->weight,
		 c->capacity, cg_enum_name(cg_cell_state_names, c->state, "invalid"));
}

static int encode_service(const struct cg_service_cfg *sv, struct cg_sink *s)
{
	size_t *idx, i;
	const char *name;

	idx = sorted_index(sv->cells, CG_NAME_MAX, sv->ncells);
	if (!idx)
		return -ENOMEM;
	sink_put(s, "  - name: ");
	sink_scalar(s, sv->name, CG_NAME_MAX);
	sink_id(s, "\n    ", sv->id);
	sink_put(s, "\n    vip: ");
	sink_addr(s, &sv->vip);
	sink_put(s,
		 "\n    port: %u\n    protocol: %s\n    table_size: %u\n    default_class: %u\n"
		 "    cells: [",
		 sv->port, cg_enum_name(cg_proto_names, sv->proto, "invalid"), sv->table_size,
		 sv->default_class);
	for (i = 0; i < sv->ncells; i++) {
		name = sv->cells[idx[i]];
		if (i)
			sink_put(s, ",");
		/* wrapped lines of a flow list are indented deeper than its key */
		if (i && s->col + strnlen(name, CG_NAME_MAX) + 3 > CG_WRAP_COLUMN)
			sink_put(s, "\n      ");
		else if (i)
			sink_put(s, " ");
		sink_scalar(s, name, CG_NAME_MAX);
	}
	sink_put(s, "]\n");
	free(idx);
	return 0;
}

/* A class reference: its name, or its id if st has no such class. */
static void sink_class(struct cg_sink *s, const struct cg_state *st, uint32_t id)
{
	const char *name = class_name(st, id);

	if (name)
		sink_scalar(s, name, CG_NAME_MAX);
	else
		sink_put(s, "%u", id);
}

static void encode_class(const struct cg_class_cfg *c, struct cg_sink *s)
{
	sink_put(s, "  - name: ");
	sink_scalar(s, c->name, CG_NAME_MAX);
	sink_put(s,
		 "\n    id: %u\n    protected: %s\n    new_flows_per_sec: %u\n"
		 "    packets_per_sec: %u\n    burst: %u\n",
		 c->id, c->protected ? "true" : "false", c->new_flows_per_sec, c->packets_per_sec,
		 c->burst);
}

static void encode_rule(const struct cg_state *st, const struct cg_class_rule_cfg *r,
			struct cg_sink *s)
{
	char buf[INET6_ADDRSTRLEN + 8];

	if (r->kind == CG_RULE_DSCP)
		sink_put(s, "  - {dscp: %u, class: ", r->dscp);
	else if (r->prefix.family == CG_AF_INET6)
		sink_put(s, "  - {prefix: \"%s\", class: ", rule_str(r, buf, sizeof(buf)));
	else
		sink_put(s, "  - {prefix: %s, class: ", rule_str(r, buf, sizeof(buf)));
	sink_class(s, st, r->class);
	sink_put(s, "}\n");
}

static void encode_shed(const struct cg_state *st, const struct cg_shed_cfg *e, struct cg_sink *s)
{
	char level[16];

	cg_level_format(e->level_ppm, level, sizeof(level));
	sink_put(s, "  - cell: ");
	sink_scalar(s, e->cell, CG_NAME_MAX);
	sink_put(s, "\n    class: ");
	sink_class(s, st, e->class);
	sink_put(s, "\n    level: %s\n    hard: %s\n    expires: %lld\n    by: ", level,
		 e->hard ? "true" : "false", (long long)e->expires);
	sink_scalar(s, e->by, sizeof(e->by));
	sink_put(s, "\n    reason: ");
	sink_scalar(s, e->reason, sizeof(e->reason));
	sink_put(s, "\n");
}

/* Classes, class rules and the guard: what a packet's class and its limits are. */
static int encode_classify(const struct cg_state *st, struct cg_sink *s)
{
	size_t n = st->nclasses < CG_MAX_CLASSES ? st->nclasses : CG_MAX_CLASSES;
	size_t *ki, *ri, i;
	const struct cg_guard_cfg *g = &st->guard;

	ki = sorted_index_by(st->classes, sizeof(st->classes[0]), n, cmp_class);
	ri = sorted_index_by(st->rules, sizeof(*st->rules), st->nrules, cmp_rule);
	if (!ki || !ri) {
		free(ki);
		free(ri);
		return -ENOMEM;
	}
	sink_put(s, "classes:%s\n", n ? "" : " []");
	for (i = 0; i < n; i++)
		encode_class(&st->classes[ki[i]], s);
	sink_put(s, "class_rules:%s\n", st->nrules ? "" : " []");
	for (i = 0; i < st->nrules; i++)
		encode_rule(st, &st->rules[ri[i]], s);
	sink_put(s, "guard: {ipv4_prefix: %u, ipv6_prefix: %u, new_flows_per_sec: %u, burst: %u}\n",
		 g->ipv4_prefix, g->ipv6_prefix, g->new_flows_per_sec, g->burst);
	free(ki);
	free(ri);
	return 0;
}

/* The canonical form of st, with or without its generation line. */
static int encode(const struct cg_state *st, struct cg_sink *s, bool generation)
{
	size_t *ri = NULL, *ci = NULL, *si = NULL, *hi = NULL, i;
	int ret = 0;

	ri = sorted_index(st->regions, sizeof(*st->regions), st->nregions);
	ci = sorted_index(st->cells, sizeof(*st->cells), st->ncells);
	si = sorted_index(st->services, sizeof(*st->services), st->nservices);
	hi = sorted_index_by(st->shed, sizeof(*st->shed), st->nshed, cmp_shed);
	if (!ri || !ci || !si || !hi) {
		ret = -ENOMEM;
		goto out;
	}
	encode_settings(st, s, generation);
	ret = encode_classify(st, s);
	if (ret)
		goto out;
	sink_put(s, "regions:%s\n", st->nregions ? "" : " []");
	for (i = 0; i < st->nregions; i++)
		encode_region(&st->regions[ri[i]], s);
	sink_put(s, "cells:%s\n", st->ncells ? "" : " []");
	for (i = 0; i < st->ncells; i++)
		encode_cell(&st->cells[ci[i]], s);
	sink_put(s, "services:%s\n", st->nservices ? "" : " []");
	for (i = 0; i < st->nservices && !ret; i++)
		ret = encode_service(&st->services[si[i]], s);
	if (ret)
		goto out;
	sink_put(s, "shed:%s\n", st->nshed ? "" : " []");
	for (i = 0; i < st->nshed; i++)
		encode_shed(st, &st->shed[hi[i]], s);
	ret = s->err;
out:
	free(ri);
	free(ci);
	free(si);
	free(hi);
	return ret;
}

int cg_state_write(const struct cg_state *st, FILE *f)
{
	struct cg_sink s = { .f = f };
	int ret;

	ret = encode(st, &s, true);
	if (!ret && fflush(f))
		ret = -EIO;
	return ret;
}

uint32_t cg_state_digest(const struct cg_state *st)
{
	struct cg_sink s = { .f = NULL };

	s.crc = (uint32_t)crc32(0, Z_NULL, 0);
	if (encode(st, &s, false))
		return 0;
	return s.crc;
}

/* ---- persistence ---- */

#define CG_STATE_HEADER CG_STATE_MAGIC "crc32=%08x len=%zu\n"

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fail with a message: "cannot <what> '<path>': <strerror>". */
static int sys_fail(char *err, size_t errlen, int ret, const char *what, const char *path)
{
	if (errlen)
		snprintf(err, errlen, "cannot %s '%s': %s", what, path, strerror(-ret));
	return ret;
}

int cg_state_save(const struct cg_state *st, const char *path, char *err, size_t errlen)
{
	char *body = NULL, *tmp = NULL, *dircopy = NULL, *dir, *loc, hdr[96], msg[512];
	struct cg_state check;
	size_t blen = 0, hlen;
	uint32_t crc;
	bool created = false;
	int fd = -1, dfd = -1, ret;
	FILE *mem;

	mem = open_memstream(&body, &blen);
	if (!mem) {
		ret = sys_fail(err, errlen, -errno, "save state to", path);
		goto out;
	}
	ret = encode(st, &(struct cg_sink){ .f = mem }, true);
	if (fclose(mem) && !ret)
		ret = -ENOMEM;
	if (ret) {
		sys_fail(err, errlen, ret, "save state to", path);
		goto out;
	}
	/* never persist what the loader would refuse */
	ret = cg_config_parse_buf("-", body, blen, &check, msg, sizeof(msg));
	if (ret) {
		/* "-:LINE: what": the line is of text that exists nowhere, drop it */
		loc = msg + strspn(msg, "-:0123456789");
		loc += strspn(loc, " ");
		if (errlen)
			snprintf(err, errlen, "cannot save an invalid state to '%s': %s", path,
				 loc);
		goto out;
	}
	cg_state_free(&check);
	crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), (const Bytef *)body, (uInt)blen);
	hlen = (size_t)snprintf(hdr, sizeof(hdr), CG_STATE_HEADER, crc, blen);
	if (hlen + blen > CG_CONFIG_MAX_SIZE) {
		ret = -EFBIG;
		if (errlen)
			snprintf(err, errlen, "cannot save state to '%s': %zu bytes, at most %u",
				 path, hlen + blen, CG_CONFIG_MAX_SIZE);
		goto out;
	}

	dircopy = strdup(path);
	if (!dircopy || asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
		tmp = NULL;
		ret = sys_fail(err, errlen, -ENOMEM, "save state to", path);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		ret = sys_fail(err, errlen, -errno, "create", tmp);
		goto out;
	}
	created = true;
	ret = write_all(fd, hdr, hlen);
	if (!ret)
		ret = write_all(fd, body, blen);
	if (ret) {
		sys_fail(err, errlen, ret, "write", tmp);
		goto out;
	}
	if (fsync(fd)) {
		ret = sys_fail(err, errlen, -errno, "sync", tmp);
		goto out;
	}
	ret = close(fd);
	fd = -1;
	if (ret) {
		ret = sys_fail(err, errlen, -errno, "close", tmp);
		goto out;
	}
	if (rename(tmp, path)) {
		ret = -errno;
		if (errlen)
			snprintf(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path,
				 strerror(-ret));
		goto out;
	}
	created = false;
	/* the rename is only durable once the directory is on disk */
	dir = dirname(dircopy);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd))
		ret = sys_fail(err, errlen, -errno, "sync directory", dir);
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (created)
		unlink(tmp);
	free(tmp);
	free(dircopy);
	free(body);
	return ret;
}

int cg_state_load(const char *path, struct cg_state *st, char *err, size_t errlen)
{
	char *buf = NULL, *nl, want[96];
	uint32_t crc, hcrc = 0;
	size_t len = 0, hlen, blen, hblen = 0;
	int ret, used = 0;

	ret = cg_config_read_file(path, &buf, &len, err, errlen);
	if (ret)
		goto out;
	ret = -EBADMSG;
	nl = memchr(buf, '\n', len);
	if (!nl || strncmp(buf, "# cellgate-state ", strlen("# cellgate-state "))) {
		if (errlen)
			snprintf(err, errlen,
				 "%s:1: not a cellgate state file (no '%scrc32=... len=...' "
				 "header)",
				 path, CG_STATE_MAGIC);
		goto out;
	}
	if (strncmp(buf, CG_STATE_MAGIC, strlen(CG_STATE_MAGIC))) {
		if (errlen)
			snprintf(err, errlen,
				 "%s:1: unsupported state file version (expected '%s')", path,
				 CG_STATE_MAGIC "...");
		goto out;
	}
	hlen = (size_t)(nl - buf) + 1;
	*nl = '\0';
	/* strict: the header must be exactly what cg_state_save() writes */
	if (sscanf(buf, CG_STATE_MAGIC "crc32=%8x len=%zu%n", &hcrc, &hblen, &used) != 2 ||
	    (size_t)used != hlen - 1 ||
	    snprintf(want, sizeof(want), CG_STATE_MAGIC "crc32=%08x len=%zu", hcrc, hblen) < 0 ||
	    strcmp(want, buf)) {
		if (errlen)
			snprintf(err, errlen,
				 "%s:1: bad state header (expected '%scrc32=%%08x len=N')", path,
				 CG_STATE_MAGIC);
		goto out;
	}
	*nl = '\n';
	blen = len - hlen;
	if (blen != hblen) {
		if (errlen)
			snprintf(err, errlen,
				 "%s: state file %s: %zu bytes after the header, which says %zu",
				 path, blen < hblen ? "is truncated" : "has trailing data", blen,
				 hblen);
		goto out;
	}
	crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), (const Bytef *)(buf + hlen), (uInt)blen);
	if (crc != hcrc) {
		if (errlen)
			snprintf(err, errlen,
				 "%s: state file is corrupted: crc32 is %08x, the header says %08x",
				 path, crc, hcrc);
		goto out;
	}
	/* the whole file, so that line numbers in messages are the file's */
	ret = cg_config_parse_buf(path, buf, len, st, err, errlen);
out:
	free(buf);
	return ret;
}

/* ---- diff ---- */

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
struct cg_fields {
	size_t n;		  /* fields used */
	const char *key[10];	  /* field names */
	char val[10][CG_VAL_MAX]; /* their values */
};

static void field(struct cg_fields *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void field(struct cg_fields *f, const char *key, const char *fmt, ...)
{
	va_list ap;

	f->key[f->n] = key;
	va_start(ap, fmt);
	vsnprintf(f->val[f->n], CG_VAL_MAX, fmt, ap);
	va_end(ap);
	f->n++;
}

static void field_id(struct cg_fields *f, uint32_t id)
{
	if (id == CG_ID_AUTO)
		field(f, "id", "auto");
	else
		field(f, "id", "%u", id);
}

static void region_fields(const struct cg_region_cfg *r, struct cg_fields *f)
{
	f->n = 0;
	field_id(f, r->id);
	field(f, "cost", "%u", r->cost);
}

static void cell_fields(const struct cg_cell_cfg *c, struct cg_fields *f)
{
	char a[INET6_ADDRSTRLEN];

	f->n = 0;
	field_id(f, c->id);
	field(f, "region", "%.*s", CG_NAME_MAX, c->region);
	field(f, "gateway", "%s", addr_str(&c->gw, a, sizeof(a)));
	field(f, "encap", "%s", cg_enum_name(cg_encap_names, c->encap, "invalid"));
	field(f, "gue_port", "%u", c->gue_port);
	field(f, "weight", "%u", c->weight);
	field(f, "capacity", "%u", c->capacity);
	field(f, "state", "%s", cg_enum_name(cg_cell_state_names, c->state, "invalid"));
}

static void service_fields(const struct cg_service_cfg *s, struct cg_fields *f)
{
	char a[INET6_ADDRSTRLEN];

	f->n = 0;
	field_id(f, s->id);
	field(f, "vip", "%s", addr_str(&s->vip, a, sizeof(a)));
	field(f, "port", "%u", s->port);
	field(f, "protocol", "%s", cg_enum_name(cg_proto_names, s->proto, "invalid"));
	field(f, "table_size", "%u", s->table_size);
	field(f, "default_class", "%u", s->default_class);
}

/* "k v, k v" (added) or "k a -> b, ..." for the fields that differ. */
static void fields_detail(struct cg_strbuf *b, const struct cg_fields *old,
			  const struct cg_fields *cur)
{
	size_t i;

	for (i = 0; i < cur->n; i++) {
		if (!old) {
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

	ci = sorted_index(cur->cells, CG_NAME_MAX, cur->ncells);
	if (old)
		oi = sorted_index(old->cells, CG_NAME_MAX, old->ncells);
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
	qsort(ifaces, n, IF_NAMESIZE, cmp_ifname);
	o = (size_t)snprintf(buf, len, "[");
	for (i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%.*s", i ? ", " : "", IF_NAMESIZE,
				      ifaces[i]);
	if (o < len)
		snprintf(buf + o, len - o, "]");
}

static void diff_settings(struct cg_differ *d, const struct cg_state *a, const struct cg_state *b)
{
	char x[CG_VAL_MAX], y[CG_VAL_MAX];

	snprintf(x, sizeof(x), "%.*s", CG_NAME_MAX, a->region);
	snprintf(y, sizeof(y), "%.*s", CG_NAME_MAX, b->region);
	diff_setting(d, "region", x, y);
	ifaces_str(a, x, sizeof(x));
	ifaces_str(b, y, sizeof(y));
	diff_setting(d, "interfaces", x, y);
	diff_setting(d, "xdp_mode", cg_enum_name(cg_xdp_mode_names, a->xdp_mode, "invalid"),
		     cg_enum_name(cg_xdp_mode_names, b->xdp_mode, "invalid"));
	diff_setting(d, "source.ipv4", addr_str(&a->src4, x, sizeof(x)),
		     addr_str(&b->src4, y, sizeof(y)));
	diff_setting(d, "source.ipv6", addr_str(&a->src6, x, sizeof(x)),
		     addr_str(&b->src6, y, sizeof(y)));
	snprintf(x, sizeof(x), "%u", a->mtu);
	snprintf(y, sizeof(y), "%u", b->mtu);
	diff_setting(d, "mtu", x, y);
	snprintf(x, sizeof(x), "%u", a->conntrack_size);
	snprintf(y, sizeof(y), "%u", b->conntrack_size);
	diff_setting(d, "conntrack", x, y);
	snprintf(x, sizeof(x), "%u", a->guard.ipv4_prefix);
	snprintf(y, sizeof(y), "%u", b->guard.ipv4_prefix);
	diff_setting(d, "guard.ipv4_prefix", x, y);
	snprintf(x, sizeof(x), "%u", a->guard.ipv6_prefix);
	snprintf(y, sizeof(y), "%u", b->guard.ipv6_prefix);
	diff_setting(d, "guard.ipv6_prefix", x, y);
	snprintf(x, sizeof(x), "%u", a->guard.new_flows_per_sec);
	snprintf(y, sizeof(y), "%u", b->guard.new_flows_per_sec);
	diff_setting(d, "guard.new_flows_per_sec", x, y);
	snprintf(x, sizeof(x), "%u", a->guard.burst);
	snprintf(y, sizeof(y), "%u", b->guard.burst);
	diff_setting(d, "guard.burst", x, y);
}

/* Walk two arrays of one kind in name order; describe() fills the detail. */
typedef int (*cg_describe_fn)(struct cg_strbuf *b, const void *old, const void *cur);

static int describe_region(struct cg_strbuf *b, const void *old, const void *cur)
{
	struct cg_fields fo, fc;

	region_fields(cur, &fc);
	if (old)
		region_fields(old, &fo);
	fields_detail(b, old ? &fo : NULL, &fc);
	return 0;
}

static int describe_cell(struct cg_strbuf *b, const void *old, const void *cur)
{
	struct cg_fields fo, fc;

	cell_fields(cur, &fc);
	if (old)
		cell_fields(old, &fo);
	fields_detail(b, old ? &fo : NULL, &fc);
	return 0;
}

static int describe_service(struct cg_strbuf *b, const void *old, const void *cur)
{
	struct cg_fields fo, fc;

	service_fields(cur, &fc);
	if (old)
		service_fields(old, &fo);
	fields_detail(b, old ? &fo : NULL, &fc);
	return cells_detail(b, old, cur);
}

static void class_fields(const struct cg_class_cfg *c, struct cg_fields *f)
{
	f->n = 0;
	field(f, "id", "%u", c->id);
	field(f, "protected", "%s", c->protected ? "true" : "false");
	field(f, "new_flows_per_sec", "%u", c->new_flows_per_sec);
	field(f, "packets_per_sec", "%u", c->packets_per_sec);
	field(f, "burst", "%u", c->burst);
}

static int describe_class(struct cg_strbuf *b, const void *old, const void *cur)
{
	struct cg_fields fo, fc;

	class_fields(cur, &fc);
	if (old)
		class_fields(old, &fo);
	fields_detail(b, old ? &fo : NULL, &fc);
	return 0;
}

/* A class reference as text: its name in st, else its id. */
static void class_field(struct cg_fields *f, const char *key, const struct cg_state *st,
			uint32_t id)
{
	const char *name = class_name(st, id);

	if (name)
		field(f, key, "%.*s", CG_NAME_MAX, name);
	else
		field(f, key, "%u", id);
}

static void rule_fields(const struct cg_state *st, const struct cg_class_rule_cfg *r,
			struct cg_fields *f)
{
	f->n = 0;
	class_field(f, "class", st, r->class);
}

static void shed_fields(const struct cg_state *st, const struct cg_shed_cfg *e, struct cg_fields *f)
{
	char level[16];

	f->n = 0;
	cg_level_format(e->level_ppm, level, sizeof(level));
	field(f, "level", "%s", level);
	field(f, "hard", "%s", e->hard ? "true" : "false");
	field(f, "expires", "%lld", (long long)e->expires);
	field(f, "by", "\"%.*s\"", CG_SHED_BY_MAX, e->by);
	field(f, "reason", "\"%.*s\"", CG_SHED_REASON_MAX, e->reason);
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
	rule_fields(from, x, &fo);
	rule_fields(to, y, &fc);
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
	int (*cmp)(const void *, const void *) = rules ? cmp_rule : cmp_shed;
	const char *kind = rules ? CG_KIND_RULE : CG_KIND_SHED;
	size_t *ai, *bi, i = 0, j = 0;
	struct cg_fields fo, fc;
	const void *x, *y;
	char name[96];
	int c, ret = 0;

	ai = sorted_index_by(a, stride, na, cmp);
	bi = sorted_index_by(b, stride, nb, cmp);
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
				rule_str(x, name, sizeof(name));
			else
				shed_str(from, x, name, sizeof(name));
			report_long(d, '-', kind, name);
			i++;
			continue;
		}
		if (rules)
			rule_str(y, name, sizeof(name));
		else
			shed_str(to, y, name, sizeof(name));
		if (c > 0) {
			if (rules)
				rule_fields(to, y, &fc);
			else
				shed_fields(to, y, &fc);
			fields_detail(&d->sb, NULL, &fc);
			if (!d->sb.err)
				report_long(d, '+', kind, name);
			j++;
		} else {
			if (rules) {
				rule_detail(&d->sb, from, x, to, y);
			} else {
				shed_fields(from, x, &fo);
				shed_fields(to, y, &fc);
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

	ai = sorted_index(a, stride, na);
	bi = sorted_index(b, stride, nb);
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
	free(d.sb.s);
	return ret ? ret : d.count;
}
