/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/abi/consts.h - limits, enums and flags shared by the BPF programs and userspace */
#ifndef CELLGATE_CONSTS_H
#define CELLGATE_CONSTS_H

/*
 * Map sizes. Each is a ceiling the maps are created with; userspace refuses
 * configurations that exceed them with a clear error.
 */
#ifndef CG_MAX_SERVICES
#define CG_MAX_SERVICES 1024 /* service ids 0..1023; one Maglev table each */
#endif
#ifndef CG_MAX_CELLS
#define CG_MAX_CELLS 4096 /* cell ids 0..4095; index of the cells array */
#endif
#ifndef CG_MAX_CLASSES
#define CG_MAX_CLASSES 8 /* priority classes; 0 is the most critical */
#endif
#ifndef CG_MAX_REGIONS
#define CG_MAX_REGIONS 64 /* region ids 0..63 */
#endif
#ifndef CG_MAX_CLASS_RULES
#define CG_MAX_CLASS_RULES 4096 /* source-prefix class rules, per address family */
#endif
#ifndef CG_GUARD_ENTRIES
#define CG_GUARD_ENTRIES 65536 /* source prefixes the retry-storm guard tracks (LRU) */
#endif
#define CG_DSCP_VALUES 64 /* DSCP is 6 bits */
/*
 * Buckets of the VIP pre-filter: traffic to an address no VIP hashes to is
 * passed before its ports are parsed or any hash map is read. 65536 bits
 * (8 KiB) keep false positives rare with thousands of VIPs.
 */
#define CG_VIP_FILTER_BITS 65536
/* Service keys: one per (VIP, port, proto) plus one fragment alias per (VIP, proto). */
#define CG_MAX_SERVICE_KEYS (2 * CG_MAX_SERVICES)

#define CG_DEFAULT_TABLE_SIZE 65537 /* Maglev slots per service (prime) */
/*
 * Largest Maglev table: bounds the inner map's memory (4 bytes a slot). A
 * prime near 2^20 keeps a service's table at 4 MiB.
 */
#define CG_MAX_TABLE_SIZE 1048573
/* Connection table entries when the loader is not told otherwise. */
#define CG_DEFAULT_CONNTRACK 1048576

/* Parser bounds: verifier-friendly loops need fixed trip counts. */
#define CG_MAX_VLAN_TAGS 2 /* 802.1ad outer + 802.1Q inner */
#define CG_MAX_IPV6_EXT	 4 /* extension headers walked before giving up */

/*
 * Bytes of the offending packet quoted in an ICMP 'fragmentation needed' or
 * ICMPv6 'packet too big' reply. Fixed so the checksum has a constant length;
 * RFC 792 needs the IP header and 8 bytes, 64 covers IPv6 plus TCP ports.
 */
#define CG_ICMP_QUOTE 64

/* Default MTU of the path to the cells; the outer packet must fit in it. */
#define CG_DEFAULT_MTU 1500
/* GUE outer UDP source ports come from the flow hash, inside this range. */
#define CG_GUE_SPORT_BASE   0xc000 /* 49152 */
#define CG_GUE_SPORT_MASK   0x3fff /* ... to 65535 */
#define CG_GUE_DEFAULT_PORT 6080   /* default outer UDP destination port */

/* Cell states (struct cg_cell.state). 0 is an unused slot, never forwarded to. */
enum cg_cell_state {
	CG_CELL_UNUSED = 0,
	CG_CELL_ACTIVE = 1,   /* in the tables, takes new flows */
	CG_CELL_DRAINING = 2, /* out of the tables; established flows continue */
	CG_CELL_DOWN = 3,     /* out of the tables; its flows are re-hashed */
};

/* How a cell is reached (struct cg_cell.encap). */
enum cg_encap {
	CG_ENCAP_IPIP = 1, /* IP in IP: outer IPv4 (proto 4/41) or IPv6 (next header 4/41) */
	CG_ENCAP_GUE = 2,  /* GUE variant 1: outer IP + UDP, inner IP right after UDP */
};

/* Address families in keys (not AF_*: fixed values for the ABI). */
enum cg_family {
	CG_AF_INET = 4,
	CG_AF_INET6 = 6,
};

/* struct cg_service.flags */
#define CG_SVC_F_FRAG_ALIAS (1U << 0) /* key has port 0: receives fragments of its VIP+proto */

