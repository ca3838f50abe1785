/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/state.h - the desired state: what the operator wants, as cellgated holds and persists it */
#ifndef CELLGATE_STATE_H
#define CELLGATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "cellgate/abi/consts.h"
#include "cellgate/saga.h"

/*
 * The desired state is the config file plus every runtime change an operator
 * made (cellctl cell set ...), plus the ids cellgated assigned. It is the
 * single source of truth: cellgated reconciles it into the maps and persists
 * it atomically; `cellctl config dump` prints it in the config file format.
 *
 * Objects refer to each other by name, never by pointer or index, so a state
 * can be copied, diffed and edited without fixing up references. Ids (the map
 * indexes) are assigned once and kept: connection entries hold cell ids, so a
 * cell's id must never change while it exists.
 */

#define CG_NAME_MAX   32	 /* names: 1..31 of [A-Za-z0-9._-], first a letter or digit */
#define CG_MAX_IFACES 8		 /* interfaces cellgated attaches to */
#define CG_ID_AUTO    UINT32_MAX /* id not given: cellgated assigns one */

/* An address with its family; bytes in network order. */
struct cg_addr {
	uint8_t family; /* CG_AF_INET or CG_AF_INET6; 0 = unset */
	uint8_t pad[3];
	uint32_t a[4]; /* network order; IPv4 in a[0] */
};

enum cg_xdp_mode {
	CG_XDP_AUTO = 0,    /* native, falling back to generic with a warning */
	CG_XDP_NATIVE = 1,  /* native only: fail if the driver cannot */
	CG_XDP_GENERIC = 2, /* generic (skb) mode */
};

struct cg_region_cfg {
	char name[CG_NAME_MAX]; /* e.g. us-east */
	uint32_t id;		/* < CG_MAX_REGIONS; CG_ID_AUTO until assigned */
	uint32_t cost;		/* locality cost from this LB: lower is nearer, 0 = local */
	unsigned int line;	/* config line it was defined on, 0 if not from a file */
};

struct cg_cell_cfg {
	char name[CG_NAME_MAX]; /* e.g. use1-a */
	uint32_t id; /* index in the cells map, < CG_MAX_CELLS; CG_ID_AUTO until assigned */
	char region[CG_NAME_MAX]; /* name of its region */
	struct cg_addr gw;	  /* gateway: outer destination */
	uint8_t encap;		  /* CG_ENCAP_IPIP or CG_ENCAP_GUE */
	uint8_t state;		  /* desired: CG_CELL_ACTIVE, _DRAINING or _DOWN */
	uint16_t gue_port;	  /* host order; CG_GUE_DEFAULT_PORT if not given */
	uint32_t weight;	  /* relative Maglev weight, 1..65535 */
	uint32_t capacity;	  /* load the cell can carry (new flows per second), 0 = unknown */
	uint16_t probe_port;	  /* TCP port health probes connect to; 0 = each service's */
	uint8_t shed_mode;	  /* enum cg_bp_own_mode: the controller's mode for the cell */
	unsigned int line;
};

struct cg_service_cfg {
	char name[CG_NAME_MAX];
	uint32_t
		id; /* index of its table and counters, < CG_MAX_SERVICES; CG_ID_AUTO until assigned */
	struct cg_addr vip;
	uint16_t port;	       /* host order, 1..65535 */
	uint8_t proto;	       /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t default_class; /* < CG_MAX_CLASSES */
	uint32_t table_size;   /* prime, <= CG_MAX_TABLE_SIZE; CG_DEFAULT_TABLE_SIZE if not given */
	uint8_t locality;      /* enum cg_loc_mode: spread (default) or local-first */
	uint8_t shed_mode;     /* enum cg_bp_own_mode: the controller's mode for its cells */
	size_t ncells;
	char (*cells)[CG_NAME_MAX]; /* names of the cells that serve it, sorted, unique */
	unsigned int line;
};

/*
 * Load shedding's desired state (docs/config.md, docs/shedding.md). Classes
 * are referred to by id (0..CG_MAX_CLASSES-1, 0 the most critical) everywhere
 * below; a state always holds at least one class: cg_state_init() and a
 * config without `classes:` give the four defaults (CG_DEFAULT_CLASSES).
 */
