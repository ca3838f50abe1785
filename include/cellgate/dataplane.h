/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/dataplane.h - load, pin, adopt and attach the router; every map read and write */
#ifndef CELLGATE_DATAPLANE_H
#define CELLGATE_DATAPLANE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellgate/abi/consts.h"
#include "cellgate/abi/structs.h"

/*
 * Every write to the router's maps goes through this file, for the
 * controller, the CLI and the tests alike. Keys and values are the ABI
 * structs of cellgate/abi/structs.h, byte order as documented there.
 *
 * Functions return 0 or a negative errno and leave the maps untouched when
 * they refuse an argument. Only cg_dp_open() prints (one line to stderr);
 * libbpf may print its own warnings through its print callback.
 *
 * A struct cg_dp may be used from one thread at a time.
 */

/* Where cellgated pins the data plane. */
#define CG_DP_PIN_DIR "/sys/fs/bpf/cellgate"

/* The loaded router: its program, its maps and the links it attached. */
struct cg_dp;

/* How to open the data plane. */
struct cg_dp_opts {
	const char *pin_dir;	 /* NULL: nothing pinned (tests); else a dir on bpffs */
	uint32_t conntrack_size; /* conntrack entries; 0: CG_DEFAULT_CONNTRACK; unused on adopt */
	bool adopt;    /* reuse pin_dir's maps (those of another layout: see cg_dp_open) */
	bool readonly; /* read pin_dir's maps only: nothing loaded, pinned or written */
};

/*
 * cg_dp_open - load the router and create (or adopt) its maps.
 *
 * Without pin_dir the maps live as long as the struct cg_dp. With pin_dir,
 * bpffs is mounted at /sys/fs/bpf if it is not, and:
 * - adopt false: pin_dir must not exist (or be empty). Fresh maps are
 *   created, and every map is pinned under pin_dir by its name, with the
 *   program as pin_dir/prog. The pins are made in a staging directory that
 *   is renamed to pin_dir, so pin_dir appears complete or not at all.
 * - adopt true: a map pinned in pin_dir with the type, key size, value
 *   size, flags and max_entries this build expects (the ABI) is reused as
 *   it is, contents included (a conntrack of another size is kept,
 *   conntrack_size is not used). A map whose content is derived from the
 *   desired state (settings, services, vips, cells, tables, class4, class6,
 *   dscp, classes, shed) or is rate-limiter state (guard, buckets, budgets)
 *   and whose pin is missing or does not match (an upgrade that changed its
 *   layout) is created fresh instead, one line logged for each:
 *   "map 'settings': recreated (value size 48 -> 76), refilled from the
 *   desired state". Fresh maps are empty (vips follows the services map)
 *   and their old pins stay until cg_dp_pin_recreated(): the caller fills
 *   them (cg_rec_new() then cg_rec_apply()) before the program runs on an
 *   interface. The connection table and the counters must match: a missing
 *   or mismatched pin of one refuses (ENOENT, EPROTO). The new program is
 *   loaded against the maps and replaces pin_dir/prog. Links already
 *   pinned keep running the old program until cg_dp_attach() updates them.
 *
 * - readonly true: as adopt, but no program is loaded and nothing is
 *   pinned, and every map must match: for readers (cellctl with cellgated
 *   down). Only the read functions may be used; cg_dp_prog_fd() returns -1.
 *
 * Returns the data plane, or NULL with errno set and one line on stderr:
 * EINVAL (bad opts, pin_dir not on bpffs), EEXIST (pins exist and adopt is
 * false), ENOENT (adopt and a pin is missing), EPROTO (a pinned map does
 * not match this build), or what libbpf or the kernel said. On failure
 * nothing is pinned and nothing pinned before is changed.
 */
struct cg_dp *cg_dp_open(const struct cg_dp_opts *opts);

/* cg_dp_recreated - how many maps cg_dp_open() created fresh whose pins are not replaced yet. */
unsigned int cg_dp_recreated(const struct cg_dp *dp);

