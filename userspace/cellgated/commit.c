// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* commit.c - the desired state's one way in: validate, persist, reconcile; shed level expiry */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cellgate/check.h"
#include "cellgate/config.h"
#include "cellgate/field.h"

#include "cellgate/region.h"
#include "cellgated.h"
/* Operator shed levels past their expiry leave the desired state (logged, persisted). */
static void expiry_timer(struct cg_loop *loop, void *arg)
{
	struct cgd *d = arg;
	int64_t now = (int64_t)time(NULL);
	struct cg_state next;
	char err[256], level[16];
	size_t i, n = 0;

	d->expiry_id = -1;
	if (cg_state_copy(&next, &d->st)) {
		cgd_log("cannot expire shed levels: out of memory");
		return;
	}
	for (i = 0; i < next.nshed; i++) {
		const struct cg_shed_cfg *e = &next.shed[i];
		char qby[CG_SHOW_TEXT_MAX], qreason[CG_SHOW_TEXT_MAX];

		if (!e->expires || e->expires > now) {
			next.shed[n++] = *e;
			continue;
		}
		if (d->expiry_retry_ms) /* said when it first expired */
			continue;
		cg_level_format(e->level_ppm, level, sizeof(level));
		cgd_log("shed level %s for %s/%u expired (set by '%s': '%s')", level, e->cell,
			e->class, cg_show(e->by, qby, sizeof(qby)),
			cg_show(e->reason, qreason, sizeof(qreason)));
	}
	if (n == next.nshed) {
		cg_state_free(&next);
		cgd_reconcile(d, "shed expiry check", err, sizeof(err));
		return;
	}
	n = next.nshed - n;
	next.nshed -= n;
	if (cgd_commit(d, &next, "shed level expired", false, NULL, NULL, err, sizeof(err)) >= 0) {
		d->expiry_retry_ms = 0;
		cg_state_free(&next);
		return;
	}
	cg_state_free(&next);
	/*
	 * Not saved (a full or read-only disk): the level still leaves the data
	 * plane now, since the maps apply only levels not yet expired, and saving
	 * is tried again, backing off to once a minute.
	 */
	d->expiry_retry_ms = d->expiry_retry_ms ? d->expiry_retry_ms * 2 : CGD_EXPIRY_RETRY_MS;
	if (d->expiry_retry_ms > CGD_EXPIRY_RETRY_MAX_MS)
		d->expiry_retry_ms = CGD_EXPIRY_RETRY_MAX_MS;
	cgd_log("cannot save the expiry of %zu shed level(s): %s; the data plane no longer "
		"applies them; saving again in %d ms",
		n, err, d->expiry_retry_ms);
	cgd_reconcile(d, "shed level expired, not saved", err, sizeof(err));
}

/* Does st hold an operator level already past its expiry (loaded after downtime, applied)? */
static bool shed_expired(const struct cg_state *st)
{
	int64_t now = (int64_t)time(NULL);
	size_t i;

	for (i = 0; i < st->nshed; i++)
		if (st->shed[i].expires && st->shed[i].expires <= now)
			return true;
	return false;
}

/* Wake up when the next operator level expires. */
static void arm_expiry(struct cgd *d, int64_t when)
{
	int64_t now = (int64_t)time(NULL);

	if (d->expiry_id >= 0)
		cg_loop_timer_cancel(d->loop, d->expiry_id);
	d->expiry_id = -1;
	if (!when)
		return;
	if (when <= now && d->expiry_retry_ms) /* an expiry not saved yet: its retry's delay */
		d->expiry_id =
			cg_loop_timer(d->loop, (uint64_t)d->expiry_retry_ms, expiry_timer, d);
	else
		d->expiry_id =
			cg_loop_timer(d->loop, when > now ? (uint64_t)(when - now) * 1000 + 20 : 20,
				      expiry_timer, d);
}

