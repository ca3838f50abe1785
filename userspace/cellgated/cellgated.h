/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgated.h - the daemon's state, shared by its main loop and its control-socket commands */
#ifndef CELLGATED_H
#define CELLGATED_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "cellgate/ctl.h"
#include "cellgate/dataplane.h"
#include "cellgate/hashkey.h"
#include "cellgate/loop.h"
#include "cellgate/metrics.h"
#include "cellgate/netlink.h"
#include "cellgate/reconcile.h"
#include "cellgate/state.h"
#include "cellgate/stats.h"

#define CGD_VERSION		"0.1.0"
#define CGD_RETRY_MS		1000  /* re-resolve unresolved next hops this often */
#define CGD_EXPIRY_RETRY_MS	1000  /* an expiry that could not be saved: first retry */
#define CGD_EXPIRY_RETRY_MAX_MS 60000 /* ... doubling up to this */
#define CGD_HEAL_MS		1000  /* fail-static on a valid state: look for its interfaces */
#define CGD_HEAL_MAX_MS		30000 /* ... doubling up to this, each wait jittered */

#define CGD_LOAD_MS    1000 /* the offered load is read this often */
#define CGD_LOAD_KEEP  0.7  /* ... and smoothed: new = KEEP * old + (1 - KEEP) * this read */
#define CGD_FO_TICK_MS 1000 /* the failover controller looks at the clock this often */

/* cgd_commit() flags */
#define CGD_DRY_RUN (1U << 0) /* compute the changes and check the rules; change nothing */
#define CGD_FORCE   (1U << 1) /* let the change through the safety rules, logged */
#define CGD_RULES_CHECKED \
	(1U << 2) /* a region transition's step: its rules were checked when it began */

/* What cellgated knows of one cell's next hop. */
struct cgd_nexthop {
	int err;	      /* 0 resolved, -EAGAIN pending, other -errno: no route */
	struct cg_nexthop nh; /* valid for err 0 and -EAGAIN (all but mac for the latter) */
};

/* An interface cellgated attached the router to. */
struct cgd_iface {
	char name[IF_NAMESIZE]; /* as in the config */
	int ifindex;		/* 0 if not attached */
	const char *mode;	/* "native" or "generic" */
};

struct cg_loc;
struct cg_shed_level;

struct cgd {
	char state_path[PATH_MAX];    /* STATE_DIR/state.yaml */
	const char *config_path;      /* --config, or NULL */
	const char *pin_dir;	      /* --pin-dir */
	const char *sock_path;	      /* --socket */
	int xdp_mode;		      /* --xdp-mode, or -1 to follow the config */
	struct cg_state st;	      /* the desired state, as persisted */
	struct cg_dp *dp;	      /* the data plane: program, maps, links */
	struct cg_rec *rec;	      /* what the maps hold */
	struct cg_nl *nl;	      /* rtnetlink: next hops */
	struct cg_loop *loop;	      /* the one event loop */
	struct cg_ctl_server *ctl;    /* the control socket */
	struct cgd_nexthop *nexthops; /* by cell id, CG_MAX_CELLS */
	struct cgd_iface ifaces[CG_MAX_IFACES];
	size_t nifaces;
	uint64_t started_ms;	       /* monotonic start time */
	bool adopted;		       /* started on maps a previous run pinned */
	bool retry_armed;	       /* the re-resolve timer is set */
	bool nh_changed;	       /* a neighbour event changed a next hop: reconcile */
	bool rec_failed;	       /* the last reconcile failed: the retry timer tries again */
	int expiry_id;		       /* timer of the next shed level expiry, -1 if none */
	int expiry_retry_ms;	       /* saving an expiry failed: the next try in this, else 0 */
	struct cg_rec_report last_rec; /* what the last reconcile wrote */
	char commit_warning[512];  /* the last commit's "saved, durability unknown (...)", or "" */
	char commit_dp_error[512]; /* the last commit's "saved, but the data plane refused it" */
	char commit_overridden[256]; /* the rule the last commit's --force overrode, or "" */
	char fail_static[512]; /* why cellgated is fail-static (data plane left as it is), or "" */
	int heal_id;	       /* timer looking for a fail-static state's interfaces, 0 if none */
	int heal_ms;	       /* its current backoff, 0 when not fail-static */
	bool st_valid;	       /* st is a valid persisted state (false: its load failed) */
	uint32_t seed_cell;    /* flow hash seeds from the hash key (--hash-key) */
	uint32_t seed_admit;
	char key_fp[CG_HASH_KEY_FP]; /* the hash key's fingerprint, shown by status */
	/* failover.c */
	struct cg_cell_overlay ov[CG_MAX_CELLS]; /* what the controllers add, by cell id */
	struct cg_stats_snap *load_prev, *load_cur, *load_delta; /* the load's counter reads */
	double *load_ewma;	       /* offered new flows/s by (cell id, class), smoothed */
	bool load_valid;	       /* load_ewma holds a measurement */
	int load_id;		       /* its timer */
	int fo_tick_id;		       /* the controller's timer */
	bool fo_nospc;		       /* "no survivor" was logged for the current overlay */
	char fo_refused[640];	       /* the controller's last refused event, logged once */
	struct cgd_health *health;     /* the health prober (health.c), NULL until the loop runs */
	struct cgd_bp *bp;	       /* the backpressure controller (backpressure.c), or NULL */
	struct cg_loc *loc;	       /* the locality policy (locality.c), or NULL */
	int loc_timer_id;	       /* its step's timer, 0 if none */
	uint32_t loc_period_ms;	       /* of the timer armed */
	struct cg_shed_level *auto_lv; /* what cgd_ctl_publish() handed the reconciler */
	size_t nauto_lv;
	struct cgd_metrics *metrics; /* the /metrics server (metrics.c), or NULL */
};