/*
 * cg_dp_pin_recreated - replace the pins of the maps cg_dp_open() recreated
 * with this program's maps, each atomically (pin at a temporary name, then
 * rename over the old pin). Call it once the program runs on every
 * interface: until then the old pins are what a restart must find (the
 * crash points are in dataplane.c). Returns 0 (also with nothing to do or
 * no pin_dir) or -errno; the maps not replaced stay marked, a later call
 * tries them again.
 */
int cg_dp_pin_recreated(struct cg_dp *dp);

/*
 * cg_dp_close - release the data plane. Pins are never removed: pinned maps
 * and links stay, links that were not pinned are detached. NULL is a no-op.
 */
void cg_dp_close(struct cg_dp *dp);

/*
 * cg_dp_unpin - tear down what is pinned: detach the interfaces whose links
 * are pinned, remove the link, program and map pins and pin_dir itself. The
 * maps stay usable through dp until cg_dp_close(); nothing is pinned after.
 * Returns 0 (also when nothing was pinned), -ENOTEMPTY if pin_dir holds
 * files this library did not make (they and pin_dir are left), or -errno.
 */
int cg_dp_unpin(struct cg_dp *dp);

/*
 * cg_dp_unpin_dir - cg_dp_unpin() by pin name, without opening the maps: it
 * also tears down pins of another build's layout (cellgated --teardown).
 */
int cg_dp_unpin_dir(const char *pin_dir);

/* cg_dp_prog_fd - fd of the XDP program (owned by dp: do not close). */
int cg_dp_prog_fd(const struct cg_dp *dp);

/*
 * cg_dp_attach - run the router on an interface through a bpf_link.
 * xdp_flags: 0 (kernel's choice), XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE.
 * With a pin_dir the link is pinned as pin_dir/link_<ifname> ('.' and '%'
 * escaped as %2e and %25, cg_dp_pinned_links()) and survives
 * the process; if that pin already exists (a restart) the link is switched
 * to this program atomically, without a moment with no program attached.
 * Returns 0, -EINVAL (other flags), -ENODEV (no such interface), -EEXIST
 * (attached by this library in another mode: detach first), -EBUSY (an XDP
 * program not attached by a link is on the interface), or -errno.
 */
int cg_dp_attach(struct cg_dp *dp, int ifindex, uint32_t xdp_flags);

/*
 * cg_dp_detach - remove the router from an interface: detach the link this
 * library made (pinned or held by dp) and remove its pin.
 * Returns 0, -ENOENT if there is no such link, or -errno.
 */
int cg_dp_detach(struct cg_dp *dp, int ifindex);

#define CG_DP_LINK_NAME_MAX (sizeof("link_") + 3 * IF_NAMESIZE) /* a link pin's name, escaped */

/*
 * cg_dp_link_pin_name - the pin name of ifname's link (in the pin dir):
 * link_<ifname> with '.' (bpffs refuses it in a name: eth0.100) and '%'
 * written as %2e and %25, so every name pins and two names never share a
 * pin. len should be CG_DP_LINK_NAME_MAX.
 */
void cg_dp_link_pin_name(char *name, size_t len, const char *ifname);

/*
 * cg_dp_pinned_links - the interface names of the links pinned in dp's pin
 * dir (pin names are link_<ifname> with '.' and '%' escaped as %2e, %25:
 * bpffs refuses a '.'), at most max into names. Returns how many, 0 without
 * a pin dir, or -errno.
 */
int cg_dp_pinned_links(const struct cg_dp *dp, char (*names)[IF_NAMESIZE], size_t max);

/*
 * cg_dp_unpin_link - detach the link pinned for ifname (whether or not the
 * interface still exists) and remove its pin. Returns 0, -ENOENT if there is
 * no such pin, -EEXIST if the pin is not an XDP link, or -errno.
 */
