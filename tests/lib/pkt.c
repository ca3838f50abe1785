/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* pkt.c - packet builder for the tests: input frames and the exact frames cellgate must output */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "cellgate/abi/consts.h"
#include "pkt.h"

#define IPV4_HLEN     20
#define IPV6_HLEN     40
#define IPV6_EXT_LEN  8 /* every extension header we build is 8 bytes */
#define TCP_HLEN      20
#define UDP_HLEN      8
#define ICMP_HLEN     8
#define ICMP6_MIN_MTU 1280 /* an ICMPv6 error must fit in it (RFC 4443 2.4) */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint64_t csum_add(uint64_t sum, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8; /* odd length: pad with a zero byte */
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

uint16_t tpkt_csum(const void *buf, size_t len)
{
	return csum_fold(csum_add(0, buf, len));
}

uint16_t tpkt_ipv4_csum(const void *hdr, size_t hlen)
{
	return tpkt_csum(hdr, hlen);
}

uint16_t tpkt_l4_csum(int family, const void *saddr, const void *daddr, uint8_t proto,
		      const void *seg, size_t len)
{
	size_t alen = family == 6 ? 16 : 4;
	uint64_t sum = 0;
	uint8_t tail[8];

	sum = csum_add(sum, saddr, alen);
	sum = csum_add(sum, daddr, alen);
	if (family == 6) {
		/* RFC 8200 8.1: 32-bit length, 3 zero bytes, next header */
		put32(tail, len);
		memset(tail + 4, 0, 3);
		tail[7] = proto;
		sum = csum_add(sum, tail, 8);
	} else {
		tail[0] = 0;
		tail[1] = proto;
		put16(tail + 2, len);
		sum = csum_add(sum, tail, 4);
	}
	return csum_fold(csum_add(sum, seg, len));
}

uint16_t tpkt_icmpv6_csum(const void *saddr, const void *daddr, const void *msg, size_t len)
{
	return tpkt_l4_csum(6, saddr, daddr, IPPROTO_ICMPV6, msg, len);
}

uint8_t tpkt_pattern(size_t i)
{
	/* not constant and not a plain counter, so shifted bytes show up in a diff */
	return (uint8_t)(i * 7 + 0x31);
}

size_t tpkt_l3_off(const struct tpkt *p)
{
	return TPKT_ETH_HLEN + (size_t)p->nvlan * TPKT_VLAN_HLEN;
}

/* Parse the addresses of p into 4- or 16-byte network-order buffers. */
static int parse_addrs(int family, const char *src, const char *dst, uint8_t *s, uint8_t *d)
{
	int af = family == 4 ? AF_INET : family == 6 ? AF_INET6 : -1;

	if (af < 0 || !src || !dst)
		return -EINVAL;
	if (inet_pton(af, src, s) != 1 || inet_pton(af, dst, d) != 1)
		return -EINVAL;
	return 0;
}

static int has_ext(const struct tpkt *p, uint8_t type)
{
	int i;

	for (i = 0; i < p->n_ext; i++)
		if (p->ext[i] == type)
			return 1;
	return 0;
}

/* Number of IPv6 extension headers built for p: the listed ones, plus a fragment header. */
static int n_ext_built(const struct tpkt *p)
{
	return p->n_ext + (p->frag != TPKT_FRAG_NONE && !has_ext(p, IPPROTO_FRAGMENT));
}

/* Bytes after the IP header(s): the L4 header and payload, or the raw bytes. */
static size_t l4_len(const struct tpkt *p)
{
	if (p->raw)
		return p->raw_len;
	if (p->frag == TPKT_FRAG_LATER)
		return p->payload_len;
	switch (p->proto) {
	case IPPROTO_TCP:
		return TCP_HLEN + p->payload_len;
	case IPPROTO_UDP:
		return UDP_HLEN + p->payload_len;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return ICMP_HLEN + p->payload_len;
	default:
		return p->payload_len;
	}
}

