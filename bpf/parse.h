/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* parse.h - the one bounded packet parser shared by every cellgate program */
#ifndef CG_BPF_PARSE_H
#define CG_BPF_PARSE_H

#include "cellgate/abi/consts.h"
#include "cellgate/abi/structs.h"
#include "cellgate/abi/hash.h"

/* What a step of a packet path (router.h, decap.bpf.c) returns if it has no verdict: go on. */
#define CG_CONTINUE -1

/*
 * Contract of every cg_parse_*() header helper: cur->pos points at the header
 * to parse and end is ctx->data_end. On success the helper advances cur->pos
 * past the header and returns the next protocol (an ethertype in host order
 * after L2, an IPPROTO_* after L3) or 0 where there is none. If the header
 * does not fit in [pos, end) or is invalid it returns -1 and cur->pos is
 * unspecified. No helper loops without a constant bound.
 */
struct cg_cursor {
	void *pos;
};

#define CG_ETH_ALEN	  6
#define CG_IPPROTO_ICMPV6 58 /* an enum value vmlinux.h may lack */
#define CG_ETH_P_IP	  0x0800
#define CG_ETH_P_IPV6	  0x86DD
#define CG_ETH_P_8021Q	  0x8100
#define CG_ETH_P_8021AD	  0x88A8

/* IPv6 extension headers (linux/ipv6.h NEXTHDR_*; macros are not in vmlinux.h) */
#define CG_NEXTHDR_HOP	    0
#define CG_NEXTHDR_ROUTING  43
#define CG_NEXTHDR_FRAGMENT 44
#define CG_NEXTHDR_AUTH	    51
#define CG_NEXTHDR_DEST	    60

#define CG_IP_DF     0x4000
#define CG_IP_MF     0x2000
#define CG_IP_OFFSET 0x1fff

/* enum values of struct cg_pkt.frag */
#define CG_FRAG_NONE  0
#define CG_FRAG_FIRST 1 /* offset 0, more fragments follow: L4 header present */
#define CG_FRAG_LATER 2 /* offset > 0: no L4 header */

struct cg_vlan_hdr {
	__be16 tci;
	__be16 proto; /* encapsulated ethertype */
};

struct cg_ip6_opt {
	__u8 nexthdr;
	__u8 len; /* in 8-byte units, not counting the first 8 (AH: 4-byte units - 2) */
};

struct cg_ip6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M flag */
	__be32 id;
};

/* Result of cg_parse_flow(): what the packet is, from the router's view. */
enum cg_parse_res {
	CG_PARSE_OK = 0,    /* key holds a TCP/UDP flow (or the flow an ICMP error is about) */
	CG_PARSE_NOT_IP,    /* not IPv4/IPv6: pass */
	CG_PARSE_L4_OTHER,  /* IP, but nothing cellgate routes: pass */
	CG_PARSE_V6_EXT,    /* IPv6 extension chain longer than CG_MAX_IPV6_EXT: pass */
	CG_PARSE_MALFORMED, /* truncated or invalid: drop */
	CG_PARSE_NOT_VIP,   /* to an address the VIP pre-filter rules out: pass */
	CG_PARSE_L2_GROUP,  /* to a VIP in a broadcast/multicast Ethernet frame: drop */
	CG_PARSE_MARTIAN,   /* to a VIP from a source no client can have: drop */
	CG_PARSE_PORT_ZERO, /* TCP/UDP to port 0, the fragment alias's port: drop */
};

/* Parser output for the router. */
struct cg_pkt {
	struct cg_flow_key key; /* the flow, as the client sent it */
	__u32 l3_off;		/* offset of the IP header from data */
	__u32 l3_len;		/* IP datagram length from its header (IPv6: 40 + payload) */
	__u8 tos;		/* IPv4 TOS / IPv6 traffic class (DSCP and ECN) */
	__u8 frag;		/* CG_FRAG_* */
	__u8 df;		/* 1: the sender forbids fragmentation (IPv4 DF, always for IPv6) */
	__u8 icmp_err;		/* 1: an ICMP error quoting a packet of flow key */
	__u8 tcp_flags;		/* byte 13 of the TCP header, 0 otherwise */
	__u8 pad;
	__u16 vlan; /* VLAN id (host order) of the outer tag; 0: untagged or priority-tagged */
};