#define CG_DEFAULT_CLASSES 4	   /* critical (protected), high, normal, sheddable */
#define CG_LEVEL_ONE	   1000000 /* level_ppm of level 1: every new flow refused */
#define CG_SHED_ANY_CELL   "*"	   /* cg_shed_cfg.cell that stands for every cell */
#define CG_SHED_BY_MAX	   64	   /* cg_shed_cfg.by: 0..63 bytes and a NUL */
#define CG_SHED_REASON_MAX 128	   /* cg_shed_cfg.reason: 0..127 bytes and a NUL */

/* A priority class. */
struct cg_class_cfg {
	char name[CG_NAME_MAX];	    /* unique; not all digits (a number names a class by id) */
	uint32_t id;		    /* < CG_MAX_CLASSES, unique; 0 is the most critical */
	bool protected;		    /* never shed by the automatic controller, only by operators */
	uint32_t new_flows_per_sec; /* ceiling on new flows of the class, whole LB; 0 = none */
	uint32_t packets_per_sec;   /* ceiling on packets of the class, whole LB; 0 = none */
	uint32_t burst;		    /* depth of each ceiling's bucket in its unit, >= 1 */
	uint32_t max_spill_cost;    /* not spilled to a region of a higher cost (shed instead);
				     * CG_MAX_REGION_COST: any region */
	unsigned int line;	    /* config line it was defined on, 0 if not from a file */
};

/* What a class rule matches on. */
enum cg_rule_kind {
	CG_RULE_PREFIX = 1, /* the source address is in a prefix (longest match wins) */
	CG_RULE_DSCP = 2,   /* the DSCP value (when no prefix rule matches) */
};

/* A classification rule: packets it matches get class. */
struct cg_class_rule_cfg {
	uint8_t kind;	       /* enum cg_rule_kind */
	uint8_t prefix_len;    /* CG_RULE_PREFIX: 0..32 (IPv4) or 0..128 (IPv6) */
	uint8_t dscp;	       /* CG_RULE_DSCP: 0..63 */
	uint8_t class;	       /* id of an existing class */
	struct cg_addr prefix; /* CG_RULE_PREFIX: network order, host bits zero; else zero */
	unsigned int line;     /* config line, 0 if not from a file */
};

/* Retry-storm guard: a new-flow limit per source prefix. */
struct cg_guard_cfg {
	uint8_t ipv4_prefix;	    /* IPv4 sources are counted per /ipv4_prefix, 8..32 */
	uint8_t ipv6_prefix;	    /* IPv6 sources per /ipv6_prefix, 16..128 */
	uint32_t new_flows_per_sec; /* per source prefix; 0 = guard off */
	uint32_t burst;		    /* bucket depth, flows; 0 only when off */
	uint8_t ipv4_aggregate;	    /* and per /ipv4_aggregate, 8..ipv4_prefix */
	uint8_t ipv6_aggregate;	    /* and per /ipv6_aggregate, 16..ipv6_prefix */
	uint32_t
		aggregate_new_flows_per_sec; /* per aggregate; 0 = CG_GUARD_AGG_FACTOR x the rate */
	uint32_t aggregate_burst;	     /* its bucket depth; 0 = CG_GUARD_AGG_FACTOR x burst */
};

/* Health probes of the cells (docs/config.md, docs/failover.md). */
enum cg_probe_kind {
	CG_PROBE_OFF = 0,  /* no probes: every cell is believed up */
	CG_PROBE_TCP = 1,  /* a TCP connect to the cell's gateway and probe port */
	CG_PROBE_HTTP = 2, /* an HTTP/1.1 GET of http_path, expecting http_status */
};

