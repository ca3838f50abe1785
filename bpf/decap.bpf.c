/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* decap.bpf.c - XDP on cell hosts: strip the router's IPIP / IPv6 / GUE outer header */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "parse.h"

/*
 * The kernels cellgate runs on may have no ipip/ip6tnl devices, so a cell
 * host runs this program on the interface facing the router. A packet that
 * is a tunnel packet for this host leaves as Ethernet (the MACs it arrived
 * with, no VLAN tags) + the inner datagram, byte for byte, and goes up the
 * stack (XDP_PASS) to the VIP bound there.
 *
 * Tunnel packets: outer IPv4 protocol 4 (IPIP) or 41 (6in4), outer IPv6 next
 * header 4 or 41 (after any extension headers parse.h walks), and GUE
 * variant 1 (outer UDP to gue_port, the inner IP header right after UDP, its
 * version nibble giving the family).
 *
 * What is dropped and what is passed: a packet is dropped only once it is
 * known to be a tunnel packet for this host (outer IP header whole with
 * protocol 4/41, or UDP header whole with the GUE port) and is broken:
 * outer datagram longer than the frame, UDP length or inner length not
 * matching the outer one, inner header cut or of the wrong version. Anything
 * that cannot be recognised as one (not IP, outer headers cut short, other
 * protocols and ports) is passed untouched: the kernel has its own checks
 * and this program must not make the host deaf to its other traffic. Outer
 * fragments are passed too: XDP cannot reassemble (the router sets DF, so
 * they should not exist).
 *
 * Not checked, on purpose: the outer IPv4 header checksum and a non-zero
 * outer UDP checksum (the inner datagram carries its own, which the stack
 * verifies), and the outer TTL.
 *
 * ECN (RFC 6040, as the kernel's tunnels do): congestion marked on the outer
 * header must reach the inner one, or the endpoints never hear of it. Outer
 * CE on an ECN-capable inner packet sets the inner CE (IPv4 checksum
 * updated); outer CE on a not-ECT inner packet is dropped.
 */

/*
 * The packet path, in the order it runs (cg_decap() at the bottom):
 *
 *   outer -> gue -> local -> source -> bounds -> inner -> ecn -> strip -> count
 *
 * Each step takes the packet's struct cg_decap_ctx and returns an XDP
 * verdict (the reason in ctx->stat, through cg_decap_verdict()) or
 * CG_CONTINUE; a step that does not apply to the packet returns CG_CONTINUE
 * at once. Up to local the packet may still be someone else's: those steps
 * pass. From source on it is a tunnel packet for this host: those steps drop.
 * Whatever the verdict, the packet is counted once, by cg_decap_count() at
 * the single exit.
 */

/*
 * Load-time knobs (set through skel->rodata before load; the verifier then
 * removes the code they turn off).
 */
const volatile __u16 gue_port = CG_GUE_DEFAULT_PORT; /* GUE outer UDP port, host order; 0: no GUE */
const volatile __u8 match_local = 0; /* 1: only outer destinations in local_addrs; 0: any */

#define CG_DECAP_MAX_LOCAL 64 /* addresses of one host: a handful, with room to spare */

/* Outer destinations this host decapsulates for, when match_local is set; value unused. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CG_DECAP_MAX_LOCAL);
	__type(key, struct cg_decap_addr);
	__type(value, __u8);
} local_addrs SEC(".maps");

#define CG_DECAP_MAX_SOURCES 256 /* load balancers of a fleet, IPv4 and IPv6 */

/*
 * Outer sources tunnel packets are accepted from: the load balancers' own
 * addresses (their settings.src4 / src6); value unused. Filled by whatever
 * loads the program (the lab: scripts/lab.sh, bpftool). Empty: every tunnel
 * packet is dropped (drop_source), so a host that forgot to fill it is
 * closed, not open to anyone who can reach it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CG_DECAP_MAX_SOURCES);
	__type(key, struct cg_decap_addr);
	__type(value, __u8);
} lb_sources SEC(".maps");

/* Packets and bytes (frame as received) per enum cg_decap_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CG_DECAP_STAT_MAX);
	__type(key, __u32);
	__type(value, struct cg_counter);
} decap_stats SEC(".maps");

/*
 * One packet on its way through the steps: what each step found, for the
 * next. The entry sets xdp, data, end and len; every other field is written
 * by the step named on it before any later step reads it (udp_off and
 * udp_len only for GUE, which is the only case that reads them).
 */
