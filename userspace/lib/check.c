// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* check.c - cg_state_check(): the rules of a desired state, on the struct, whoever built it */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/check.h"
#include "cellgate/field.h"
#include "cellgate/health.h"
#include "cellgate/maglev.h"
#include "cellgate/region.h"
#include "cellgate/text.h"

struct chk {
	const struct cg_state *st;
	const struct cg_where *where;
	char *err;
	size_t errlen;
};

/* The line of (kind, idx, key, item), 0 without a where. */
static unsigned int at(const struct chk *c, const char *kind, size_t idx, const char *key,
		       long item)
{
	if (!c->where || !c->where->line)
		return 0;
	return c->where->line(c->where->arg, kind, idx, key, item);
}

/* " (first at line N)": an earlier line named in a message, "" when lines are unknown. */
static const char *first_at(const struct chk *c, unsigned int line, char *buf, size_t len)
{
	if (c->where && line)
		snprintf(buf, len, " (first at line %u)", line);
	else
		buf[0] = 0;
	return buf;
}

static int cerr(struct chk *c, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cerr(struct chk *c, unsigned int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!c->err || !c->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->where && line)
		snprintf(c->err, c->errlen, "%s:%u: %s", c->where->file, line, msg);
	else if (c->where)
		snprintf(c->err, c->errlen, "%s: %s", c->where->file, msg);
	else
		snprintf(c->err, c->errlen, "%s", msg);
	return -EINVAL;
}

/* "cell 'use1-a': " for a good name, else "cell #3: ". */
static const char *label(const char *kind, const char *name, size_t idx, char *buf, size_t len)
{
	if (name && cg_name_valid(name))
		snprintf(buf, len, "%s '%s': ", kind, name);
	else
		snprintf(buf, len, "%s #%zu: ", kind, idx + 1);
	return buf;
}

/* Every field of object idx of kind o by its table; the message at the field's line. */
static int fields(struct chk *c, const struct cg_object *o, const void *obj, size_t idx,
		  const char *pre)
{
	const struct cg_field *f;
	char msg[384];

	for (f = o->fields; f->name; f++)
		if (cg_field_check(f, obj, msg, sizeof(msg)))
			return cerr(c, at(c, o->name, idx, f->name, -1), "%s%s", pre, msg);
	return 0;
}

/*
 * The first of n items whose key equals an earlier one's, in key order:
 * *dup and *first get the later and the earlier index. cmp compares items
 * i and j of ctx. Returns 1 if found, 0 if not, -ENOMEM.
 */
struct dupctx {
	int (*cmp)(const void *ctx, size_t i, size_t j);
	const void *ctx;
};

static int cmp_dup(const void *a, const void *b, void *arg)
{
	const struct dupctx *d = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int r = d->cmp(d->ctx, i, j);

	return r ? r : (i > j) - (i < j);
}

static int find_dup(size_t n, int (*cmp)(const void *ctx, size_t i, size_t j), const void *ctx,
		    size_t *dup, size_t *first)
{
	struct dupctx d = { cmp, ctx };
	size_t *idx, i;
	int found = 0;

	if (n < 2)
		return 0;
	idx = malloc(n * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_dup, &d);
	for (i = 1; i < n && !found; i++) {
		if (!cmp(ctx, idx[i - 1], idx[i])) {
			*first = idx[i - 1];
			*dup = idx[i];
			found = 1;
		}
	}
	free(idx);
	return found;
}

/* A name at offset off of items of size stride. */
struct names {
	const char *base;
	size_t stride;
};

static int cmp_name(const void *ctx, size_t i, size_t j)
{
	const struct names *n = ctx;

	return strcmp(n->base + i * n->stride, n->base + j * n->stride);
}

/* "duplicate cell name 'a' (first at line 7)" for names at the start of each item. */
static int unique_names(struct chk *c, const char *kind, const void *base, size_t stride, size_t n)
{
	struct names nm = { base, stride };
	size_t dup = 0, first = 0;
	char fa[40];
	int r;

	r = find_dup(n, cmp_name, &nm, &dup, &first);
	if (r < 0)
		return cerr(c, 0, "out of memory");
	if (!r)
		return 0;
	return cerr(c, at(c, kind, dup, NULL, -1), "duplicate %s name '%s'%s", kind,
		    nm.base + dup * stride,
		    first_at(c, at(c, kind, first, NULL, -1), fa, sizeof(fa)));
}