/* Ranges and defaults of the health section (cellgate/health.h runs it). */
#define CG_HEALTH_INTERVAL_DEF 1000    /* ms between probe starts */
#define CG_HEALTH_INTERVAL_MIN 50      /* ms */
#define CG_HEALTH_INTERVAL_MAX 600000  /* ms: 10 minutes */
#define CG_HEALTH_TIMEOUT_DEF  500     /* ms a probe may take */
#define CG_HEALTH_TIMEOUT_MIN  10      /* ms */
#define CG_HEALTH_TIMEOUT_MAX  60000   /* ms; also at most interval - jitter */
#define CG_HEALTH_JITTER_DEF   100000  /* ppm of the interval: +-10% */
#define CG_HEALTH_JITTER_MAX   500000  /* ppm: +-50% keeps every delay >= interval / 2 */
#define CG_HEALTH_RISE_DEF     3       /* good probes in a row to become up */
#define CG_HEALTH_FALL_DEF     2       /* failed probes in a row to become down */
#define CG_HEALTH_COUNT_MIN    1       /* rise and fall */
#define CG_HEALTH_COUNT_MAX    100     /* rise and fall */
#define CG_HEALTH_PANIC_DEF    500000  /* ppm: panic when more than half are failing */
#define CG_HEALTH_PANIC_MIN    1       /* ppm */
#define CG_HEALTH_PANIC_MAX    1000000 /* ppm: 1000000 never panics (more than all) */
#define CG_HTTP_PATH_MAX       128     /* health.http_path: 1..127 bytes and a NUL */

struct cg_health_settings {
	uint8_t probe;	      /* enum cg_probe_kind */
	uint16_t http_status; /* the status an HTTP probe expects, 100..599 */
	uint32_t interval_ms; /* between a cell's probe starts, before jitter */
	uint32_t timeout_ms;  /* a probe slower than this failed */
	uint32_t jitter_ppm;  /* each wait is the interval +- this share of it */
	uint32_t rise;	      /* good probes in a row to become up */
	uint32_t fall;	      /* failed probes in a row to become down */
	uint32_t panic_ppm;   /* more than this share of cells failing at once: freeze */
	char http_path[CG_HTTP_PATH_MAX]; /* what an HTTP probe asks for */
};

/* Where a service's new flows go (cellgate/locality.h runs it). */
enum cg_loc_mode {
	CG_LOC_SPREAD = 0,	/* every cell at its weight, whatever its region (the default) */
	CG_LOC_LOCAL_FIRST = 1, /* this LB's region up to its target, the overflow nearest first */
};

/* Ranges and defaults of the locality section (docs/locality.md). */
#define CG_LOC_TARGET_DEF   800000 /* local cells take new flows up to 80% of their capacity */
#define CG_LOC_STEP_DEF	    50000  /* shares are republished when one moves by more than 5% */
#define CG_LOC_STEP_MAX	    500000 /* ppm */
#define CG_LOC_RISE_DEF	    250000 /* the spill rises by at most 25% of the flows a period */
#define CG_LOC_WITHDRAW_DEF 20000  /* and is withdrawn by at most 2% a period */
#define CG_LOC_PERIOD_DEF   1000   /* ms between two steps */
#define CG_LOC_PERIOD_MIN   100	   /* ms */
#define CG_LOC_PERIOD_MAX   60000  /* ms */

/* The locality policy's constants (the `locality:` section). */
struct cg_loc_settings {
	uint32_t target_ppm;   /* a cell takes new flows up to this share of its capacity */
	uint32_t step_ppm;     /* hysteresis: shares change only when one moves by more */
	uint32_t rise_ppm;     /* largest rise of the spill a period, share of the flows */
	uint32_t withdraw_ppm; /* largest fall of the spill a period (the slower) */
	uint32_t period_ms;    /* between two steps */
};

/* cg_loc_settings_defaults - *l as a config without a `locality:` section has it. */
void cg_loc_settings_defaults(struct cg_loc_settings *l);

/* Ranges and defaults of the failover section (cellgate/region.h runs it). */
#define CG_RAMP_MAX	     8	      /* restore ramp steps at most */
#define CG_EVAC_TTL_DEF	     3600     /* an evacuation expires after an hour unless extended */
#define CG_EVAC_TTL_MAX	     31536000 /* s: a year; 0 = never expires */
#define CG_WAIT_DEF	     300      /* seconds between two region transitions (anti-flap) */
#define CG_WAIT_MAX	     86400    /* s: a day */
#define CG_DWELL_DEF	     60	      /* seconds each restore ramp step is held */
#define CG_DWELL_MAX	     86400    /* s: a day */
#define CG_MAX_OUT_DEF	     500000   /* at most half a service's capacity out at once (ppm) */
#define CG_MAX_STEP_DEF	     500000   /* a ramp step rises by at most half (ppm); 0 = any */
#define CG_AUTO_EVACUATE_DEF 0	      /* ppm of a region's cells down that evacuates it; 0 = off */
#define CG_MIN_CELLS_DEF     1	      /* active cells each service keeps */
#define CG_MIN_REGIONS_DEF   1	      /* active regions kept */

