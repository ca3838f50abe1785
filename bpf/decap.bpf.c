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
 * Load-time knobs (set through skel->rodata before load; the verifier then
 * removes the code they turn off).
 */
const volatile __u16 gue_port = CG_GUE_DEFAULT_PORT; /* GUE outer UDP port, host order; 0: no GUE */
const volatile __u8 match_local = 0; /* 1: only outer destinations in local_addrs; 0: any */

#define CG_DECAP_MAX_LOCAL 64 /* addresses of one host: a handful, with room to spare */

#define DECAP_CONTINUE -1 /* a step's "no verdict yet, go on" */

/* Outer destinations this host decapsulates for, when match_local is set; value unused. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CG_DECAP_MAX_LOCAL);
	__type(key, struct cg_decap_addr);
	__type(value, __u8);
} local_addrs SEC(".maps");

/* Packets and bytes (frame as received) per enum cg_decap_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CG_DECAP_STAT_MAX);
	__type(key, __u32);
	__type(value, struct cg_counter);
} decap_stats SEC(".maps");

/* What the outer headers said, for the later steps. */
struct decap_info {
	void *inner;	 /* the inner IP header (unchecked: decap_inner() checks it) */
	__u32 inner_off; /* its offset from data: the bytes to strip, Ethernet aside */
	__u32 outer_end; /* offset just past the outer datagram: what follows is padding */
	__u8 proto;	 /* 4 or 41 for IPIP, 0 for GUE (the version nibble decides) */
	__u8 outer_ecn;	 /* ECN bits of the outer header */
	__u8 inner_v6;	 /* 1: the inner datagram is IPv6 */
	__u8 stat;	 /* slot to count if decapsulation succeeds */
};

static __always_inline int is_tunnel_proto(int proto)
{
	return proto == IPPROTO_IPIP || proto == IPPROTO_IPV6 || proto == IPPROTO_UDP;
}

/*
 * decap_outer - recognise a tunnel packet for this host and note where its
 * inner datagram is. Returns a stat slot (a verdict) or DECAP_CONTINUE.
 */
static __always_inline int decap_outer(void *data, void *end, __u32 len, struct decap_info *di)
{
	struct cg_cursor cur = { .pos = data };
	struct cg_decap_addr dst = {};
	struct ipv6hdr *ip6;
	struct udphdr *udp;
	struct iphdr *ip;
	__u32 nvlan, udp_off = 0, udp_len = 0;
	__u8 frag;
	int proto;

	proto = cg_parse_l2(&cur, end, &nvlan);
	if (proto == CG_ETH_P_IP) {
		proto = cg_parse_ipv4(&cur, end, &ip);
		if (proto < 0 || !is_tunnel_proto(proto))
			return CG_DECAP_STAT_PASS;
		if (bpf_ntohs(ip->frag_off) & (CG_IP_MF | CG_IP_OFFSET))
			return CG_DECAP_STAT_PASS_FRAG;
		di->outer_end = ((void *)ip - data) + bpf_ntohs(ip->tot_len);
		di->outer_ecn = ip->tos & 3;
		di->stat = CG_DECAP_STAT_IPIP4;
		dst.addr[0] = ip->daddr;
		dst.family = CG_AF_INET;
	} else if (proto == CG_ETH_P_IPV6) {
		/* -2, a chain longer than the parser walks, is passed like any stranger */
		proto = cg_parse_ipv6(&cur, end, &ip6, &frag);
		if (proto < 0 || !is_tunnel_proto(proto))
			return CG_DECAP_STAT_PASS;
		if (frag != CG_FRAG_NONE)
			return CG_DECAP_STAT_PASS_FRAG;
		di->outer_end = ((void *)ip6 - data) + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		di->outer_ecn = (((__u8 *)ip6)[1] >> 4) & 3;
		di->stat = CG_DECAP_STAT_IPIP6;
		cg_copy_addr(dst.addr, ip6->daddr.in6_u.u6_addr32);
		dst.family = CG_AF_INET6;
	} else {
		return CG_DECAP_STAT_PASS;
	}

	di->proto = proto;
	if (proto == IPPROTO_UDP) {
		if (cg_parse_udp(&cur, end, &udp) < 0)
			return CG_DECAP_STAT_PASS;
		if (!gue_port || udp->dest != bpf_htons(gue_port))
			return CG_DECAP_STAT_PASS;
		udp_off = (void *)udp - data;
		udp_len = bpf_ntohs(udp->len);
		di->proto = 0;
		di->stat = CG_DECAP_STAT_GUE;
	}
	if (match_local && !bpf_map_lookup_elem(&local_addrs, &dst))
		return CG_DECAP_STAT_PASS_NOT_LOCAL;

	/* from here on the packet is ours: whatever does not add up is dropped */
	if (di->outer_end > len)
		return CG_DECAP_STAT_DROP_MALFORMED;
	di->inner = cur.pos;
	di->inner_off = cur.pos - data;
	if (di->inner_off > di->outer_end)
		return CG_DECAP_STAT_DROP_MALFORMED; /* IPv6 extension headers ran past the end */
	if (proto == IPPROTO_UDP && udp_len != di->outer_end - udp_off)
		return CG_DECAP_STAT_DROP_MALFORMED;
	return DECAP_CONTINUE;
}

/*
 * decap_inner - check that the inner datagram is whole and fills the outer
 * one exactly, and carry outer CE over to it. Returns a stat slot or
 * DECAP_CONTINUE.
 */
