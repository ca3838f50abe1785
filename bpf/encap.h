/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* encap.h - outer headers towards a cell, and the ICMP 'too big' answer to a client */
#ifndef CG_BPF_ENCAP_H
#define CG_BPF_ENCAP_H

#include "parse.h"
#include "csum.h"

#define CG_OUTER_TTL 64
/*
 * Of the inner TOS / traffic class, only ECN goes to the outer header (the
 * cell's decap applies RFC 6040 to it); the outer DSCP is 0: the client's
 * DSCP never marks our traffic towards the cells.
 */
#define CG_ECN_MASK 0x03

/* cg_encap_overhead - bytes the outer headers add to the inner datagram (L2 not counted). */
static __always_inline __u32 cg_encap_overhead(const struct cg_cell *cell)
{
	return (cell->family == CG_AF_INET6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) +
	       (cell->encap == CG_ENCAP_GUE ? sizeof(struct udphdr) : 0);
}

/*
 * cg_encap - turn the received frame into [Ethernet (+ the cell's 802.1Q tag)]
 * [outer IPv4/IPv6][UDP if GUE][the inner datagram, byte for byte], addressed
 * from the LB (cfg) to the cell's gateway through its next hop. The source MAC
 * is the received frame's destination: ours, on the interface XDP_TX uses.
 * Received VLAN tags are removed. The outer DSCP is 0, the outer ECN the inner's
 * (CG_ECN_MASK). Ethernet padding of a short frame stays
 * after the inner datagram, outside the outer IP length, as padding again
 * (trimming it would cost a helper call on every small packet; receivers
 * trim to the IP length). hash is the flow hash:
 * it picks the GUE source port and the IPv6 flow label, for RSS and ECMP.
 * Returns 0, or -1 if the frame could not be resized (the caller drops).
 */
static __always_inline int cg_encap(struct xdp_md *ctx, const struct cg_pkt *pkt,
				    const struct cg_cell *cell, const struct cg_config *cfg,
				    __u32 hash)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 inner_len = pkt->l3_len;
	__u32 outer = cg_encap_overhead(cell);
	__u32 l2 = sizeof(struct ethhdr) + (cell->vlan ? sizeof(struct cg_vlan_hdr) : 0);
	__u8 inner_proto = pkt->key.family == CG_AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6;
	struct ethhdr *eth = data;
	__be16 *ethertype;
	__u8 smac[CG_ETH_ALEN];
	void *next;

	if ((void *)(eth + 1) > end)
		return -1;
	__builtin_memcpy(smac, eth->h_dest, CG_ETH_ALEN);

	if (bpf_xdp_adjust_head(ctx, (int)pkt->l3_off - (int)(l2 + outer)))
		return -1;

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return -1;
	__builtin_memcpy(eth->h_dest, cell->dmac, CG_ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, CG_ETH_ALEN);
	ethertype = &eth->h_proto;
	next = eth + 1;
	if (cell->vlan) {
		struct cg_vlan_hdr *vh = next;

		if ((void *)(vh + 1) > end)
			return -1;
		*ethertype = bpf_htons(CG_ETH_P_8021Q);
		vh->tci = cell->vlan;
		ethertype = &vh->proto;
		next = vh + 1;
	}

	if (cell->family == CG_AF_INET6) {
		struct ipv6hdr *ip6 = next;

		if ((void *)(ip6 + 1) > end)
			return -1;
		*ethertype = bpf_htons(CG_ETH_P_IPV6);
		*(__be32 *)ip6 = bpf_htonl((6U << 28) | ((__u32)(pkt->tos & CG_ECN_MASK) << 20) |
					   (hash & 0xfffff));
		ip6->payload_len = bpf_htons(outer - sizeof(*ip6) + inner_len);
		ip6->nexthdr = cell->encap == CG_ENCAP_GUE ? IPPROTO_UDP : inner_proto;
		ip6->hop_limit = CG_OUTER_TTL;
		cg_copy_addr(ip6->saddr.in6_u.u6_addr32, cfg->src6);
		cg_copy_addr(ip6->daddr.in6_u.u6_addr32, cell->gw);
		next = ip6 + 1;
	} else {
		struct iphdr *ip = next;

		if ((void *)(ip + 1) > end)
			return -1;
		*ethertype = bpf_htons(CG_ETH_P_IP);
		*(__u8 *)ip = 0x45;
		ip->tos = pkt->tos & CG_ECN_MASK;
		ip->tot_len = bpf_htons(outer + inner_len);
		ip->id = 0;
		ip->frag_off = bpf_htons(CG_IP_DF);
		ip->ttl = CG_OUTER_TTL;
		ip->protocol = cell->encap == CG_ENCAP_GUE ? IPPROTO_UDP : inner_proto;
		ip->check = 0;
		ip->saddr = cfg->src4;
		ip->daddr = cell->gw[0];
		ip->check = cg_ipv4_csum(ip);
		next = ip + 1;
	}

	if (cell->encap == CG_ENCAP_GUE) {
		struct udphdr *udp = next;

		if ((void *)(udp + 1) > end)
			return -1;
		udp->source = bpf_htons(CG_GUE_SPORT_BASE | (hash & CG_GUE_SPORT_MASK));
		udp->dest = cell->gue_port;
		udp->len = bpf_htons(sizeof(*udp) + inner_len);
		/* zero checksum: RFC 6935 allows it for tunnels over IPv6 too */
		udp->check = 0;
	}
	return 0;
}