/* Explicit ids unique in file order: "cell 'b': id 7 is already used by another cell (line 7)". */
static int unique_ids(struct chk *c, const char *kind, const void *base, size_t stride,
		      size_t idoff, size_t n, uint32_t max)
{
	size_t *owner, i;
	const char *obj;
	char pre[CG_NAME_MAX + 40], where[32] = "";
	uint32_t id;
	int ret = 0;

	owner = calloc(max, sizeof(*owner));
	if (!owner)
		return cerr(c, 0, "out of memory");
	for (i = 0; i < n && !ret; i++) {
		obj = (const char *)base + i * stride;
		memcpy(&id, obj + idoff, sizeof(id));
		if (id == CG_ID_AUTO || id >= max)
			continue;
		if (owner[id]) {
			if (c->where && at(c, kind, owner[id] - 1, "id", -1))
				snprintf(where, sizeof(where), " (line %u)",
					 at(c, kind, owner[id] - 1, "id", -1));
			ret = cerr(c, at(c, kind, i, "id", -1),
				   "%sid %u is already used by another %s%s",
				   label(kind, obj, i, pre, sizeof(pre)), id, kind, where);
		}
		owner[id] = i + 1;
	}
	free(owner);
	return ret;
}

static int cmp_ifname(const void *ctx, size_t i, size_t j)
{
	const struct cg_state *st = ctx;

	return strcmp(st->ifaces[i], st->ifaces[j]);
}

/* An interface name as a string, even if it fills its array. */
static const char *ifname_copy(const char *name, char *buf)
{
	memcpy(buf, name, IF_NAMESIZE - 1);
	buf[IF_NAMESIZE - 1] = '\0';
	return buf;
}

static int check_settings(struct chk *c)
{
	const struct cg_state *st = c->st;
	size_t i, dup = 0, first = 0;
	char fa[40], ifq[IF_NAMESIZE], ifq_show[CG_SHOW_TEXT_MAX];
	int ret;

	ret = fields(c, &cg_settings_obj, st, 0, "");
	if (ret)
		return ret;
	if (!st->nifaces || st->nifaces > CG_MAX_IFACES)
		return cerr(c, at(c, "settings", 0, "interfaces", -1),
			    "interfaces: %zu items (1 to %d)", st->nifaces, CG_MAX_IFACES);
	for (i = 0; i < st->nifaces; i++)
		if (!memchr(st->ifaces[i], 0, IF_NAMESIZE) || !cg_ifname_valid(st->ifaces[i]))
			return cerr(c, at(c, "settings", 0, "interfaces", (long)i),
				    "interfaces: '%s' is not a valid interface name",
				    cg_show(ifname_copy(st->ifaces[i], ifq), ifq_show,
					    sizeof(ifq_show)));
	ret = find_dup(st->nifaces, cmp_ifname, st, &dup, &first);
	if (ret > 0)
		return cerr(c, at(c, "settings", 0, "interfaces", (long)dup),
			    "interfaces: '%s' is listed twice%s", st->ifaces[dup],
			    first_at(c, at(c, "settings", 0, "interfaces", (long)first), fa,
				     sizeof(fa)));
	return ret < 0 ? cerr(c, 0, "out of memory") : 0;
}

static int check_classes(struct chk *c)
{
	const struct cg_state *st = c->st;
	const struct cg_class_cfg *k;
	char pre[CG_NAME_MAX + 40];
	size_t i;
	int ret;

	if (!st->nclasses || st->nclasses > CG_MAX_CLASSES)
		return cerr(c, 0, "classes: %zu classes (1 to %d)", st->nclasses, CG_MAX_CLASSES);
	for (i = 0; i < st->nclasses; i++) {
		k = &st->classes[i];
		label("class", k->name, i, pre, sizeof(pre));
		ret = fields(c, &cg_class_obj, k, i, pre);
		if (!ret && cg_all_digits(k->name))
			ret = cerr(c, at(c, "class", i, "name", -1),
				   "%sname '%s' is a number: a class name needs a letter (numbers "
				   "are ids)",
				   pre, k->name);
		if (ret)
			return ret;
	}
	ret = unique_ids(c, "class", st->classes, sizeof(*st->classes),
			 offsetof(struct cg_class_cfg, id), st->nclasses, CG_MAX_CLASSES);
	if (!ret)
		ret = unique_names(c, "class", st->classes, sizeof(*st->classes), st->nclasses);
	return ret;
}