int cg_dp_unpin_link(struct cg_dp *dp, const char *ifname);

/*
 * cg_dp_conntrack_probe - would the kernel create a connection table of
 * entries entries (its type, flags, key and value)? Creates one and closes
 * it at once. Returns 0, or the kernel's -errno (-ENOMEM, -E2BIG, ...).
 */
int cg_dp_conntrack_probe(uint32_t entries);

/*
 * cg_dp_config_set / cg_dp_config_get - the one settings entry.
 * Set returns -EINVAL for unknown flags, an mtu above 65535, or a guard rate
 * without a burst or with prefix lengths out of range.
 */
int cg_dp_config_set(struct cg_dp *dp, const struct cg_config *cfg);
int cg_dp_config_get(struct cg_dp *dp, struct cg_config *cfg);

/*
 * cg_dp_service_set - add or replace the service of a key. The VIP
 * pre-filter (map vips) is kept in step: set before the key is written,
 * rebuilt after cg_dp_service_del() removed one.
 * -EINVAL for a bad key (family not CG_AF_*, IPv4 with addr[1..3] not 0,
 * proto not TCP/UDP, port 0 without CG_SVC_F_FRAG_ALIAS or the other way
 * round) or value (unknown flags, default_class >= CG_MAX_CLASSES);
 * -ERANGE if svc->id >= CG_MAX_SERVICES; -E2BIG if the map is full.
 */
int cg_dp_service_set(struct cg_dp *dp, const struct cg_service_key *key,
		      const struct cg_service *svc);

/* cg_dp_service_get - the service of a key; -ENOENT if there is none. */
int cg_dp_service_get(struct cg_dp *dp, const struct cg_service_key *key, struct cg_service *svc);

/* cg_dp_service_del - remove a key; -ENOENT if there is none. */
int cg_dp_service_del(struct cg_dp *dp, const struct cg_service_key *key);

/*
 * cg_dp_service_list - every key of the services map with its value (aliases
 * included), in map order. *n gets the number of keys. Returns 0; -ENOSPC if
 * there are more than cap (the first cap are filled, *n holds the count).
 */
int cg_dp_service_list(struct cg_dp *dp, struct cg_service_key *keys, struct cg_service *svcs,
		       size_t cap, size_t *n);

/* ---- load shedding ---- */

/* A source prefix of a class rule; addr in network order, host bits zero. */
struct cg_class_prefix {
	uint8_t family; /* CG_AF_INET or CG_AF_INET6 */
	uint8_t len;	/* prefix length, 0..32 or 0..128 */
	uint8_t pad[2];
	uint32_t addr[4]; /* IPv4 in addr[0] */
};

/* The key of either LPM trie. */
union cg_lpm_key {
	struct cg_lpm4 v4;
	struct cg_lpm6 v6;
};

/*
 * cg_dp_class_rule_set / _del - give a source prefix a class (class4 or
 * class6 by family), or remove it. -EINVAL for a bad family, length or
 * class; -E2BIG when the trie is full; del returns -ENOENT if absent.
 */
int cg_dp_class_rule_set(struct cg_dp *dp, const struct cg_class_prefix *p,
			 const struct cg_class_rule *rule);
int cg_dp_class_rule_del(struct cg_dp *dp, const struct cg_class_prefix *p);

/*
 * cg_dp_class_rule_list - every prefix rule of both tries, IPv4 first.
 * *n gets the count; -ENOSPC if more than cap (the first cap are filled).
 */
int cg_dp_class_rule_list(struct cg_dp *dp, struct cg_class_prefix *prefixes,
			  struct cg_class_rule *rules, size_t cap, size_t *n);

/* cg_dp_dscp_set / _get - the class rule of a DSCP value (0..63, else -ERANGE). */
int cg_dp_dscp_set(struct cg_dp *dp, uint32_t dscp, const struct cg_dscp_rule *rule);
int cg_dp_dscp_get(struct cg_dp *dp, uint32_t dscp, struct cg_dscp_rule *rule);