/* cgd_log - one line to stderr (journald adds time and unit), printf-style. */
void cgd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * cgd_commit - make next the desired state: validate it as a config would
 * be, keep ids, persist it atomically, then reconcile the maps. cause says
 * who asked (logged with every change). On success next is emptied (its
 * content moved into d->st; the caller still frees it), *changes (if not
 * NULL) gets a JSON array of the changes and *written (if not NULL) what
 * reconcile wrote; returns the number of changes (0: nothing to do, nothing
 * written). flags: CGD_DRY_RUN stops after computing the changes (and the
 * rules); CGD_FORCE lets a change through the safety rules (cellgate/region.h:
 * min_cells, min_regions, max_out, with the failover settings of next), which
 * otherwise refuse it with "rule NAME: ... (--force overrides it)"; what force
 * overrode is logged and left in d->commit_overridden. A repair (fail-static,
 * or no valid state before) is not held to the rules.
 * On failure returns -errno with err set: validation or saving failed and
 * nothing changed, neither the file nor the maps.
 * A commit that was saved succeeds, whatever follows: d->commit_warning says
 * "saved, durability unknown (fsync of DIR: ERR)" if the directory's sync
 * failed after the rename, d->commit_dp_error "saved, but the data plane
 * refused it: ..." if the reconcile failed (the desired state is the new
 * one; cellgated retries the reconcile every CGD_RETRY_MS). Both are logged,
 * and emptied at the start of every commit.
 */
int cgd_commit(struct cgd *d, struct cg_state *next, const char *cause, unsigned int flags,
	       json_t **changes, json_t **written, char *err, size_t errlen);

/*
 * cgd_fail_static - enter fail-static for why (one line, logged): the data
 * plane is kept exactly as it is (pins adopted, nothing reconciled, attached
 * or detached), the control socket serves status and a config apply, which
 * repairs it (cgd_commit()).
 */
void cgd_fail_static(struct cgd *d, const char *why);

/*
 * cgd_arm_heal - fail-static on a valid state (an interface was missing or
 * refused the attach): look again in CGD_HEAL_MS, doubling up to
 * CGD_HEAL_MAX_MS, each wait jittered; once every interface the state names
 * is there, the state is committed again as a repair would. Nothing without
 * a loop, a valid state or fail-static, or with a look already pending.
 */
void cgd_arm_heal(struct cgd *d);

/* cgd_dp_start - open (adopt if pinned, else create) the data plane and its reconcile copy; -1 logged. */
int cgd_dp_start(struct cgd *d);

/*
 * cgd_fill_recreated - after an upgrade's adoption recreated maps (their
 * layout changed, cg_dp_open()): resolve the next hops against the
 * interfaces about to be attached and reconcile, so the fresh maps are full
 * before any interface runs the new program. 0 (also with nothing
 * recreated), or -1 logged: then attach nothing, the old program runs on.
 */
int cgd_fill_recreated(struct cgd *d);

/* cgd_pin_recreated - once every interface runs the new program: replace the recreated maps' pins; logged. */
void cgd_pin_recreated(struct cgd *d);

/* cgd_reconcile - push d->st into the maps; logs what it wrote with cause. Nothing while fail-static. */
int cgd_reconcile(struct cgd *d, const char *cause, char *err, size_t errlen);