int cgd_reconcile(struct cgd *d, const char *cause, char *err, size_t errlen)
{
	struct cg_rec_report rep;
	int ret;

	cgd_health_sync(d);
	cgd_bp_sync(d);
	cgd_metrics_sync(d);
	if (d->fail_static[0])
		return 0;  /* the data plane is left as it is until a repair */
	cgd_fo_overlay(d); /* the region records and health, as persisted and seen now */
	cgd_loc_step(d);   /* a change of which cells may take flows is published at once */
	ret = cg_rec_apply(d->rec, &d->st, cgd_nh_lookup, d, &rep, err, errlen);
	d->last_rec = rep;
	d->rec_failed = ret != 0;
	if (ret) {
		cgd_log("reconcile (%s) failed: %s; retrying every %d ms", cause, err,
			CGD_RETRY_MS);
		cgd_arm_retry(d);
		return ret;
	}
	if (cg_rec_writes(&rep))
		cgd_log("reconcile (%s): wrote settings %u, cells %u, tables %u (removed %u), "
			"service keys %u (removed %u), shed levels %u, classes %u, rules %u "
			"(removed %u)",
			cause, rep.settings, rep.cells, rep.tables, rep.tables_del, rep.keys,
			rep.keys_del, rep.shed, rep.classes, rep.rules, rep.rules_del);
	if (rep.unready)
		cgd_log("reconcile (%s): %u cell(s) kept out of the tables until their next hop "
			"resolves, e.g. %s",
			cause, rep.unready, rep.first_unready);
	cgd_arm_retry(d);
	arm_expiry(d, shed_expired(&d->st) ? (int64_t)time(NULL) : rep.next_expiry);
	return 0;
}

struct diff_ctx {
	json_t *arr; /* the changes, as JSON objects {op, kind, name, detail} */
	size_t n;
};

static void diff_emit(void *arg, char op, const char *kind, const char *name, const char *detail)
{
	struct diff_ctx *c = arg;

	c->n++;
	json_array_append_new(c->arr,
			      json_pack("{s:s%, s:s, s:s, s:s}", "op", &op, (size_t)1, "kind", kind,
					"name", name, "detail", detail ? detail : ""));
}

/* One log line per change, with who caused it. */
static void log_changes(const json_t *arr, const char *cause)
{
	const json_t *ch;
	size_t i;

	json_array_foreach(arr, i, ch)
		cgd_log("change (%s): %s %s %s %s", cause,
			json_string_value(json_object_get(ch, "op")),
			json_string_value(json_object_get(ch, "kind")),
			json_string_value(json_object_get(ch, "name")),
			json_string_value(json_object_get(ch, "detail")));
}

/* A repair is about to replace a state file the loader refused: keep it as STATE.bad to inspect. */
static void keep_refused(const struct cgd *d)
{
	char bad[PATH_MAX + 8];

	snprintf(bad, sizeof(bad), "%s.bad", d->state_path);
	if (access(d->state_path, F_OK))
		return;
	if (unlink(bad) && errno != ENOENT)
		cgd_log("cannot replace '%s': %s", bad, strerror(errno));
	else if (link(d->state_path, bad))
		cgd_log("cannot keep the refused state as '%s': %s", bad, strerror(errno));
	else
		cgd_log("the refused state is kept as '%s'", bad);
}

/*
 * A repair replaces a state that could not be read, and with it the id
 * high-water marks: take them from the maps instead, so no new object gets
 * an id that connection entries, tables or counters may still hold.
 */