struct cg_decap_ctx {
	struct xdp_md *xdp;	  /* the XDP context (entry) */
	void *data;		  /* start of the frame as received (entry; stale after strip) */
	void *end;		  /* its end (entry; stale after strip) */
	struct cg_cursor cur;	  /* the next header: past the outer IP (outer), past UDP (gue) */
	void *inner;		  /* the inner IP header (bounds; unchecked until inner) */
	struct cg_decap_addr dst; /* outer destination, the local_addrs key (outer) */
	struct cg_decap_addr src; /* outer source, the lb_sources key (outer) */
	__u32 len;		  /* frame bytes as received (entry) */
	__u32 outer_end;	  /* offset just past the outer datagram: padding follows (outer) */
	__u32 udp_off;		  /* offset of the GUE UDP header (gue) */
	__u32 udp_len;		  /* its length field, host order (gue) */
	__u32 inner_off;	  /* offset of inner: the bytes to strip, Ethernet aside (bounds) */
	__u32 stat;		  /* enum cg_decap_stat, counted at the exit (every verdict) */
	__u8 proto;		  /* outer protocol: 4 or 41 (IPIP), IPPROTO_UDP (GUE) (outer) */
	__u8 tunnel;	/* slot counted once decapsulated: IPIP4, IPIP6, GUE (outer, gue) */
	__u8 outer_ecn; /* ECN bits of the outer header (outer) */
	__u8 inner_ecn; /* ECN bits of the inner header (inner) */
	__u8 inner_v6;	/* 1: the inner datagram is IPv6 (inner) */
};

/*
 * End the packet's path with reason stat. The verdict follows from the slot:
 * XDP_DROP for the drop reasons (CG_DECAP_STAT_FIRST_DROP..LAST_DROP), else
 * XDP_PASS (stat is a constant at every call but strip's: the test folds away).
 */
static __always_inline int cg_decap_verdict(struct cg_decap_ctx *c, __u32 stat)
{
	c->stat = stat;
	return CG_DECAP_STAT_IS_DROP(stat) ? XDP_DROP : XDP_PASS;
}

static __always_inline int cg_decap_is_tunnel_proto(int proto)
{
	return proto == IPPROTO_IPIP || proto == IPPROTO_IPV6 || proto == IPPROTO_UDP;
}

/*
 * Outer: Ethernet (and VLAN tags), then an outer IPv4/IPv6 header carrying
 * protocol 4, 41 or UDP. Anything else, and outer fragments, are passed.
 */
static __always_inline int cg_decap_step_outer(struct cg_decap_ctx *c)
{
	struct ipv6hdr *ip6;
	struct iphdr *ip;
	__u32 nvlan;
	__u16 vid;
	__u8 frag;
	int proto;

	c->cur.pos = c->data;
	__builtin_memset(&c->dst, 0, sizeof(c->dst));
	__builtin_memset(&c->src, 0, sizeof(c->src));
	proto = cg_parse_l2(&c->cur, c->end, &nvlan, &vid);
	if (proto == CG_ETH_P_IP) {
		proto = cg_parse_ipv4(&c->cur, c->end, &ip);
		if (proto < 0 || !cg_decap_is_tunnel_proto(proto))
			return cg_decap_verdict(c, CG_DECAP_STAT_PASS);
		if (bpf_ntohs(ip->frag_off) & (CG_IP_MF | CG_IP_OFFSET))
			return cg_decap_verdict(c, CG_DECAP_STAT_PASS_FRAG);
		c->outer_end = ((void *)ip - c->data) + bpf_ntohs(ip->tot_len);
		c->outer_ecn = ip->tos & 3;
		c->tunnel = CG_DECAP_STAT_IPIP4;
		c->dst.addr[0] = ip->daddr;
		c->dst.family = CG_AF_INET;
		c->src.addr[0] = ip->saddr;
		c->src.family = CG_AF_INET;
	} else if (proto == CG_ETH_P_IPV6) {
		/* -2, a chain longer than the parser walks, is passed like any stranger */
		proto = cg_parse_ipv6(&c->cur, c->end, &ip6, &frag);
		if (proto < 0 || !cg_decap_is_tunnel_proto(proto))
			return cg_decap_verdict(c, CG_DECAP_STAT_PASS);
		if (frag != CG_FRAG_NONE)
			return cg_decap_verdict(c, CG_DECAP_STAT_PASS_FRAG);
		c->outer_end = ((void *)ip6 - c->data) + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		c->outer_ecn = (((__u8 *)ip6)[1] >> 4) & 3;
		c->tunnel = CG_DECAP_STAT_IPIP6;
		cg_copy_addr(c->dst.addr, ip6->daddr.in6_u.u6_addr32);
		c->dst.family = CG_AF_INET6;
		cg_copy_addr(c->src.addr, ip6->saddr.in6_u.u6_addr32);
		c->src.family = CG_AF_INET6;
	} else {
		return cg_decap_verdict(c, CG_DECAP_STAT_PASS);
	}
	c->proto = proto;
	return CG_CONTINUE;
}