/* Write the L4 header, payload and checksum of p at seg (len bytes, zeroed). */
static void put_l4(const struct tpkt *p, const uint8_t *s, const uint8_t *d, uint8_t *seg,
		   size_t len)
{
	size_t hlen = len - p->payload_len;
	uint16_t sum;
	size_t i;

	for (i = 0; i < p->payload_len; i++)
		seg[hlen + i] = tpkt_pattern(i);
	if (p->frag == TPKT_FRAG_LATER)
		return;
	switch (p->proto) {
	case IPPROTO_TCP:
		put16(seg, p->sport);
		put16(seg + 2, p->dport);
		put32(seg + 4, 1);			       /* sequence number */
		put32(seg + 8, (p->tcp_flags & 0x10) ? 1 : 0); /* ack number if ACK */
		seg[12] = (TCP_HLEN / 4) << 4;
		seg[13] = p->tcp_flags;
		put16(seg + 14, 0xfaf0); /* window */
		put16(seg + 16, tpkt_l4_csum(p->family, s, d, IPPROTO_TCP, seg, len));
		break;
	case IPPROTO_UDP:
		put16(seg, p->sport);
		put16(seg + 2, p->dport);
		put16(seg + 4, len);
		sum = tpkt_l4_csum(p->family, s, d, IPPROTO_UDP, seg, len);
		put16(seg + 6, sum ? sum : 0xffff);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		seg[0] = p->family == 6 ? 128 : 8; /* echo request */
		put16(seg + 4, p->sport);
		put16(seg + 6, 1);
		if (p->family == 6)
			sum = tpkt_icmpv6_csum(s, d, seg, len);
		else
			sum = tpkt_csum(seg, len);
		put16(seg + 2, sum);
		break;
	}
}

/* The IPv6 extension header of the given type at h; nh is the header after it. */
static void put_ext(const struct tpkt *p, uint8_t type, uint8_t nh, uint8_t *h)
{
	uint16_t off = 0;

	h[0] = nh;
	h[1] = 0; /* 8 bytes long */
	switch (type) {
	case IPPROTO_FRAGMENT:
		if (p->frag == TPKT_FRAG_FIRST)
			off = 1; /* M flag */
		else if (p->frag == TPKT_FRAG_LATER)
			off = p->frag_offset_bytes & ~7;
		put16(h + 2, off);
		put32(h + 4, p->ip_id);
		break;
	case IPPROTO_ROUTING:
		h[2] = 253; /* routing type for experiments (RFC 4727), segments left 0 */
		break;
	default:
		/* hop-by-hop, destination options: one PadN option filling 6 bytes */
		h[2] = 1;
		h[3] = 4;
		break;
	}
}

size_t tpkt_build_l3(const struct tpkt *p, uint8_t *out, size_t cap)
{
	uint8_t s[16], d[16];
	size_t hlen, seg_len, total, i;
	uint8_t types[5];
	int n;

	if (parse_addrs(p->family, p->src, p->dst, s, d) < 0)
		return 0;
	if (p->family == 4) {
		if (p->ip_opt_len < 0 || p->ip_opt_len > 40 || p->ip_opt_len % 4)
			return 0;
		hlen = IPV4_HLEN + p->ip_opt_len;
	} else {
		if (p->n_ext < 0 || p->n_ext > 4)
			return 0;
		hlen = IPV6_HLEN + (size_t)n_ext_built(p) * IPV6_EXT_LEN;
	}
	seg_len = l4_len(p);
	total = hlen + seg_len;
	if (total > cap || total > 0xffff + (p->family == 6 ? IPV6_HLEN : 0))
		return 0;
	memset(out, 0, total);

	if (p->family == 4) {
		uint16_t frag = p->df ? 0x4000 : 0;

		if (p->frag == TPKT_FRAG_FIRST)
			frag |= 0x2000; /* MF */
		else if (p->frag == TPKT_FRAG_LATER)
			frag |= (p->frag_offset_bytes / 8) & 0x1fff;
		out[0] = 0x40 | hlen / 4;
		out[1] = p->tos;
		put16(out + 2, total);
		put16(out + 4, p->ip_id);
		put16(out + 6, frag);
		out[8] = p->ttl ? p->ttl : TPKT_TTL;
		out[9] = p->proto;
		memcpy(out + 12, s, 4);
		memcpy(out + 16, d, 4);
		/* options: NOPs, and an EOL in the last byte */
		if (p->ip_opt_len) {
			memset(out + IPV4_HLEN, 1, p->ip_opt_len);
			out[hlen - 1] = 0;
		}
		put16(out + 10, tpkt_ipv4_csum(out, hlen));
	} else {
		n = 0;
		for (i = 0; i < (size_t)p->n_ext; i++)
			types[n++] = p->ext[i];
		if (n < n_ext_built(p))
			types[n++] = IPPROTO_FRAGMENT;
		put32(out, 6u << 28 | (uint32_t)p->tos << 20 | (p->flow_label & 0xfffff));
		put16(out + 4, total - IPV6_HLEN);
		out[6] = n ? types[0] : p->proto;
		out[7] = p->ttl ? p->ttl : TPKT_TTL;
		memcpy(out + 8, s, 16);
		memcpy(out + 24, d, 16);
		for (i = 0; i < (size_t)n; i++)
			put_ext(p, types[i], i + 1 < (size_t)n ? types[i + 1] : p->proto,
				out + IPV6_HLEN + i * IPV6_EXT_LEN);
	}

	if (p->raw)
		memcpy(out + hlen, p->raw, p->raw_len);
	else
		put_l4(p, s, d, out + hlen, seg_len);
	return total;
}

