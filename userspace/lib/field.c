// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* field.c - the field tables of the desired state, and the parsers every consumer shares */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/field.h"
#include "cellgate/text.h"

#define OFF(T, m)  ((uint16_t)offsetof(T, m))
#define SZ(T, m)   ((uint16_t)sizeof(((T *)0)->m))
#define F(T, m, k) FK(T, m, #m, k)
/* a field whose key is not its member's name */
#define FK(T, m, key, k) .name = (key), .type = (k), .offset = OFF(T, m), .size = SZ(T, m)

/* Top-level settings. region and interfaces are required; source is a mapping of two addresses. */
static const struct cg_field settings_fields[] = {
	{ F(struct cg_state, region, CG_F_REF), .flags = CG_FF_REQUIRED, .ref = "region",
	  .doc = "this LB's region: locality costs are from here" },
	{ FK(struct cg_state, ifaces, "interfaces", CG_F_NAMES),
	  .flags = CG_FF_REQUIRED | CG_FF_INLINE, .aux = OFF(struct cg_state, nifaces), .min = 1,
	  .max = CG_MAX_IFACES, .doc = "interfaces to attach to" },
	{ F(struct cg_state, xdp_mode, CG_F_ENUM), .words = cg_xdp_mode_names, .def = CG_XDP_AUTO,
	  .doc = "XDP attach mode: auto, native or generic" },
	{ FK(struct cg_state, src4, "source.ipv4", CG_F_ADDR), .min = CG_AF_INET,
	  .doc = "outer IPv4 source (source.ipv4)" },
	{ FK(struct cg_state, src6, "source.ipv6", CG_F_ADDR), .min = CG_AF_INET6,
	  .doc = "outer IPv6 source (source.ipv6)" },
	{ F(struct cg_state, mtu, CG_F_U32), .min = CG_MIN_MTU, .max = CG_MAX_MTU,
	  .def = CG_DEFAULT_MTU, .doc = "MTU of the path to the cells" },
	{ FK(struct cg_state, conntrack_size, "conntrack", CG_F_U32), .min = CG_MIN_CONNTRACK,
	  .max = CG_MAX_CONNTRACK, .def = CG_DEFAULT_CONNTRACK,
	  .doc = "connection table entries, at load time only" },
	{ F(struct cg_state, vlan, CG_F_U16), .flags = CG_FF_RUNTIME, .max = CG_MAX_VLAN_ID,
	  .doc = "VLAN id tagged client frames carry; 0 = untagged only" },
	{ FK(struct cg_state, icmp_rate, "icmp_errors_per_sec", CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = UINT32_MAX, .def = CG_ICMP_RATE_DEF,
	  .doc = "ICMP errors forwarded to cells a second; 0 = no limit" },
	{ FK(struct cg_state, too_big_rate, "icmp_too_big_per_sec", CG_F_U32),
	  .flags = CG_FF_RUNTIME, .max = UINT32_MAX, .def = CG_ICMP_RATE_DEF,
	  .doc = "ICMP too big replies sent a second; 0 = no limit" },
	{ 0 },
};

static const struct cg_field region_fields[] = {
	{ F(struct cg_region_cfg, name, CG_F_NAME), .flags = CG_FF_REQUIRED | CG_FF_KEY,
	  .doc = "region name" },
	{ F(struct cg_region_cfg, id, CG_F_ID), .flags = CG_FF_ASSIGNED, .max = CG_MAX_REGIONS - 1,
	  .def = CG_ID_AUTO, .doc = "region id; assigned by cellgated if not given" },
	{ F(struct cg_region_cfg, cost, CG_F_U32), .flags = CG_FF_REQUIRED | CG_FF_RUNTIME,
	  .max = CG_MAX_REGION_COST, .doc = "locality cost from this LB: lower is nearer" },
	{ 0 },
};

static const struct cg_field cell_fields[] = {
	{ F(struct cg_cell_cfg, name, CG_F_NAME), .flags = CG_FF_REQUIRED | CG_FF_KEY,
	  .doc = "cell name" },
	{ F(struct cg_cell_cfg, id, CG_F_ID), .flags = CG_FF_ASSIGNED, .max = CG_MAX_CELLS - 1,
	  .def = CG_ID_AUTO, .doc = "cell id; assigned by cellgated if not given" },
	{ F(struct cg_cell_cfg, region, CG_F_REF), .flags = CG_FF_REQUIRED, .ref = "region",
	  .doc = "the region the cell is in" },
	{ FK(struct cg_cell_cfg, gw, "gateway", CG_F_ADDR), .flags = CG_FF_REQUIRED,
	  .doc = "gateway: outer destination" },
	{ F(struct cg_cell_cfg, encap, CG_F_ENUM), .flags = CG_FF_REQUIRED | CG_FF_RUNTIME,
	  .words = cg_encap_names, .def = CG_ENCAP_IPIP, .doc = "encapsulation: ipip or gue" },
	{ F(struct cg_cell_cfg, gue_port, CG_F_U16), .flags = CG_FF_RUNTIME, .min = 1, .max = 65535,
	  .def = CG_GUE_DEFAULT_PORT, .doc = "outer UDP destination port for gue" },
	{ F(struct cg_cell_cfg, weight, CG_F_U32), .flags = CG_FF_RUNTIME, .min = 1,
	  .max = CG_MAX_WEIGHT, .def = CG_DEFAULT_WEIGHT, .doc = "relative Maglev weight" },
	{ F(struct cg_cell_cfg, probe_port, CG_F_U16), .flags = CG_FF_RUNTIME, .max = 65535,
	  .doc = "TCP port health probes connect to; 0 = each service's port" },
	{ F(struct cg_cell_cfg, capacity, CG_F_U32), .flags = CG_FF_RUNTIME, .max = UINT32_MAX,
	  .doc = "new flows per second the cell can carry; 0 = unknown" },
	{ F(struct cg_cell_cfg, state, CG_F_ENUM), .flags = CG_FF_RUNTIME,
	  .words = cg_cell_state_names, .def = CG_CELL_ACTIVE,
	  .doc = "desired state: active, draining or down" },
	{ F(struct cg_cell_cfg, shed_mode, CG_F_ENUM), .flags = CG_FF_RUNTIME | CG_FF_OMITDEF,
	  .words = cg_bp_own_mode_names, .def = CG_BP_OWN_DEFAULT,
	  .doc = "the backpressure controller's mode for the cell: default, auto, manual, off" },
	{ 0 },
};

static const struct cg_field service_fields[] = {
	{ F(struct cg_service_cfg, name, CG_F_NAME), .flags = CG_FF_REQUIRED | CG_FF_KEY,
	  .doc = "service name" },
	{ F(struct cg_service_cfg, id, CG_F_ID), .flags = CG_FF_ASSIGNED,
	  .max = CG_MAX_SERVICES - 1, .def = CG_ID_AUTO,
	  .doc = "service id; assigned by cellgated if not given" },
	{ F(struct cg_service_cfg, vip, CG_F_ADDR), .flags = CG_FF_REQUIRED,
	  .doc = "virtual IP clients connect to" },
	{ F(struct cg_service_cfg, port, CG_F_U16), .flags = CG_FF_REQUIRED, .min = 1, .max = 65535,
	  .doc = "destination port" },
	{ FK(struct cg_service_cfg, proto, "protocol", CG_F_ENUM), .flags = CG_FF_REQUIRED,
	  .words = cg_proto_names, .def = IPPROTO_TCP, .doc = "protocol: tcp or udp" },
	{ F(struct cg_service_cfg, table_size, CG_F_U32), .min = 2, .max = CG_MAX_TABLE_SIZE,
	  .def = CG_DEFAULT_TABLE_SIZE, .doc = "Maglev table slots, a prime" },
	{ F(struct cg_service_cfg, locality, CG_F_ENUM), .flags = CG_FF_OMITDEF,
	  .words = cg_loc_mode_names, .def = CG_LOC_SPREAD,
	  .doc = "spread (every cell at its weight) or local-first (this LB's region first)" },
	{ F(struct cg_service_cfg, shed_mode, CG_F_ENUM), .flags = CG_FF_RUNTIME | CG_FF_OMITDEF,
	  .words = cg_bp_own_mode_names, .def = CG_BP_OWN_DEFAULT,
	  .doc = "the backpressure controller's mode for the service's cells: default, auto, "
		 "manual, off (the most cautious of a cell's services applies, its own mode wins)" },
	{ F(struct cg_service_cfg, default_class, CG_F_CLASS), .flags = CG_FF_RUNTIME | CG_FF_BYID,
	  .max = CG_MAX_CLASSES - 1, .doc = "class of flows no class rule matches" },
	{ .name = "cells",
	  .type = CG_F_NAMES,
	  .flags = CG_FF_REQUIRED | CG_FF_RUNTIME,
	  .offset = OFF(struct cg_service_cfg, cells),
	  .size = SZ(struct cg_service_cfg, cells),
	  .aux = OFF(struct cg_service_cfg, ncells),
	  .max = CG_MAX_CELLS,
	  .ref = "cell",
	  .doc = "the cells that serve it" },
	{ 0 },
};

static const struct cg_field class_fields[] = {
	{ F(struct cg_class_cfg, name, CG_F_NAME), .flags = CG_FF_REQUIRED | CG_FF_KEY,
	  .doc = "class name; not all digits" },
	{ F(struct cg_class_cfg, id, CG_F_ID), .flags = CG_FF_REQUIRED, .max = CG_MAX_CLASSES - 1,
	  .doc = "class id; 0 is the most critical" },
	{ F(struct cg_class_cfg, protected, CG_F_BOOL),
	  .doc = "never shed by the automatic controller" },
	{ F(struct cg_class_cfg, new_flows_per_sec, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = UINT32_MAX, .doc = "ceiling on new flows of the class; 0 = none" },
	{ F(struct cg_class_cfg, packets_per_sec, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = UINT32_MAX, .doc = "ceiling on packets of the class; 0 = none" },
	{ F(struct cg_class_cfg, burst, CG_F_U32), .flags = CG_FF_RUNTIME, .min = 1,
	  .max = UINT32_MAX, .def = 1, .doc = "depth of each ceiling's bucket in its unit" },
	{ F(struct cg_class_cfg, max_spill_cost, CG_F_U32), .flags = CG_FF_OMITDEF,
	  .max = CG_MAX_REGION_COST, .def = CG_MAX_REGION_COST,
	  .doc = "not spilled to a region of a higher locality cost: shed instead" },
	{ 0 },
};

static const struct cg_field class_rule_fields[] = {
	{ F(struct cg_class_rule_cfg, prefix, CG_F_PREFIX), .flags = CG_FF_KEY,
	  .aux = OFF(struct cg_class_rule_cfg, prefix_len), .doc = "source prefix it matches" },
	{ F(struct cg_class_rule_cfg, dscp, CG_F_U8), .flags = CG_FF_KEY, .max = CG_MAX_DSCP,
	  .doc = "DSCP value it matches" },
	{ F(struct cg_class_rule_cfg, class, CG_F_CLASS), .flags = CG_FF_REQUIRED,
	  .max = CG_MAX_CLASSES - 1, .doc = "class of the packets it matches" },
	{ 0 },
};

static const struct cg_field shed_fields[] = {
	{ F(struct cg_shed_cfg, cell, CG_F_REF), .flags = CG_FF_REQUIRED | CG_FF_KEY, .ref = "cell",
	  .doc = "a cell's name, or * for every cell" },
	{ F(struct cg_shed_cfg, class, CG_F_CLASS), .flags = CG_FF_REQUIRED | CG_FF_KEY,
	  .max = CG_MAX_CLASSES - 1, .doc = "the class it sheds" },
	{ FK(struct cg_shed_cfg, level_ppm, "level", CG_F_LEVEL),
	  .flags = CG_FF_REQUIRED | CG_FF_RUNTIME, .max = CG_LEVEL_ONE,
	  .doc = "fraction of new flows refused, 0..1" },
	{ F(struct cg_shed_cfg, hard, CG_F_BOOL), .flags = CG_FF_RUNTIME,
	  .doc = "also drop that fraction of established flows' packets" },
	{ F(struct cg_shed_cfg, expires, CG_F_TIME), .flags = CG_FF_RUNTIME,
	  .doc = "unix time it stops applying; 0 = permanent" },
	{ F(struct cg_shed_cfg, by, CG_F_TEXT), .flags = CG_FF_RUNTIME, .doc = "who set it" },
	{ F(struct cg_shed_cfg, reason, CG_F_TEXT), .flags = CG_FF_RUNTIME, .doc = "why" },
	{ 0 },
};

static const struct cg_field guard_fields[] = {
	{ F(struct cg_guard_cfg, ipv4_prefix, CG_F_U8), .flags = CG_FF_RUNTIME,
	  .min = CG_GUARD_PREFIX4_MIN, .max = 32, .def = CG_GUARD_PREFIX4_DEF,
	  .doc = "IPv4 sources are counted per /ipv4_prefix" },
	{ F(struct cg_guard_cfg, ipv6_prefix, CG_F_U8), .flags = CG_FF_RUNTIME,
	  .min = CG_GUARD_PREFIX6_MIN, .max = 128, .def = CG_GUARD_PREFIX6_DEF,
	  .doc = "IPv6 sources are counted per /ipv6_prefix" },
	{ F(struct cg_guard_cfg, new_flows_per_sec, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = UINT32_MAX, .doc = "new flows per second per source prefix; 0 = off" },
	{ F(struct cg_guard_cfg, burst, CG_F_U32), .flags = CG_FF_RUNTIME, .max = UINT32_MAX,
	  .doc = "bucket depth in flows; default twice the rate" },
	{ F(struct cg_guard_cfg, ipv4_aggregate, CG_F_U8), .flags = CG_FF_RUNTIME,
	  .min = CG_GUARD_PREFIX4_MIN, .max = 32, .def = CG_GUARD_AGG4_DEF,
	  .doc = "and per /ipv4_aggregate, at most ipv4_prefix" },
	{ F(struct cg_guard_cfg, ipv6_aggregate, CG_F_U8), .flags = CG_FF_RUNTIME,
	  .min = CG_GUARD_PREFIX6_MIN, .max = 128, .def = CG_GUARD_AGG6_DEF,
	  .doc = "and per /ipv6_aggregate, at most ipv6_prefix" },
	{ F(struct cg_guard_cfg, aggregate_new_flows_per_sec, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = UINT32_MAX, .doc = "new flows per second per aggregate; 0 = 16 x the rate" },
	{ F(struct cg_guard_cfg, aggregate_burst, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = UINT32_MAX, .doc = "the aggregate's bucket depth; 0 = 16 x burst" },
	{ 0 },
};

static const struct cg_field loc_fields[] = {
	{ FK(struct cg_loc_settings, target_ppm, "target", CG_F_LEVEL), .min = 1,
	  .max = CG_LEVEL_ONE, .def = CG_LOC_TARGET_DEF,
	  .doc = "a cell takes new flows up to this share of its capacity before spill" },
	{ FK(struct cg_loc_settings, step_ppm, "step", CG_F_LEVEL), .max = CG_LOC_STEP_MAX,
	  .def = CG_LOC_STEP_DEF, .doc = "hysteresis: shares change only when one moves by more" },
	{ FK(struct cg_loc_settings, rise_ppm, "rise", CG_F_LEVEL), .min = 1, .max = CG_LEVEL_ONE,
	  .def = CG_LOC_RISE_DEF, .doc = "largest rise of the spill a period, share of the flows" },
	{ FK(struct cg_loc_settings, withdraw_ppm, "withdraw", CG_F_LEVEL), .min = 1,
	  .max = CG_LEVEL_ONE, .def = CG_LOC_WITHDRAW_DEF,
	  .doc = "largest fall of the spill a period, at most rise" },
	{ F(struct cg_loc_settings, period_ms, CG_F_U32), .min = CG_LOC_PERIOD_MIN,
	  .max = CG_LOC_PERIOD_MAX, .def = CG_LOC_PERIOD_DEF, .doc = "ms between two steps" },
	{ 0 },
};

static const struct cg_field health_fields[] = {
	{ F(struct cg_health_settings, probe, CG_F_ENUM), .flags = CG_FF_RUNTIME,
	  .words = cg_probe_names, .def = CG_PROBE_OFF, .doc = "probe kind: off, tcp or http" },
	{ F(struct cg_health_settings, interval_ms, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .min = CG_HEALTH_INTERVAL_MIN, .max = CG_HEALTH_INTERVAL_MAX,
	  .def = CG_HEALTH_INTERVAL_DEF, .doc = "ms between a cell's probes, before jitter" },
	{ F(struct cg_health_settings, timeout_ms, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .min = CG_HEALTH_TIMEOUT_MIN, .max = CG_HEALTH_TIMEOUT_MAX, .def = CG_HEALTH_TIMEOUT_DEF,
	  .doc = "ms a probe may take" },
	{ FK(struct cg_health_settings, jitter_ppm, "jitter", CG_F_LEVEL), .flags = CG_FF_RUNTIME,
	  .max = CG_HEALTH_JITTER_MAX, .def = CG_HEALTH_JITTER_DEF,
	  .doc = "each wait is the interval +- this share of it, 0..0.5" },
	{ F(struct cg_health_settings, rise, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .min = CG_HEALTH_COUNT_MIN, .max = CG_HEALTH_COUNT_MAX, .def = CG_HEALTH_RISE_DEF,
	  .doc = "good probes in a row to become up" },
	{ F(struct cg_health_settings, fall, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .min = CG_HEALTH_COUNT_MIN, .max = CG_HEALTH_COUNT_MAX, .def = CG_HEALTH_FALL_DEF,
	  .doc = "failed probes in a row to become down" },
	{ FK(struct cg_health_settings, panic_ppm, "panic_threshold", CG_F_LEVEL),
	  .flags = CG_FF_RUNTIME, .min = CG_HEALTH_PANIC_MIN, .max = CG_HEALTH_PANIC_MAX,
	  .def = CG_HEALTH_PANIC_DEF,
	  .doc = "more than this share of cells failing at once: freeze, evacuate nothing" },
	{ F(struct cg_health_settings, http_path, CG_F_TEXT), .flags = CG_FF_RUNTIME,
	  .doc = "path an http probe asks for" },
	{ F(struct cg_health_settings, http_status, CG_F_U16), .flags = CG_FF_RUNTIME, .min = 100,
	  .max = 599, .def = 200, .doc = "status an http probe expects" },
	{ 0 },
};

static const struct cg_field failover_fields[] = {
	{ F(struct cg_failover_settings, min_cells, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = CG_MAX_CELLS, .def = CG_MIN_CELLS_DEF,
	  .doc = "active cells each service keeps; a transition that leaves fewer is refused" },
	{ F(struct cg_failover_settings, min_regions, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = CG_MAX_REGIONS, .def = CG_MIN_REGIONS_DEF,
	  .doc = "active regions kept; an evacuation that leaves fewer is refused" },
	{ F(struct cg_failover_settings, wait, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = CG_WAIT_MAX, .def = CG_WAIT_DEF, .doc = "seconds between two region transitions" },
	{ F(struct cg_failover_settings, evacuation_ttl, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = CG_EVAC_TTL_MAX, .def = CG_EVAC_TTL_DEF,
	  .doc = "seconds an evacuation lasts unless extended, then a restore; 0 = forever" },
	{ FK(struct cg_failover_settings, max_out_ppm, "max_out", CG_F_LEVEL),
	  .flags = CG_FF_RUNTIME, .min = 1, .max = CG_LEVEL_ONE, .def = CG_MAX_OUT_DEF,
	  .doc = "share of a service's capacity one transition may take out" },
	{ FK(struct cg_failover_settings, ramp_ppm, "ramp", CG_F_LEVELS), .flags = CG_FF_RUNTIME,
	  .aux = OFF(struct cg_failover_settings, nramp), .min = 1, .max = CG_RAMP_MAX,
	  .doc = "restore ramp: the region's share at each step, rising to 1" },
	{ F(struct cg_failover_settings, dwell, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = CG_DWELL_MAX, .def = CG_DWELL_DEF, .doc = "seconds each ramp step is held" },
	{ FK(struct cg_failover_settings, max_step_ppm, "max_step", CG_F_LEVEL),
	  .flags = CG_FF_RUNTIME, .max = CG_LEVEL_ONE, .def = CG_MAX_STEP_DEF,
	  .doc = "largest rise from one ramp step to the next; 0 = any" },
	{ FK(struct cg_failover_settings, auto_evacuate_ppm, "auto_evacuate", CG_F_LEVEL),
	  .flags = CG_FF_RUNTIME, .max = CG_LEVEL_ONE, .def = CG_AUTO_EVACUATE_DEF,
	  .doc = "share of a region's cells down to health that evacuates it; 0 = never" },
	{ 0 },
};

static const struct cg_field bp_fields[] = {
	{ F(struct cg_bp_settings, mode, CG_F_ENUM), .flags = CG_FF_RUNTIME,
	  .words = cg_bp_mode_names, .def = CG_BP_AUTO,
	  .doc = "every cell's mode: auto (the controller sheds), manual (it only advises) or off" },
	{ FK(struct cg_bp_settings, target_ppm, "target", CG_F_LEVEL), .flags = CG_FF_RUNTIME,
	  .min = 1, .max = CG_BP_TARGET_MAX, .def = CG_BP_TARGET_DEF,
	  .doc = "load each cell is kept at or under, as a share of its capacity" },
	{ FK(struct cg_bp_settings, hysteresis_ppm, "hysteresis", CG_F_LEVEL),
	  .flags = CG_FF_RUNTIME, .max = CG_LEVEL_ONE, .def = CG_BP_HYST_DEF,
	  .doc = "levels are released only when the load is this far under the target" },
	{ F(struct cg_bp_settings, period_ms, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .min = CG_BP_PERIOD_MIN, .max = CG_BP_PERIOD_MAX, .def = CG_BP_PERIOD_DEF,
	  .doc = "ms between two control steps" },
	{ F(struct cg_bp_settings, dwell_ms, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = CG_BP_DWELL_MAX, .def = CG_BP_DWELL_DEF,
	  .doc = "ms a cell's levels are held after a rise before they are released" },
	{ FK(struct cg_bp_settings, max_step_ppm, "max_step", CG_F_LEVEL), .flags = CG_FF_RUNTIME,
	  .min = 1, .max = CG_LEVEL_ONE, .def = CG_BP_MAX_STEP_DEF,
	  .doc = "largest rise of the shed ladder a period, as a share of one class" },
	{ FK(struct cg_bp_settings, release_step_ppm, "release_step", CG_F_LEVEL),
	  .flags = CG_FF_RUNTIME, .min = 1, .max = CG_LEVEL_ONE, .def = CG_BP_RELEASE_DEF,
	  .doc = "largest fall of the shed ladder a period, as a share of one class" },
	{ FK(struct cg_bp_settings, rise_ppm, "smoothing_rise", CG_F_LEVEL), .flags = CG_FF_RUNTIME,
	  .min = 1, .max = CG_LEVEL_ONE, .def = CG_BP_RISE_DEF,
	  .doc = "EWMA weight of a load sample above the smoothed load" },
	{ FK(struct cg_bp_settings, fall_ppm, "smoothing_fall", CG_F_LEVEL), .flags = CG_FF_RUNTIME,
	  .min = 1, .max = CG_LEVEL_ONE, .def = CG_BP_FALL_DEF,
	  .doc = "EWMA weight of a load sample below the smoothed load" },
	{ FK(struct cg_bp_settings, signal_ppm, "signal_smoothing", CG_F_LEVEL),
	  .flags = CG_FF_RUNTIME, .min = 1, .max = CG_LEVEL_ONE, .def = CG_BP_SIGNAL_DEF,
	  .doc = "EWMA weight of a new rate sample of the LB's own counters (once a period)" },
	{ F(struct cg_bp_settings, stale_ms, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .min = CG_BP_PERIOD_MIN, .max = CG_BP_STALE_MAX, .def = CG_BP_STALE_DEF,
	  .doc = "ms without an accepted report after which a cell's load is unknown" },
	{ F(struct cg_bp_settings, queue_full_us, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = CG_BP_QUEUE_FULL_MAX, .def = CG_BP_QUEUE_FULL_DEF,
	  .doc = "us of reported queue delay that count as full load; 0 = delay is not a signal" },
	{ F(struct cg_bp_settings, report_port, CG_F_U16), .max = 65535,
	  .doc = "UDP port cell load reports come to; 0 = none are received" },
	{ F(struct cg_bp_settings, report_rate, CG_F_U32), .flags = CG_FF_RUNTIME, .min = 1,
	  .max = CG_BP_RATE_MAX, .def = CG_BP_RATE_DEF,
	  .doc = "reports a second accepted from each cell" },
	{ F(struct cg_bp_settings, report_burst, CG_F_U32), .flags = CG_FF_RUNTIME, .min = 1,
	  .max = CG_BP_RATE_MAX, .def = CG_BP_BURST_DEF,
	  .doc = "reports accepted at once above the rate" },
	{ F(struct cg_bp_settings, max_skew_ms, CG_F_U32), .flags = CG_FF_RUNTIME,
	  .max = CG_BP_SKEW_MAX, .def = CG_BP_SKEW_DEF,
	  .doc = "ms a report's timestamp may be off this LB's clock; 0 = not checked" },
	{ F(struct cg_bp_settings, key_file, CG_F_TEXT),
	  .doc = "file of the key reports are signed with; \"\" = reports are not signed" },
	{ 0 },
};

static const struct cg_field metrics_fields[] = {
	{ F(struct cg_metrics_settings, listen, CG_F_TEXT), .flags = CG_FF_RUNTIME,
	  .doc = "ADDR:PORT or [ADDR6]:PORT Prometheus scrapes /metrics at; \"\" or off = none" },
	{ 0 },
};

static const struct cg_field evac_fields[] = {
	{ F(struct cg_evac, region, CG_F_REF), .flags = CG_FF_REQUIRED | CG_FF_KEY, .ref = "region",
	  .doc = "the region" },
	{ F(struct cg_evac, state, CG_F_ENUM), .flags = CG_FF_REQUIRED,
	  .words = cg_region_state_names, .doc = "active, draining, evacuated or restoring" },
	{ F(struct cg_evac, step, CG_F_U16), .max = CG_RAMP_MAX - 1,
	  .doc = "restoring: the ramp step it is at" },
	{ FK(struct cg_evac, step_started, "since", CG_F_TIME),
	  .doc = "unix time the current state or ramp step began" },
	{ F(struct cg_evac, expires, CG_F_TIME),
	  .doc = "draining or evacuated: unix time a restore starts; 0 = never" },
	{ F(struct cg_evac, changed, CG_F_TIME),
	  .doc = "unix time the last transition started (rule wait)" },
	{ F(struct cg_evac, forced, CG_F_BOOL), .doc = "a safety rule was overridden to get here" },
	{ F(struct cg_evac, by, CG_F_TEXT), .doc = "who asked for the last transition" },
	{ F(struct cg_evac, reason, CG_F_TEXT), .doc = "why" },
	{ 0 },
};

static const struct cg_field saga_fields[] = {
	{ F(struct cg_saga_cfg, region, CG_F_REF), .flags = CG_FF_REQUIRED, .ref = "region",
	  .doc = "the region the transition in flight moves" },
	{ F(struct cg_saga_cfg, event, CG_F_ENUM), .flags = CG_FF_REQUIRED,
	  .words = cg_region_event_names, .doc = "what started it: evacuate, restore, ..." },
	{ F(struct cg_saga_cfg, from, CG_F_ENUM), .flags = CG_FF_REQUIRED,
	  .words = cg_region_state_names, .doc = "the region's state before: compensation's aim" },
	{ F(struct cg_saga_cfg, from_step, CG_F_U16), .max = CG_RAMP_MAX - 1,
	  .doc = "the ramp step before" },
	{ F(struct cg_saga_cfg, started, CG_F_TIME), .doc = "unix time it began" },
	{ FK(struct cg_saga_cfg, nsteps, "steps", CG_F_U32), .flags = CG_FF_REQUIRED, .min = 1,
	  .max = CG_SAGA_STEPS_MAX, .doc = "steps of the saga" },
	{ FK(struct cg_saga_cfg, rec.phase, "phase", CG_F_ENUM), .flags = CG_FF_REQUIRED,
	  .words = cg_saga_phase_names, .doc = "forward, back, done, compensated or stuck" },
	{ FK(struct cg_saga_cfg, rec.done, "done", CG_F_U32), .max = CG_SAGA_STEPS_MAX,
	  .doc = "forward: steps done; back: steps not yet undone" },
	{ FK(struct cg_saga_cfg, rec.in_step, "in_step", CG_F_U8), .max = 1,
	  .doc = "1: a step was started and not finished" },
	{ 0 },
};

const struct cg_object cg_settings_obj = { "settings", sizeof(struct cg_state), settings_fields };
const struct cg_object cg_region_obj = { "region", sizeof(struct cg_region_cfg), region_fields };
const struct cg_object cg_cell_obj = { "cell", sizeof(struct cg_cell_cfg), cell_fields };
const struct cg_object cg_service_obj = { "service", sizeof(struct cg_service_cfg),
					  service_fields };
const struct cg_object cg_class_obj = { "class", sizeof(struct cg_class_cfg), class_fields };
const struct cg_object cg_class_rule_obj = { "class_rule", sizeof(struct cg_class_rule_cfg),
					     class_rule_fields };
const struct cg_object cg_shed_obj = { "shed", sizeof(struct cg_shed_cfg), shed_fields };
const struct cg_object cg_guard_obj = { "guard", sizeof(struct cg_guard_cfg), guard_fields };
const struct cg_object cg_loc_obj = { "locality", sizeof(struct cg_loc_settings), loc_fields };
const struct cg_object cg_health_obj = { "health", sizeof(struct cg_health_settings),
					 health_fields };
const struct cg_object cg_failover_obj = { "failover", sizeof(struct cg_failover_settings),
					   failover_fields };
const struct cg_object cg_bp_obj = { "backpressure", sizeof(struct cg_bp_settings), bp_fields };
const struct cg_object cg_metrics_obj = { "metrics", sizeof(struct cg_metrics_settings),
					  metrics_fields };
const struct cg_object cg_evac_obj = { "evacuation", sizeof(struct cg_evac), evac_fields };
const struct cg_object cg_saga_obj = { "saga", sizeof(struct cg_saga_cfg), saga_fields };

static int ferr(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int ferr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

bool cg_name_valid(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (i = 1; s[i]; i++) {
		if (i >= CG_NAME_MAX - 1)
			return false;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	}
	return true;
}

bool cg_ifname_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= IF_NAMESIZE || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == '/' || s[i] == ':' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

bool cg_addr_unicast(const struct cg_addr *a)
{
	const uint8_t *b = (const uint8_t *)a->a;
	static const uint8_t zero[16];

	if (a->family == CG_AF_INET)
		return b[0] != 0 && b[0] != 127 && b[0] < 224; /* this-net, loopback, multicast+ */
	if (!memcmp(b, zero, 16))
		return false;
	if (!memcmp(b, zero, 15) && b[15] == 1)
		return false; /* ::1 */
	return b[0] != 0xff;
}

int cg_addr_parse(const char *s, int family, const char *what, struct cg_addr *out, char *err,
		  size_t errlen)
{
	struct cg_addr a = { 0 };
	int is6 = strchr(s, ':') != NULL;
	char q[CG_SHOW_TEXT_MAX];

	if (family == CG_AF_INET && is6)
		return ferr(err, errlen, "%s '%s' is not an IPv4 address", what,
			    cg_show(s, q, sizeof(q)));
	if (family == CG_AF_INET6 && !is6)
		return ferr(err, errlen, "%s '%s' is not an IPv6 address", what,
			    cg_show(s, q, sizeof(q)));
	a.family = is6 ? CG_AF_INET6 : CG_AF_INET;
	if (inet_pton(is6 ? AF_INET6 : AF_INET, s, a.a) != 1)
		return ferr(err, errlen, "bad IPv%d address '%s' for %s", is6 ? 6 : 4,
			    cg_show(s, q, sizeof(q)), what);
	*out = a;
	return 0;
}

int cg_listen_parse(const char *s, const char *what, struct cg_addr *addr, uint16_t *port,
		    char *err, size_t errlen)
{
	char host[CG_ADDR_TEXT_MAX], q[CG_SHOW_TEXT_MAX], why[160];
	const char *colon, *start = s;
	bool v6 = s[0] == '[';
	struct cg_addr a;
	uint64_t p;
	size_t n;

	if (!s[0] || !strcmp(s, "off"))
		return 1;
	cg_show(s, q, sizeof(q));
	colon = strrchr(s, ':');
	if (!colon || colon == s || !colon[1])
		return ferr(err, errlen, "%s '%s': expected ADDRESS:PORT, [IPV6]:PORT or off", what,
			    q);
	n = (size_t)(colon - s);
	if (v6) {
		if (n < 3 || s[n - 1] != ']')
			return ferr(err, errlen, "%s '%s': expected [IPV6]:PORT", what, q);
		start = s + 1;
		n -= 2;
	} else if (memchr(s, ':', n)) {
		return ferr(err, errlen, "%s '%s': an IPv6 address goes in brackets, [::1]:9464",
			    what, q);
	}
	if (n >= sizeof(host))
		return ferr(err, errlen, "%s '%s': the address is too long", what, q);
	memcpy(host, start, n);
	host[n] = '\0';
	if (cg_u64_parse(colon + 1, 1, 65535, &p))
		return ferr(err, errlen, "%s '%s': the port is not a number in 1..65535", what, q);
	if (cg_addr_parse(host, v6 ? CG_AF_INET6 : CG_AF_INET, "the address", &a, why, sizeof(why)))
		return ferr(err, errlen, "%s '%s': %s", what, q, why);
	*addr = a;
	*port = (uint16_t)p;
	return 0;
}

const char *cg_addr_format(const struct cg_addr *a, char *buf, size_t len)
{
	if (!a->family)
		snprintf(buf, len, "%s", "");
	else if (!inet_ntop(a->family == CG_AF_INET6 ? AF_INET6 : AF_INET, a->a, buf,
			    (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

bool cg_prefix_mask(struct cg_addr *a, unsigned int len)
{
	uint8_t *b = (uint8_t *)a->a;
	unsigned int nbytes = a->family == CG_AF_INET6 ? 16 : 4, i;
	bool set = false;
	uint8_t keep;

	for (i = 0; i < nbytes; i++) {
		if (len >= (i + 1) * 8)
			continue;
		keep = len > i * 8 ? (uint8_t)(0xff << (8 - (len - i * 8))) : 0;
		if (b[i] & ~keep)
			set = true;
		b[i] &= keep;
	}
	return set;
}

const char *cg_prefix_format(const struct cg_addr *a, unsigned int len, char *buf, size_t size)
{
	char abuf[CG_ADDR_TEXT_MAX];

	snprintf(buf, size, "%s/%u", cg_addr_format(a, abuf, sizeof(abuf)), len);
	return buf;
}

bool cg_all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int cg_prefix_split(const char *s, struct cg_addr *out, uint8_t *lenp, char *err, size_t errlen)
{
	char buf[CG_ADDR_TEXT_MAX], q[CG_SHOW_TEXT_MAX], qb[CG_SHOW_TEXT_MAX];
	const char *slash = strchr(s, '/');
	struct cg_addr a = { 0 };
	unsigned int len = 0, max;
	size_t i;
	int is6;

	if (!slash)
		return ferr(err, errlen, "prefix '%s' has no length (expected ADDRESS/LENGTH)",
			    cg_show(s, q, sizeof(q)));
	if ((size_t)(slash - s) >= sizeof(buf))
		return ferr(err, errlen, "bad address in prefix '%s'", cg_show(s, q, sizeof(q)));
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	is6 = strchr(buf, ':') != NULL;
	a.family = is6 ? CG_AF_INET6 : CG_AF_INET;
	if (inet_pton(is6 ? AF_INET6 : AF_INET, buf, a.a) != 1)
		return ferr(err, errlen, "bad IPv%d address '%s' in prefix '%s'", is6 ? 6 : 4,
			    cg_show(buf, qb, sizeof(qb)), cg_show(s, q, sizeof(q)));
	max = is6 ? 128 : 32;
	if (!cg_all_digits(slash + 1) || (slash[1] == '0' && slash[2]))
		return ferr(err, errlen, "prefix '%s': length '%s' is not a number",
			    cg_show(s, q, sizeof(q)), cg_show(slash + 1, qb, sizeof(qb)));
	for (i = 1; slash[i] && len <= max; i++)
		len = len * 10 + (unsigned int)(slash[i] - '0');
	if (len > max)
		return ferr(err, errlen, "prefix '%s': length %s is out of range (0..%u)",
			    cg_show(s, q, sizeof(q)), cg_show(slash + 1, qb, sizeof(qb)), max);
	*out = a;
	*lenp = (uint8_t)len;
	return 0;
}

int cg_prefix_parse(const char *s, struct cg_addr *out, uint8_t *lenp, char *err, size_t errlen)
{
	char want[CG_PREFIX_TEXT_MAX], q[CG_SHOW_TEXT_MAX];
	struct cg_addr a;
	uint8_t len;
	int ret;

	ret = cg_prefix_split(s, &a, &len, err, errlen);
	if (ret)
		return ret;
	if (cg_prefix_mask(&a, len))
		return ferr(err, errlen, "prefix '%s' has host bits set (did you mean %s?)",
			    cg_show(s, q, sizeof(q)),
			    cg_prefix_format(&a, len, want, sizeof(want)));
	*out = a;
	*lenp = len;
	return 0;
}

/* Shed levels: exact decimals, no floating point. */
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

int cg_u64_parse(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t x = 0, d;
	size_t i;

	if (!cg_all_digits(s) || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		d = (uint64_t)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	if (x < min || x > max)
		return -ERANGE;
	*out = x;
	return 0;
}

const struct cg_field *cg_field_find(const struct cg_object *o, const char *name)
{
	const struct cg_field *f;
	size_t i;

	for (f = o->fields; f->name; f++) {
		for (i = 0; f->name[i] && name[i]; i++)
			if (f->name[i] != name[i] && !(f->name[i] == '_' && name[i] == '-'))
				break;
		if (!f->name[i] && !name[i])
			return f;
	}
	return NULL;
}

uint64_t cg_field_get(const struct cg_field *f, const void *obj)
{
	const char *p = (const char *)obj + f->offset;
	uint32_t v32;
	uint16_t v16;
	int64_t t;

	switch (f->size) {
	case 1:
		return *(const uint8_t *)p;
	case 2:
		memcpy(&v16, p, 2);
		return v16;
	case 4:
		memcpy(&v32, p, 4);
		return v32;
	default:
		memcpy(&t, p, 8);
		return (uint64_t)t;
	}
}

void cg_field_set(const struct cg_field *f, void *obj, uint64_t x)
{
	char *p = (char *)obj + f->offset;
	uint32_t v32 = (uint32_t)x;
	uint16_t v16 = (uint16_t)x;

	switch (f->size) {
	case 1:
		*(uint8_t *)p = (uint8_t)x;
		break;
	case 2:
		memcpy(p, &v16, 2);
		break;
	case 4:
		memcpy(p, &v32, 4);
		break;
	default:
		memcpy(p, &x, 8);
		break;
	}
}

static bool is_num(const struct cg_field *f)
{
	return f->type == CG_F_U8 || f->type == CG_F_U16 || f->type == CG_F_U32 ||
	       f->type == CG_F_ID || f->type == CG_F_CLASS || f->type == CG_F_LEVEL ||
	       f->type == CG_F_TIME || f->type == CG_F_ENUM || f->type == CG_F_BOOL;
}

/* The count of a CG_F_LEVELS field and its values. */
static size_t levels_get(const struct cg_field *f, const void *obj, const uint32_t **v)
{
	size_t n;

	memcpy(&n, (const char *)obj + f->aux, sizeof(n));
	*v = (const uint32_t *)(const void *)((const char *)obj + f->offset);
	return n;
}

/* "0.1,0.25,1": levels separated by commas (spaces after them allowed), min..max of them. */
static int levels_parse(const struct cg_field *f, void *obj, const char *s, char *err,
			size_t errlen)
{
	uint32_t v[64], *mem = (uint32_t *)(void *)((char *)obj + f->offset);
	size_t n = 0, cap = f->size / sizeof(uint32_t), k;
	char item[32], q[CG_SHOW_TEXT_MAX];
	const char *p = s;

	if (cap > sizeof(v) / sizeof(v[0]))
		cap = sizeof(v) / sizeof(v[0]);
	while (*p) {
		k = strcspn(p, ",");
		if (n == cap || k >= sizeof(item))
			return ferr(err, errlen, "%s '%s': at most %zu levels", f->name,
				    cg_show(s, q, sizeof(q)), cap);
		memcpy(item, p, k);
		item[k] = '\0';
		if (cg_level_parse(item, &v[n]))
			return ferr(err, errlen,
				    "%s '%s' is not a list of levels (0..1, at most %d decimals, "
				    "separated by commas)",
				    f->name, cg_show(s, q, sizeof(q)), CG_LEVEL_DECIMALS);
		n++;
		p += k;
		if (*p == ',')
			for (p++; *p == ' '; p++)
				;
	}
	if (n < f->min || n > f->max)
		return ferr(err, errlen, "%s: %zu levels (%llu to %llu)", f->name, n,
			    (unsigned long long)f->min, (unsigned long long)f->max);
	memcpy(mem, v, n * sizeof(*v));
	memcpy((char *)obj + f->aux, &n, sizeof(n));
	return 0;
}

int cg_field_parse(const struct cg_field *f, void *obj, const char *s, char *err, size_t errlen)
{
	char *p = (char *)obj + f->offset, expect[128], qs[CG_SHOW_TEXT_MAX];
	const char *q = cg_show(s, qs, sizeof(qs)); /* s as a message may quote it */
	unsigned int e;
	uint32_t ppm;
	uint64_t x;
	int ret;

	switch (f->type) {
	case CG_F_NAME:
	case CG_F_REF:
		if (!cg_name_valid(s) && !(f->ref && !strcmp(f->ref, "cell") &&
					   !strcmp(s, CG_SHED_ANY_CELL) && f->flags & CG_FF_KEY))
			return ferr(err, errlen,
				    "%s '%s' is not a valid name (1 to %d of A-Z a-z 0-9 . _ -, "
				    "the first a letter or digit)",
				    f->name, q, CG_NAME_MAX - 1);
		snprintf(p, f->size, "%s", s);
		return 0;
	case CG_F_TEXT:
		if (strlen(s) >= f->size)
			return ferr(err, errlen, "%s is too long (at most %u bytes)", f->name,
				    f->size - 1U);
		snprintf(p, f->size, "%s", s);
		return cg_field_check(f, obj, err, errlen);
	case CG_F_BOOL:
		if (strcmp(s, "true") && strcmp(s, "false"))
			return ferr(err, errlen, "%s: expected true or false, found '%s'", f->name,
				    q);
		*(bool *)p = !strcmp(s, "true");
		return 0;
	case CG_F_ENUM:
		if (cg_enum_value(f->words, s, &e)) {
			cg_enum_list(f->words, expect, sizeof(expect));
			return ferr(err, errlen, "unknown %s '%s' (expected %s)", f->name, q,
				    expect);
		}
		cg_field_set(f, obj, e);
		return 0;
	case CG_F_ADDR:
		ret = cg_addr_parse(s, (int)f->min, f->name, (struct cg_addr *)p, err, errlen);
		if (!ret && !cg_addr_unicast((struct cg_addr *)p))
			return ferr(err, errlen, "%s %s is not a unicast address", f->name, q);
		return ret;
	case CG_F_PREFIX:
		return cg_prefix_parse(s, (struct cg_addr *)p, (uint8_t *)obj + f->aux, err,
				       errlen);
	case CG_F_LEVEL:
		if (cg_level_parse(s, &ppm))
			return ferr(err, errlen,
				    "%s '%s' is not a level (0..1, at most %d decimals)", f->name,
				    q, CG_LEVEL_DECIMALS);
		cg_field_set(f, obj, ppm);
		return 0;
	case CG_F_TIME:
		ret = cg_u64_parse(s, 0, INT64_MAX, &x);
		if (ret)
			return ferr(err, errlen, "%s '%s' is not a unix time", f->name, q);
		cg_field_set(f, obj, x);
		return 0;
	case CG_F_NAMES:
		return ferr(err, errlen, "%s is a list", f->name);
	case CG_F_LEVELS:
		return levels_parse(f, obj, s, err, errlen);
	default:
		ret = cg_u64_parse(s, f->min, f->max, &x);
		if (ret == -ERANGE)
			return ferr(err, errlen, "%s %s is out of range (%" PRIu64 "..%" PRIu64 ")",
				    f->name, q, f->min, f->max);
		if (ret)
			return ferr(err, errlen, "%s '%s' is not a number%s", f->name, q,
				    s[0] == '-' ? " (negative)" : "");
		cg_field_set(f, obj, x);
		return 0;
	}
}

const char *cg_field_format(const struct cg_field *f, const void *obj, char *buf, size_t len)
{
	const char *p = (const char *)obj + f->offset;

	switch (f->type) {
	case CG_F_NAME:
	case CG_F_REF:
	case CG_F_TEXT:
		snprintf(buf, len, "%s", p);
		break;
	case CG_F_BOOL:
		snprintf(buf, len, "%s", *(const bool *)p ? "true" : "false");
		break;
	case CG_F_ENUM:
		snprintf(buf, len, "%s",
			 cg_enum_name(f->words, (unsigned int)cg_field_get(f, obj), "?"));
		break;
	case CG_F_ADDR:
		cg_addr_format((const struct cg_addr *)p, buf, len);
		break;
	case CG_F_PREFIX:
		cg_prefix_format((const struct cg_addr *)p, *((const uint8_t *)obj + f->aux), buf,
				 len);
		break;
	case CG_F_LEVEL:
		cg_level_format((uint32_t)cg_field_get(f, obj), buf, len);
		break;
	case CG_F_TIME:
		snprintf(buf, len, "%" PRId64, (int64_t)cg_field_get(f, obj));
		break;
	case CG_F_NAMES:
		snprintf(buf, len, "[...]");
		break;
	case CG_F_LEVELS: {
		const uint32_t *v;
		size_t n = levels_get(f, obj, &v), i, o;
		char one[16];

		o = (size_t)snprintf(buf, len, "[");
		for (i = 0; i < n && i < f->size / sizeof(*v) && o < len; i++) {
			cg_level_format(v[i], one, sizeof(one));
			o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", one);
		}
		if (o < len)
			snprintf(buf + o, len - o, "]");
		break;
	}
	default:
		snprintf(buf, len, "%" PRIu64, cg_field_get(f, obj));
		break;
	}
	return buf;
}

int cg_field_cmp(const struct cg_field *f, const void *a, const void *b)
{
	const char *pa = (const char *)a + f->offset, *pb = (const char *)b + f->offset;
	uint64_t x, y;
	int c;

	switch (f->type) {
	case CG_F_NAME:
	case CG_F_REF:
	case CG_F_TEXT:
		return strcmp(pa, pb);
	case CG_F_ADDR:
	case CG_F_PREFIX:
		c = memcmp(pa, pb, sizeof(struct cg_addr));
		if (c || f->type == CG_F_ADDR)
			return c;
		x = *((const uint8_t *)a + f->aux);
		y = *((const uint8_t *)b + f->aux);
		return (x > y) - (x < y);
	case CG_F_NAMES:
		return 0; /* walked by the owner */
	case CG_F_LEVELS: {
		const uint32_t *va, *vb;
		size_t na = levels_get(f, a, &va), nb = levels_get(f, b, &vb), i;

		for (i = 0; i < na && i < nb && i < f->size / sizeof(*va); i++)
			if (va[i] != vb[i])
				return va[i] < vb[i] ? -1 : 1;
		return (na > nb) - (na < nb);
	}
	case CG_F_TIME:
		x = cg_field_get(f, a);
		y = cg_field_get(f, b);
		return ((int64_t)x > (int64_t)y) - ((int64_t)x < (int64_t)y);
	default:
		if (!is_num(f))
			return 0;
		x = cg_field_get(f, a);
		y = cg_field_get(f, b);
		return (x > y) - (x < y);
	}
}

int cg_field_check(const struct cg_field *f, const void *obj, char *err, size_t errlen)
{
	const char *p = (const char *)obj + f->offset;
	const struct cg_addr *a = (const struct cg_addr *)(const void *)p;
	char val[CG_SHOW_TEXT_MAX], why[64];
	uint64_t x;
	size_t i, n;

	switch (f->type) {
	case CG_F_NAME:
	case CG_F_REF:
		if (!memchr(p, 0, f->size))
			return ferr(err, errlen, "%s is not terminated", f->name);
		if (f->ref && !strcmp(f->ref, "cell") && f->flags & CG_FF_KEY &&
		    !strcmp(p, CG_SHED_ANY_CELL))
			return 0;
		if (!cg_name_valid(p))
			return ferr(err, errlen,
				    "%s '%s' is not a valid name (1 to %d of A-Z a-z 0-9 . _ -, "
				    "the first a letter or digit)",
				    f->name, cg_show(p, val, sizeof(val)), CG_NAME_MAX - 1);
		return 0;
	case CG_F_TEXT:
		n = strnlen(p, f->size);
		if (n == f->size)
			return ferr(err, errlen, "%s is too long (at most %u bytes)", f->name,
				    f->size - 1U);
		if (cg_text_check(p, n, 0, &i, why, sizeof(why)))
			return ferr(err, errlen, "%s '%s': %s at byte %zu is not allowed", f->name,
				    cg_show(p, val, sizeof(val)), why, i);
		return 0;
	case CG_F_ADDR:
		if (!a->family)
			return f->flags & CG_FF_REQUIRED ?
				       ferr(err, errlen, "missing '%s'", f->name) :
				       0;
		if (a->family != CG_AF_INET && a->family != CG_AF_INET6)
			return ferr(err, errlen, "%s has a bad address family %u", f->name,
				    a->family);
		if (f->min && a->family != f->min)
			return ferr(err, errlen, "%s %s is not an IPv%d address", f->name,
				    cg_addr_format(a, val, sizeof(val)),
				    f->min == CG_AF_INET ? 4 : 6);
		if (!cg_addr_unicast(a))
			return ferr(err, errlen, "%s %s is not a unicast address", f->name,
				    cg_addr_format(a, val, sizeof(val)));
		return 0;
	case CG_F_ENUM:
		x = cg_field_get(f, obj);
		if (!cg_enum_name(f->words, (unsigned int)x, NULL))
			return ferr(err, errlen, "unknown %s value %" PRIu64, f->name, x);
		return 0;
	case CG_F_TIME:
		if ((int64_t)cg_field_get(f, obj) < 0)
			return ferr(err, errlen, "%s %" PRId64 " is negative", f->name,
				    (int64_t)cg_field_get(f, obj));
		return 0;
	case CG_F_ID:
		x = cg_field_get(f, obj);
		if (x != CG_ID_AUTO && x > f->max)
			return ferr(err, errlen, "%s %" PRIu64 " is out of range (0..%" PRIu64 ")",
				    f->name, x, f->max);
		return 0;
	case CG_F_LEVEL: /* the range in the unit it is written in: 0.000001..1, not ppm */
		x = cg_field_get(f, obj);
		if (x < f->min || x > f->max) {
			char lo[24], hi[24];

			cg_level_format((uint32_t)f->min, lo, sizeof(lo));
			cg_level_format((uint32_t)f->max, hi, sizeof(hi));
			return ferr(err, errlen, "%s %s is out of range (%s..%s)", f->name,
				    cg_field_format(f, obj, val, sizeof(val)), lo, hi);
		}
		return 0;
	case CG_F_U8:
	case CG_F_U16:
	case CG_F_U32:
	case CG_F_CLASS:
		x = cg_field_get(f, obj);
		if (x < f->min || x > f->max)
			return ferr(err, errlen, "%s %s is out of range (%" PRIu64 "..%" PRIu64 ")",
				    f->name, cg_field_format(f, obj, val, sizeof(val)), f->min,
				    f->max);
		return 0;
	case CG_F_LEVELS: {
		const uint32_t *v;

		n = levels_get(f, obj, &v);
		if (n < f->min || n > f->max || n > f->size / sizeof(*v))
			return ferr(err, errlen, "%s: %zu levels (%" PRIu64 " to %" PRIu64 ")",
				    f->name, n, f->min, f->max);
		for (i = 0; i < n; i++)
			if (v[i] > CG_LEVEL_ONE)
				return ferr(err, errlen, "%s: level %u ppm is out of range (0..1)",
					    f->name, v[i]);
		return 0;
	}
	default: /* CG_F_BOOL, and CG_F_PREFIX and CG_F_NAMES, which their owner checks */
		return 0;
	}
}

int cg_object_check(const struct cg_object *o, const void *obj, char *err, size_t errlen)
{
	const struct cg_field *f;
	int ret;

	for (f = o->fields; f->name; f++) {
		ret = cg_field_check(f, obj, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

bool cg_object_equal(const struct cg_object *o, const void *a, const void *b)
{
	const struct cg_field *f;

	for (f = o->fields; f->name; f++)
		if (cg_field_cmp(f, a, b))
			return false;
	return true;
}

void cg_object_defaults(const struct cg_object *o, void *obj)
{
	const struct cg_field *f;

	memset(obj, 0, o->size);
	for (f = o->fields; f->name; f++)
		if (f->def && is_num(f))
			cg_field_set(f, obj, f->def);
}

/* "198.18.11.0/24", "2001:db8::/32", "dscp 46". */
const char *cg_rule_str(const struct cg_class_rule_cfg *r, char *buf, size_t len)
{
	if (r->kind == CG_RULE_DSCP)
		snprintf(buf, len, "dscp %u", r->dscp);
	else
		cg_prefix_format(&r->prefix, r->prefix_len, buf, len);
	return buf;
}

/* "use1-a/sheddable"; the class id if st has no such class. */
const char *cg_shed_str(const struct cg_state *st, const struct cg_shed_cfg *e, char *buf,
			size_t len)
{
	const char *cn = cg_class_name(st, e->class);

	if (cn)
		snprintf(buf, len, "%.*s/%.*s", CG_NAME_MAX, e->cell, CG_NAME_MAX, cn);
	else
		snprintf(buf, len, "%.*s/%u", CG_NAME_MAX, e->cell, e->class);
	return buf;
}