/* GUE: outer UDP must be whole and to gue_port (0: no GUE), else passed. Not for IPIP. */
static __always_inline int cg_decap_step_gue(struct cg_decap_ctx *c)
{
	struct udphdr *udp;

	if (c->proto != IPPROTO_UDP)
		return CG_CONTINUE;
	if (cg_parse_udp(&c->cur, c->end, &udp) < 0)
		return cg_decap_verdict(c, CG_DECAP_STAT_PASS);
	if (!gue_port || udp->dest != bpf_htons(gue_port))
		return cg_decap_verdict(c, CG_DECAP_STAT_PASS);
	c->udp_off = (void *)udp - c->data;
	c->udp_len = bpf_ntohs(udp->len);
	c->tunnel = CG_DECAP_STAT_GUE;
	return CG_CONTINUE;
}

/* Local: with match_local, the outer destination must be in local_addrs, else passed. */
static __always_inline int cg_decap_step_local(struct cg_decap_ctx *c)
{
	if (match_local && !bpf_map_lookup_elem(&local_addrs, &c->dst))
		return cg_decap_verdict(c, CG_DECAP_STAT_PASS_NOT_LOCAL);
	return CG_CONTINUE;
}

/*
 * Source: a tunnel packet for this host must come from a load balancer (its
 * outer source in lb_sources), else it is dropped: whoever else can reach the
 * host would otherwise bypass the LB (its shedding, guard and ceilings).
 */
static __always_inline int cg_decap_step_source(struct cg_decap_ctx *c)
{
	if (!bpf_map_lookup_elem(&lb_sources, &c->src))
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_SOURCE);
	return CG_CONTINUE;
}

/*
 * Bounds: from here on the packet is ours, and whatever does not add up is
 * dropped. The outer datagram must lie in the frame, the inner header start
 * inside it, and GUE's UDP length match it.
 */
static __always_inline int cg_decap_step_bounds(struct cg_decap_ctx *c)
{
	if (c->outer_end > c->len)
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_MALFORMED);
	c->inner = c->cur.pos;
	c->inner_off = c->cur.pos - c->data;
	/* IPv6 extension headers ran past the end */
	if (c->inner_off > c->outer_end)
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_MALFORMED);
	if (c->proto == IPPROTO_UDP && c->udp_len != c->outer_end - c->udp_off)
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_MALFORMED);
	return CG_CONTINUE;
}

/*
 * Inner: an IP header of the version the outer protocol names (GUE: either),
 * whole, whose length fills the outer datagram exactly.
 */
static __always_inline int cg_decap_step_inner(struct cg_decap_ctx *c)
{
	struct cg_cursor cur = { .pos = c->inner };
	__u32 room = c->outer_end - c->inner_off;
	__u8 *vp = c->inner;
	struct ipv6hdr *ip6;
	struct iphdr *ip;
	__u8 version;

	if ((void *)(vp + 1) > c->end)
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_MALFORMED);
	version = *vp >> 4;
	if ((c->proto == IPPROTO_IPIP && version != 4) ||
	    (c->proto == IPPROTO_IPV6 && version != 6))
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_MALFORMED);

	if (version == 4) {
		if (cg_parse_ipv4(&cur, c->end, &ip) < 0)
			return cg_decap_verdict(c, CG_DECAP_STAT_DROP_MALFORMED);
		if (bpf_ntohs(ip->tot_len) != room)
			return cg_decap_verdict(c, CG_DECAP_STAT_DROP_MALFORMED);
		c->inner_ecn = ip->tos & 3;
	} else if (version == 6) {
		/*
		 * Only the fixed header: the inner extension headers are the
		 * receiving stack's business, walking them here buys nothing.
		 */
		ip6 = c->inner;
		if ((void *)(ip6 + 1) > c->end)
			return cg_decap_verdict(c, CG_DECAP_STAT_DROP_MALFORMED);
		if (sizeof(*ip6) + bpf_ntohs(ip6->payload_len) != room)
			return cg_decap_verdict(c, CG_DECAP_STAT_DROP_MALFORMED);
		c->inner_ecn = (((__u8 *)ip6)[1] >> 4) & 3;
	} else {
		/* GUE variant 0 (a GUE header) or not IP: not ours to guess */
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_MALFORMED);
	}
	c->inner_v6 = version == 6;
	return CG_CONTINUE;
}