static int cmp_rule_at(const void *ctx, size_t i, size_t j)
{
	const struct cg_state *st = ctx;

	return cg_rule_cmp(&st->rules[i], &st->rules[j]);
}

/* The class id of a rule, a service's default or a shed entry names a class. */
static int class_exists(struct chk *c, uint8_t id, unsigned int line, const char *pre)
{
	if (cg_state_class_by_id(c->st, id))
		return 0;
	return cerr(c, line, "%sunknown class id %u", pre, id);
}

static int check_rules(struct chk *c)
{
	const struct cg_state *st = c->st;
	const struct cg_class_rule_cfg *r;
	struct cg_addr masked;
	size_t i, n4 = 0, n6 = 0, dup = 0, first = 0;
	char pre[40], name[CG_PREFIX_TEXT_MAX + 8], fa[40];
	unsigned int max;
	int ret;

	for (i = 0; i < st->nrules; i++) {
		r = &st->rules[i];
		snprintf(pre, sizeof(pre), "class_rule #%zu: ", i + 1);
		if (r->kind == CG_RULE_PREFIX) {
			max = r->prefix.family == CG_AF_INET6 ? 128 : 32;
			masked = r->prefix;
			if (r->prefix.family != CG_AF_INET && r->prefix.family != CG_AF_INET6)
				return cerr(c, at(c, "class_rule", i, "prefix", -1),
					    "%sprefix has a bad address family %u", pre,
					    r->prefix.family);
			if (r->prefix_len > max || cg_prefix_mask(&masked, r->prefix_len))
				return cerr(c, at(c, "class_rule", i, "prefix", -1),
					    "%sprefix %s has host bits set or a bad length", pre,
					    cg_rule_str(r, name, sizeof(name)));
			if (r->prefix.family == CG_AF_INET ? ++n4 > CG_MAX_CLASS_RULES :
							     ++n6 > CG_MAX_CLASS_RULES)
				return cerr(c, at(c, "class_rule", i, NULL, -1),
					    "%stoo many IPv%d prefixes (at most %u)", pre,
					    r->prefix.family == CG_AF_INET ? 4 : 6,
					    CG_MAX_CLASS_RULES);
		} else if (r->kind == CG_RULE_DSCP) {
			if (r->dscp > CG_MAX_DSCP)
				return cerr(c, at(c, "class_rule", i, "dscp", -1),
					    "%sdscp %u is out of range (0..%d)", pre, r->dscp,
					    CG_MAX_DSCP);
		} else {
			return cerr(c, at(c, "class_rule", i, NULL, -1), "%sunknown rule kind %u",
				    pre, r->kind);
		}
		ret = class_exists(c, r->class, at(c, "class_rule", i, "class", -1), pre);
		if (ret)
			return ret;
	}
	ret = find_dup(st->nrules, cmp_rule_at, st, &dup, &first);
	if (ret > 0)
		return cerr(c, at(c, "class_rule", dup, NULL, -1), "duplicate rule for %s%s",
			    cg_rule_str(&st->rules[dup], name, sizeof(name)),
			    first_at(c, at(c, "class_rule", first, NULL, -1), fa, sizeof(fa)));
	return ret < 0 ? cerr(c, 0, "out of memory") : 0;
}

