/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* pkt.h - packet builder for the tests: input frames and the exact frames cellgate must output */
#ifndef CG_TEST_PKT_H
#define CG_TEST_PKT_H

/*
 * A second, deliberately independent implementation of the wire formats:
 * plain byte writing, nothing shared with bpf/. The packet tests compare the
 * BPF programs' output with what these functions build, so a mistake has to
 * be made twice, the same way, to go unnoticed.
 *
 * Conventions: every multi-byte field described here is in host order and is
 * written big-endian; addresses are text ("198.18.0.1", "2001:db8::1").
 * Builders return the number of bytes written, or 0 if the description is
 * invalid (bad address, unknown family, bad option length) or does not fit in
 * cap; on 0 the contents of out are unspecified.
 */
#include <stddef.h>
#include <stdint.h>

#include "cellgate/abi/structs.h"

#define TPKT_ETH_HLEN  14
#define TPKT_VLAN_HLEN 4
#define TPKT_MAX_FRAME 9216 /* jumbo frame: the largest thing any test needs */
#define TPKT_TTL       64   /* TTL / hop limit of built packets when tpkt.ttl is 0 */

/* tpkt.frag */
enum tpkt_frag {
	TPKT_FRAG_NONE = 0,
	TPKT_FRAG_FIRST = 1, /* offset 0, more fragments: carries the L4 header */
	TPKT_FRAG_LATER = 2, /* offset frag_offset_bytes, last fragment: payload only */
};

/* One IP packet (and the Ethernet frame around it for tpkt_build()). Zero is a good default. */
struct tpkt {
	int family;		    /* 4 or 6 */
	const char *src;	    /* source address as text */
	const char *dst;	    /* destination address as text */
	uint8_t proto;		    /* IPPROTO_*: TCP, UDP, ICMP/ICMPV6 (echo request), any */
	uint16_t sport;		    /* TCP/UDP source port; ICMP echo identifier */
	uint16_t dport;		    /* TCP/UDP destination port */
	uint8_t tcp_flags;	    /* byte 13 of the TCP header (0x02 SYN, 0x10 ACK, ...) */
	uint8_t tos;		    /* IPv4 TOS / IPv6 traffic class: DSCP << 2 | ECN */
	uint8_t ttl;		    /* TTL / hop limit; 0 means TPKT_TTL */
	int df;			    /* IPv4: set the DF flag */
	uint16_t ip_id;		    /* IPv4 identification; IPv6 fragment header id */
	uint32_t flow_label;	    /* IPv6 flow label, 20 bits */
	int nvlan;		    /* VLAN tags, 0..2, outermost first */
	uint16_t vlan_tci[2];	    /* TCI of each tag */
	uint16_t vlan_tpid[2];	    /* TPID of each; 0: 0x88a8 outer of two, else 0x8100 */
	int ip_opt_len;		    /* IPv4 option bytes: multiple of 4, <= 40 (NOPs, EOL) */
	int n_ext;		    /* IPv6 extension headers, at most 4 */
	uint8_t ext[4];		    /* their types: 0 hop, 43 routing, 60 dstopts, 44 frag */
	int frag;		    /* enum tpkt_frag; IPv6 appends a fragment header if */
				    /*   ext has none */
	uint16_t frag_offset_bytes; /* offset of a TPKT_FRAG_LATER fragment, multiple of 8 */
	size_t payload_len;	    /* L4 payload bytes, filled with tpkt_pattern() */
	const uint8_t *raw;	    /* not NULL: the bytes after the IP header(s), verbatim; */
	size_t raw_len;		    /*   proto still goes in the header, ports and */
				    /*   payload_len are ignored */
	uint8_t smac[6];	    /* Ethernet source */
	uint8_t dmac[6];	    /* Ethernet destination */
};

/*
 * How the router encapsulates a datagram towards a cell (the output spec of
 * router.bpf.c): Ethernet dmac <- smac, one 802.1Q tag if vlan_tci != 0, the
 * outer IP header (DF, ID 0, TTL 64, DSCP 0, ECN copied from the inner), for GUE a UDP
 * header with checksum 0, then the inner datagram unchanged.
 */
struct tencap {
	int outer_family;      /* 4 or 6 */
	const char *outer_src; /* the LB's address */
	const char *outer_dst; /* the cell's gateway */
	int gue;	       /* 1: GUE variant 1 (outer UDP, no GUE header); 0: IPIP */
	uint16_t gue_dport;    /* UDP destination port for GUE */
	uint32_t flow_hash;    /* cg_flow_hash(): GUE source port and IPv6 flow label */
	uint8_t dmac[6];       /* next hop towards the gateway */
	uint8_t smac[6];       /* the input frame's destination MAC */
	uint16_t vlan_tci;     /* 802.1Q TCI of the one egress tag; 0: untagged */
};

/*
 * tpkt_pattern - the payload byte at offset i of a built payload. Exposed so a
 * test can recognise payload bytes in an output frame.
 */
uint8_t tpkt_pattern(size_t i);

/*
 * tpkt_l3_off - offset of the IP header in the frame tpkt_build() makes of p:
 * the Ethernet header and p->nvlan tags.
 */
size_t tpkt_l3_off(const struct tpkt *p);

/*
 * tpkt_build_l3 - build the IP datagram p describes (no Ethernet): IPv4 header
 * with options and a correct checksum, or IPv6 header with its extension
 * headers; then the TCP/UDP/ICMP header and payload, or p->raw. TCP, UDP and
 * ICMP(v6) checksums are correct (pseudo-header included; over the bytes
 * present for a first fragment); later fragments carry payload only and raw
 * bytes are not touched. Returns the datagram length, 0 on error (see top).
 */