/*
 * ECN (RFC 6040): outer CE reaches an ECN-capable inner header (IPv4: the
 * checksum updated); a not-ECT inner packet under outer CE is dropped.
 */
static __always_inline int cg_decap_step_ecn(struct cg_decap_ctx *c)
{
	struct ipv6hdr *ip6 = c->inner;
	struct iphdr *ip = c->inner;
	__u16 old;
	__u32 sum;

	if (c->outer_ecn != 3 /* CE */ || c->inner_ecn == 3)
		return CG_CONTINUE;
	if (c->inner_ecn == 0)
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_ECN); /* the sender cannot hear CE */
	/* the inner step checked these headers; the checks here are the verifier's */
	if (c->inner_v6) {
		if ((void *)(ip6 + 1) > c->end)
			return cg_decap_verdict(c, CG_DECAP_STAT_DROP_ERROR);
		((__u8 *)ip6)[1] |= 0x30;
		return CG_CONTINUE;
	}
	if ((void *)(ip + 1) > c->end)
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_ERROR);
	/* IPv4: set CE in the TOS byte and update the checksum (RFC 1624 eqn. 3) */
	old = bpf_ntohs(*(__be16 *)ip);
	ip->tos |= 3;
	sum = (~bpf_ntohs(ip->check) & 0xffff) + (~old & 0xffff) + (old | 3);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = bpf_htons(~sum & 0xffff);
	return CG_CONTINUE;
}

/*
 * Strip: make the frame Ethernet + inner datagram: trim Ethernet padding,
 * move the head to the inner header minus an Ethernet header and write that
 * header (the MACs the frame arrived with). Passed, counted in the tunnel's
 * slot.
 */
static __always_inline int cg_decap_step_strip(struct cg_decap_ctx *c)
{
	struct ethhdr *eth = c->data;
	__u8 macs[12]; /* destination and source MAC */
	void *data, *end;
	__u32 pad;

	if ((void *)(eth + 1) > c->end)
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_ERROR);
	__builtin_memcpy(macs, eth, sizeof(macs));
	/* from len, a scalar: the verifier refuses 32-bit arithmetic on packet pointers */
	pad = c->len - c->outer_end;
	/* padding after the outer datagram would trail the inner one as garbage */
	if (pad && bpf_xdp_adjust_tail(c->xdp, -(int)pad) < 0)
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_ERROR);
	if (bpf_xdp_adjust_head(c->xdp, (int)(c->inner_off - sizeof(*eth))) < 0)
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_ERROR);

	data = (void *)(long)c->xdp->data;
	end = (void *)(long)c->xdp->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return cg_decap_verdict(c, CG_DECAP_STAT_DROP_ERROR);
	__builtin_memcpy(eth, macs, sizeof(macs));
	eth->h_proto = bpf_htons(c->inner_v6 ? CG_ETH_P_IPV6 : CG_ETH_P_IP);
	return cg_decap_verdict(c, c->tunnel);
}

/* Count: the single exit, every packet counted here once in its slot, per CPU. */
static __always_inline void cg_decap_count(const struct cg_decap_ctx *c)
{
	__u32 key = c->stat;
	struct cg_counter *cnt;

	cnt = bpf_map_lookup_elem(&decap_stats, &key);
	if (cnt) {
		/* per-CPU slot: no other writer, no atomics needed */
		cnt->packets++;
		cnt->bytes += c->len;
	}
}

/*
 * cg_decap - XDP entry: decapsulate tunnel packets for this host, pass all
 * else untouched; the steps in the order listed at the top of this file,
 * then the count. Returns XDP_PASS (decapsulated or not ours) or XDP_DROP
 * (broken tunnel packet), counted in decap_stats.
 */
SEC("xdp")
int cg_decap(struct xdp_md *ctx)
{
	struct cg_decap_ctx c; /* the entry sets what no step writes first */
	int act;

	c.xdp = ctx;
	c.data = (void *)(long)ctx->data;
	c.end = (void *)(long)ctx->data_end;
	c.len = c.end - c.data;
	act = cg_decap_step_outer(&c);
	if (act == CG_CONTINUE)
		act = cg_decap_step_gue(&c);
	if (act == CG_CONTINUE)
		act = cg_decap_step_local(&c);
	if (act == CG_CONTINUE)
		act = cg_decap_step_source(&c);
	if (act == CG_CONTINUE)
		act = cg_decap_step_bounds(&c);
	if (act == CG_CONTINUE)
		act = cg_decap_step_inner(&c);
	if (act == CG_CONTINUE)
		act = cg_decap_step_ecn(&c);
	if (act == CG_CONTINUE)
		act = cg_decap_step_strip(&c);
	cg_decap_count(&c);
	return act;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