/*
 * cg_dp_class_set / _get - a class's ceilings, as each CPU's share (the
 * caller divides the configured totals by the number of CPUs). -ERANGE for
 * class >= CG_MAX_CLASSES; -EINVAL for a rate without a burst.
 */
int cg_dp_class_set(struct cg_dp *dp, uint32_t class, const struct cg_class *c);
int cg_dp_class_get(struct cg_dp *dp, uint32_t class, struct cg_class *c);

/*
 * cg_dp_shed_set / _get - the shed thresholds of (cell, class); see
 * cg_dp_shed_threshold(). -ERANGE for a cell or class out of range.
 */
int cg_dp_shed_set(struct cg_dp *dp, uint32_t cell, uint32_t class, const struct cg_shed *sh);
int cg_dp_shed_get(struct cg_dp *dp, uint32_t cell, uint32_t class, struct cg_shed *sh);

/*
 * cg_dp_shed_threshold - the threshold that refuses ppm parts per million of
 * flows: 0 refuses none, 1000000 (or more) refuses all (CG_SHED_ALL).
 */
uint32_t cg_dp_shed_threshold(uint32_t ppm);

/* cg_dp_shed_ppm - the level a threshold of cg_dp_shed_threshold() was made from. */
uint32_t cg_dp_shed_ppm(uint32_t threshold);

/* cg_dp_guard_forget - empty the guard's table: every prefix starts with a full bucket. */
int cg_dp_guard_forget(struct cg_dp *dp);

/*
 * cg_dp_cell_set - write cell id. -ERANGE if id >= CG_MAX_CELLS; -EINVAL for
 * an unknown state or, for a used cell, an unknown family or encap or a
 * region >= CG_MAX_REGIONS. Writing a zeroed cell (CG_CELL_UNUSED) clears it.
 */
int cg_dp_cell_set(struct cg_dp *dp, uint32_t id, const struct cg_cell *cell);

/* cg_dp_cell_get - read cell id (zeroed if never set). -ERANGE if id >= CG_MAX_CELLS. */
int cg_dp_cell_get(struct cg_dp *dp, uint32_t id, struct cg_cell *cell);

/*
 * cg_dp_table_swap - make slots[0..size-1] (cell ids, host order) the live
 * Maglev table of service_id, atomically: a table no program reads is
 * filled (the one this service's previous swap retired, if of the same
 * size, else a new inner map) and published with one update of the tables
 * slot, so a packet sees the whole old table or the whole new one. Returns
 * once no program can still be reading the old table: the kernel waits one
 * RCU grace period (several ms) per call, so swap many tables with
 * cg_dp_table_swap_many(). The old table is kept to be filled next time.
 * Returns 0; -EINVAL with nothing changed if service_id >= CG_MAX_SERVICES,
 * size is not in 1..CG_MAX_TABLE_SIZE or a slot is >= CG_MAX_CELLS; -errno
 * if the kernel refused (the old table then stays live).
 */
int cg_dp_table_swap(struct cg_dp *dp, uint32_t service_id, const uint32_t *slots, uint32_t size);

/* One table of cg_dp_table_swap_many(). */
struct cg_dp_table {
	uint32_t service_id;   /* < CG_MAX_SERVICES, at most once in a batch */
	const uint32_t *slots; /* cell ids, host order, each < CG_MAX_CELLS */
	uint32_t size;	       /* number of slots, 1..CG_MAX_TABLE_SIZE */
};

/*
 * cg_dp_table_swap_many - cg_dp_table_swap() for n tables (1..CG_MAX_SERVICES),
 * published with one batch update and so one grace period. Each table is
 * swapped atomically; the batch as a whole is not (a packet may see service
 * A's new table and service B's old one for a moment).
 * Returns 0; -EINVAL with nothing changed if any table is invalid (as for
 * cg_dp_table_swap) or a service id repeats; -errno if the kernel refused,
 * in which case a prefix of the batch may be live (swapping again is safe).
 * All new tables exist side by side with the old ones until the swap ends:
 * mind the memory when batching large tables.
 */
