/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/abi/structs.h - map keys and values: the ABI between the BPF programs and userspace */
#ifndef CELLGATE_STRUCTS_H
#define CELLGATE_STRUCTS_H

/*
 * Only fixed-width kernel types, explicit padding and byte order in the type.
 * Addresses are 16 bytes; an IPv4 address sits in addr[0], the rest is zero.
 * Every struct is checked for size below: a change here is an ABI change for
 * pinned maps that a restarted cellgated adopts.
 */
#ifdef __BPF__
/* vmlinux.h provides the types */
#else
#include <linux/types.h>
#endif

/* services map key: what a client addresses. */
struct cg_service_key {
	__be32 addr[4]; /* VIP */
	__be16 port;	/* L4 destination port; 0 for the fragment alias */
	__u8 proto;	/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;	/* CG_AF_INET or CG_AF_INET6 */
};

/* services map value. */
struct cg_service {
	__u32 id;	    /* index into tables and svc_stats, < CG_MAX_SERVICES */
	__u8 default_class; /* class of flows no rule classifies (used by shedding) */
	__u8 flags;	    /* CG_SVC_F_* */
	__u16 pad;
};

/* cells array value, indexed by cell id. */
struct cg_cell {
	__be32 gw[4];	 /* gateway address: outer destination */
	__u8 state;	 /* enum cg_cell_state */
	__u8 encap;	 /* enum cg_encap */
	__u8 family;	 /* family of gw, CG_AF_* */
	__u8 region;	 /* region id, < CG_MAX_REGIONS */
	__u8 dmac[6];	 /* MAC of the next hop towards gw */
	__be16 vlan;	 /* 802.1Q TCI added on egress; 0 sends untagged */
	__be16 gue_port; /* outer UDP destination port for CG_ENCAP_GUE */
	__u16 pad;
};

/* settings array value (one entry): knobs of the whole data plane. */
struct cg_config {
	__be32 src4;	    /* outer IPv4 source: this LB's address */
	__be32 src6[4];	    /* outer IPv6 source */
	__u32 mtu;	    /* largest outer IP packet towards the cells */
	__u32 flags;	    /* CG_CFG_F_*: checks the established-flow path makes */
	__u32 guard_rate;   /* new flows a second per source prefix (all CPUs); 0: guard off */
	__u32 guard_burst;  /* the guard bucket's depth, flows */
	__u8 guard_prefix4; /* IPv4 source prefix length the guard counts by, 1..32 */
	__u8 guard_prefix6; /* IPv6 source prefix length, 1..128 */
	__u16 vlan;	    /* VLAN id a tagged frame must carry to be routed; 0: untagged only */
	__u32 seed_cell; /* flow hash seed: Maglev slot, GUE port, flow label (from the hash key) */
	__u32 seed_admit; /* flow hash seed of the shed decision (from the hash key) */
	__u32 agg_rate;	  /* new flows a second per aggregate prefix (the guard's second level) */
	__u32 agg_burst;  /* its bucket's depth, flows */
	__u8 agg_prefix4; /* IPv4 aggregate prefix length, 1..guard_prefix4 */
	__u8 agg_prefix6; /* IPv6 aggregate prefix length, 1..guard_prefix6 */
	__u16 pad;
	__u32 icmp_rate;     /* ICMP errors forwarded a second on each CPU; 0: no limit */
	__u32 icmp_burst;    /* each CPU's bucket depth, errors */
	__u32 too_big_rate;  /* ICMP too big replies sent a second on each CPU; 0: no limit */
	__u32 too_big_burst; /* each CPU's bucket depth, replies */
};

/* conntrack key: one flow as the client sent it. */
struct cg_flow_key {
	__be32 saddr[4]; /* client address */
	__be32 daddr[4]; /* VIP */
	__be16 sport;	 /* 0 for fragmented datagrams (CG_CONN_F_FRAG) */
	__be16 dport;	 /* 0 for fragmented datagrams */
	__u8 proto;	 /* IPPROTO_* of the transport */
	__u8 family;	 /* CG_AF_* */
	__u16 pad;
};

/* conntrack value: what the new-flow path decided, so hits need no more lookups. */
struct cg_conn {
	__u32 cell;    /* cell id the flow is pinned to */
	__u16 service; /* service id, for per-service counters */
	__u8 class;    /* priority class given at admission */
	__u8 flags;    /* CG_CONN_F_* */
	__u32 hash; /* cg_flow_hash(key, settings seed_cell): GUE port and flow label, not recomputed */
};

/* vips array value (one entry): a bit per hash bucket of destination address that is a VIP. */
struct cg_vip_filter {
	__u64 bits[CG_VIP_FILTER_BITS /
		   64]; /* bit cg_vip_bucket(addr) set if some VIP hashes there */
};

/* class4 LPM trie key: an IPv4 source prefix. */
struct cg_lpm4 {
	__u32 prefixlen; /* 0..32 */
	__be32 addr;	 /* host bits zero */
};

/* class6 LPM trie key: an IPv6 source prefix. */
struct cg_lpm6 {
	__u32 prefixlen; /* 0..128 */
	__be32 addr[4];	 /* host bits zero */
};

/* class4 / class6 value: the class a source prefix gives. */
struct cg_class_rule {
	__u8 class; /* < CG_MAX_CLASSES */
	__u8 pad;
	__u16 rule; /* index of the rule in the desired state, for tracing */
};