/*
 * cg_parse_l2 - Ethernet and up to CG_MAX_VLAN_TAGS tags; *nvlan gets their
 * count and *vid the VLAN id of the outer one (0 if none).
 */
static __always_inline int cg_parse_l2(struct cg_cursor *cur, void *end, __u32 *nvlan, __u16 *vid)
{
	struct ethhdr *eth = cur->pos;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > end)
		return -1;
	proto = bpf_ntohs(eth->h_proto);
	cur->pos = eth + 1;
	*nvlan = 0;
	*vid = 0;
#pragma unroll
	for (i = 0; i < CG_MAX_VLAN_TAGS; i++) {
		struct cg_vlan_hdr *vh = cur->pos;

		if (proto != CG_ETH_P_8021Q && proto != CG_ETH_P_8021AD)
			break;
		if ((void *)(vh + 1) > end)
			return -1;
		proto = bpf_ntohs(vh->proto);
		if (i == 0)
			*vid = bpf_ntohs(vh->tci) & 0x0fff;
		cur->pos = vh + 1;
		*nvlan = i + 1;
	}
	/* a third tag is more than we parse: treat the frame as not ours */
	if (proto == CG_ETH_P_8021Q || proto == CG_ETH_P_8021AD)
		return 0;
	return proto;
}

/*
 * cg_parse_ipv4 - an IPv4 header with any IHL. Checks version, IHL >= 5 and
 * that the total length covers the header; *iph points at it on success.
 */
static __always_inline int cg_parse_ipv4(struct cg_cursor *cur, void *end, struct iphdr **iph)
{
	struct iphdr *ip = cur->pos;
	__u32 hlen;

	if ((void *)(ip + 1) > end)
		return -1;
	if ((*(__u8 *)ip >> 4) != 4)
		return -1;
	hlen = (*(__u8 *)ip & 0x0f) * 4;
	if (hlen < sizeof(*ip) || bpf_ntohs(ip->tot_len) < hlen)
		return -1;
	if ((void *)ip + hlen > end)
		return -1;
	cur->pos = (void *)ip + hlen;
	*iph = ip;
	return ip->protocol;
}

/*
 * cg_parse_ipv6 - an IPv6 header and its extension headers (hop-by-hop,
 * routing, destination options, fragment, AH), at most CG_MAX_IPV6_EXT of
 * them. *frag gets CG_FRAG_*. Returns the upper-layer protocol, -1 if
 * malformed, -2 if the chain is longer than the bound.
 */
static __always_inline int cg_parse_ipv6(struct cg_cursor *cur, void *end, struct ipv6hdr **ip6h,
					 __u8 *frag)
{
	struct ipv6hdr *ip6 = cur->pos;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > end)
		return -1;
	if ((*(__u8 *)ip6 >> 4) != 6)
		return -1;
	*ip6h = ip6;
	*frag = CG_FRAG_NONE;
	nh = ip6->nexthdr;
	cur->pos = ip6 + 1;
#pragma unroll
	for (i = 0; i < CG_MAX_IPV6_EXT; i++) {
		struct cg_ip6_opt *opt = cur->pos;
		struct cg_ip6_frag *fh = cur->pos;
		__u16 off;

		switch (nh) {
		case CG_NEXTHDR_HOP:
		case CG_NEXTHDR_ROUTING:
		case CG_NEXTHDR_DEST:
			if ((void *)(opt + 1) > end)
				return -1;
			nh = opt->nexthdr;
			cur->pos += (opt->len + 1) * 8;
			break;
		case CG_NEXTHDR_AUTH:
			if ((void *)(opt + 1) > end)
				return -1;
			nh = opt->nexthdr;
			cur->pos += (opt->len + 2) * 4;
			break;
		case CG_NEXTHDR_FRAGMENT:
			if ((void *)(fh + 1) > end)
				return -1;
			nh = fh->nexthdr;
			off = bpf_ntohs(fh->frag_off);
			if (off & 0xfff8)
				*frag = CG_FRAG_LATER;
			else if (off & 1)
				*frag = CG_FRAG_FIRST;
			/* offset 0 and no M flag: an atomic fragment, a whole datagram */
			cur->pos = fh + 1;
			break;
		default:
			return nh;
		}
	}
	switch (nh) {
	case CG_NEXTHDR_HOP:
	case CG_NEXTHDR_ROUTING:
	case CG_NEXTHDR_DEST:
	case CG_NEXTHDR_AUTH:
	case CG_NEXTHDR_FRAGMENT:
		return -2;
	}
	return nh;
}

