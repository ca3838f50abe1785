// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* health.c - cellgated's health prober: per-cell probes on the loop, states, panic, the overlay */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cellgate/config.h"
#include "cellgate/field.h"
#include "cellgate/health.h"
#include "cellgate/probe.h"
#include "cellgated.h"

/*
 * One entry per cell id. Each probed cell has its own timer, placed at a
 * jittered time from an rng seeded per LB (hash key seed, pid, clock), so
 * neither the cells of one LB nor the LBs of a fleet probe in step. A result
 * goes through the state machine (cellgate/health.h); a change is logged
 * with the result that caused it, then panic is computed: outside panic a
 * down cell gets the overlay cap CG_CELL_DOWN (out of the tables) and the
 * maps are reconciled; in panic the overlay stays as it was when the panic
 * began (freeze), whatever the probes say.
 */

struct cgd_hcell {
	struct cgd *d;		    /* back to the daemon (timer and probe callbacks) */
	uint32_t id;		    /* cell id, index of this entry */
	bool used;		    /* a cell of the state has this id */
	char name[CG_NAME_MAX];	    /* its name when synced */
	bool has_target;	    /* tgt is set: the cell is probed */
	struct cg_probe_target tgt; /* what is probed */
	char why[96];		    /* why not probed (no target, probes off), else "" */
	int timer_id;		    /* next probe's timer, 0 if none */
	int probe_id;		    /* probe in flight, 0 if none */
	struct cg_health_cell h;    /* the state machine */
};

struct cgd_health {
	struct cg_prober *pr;	       /* probes on d->loop */
	struct cg_health_settings set; /* the settings synced last */
	bool set_valid;		       /* set was synced once */
	struct cg_health_cfg cfg;      /* the state machine's view of set */
	struct cg_health_rng rng;      /* per LB */
	bool panic;		       /* frozen */
	int64_t panic_ms;	       /* when it began */
	int64_t calm_ms;	       /* after a panic: the controller waits until then */
	char panic_why[160];	       /* "5 of 6 probed cells failing ..." */
	struct cg_cell_overlay ov[CG_MAX_CELLS]; /* by cell id, given to the reconciler */
	struct cgd_hcell cells[CG_MAX_CELLS];	 /* by cell id */
};

static int64_t now_ms(void)
{
	return (int64_t)cg_loop_now_ms();
}

static void hc_stop(struct cgd_health *hp, struct cgd_hcell *c)
{
	if (c->timer_id > 0)
		cg_loop_timer_cancel(c->d->loop, c->timer_id);
	if (c->probe_id > 0 && hp->pr)
		cg_probe_cancel(hp->pr, c->probe_id);
	c->timer_id = c->probe_id = 0;
}

static void timer_due(struct cg_loop *loop, void *arg);

static void hc_arm(struct cgd_health *hp, struct cgd_hcell *c)
{
	int64_t now = now_ms(), due = cg_health_next_due(&c->h, &hp->cfg, &hp->rng, now);
	int id = cg_loop_timer(c->d->loop, (uint64_t)(due > now ? due - now : 1), timer_due, c);

	c->timer_id = id > 0 ? id : 0;
	if (id <= 0)
		cgd_log("health: cannot arm the probe timer of cell %s: %s", c->name,
			strerror(id < 0 ? -id : ENOMEM));
}

/* The panic numbers over the probed cells. */
static void counts(const struct cgd_health *hp, uint32_t *failing, uint32_t *probed)
{
	size_t i;

	*failing = *probed = 0;
	for (i = 0; i < CG_MAX_CELLS; i++) {
		const struct cgd_hcell *c = &hp->cells[i];

		if (!c->used || !c->has_target)
			continue;
		*probed += cg_health_probed(&c->h);
		*failing += cg_health_failing(&c->h);
	}
}

/*
 * Panic on or off, and the overlay outside panic; returns true if the
 * overlay changed (the maps need a reconcile).
 */