static int check_guard(struct chk *c)
{
	const struct cg_guard_cfg *g = &c->st->guard;
	int ret;

	ret = fields(c, &cg_guard_obj, g, 0, "guard: ");
	if (!ret && !g->burst && g->new_flows_per_sec)
		ret = cerr(c, at(c, "guard", 0, "burst", -1),
			   "guard: burst 0 would refuse every new flow (at least 1, or "
			   "new_flows_per_sec 0 to turn the guard off)");
	if (!ret && g->ipv4_aggregate > g->ipv4_prefix)
		ret = cerr(c, at(c, "guard", 0, "ipv4_aggregate", -1),
			   "guard: ipv4_aggregate /%u is longer than ipv4_prefix /%u (an aggregate "
			   "holds prefixes)",
			   g->ipv4_aggregate, g->ipv4_prefix);
	if (!ret && g->ipv6_aggregate > g->ipv6_prefix)
		ret = cerr(c, at(c, "guard", 0, "ipv6_aggregate", -1),
			   "guard: ipv6_aggregate /%u is longer than ipv6_prefix /%u (an aggregate "
			   "holds prefixes)",
			   g->ipv6_aggregate, g->ipv6_prefix);
	return ret;
}

/* The health settings: each field in range, then what holds between them (cg_health_cfg_check). */
static int check_health(struct chk *c)
{
	const struct cg_health_settings *h = &c->st->health;
	struct cg_health_cfg hc;
	char msg[200];
	int ret;

	ret = fields(c, &cg_health_obj, h, 0, "health: ");
	if (ret)
		return ret;
	if (h->probe == CG_PROBE_HTTP && h->http_path[0] != '/')
		return cerr(c, at(c, "health", 0, "http_path", -1),
			    "health: http_path must start with '/'");
	cg_health_cfg_from(h, &hc);
	if (cg_health_cfg_check(&hc, msg, sizeof(msg)))
		return cerr(c, at(c, "health", 0, NULL, -1), "%s", msg);
	return 0;
}

/* The locality settings: each field in range, and the spill withdrawn no faster than it rises. */
static int check_locality(struct chk *c)
{
	const struct cg_loc_settings *l = &c->st->locality;
	int ret;

	ret = fields(c, &cg_loc_obj, l, 0, "locality: ");
	if (ret)
		return ret;
	if (l->withdraw_ppm > l->rise_ppm)
		return cerr(c, at(c, "locality", 0, "withdraw", -1),
			    "locality: withdraw %u ppm is above rise (%u ppm): withdrawal must be "
			    "the slower",
			    l->withdraw_ppm, l->rise_ppm);
	return 0;
}

/* The failover settings: each field in range, then the ramp as a whole (cg_ramp_check). */
static int check_failover(struct chk *c)
{
	const struct cg_failover_settings *f = &c->st->failover;
	struct cg_rules r;
	char msg[CG_RULE_WHY_MAX];
	int ret;

	ret = fields(c, &cg_failover_obj, f, 0, "failover: ");
	if (ret)
		return ret;
	cg_rules_from(f, &r);
	if (cg_ramp_check(&r.ramp, msg, sizeof(msg)))
		return cerr(c, at(c, "failover", 0, "ramp", -1), "failover: %s", msg);
	return 0;
}

/* The backpressure settings: each field in range, then what holds between them. */
static int check_bp(struct chk *c)
{
	const struct cg_bp_settings *b = &c->st->bp;
	int ret;

	ret = fields(c, &cg_bp_obj, b, 0, "backpressure: ");
	if (ret)
		return ret;
	if (b->hysteresis_ppm >= b->target_ppm)
		return cerr(c, at(c, "backpressure", 0, "hysteresis", -1),
			    "backpressure: hysteresis %u ppm is not below the target (%u ppm)",
			    b->hysteresis_ppm, b->target_ppm);
	if (b->stale_ms <= b->period_ms)
		return cerr(c, at(c, "backpressure", 0, "stale_ms", -1),
			    "backpressure: stale_ms %u is not longer than period_ms (%u)",
			    b->stale_ms, b->period_ms);
	if (b->release_step_ppm > b->max_step_ppm)
		return cerr(c, at(c, "backpressure", 0, "release_step", -1),
			    "backpressure: release_step %u ppm is above max_step (%u ppm): release "
			    "must be the slower",
			    b->release_step_ppm, b->max_step_ppm);
	return 0;
}