/* cg_parse_udp - a UDP header; returns 0. */
static __always_inline int cg_parse_udp(struct cg_cursor *cur, void *end, struct udphdr **udph)
{
	struct udphdr *udp = cur->pos;

	if ((void *)(udp + 1) > end)
		return -1;
	cur->pos = udp + 1;
	*udph = udp;
	return 0;
}

#define CG_TH_FIN  0x01
#define CG_TH_SYN  0x02
#define CG_TH_RST  0x04
#define CG_TH_PSH  0x08
#define CG_TH_URG  0x20
#define CG_TH_XMAS (CG_TH_FIN | CG_TH_PSH | CG_TH_URG)

/*
 * Flag sets no TCP stack sends, only scanners and evasion tools: SYN with RST
 * or FIN, none of FIN/SYN/RST/PSH/ACK/URG (a null scan), FIN+PSH+URG (xmas).
 */
static __always_inline int cg_tcp_flags_bad(__u8 f)
{
	return (f & (CG_TH_SYN | CG_TH_RST)) == (CG_TH_SYN | CG_TH_RST) ||
	       (f & (CG_TH_SYN | CG_TH_FIN)) == (CG_TH_SYN | CG_TH_FIN) || !(f & 0x3f) ||
	       (f & CG_TH_XMAS) == CG_TH_XMAS;
}

/*
 * cg_parse_tcp - a TCP header; checks data offset >= 5 and that the options
 * it announces are in the frame (not walked), and the flags (cg_tcp_flags_bad);
 * cur->pos ends past the options. Returns 0.
 */
static __always_inline int cg_parse_tcp(struct cg_cursor *cur, void *end, struct tcphdr **tcph)
{
	struct tcphdr *tcp = cur->pos;
	__u32 hlen;

	if ((void *)(tcp + 1) > end)
		return -1;
	hlen = (((__u8 *)tcp)[12] >> 4) * 4;
	if (hlen < sizeof(*tcp) || (void *)tcp + hlen > end)
		return -1;
	if (cg_tcp_flags_bad(((__u8 *)tcp)[13]))
		return -1;
	cur->pos = (void *)tcp + hlen;
	*tcph = tcp;
	return 0;
}

static __always_inline void cg_copy_addr(__be32 *dst, const __be32 *src)
{
	dst[0] = src[0];
	dst[1] = src[1];
	dst[2] = src[2];
	dst[3] = src[3];
}

/*
 * Ports of a quoted transport header inside an ICMP error: the packet went
 * from the VIP to the client, so the flow's source is the quoted destination.
 */
static __always_inline int cg_parse_quoted_ports(struct cg_cursor *cur, void *end,
						 struct cg_flow_key *key, __u8 proto)
{
	__be16 *ports = cur->pos;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return CG_PARSE_L4_OTHER;
	if ((void *)(ports + 2) > end)
		return CG_PARSE_MALFORMED;
	/* past the ports: cg_parse_flow checks they lie inside the error's datagram */
	cur->pos = ports + 2;
	key->sport = ports[1];
	key->dport = ports[0];
	key->proto = proto;
	return CG_PARSE_OK;
}

/* ICMPv4 destination unreachable / time exceeded: the flow of the quoted packet. */
static __always_inline int cg_parse_icmp4(struct cg_cursor *cur, void *end, struct cg_pkt *pkt)
{
	struct icmphdr *icmp = cur->pos;
	struct iphdr *q;
	int proto;

	if ((void *)(icmp + 1) > end)
		return CG_PARSE_MALFORMED;
	if (icmp->type != 3 /* ICMP_DEST_UNREACH */ && icmp->type != 11 /* ICMP_TIME_EXCEEDED */)
		return CG_PARSE_L4_OTHER;
	cur->pos = icmp + 1;
	proto = cg_parse_ipv4(cur, end, &q);
	if (proto < 0)
		return CG_PARSE_MALFORMED;
	if (bpf_ntohs(q->frag_off) & CG_IP_OFFSET)
		return CG_PARSE_L4_OTHER; /* quotes a later fragment: no ports to find the flow */
	pkt->key.saddr[0] = q->daddr;
	pkt->key.daddr[0] = q->saddr;
	pkt->icmp_err = 1;
	return cg_parse_quoted_ports(cur, end, &pkt->key, proto);
}