/* cgd_load_state - the persisted state into d->st, or on a first start the config (saved). Touches no map. */
int cgd_load_state(struct cgd *d, char *err, size_t errlen);

/* nexthop.c */
/* cgd_resolve_all - (re)resolve every cell's next hop. */
void cgd_resolve_all(struct cgd *d);
/* cgd_nh_lookup - a cg_rec_nexthop_fn: the resolved MAC and VLAN of cell c, or -EAGAIN. */
int cgd_nh_lookup(void *arg, const struct cg_cell_cfg *c, uint8_t mac[6], uint16_t *vlan);
/* cgd_arm_retry - set the retry timer if a next hop is unresolved or the last reconcile failed. */
void cgd_arm_retry(struct cgd *d);
/* cgd_nl_readable - the loop callback of the rtnetlink monitor socket. */
void cgd_nl_readable(struct cg_loop *loop, int fd, uint32_t events, void *arg);

/* iface.c */
/* cgd_attach_one - attach to ifc->name in mode (enum cg_xdp_mode), logged; sets ifc->ifindex and ->mode. */
int cgd_attach_one(struct cgd *d, struct cgd_iface *ifc, int mode);
/* cgd_sync_ifaces - attach to the interfaces d->st names, detach from the others; -ENODEV if one failed. */
int cgd_sync_ifaces(struct cgd *d);
/*
 * cgd_drop_stale_links - at start: detach and unpin the links pinned for
 * interfaces d->st does not name (removed from the config, or from the
 * system, while cellgated was down), one log line each.
 */
void cgd_drop_stale_links(struct cgd *d);

/* failover.c */
/*
 * cgd_fo_overlay - rebuild d->ov from the persisted region records, health
 * and the offered load (cg_failover_overlay()); cgd_reconcile() calls it
 * before every apply, so the maps follow the persisted state.
 */
void cgd_fo_overlay(struct cgd *d);
/*
 * cgd_load_view - the smoothed offered load, new flows a second, per
 * d->st.cells[i] x class into load (ncells x CG_MAX_CLASSES); false (load
 * untouched) before the first measurement.
 */
bool cgd_load_view(const struct cgd *d, uint32_t *load);
/*
 * cgd_load_measured - the same load as the cells were offered it, not scaled
 * up for a ramping region (cg_loc_input.load). false before the first
 * measurement.
 */
bool cgd_load_measured(const struct cgd *d, uint32_t *load);
/* cgd_fo_start / _stop - the load reads and the controller's timer; -errno. */
int cgd_fo_start(struct cgd *d);
void cgd_fo_stop(struct cgd *d);
/*
 * cgd_fo_event - one region event (operator command or the controller: the
 * same path): the transition and its rules (cg_evac_transition), the plan
 * (shares before and after, the load that moves, pre-shed levels), then,
 * unless CGD_DRY_RUN, the change, through cellgate/transition.h: an
 * evacuation runs as a saga (pre-shed, shift, settle; each a commit,
 * progress persisted in st.saga); a restore (or an expiry) runs the first
 * step of the restore's saga, a step done of a restoring region its next
 * step, a flap or an abort of it compensates it back to evacuated; extend
 * and the abort of a draining region are one commit. *result (may be
 * NULL) gets {region, from, to, changed, record, rules, plan, preshed,
 * generation}. Asking for the state a region
 * is already in changes nothing and succeeds (changed false). Returns 0 or
 * -errno with one line in err ("rule wait: ... (--force overrides it)").
 */
int cgd_fo_event(struct cgd *d, const char *region, enum cg_region_event ev, unsigned int flags,
		 const char *by, const char *reason, int64_t extend, json_t **result, char *err,
		 size_t errlen);
/*
 * cgd_fo_resume - at start: the saga the persisted state names, cut inside a
 * step, is compensated; between steps an evacuation is finished, a restore
 * left to its next ramp step; logged.
 */
int cgd_fo_resume(struct cgd *d);
/* cgd_fo_tick - the automatic controller: apply the event health and the clock make due. */
void cgd_fo_tick(struct cgd *d);
/* cgd_fo_fault - the tests' fault injection at STEP (CELLGATED_FAULT=failover[-crash]:STEP). */
bool cgd_fo_fault(const char *step);

/* health.c */
struct cgd_health;
/* cgd_health_init - the prober on d->loop, every cell unknown; 0 or -errno. */
int cgd_health_init(struct cgd *d);
/* cgd_health_free - stop every probe and timer, clear the overlay. NULL d->health is a no-op. */
void cgd_health_free(struct cgd *d);
/*
 * cgd_health_sync - follow d->st: cells added, removed, renamed or re-targeted
 * start again unknown, changed health settings restart every cell, probes off
 * leaves every cell unknown with no overlay; hands the overlay to d->rec.
 * Called by cgd_reconcile() before every apply; reconciles nothing itself.
 */