/* The metrics settings: the listen address is one cellgated can bind, or off. */
static int check_metrics(struct chk *c)
{
	struct cg_addr a;
	char msg[CG_SHOW_TEXT_MAX + 96];
	uint16_t port;
	int ret;

	ret = fields(c, &cg_metrics_obj, &c->st->metrics, 0, "metrics: ");
	if (ret)
		return ret;
	if (cg_listen_parse(c->st->metrics.listen, "listen", &a, &port, msg, sizeof(msg)) < 0)
		return cerr(c, at(c, "metrics", 0, "listen", -1), "metrics: %s", msg);
	return 0;
}

static int check_regions(struct chk *c)
{
	const struct cg_state *st = c->st;
	char pre[CG_NAME_MAX + 40];
	size_t i;
	int ret;

	if (!st->nregions || st->nregions > CG_MAX_REGIONS)
		return cerr(c, 0, "regions: %zu regions (1 to %d)", st->nregions, CG_MAX_REGIONS);
	for (i = 0; i < st->nregions; i++) {
		ret = fields(c, &cg_region_obj, &st->regions[i], i,
			     label("region", st->regions[i].name, i, pre, sizeof(pre)));
		if (ret)
			return ret;
	}
	ret = unique_ids(c, "region", st->regions, sizeof(*st->regions),
			 offsetof(struct cg_region_cfg, id), st->nregions, CG_MAX_REGIONS);
	if (!ret)
		ret = unique_names(c, "region", st->regions, sizeof(*st->regions), st->nregions);
	if (!ret && !cg_state_find_region(st, st->region))
		ret = cerr(c, at(c, "settings", 0, "region", -1),
			   "region '%s' is not one of the regions", st->region);
	return ret;
}

static bool addr_same(const struct cg_addr *a, const struct cg_addr *b)
{
	return a->family && a->family == b->family && !memcmp(a->a, b->a, sizeof(a->a));
}

/*
 * A cell's gateway is where its packets are sent: never this LB's own source
 * address (they would loop back into it) nor a VIP (into the service again).
 */
static int check_gateway(struct chk *c, size_t i, const char *pre)
{
	const struct cg_state *st = c->st;
	const struct cg_addr *gw = &st->cells[i].gw;
	char abuf[CG_ADDR_TEXT_MAX];
	size_t j;

	if (addr_same(gw, &st->src4) || addr_same(gw, &st->src6))
		return cerr(c, at(c, "cell", i, "gateway", -1),
			    "%sgateway %s is this LB's own source address", pre,
			    cg_addr_format(gw, abuf, sizeof(abuf)));
	for (j = 0; j < st->nservices; j++)
		if (addr_same(gw, &st->services[j].vip))
			return cerr(c, at(c, "cell", i, "gateway", -1),
				    "%sgateway %s is the VIP of service '%s'", pre,
				    cg_addr_format(gw, abuf, sizeof(abuf)), st->services[j].name);
	return 0;
}

/*
 * IPv6 needs a path MTU of at least 1280 (RFC 8200): with IPv6 in play (an
 * IPv6 source, so IPv6 cells, or an IPv6 VIP) a smaller mtu is refused.
 */
static int check_mtu(struct chk *c)
{
	const struct cg_state *st = c->st;
	size_t j;

	if (st->mtu >= CG_MIN_MTU_IPV6)
		return 0;
	if (st->src6.family == CG_AF_INET6)
		return cerr(c, at(c, "settings", 0, "mtu", -1),
			    "mtu %u is below %u, the IPv6 minimum, and source.ipv6 is set", st->mtu,
			    CG_MIN_MTU_IPV6);
	for (j = 0; j < st->nservices; j++)
		if (st->services[j].vip.family == CG_AF_INET6)
			return cerr(c, at(c, "settings", 0, "mtu", -1),
				    "mtu %u is below %u, the IPv6 minimum, and service '%s' has an "
				    "IPv6 VIP",
				    st->mtu, CG_MIN_MTU_IPV6, st->services[j].name);
	return 0;
}