static void marks_from_maps(struct cgd *d)
{
	static struct cg_service_key keys[CG_MAX_SERVICE_KEYS];
	static struct cg_service svcs[CG_MAX_SERVICE_KEYS];
	uint32_t cells = 0, regions = 0, services = 0;
	struct cg_cell c, zero = { 0 };
	size_t n = 0, i;

	if (!d->dp)
		return;
	for (i = 0; i < CG_MAX_CELLS; i++)
		if (!cg_dp_cell_get(d->dp, (uint32_t)i, &c) && memcmp(&c, &zero, sizeof(c))) {
			cells = (uint32_t)i + 1;
			if (c.region + 1U > regions)
				regions = c.region + 1U;
		}
	if (!cg_dp_service_list(d->dp, keys, svcs, CG_MAX_SERVICE_KEYS, &n))
		for (i = 0; i < n && i < CG_MAX_SERVICE_KEYS; i++)
			if (svcs[i].id + 1 > services && svcs[i].id < CG_MAX_SERVICES)
				services = svcs[i].id + 1;
	if (cells > d->st.next_cell_id)
		d->st.next_cell_id = cells;
	if (regions > d->st.next_region_id)
		d->st.next_region_id = regions;
	if (services > d->st.next_service_id)
		d->st.next_service_id = services;
	cgd_log("repair: ids start above what the maps hold (cells %u, regions %u, services %u)",
		d->st.next_cell_id, d->st.next_region_id, d->st.next_service_id);
}

/* Is name one of st's interfaces? */
static bool has_iface(const struct cg_state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->nifaces; i++)
		if (!strcmp(st->ifaces[i], name))
			return true;
	return false;
}

/*
 * What only this host can tell of next, checked before anything is saved:
 * every interface it adds exists, the XDP mode it asks for is the one the
 * router's links run in (a pinned link keeps its mode), a new conntrack size
 * is one the kernel creates. 0, or -errno with one line in err.
 */