void cgd_health_sync(struct cgd *d);
/* cgd_health_cell_json - {state, since_s, last_error, latency_us, ...} of cell id (new ref). */
json_t *cgd_health_cell_json(const struct cgd *d, uint32_t id);
/* cgd_health_status_json - {probe, up, down, unknown, panic, panic_why, panic_since_s}. */
json_t *cgd_health_status_json(const struct cgd *d);
/*
 * cgd_health_view - each cell's health (per d->st.cells[i], enum
 * cg_health_state) into h; false (h all unknown) when probes are off or the
 * prober is not running. frozen: what the overlay acts on, which a panic
 * freezes (a cell is down only if it was taken out before the panic began).
 */
bool cgd_health_view(const struct cgd *d, uint8_t *h, bool frozen);
/*
 * cgd_health_panicking - the panic threshold is passed, or a panic ended less
 * than (rise + 1) x 1.5 intervals ago (the cells coming back have not had the
 * time to rise): the controller moves nothing for health.
 */
bool cgd_health_panicking(const struct cgd *d);

/* backpressure.c */
struct cgd_bp;
struct cg_cell_cfg;
/*
 * cgd_bp_init - the controller on d->loop: its step timer every period_ms and,
 * with backpressure.report_port set, the report sockets; 0 or -ENOMEM. Its
 * levels are runtime state, never persisted.
 */
int cgd_bp_init(struct cgd *d);
/* cgd_bp_free - close the sockets, stop the timer, hand the reconciler no level. NULL is a no-op. */
void cgd_bp_free(struct cgd *d);
/*
 * cgd_bp_sync - follow d->st: the cells reports are taken for, the key file
 * (read again when its name changed; unreadable: every report refused, logged),
 * the port and addresses of the sockets, the period. Called by cgd_reconcile().
 */
void cgd_bp_sync(struct cgd *d);
/*
 * cgd_bp_check - a commit's check of next: its key_file, if any, can be read
 * and holds a key. 0, or -EINVAL with "backpressure.key_file 'F': ...; nothing
 * was changed" in err.
 */
int cgd_bp_check(const struct cg_state *next, char *err, size_t errlen);
/* cgd_bp_key_read - the shared report key of the file path; 0 or -errno with one line in err. */
int cgd_bp_key_read(const char *path, uint8_t key[32], char *err, size_t errlen);
/* cgd_bp_mode_of - the controller's mode (enum cg_bp_mode) for cell c of st: its own, its services', the section's. */
uint8_t cgd_bp_mode_of(const struct cg_state *st, const struct cg_cell_cfg *c);
/*
 * cgd_bp_json - {mode, report_port, signed, key_error, period_ms, steps,
 * accepted, refused, cells, interfaces: [{name, ifindex, rx_packets,
 * rx_drops (a second, smoothed; null until measured), error}]} (new ref).
 */
json_t *cgd_bp_json(const struct cgd *d);
/*
 * cgd_bp_cell_json - the controller's view of cell c: {cell, mode, load,
 * last_report, target, ladder, stale, report_age_ms, accepted, refused {by
 * reason}, would_shed (manual mode), lb: the LB's own view {new_flows,
 * packets, syn_retries (a second, smoothed; null until measured),
 * syn_retry_ratio}, ...} (new ref; json null if none).
 */
json_t *cgd_bp_cell_json(const struct cgd *d, const struct cg_cell_cfg *c);
/* cgd_bp_inputs - add {by: controller, inputs: {load, last_report, target, ladder, report_age_ms, stale}} of cell to level. */
bool cgd_bp_inputs(const struct cgd *d, uint32_t cell, json_t *level);

/*
 * cgd_bp_report_ppm - the smoothed load cell id's reports say (ppm of its
 * capacity) into *ppm; false without a fresh report (none, or stale).
 */
bool cgd_bp_report_ppm(const struct cgd *d, uint32_t cell, uint32_t *ppm);

/* cgd_bp_levels - the controller's levels (cg_bp_levels()), *n of them; NULL without a controller. */
const struct cg_shed_level *cgd_bp_levels(const struct cgd *d, size_t *n);

/* locality.c */
/*
 * cgd_ctl_publish - hand the reconciler the automatic levels: the
 * backpressure controller's and the locality policy's (cg_loc_no_carry():
 * a class refused where it is not worth carrying), the larger where both
 * set one. Takes effect at the next reconcile.
 */