/* dscp array value, indexed by DSCP (0..63). */
struct cg_dscp_rule {
	__u8 class; /* < CG_MAX_CLASSES */
	__u8 flags; /* CG_DSCP_F_SET if a rule exists */
	__u16 pad;
};

/* classes array value, indexed by class: its ceilings, as this CPU's share. */
struct cg_class {
	__u32 flow_rate;  /* new flows a second allowed on each CPU (total / CPUs); 0: no ceiling */
	__u32 flow_burst; /* each CPU's bucket depth, flows */
	__u32 pkt_rate;	  /* packets a second allowed on each CPU; 0: no ceiling */
	__u32 pkt_burst;  /* each CPU's bucket depth, packets */
};

/* buckets per-CPU array value, indexed by class: the ceilings' token buckets. */
struct cg_bucket {
	__u64 flow_tokens; /* in billionths of a flow */
	__u64 flow_ns;	   /* last refill, bpf_ktime_get_ns() */
	__u64 pkt_tokens;  /* in billionths of a packet */
	__u64 pkt_ns;
};

/* shed array value, indexed by cell id * CG_MAX_CLASSES + class. */
struct cg_shed {
	__u32 soft; /* new flows with admission hash < soft are refused; CG_SHED_ALL: all */
	__u32 hard; /* established packets with admission hash < hard are dropped */
};

/*
 * guard LRU key: a source prefix, of either level (the prefix or its
 * aggregate: len keeps a /24 apart from the /16 of the same address).
 */
struct cg_guard_key {
	__be32 addr[4]; /* source address masked to len bits */
	__u8 family;	/* CG_AF_* */
	__u8 len;	/* prefix length */
	__u8 pad[2];
};

/* guard LRU value: that prefix's new-flow bucket (shared by CPUs: see docs/shedding.md). */
struct cg_guard {
	__u64 tokens;  /* in billionths of a flow */
	__u64 last_ns; /* last refill */
	__u64 drops;   /* new flows refused */
};

/* budgets per-CPU array value, indexed by enum cg_budget_slot: one token bucket. */
struct cg_budget {
	__u64 tokens;  /* in billionths of a packet */
	__u64 last_ns; /* last refill, bpf_ktime_get_ns() */
};

/* stats per-CPU array value, indexed by enum cg_stat. */
struct cg_counter {
	__u64 packets;
	__u64 bytes; /* frame bytes as received */
};

/* svc_stats per-CPU array value, indexed by service id. */
struct cg_svc_stats {
	__u64 packets;	 /* packets forwarded to a cell (ICMP errors included) */
	__u64 bytes;	 /* their bytes as received */
	__u64 new_flows; /* connection entries created */
	__u64 drops;	 /* packets to the service dropped, any reason */
	__u64 icmp;	 /* ICMP errors about its flows forwarded */
	__u64 too_big;	 /* packets answered with ICMP too big or dropped as too big */
	__u64 retries;	 /* SYNs of flows already in the SYN state: client retries */
};

/* cell_stats per-CPU array value, indexed by cell id * CG_MAX_CLASSES + class. */
struct cg_cell_stats {
	__u64 packets;	 /* packets forwarded to the cell */
	__u64 bytes;	 /* their bytes as received */
	__u64 new_flows; /* flows pinned to the cell */
	__u64 drops;	 /* packets of the cell's flows dropped, any reason */
	__u64 shed;	 /* new flows refused by the shed level */
	__u64 shed_hard; /* established packets dropped by the hard level */
	__u64 ceiling;	 /* packets or new flows over the class's ceiling */
	__u64 guard;	 /* new flows refused by the source-prefix guard */
};

/*
 * local_addrs key: an outer destination address. IPv4 in addr[0], the rest
 * zero, like every address in include/cellgate/abi/structs.h; family keeps
 * IPv4 addresses apart from IPv6 ones of the same first word.
 */
struct cg_decap_addr {
	__be32 addr[4]; /* address, network order */
	__u8 family;	/* CG_AF_INET or CG_AF_INET6 */
	__u8 pad[3];	/* zero */
};

#define CG_ASSERT_SIZE(t, n) _Static_assert(sizeof(struct t) == (n), #t " is ABI: size changed")
CG_ASSERT_SIZE(cg_service_key, 20);
CG_ASSERT_SIZE(cg_service, 8);
CG_ASSERT_SIZE(cg_cell, 32);
CG_ASSERT_SIZE(cg_config, 76);
CG_ASSERT_SIZE(cg_flow_key, 40);
CG_ASSERT_SIZE(cg_conn, 12);
CG_ASSERT_SIZE(cg_counter, 16);
CG_ASSERT_SIZE(cg_svc_stats, 56);
CG_ASSERT_SIZE(cg_cell_stats, 64);
CG_ASSERT_SIZE(cg_lpm4, 8);
CG_ASSERT_SIZE(cg_vip_filter, CG_VIP_FILTER_BITS / 8);
CG_ASSERT_SIZE(cg_lpm6, 20);
CG_ASSERT_SIZE(cg_class_rule, 4);
CG_ASSERT_SIZE(cg_dscp_rule, 4);
CG_ASSERT_SIZE(cg_class, 16);
CG_ASSERT_SIZE(cg_bucket, 32);
CG_ASSERT_SIZE(cg_shed, 8);
CG_ASSERT_SIZE(cg_guard_key, 20);
CG_ASSERT_SIZE(cg_guard, 24);
CG_ASSERT_SIZE(cg_budget, 16);
CG_ASSERT_SIZE(cg_decap_addr, 20);

#endif /* CELLGATE_STRUCTS_H */