/* The safety rules of region transitions and the restore ramp (docs/config.md, Failover). */
struct cg_failover_settings {
	uint32_t min_cells;	 /* active cells each service keeps at least */
	uint32_t min_regions;	 /* active regions (with an active cell) at least */
	uint32_t wait;		 /* seconds between two region transitions */
	uint32_t evacuation_ttl; /* seconds an evacuation lasts unless extended; 0 = forever */
	uint32_t max_out_ppm;	 /* share of a service's capacity one change may take out */
	size_t nramp;		 /* restore ramp steps, 1..CG_RAMP_MAX */
	uint32_t ramp_ppm[CG_RAMP_MAX]; /* share of the region's weight at each step, up to 1 */
	uint32_t dwell;			/* seconds each ramp step is held */
	uint32_t max_step_ppm;		/* largest rise from one ramp step to the next; 0 = any */
	uint32_t auto_evacuate_ppm;	/* share of a region's cells down to health that evacuates
					* it automatically; 0 = never */
};

/* What the backpressure controller does with a cell (cellgate/backpressure.h). */
enum cg_bp_mode {
	CG_BP_AUTO = 0,	  /* it moves the cell's shed levels from the cell's load */
	CG_BP_MANUAL = 1, /* it computes and logs what it would do; only operators set levels */
	CG_BP_OFF = 2,	  /* it ignores the cell: no levels, no advice */
};

/*
 * The controller's mode set on one cell or service (`shed_mode`, cellctl shed
 * mode --cell/--service): DEFAULT follows what is set above it, the others
 * are enum cg_bp_mode + 1. A cell's own mode wins; else the most cautious of
 * its services' modes (off, then manual, then auto); else backpressure.mode.
 */
enum cg_bp_own_mode {
	CG_BP_OWN_DEFAULT = 0, /* not set here */
	CG_BP_OWN_AUTO = 1,    /* CG_BP_AUTO */
	CG_BP_OWN_MANUAL = 2,  /* CG_BP_MANUAL */
	CG_BP_OWN_OFF = 3,     /* CG_BP_OFF */
};

/* Ranges and defaults of the backpressure section (docs/backpressure.md). */
#define CG_BP_TARGET_DEF     800000  /* keep each cell at or under 80% of its capacity (ppm) */
#define CG_BP_TARGET_MAX     1000000 /* ppm: at most the whole capacity */
#define CG_BP_HYST_DEF	     50000   /* release only under target - 5% of capacity (ppm) */
#define CG_BP_PERIOD_DEF     1000    /* ms between two control steps */
#define CG_BP_PERIOD_MIN     100     /* ms */
#define CG_BP_PERIOD_MAX     60000   /* ms */
#define CG_BP_DWELL_DEF	     5000    /* ms a cell's levels are held after a rise before a release */
#define CG_BP_DWELL_MAX	     3600000 /* ms: an hour */
#define CG_BP_MAX_STEP_DEF   1000000 /* the shed ladder rises by at most one class a period */
#define CG_BP_RELEASE_DEF    300000  /* and falls by at most 0.3 of a class a period */
#define CG_BP_RISE_DEF	     500000  /* EWMA weight of a new sample above the smoothed load */
#define CG_BP_FALL_DEF	     200000  /* EWMA weight of a new sample below it (slow to believe) */
#define CG_BP_SIGNAL_DEF     300000  /* EWMA weight of a new rate sample of the LB's own view */
#define CG_BP_STALE_DEF	     3000    /* ms without an accepted report: the cell's load is unknown */
#define CG_BP_STALE_MAX	     600000  /* ms */
#define CG_BP_QUEUE_FULL_DEF 0	     /* us of queue delay that count as full load; 0 = not used */
#define CG_BP_QUEUE_FULL_MAX 60000000 /* us: a minute */
#define CG_BP_RATE_DEF	     20	      /* reports a second accepted per cell */
#define CG_BP_RATE_MAX	     1000     /* reports a second */
#define CG_BP_BURST_DEF	     10	      /* reports above the rate accepted in a burst */
#define CG_BP_SKEW_DEF	     5000 /* ms a report's timestamp may be off the LB's clock; 0 = any */
#define CG_BP_SKEW_MAX	     3600000 /* ms */
#define CG_BP_KEY_FILE_MAX   128     /* backpressure.key_file: 0..127 bytes and a NUL */