/* ICMPv6 destination unreachable / packet too big / time exceeded. */
static __always_inline int cg_parse_icmp6(struct cg_cursor *cur, void *end, struct cg_pkt *pkt)
{
	struct icmp6hdr *icmp6 = cur->pos;
	struct ipv6hdr *q;

	if ((void *)(icmp6 + 1) > end)
		return CG_PARSE_MALFORMED;
	if (icmp6->icmp6_type < 1 || icmp6->icmp6_type > 3)
		return CG_PARSE_L4_OTHER; /* echo, neighbour discovery, ...: the kernel's */
	q = (void *)(icmp6 + 1);
	if ((void *)(q + 1) > end)
		return CG_PARSE_MALFORMED;
	cur->pos = q + 1;
	cg_copy_addr(pkt->key.saddr, q->daddr.in6_u.u6_addr32);
	cg_copy_addr(pkt->key.daddr, q->saddr.in6_u.u6_addr32);
	pkt->icmp_err = 1;
	/* quoted extension headers are not walked: such errors are passed */
	return cg_parse_quoted_ports(cur, end, &pkt->key, q->nexthdr);
}

/* Ports of the packet's own TCP/UDP header, or of the flow an ICMP error is about. */
static __always_inline int cg_parse_l4(struct cg_cursor *cur, void *end, struct cg_pkt *pkt,
				       int proto)
{
	struct tcphdr *tcp;
	struct udphdr *udp;

	if (pkt->frag != CG_FRAG_NONE) {
		/*
		 * Fragments: later ones carry no ports, so every fragment of a
		 * datagram, first included, hashes on addresses and protocol.
		 */
		if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
			return CG_PARSE_L4_OTHER;
		pkt->key.proto = proto;
		return CG_PARSE_OK;
	}
	switch (proto) {
	case IPPROTO_TCP:
		if (cg_parse_tcp(cur, end, &tcp) < 0)
			return CG_PARSE_MALFORMED;
		pkt->key.sport = tcp->source;
		pkt->key.dport = tcp->dest;
		pkt->tcp_flags = ((__u8 *)tcp)[13];
		break;
	case IPPROTO_UDP:
		if (cg_parse_udp(cur, end, &udp) < 0)
			return CG_PARSE_MALFORMED;
		pkt->key.sport = udp->source;
		pkt->key.dport = udp->dest;
		break;
	case IPPROTO_ICMP:
		if (pkt->key.family != CG_AF_INET)
			return CG_PARSE_L4_OTHER;
		return cg_parse_icmp4(cur, end, pkt);
	case CG_IPPROTO_ICMPV6:
		if (pkt->key.family != CG_AF_INET6)
			return CG_PARSE_L4_OTHER;
		return cg_parse_icmp6(cur, end, pkt);
	default:
		return CG_PARSE_L4_OTHER;
	}
	pkt->key.proto = proto;
	return CG_PARSE_OK;
}

/*
 * A source no client of a VIP can have: IPv4 0/8, loopback 127/8, multicast,
 * reserved and broadcast (224/3); IPv6 unspecified ::, loopback ::1,
 * multicast ff00::/8; in both the destination itself (the VIP). Not a
 * bogon list: private and documentation ranges are real clients somewhere.
 */
static __always_inline int cg_martian(const struct cg_flow_key *k)
{
	const __u8 *s = (const __u8 *)k->saddr;

	if (k->family == CG_AF_INET)
		return s[0] == 0 || s[0] == 127 || s[0] >= 224 || k->saddr[0] == k->daddr[0];
	if (s[0] == 0xff)
		return 1;
	if (!k->saddr[0] && !k->saddr[1] && !k->saddr[2] &&
	    (!k->saddr[3] || k->saddr[3] == bpf_htonl(1)))
		return 1;
	return k->saddr[0] == k->daddr[0] && k->saddr[1] == k->daddr[1] &&
	       k->saddr[2] == k->daddr[2] && k->saddr[3] == k->daddr[3];
}