size_t tpkt_frame(const uint8_t dmac[6], const uint8_t smac[6], uint16_t ethertype,
		  const uint8_t *l3, size_t len, uint8_t *out, size_t cap)
{
	if (TPKT_ETH_HLEN + len > cap)
		return 0;
	memcpy(out, dmac, 6);
	memcpy(out + 6, smac, 6);
	put16(out + 12, ethertype);
	memmove(out + TPKT_ETH_HLEN, l3, len);
	return TPKT_ETH_HLEN + len;
}

size_t tpkt_build(const struct tpkt *p, uint8_t *out, size_t cap)
{
	size_t off = tpkt_l3_off(p), len;
	uint16_t tpid;
	int i;

	if (p->nvlan < 0 || p->nvlan > 2 || (p->family != 4 && p->family != 6) || off > cap)
		return 0;
	memcpy(out, p->dmac, 6);
	memcpy(out + 6, p->smac, 6);
	for (i = 0; i < p->nvlan; i++) {
		tpid = p->vlan_tpid[i];
		if (!tpid)
			tpid = (p->nvlan == 2 && i == 0) ? 0x88a8 : 0x8100;
		put16(out + 12 + i * TPKT_VLAN_HLEN, tpid);
		put16(out + 14 + i * TPKT_VLAN_HLEN, p->vlan_tci[i]);
	}
	put16(out + off - 2, p->family == 4 ? 0x0800 : 0x86dd);
	len = tpkt_build_l3(p, out + off, cap - off);
	return len ? off + len : 0;
}

size_t tpkt_build_icmp_err(const struct tpkt *err, uint8_t type, uint8_t code, uint32_t info,
			   const struct tpkt *quoted, size_t quote_len, uint8_t *out, size_t cap)
{
	uint8_t msg[TPKT_MAX_FRAME];
	uint8_t s[16], d[16];
	struct tpkt e = *err;
	size_t qlen;

	if (quoted->family != err->family)
		return 0;
	if (parse_addrs(err->family, err->src, err->dst, s, d) < 0)
		return 0;
	qlen = tpkt_build_l3(quoted, msg + ICMP_HLEN, sizeof(msg) - ICMP_HLEN);
	if (!qlen)
		return 0;
	if (quote_len < qlen)
		qlen = quote_len;
	memset(msg, 0, ICMP_HLEN);
	msg[0] = type;
	msg[1] = code;
	put32(msg + 4, info);
	if (err->family == 6)
		put16(msg + 2, tpkt_icmpv6_csum(s, d, msg, ICMP_HLEN + qlen));
	else
		put16(msg + 2, tpkt_csum(msg, ICMP_HLEN + qlen));

	e.proto = err->family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	e.frag = TPKT_FRAG_NONE;
	e.raw = msg;
	e.raw_len = ICMP_HLEN + qlen;
	return tpkt_build(&e, out, cap);
}

size_t tpkt_build_icmp_too_big(const struct tpkt *err, const struct tpkt *quoted, size_t quote_len,
			       uint32_t mtu, uint8_t *out, size_t cap)
{
	size_t hlen;

	if (!quote_len) {
		if (quoted->family == 4) {
			hlen = IPV4_HLEN + (quoted->ip_opt_len > 0 ? quoted->ip_opt_len : 0);
			quote_len = hlen + 8;
		} else {
			/* error's own IPv6 header (and extension headers) + ICMPv6 header */
			hlen = IPV6_HLEN + (size_t)n_ext_built(err) * IPV6_EXT_LEN;
			quote_len = ICMP6_MIN_MTU - hlen - ICMP_HLEN;
		}
	}
	if (quoted->family == 6)
		return tpkt_build_icmp_err(err, 2, 0, mtu, quoted, quote_len, out, cap);
	return tpkt_build_icmp_err(err, 3, 4, mtu & 0xffff, quoted, quote_len, out, cap);
}