int cg_dp_table_swap_many(struct cg_dp *dp, const struct cg_dp_table *tables, size_t n);

/*
 * cg_dp_table_read - copy the live table of service_id into slots and its
 * size into *size. Returns 0; -ENOSPC if cap < *size (slots untouched, *size
 * set: call again with more room); -ENOENT if the service has no table;
 * -ERANGE if service_id >= CG_MAX_SERVICES; -EIO if the table is malformed.
 */
int cg_dp_table_read(struct cg_dp *dp, uint32_t service_id, uint32_t *slots, uint32_t cap,
		     uint32_t *size);

/*
 * cg_dp_table_del - remove the table of service_id; its packets then find no
 * cell. Returns 0, -ENOENT if it had none, -ERANGE for a bad id.
 */
int cg_dp_table_del(struct cg_dp *dp, uint32_t service_id);

/* cg_dp_conn_lookup - the entry of a flow, without touching its LRU age; -ENOENT if none. */
int cg_dp_conn_lookup(struct cg_dp *dp, const struct cg_flow_key *key, struct cg_conn *conn);

/*
 * cg_dp_conn_set - pin a flow to a cell (restoring state, tests); the
 * entry's hash is computed from key with the settings' seed_cell (set the
 * settings first), whatever conn->hash says.
 * -ERANGE if conn->cell >= CG_MAX_CELLS or conn->service >= CG_MAX_SERVICES.
 */
int cg_dp_conn_set(struct cg_dp *dp, const struct cg_flow_key *key, const struct cg_conn *conn);

/* cg_dp_conn_del - forget a flow; its next packet is a new flow. -ENOENT if none. */
int cg_dp_conn_del(struct cg_dp *dp, const struct cg_flow_key *key);

/*
 * cg_dp_conn_count - number of connection entries, by walking the table
 * (a snapshot while packets change it: exact only when idle).
 */
int cg_dp_conn_count(struct cg_dp *dp, uint64_t *n);

/* cg_dp_conn_capacity - max_entries of the connection table (an adopted one keeps its own). */
uint32_t cg_dp_conn_capacity(const struct cg_dp *dp);

/* cg_dp_stats_read - the global counters, indexed by enum cg_stat, summed over CPUs. */
int cg_dp_stats_read(struct cg_dp *dp, struct cg_counter out[CG_STAT_MAX]);

/* cg_dp_svc_stats_read - counters of a service, summed over CPUs. -ERANGE for a bad id. */
int cg_dp_svc_stats_read(struct cg_dp *dp, uint32_t service_id, struct cg_svc_stats *out);

/*
 * cg_dp_cell_stats_read - counters of (cell, class), summed over CPUs.
 * -ERANGE if cell_id >= CG_MAX_CELLS or class >= CG_MAX_CLASSES.
 */
int cg_dp_cell_stats_read(struct cg_dp *dp, uint32_t cell_id, uint32_t class,
			  struct cg_cell_stats *out);

/*
 * cg_dp_cell_moves_read - flows moved off cell_id (picked again because its
 * entry's cell could no longer hold them), summed over CPUs, into *out (0
 * on failure). -ERANGE if cell_id >= CG_MAX_CELLS; an error if the map
 * cannot be read (a reader on pins older than the map).
 */
int cg_dp_cell_moves_read(struct cg_dp *dp, uint32_t cell_id, uint64_t *out);

/*
 * cg_stat_name - metric name of a counter slot ("pass_not_ip", "fwd", ...),
 * lowercase enum cg_stat without its prefix; NULL if stat >= CG_STAT_MAX.
 */
const char *cg_stat_name(unsigned int stat);

#endif /* CELLGATE_DATAPLANE_H */