static int check_cells(struct chk *c)
{
	const struct cg_state *st = c->st;
	const struct cg_cell_cfg *cl;
	char pre[CG_NAME_MAX + 40], abuf[CG_ADDR_TEXT_MAX];
	size_t i;
	int ret;

	if (st->ncells > CG_MAX_CELLS)
		return cerr(c, 0, "too many cells (%zu, at most %d)", st->ncells, CG_MAX_CELLS);
	for (i = 0; i < st->ncells; i++) {
		cl = &st->cells[i];
		label("cell", cl->name, i, pre, sizeof(pre));
		ret = fields(c, &cg_cell_obj, cl, i, pre);
		if (ret)
			return ret;
		if (!cg_state_find_region(st, cl->region))
			return cerr(c, at(c, "cell", i, "region", -1), "%sunknown region '%s'", pre,
				    cl->region);
		if ((cl->gw.family == CG_AF_INET && !st->src4.family) ||
		    (cl->gw.family == CG_AF_INET6 && !st->src6.family))
			return cerr(c, at(c, "cell", i, "gateway", -1),
				    "%sgateway %s is IPv%d but source has no ipv%d address", pre,
				    cg_addr_format(&cl->gw, abuf, sizeof(abuf)),
				    cl->gw.family == CG_AF_INET ? 4 : 6,
				    cl->gw.family == CG_AF_INET ? 4 : 6);
		ret = check_gateway(c, i, pre);
		if (ret)
			return ret;
	}
	ret = unique_ids(c, "cell", st->cells, sizeof(*st->cells), offsetof(struct cg_cell_cfg, id),
			 st->ncells, CG_MAX_CELLS);
	if (!ret)
		ret = unique_names(c, "cell", st->cells, sizeof(*st->cells), st->ncells);
	return ret;
}

static int cmp_svc_cell(const void *ctx, size_t i, size_t j)
{
	const struct cg_service_cfg *s = ctx;

	return strcmp(s->cells[i], s->cells[j]);
}

static int check_service(struct chk *c, size_t i)
{
	const struct cg_service_cfg *s = &c->st->services[i];
	char pre[CG_NAME_MAX + 40], fa[40];
	size_t k, dup = 0, first = 0;
	int ret;

	label("service", s->name, i, pre, sizeof(pre));
	ret = fields(c, &cg_service_obj, s, i, pre);
	if (ret)
		return ret;
	if (!cg_maglev_is_prime(s->table_size))
		return cerr(c, at(c, "service", i, "table_size", -1),
			    "%stable_size %u is not prime", pre, s->table_size);
	ret = class_exists(c, s->default_class, at(c, "service", i, "default_class", -1), pre);
	if (ret)
		return ret;
	if (!s->ncells)
		return cerr(c, at(c, "service", i, "cells", -1),
			    "%scells is empty: a service needs at least one cell", pre);
	for (k = 0; k < s->ncells; k++)
		if (!cg_state_find_cell(c->st, s->cells[k]))
			return cerr(c, at(c, "service", i, "cells", (long)k),
				    "%scell '%.*s' is not defined", pre, CG_NAME_MAX - 1,
				    s->cells[k]);
	ret = find_dup(s->ncells, cmp_svc_cell, s, &dup, &first);
	if (ret > 0)
		return cerr(c, at(c, "service", i, "cells", (long)dup),
			    "%scell '%s' is listed twice%s", pre, s->cells[dup],
			    first_at(c, at(c, "service", i, "cells", (long)first), fa, sizeof(fa)));
	if (ret < 0)
		return cerr(c, 0, "out of memory");
	if (s->table_size < s->ncells)
		return cerr(c, at(c, "service", i, "table_size", -1),
			    "%stable_size %u is smaller than its %zu cells", pre, s->table_size,
			    s->ncells);
	return 0;
}

static int cmp_svc_key(const void *ctx, size_t i, size_t j)
{
	const struct cg_service_cfg *a = &((const struct cg_state *)ctx)->services[i];
	const struct cg_service_cfg *b = &((const struct cg_state *)ctx)->services[j];
	int r = memcmp(&a->vip, &b->vip, sizeof(a->vip));

	if (!r)
		r = (a->port > b->port) - (a->port < b->port);
	if (!r)
		r = (a->proto > b->proto) - (a->proto < b->proto);
	return r;
}