/* struct cg_conn.flags */
#define CG_CONN_F_FRAG (1U << 0) /* flow keyed on addresses only (fragmented datagrams) */
#define CG_CONN_F_SYN \
	(1U << 1) /* created by a SYN, nothing else seen yet: another SYN is a retry */

/* struct cg_config.flags: what the established-flow path must check (skipped when clear) */
#define CG_CFG_F_HARD (1U << 0) /* some (cell, class) has a hard shed level */
#define CG_CFG_F_PPS  (1U << 1) /* some class has a packets-per-second ceiling */
#define CG_CFG_F_ALL  (CG_CFG_F_HARD | CG_CFG_F_PPS)

/*
 * Shed thresholds (struct cg_shed) are compared with a flow's admission hash:
 * a flow is refused when hash < threshold, so threshold = level * 2^32 refuses
 * that fraction of flows, the same flows every time. CG_SHED_ALL refuses all.
 */
#define CG_SHED_ALL 0xffffffffU

/* struct cg_dscp_rule.flags */
#define CG_DSCP_F_SET (1U << 0) /* a rule exists for this DSCP value */

#define CG_NSEC_PER_SEC 1000000000ULL

/*
 * Counter slots of the global stats map, one per verdict and reason.
 * Keep in sync with cg_stat_names[] in userspace/lib/dataplane.c. The values
 * are ABI (pinned maps are indexed by them): a new slot goes before
 * CG_STAT_MAX, never between existing ones. Which slots are drops is
 * CG_STAT_DROP_MASK, not their order, so a pass or a drop added later goes
 * at the end all the same.
 */
enum cg_stat {
	CG_STAT_PASS_NOT_IP = 0,   /* not IPv4/IPv6: passed untouched */
	CG_STAT_PASS_NO_SERVICE,   /* IP, but to no service: passed untouched */
	CG_STAT_PASS_L4_OTHER,	   /* protocol cellgate does not route (e.g. ICMP echo) */
	CG_STAT_PASS_V6_EXT,	   /* IPv6 extension chain too long: passed to the kernel */
	CG_STAT_FWD,		   /* encapsulated to a cell and sent (XDP_TX) */
	CG_STAT_FWD_ICMP,	   /* ICMP error about a flow sent to the flow's cell */
	CG_STAT_ICMP_TOO_BIG,	   /* answered with ICMP frag needed / packet too big */
	CG_STAT_DROP_MALFORMED,	   /* truncated or invalid headers */
	CG_STAT_DROP_NO_CELL,	   /* service has no table or the slot's cell is not active */
	CG_STAT_DROP_TOO_BIG,	   /* too big, DF clear: cannot fragment in XDP */
	CG_STAT_DROP_ERROR,	   /* helper failed (adjust_head, ...): should never count */
	CG_STAT_DROP_SHED,	   /* new flow refused by its (cell, class) shed level */
	CG_STAT_DROP_SHED_HARD,	   /* packet of an established flow dropped by a hard level */
	CG_STAT_DROP_CEILING,	   /* over its class's new-flow or packet ceiling */
	CG_STAT_DROP_GUARD,	   /* new flow over its source prefix's limit (retry-storm guard) */
	CG_STAT_DROP_L2_GROUP,	   /* to a VIP in a broadcast/multicast Ethernet frame */
	CG_STAT_DROP_MARTIAN,	   /* to a VIP from loopback, multicast, 0/8, broadcast, the VIP */
	CG_STAT_DROP_PORT_ZERO,	   /* TCP/UDP to destination port 0 (the fragment alias's port) */
	CG_STAT_PASS_VLAN,	   /* tagged with a VLAN id other than settings' vlan: passed */
	CG_STAT_DROP_ICMP_RATE,	   /* ICMP error over the LB's ICMP error budget */
	CG_STAT_DROP_TOO_BIG_RATE, /* too big, DF set, but over the too-big reply budget */
	CG_STAT_MAX,
};