static int host_check(const struct cgd *d, const struct cg_state *next, char *err, size_t errlen)
{
	int mode = d->xdp_mode >= 0 ? d->xdp_mode : next->xdp_mode, ret;
	const char *want = mode == CG_XDP_NATIVE  ? "native" :
			   mode == CG_XDP_GENERIC ? "generic" :
						    NULL;
	size_t i;

	for (i = 0; i < next->nifaces; i++) {
		if (d->st_valid && has_iface(&d->st, next->ifaces[i]))
			continue; /* served already: whether it is there is the data plane's business */
		if (!if_nametoindex(next->ifaces[i])) {
			snprintf(err, errlen, "interface '%s' does not exist; nothing was changed",
				 next->ifaces[i]);
			return -ENODEV;
		}
	}
	for (i = 0; want && i < d->nifaces; i++) {
		const struct cgd_iface *ifc = &d->ifaces[i];

		if (!ifc->ifindex || !ifc->mode || !has_iface(next, ifc->name) ||
		    !strcmp(ifc->mode, want))
			continue;
		snprintf(err, errlen,
			 "xdp_mode %s: the router's link on '%s' runs in %s mode and keeps it; "
			 "'cellgated --teardown' and a restart change it; nothing was changed",
			 want, ifc->name, ifc->mode);
		return -EEXIST;
	}
	if (next->conntrack_size != d->st.conntrack_size) {
		ret = cg_dp_conntrack_probe(next->conntrack_size);
		if (ret) {
			snprintf(
				err, errlen,
				"conntrack %u: the kernel refuses a connection table of that size: "
				"%s; nothing was changed",
				next->conntrack_size, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/*
 * The safety rules on the change from d->st to next: 0, or -EPERM with the
 * rule and by how much in err. A repair is not held to them (the old state is
 * not one to compare with).
 */
/* Each cell's effective weight in st (per st->cells[i]): its weight if active, at its region's share. */
static uint32_t *eff_weights(const struct cg_state *st, const struct cg_rules *r)
{
	uint32_t frac[CG_MAX_REGIONS], *w = calloc(st->ncells + 1, sizeof(*w));

	if (!w)
		return NULL;
	cg_evac_fractions(st, st->evacs, st->nevacs, &r->ramp, frac);
	for (size_t i = 0; i < st->ncells; i++) {
		const struct cg_cell_cfg *c = &st->cells[i];
		uint32_t f = CG_PPM;

		for (size_t g = 0; g < st->nregions; g++)
			if (!strcmp(st->regions[g].name, c->region))
				f = frac[g];
		w[i] = c->state == CG_CELL_ACTIVE ? (uint32_t)((uint64_t)c->weight * f / CG_PPM) :
						    0;
		if (c->state == CG_CELL_ACTIVE && f && !w[i])
			w[i] = 1; /* a sliver of a share is still a share */
	}
	return w;
}

static int rules_gate(struct cgd *d, const struct cg_state *next, unsigned int flags,
		      const char *cause, char *err, size_t errlen)
{
	struct cg_rules_result res = { 0 };
	uint32_t *ow, *nw;
	struct cg_rules r;
	int ret;

	if (!d->st_valid || d->fail_static[0] || flags & CGD_RULES_CHECKED)
		return 0;
	cg_rules_from(&next->failover, &r);
	ow = eff_weights(&d->st, &r);
	nw = eff_weights(next, &r);
	if (!ow || !nw) {
		free(ow);
		free(nw);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = cg_rules_check(&(struct cg_eff){ &d->st, ow }, &(struct cg_eff){ next, nw }, &r,
			     flags & CGD_FORCE, &res);
	free(ow);
	free(nw);
	if (ret) {
		snprintf(err, errlen, "%s (--force overrides it)", res.why);
		cgd_log("refused (%s): %s", cause, err);
		return ret;
	}
	if (res.overridden) {
		snprintf(d->commit_overridden, sizeof(d->commit_overridden), "%s", res.why);
		if (!(flags & CGD_DRY_RUN))
			cgd_log("forced (%s): %s", cause, res.why);
	}
	return 0;
}

int cgd_commit(struct cgd *d, struct cg_state *next, const char *cause, unsigned int flags,
	       json_t **changes, json_t **written, char *err, size_t errlen)
{
	struct diff_ctx dc = { 0 };
	bool repair = d->fail_static[0] != '\0', dry_run = flags & CGD_DRY_RUN;
	char rerr[256];
	int ret;

	d->commit_warning[0] = d->commit_dp_error[0] = d->commit_overridden[0] = '\0';
	if (!d->st_valid)
		marks_from_maps(d);
	ret = cg_state_assign_ids(next, &d->st);
	if (ret) {
		snprintf(err, errlen, "cannot assign ids: %s",
			 ret == -ENOSPC ? "too many objects" : "an explicit id is taken");
		return ret;
	}
	/* one validation path: the rules of a state, on the struct */
	ret = cg_state_check(next, NULL, err, errlen);
	if (!ret)
		ret = host_check(d, next, err, errlen);
	if (!ret)
		ret = cgd_bp_check(next, err, errlen);
	if (!ret)
		ret = rules_gate(d, next, flags, cause, err, errlen);
	if (ret)
		return ret;
	cg_state_sort(next);
	next->generation = d->st.generation;

	dc.arr = json_array();
	if (!dc.arr)
		return -ENOMEM;
	cg_state_diff(&d->st, next, diff_emit, &dc);
	if ((!dc.n && !repair) || dry_run)
		goto done;
	if (!dc.n) /* fail-static on the state it has (an interface was missing): nothing to save */
		goto apply;
	ret = cg_state_generation_next(&d->st, &next->generation);
	if (ret) {
		snprintf(err, errlen,
			 "generation %llu is the last one: a commit would wrap the counter; "
			 "nothing was changed",
			 (unsigned long long)d->st.generation);
		cgd_log("refused (%s): %s", cause, err);
		goto done;
	}
	if (!d->st_valid)
		keep_refused(d);
	ret = cg_state_save(next, d->state_path, err, errlen);
	if (ret < 0) {
		next->generation = d->st.generation;
		cgd_log("refused (%s): %s", cause, err);
		goto done;
	}
	if (ret == CG_STATE_SAVED_UNSYNCED) {
		snprintf(d->commit_warning, sizeof(d->commit_warning), "%s", err);
		cgd_log("warning (%s): %s", cause, err);
		err[0] = '\0';
	}
	log_changes(dc.arr, cause);
	cg_state_free(&d->st);
	d->st = *next;
	cg_state_init(next);
	d->st_valid = true;
apply:
	if (repair) {
		cgd_log("fail-static ends (%s): was '%s'", cause, d->fail_static);
		d->fail_static[0] = '\0';
		if (!d->dp && cgd_dp_start(d)) {
			cgd_fail_static(d, "saved, but the data plane cannot be opened");
			snprintf(d->commit_dp_error, sizeof(d->commit_dp_error), "%s",
				 d->fail_static);
			goto done;
		}
		cgd_drop_stale_links(d);
		if (cgd_fill_recreated(d)) {
			cgd_fail_static(d, "saved, but the recreated maps cannot be filled "
					   "(logged above)");
			snprintf(d->commit_dp_error, sizeof(d->commit_dp_error), "%s",
				 d->fail_static);
			goto done;
		}
	}
	if (cgd_sync_ifaces(d) && repair) {
		cgd_fail_static(d, "saved, but an interface cannot be attached (logged above)");
		snprintf(d->commit_dp_error, sizeof(d->commit_dp_error), "%s", d->fail_static);
		goto done;
	}
	if (repair)
		cgd_pin_recreated(d);
	cgd_resolve_all(d);
	ret = cgd_reconcile(d, cause, rerr, sizeof(rerr));
	if (written)
		*written = json_pack(
			"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "shed_levels",
			(json_int_t)d->last_rec.shed, "classes", (json_int_t)d->last_rec.classes,
			"rules", (json_int_t)d->last_rec.rules, "rules_removed",
			(json_int_t)d->last_rec.rules_del, "settings",
			(json_int_t)d->last_rec.settings, "cells", (json_int_t)d->last_rec.cells,
			"tables", (json_int_t)d->last_rec.tables, "tables_removed",
			(json_int_t)d->last_rec.tables_del, "service_keys",
			(json_int_t)d->last_rec.keys, "service_keys_removed",
			(json_int_t)d->last_rec.keys_del, "unready_cells",
			(json_int_t)d->last_rec.unready);
	if (ret) { /* persisted: the retry timer and the next change finish the job */
		snprintf(d->commit_dp_error, sizeof(d->commit_dp_error),
			 "saved, but the data plane refused it: %s", rerr);
		cgd_log("%s (%s); retrying", d->commit_dp_error, cause);
		ret = 0;
	}
done:
	if (!ret && changes)
		*changes = json_incref(dc.arr);
	json_decref(dc.arr);
	return ret ? ret : (int)dc.n;
}

/* The persisted state, or the config to start from. Touches no map. */
int cgd_load_state(struct cgd *d, char *err, size_t errlen)
{
	int ret;

	ret = cg_state_load(d->state_path, &d->st, err, errlen);
	if (!ret) {
		cgd_log("desired state: %s (generation %llu)%s", d->state_path,
			(unsigned long long)d->st.generation,
			d->config_path ? "; --config is only read on a first start, "
					 "'cellctl config apply' changes a running one" :
					 "");
		return 0;
	}
	if (ret != -ENOENT)
		return ret; /* corrupt or unreadable: refuse, change nothing */
	if (!d->config_path) {
		snprintf(err, errlen, "no state in '%.300s' and no --config to start from",
			 d->state_path);
		return -ENOENT;
	}
	ret = cg_config_parse(d->config_path, &d->st, err, errlen);
	if (ret)
		return ret;
	ret = cg_state_assign_ids(&d->st, NULL);
	if (ret) {
		snprintf(err, errlen, "'%s': cannot assign ids: %s", d->config_path,
			 strerror(-ret));
		return ret;
	}
	d->st.generation = 1;
	ret = cg_state_save(&d->st, d->state_path, err, errlen);
	if (ret == CG_STATE_SAVED_UNSYNCED) {
		cgd_log("warning: %s", err);
		ret = 0;
	}
	if (!ret)
		cgd_log("desired state: %s, first start from %s", d->state_path, d->config_path);
	return ret;
}