static __always_inline int decap_inner(void *end, struct decap_info *di)
{
	struct cg_cursor cur = { .pos = di->inner };
	__u32 room = di->outer_end - di->inner_off;
	__u8 *vp = di->inner;
	struct ipv6hdr *ip6;
	struct iphdr *ip;
	__u8 version, ecn;
	__u16 old;
	__u32 sum;

	if ((void *)(vp + 1) > end)
		return CG_DECAP_STAT_DROP_MALFORMED;
	version = *vp >> 4;
	if ((di->proto == IPPROTO_IPIP && version != 4) ||
	    (di->proto == IPPROTO_IPV6 && version != 6))
		return CG_DECAP_STAT_DROP_MALFORMED;

	if (version == 4) {
		if (cg_parse_ipv4(&cur, end, &ip) < 0)
			return CG_DECAP_STAT_DROP_MALFORMED;
		if (bpf_ntohs(ip->tot_len) != room)
			return CG_DECAP_STAT_DROP_MALFORMED;
		ecn = ip->tos & 3;
	} else if (version == 6) {
		/*
		 * Only the fixed header: the inner extension headers are the
		 * receiving stack's business, walking them here buys nothing.
		 */
		ip6 = di->inner;
		if ((void *)(ip6 + 1) > end)
			return CG_DECAP_STAT_DROP_MALFORMED;
		if (sizeof(*ip6) + bpf_ntohs(ip6->payload_len) != room)
			return CG_DECAP_STAT_DROP_MALFORMED;
		ecn = (((__u8 *)ip6)[1] >> 4) & 3;
	} else {
		/* GUE variant 0 (a GUE header) or not IP: not ours to guess */
		return CG_DECAP_STAT_DROP_MALFORMED;
	}
	di->inner_v6 = version == 6;

	if (di->outer_ecn != 3 /* CE */ || ecn == 3)
		return DECAP_CONTINUE;
	if (ecn == 0)
		return CG_DECAP_STAT_DROP_ECN; /* the sender cannot hear CE: drop is the signal */
	if (version == 6) {
		ip6 = di->inner;
		if ((void *)(ip6 + 1) > end)
			return CG_DECAP_STAT_DROP_ERROR;
		((__u8 *)ip6)[1] |= 0x30;
		return DECAP_CONTINUE;
	}
	/* IPv4: set CE in the TOS byte and update the checksum (RFC 1624 eqn. 3) */
	old = bpf_ntohs(*(__be16 *)ip);
	ip->tos |= 3;
	sum = (~bpf_ntohs(ip->check) & 0xffff) + (~old & 0xffff) + (old | 3);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = bpf_htons(~sum & 0xffff);
	return DECAP_CONTINUE;
}

/*
 * decap_strip - make the frame (len bytes) Ethernet + inner datagram: trim
 * Ethernet padding, move the head to the inner header minus an Ethernet
 * header and write that header. Returns the success slot, or
 * CG_DECAP_STAT_DROP_ERROR.
 */
static __always_inline int decap_strip(struct xdp_md *ctx, __u32 len, struct decap_info *di)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 macs[12]; /* destination and source MAC */
	__u32 pad;

	if ((void *)(eth + 1) > end)
		return CG_DECAP_STAT_DROP_ERROR;
	__builtin_memcpy(macs, eth, sizeof(macs));
	/* from len, a scalar: the verifier refuses 32-bit arithmetic on packet pointers */
	pad = len - di->outer_end;
	/* padding after the outer datagram would trail the inner one as garbage */
	if (pad && bpf_xdp_adjust_tail(ctx, -(int)pad) < 0)
		return CG_DECAP_STAT_DROP_ERROR;
	if (bpf_xdp_adjust_head(ctx, (int)(di->inner_off - sizeof(*eth))) < 0)
		return CG_DECAP_STAT_DROP_ERROR;

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return CG_DECAP_STAT_DROP_ERROR;
	__builtin_memcpy(eth, macs, sizeof(macs));
	eth->h_proto = bpf_htons(di->inner_v6 ? CG_ETH_P_IPV6 : CG_ETH_P_IP);
	return di->stat;
}

/* decap_verdict - count the packet in its slot; its verdict. */
static __always_inline int decap_verdict(int stat, __u32 len)
{
	__u32 key = stat;
	struct cg_counter *c;

	c = bpf_map_lookup_elem(&decap_stats, &key);
	if (c) {
		/* per-CPU slot: no other writer, no atomics needed */
		c->packets++;
		c->bytes += len;
	}
	switch (stat) {
	case CG_DECAP_STAT_DROP_MALFORMED:
	case CG_DECAP_STAT_DROP_ECN:
	case CG_DECAP_STAT_DROP_ERROR:
		return XDP_DROP;
	}
	return XDP_PASS;
}

/*
 * cg_decap - XDP entry: decapsulate tunnel packets for this host, pass all
 * else untouched. Returns XDP_PASS (decapsulated or not ours) or XDP_DROP
 * (broken tunnel packet), counted in decap_stats.
 */
SEC("xdp")
int cg_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct decap_info di = {};
	__u32 len = end - data;
	int stat;

	stat = decap_outer(data, end, len, &di);
	if (stat == DECAP_CONTINUE)
		stat = decap_inner(end, &di);
	if (stat == DECAP_CONTINUE)
		stat = decap_strip(ctx, len, &di);
	return decap_verdict(stat, len);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