size_t tpkt_build_l3(const struct tpkt *p, uint8_t *out, size_t cap);

/*
 * tpkt_build - build the Ethernet frame p describes: MACs, p->nvlan tags, the
 * ethertype of p->family, then tpkt_build_l3(). No Ethernet padding (see
 * tpkt_pad()). Returns the frame length, 0 on error.
 */
size_t tpkt_build(const struct tpkt *p, uint8_t *out, size_t cap);

/*
 * tpkt_build_icmp_err - build an ICMP error frame: err gives its Ethernet and
 * IP header (family, addresses, MACs, tags, TOS; proto, ports and payload are
 * ignored), type/code/info the ICMP header (info is the 32-bit word after the
 * checksum), and the message quotes the first quote_len bytes of the datagram
 * quoted describes (all of it if shorter). quoted->family must be err->family.
 * The ICMP (ICMPv6: with pseudo-header) checksum is correct. Returns the
 * frame length, 0 on error.
 */
size_t tpkt_build_icmp_err(const struct tpkt *err, uint8_t type, uint8_t code, uint32_t info,
			   const struct tpkt *quoted, size_t quote_len, uint8_t *out, size_t cap);

/*
 * tpkt_build_icmp_too_big - the error a client (err->src) sends to a VIP
 * (err->dst) about a packet the VIP sent it (quoted: src VIP, dst client)
 * that did not fit: ICMPv4 type 3 code 4 with the next-hop MTU in the low 16
 * bits, or ICMPv6 type 2 with the MTU. quote_len 0 quotes the IP header(s)
 * plus 8 bytes for IPv4 (RFC 792) and as much as fits in 1280 bytes for IPv6
 * (RFC 4443). Returns the frame length, 0 on error.
 */
size_t tpkt_build_icmp_too_big(const struct tpkt *err, const struct tpkt *quoted, size_t quote_len,
			       uint32_t mtu, uint8_t *out, size_t cap);

/*
 * tpkt_encap - the frame the router sends for the inner datagram
 * inner_l3[0..l3_len) (whose first nibble gives the inner family: 6 means
 * IPv6, anything else IPv4), encapsulated as e describes (see struct tencap).
 * inner_tos is written as the outer TOS / traffic class byte as it is: the
 * router's output takes the inner's ECN bits only (pass tos & 3); the decap
 * tests pass other values to build outer ECN bits that differ from the inner. Returns the frame length, 0 on error.
 */
size_t tpkt_encap(const struct tencap *e, const uint8_t *inner_l3, size_t l3_len, uint8_t inner_tos,
		  uint8_t *out, size_t cap);

/*
 * tpkt_frame - an untagged Ethernet frame dmac <- smac of the given ethertype
 * (host order) around l3[0..len). Returns the frame length, 0 if it does not
 * fit in cap.
 */
size_t tpkt_frame(const uint8_t dmac[6], const uint8_t smac[6], uint16_t ethertype,
		  const uint8_t *l3, size_t len, uint8_t *out, size_t cap);

/*
 * tpkt_push_vlan - insert a VLAN tag (tpid, tci; host order) as the outermost
 * tag of frame[0..len), which holds at least the two MACs. Returns the new
 * length, 0 if it does not fit in cap or the frame is shorter than 12 bytes.
 */
size_t tpkt_push_vlan(uint8_t *frame, size_t len, size_t cap, uint16_t tpid, uint16_t tci);

/*
 * tpkt_pad - append zero bytes to frame[0..len) up to min_len (60 pads to the
 * Ethernet minimum as a NIC would). Returns the new length (len if already
 * long enough), 0 if min_len exceeds cap.
 */
size_t tpkt_pad(uint8_t *frame, size_t len, size_t cap, size_t min_len);

/*
 * tpkt_flow_key - the router's flow key of the packet p describes, as the
 * client sent it: family CG_AF_*, addresses and ports in network order, zero
 * ports for fragments (their later pieces carry none) and for protocols
 * without ports. Returns 0, or -EINVAL for a bad family or address.
 */
int tpkt_flow_key(const struct tpkt *p, struct cg_flow_key *key);

/*
 * Internet checksums (RFC 1071). Each returns the checksum in host order,
 * ready to be written big-endian; the bytes are summed as they are, so the
 * checksum field must hold zero when computing one, and a correct packet
 * verifies to 0.
 *
 * tpkt_csum - one's complement of the one's complement sum of buf.
 * tpkt_ipv4_csum - of an IPv4 header of hlen bytes.
 * tpkt_l4_csum - of a TCP/UDP/ICMPv6 segment seg[0..len) with the pseudo-header
 *   of family 4 or 6, addresses saddr/daddr (4 or 16 bytes, network order) and
 *   proto. A UDP checksum that computes to 0 is sent as 0xffff (RFC 768);
 *   this function returns the raw value, 0 included.
 * tpkt_icmpv6_csum - tpkt_l4_csum() for ICMPv6 (next header 58).
 */
uint16_t tpkt_csum(const void *buf, size_t len);
uint16_t tpkt_ipv4_csum(const void *hdr, size_t hlen);
uint16_t tpkt_l4_csum(int family, const void *saddr, const void *daddr, uint8_t proto,
		      const void *seg, size_t len);
uint16_t tpkt_icmpv6_csum(const void *saddr, const void *daddr, const void *msg, size_t len);

#endif /* CG_TEST_PKT_H */