size_t tpkt_encap(const struct tencap *e, const uint8_t *inner_l3, size_t l3_len, uint8_t inner_tos,
		  uint8_t *out, size_t cap)
{
	uint8_t s[16], d[16];
	size_t off, ohlen, udp_len, total;
	uint8_t proto, *ip, *udp;

	if (parse_addrs(e->outer_family, e->outer_src, e->outer_dst, s, d) < 0 || !l3_len)
		return 0;
	proto = (inner_l3[0] >> 4) == 6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	ohlen = e->outer_family == 4 ? IPV4_HLEN : IPV6_HLEN;
	udp_len = e->gue ? UDP_HLEN + l3_len : 0;
	off = TPKT_ETH_HLEN + (e->vlan_tci ? TPKT_VLAN_HLEN : 0);
	total = off + ohlen + (e->gue ? UDP_HLEN : 0) + l3_len;
	if (total > cap ||
	    (e->outer_family == 4 ? IPV4_HLEN : 0) + (e->gue ? UDP_HLEN : 0) + l3_len > 0xffff)
		return 0;
	memset(out, 0, total - l3_len);

	memcpy(out, e->dmac, 6);
	memcpy(out + 6, e->smac, 6);
	if (e->vlan_tci) {
		put16(out + 12, 0x8100);
		put16(out + 14, e->vlan_tci);
	}
	put16(out + off - 2, e->outer_family == 4 ? 0x0800 : 0x86dd);

	ip = out + off;
	if (e->outer_family == 4) {
		ip[0] = 0x45;
		ip[1] = inner_tos;
		put16(ip + 2, total - off);
		put16(ip + 6, 0x4000); /* DF; ID stays 0 */
		ip[8] = 64;
		ip[9] = e->gue ? IPPROTO_UDP : proto;
		memcpy(ip + 12, s, 4);
		memcpy(ip + 16, d, 4);
		put16(ip + 10, tpkt_ipv4_csum(ip, IPV4_HLEN));
	} else {
		put32(ip, 6u << 28 | (uint32_t)inner_tos << 20 | (e->flow_hash & 0xfffff));
		put16(ip + 4, total - off - IPV6_HLEN);
		ip[6] = e->gue ? IPPROTO_UDP : proto;
		ip[7] = 64;
		memcpy(ip + 8, s, 16);
		memcpy(ip + 24, d, 16);
	}
	if (e->gue) {
		udp = ip + ohlen;
		put16(udp, CG_GUE_SPORT_BASE | (e->flow_hash & CG_GUE_SPORT_MASK));
		put16(udp + 2, e->gue_dport);
		put16(udp + 4, udp_len);
		/* checksum 0: RFC 6935 allows it for tunnels over IPv6 too */
	}
	memmove(out + total - l3_len, inner_l3, l3_len);
	return total;
}

size_t tpkt_push_vlan(uint8_t *frame, size_t len, size_t cap, uint16_t tpid, uint16_t tci)
{
	if (len < 12 || len + TPKT_VLAN_HLEN > cap)
		return 0;
	memmove(frame + 12 + TPKT_VLAN_HLEN, frame + 12, len - 12);
	put16(frame + 12, tpid);
	put16(frame + 14, tci);
	return len + TPKT_VLAN_HLEN;
}

size_t tpkt_pad(uint8_t *frame, size_t len, size_t cap, size_t min_len)
{
	if (len >= min_len)
		return len;
	if (min_len > cap)
		return 0;
	memset(frame + len, 0, min_len - len);
	return min_len;
}

int tpkt_flow_key(const struct tpkt *p, struct cg_flow_key *key)
{
	uint8_t s[16] = { 0 }, d[16] = { 0 };

	if (parse_addrs(p->family, p->src, p->dst, s, d) < 0)
		return -EINVAL;
	memset(key, 0, sizeof(*key));
	memcpy(key->saddr, s, p->family == 4 ? 4 : 16);
	memcpy(key->daddr, d, p->family == 4 ? 4 : 16);
	key->proto = p->proto;
	key->family = p->family == 4 ? CG_AF_INET : CG_AF_INET6;
	if (p->frag == TPKT_FRAG_NONE && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		key->sport = htons(p->sport);
		key->dport = htons(p->dport);
	}
	return 0;
}