void cgd_ctl_publish(struct cgd *d);
/*
 * cgd_loc_inputs - add {by: locality, inputs: {region, cost, max_spill_cost}}
 * to level, a level of cg_loc_no_carry()'s (cell c, class cl).
 */
void cgd_loc_inputs(const struct cgd *d, const struct cg_cell_cfg *c, const struct cg_class_cfg *cl,
		    json_t *level);
/*
 * cgd_loc_init - the locality policy (cellgate/locality.h) on d->loop: its
 * step every locality.period_ms, its weights handed to the reconciler as
 * its weight hook. 0 or -ENOMEM. Its shares are runtime state, never
 * persisted.
 */
int cgd_loc_init(struct cgd *d);
/* cgd_loc_free - stop the timer, hand the reconciler no hook. NULL d->loc is a no-op. */
void cgd_loc_free(struct cgd *d);
/*
 * cgd_loc_step - one step on what cellgated sees now (d->ov as
 * cgd_fo_overlay() left it, the offered load, the load reports); each
 * publication logged. Called by cgd_reconcile() before every apply (a
 * change of which cells may take flows is published at once) and by the
 * timer, which reconciles when something was published. Returns the
 * number of services that published. Nothing until the load is measured:
 * until then every table has its weights as they are.
 */
int cgd_loc_step(struct cgd *d);
/* cgd_loc_service_json - {mode, active, spill, ramp, goal, offered, local_avail, changes, why, cells: [...]} of svc, or NULL. */
json_t *cgd_loc_service_json(const struct cgd *d, const struct cg_service_cfg *svc);

/*
 * cgd_bp_metrics - the controller's view of cell c as /metrics shows it
 * (read-only) into *out; false (out->valid false) without a controller.
 */
bool cgd_bp_metrics(const struct cgd *d, const struct cg_cell_cfg *c,
		    struct cg_metrics_bp_cell *out);

/* metrics.c */
struct cgd_metrics;
/*
 * cgd_metrics_init - serve /metrics on d->st.metrics.listen on d->loop (off:
 * nothing). A listener that cannot be opened is logged and left closed:
 * cellgated runs on. 0 or -ENOMEM.
 */
int cgd_metrics_init(struct cgd *d);
/* cgd_metrics_sync - follow d->st.metrics.listen: a changed one is closed and opened anew. */
void cgd_metrics_sync(struct cgd *d);
/* cgd_metrics_json - {listen, serving, scrapes, error} for status (new ref; null before init). */
json_t *cgd_metrics_json(const struct cgd *d);
/* cgd_metrics_free - stop serving, close the listener. NULL d->metrics is a no-op. */
void cgd_metrics_free(struct cgd *d);

/* The control-socket commands (cellgated_cmds.c). */
extern const struct cg_ctl_cmd cgd_cmds[];
extern const size_t cgd_ncmds;

/* ---- running under systemd (notify.c) ---- */

#define CGD_NOTIFY_STATUS_MS  1000 /* STATUS= follows a state change within this */
#define CGD_NOTIFY_STATUS_MAX 768  /* one STATUS= line, at most */

/*
 * cgd_notify_ready - tell the service manager cellgated is ready (READY=1 and
 * a STATUS= line). The first call, once the first reconcile is done and the
 * control socket listens, also arms the loop's timers: WATCHDOG=1 at half of
 * WATCHDOG_USEC when it is set (for this pid), and a STATUS= line whenever
 * the state's summary changes. A later call (after a reload) sends READY=1
 * again. Nothing at all when NOTIFY_SOCKET is unset; a failed send is logged
 * once and changes nothing else.
 */
void cgd_notify_ready(struct cgd *d);
/* cgd_notify_reloading - RELOADING=1 before a config apply; cgd_notify_ready() ends it. */
void cgd_notify_reloading(struct cgd *d);
/* cgd_notify_stopping - STOPPING=1 as the loop ends, and no more pings or status. */
void cgd_notify_stopping(struct cgd *d);
/* cgd_journal_stderr - stderr is the journal's stream: JOURNAL_STREAM names its device:inode. */
bool cgd_journal_stderr(void);
/* cgd_log_prio - the syslog priority of one log message, by its wording (LOG_INFO by default). */
int cgd_log_prio(const char *msg);
/* cgd_log_prefix - "<N>" for priority prio when stderr is the journal (journald reads it), else "". */
const char *cgd_log_prefix(int prio);

#endif /* CELLGATED_H */