static int check_services(struct chk *c)
{
	const struct cg_state *st = c->st;
	const struct cg_service_cfg *s, *t;
	char abuf[CG_ADDR_TEXT_MAX], line[32] = "";
	size_t i, dup = 0, first = 0;
	int ret;

	if (st->nservices > CG_MAX_SERVICES)
		return cerr(c, 0, "too many services (%zu, at most %d)", st->nservices,
			    CG_MAX_SERVICES);
	for (i = 0; i < st->nservices; i++) {
		ret = check_service(c, i);
		if (ret)
			return ret;
	}
	ret = find_dup(st->nservices, cmp_svc_key, st, &dup, &first);
	if (ret > 0) {
		s = &st->services[dup];
		t = &st->services[first];
		if (c->where && at(c, "service", first, NULL, -1))
			snprintf(line, sizeof(line), " (line %u)",
				 at(c, "service", first, NULL, -1));
		return cerr(c, at(c, "service", dup, NULL, -1),
			    "service '%s': %s port %u %s is already served by service '%s'%s",
			    s->name, cg_addr_format(&s->vip, abuf, sizeof(abuf)), s->port,
			    cg_enum_name(cg_proto_names, s->proto, "?"), t->name, line);
	}
	if (ret < 0)
		return cerr(c, 0, "out of memory");
	ret = unique_ids(c, "service", st->services, sizeof(*st->services),
			 offsetof(struct cg_service_cfg, id), st->nservices, CG_MAX_SERVICES);
	if (!ret)
		ret = unique_names(c, "service", st->services, sizeof(*st->services),
				   st->nservices);
	return ret;
}

static int cmp_shed_at(const void *ctx, size_t i, size_t j)
{
	const struct cg_state *st = ctx;

	return cg_shed_cmp_v(&st->shed[i], &st->shed[j]);
}

static int check_shed(struct chk *c)
{
	const struct cg_state *st = c->st;
	const struct cg_shed_cfg *e;
	char pre[40], name[2 * CG_NAME_MAX + 2], fa[40];
	size_t i, dup = 0, first = 0;
	int ret;

	if (st->nshed > CG_MAX_SHED)
		return cerr(c, 0, "too many shed entries (%zu, at most %d)", st->nshed,
			    (int)CG_MAX_SHED);
	for (i = 0; i < st->nshed; i++) {
		e = &st->shed[i];
		snprintf(pre, sizeof(pre), "shed #%zu: ", i + 1);
		ret = fields(c, &cg_shed_obj, e, i, pre);
		if (ret)
			return ret;
		if (strcmp(e->cell, CG_SHED_ANY_CELL) && !cg_state_find_cell(st, e->cell))
			return cerr(c, at(c, "shed", i, "cell", -1), "%sunknown cell '%s'", pre,
				    e->cell);
		ret = class_exists(c, e->class, at(c, "shed", i, "class", -1), pre);
		if (ret)
			return ret;
	}
	ret = find_dup(st->nshed, cmp_shed_at, st, &dup, &first);
	if (ret > 0)
		return cerr(c, at(c, "shed", dup, NULL, -1), "duplicate shed entry for %s%s",
			    cg_shed_str(st, &st->shed[dup], name, sizeof(name)),
			    first_at(c, at(c, "shed", first, NULL, -1), fa, sizeof(fa)));
	return ret < 0 ? cerr(c, 0, "out of memory") : 0;
}

/*
 * Evacuation records: each field, the region exists, one record a region,
 * a ramp step only while restoring and below the ramp's length, an expiry
 * only while draining or evacuated, the step not begun before the transition.
 */