static bool evaluate(struct cgd *d)
{
	struct cgd_health *hp = d->health;
	uint32_t failing, probed;
	char thr[16];
	bool panic, changed = false;
	size_t i;

	counts(hp, &failing, &probed);
	panic = hp->set.probe != CG_PROBE_OFF &&
		cg_health_panic_counts(failing, probed, hp->cfg.panic_ppm);
	cg_level_format(hp->cfg.panic_ppm, thr, sizeof(thr));
	if (panic && !hp->panic) {
		hp->panic = true;
		hp->panic_ms = now_ms();
		snprintf(hp->panic_why, sizeof(hp->panic_why),
			 "%u of %u probed cells failing, more than the panic threshold %s", failing,
			 probed, thr);
		cgd_log("health: PANIC: %s: believing the prober is cut off, not the cells; "
			"FROZEN: no cell is taken out or put back for health until it ends",
			hp->panic_why);
	} else if (!panic && hp->panic) {
		hp->panic = false;
		/* cells coming back need rise good probes: until they had the time, a region
		 * still down is not evacuated for it */
		hp->calm_ms = now_ms() + (int64_t)(hp->cfg.rise + 1) *
						 (hp->cfg.interval_ms + hp->cfg.interval_ms / 2);
		cgd_log("health: panic over after %lld ms (%u of %u probed cells failing): "
			"acting on health again (no region evacuated for health for %lld ms)",
			(long long)(now_ms() - hp->panic_ms), failing, probed,
			(long long)(hp->calm_ms - now_ms()));
		hp->panic_why[0] = '\0';
	} else if (panic) {
		snprintf(hp->panic_why, sizeof(hp->panic_why),
			 "%u of %u probed cells failing, more than the panic threshold %s", failing,
			 probed, thr);
	}
	if (hp->panic)
		return false; /* frozen: the overlay stays as it was when the panic began */
	for (i = 0; i < CG_MAX_CELLS; i++) {
		const struct cgd_hcell *c = &hp->cells[i];
		uint8_t cap = c->used && c->has_target && hp->set.probe != CG_PROBE_OFF &&
					      c->h.state == CG_HEALTH_DOWN ?
				      CG_CELL_DOWN :
				      0;

		if (hp->ov[i].cap != cap) {
			hp->ov[i].cap = cap;
			changed = true;
		}
	}
	return changed;
}

static void act(struct cgd *d, const char *cause)
{
	char err[256];

	if (evaluate(d))
		cgd_reconcile(d, cause, err, sizeof(err));
	cgd_fo_tick(
		d); /* a region that lost its share of cells is evacuated now, not at the tick */
}

static void probe_done(const struct cg_probe_result *res, void *arg)
{
	struct cgd_hcell *c = arg;
	struct cgd *d = c->d;
	struct cgd_health *hp = d->health;
	char cause[CG_NAME_MAX + 64];
	uint32_t lat = res->latency_us > UINT32_MAX ? UINT32_MAX : (uint32_t)res->latency_us;
	int ret;

	c->probe_id = 0;
	ret = cg_health_result(&c->h, &hp->cfg, res->ok, res->err, lat, now_ms());
	if (ret == 1) {
		if (res->ok)
			cgd_log("health: cell %s %s -> %s (probe ok in %u us%s%.0u, %u good in a row)",
				c->name, cg_health_name(c->h.prev_state),
				cg_health_name(c->h.state), lat, res->status ? ", status " : "",
				(unsigned int)res->status, c->h.succ);
		else
			cgd_log("health: cell %s %s -> %s (probe failed after %u us: %s; %u failed "
				"in a row)%s",
				c->name, cg_health_name(c->h.prev_state),
				cg_health_name(c->h.state), lat, c->h.err, c->h.fail,
				hp->panic ? "; in panic: the data plane is not changed" : "");
		snprintf(cause, sizeof(cause), "health: cell %s %s", c->name,
			 cg_health_name(c->h.state));
		act(d, cause);
	} else {
		act(d, "health: panic check"); /* a failure can start a panic before any change */
	}
}

static void timer_due(struct cg_loop *loop, void *arg)
{
	struct cgd_hcell *c = arg;
	struct cgd_health *hp = c->d->health;
	struct cg_probe_result res = { 0 };
	int id;

	(void)loop;
	c->timer_id = 0;
	if (!c->used || !c->has_target || hp->set.probe == CG_PROBE_OFF)
		return;
	hc_arm(hp, c);
	if (c->probe_id > 0)
		return; /* the last one is still running (timeout <= interval - jitter: rare) */
	id = cg_probe_start(hp->pr, &c->tgt, probe_done, c);
	if (id > 0) {
		c->probe_id = id;
		return;
	}
	/* could not even start: a failed probe like any other */
	res.errnum = -id;
	snprintf(res.err, sizeof(res.err), "cannot start the probe: %s", strerror(-id));
	probe_done(&res, c);
}

/* The target of cell cc under st: false (why set) if it has no port to probe. */
static bool target_of(const struct cg_state *st, const struct cg_cell_cfg *cc,
		      struct cg_probe_target *t, char *why, size_t whylen)
{
	const struct cg_health_settings *h = &st->health;
	uint16_t port = cc->probe_port, any = 0;
	size_t i, k;