/*
 * cg_parse_flow - parse a frame for the router: L2, L3 and the flow key.
 * pkt must be zeroed by the caller. If vf is not NULL, a packet whose
 * destination's bucket is clear in it is CG_PARSE_NOT_VIP as soon as its IP
 * header is read: traffic to no service costs no more parsing. Then, in this
 * order, a group-addressed frame, a martian source (cg_martian), a datagram
 * cut short or with impossible headers, TCP/UDP to port 0. Returns enum
 * cg_parse_res. On CG_PARSE_OK the IP datagram [l3_off, l3_off + l3_len) is
 * wholly inside the frame (trailing Ethernet padding may follow it).
 */
static __always_inline int cg_parse_flow(void *data, void *end, struct cg_pkt *pkt,
					 const struct cg_vip_filter *vf)
{
	struct cg_cursor cur = { .pos = data };
	struct ipv6hdr *ip6;
	struct iphdr *ip;
	__u32 nvlan;
	int proto, res;

	proto = cg_parse_l2(&cur, end, &nvlan, &pkt->vlan);
	if (proto < 0)
		return CG_PARSE_MALFORMED;
	pkt->l3_off = cur.pos - data;

	if (proto == CG_ETH_P_IP) {
		__u16 frag_off;

		proto = cg_parse_ipv4(&cur, end, &ip);
		if (proto < 0)
			return CG_PARSE_MALFORMED;
		pkt->key.family = CG_AF_INET;
		pkt->key.saddr[0] = ip->saddr;
		pkt->key.daddr[0] = ip->daddr;
		pkt->l3_len = bpf_ntohs(ip->tot_len);
		pkt->tos = ip->tos;
		frag_off = bpf_ntohs(ip->frag_off);
		pkt->df = !!(frag_off & CG_IP_DF);
		if (frag_off & CG_IP_OFFSET)
			pkt->frag = CG_FRAG_LATER;
		else if (frag_off & CG_IP_MF)
			pkt->frag = CG_FRAG_FIRST;
	} else if (proto == CG_ETH_P_IPV6) {
		proto = cg_parse_ipv6(&cur, end, &ip6, &pkt->frag);
		if (proto == -2)
			return CG_PARSE_V6_EXT;
		if (proto < 0)
			return CG_PARSE_MALFORMED;
		pkt->key.family = CG_AF_INET6;
		cg_copy_addr(pkt->key.saddr, ip6->saddr.in6_u.u6_addr32);
		cg_copy_addr(pkt->key.daddr, ip6->daddr.in6_u.u6_addr32);
		/* a zero payload length means a jumbogram: not on a 1500-byte path */
		if (!ip6->payload_len)
			return CG_PARSE_MALFORMED;
		pkt->l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		pkt->tos = (bpf_ntohs(*(__be16 *)ip6) >> 4) & 0xff;
		pkt->df = 1;
	} else {
		return CG_PARSE_NOT_IP;
	}
	if (vf) {
		__u32 b = cg_vip_bucket(pkt->key.daddr, pkt->key.family);

		if (!(vf->bits[b / 64] & (1ULL << (b % 64))))
			return CG_PARSE_NOT_VIP;
	}
	/* the encap would send our group address as its source MAC: never forwarded */
	if (*(__u8 *)data & 1)
		return CG_PARSE_L2_GROUP;
	if (cg_martian(&pkt->key))
		return CG_PARSE_MARTIAN;
	/* the datagram must be whole: a truncated one is never forwarded */
	if (data + pkt->l3_off + pkt->l3_len > end)
		return CG_PARSE_MALFORMED;
	res = cg_parse_l4(&cur, end, pkt, proto);
	/*
	 * The headers walked (an ICMP error's quoted header and ports included)
	 * must lie inside the datagram, not in Ethernet padding.
	 */
	if ((res == CG_PARSE_OK || pkt->icmp_err) && cur.pos > data + pkt->l3_off + pkt->l3_len)
		return CG_PARSE_MALFORMED;
	/* port 0 is no service's: its key is the fragment alias of the VIP */
	if (res == CG_PARSE_OK && pkt->frag == CG_FRAG_NONE && !pkt->key.dport)
		return CG_PARSE_PORT_ZERO;
	return res;
}

#endif /* CG_BPF_PARSE_H */