static int check_evacs(struct chk *c)
{
	const struct cg_state *st = c->st;
	const struct cg_evac *e;
	char pre[CG_NAME_MAX + 40];
	size_t i;
	int ret;

	if (st->nevacs > CG_MAX_REGIONS)
		return cerr(c, 0, "too many evacuation records (%zu, at most %d)", st->nevacs,
			    CG_MAX_REGIONS);
	for (i = 0; i < st->nevacs; i++) {
		e = &st->evacs[i];
		label("evacuation", e->region, i, pre, sizeof(pre));
		ret = fields(c, &cg_evac_obj, e, i, pre);
		if (ret)
			return ret;
		if (!cg_state_find_region(st, e->region))
			return cerr(c, at(c, "evacuation", i, "region", -1),
				    "%sunknown region '%s'", pre, e->region);
		if (e->state == CG_REGION_RESTORING ? e->step >= st->failover.nramp : e->step)
			return cerr(c, at(c, "evacuation", i, "step", -1),
				    "%sstep %u: a step is only kept while restoring, below the "
				    "ramp's %zu steps",
				    pre, e->step, st->failover.nramp);
		if (e->expires && e->state != CG_REGION_DRAINING && e->state != CG_REGION_EVACUATED)
			return cerr(c, at(c, "evacuation", i, "expires", -1),
				    "%sexpires %lld: only a draining or evacuated region expires",
				    pre, (long long)e->expires);
		if (e->step_started < e->changed)
			return cerr(c, at(c, "evacuation", i, "since", -1),
				    "%ssince %lld is before its last transition (changed %lld)",
				    pre, (long long)e->step_started, (long long)e->changed);
	}
	return unique_names(c, "evacuation", st->evacs, sizeof(*st->evacs), st->nevacs);
}

/* The saga in flight (none when its region is ""): a region with a record, sane progress. */
static int check_saga(struct chk *c)
{
	const struct cg_saga_cfg *g = &c->st->saga;
	int ret;

	if (!g->region[0])
		return 0;
	ret = fields(c, &cg_saga_obj, g, 0, "saga: ");
	if (ret)
		return ret;
	if (!cg_state_find_region(c->st, g->region))
		return cerr(c, at(c, "saga", 0, "region", -1), "saga: unknown region '%s'",
			    g->region);
	if (!cg_evac_find(c->st, g->region))
		return cerr(c, at(c, "saga", 0, "region", -1),
			    "saga: region '%s' has no evacuation record", g->region);
	if (g->rec.phase == CG_SAGA_IDLE)
		return cerr(c, at(c, "saga", 0, "phase", -1),
			    "saga: phase idle: a saga in flight has started");
	if (g->rec.done > g->nsteps)
		return cerr(c, at(c, "saga", 0, "done", -1),
			    "saga: done %u is more than its %u steps", g->rec.done, g->nsteps);
	if (g->rec.in_step && g->rec.phase != CG_SAGA_FORWARD && g->rec.phase != CG_SAGA_BACK &&
	    g->rec.phase != CG_SAGA_STUCK)
		return cerr(c, at(c, "saga", 0, "in_step", -1),
			    "saga: in_step 1: no step runs in phase %s",
			    cg_enum_name(cg_saga_phase_names, g->rec.phase, "?"));
	if ((g->rec.in_step && g->rec.phase == CG_SAGA_FORWARD && g->rec.done >= g->nsteps) ||
	    (g->rec.phase == CG_SAGA_BACK && g->rec.in_step && !g->rec.done))
		return cerr(c, at(c, "saga", 0, "done", -1),
			    "saga: done %u: no such step is in flight", g->rec.done);
	return 0;
}

int cg_state_check(const struct cg_state *st, const struct cg_where *where, char *err,
		   size_t errlen)
{
	struct chk c = { st, where, err, errlen };
	int ret;

	/* in the order of the file: a config with several errors reports the first */
	ret = check_settings(&c);
	if (!ret)
		ret = check_classes(&c);
	if (!ret)
		ret = check_rules(&c);
	if (!ret)
		ret = check_guard(&c);
	if (!ret)
		ret = check_locality(&c);
	if (!ret)
		ret = check_health(&c);
	if (!ret)
		ret = check_failover(&c);
	if (!ret)
		ret = check_bp(&c);
	if (!ret)
		ret = check_metrics(&c);
	if (!ret)
		ret = check_regions(&c);
	if (!ret)
		ret = check_cells(&c);
	if (!ret)
		ret = check_services(&c);
	if (!ret)
		ret = check_shed(&c);
	if (!ret)
		ret = check_evacs(&c);
	if (!ret)
		ret = check_saga(&c);
	if (!ret)
		ret = check_mtu(&c);
	return ret;
}
