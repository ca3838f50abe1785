/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/view.h - the JSON an operator sees: desired state joined with what the maps hold */
#ifndef CELLGATE_VIEW_H
#define CELLGATE_VIEW_H

#include <jansson.h>

#include "cellgate/dataplane.h"
#include "cellgate/shed.h"
#include "cellgate/field.h"
#include "cellgate/state.h"

/*
 * One builder per object, used by cellgated to answer the control socket and
 * by cellctl to answer from the pinned maps when cellgated is down, so both
 * print the same thing. dp may be NULL (no data plane: map fields omitted).
 * Field names are a stable interface (docs/cli.md). Each returns a new
 * reference, or NULL on allocation failure.
 */

/*
 * cg_object_json - an object of the desired state as JSON by its field
 * table: one key per field, numbers and ids as integers, booleans as
 * booleans, the rest (names, words, addresses, levels) in their text form,
 * lists of names as arrays. NULL if memory runs out.
 */
json_t *cg_object_json(const struct cg_object *o, const void *obj);

/* cg_view_addr - text form of an address ("" for an unset one); buf of INET6_ADDRSTRLEN. */
const char *cg_view_addr(const struct cg_addr *a, char *buf, size_t len);

/* cg_view_cell_state / cg_view_encap - names used in JSON and the config ("active", "gue"). */
const char *cg_view_cell_state(unsigned int state);
const char *cg_view_encap(unsigned int encap);

/*
 * cells: [{name, id, region, gateway, encap, gue_port, weight, capacity,
 * state (desired), dataplane: {state, next_hop_mac, vlan}, packets, bytes,
 * new_flows, drops}], sorted by name.
 */
json_t *cg_view_cells(const struct cg_state *st, struct cg_dp *dp);

/*
 * services: [{name, id, vip, port, protocol, table_size, default_class,
 * cells: [names], table: {size, shares: {cell: slots}} or null, packets,
 * bytes, new_flows, drops, icmp, too_big}], sorted by name.
 */
json_t *cg_view_services(const struct cg_state *st, struct cg_dp *dp);

/*
 * regions: [{name, id, cost, local, cells, active, state (active, draining,
 * evacuated, restoring), since, expires, step, forced, by, reason (the
 * evacuation record; a region without one is active with zeros), share (the
 * region's effective share of its weight, a level: cg_evac_fractions()), ramp
 * (the restore ramp's shares), transition (the saga in flight for it, or
 * null)}], sorted by cost then name.
 */
json_t *cg_view_regions(const struct cg_state *st, struct cg_dp *dp);

struct cg_stats_snap;

/*
 * stats: {t_ns, counters: {reason: {packets, bytes}}, services: {name:
 * {packets, bytes, new_flows, drops, icmp, too_big, retries}}, cells: {name:
 * {packets, bytes, new_flows, drops, shed, shed_hard, ceiling, guard}, every
 * class summed}, conntrack: {entries, capacity}}. t_ns is the CLOCK_MONOTONIC
 * time of the read in ns; counters is {} if the read of the global counters
 * failed. With no dp: {} (nothing read).
 */
json_t *cg_view_stats(const struct cg_state *st, struct cg_dp *dp);

/* cg_view_stats_snap - the stats JSON of snapshot s, services and cells named by st. */
json_t *cg_view_stats_snap(const struct cg_state *st, const struct cg_stats_snap *s);

/*
 * struct cg_stats_names - the snapshot slot each service and cell name of the
 * stats JSON is rebuilt into: the JSON is keyed by name and carries no ids.
 * Snapshots rebuilt with one table hold a name at one slot, so they can be
 * subtracted. Large: allocate it, and start it with cg_stats_names_init().
 */
struct cg_stats_names {
	char svc[CG_MAX_SERVICES][CG_NAME_MAX]; /* name by slot; "" for a free slot */
	char cell[CG_MAX_CELLS][CG_NAME_MAX];	/* name by slot; "" for a free slot */
	uint32_t svc_end;			/* slots at and above are free */
	uint32_t cell_end;			/* slots at and above are free */
};

/*
 * cg_stats_names_init - an empty table, or (st not NULL) one holding each of
 * st's services and cells at its id, so rebuilt slots are the data plane's ids.
 */
void cg_stats_names_init(struct cg_stats_names *n, const struct cg_state *st);

/* What a name of the stats JSON names: a reason of counters, a service or a cell. */
enum cg_stats_key {
	CG_STATS_REASON,  /* a key of counters: slot is the enum cg_stat */
	CG_STATS_SERVICE, /* a key of services */
	CG_STATS_CELL,	  /* a key of cells */
};

/* cg_stats_slot - the snapshot slot of name (a key of kind), or -1 if n has none. */
int cg_stats_slot(const struct cg_stats_names *n, enum cg_stats_key kind, const char *name);

/*
 * cg_stats_from_json - rebuild *out from doc, a stats JSON document as
 * cg_view_stats() makes it (members it does not know, like "source", are
 * ignored): t_ns, counters by reason (each reason, or none: {} reads as 0),
 * services and cells by name at their slot in n (a name n lacks takes the
 * first free slot), a cell's counters in class 0, conntrack. Integers read
 * back as the unsigned values they were written from. Returns 0, or -EINVAL
 * with a one-line message in err naming the field ("missing 't_ns'",
 * "'services.dns.packets' is not an integer"); *out is then undefined and n
 * may hold names of doc.
 */
int cg_stats_from_json(const json_t *doc, struct cg_stats_names *n, struct cg_stats_snap *out,
		       char *err, size_t errlen);

/* classes: [{id, name, protected, new_flows_per_sec, packets_per_sec, burst}], by id. */
json_t *cg_view_classes(const struct cg_state *st);

/*
 * class rules: [{kind: "prefix", prefix: "198.18.11.0/24"} or {kind: "dscp",
 * dscp: 46}, each with class (name) and class_id], in the state's order.
 */
json_t *cg_view_rules(const struct cg_state *st);

/*
 * shed: {levels: [{cell, class, class_id, level, hard_level, source, set_for
 * ("*" or the cell), by, reason, expires, expires_in_s}] for every (cell,
 * class) with a level (eff from the reconciler; NULL: operator levels as of
 * now), entries: the operator entries as persisted, counters: [{cell, class,
 * shed, shed_hard, ceiling, guard}] for every (cell, class) with a drop
 * (when dp is given)}.
 */
json_t *cg_view_shed(const struct cg_state *st, const struct cg_shed_eff *eff, struct cg_dp *dp);

#endif /* CELLGATE_VIEW_H */