	memset(t, 0, sizeof(*t));
	/* 0: the first TCP service (by name) the cell serves, else the first service */
	for (i = 0; !port && i < st->nservices; i++)
		for (k = 0; k < st->services[i].ncells; k++)
			if (!strcmp(st->services[i].cells[k], cc->name)) {
				if (st->services[i].proto == IPPROTO_TCP)
					port = st->services[i].port;
				else if (!any)
					any = st->services[i].port;
				break;
			}
	if (!port)
		port = any;
	if (!port) {
		snprintf(why, whylen,
			 "no probe port: probe_port is 0 and the cell serves no "
			 "service");
		return false;
	}
	t->kind = h->probe;
	t->addr = cc->gw;
	t->port = port;
	t->source = cc->gw.family == CG_AF_INET6 ? st->src6 : st->src4;
	t->timeout_ms = h->timeout_ms;
	t->expect_status = h->http_status;
	snprintf(t->path, sizeof(t->path), "%s", h->http_path);
	return true;
}

int cgd_health_init(struct cgd *d)
{
	struct cgd_health *hp;
	uint64_t seed;
	size_t i;

	hp = calloc(1, sizeof(*hp));
	if (!hp)
		return -ENOMEM;
	hp->pr = cg_prober_new(d->loop, CG_PROBE_INFLIGHT_MAX, NULL, NULL);
	if (!hp->pr) {
		free(hp);
		return -errno;
	}
	/* per LB: the fleet's key alone would give every LB the same schedule */
	seed = ((uint64_t)d->seed_cell << 32 | d->seed_admit) ^ (uint64_t)getpid() << 17 ^
	       (uint64_t)time(NULL) ^ cg_loop_now_ms() << 29;
	cg_health_rng_seed(&hp->rng, seed);
	for (i = 0; i < CG_MAX_CELLS; i++) {
		hp->cells[i].d = d;
		hp->cells[i].id = (uint32_t)i;
	}
	d->health = hp;
	return 0;
}

void cgd_health_free(struct cgd *d)
{
	struct cgd_health *hp = d->health;
	size_t i;

	if (!hp)
		return;
	for (i = 0; i < CG_MAX_CELLS; i++)
		hp->cells[i].probe_id = 0; /* the prober releases them */
	for (i = 0; i < CG_MAX_CELLS; i++)
		if (hp->cells[i].timer_id > 0)
			cg_loop_timer_cancel(d->loop, hp->cells[i].timer_id);
	cg_prober_free(hp->pr);
	free(hp);
	d->health = NULL;
}

void cgd_health_sync(struct cgd *d)
{
	struct cgd_health *hp = d->health;
	const struct cg_state *st = &d->st;
	const struct cg_cell_cfg *by_id[CG_MAX_CELLS] = { 0 };
	struct cg_probe_target t;
	char why[96], kind[8];
	bool reset;
	size_t i;

	if (!hp)
		return;
	reset = !hp->set_valid || memcmp(&hp->set, &st->health, sizeof(hp->set));
	if (reset) {
		hp->set = st->health;
		hp->set_valid = true;
		cg_health_cfg_from(&st->health, &hp->cfg);
		snprintf(kind, sizeof(kind), "%s",
			 st->health.probe == CG_PROBE_TCP  ? "tcp" :
			 st->health.probe == CG_PROBE_HTTP ? "http" :
							     "off");
		if (st->health.probe == CG_PROBE_OFF)
			cgd_log("health: probes off: every cell is believed up");
		else
			cgd_log("health: %s probes every %u ms (jitter %u ppm), timeout %u ms, rise "
				"%u, fall %u; every cell starts unknown",
				kind, hp->cfg.interval_ms, hp->cfg.jitter_ppm, hp->cfg.timeout_ms,
				hp->cfg.rise, hp->cfg.fall);
	}
	for (i = 0; i < st->ncells; i++)
		if (st->cells[i].id < CG_MAX_CELLS)
			by_id[st->cells[i].id] = &st->cells[i];
	for (i = 0; i < CG_MAX_CELLS; i++) {
		struct cgd_hcell *c = &hp->cells[i];
		const struct cg_cell_cfg *cc = by_id[i];
		bool has;

		if (!cc) {
			if (c->used) {
				hc_stop(hp, c);
				c->used = false;
				c->has_target = false;
			}
			continue;
		}
		has = target_of(st, cc, &t, why, sizeof(why));
		if (c->used && !reset && !strcmp(c->name, cc->name) && has == c->has_target &&
		    (!has || !memcmp(&t, &c->tgt, sizeof(t))))
			continue; /* same cell, same probe: its state carries on */
		hc_stop(hp, c);
		c->used = true;
		snprintf(c->name, sizeof(c->name), "%s", cc->name);
		c->has_target = has;
		c->tgt = t;
		cg_health_cell_init(&c->h, now_ms());
		if (st->health.probe == CG_PROBE_OFF)
			snprintf(c->why, sizeof(c->why), "probes off: believed up");
		else if (!has)
			snprintf(c->why, sizeof(c->why), "%s", why);
		else
			c->why[0] = '\0';
		if (has && st->health.probe != CG_PROBE_OFF)
			hc_arm(hp, c);
	}
	if (reset) {
		hp->panic = false;
		hp->panic_why[0] = '\0';
	}
	evaluate(d); /* cgd_reconcile() builds the overlay from hp->ov next (cgd_fo_overlay()) */
}