/* The backpressure controller's targets and constants (the `backpressure:` section). */
struct cg_bp_settings {
	uint8_t mode;		   /* enum cg_bp_mode of every cell (cellctl shed mode overrides) */
	uint16_t report_port;	   /* UDP port cell load reports come to; 0 = none received */
	uint32_t target_ppm;	   /* load each cell is kept at or under, share of its capacity */
	uint32_t hysteresis_ppm;   /* levels are released only under target - this */
	uint32_t period_ms;	   /* between two control steps */
	uint32_t dwell_ms;	   /* a cell's levels are held this long after a change */
	uint32_t max_step_ppm;	   /* largest rise of the shed ladder a period, share of a class */
	uint32_t release_step_ppm; /* largest fall of the ladder a period, share of a class */
	uint32_t rise_ppm;	   /* EWMA weight of a sample above the smoothed load */
	uint32_t fall_ppm;	   /* EWMA weight of a sample below the smoothed load */
	uint32_t signal_ppm;	   /* EWMA weight of a new rate sample of the LB's own counters */
	uint32_t stale_ms;	   /* a cell without an accepted report this long: load unknown */
	uint32_t queue_full_us;	   /* queue delay counted as load 1 (full); 0: delay not a signal */
	uint32_t report_rate;	   /* reports a second accepted per cell */
	uint32_t report_burst;	   /* reports accepted at once above the rate */
	uint32_t max_skew_ms;	   /* a report's timestamp this far off the LB's clock is refused */
	char key_file[CG_BP_KEY_FILE_MAX]; /* shared report key file; "" = reports not signed */
};

/* cg_bp_settings_defaults - *b as a config without a `backpressure:` section has it. */
void cg_bp_settings_defaults(struct cg_bp_settings *b);

#define CG_METRICS_LISTEN_MAX 64	       /* metrics.listen: 0..63 bytes and a NUL */
#define CG_METRICS_LISTEN_DEF "127.0.0.1:9464" /* loopback only unless an operator opens it */

/* Where cellgated serves Prometheus text at /metrics (the `metrics:` section). */
struct cg_metrics_settings {
	char listen[CG_METRICS_LISTEN_MAX]; /* ADDR:PORT or [ADDR6]:PORT; "" or "off": not served */
};

/* cg_metrics_settings_defaults - *m as a config without a `metrics:` section has it. */
void cg_metrics_settings_defaults(struct cg_metrics_settings *m);

/* A region's state. */
enum cg_region_state {
	CG_REGION_ACTIVE = 0,	 /* in the tables at its full share */
	CG_REGION_DRAINING = 1,	 /* an evacuation is running (pre-shed, table swap) */
	CG_REGION_EVACUATED = 2, /* out of the tables; expires at cg_evac.expires */
	CG_REGION_RESTORING = 3, /* ramping back in, at ramp step cg_evac.step */
};

/* What happens to a region. */
enum cg_region_event {
	CG_EV_EVACUATE = 0,  /* operator or automatic: same path */
	CG_EV_RESTORE = 1,   /* start the ramp back */
	CG_EV_ABORT = 2,     /* draining -> active, restoring -> evacuated */
	CG_EV_EXTEND = 3,    /* push the expiry of an evacuation out */
	CG_EV_EXPIRE = 4,    /* the expiry passed: start a restore (never a jump to active) */
	CG_EV_FLAP = 5,	     /* the region's health flapped while restoring: back to evacuated */
	CG_EV_STEP_DONE = 6, /* draining finished, or a ramp step's dwell passed healthy */
};

/*
 * The persisted record of one region's transitions (region.h runs them; its
 * field table is cg_evac_obj). Operational state, set by `cellctl region`:
 * a config apply carries it (cg_evac_carry()). A region without a record is
 * active.
 */