/*
 * cg_reply_too_big - answer a packet that would not fit the path to its cell
 * once encapsulated: ICMP 'fragmentation needed' (IPv4) or ICMPv6 'packet too
 * big' back to the sender, from the VIP, quoting the first CG_ICMP_QUOTE bytes
 * of the datagram, with the L2 header of the received frame reversed (VLAN
 * tags kept). mtu is what the client may send. Returns 0 (send with XDP_TX)
 * or -1 (drop).
 */
static __always_inline int cg_reply_too_big(struct xdp_md *ctx, const struct cg_pkt *pkt, __u32 mtu)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 ip_len =
		pkt->key.family == CG_AF_INET6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	__u32 l3_off = pkt->l3_off;
	struct ethhdr *eth = data;
	__u8 l2[sizeof(struct ethhdr) + CG_MAX_VLAN_TAGS * sizeof(struct cg_vlan_hdr)];
	__u32 sum;
	void *l3;

	if (pkt->l3_len < CG_ICMP_QUOTE)
		return -1;
	if (data + sizeof(l2) > end)
		return -1;
	/* reversed L2 header: tags and ethertype as received */
	__builtin_memcpy(l2, eth->h_source, CG_ETH_ALEN);
	__builtin_memcpy(l2 + CG_ETH_ALEN, eth->h_dest, CG_ETH_ALEN);
	__builtin_memcpy(l2 + 2 * CG_ETH_ALEN, data + 2 * CG_ETH_ALEN,
			 sizeof(l2) - 2 * CG_ETH_ALEN);

	if (bpf_xdp_adjust_tail(ctx, (int)(l3_off + CG_ICMP_QUOTE) - (int)(end - data)))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)(ip_len + sizeof(struct icmphdr))))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;

	/* the L2 header is 14, 18 or 22 bytes: constant-size copies for the verifier */
	if (data + sizeof(l2) > end)
		return -1;
	if (l3_off == sizeof(struct ethhdr))
		__builtin_memcpy(data, l2, sizeof(struct ethhdr));
	else if (l3_off == sizeof(struct ethhdr) + sizeof(struct cg_vlan_hdr))
		__builtin_memcpy(data, l2, sizeof(struct ethhdr) + sizeof(struct cg_vlan_hdr));
	else
		__builtin_memcpy(data, l2, sizeof(l2));
	if (l3_off > sizeof(l2))
		return -1;
	l3 = data + l3_off;

	if (pkt->key.family == CG_AF_INET6) {
		struct ipv6hdr *ip6 = l3;
		struct icmp6hdr *icmp6 = (void *)(ip6 + 1);

		if ((void *)(icmp6 + 1) + CG_ICMP_QUOTE > end)
			return -1;
		*(__be32 *)ip6 = bpf_htonl(6U << 28);
		ip6->payload_len = bpf_htons(sizeof(*icmp6) + CG_ICMP_QUOTE);
		ip6->nexthdr = CG_IPPROTO_ICMPV6;
		ip6->hop_limit = CG_OUTER_TTL;
		cg_copy_addr(ip6->saddr.in6_u.u6_addr32, pkt->key.daddr);
		cg_copy_addr(ip6->daddr.in6_u.u6_addr32, pkt->key.saddr);
		icmp6->icmp6_type = 2; /* ICMPV6_PKT_TOOBIG */
		icmp6->icmp6_code = 0;
		icmp6->icmp6_cksum = 0;
		icmp6->icmp6_dataun.un_data32[0] = bpf_htonl(mtu);
		/* pseudo-header: addresses, upper-layer length, next header */
		sum = cg_addr_sum(pkt->key.daddr) + cg_addr_sum(pkt->key.saddr) +
		      bpf_htons(sizeof(*icmp6) + CG_ICMP_QUOTE) + bpf_htons(CG_IPPROTO_ICMPV6);
		sum = bpf_csum_diff(NULL, 0, (void *)icmp6, sizeof(*icmp6) + CG_ICMP_QUOTE, sum);
		icmp6->icmp6_cksum = cg_csum_fold(sum);
	} else {
		struct iphdr *ip = l3;
		struct icmphdr *icmp = (void *)(ip + 1);

		if ((void *)(icmp + 1) + CG_ICMP_QUOTE > end)
			return -1;
		*(__u8 *)ip = 0x45;
		ip->tos = 0;
		ip->tot_len = bpf_htons(sizeof(*ip) + sizeof(*icmp) + CG_ICMP_QUOTE);
		ip->id = 0;
		ip->frag_off = 0;
		ip->ttl = CG_OUTER_TTL;
		ip->protocol = IPPROTO_ICMP;
		ip->check = 0;
		ip->saddr = pkt->key.daddr[0];
		ip->daddr = pkt->key.saddr[0];
		ip->check = cg_ipv4_csum(ip);
		icmp->type = 3; /* ICMP_DEST_UNREACH */
		icmp->code = 4; /* ICMP_FRAG_NEEDED */
		icmp->checksum = 0;
		icmp->un.frag.__unused = 0;
		icmp->un.frag.mtu = bpf_htons(mtu);
		sum = bpf_csum_diff(NULL, 0, (void *)icmp, sizeof(*icmp) + CG_ICMP_QUOTE, 0);
		icmp->checksum = cg_csum_fold(sum);
	}
	return 0;
}

#endif /* CG_BPF_ENCAP_H */
