/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* maps.h - the router's maps; names are the pin names under /sys/fs/bpf/cellgate */
#ifndef CG_BPF_MAPS_H
#define CG_BPF_MAPS_H

#include "cellgate/abi/consts.h"
#include "cellgate/abi/structs.h"

/* (VIP, port, proto) -> service; plus a port-0 alias per (VIP, proto) for fragments. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CG_MAX_SERVICE_KEYS);
	__type(key, struct cg_service_key);
	__type(value, struct cg_service);
} services SEC(".maps");

/*
 * The VIP pre-filter (one entry): a bit per destination-address bucket some
 * VIP hashes to. Userspace only ever sets new bits or clears old ones, so a
 * bit that stays set is never seen clear by a packet during an update.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cg_vip_filter);
} vips SEC(".maps");

/* cell id -> how to reach the cell and whether it takes flows. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CG_MAX_CELLS);
	__type(key, __u32);
	__type(value, struct cg_cell);
} cells SEC(".maps");

/*
 * One Maglev table per service: slot 0 holds the table size, slots 1..size
 * hold cell ids. Userspace builds a whole new inner map, freezes it and swaps
 * it in with one update of the outer slot, so a packet sees the old table or
 * the new one, never a mix. BPF_F_INNER_MAP lets tables differ in size;
 * BPF_F_MMAPABLE lets userspace fill a new table with one memcpy (the kernel
 * requires inner maps' flags to equal the template's). The kernel stores each
 * 4-byte slot in 8 bytes: a 65537-slot table takes 512 KiB.
 */
struct cg_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* template only; real tables are size + 1 */
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, CG_MAX_SERVICES);
	__type(key, __u32);
	__array(values, struct cg_table);
} tables SEC(".maps");

/*
 * Flow -> the decision of its first packet. Shared by all CPUs (a flow's
 * packets may arrive on any queue) with per-CPU LRU lists to avoid a global
 * lock on insert. Userspace sizes it before load.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, CG_DEFAULT_CONNTRACK);
	__type(key, struct cg_flow_key);
	__type(value, struct cg_conn);
} conntrack SEC(".maps");

/* Data-plane knobs: one entry (not "config": vmlinux.h has a type of that name). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cg_config);
} settings SEC(".maps");

/* Per verdict and reason (enum cg_stat). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CG_STAT_MAX);
	__type(key, __u32);
	__type(value, struct cg_counter);
} stats SEC(".maps");

/* Per service id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CG_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct cg_svc_stats);
} svc_stats SEC(".maps");

/* Per (cell id, class): cell * CG_MAX_CLASSES + class. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CG_MAX_CELLS *CG_MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct cg_cell_stats);
} cell_stats SEC(".maps");

/*
 * Per cell id: flows picked again because their entry's cell could no longer
 * hold them (down, or no longer a cell), counted on the cell they left. Its
 * own map, not a field of cell_stats: a counter added to cell_stats would
 * change its value size, and a kept map of another layout refuses the
 * upgrade (userspace/lib/dataplane.c, DP_COUNTER).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CG_MAX_CELLS);
	__type(key, __u32);
	__type(value, __u64);
} cell_moves SEC(".maps");

/* IPv4 source prefix -> class: the longest match classifies a new flow. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
	__uint(max_entries, CG_MAX_CLASS_RULES);
	__type(key, struct cg_lpm4);
	__type(value, struct cg_class_rule);
} class4 SEC(".maps");

/* IPv6 source prefix -> class. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, CG_MAX_CLASS_RULES);
	__type(key, struct cg_lpm6);
	__type(value, struct cg_class_rule);
} class6 SEC(".maps");

/* DSCP -> class, for new flows no source prefix classifies. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CG_DSCP_VALUES);
	__type(key, __u32);
	__type(value, struct cg_dscp_rule);
} dscp SEC(".maps");

/* Per class: its ceilings (each CPU's share). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CG_MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct cg_class);
} classes SEC(".maps");

/* Per class, per CPU: the ceilings' token buckets (program state, never written by userspace). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CG_MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct cg_bucket);
} buckets SEC(".maps");

/* Per (cell, class): shed thresholds, soft (new flows) and hard (established). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CG_MAX_CELLS *CG_MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct cg_shed);
} shed SEC(".maps");

/*
 * Source prefix -> its new-flow bucket: the retry-storm guard. Shared by all
 * CPUs so a prefix has one limit; LRU so a flood of prefixes evicts the idle.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CG_GUARD_ENTRIES);
	__type(key, struct cg_guard_key);
	__type(value, struct cg_guard);
} guard SEC(".maps");

/*
 * Per CPU, per enum cg_budget_slot: the token buckets of ICMP errors
 * forwarded and too-big replies sent (program state, never written by
 * userspace). A forged flood of either costs the cells and the clients no
 * more than its budget.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CG_BUDGET_MAX);
	__type(key, __u32);
	__type(value, struct cg_budget);
} budgets SEC(".maps");

#endif /* CG_BPF_MAPS_H */