struct cg_evac {
	char region[CG_NAME_MAX];	 /* region name */
	uint8_t state;			 /* enum cg_region_state */
	bool forced;			 /* a rule was overridden to get here */
	uint16_t step;			 /* restoring: ramp step index */
	int64_t step_started;		 /* when the current step (or state) began */
	int64_t expires;		 /* evacuated: when it starts a restore; 0 = never */
	int64_t changed;		 /* last transition start, for the wait period */
	char by[CG_SHED_BY_MAX];	 /* who asked for the last transition */
	char reason[CG_SHED_REASON_MAX]; /* why */
	unsigned int line;		 /* state file line, 0 if not from a file */
};

#define CG_SAGA_STEPS_MAX 16 /* steps of one region transition's saga */

/*
 * The region transition in flight, as the saga that runs it left it: enough
 * to resume or compensate after a restart (cg_saga_decide(rec)). One at a
 * time (rule one_at_a_time); region "" when none is in flight.
 */
struct cg_saga_cfg {
	char region[CG_NAME_MAX]; /* the region it moves; "" = none in flight */
	uint8_t event;		  /* enum cg_region_event that started it */
	uint8_t from;		  /* enum cg_region_state before it: what compensation restores */
	uint16_t from_step;	  /* the ramp step before it */
	uint32_t nsteps;	  /* steps of the saga, 1..CG_SAGA_STEPS_MAX */
	int64_t started;	  /* unix time (s) it began */
	struct cg_saga_rec rec;	  /* progress: steps done, phase, a step cut in half */
};

/* An operator's shed level for a (cell, class). */
struct cg_shed_cfg {
	char cell[CG_NAME_MAX];		 /* a cell's name, or CG_SHED_ANY_CELL */
	uint8_t class;			 /* id of an existing class */
	bool hard;			 /* also drop that fraction of established flows' packets */
	uint32_t level_ppm;		 /* fraction of new flows refused, parts per million */
	int64_t expires;		 /* unix time (s) it stops applying; 0 = permanent */
	char by[CG_SHED_BY_MAX];	 /* who set it, free text */
	char reason[CG_SHED_REASON_MAX]; /* why, free text */
	unsigned int line;		 /* config line, 0 if not from a file */
};

/* Ranges of the desired state's fields (field.c's tables, docs/config.md). */
#define CG_MIN_MTU	   576	      /* IPv4 minimum datagram every host accepts */
#define CG_MAX_MTU	   9216	      /* common jumbo frame ceiling */
#define CG_MIN_MTU_IPV6	   1280	      /* with IPv6 in play (RFC 8200's minimum link MTU) */
#define CG_MIN_CONNTRACK   1024	      /* smallest connection table worth having */
#define CG_MAX_CONNTRACK   (1U << 28) /* 268M entries: a bound that catches typos */
#define CG_MAX_REGION_COST 1000000    /* keeps sums of costs far from overflow */
#define CG_MAX_WEIGHT	   65535      /* cell weight: 1..65535 */
#define CG_DEFAULT_WEIGHT  100	      /* cell weight when not given */

/* Load shedding (see docs/config.md). */
#ifndef CG_MAX_CLASS_RULES
#define CG_MAX_CLASS_RULES 4096 /* source-prefix class rules, per address family */
#endif
#define CG_MAX_DSCP	     63	  /* DSCP values are 0..63 */
#define CG_LEVEL_DECIMALS    6	  /* a shed level has at most 6 decimals (ppm) */
#define CG_GUARD_PREFIX4_MIN 8	  /* guard.ipv4_prefix range */
#define CG_GUARD_PREFIX6_MIN 16	  /* guard.ipv6_prefix range (max 128) */
#define CG_GUARD_PREFIX4_DEF 24	  /* guard.ipv4_prefix when not given */
#define CG_GUARD_PREFIX6_DEF 64	  /* guard.ipv6_prefix when not given */
#define CG_GUARD_AGG4_DEF    16	  /* guard.ipv4_aggregate when not given */
#define CG_GUARD_AGG6_DEF    48	  /* guard.ipv6_aggregate when not given */
#define CG_GUARD_AGG_FACTOR  16	  /* aggregate limit over a prefix's when not given */
#define CG_ICMP_RATE_DEF     1000 /* icmp_errors_per_sec and icmp_too_big_per_sec defaults */
#define CG_MAX_VLAN_ID	     4094 /* 802.1Q ids 1..4094 (0 and 4095 are reserved) */
#define CG_MAX_SHED	     ((CG_MAX_CELLS + 1) * CG_MAX_CLASSES) /* every (cell or *, class) */