#define CG_STAT_BIT(s) (1U << (s))
/* The drop reasons: every slot counted here is an XDP_DROP. */
#define CG_STAT_DROP_MASK                                                            \
	(CG_STAT_BIT(CG_STAT_DROP_MALFORMED) | CG_STAT_BIT(CG_STAT_DROP_NO_CELL) |   \
	 CG_STAT_BIT(CG_STAT_DROP_TOO_BIG) | CG_STAT_BIT(CG_STAT_DROP_ERROR) |       \
	 CG_STAT_BIT(CG_STAT_DROP_SHED) | CG_STAT_BIT(CG_STAT_DROP_SHED_HARD) |      \
	 CG_STAT_BIT(CG_STAT_DROP_CEILING) | CG_STAT_BIT(CG_STAT_DROP_GUARD) |       \
	 CG_STAT_BIT(CG_STAT_DROP_L2_GROUP) | CG_STAT_BIT(CG_STAT_DROP_MARTIAN) |    \
	 CG_STAT_BIT(CG_STAT_DROP_PORT_ZERO) | CG_STAT_BIT(CG_STAT_DROP_ICMP_RATE) | \
	 CG_STAT_BIT(CG_STAT_DROP_TOO_BIG_RATE))
/* Is slot s (< CG_STAT_MAX) a drop? One shift and one mask. */
#define CG_STAT_IS_DROP(s) ((CG_STAT_DROP_MASK >> (s)) & 1)
_Static_assert(CG_STAT_MAX <= 32, "enum cg_stat: CG_STAT_DROP_MASK holds 32 slots");

/*
 * Slots of the budgets per-CPU array: token buckets of replies and errors
 * the router sends or forwards whatever their flow (settings hold the rates).
 */
enum cg_budget_slot {
	CG_BUDGET_ICMP = 0, /* ICMP errors forwarded to cells */
	CG_BUDGET_TOO_BIG,  /* ICMP too big replies sent to clients */
	CG_BUDGET_MAX,
};

/*
 * Counter slots of decap_stats: decapsulated, passed, dropped, in that order;
 * the verdict follows from the slot (cg_decap_verdict() in bpf/decap.bpf.c):
 * XDP_DROP from CG_DECAP_STAT_FIRST_DROP to CG_DECAP_STAT_LAST_DROP, else
 * XDP_PASS. The values are ABI: a new slot goes before CG_DECAP_STAT_MAX.
 */
enum cg_decap_stat {
	CG_DECAP_STAT_IPIP4 = 0,      /* outer IPv4, protocol 4 or 41: decapsulated */
	CG_DECAP_STAT_IPIP6,	      /* outer IPv6, next header 4 or 41: decapsulated */
	CG_DECAP_STAT_GUE,	      /* GUE over IPv4 or IPv6: decapsulated */
	CG_DECAP_STAT_PASS,	      /* not a tunnel packet (or unrecognisable): untouched */
	CG_DECAP_STAT_PASS_FRAG,      /* outer fragment of a tunnel packet: untouched */
	CG_DECAP_STAT_PASS_NOT_LOCAL, /* tunnel packet to an address not in local_addrs */
	CG_DECAP_STAT_DROP_MALFORMED, /* tunnel packet with cut or inconsistent headers */
	CG_DECAP_STAT_DROP_ECN,	      /* outer CE, inner not ECN-capable (RFC 6040) */
	CG_DECAP_STAT_DROP_ERROR,     /* a helper failed: should never count */
	CG_DECAP_STAT_DROP_SOURCE,    /* tunnel packet from an outer source not in lb_sources */
	CG_DECAP_STAT_MAX,
};

#define CG_DECAP_STAT_FIRST_DROP CG_DECAP_STAT_DROP_MALFORMED /* the first drop reason */
#define CG_DECAP_STAT_LAST_DROP	 CG_DECAP_STAT_DROP_SOURCE    /* the last drop reason */
/* Is slot s a drop? */
#define CG_DECAP_STAT_IS_DROP(s) ((s) >= CG_DECAP_STAT_FIRST_DROP && (s) <= CG_DECAP_STAT_LAST_DROP)
_Static_assert(CG_DECAP_STAT_FIRST_DROP == CG_DECAP_STAT_PASS_NOT_LOCAL + 1,
	       "enum cg_decap_stat: the slots before the first drop decapsulate or pass");
_Static_assert(
	CG_DECAP_STAT_LAST_DROP == CG_DECAP_STAT_MAX - 1,
	"enum cg_decap_stat: a slot added after the drops must move CG_DECAP_STAT_LAST_DROP");

#endif /* CELLGATE_CONSTS_H */