bool cgd_health_view(const struct cgd *d, uint8_t *h, bool frozen)
{
	const struct cgd_health *hp = d->health;
	bool on = hp && hp->set.probe != CG_PROBE_OFF;

	for (size_t i = 0; i < d->st.ncells; i++) {
		uint32_t id = d->st.cells[i].id;
		const struct cgd_hcell *c;

		h[i] = CG_HEALTH_UNKNOWN;
		if (!on || id >= CG_MAX_CELLS)
			continue;
		c = &hp->cells[id];
		if (!c->used || !c->has_target)
			continue;
		if (frozen)
			h[i] = hp->ov[id].cap == CG_CELL_DOWN ? CG_HEALTH_DOWN :
			       c->h.state == CG_HEALTH_DOWN   ? CG_HEALTH_UNKNOWN :
								c->h.state;
		else
			h[i] = c->h.state;
	}
	return on;
}

bool cgd_health_panicking(const struct cgd *d)
{
	return d->health && (d->health->panic || now_ms() < d->health->calm_ms);
}

json_t *cgd_health_cell_json(const struct cgd *d, uint32_t id)
{
	const struct cgd_health *hp = d->health;
	const struct cgd_hcell *c;
	int64_t now = now_ms();
	char addr[64];
	json_t *o;

	if (!hp || id >= CG_MAX_CELLS || !hp->cells[id].used)
		return json_pack("{s:s, s:s}", "state", "unknown", "why", "not synced yet");
	c = &hp->cells[id];
	o = json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:b}", "state",
		      cg_health_name(c->h.state), "since_s",
		      (json_int_t)((now - c->h.changed_ms) / 1000), "last_error", c->h.err,
		      "latency_us", (json_int_t)c->h.latency_us, "consecutive_ok",
		      (json_int_t)c->h.succ, "consecutive_fail", (json_int_t)c->h.fail, "probes",
		      (json_int_t)c->h.nprobes, "out_for_health", hp->ov[id].cap == CG_CELL_DOWN);
	if (!o)
		return NULL;
	json_object_set_new(o, "why", c->why[0] ? json_string(c->why) : json_null());
	json_object_set_new(o, "last_ok", c->h.nprobes ? json_boolean(c->h.last_ok) : json_null());
	if (c->has_target) {
		cg_addr_format(&c->tgt.addr, addr, sizeof(addr));
		json_object_set_new(
			o, "target",
			json_pack("{s:s, s:i}", "address", addr, "port", (int)c->tgt.port));
	}
	return o;
}

json_t *cgd_health_status_json(const struct cgd *d)
{
	const struct cgd_health *hp = d->health;
	unsigned int n[3] = { 0 };
	size_t i;
	json_t *o;

	if (!hp)
		return json_null();
	for (i = 0; i < CG_MAX_CELLS; i++)
		if (hp->cells[i].used)
			n[hp->cells[i].h.state <= CG_HEALTH_DOWN ? hp->cells[i].h.state : 0]++;
	o = json_pack("{s:s, s:i, s:i, s:i, s:b}", "probe",
		      hp->set.probe == CG_PROBE_TCP  ? "tcp" :
		      hp->set.probe == CG_PROBE_HTTP ? "http" :
						       "off",
		      "up", (int)n[CG_HEALTH_UP], "down", (int)n[CG_HEALTH_DOWN], "unknown",
		      (int)n[CG_HEALTH_UNKNOWN], "panic", hp->panic);
	if (!o)
		return NULL;
	json_object_set_new(o, "panic_why", hp->panic ? json_string(hp->panic_why) : json_null());
	json_object_set_new(o, "panic_since_s",
			    hp->panic ?
				    json_integer((json_int_t)((now_ms() - hp->panic_ms) / 1000)) :
				    json_null());
	return o;
}