struct cg_state {
	uint64_t generation;	  /* bumped on every change that is persisted */
	uint32_t next_region_id;  /* high-water marks: every id below was handed out once */
	uint32_t next_cell_id;	  /* (persisted; new objects get ids from here, so an id */
	uint32_t next_service_id; /* is not reissued while entries or counters may hold it) */
	char region[CG_NAME_MAX]; /* this LB's region (locality costs are from here) */
	char ifaces[CG_MAX_IFACES][IF_NAMESIZE]; /* interfaces to attach to */
	size_t nifaces;
	uint8_t xdp_mode;	 /* enum cg_xdp_mode */
	struct cg_addr src4;	 /* outer IPv4 source (family 0: no IPv4 cells) */
	struct cg_addr src6;	 /* outer IPv6 source (family 0: no IPv6 cells) */
	uint32_t mtu;		 /* of the path to the cells, 576..9216 */
	uint32_t conntrack_size; /* connection table entries, at load time only */
	uint16_t vlan;		 /* VLAN id tagged client frames carry; 0 = untagged only */
	uint32_t icmp_rate;	 /* ICMP errors forwarded a second, whole LB; 0 = no limit */
	uint32_t too_big_rate;	 /* ICMP too big replies sent a second, whole LB; 0 = no limit */
	size_t nregions, ncells, nservices;
	struct cg_region_cfg *regions;
	struct cg_cell_cfg *cells;
	struct cg_service_cfg *services;
	size_t nclasses;			     /* 1..CG_MAX_CLASSES */
	struct cg_class_cfg classes[CG_MAX_CLASSES]; /* sorted by id */
	size_t nrules, nshed;
	struct cg_class_rule_cfg *rules; /* prefix (by family, address, length), then DSCP */
	struct cg_shed_cfg *shed;	 /* sorted by cell, then class */
	struct cg_guard_cfg guard;
	struct cg_loc_settings locality; /* the locality policy's constants */
	struct cg_health_settings health;
	struct cg_failover_settings failover;
	struct cg_bp_settings bp; /* the backpressure controller's targets and constants */
	struct cg_metrics_settings metrics; /* where /metrics is served */
	size_t nevacs;			    /* 0..CG_MAX_REGIONS */
	struct cg_evac *evacs;		    /* each region's evacuation record, sorted by region */
	struct cg_saga_cfg saga;	    /* the transition in flight, if any */
};

/*
 * cg_failover_defaults - the failover settings of a config without a
 * failover section: min_cells 1, min_regions 1, the ramp 10%, 25%, 50%, all
 * (docs/config.md, Failover). cg_state_init() and cg_rules_defaults() both
 * take them from here.
 */
void cg_failover_defaults(struct cg_failover_settings *f);

/*
 * cg_state_init - make *st an empty state with the defaults: no interfaces,
 * objects or source addresses, xdp_mode auto, mtu CG_DEFAULT_MTU, conntrack
 * CG_DEFAULT_CONNTRACK; the four default classes (0 critical, protected; 1
 * high; 2 normal; 3 sheddable; no ceilings, burst 1), no class rules or shed
 * entries, the guard off with prefixes /24 and /64 (aggregates /16 and /48),
 * ICMP errors and too-big replies CG_ICMP_RATE_DEF a second, no VLAN.
 * Allocates nothing.
 * Whatever *st held is not freed.
 */
void cg_state_init(struct cg_state *st);

/*
 * cg_state_free - release the arrays of *st and leave it as cg_state_init()
 * does. Safe on an initialised or all-zero state, and twice.
 */
void cg_state_free(struct cg_state *st);

/*
 * cg_state_copy - make *dst a deep copy of *src (nothing shared).
 * Returns 0, or -ENOMEM with *dst untouched. *dst's old contents are not freed.
 */
int cg_state_copy(struct cg_state *dst, const struct cg_state *src);

/*
 * cg_state_find_region / _cell / _service - the object called name, or NULL.
 * Linear search; the pointer is valid until the array is changed.
 */
struct cg_region_cfg *cg_state_find_region(const struct cg_state *st, const char *name);
struct cg_cell_cfg *cg_state_find_cell(const struct cg_state *st, const char *name);
struct cg_service_cfg *cg_state_find_service(const struct cg_state *st, const char *name);

/*
 * cg_state_find_class - the class called name, or NULL.
 * cg_state_class_by_id - the class whose id is id, or NULL.
 * The pointer is into st->classes.
 */
struct cg_class_cfg *cg_state_find_class(const struct cg_state *st, const char *name);
struct cg_class_cfg *cg_state_class_by_id(const struct cg_state *st, uint32_t id);

/*
 * cg_rule_cmp - the canonical order of class rules: prefixes (IPv4, then
 * IPv6; by address, then length), then DSCP values. 0 means both match the
 * same packets (a duplicate).
 */
int cg_rule_cmp(const struct cg_class_rule_cfg *a, const struct cg_class_rule_cfg *b);

/*
 * cg_state_sort - put st in canonical order: interfaces, regions, cells and
 * services by name, each service's cells by name, classes by id, rules by
 * cg_rule_cmp(), shed entries by cell then class, evacuation records by region. The codec sorts what it
 * reads; a state changed at runtime is sorted before it is committed.
 */
void cg_state_sort(struct cg_state *st);

/*
 * cg_state_assign_ids - give every region, cell and service of *st whose id
 * is CG_ID_AUTO a map index, so that indexes stay put across changes:
 *
 * 1. an explicit id (not CG_ID_AUTO) is kept;
 * 2. an object that exists in prev under the same name keeps prev's id;
 * 3. the others, in name order, get the lowest free id at or above the
 *    kind's high-water mark (the larger of prev's next_*_id, one past prev's
 *    highest id and st's own next_*_id), so an id once handed out is not
 *    handed to a new object while connection entries or counters may still
 *    hold it, not even across deletes, restarts or fail-static; only when
 *    the mark reaches CG_MAX_* does it fall back to the lowest id free in *st
 *    that no object of prev used, else the lowest free id.
 * Then st's next_*_id become one past the highest id handed out (at least
 * the mark).
 *
 * prev may be NULL (first start). Deterministic: the same inputs give the
 * same ids on every load balancer.
 *
 * Returns 0; -EEXIST if two explicit ids collide, or an explicit id is the id
 * another object still present keeps from prev; -ERANGE for an explicit id
 * beyond CG_MAX_*; -ENOSPC if a kind has more objects than ids. On failure
 * *st is unchanged.
 */
int cg_state_assign_ids(struct cg_state *st, const struct cg_state *prev);

/*
 * cg_state_generation_next - the generation a change committed on top of
 * cur gets: cur->generation + 1 into *next. Returns 0, or -EOVERFLOW (and
 * *next untouched) when cur->generation is UINT64_MAX: the counter would
 * wrap and a reader could no longer tell the newer state from the older.
 */
int cg_state_generation_next(const struct cg_state *cur, uint64_t *next);

/*
 * Canonical order, shared by the codec, the state file and diff (one
 * definition each). cg_sorted_index - indexes 0..n-1 of records that start
 * with a name, in name order; cg_sorted_index_by - in cmp's order; both
 * malloc'ed (NULL on ENOMEM, a valid pointer when n is 0), ties in array order.
 * cg_class_cmp_v (by id), cg_rule_cmp_v (cg_rule_cmp), cg_shed_cmp_v (by cell,
 * "*" first, then class id) and cg_ifname_cmp compare two records for qsort.
 */
size_t *cg_sorted_index(const void *base, size_t stride, size_t n);
size_t *cg_sorted_index_by(const void *base, size_t stride, size_t n,
			   int (*cmp)(const void *a, const void *b));
int cg_class_cmp_v(const void *a, const void *b);
int cg_rule_cmp_v(const void *a, const void *b);
int cg_shed_cmp_v(const void *a, const void *b);
int cg_ifname_cmp(const void *a, const void *b);

/* cg_class_name - the name of class id in st, or NULL. */
const char *cg_class_name(const struct cg_state *st, uint32_t id);

#endif /* CELLGATE_STATE_H */
