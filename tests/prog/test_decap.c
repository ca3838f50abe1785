/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_decap.c - packet tests of the cell hosts' decapsulation program (bpf/decap.bpf.c) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "cellgate/abi/consts.h"
#include "cellgate/abi/hash.h"
#include "testseed.h"
#include "cellgate/abi/structs.h"
#include "decap.skel.h"

#include "pkt.h"
#include "testrun.h"
#include "testskip.h"

/*
 * Every case builds its input with tests/lib/pkt.c (the router's encapsulation
 * as specified, or a hand-made outer header), runs the program once through
 * BPF_PROG_TEST_RUN and checks the verdict, the output frame byte for byte
 * (decapsulated: Ethernet + the inner datagram; passed: the input unchanged)
 * and that exactly the expected counter moved, by one packet of the frame's
 * length.
 */

/* Short names of enum cg_decap_stat (include/cellgate/abi/consts.h) for the case table. */
#define ST_IPIP4 CG_DECAP_STAT_IPIP4
#define ST_IPIP6 CG_DECAP_STAT_IPIP6
#define ST_GUE CG_DECAP_STAT_GUE
#define ST_PASS CG_DECAP_STAT_PASS
#define ST_PASS_FRAG CG_DECAP_STAT_PASS_FRAG
#define ST_PASS_NOT_LOCAL CG_DECAP_STAT_PASS_NOT_LOCAL
#define ST_DROP_MALFORMED CG_DECAP_STAT_DROP_MALFORMED
#define ST_DROP_ECN CG_DECAP_STAT_DROP_ECN
#define ST_DROP_ERROR CG_DECAP_STAT_DROP_ERROR
#define ST_DROP_SOURCE CG_DECAP_STAT_DROP_SOURCE
#define ST_MAX CG_DECAP_STAT_MAX

static const char *const stat_names[ST_MAX] = {
	"ipip4", "ipip6", "gue", "pass", "pass_frag", "pass_not_local",
	"drop_malformed", "drop_ecn", "drop_error", "drop_source",
};


/* Program configurations, each a separately loaded skeleton. */
enum cfg {
	CFG_ANY,   /* defaults: GUE on 6080, any outer destination */
	CFG_LOCAL, /* GUE on 7000, only GW4 and GW6 (local_addrs) */
	CFG_EMPTY, /* defaults, but lb_sources left empty */
	CFG_MAX,
};

#define CFG_LOCAL_GUE_PORT 7000

/* Test addresses: hosts in 198.18.0.0/15, VIPs in 203.0.113.0/24, IPv6 in 2001:db8::/32. */
#define LB4 "198.18.0.1"	 /* the LB: in lb_sources (but in CFG_EMPTY) */
#define STRANGER4 "198.18.0.66" /* a host that can reach the cell, not an LB */
#define GW4 "198.18.0.2"    /* the cell host; local in CFG_LOCAL */
#define OTHER4 "198.18.0.3" /* another host */
#define CLIENT4 "198.19.0.10"
#define VIP4 "203.0.113.10"
#define LB6 "2001:db8:1b::1"
#define STRANGER6 "2001:db8:66::66"
#define GW6 "2001:db8:ce11::2"
#define OTHER6 "2001:db8:ce11::3"
#define CLIENT6 "2001:db8:c1::10"
#define VIP6 "2001:db8:f1::10"

#define HOST_MAC { 0x02, 0x00, 0x00, 0x00, 0xce, 0x02 } /* the cell host's NIC */
#define LB_MAC { 0x02, 0x00, 0x00, 0x00, 0x1b, 0x01 }   /* the router's */

#define BUF 2048 /* every frame of these tests fits */

static struct cg_decap *skels[CFG_MAX];
static const char *skip_reason; /* set when BPF cannot be used here: every test skips */

/* ------------------------------------------------------------------------- */
/* Inner datagrams: what clients sent to VIPs. */

static const struct tpkt in4_tcp = {
	.family = 4, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP,
	.sport = 40000, .dport = 443, .tcp_flags = 0x02, .df = 1, .ip_id = 0x1d1d,
	.payload_len = 32,
};
static const struct tpkt in6_udp = {
	.family = 6, .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP,
	.sport = 5353, .dport = 53, .flow_label = 0x12345, .payload_len = 24,
};
static const struct tpkt in4_udp = {
	.family = 4, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP,
	.sport = 5353, .dport = 53, .payload_len = 11, /* odd: UDP checksum padding */
};
static const struct tpkt in6_tcp = {
	.family = 6, .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_TCP,
	.sport = 40001, .dport = 443, .tcp_flags = 0x10, .payload_len = 100,
};
/* inner IPv4 with options: the inner IHL is not the outer's business */
static const struct tpkt in4_opts = {
	.family = 4, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP,
	.sport = 40002, .dport = 443, .tcp_flags = 0x02, .ip_opt_len = 8, .payload_len = 8,
};
/* inner IPv6 with a hop-by-hop header and a first fragment: carried as is */
static const struct tpkt in6_ext = {
	.family = 6, .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP, .sport = 1000,
	.dport = 53, .n_ext = 1, .ext = { 0 }, .frag = TPKT_FRAG_FIRST, .ip_id = 77,
	.payload_len = 64,
};
/* the smallest datagram: a 20-byte header, so the outer frame needs Ethernet padding */
static const struct tpkt in4_tiny = {
	.family = 4, .src = CLIENT4, .dst = VIP4, .proto = 253,
};
/* ECN: DSCP EF (46) with each ECN codepoint */
static const struct tpkt in4_ect0 = {
	.family = 4, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 40003,
	.dport = 443, .tcp_flags = 0x10, .tos = 0xb8 | 2, .payload_len = 16,
};
static const struct tpkt in4_ce = {
	.family = 4, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 40004,
	.dport = 443, .tcp_flags = 0x10, .tos = 0xb8 | 3, .payload_len = 16,
};
static const struct tpkt in4_notect = {
	.family = 4, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 40005,
	.dport = 443, .tcp_flags = 0x10, .tos = 0xb8, .payload_len = 16,
};
static const struct tpkt in6_ect1 = {
	.family = 6, .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP, .sport = 40006,
	.dport = 443, .tos = 0xb8 | 1, .flow_label = 0xfffff, .payload_len = 16,
};
static const struct tpkt in6_notect = {
	.family = 6, .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP, .sport = 40007,
	.dport = 443, .tos = 0xb8, .payload_len = 16,
};

/* ------------------------------------------------------------------------- */
/* Plain frames (no tunnel): must pass untouched. */

static const struct tpkt plain4_tcp = {
	.family = 4, .src = CLIENT4, .dst = GW4, .proto = IPPROTO_TCP, .sport = 33000,
	.dport = 22, .tcp_flags = 0x02, .payload_len = 20, .smac = LB_MAC, .dmac = HOST_MAC,
};
static const struct tpkt plain6_udp = {
	.family = 6, .src = CLIENT6, .dst = GW6, .proto = IPPROTO_UDP, .sport = 33001,
	.dport = 123, .payload_len = 48, .smac = LB_MAC, .dmac = HOST_MAC,
};
static const struct tpkt plain4_icmp = {
	.family = 4, .src = CLIENT4, .dst = GW4, .proto = IPPROTO_ICMP, .sport = 9,
	.payload_len = 56, .smac = LB_MAC, .dmac = HOST_MAC,
};
static const struct tpkt plain4_vlan = {
	.family = 4, .src = CLIENT4, .dst = GW4, .proto = IPPROTO_UDP, .sport = 33002,
	.dport = 6081, .payload_len = 28, .nvlan = 2, .vlan_tci = { 10, 20 },
	.smac = LB_MAC, .dmac = HOST_MAC,
};
/* UDP to the GUE port that is not GUE: the port is the tunnel's, so it is dropped */
static const struct tpkt udp4_gue_port_not_ip = { /* from the LB: it gets past the source step */
	.family = 4, .src = LB4, .dst = GW4, .proto = IPPROTO_UDP, .sport = 33003,
	.dport = CG_GUE_DEFAULT_PORT, .payload_len = 28, .smac = LB_MAC, .dmac = HOST_MAC,
};
static const struct tpkt plain4_gre = {
	.family = 4, .src = LB4, .dst = GW4, .proto = 47, .payload_len = 24,
	.smac = LB_MAC, .dmac = HOST_MAC,
};
/* IPv6 in IPv6 behind five extension headers: more than the parser walks, so not recognised */
static const struct tpkt plain6_long_ext = {
	.family = 6, .src = LB6, .dst = GW6, .proto = IPPROTO_IPV6, .n_ext = 4,
	.ext = { 0, 60, 43, 60 }, .frag = TPKT_FRAG_FIRST, .payload_len = 40,
	.smac = LB_MAC, .dmac = HOST_MAC,
};
/* ICMP errors from a client about a VIP's packet: not tunnels (built separately) */
static const struct tpkt icmp4_err = {
	.family = 4, .src = CLIENT4, .dst = VIP4, .smac = LB_MAC, .dmac = HOST_MAC,
};
static const struct tpkt icmp4_quoted = {
	.family = 4, .src = VIP4, .dst = CLIENT4, .proto = IPPROTO_TCP, .sport = 443,
	.dport = 40000, .tcp_flags = 0x10, .df = 1, .payload_len = 1400,
};
static const struct tpkt icmp6_err = {
	.family = 6, .src = CLIENT6, .dst = VIP6, .smac = LB_MAC, .dmac = HOST_MAC,
};
static const struct tpkt icmp6_quoted = {
	.family = 6, .src = VIP6, .dst = CLIENT6, .proto = IPPROTO_TCP, .sport = 443,
	.dport = 40001, .tcp_flags = 0x10, .payload_len = 1400,
};

/* ------------------------------------------------------------------------- */
/* Outer headers as the router writes them (flow_hash is filled in per case). */

#define ENC(fam, s, d, g, port, tci) { .outer_family = fam, .outer_src = s, .outer_dst = d, \
		.gue = g, .gue_dport = port, .vlan_tci = tci, .dmac = HOST_MAC, .smac = LB_MAC }

static const struct tencap o4_ipip = ENC(4, LB4, GW4, 0, 0, 0);
static const struct tencap o6_ipip = ENC(6, LB6, GW6, 0, 0, 0);
static const struct tencap o4_gue = ENC(4, LB4, GW4, 1, CG_GUE_DEFAULT_PORT, 0);
static const struct tencap o6_gue = ENC(6, LB6, GW6, 1, CG_GUE_DEFAULT_PORT, 0);
static const struct tencap o4_gue_other_port = ENC(4, LB4, GW4, 1, CG_GUE_DEFAULT_PORT + 1, 0);
static const struct tencap o4_ipip_vlan = ENC(4, LB4, GW4, 0, 0, 0x0064);
static const struct tencap o6_ipip_vlan = ENC(6, LB6, GW6, 0, 0, 0xe00a); /* PCP 7, VLAN 10 */
static const struct tencap o4_gue7000 = ENC(4, LB4, GW4, 1, CFG_LOCAL_GUE_PORT, 0);
static const struct tencap o6_gue7000 = ENC(6, LB6, GW6, 1, CFG_LOCAL_GUE_PORT, 0);
static const struct tencap o4_ipip_other = ENC(4, LB4, OTHER4, 0, 0, 0);
static const struct tencap o6_gue7000_other = ENC(6, LB6, OTHER6, 1, CFG_LOCAL_GUE_PORT, 0);
static const struct tencap o4_ipip_stranger = ENC(4, STRANGER4, GW4, 0, 0, 0);
static const struct tencap o6_ipip_stranger = ENC(6, STRANGER6, GW6, 0, 0, 0);
static const struct tencap o4_gue_stranger = ENC(4, STRANGER4, GW4, 1, CG_GUE_DEFAULT_PORT, 0);
static const struct tencap o6_gue7000_stranger = ENC(6, STRANGER6, GW6, 1, CFG_LOCAL_GUE_PORT,
						     0);
static const struct tencap o4_ipip_stranger_other = ENC(4, STRANGER4, OTHER4, 0, 0, 0);

/* Hand-made outer headers, for what the router never sends; raw is the inner datagram. */
static const struct tpkt h4_opts = {
	.family = 4, .src = LB4, .dst = GW4, .proto = IPPROTO_IPIP, .df = 1, .ip_opt_len = 12,
	.smac = LB_MAC, .dmac = HOST_MAC,
};
static const struct tpkt h6_dstopts = {
	.family = 6, .src = LB6, .dst = GW6, .proto = IPPROTO_IPV6, .n_ext = 2,
	.ext = { 0, 60 }, .smac = LB_MAC, .dmac = HOST_MAC,
};
static const struct tpkt h6_frag = {
	.family = 6, .src = LB6, .dst = GW6, .proto = IPPROTO_IPIP, .frag = TPKT_FRAG_FIRST,
	.ip_id = 5, .smac = LB_MAC, .dmac = HOST_MAC,
};
static const struct tpkt h6_atomic_frag = {
	.family = 6, .src = LB6, .dst = GW6, .proto = IPPROTO_IPIP, .n_ext = 1,
	.ext = { 44 }, .ip_id = 6, .smac = LB_MAC, .dmac = HOST_MAC,
};

/* ------------------------------------------------------------------------- */
/* Cases. */

/* Faults injected into a built input frame. */
enum mangle {
	M_NONE,
	M_QINQ,		/* push an 802.1ad tag in front of the router's 802.1Q one */
	M_PAD60,	/* Ethernet padding up to 60 bytes */
	M_TRAILER,	/* 4 non-zero bytes after the outer datagram */
	M_OUTER_LONG,	/* outer length + 1: claims a byte the frame lacks */
	M_OUTER_SHORT,	/* outer length - 1 */
	M_INNER_LONG,	/* inner length + 1 */
	M_INNER_SHORT,	/* inner length - 1 */
	M_UDP_LONG,	/* outer UDP length + 1 */
	M_UDP_SHORT,	/* outer UDP length - 1 */
	M_PROTO_SWAP,	/* outer protocol 4 <-> 41: says the other inner family */
	M_GUE_V0,	/* inner version nibble 0: a GUE variant 0 header */
	M_INNER_IHL4,	/* inner IPv4 IHL 4 */
	M_OUTER_MF,	/* outer IPv4 more-fragments flag */
	M_OUTER_OFF,	/* outer IPv4 fragment offset 1480 */
	M_OUTER_CE,	/* outer ECN field CE, as a congested router on the way marks it */
	M_OUTER_ECT1,	/* outer ECN field ECT(1): changes nothing inside */
	M_ETHERTYPE_ARP, /* ethertype 0x0806 */
};

struct dcase {
	const char *name;	     /* test name: the behaviour */
	enum cfg cfg;		     /* program configuration */
	const struct tpkt *inner;    /* the inner datagram; with no outer, the whole frame */
	const struct tencap *encap;  /* outer headers as the router writes them, or NULL */
	const struct tpkt *outer;    /* or hand-made outer headers around inner, or NULL */
	enum mangle mangle;	     /* fault injected into the input */
	int icmp_too_big;	     /* the frame is an ICMP too-big error: inner is its header */
	uint32_t verdict;	     /* expected XDP verdict */
	enum cg_decap_stat stat;	     /* the one counter slot that must count the packet */
	int want_ce;		     /* the output's inner datagram carries CE */
};

#define TUN(n, c, in, en, m, v, st) { .name = n, .cfg = c, .inner = &in, .encap = &en, \
		.mangle = m, .verdict = v, .stat = st }
#define HAND(n, c, in, out, m, v, st) { .name = n, .cfg = c, .inner = &in, .outer = &out, \
		.mangle = m, .verdict = v, .stat = st }
#define PLAIN(n, c, fr, m) { .name = n, .cfg = c, .inner = &fr, .mangle = m, \
		.verdict = XDP_PASS, .stat = ST_PASS }

static const struct dcase cases[] = {
	/* the four IPIP combinations and GUE, as the router sends them */
	TUN("ipip_4in4_decapsulated", CFG_ANY, in4_tcp, o4_ipip, M_NONE, XDP_PASS, ST_IPIP4),
	TUN("ipip_6in4_decapsulated", CFG_ANY, in6_udp, o4_ipip, M_NONE, XDP_PASS, ST_IPIP4),
	TUN("ipip_4in6_decapsulated", CFG_ANY, in4_udp, o6_ipip, M_NONE, XDP_PASS, ST_IPIP6),
	TUN("ipip_6in6_decapsulated", CFG_ANY, in6_tcp, o6_ipip, M_NONE, XDP_PASS, ST_IPIP6),
	TUN("gue_4over4_decapsulated", CFG_ANY, in4_tcp, o4_gue, M_NONE, XDP_PASS, ST_GUE),
	TUN("gue_6over4_decapsulated", CFG_ANY, in6_tcp, o4_gue, M_NONE, XDP_PASS, ST_GUE),
	TUN("gue_4over6_decapsulated", CFG_ANY, in4_udp, o6_gue, M_NONE, XDP_PASS, ST_GUE),
	TUN("gue_6over6_decapsulated", CFG_ANY, in6_udp, o6_gue, M_NONE, XDP_PASS, ST_GUE),

	/* L2 variants: tags removed, padding not carried */
	TUN("vlan_tag_removed", CFG_ANY, in4_tcp, o4_ipip_vlan, M_NONE, XDP_PASS, ST_IPIP4),
	TUN("qinq_tags_removed", CFG_ANY, in6_udp, o6_ipip_vlan, M_QINQ, XDP_PASS, ST_IPIP6),
	TUN("ethernet_padding_trimmed", CFG_ANY, in4_tiny, o4_ipip, M_PAD60, XDP_PASS,
	    ST_IPIP4),
	TUN("trailer_after_outer_trimmed", CFG_ANY, in6_udp, o6_gue, M_TRAILER, XDP_PASS,
	    ST_GUE),

	/* header variants: options and extension headers outside and inside */
	TUN("inner_ipv4_options_kept", CFG_ANY, in4_opts, o6_ipip, M_NONE, XDP_PASS, ST_IPIP6),
	TUN("inner_ipv6_ext_headers_kept", CFG_ANY, in6_ext, o4_gue, M_NONE, XDP_PASS, ST_GUE),
	HAND("outer_ipv4_options_skipped", CFG_ANY, in4_udp, h4_opts, M_NONE, XDP_PASS,
	     ST_IPIP4),
	HAND("outer_ipv6_ext_headers_skipped", CFG_ANY, in6_tcp, h6_dstopts, M_NONE, XDP_PASS,
	     ST_IPIP6),
	HAND("outer_ipv6_atomic_fragment_decapsulated", CFG_ANY, in4_tcp, h6_atomic_frag,
	     M_NONE, XDP_PASS, ST_IPIP6),

	/* ECN (RFC 6040) */
	{ .name = "outer_ce_marks_inner_ipv4_ect0", .cfg = CFG_ANY, .inner = &in4_ect0,
	  .encap = &o4_ipip, .mangle = M_OUTER_CE, .verdict = XDP_PASS, .stat = ST_IPIP4,
	  .want_ce = 1 },
	{ .name = "outer_ce_marks_inner_ipv6_ect1", .cfg = CFG_ANY, .inner = &in6_ect1,
	  .encap = &o6_gue, .mangle = M_OUTER_CE, .verdict = XDP_PASS, .stat = ST_GUE,
	  .want_ce = 1 },
	{ .name = "outer_ce_marks_inner_4in6_ect0", .cfg = CFG_ANY, .inner = &in4_ect0,
	  .encap = &o6_ipip, .mangle = M_OUTER_CE, .verdict = XDP_PASS, .stat = ST_IPIP6,
	  .want_ce = 1 },
	TUN("outer_ce_inner_ce_unchanged", CFG_ANY, in4_ce, o4_gue, M_OUTER_CE, XDP_PASS,
	    ST_GUE),
	TUN("outer_ect1_inner_unchanged", CFG_ANY, in4_notect, o4_ipip, M_OUTER_ECT1, XDP_PASS,
	    ST_IPIP4),
	TUN("outer_ce_inner_ipv4_not_ect_dropped", CFG_ANY, in4_notect, o4_ipip, M_OUTER_CE,
	    XDP_DROP, ST_DROP_ECN),
	TUN("outer_ce_inner_ipv6_not_ect_dropped", CFG_ANY, in6_notect, o6_ipip, M_OUTER_CE,
	    XDP_DROP, ST_DROP_ECN),

	/* tunnel packets for us that do not add up: dropped */
	TUN("outer_ipv4_longer_than_frame_dropped", CFG_ANY, in4_tcp, o4_ipip, M_OUTER_LONG,
	    XDP_DROP, ST_DROP_MALFORMED),
	TUN("outer_ipv4_shorter_than_inner_dropped", CFG_ANY, in4_tcp, o4_ipip, M_OUTER_SHORT,
	    XDP_DROP, ST_DROP_MALFORMED),
	TUN("outer_ipv6_longer_than_frame_dropped", CFG_ANY, in6_tcp, o6_ipip, M_OUTER_LONG,
	    XDP_DROP, ST_DROP_MALFORMED),
	TUN("outer_ipv6_shorter_than_inner_dropped", CFG_ANY, in4_tcp, o6_gue, M_OUTER_SHORT,
	    XDP_DROP, ST_DROP_MALFORMED),
	TUN("inner_ipv4_longer_than_outer_dropped", CFG_ANY, in4_tcp, o4_ipip, M_INNER_LONG,
	    XDP_DROP, ST_DROP_MALFORMED),
	TUN("inner_ipv4_shorter_than_outer_dropped", CFG_ANY, in4_tcp, o6_gue, M_INNER_SHORT,
	    XDP_DROP, ST_DROP_MALFORMED),
	TUN("inner_ipv6_longer_than_outer_dropped", CFG_ANY, in6_udp, o6_ipip, M_INNER_LONG,
	    XDP_DROP, ST_DROP_MALFORMED),
	TUN("inner_ipv6_shorter_than_outer_dropped", CFG_ANY, in6_udp, o4_gue, M_INNER_SHORT,
	    XDP_DROP, ST_DROP_MALFORMED),
	TUN("gue_udp_length_long_dropped", CFG_ANY, in4_tcp, o4_gue, M_UDP_LONG, XDP_DROP,
	    ST_DROP_MALFORMED),
	TUN("gue_udp_length_short_dropped", CFG_ANY, in6_tcp, o6_gue, M_UDP_SHORT, XDP_DROP,
	    ST_DROP_MALFORMED),
	TUN("ipip_proto4_with_inner_ipv6_dropped", CFG_ANY, in6_tcp, o4_ipip, M_PROTO_SWAP,
	    XDP_DROP, ST_DROP_MALFORMED),
	TUN("ipip_proto41_with_inner_ipv4_dropped", CFG_ANY, in4_tcp, o6_ipip, M_PROTO_SWAP,
	    XDP_DROP, ST_DROP_MALFORMED),
	TUN("gue_variant0_dropped", CFG_ANY, in4_tcp, o4_gue, M_GUE_V0, XDP_DROP,
	    ST_DROP_MALFORMED),
	{ .name = "udp_to_gue_port_not_ip_dropped", .cfg = CFG_ANY,
	  .inner = &udp4_gue_port_not_ip, .verdict = XDP_DROP, .stat = ST_DROP_MALFORMED },
	TUN("inner_ipv4_ihl4_dropped", CFG_ANY, in4_tcp, o6_ipip, M_INNER_IHL4, XDP_DROP,
	    ST_DROP_MALFORMED),

	/* outer fragments: XDP cannot reassemble, the kernel decides */
	TUN("outer_ipv4_first_fragment_passed", CFG_ANY, in4_tcp, o4_ipip, M_OUTER_MF, XDP_PASS,
	    ST_PASS_FRAG),
	TUN("outer_ipv4_later_fragment_passed", CFG_ANY, in4_tcp, o4_gue, M_OUTER_OFF, XDP_PASS,
	    ST_PASS_FRAG),
	HAND("outer_ipv6_fragment_passed", CFG_ANY, in4_tcp, h6_frag, M_NONE, XDP_PASS,
	     ST_PASS_FRAG),

	/* not tunnels: untouched */
	PLAIN("plain_tcp4_passed", CFG_ANY, plain4_tcp, M_NONE),
	PLAIN("plain_udp6_passed", CFG_ANY, plain6_udp, M_NONE),
	PLAIN("plain_icmp_echo_passed", CFG_ANY, plain4_icmp, M_NONE),
	PLAIN("plain_qinq_udp_passed", CFG_ANY, plain4_vlan, M_NONE),
	PLAIN("plain_gre_passed", CFG_ANY, plain4_gre, M_NONE),
	PLAIN("ipv6_ext_chain_too_long_passed", CFG_ANY, plain6_long_ext, M_NONE),
	PLAIN("arp_passed", CFG_ANY, plain4_tcp, M_ETHERTYPE_ARP),
	{ .name = "icmp4_frag_needed_passed", .cfg = CFG_ANY, .inner = &icmp4_err,
	  .icmp_too_big = 1, .verdict = XDP_PASS, .stat = ST_PASS },
	{ .name = "icmp6_packet_too_big_passed", .cfg = CFG_ANY, .inner = &icmp6_err,
	  .icmp_too_big = 1, .verdict = XDP_PASS, .stat = ST_PASS },
	TUN("gue_other_port_passed", CFG_ANY, in4_tcp, o4_gue_other_port, M_NONE, XDP_PASS,
	    ST_PASS),

	/* configured: another GUE port, local addresses only */
	TUN("local_gue_port_knob_decapsulated", CFG_LOCAL, in4_tcp, o4_gue7000, M_NONE,
	    XDP_PASS, ST_GUE),
	TUN("local_gue6_to_local_decapsulated", CFG_LOCAL, in6_udp, o6_gue7000, M_NONE,
	    XDP_PASS, ST_GUE),
	TUN("local_ipip_to_local_decapsulated", CFG_LOCAL, in6_tcp, o6_ipip, M_NONE, XDP_PASS,
	    ST_IPIP6),
	TUN("local_default_gue_port_passed", CFG_LOCAL, in4_tcp, o4_gue, M_NONE, XDP_PASS,
	    ST_PASS),
	TUN("local_ipip_to_other_host_passed", CFG_LOCAL, in4_tcp, o4_ipip_other, M_NONE,
	    XDP_PASS, ST_PASS_NOT_LOCAL),
	TUN("local_gue_to_other_host_passed", CFG_LOCAL, in4_udp, o6_gue7000_other, M_NONE,
	    XDP_PASS, ST_PASS_NOT_LOCAL),
	TUN("local_broken_to_other_host_passed", CFG_LOCAL, in4_tcp, o4_ipip_other,
	    M_OUTER_LONG, XDP_PASS, ST_PASS_NOT_LOCAL),

	/* the outer source: only the load balancers in lb_sources; empty: none */
	TUN("source_stranger_ipip4_dropped", CFG_ANY, in4_tcp, o4_ipip_stranger, M_NONE, XDP_DROP,
	    ST_DROP_SOURCE),
	TUN("source_stranger_ipip6_dropped", CFG_ANY, in6_tcp, o6_ipip_stranger, M_NONE, XDP_DROP,
	    ST_DROP_SOURCE),
	TUN("source_stranger_gue4_dropped", CFG_ANY, in4_udp, o4_gue_stranger, M_NONE, XDP_DROP,
	    ST_DROP_SOURCE),
	TUN("source_stranger_broken_dropped_as_stranger", CFG_ANY, in4_tcp, o4_ipip_stranger,
	    M_OUTER_LONG, XDP_DROP, ST_DROP_SOURCE),
	TUN("source_stranger_to_local_dropped", CFG_LOCAL, in6_udp, o6_gue7000_stranger, M_NONE,
	    XDP_DROP, ST_DROP_SOURCE),
	TUN("source_stranger_to_other_host_passed", CFG_LOCAL, in4_tcp, o4_ipip_stranger_other, M_NONE,
	    XDP_PASS, ST_PASS_NOT_LOCAL),
	TUN("source_empty_list_drops_the_lb4", CFG_EMPTY, in4_tcp, o4_ipip, M_NONE, XDP_DROP,
	    ST_DROP_SOURCE),
	TUN("source_empty_list_drops_the_lb6", CFG_EMPTY, in6_udp, o6_gue, M_NONE, XDP_DROP,
	    ST_DROP_SOURCE),
	TUN("source_empty_list_passes_other_traffic", CFG_EMPTY, in4_tcp, o4_gue_other_port,
	    M_NONE, XDP_PASS, ST_PASS),
};

/* Truncation sweeps: every length from an Ethernet header to the whole frame minus one. */
struct sweep {
	const char *name;
	const struct tpkt *inner;
	const struct tencap *encap;
};

static const struct sweep sweeps[] = {
	{ "truncated_ipip_4in4_at_every_length", &in4_tcp, &o4_ipip },
	{ "truncated_ipip_6in4_at_every_length", &in6_udp, &o4_ipip },
	{ "truncated_ipip_4in6_at_every_length", &in4_udp, &o6_ipip },
	{ "truncated_ipip_6in6_at_every_length", &in6_tcp, &o6_ipip },
	{ "truncated_gue4_at_every_length", &in6_tcp, &o4_gue },
	{ "truncated_gue6_at_every_length", &in4_tcp, &o6_gue },
	{ "truncated_vlan_ipip_at_every_length", &in4_udp, &o4_ipip_vlan },
};

/* ------------------------------------------------------------------------- */
/* Helpers. */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void set16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Where the headers of a (well-formed) built frame lie: a third, minimal reading. */
struct layout {
	size_t l3;    /* outer IP header */
	int family;   /* of the outer header: 4, 6 or 0 (not IP) */
	size_t udp;   /* outer UDP header, 0 if none */
	size_t inner; /* first byte after the outer headers */
};

static void locate(const uint8_t *f, struct layout *lo)
{
	size_t off = 12;
	uint8_t nh;

	memset(lo, 0, sizeof(*lo));
	while (get16(f + off) == 0x8100 || get16(f + off) == 0x88a8)
		off += TPKT_VLAN_HLEN;
	lo->l3 = off + 2;
	if (get16(f + off) == 0x0800) {
		lo->family = 4;
		nh = f[lo->l3 + 9];
		off = lo->l3 + (f[lo->l3] & 0x0f) * 4;
	} else if (get16(f + off) == 0x86dd) {
		lo->family = 6;
		nh = f[lo->l3 + 6];
		off = lo->l3 + 40;
		while (nh == 0 || nh == 43 || nh == 44 || nh == 60) {
			nh = f[off];
			off += 8 * (f[off + 1] + 1);
		}
	} else {
		return;
	}
	if (nh == IPPROTO_UDP) {
		lo->udp = off;
		off += 8;
	}
	lo->inner = off;
}

static void fix_ipv4_csum(uint8_t *ip)
{
	size_t hlen = (ip[0] & 0x0f) * 4;

	set16(ip + 10, 0);
	set16(ip + 10, tpkt_ipv4_csum(ip, hlen < 20 ? 20 : hlen));
}

/* Add delta to the length field of the IP header at ip. */
static void ip_len_add(uint8_t *ip, int delta)
{
	if ((ip[0] >> 4) == 4) {
		set16(ip + 2, get16(ip + 2) + delta);
		fix_ipv4_csum(ip);
	} else {
		set16(ip + 4, get16(ip + 4) + delta);
	}
}

static void set_ecn(uint8_t *ip, uint8_t ecn)
{
	if ((ip[0] >> 4) == 4) {
		ip[1] = (ip[1] & ~3) | ecn;
		fix_ipv4_csum(ip);
	} else {
		ip[1] = (ip[1] & ~0x30) | ecn << 4;
	}
}

/* Apply m to frame[0..*len) (capacity BUF). */
static void mangle(uint8_t *f, size_t *len, enum mangle m)
{
	struct layout lo;
	uint8_t *ip, *in;

	locate(f, &lo);
	ip = f + lo.l3;
	in = f + lo.inner;
	switch (m) {
	case M_NONE:
		break;
	case M_QINQ:
		*len = tpkt_push_vlan(f, *len, BUF, 0x88a8, 0x0007);
		break;
	case M_PAD60:
		assert_true(*len < 60);
		*len = tpkt_pad(f, *len, BUF, 60);
		break;
	case M_TRAILER:
		memset(f + *len, 0xee, 4);
		*len += 4;
		break;
	case M_OUTER_LONG:
		ip_len_add(ip, 1);
		break;
	case M_OUTER_SHORT:
		ip_len_add(ip, -1);
		break;
	case M_INNER_LONG:
		ip_len_add(in, 1);
		break;
	case M_INNER_SHORT:
		ip_len_add(in, -1);
		break;
	case M_UDP_LONG:
		set16(f + lo.udp + 4, get16(f + lo.udp + 4) + 1);
		break;
	case M_UDP_SHORT:
		set16(f + lo.udp + 4, get16(f + lo.udp + 4) - 1);
		break;
	case M_PROTO_SWAP:
		if (lo.family == 4) {
			ip[9] = ip[9] == IPPROTO_IPIP ? IPPROTO_IPV6 : IPPROTO_IPIP;
			fix_ipv4_csum(ip);
		} else {
			ip[6] = ip[6] == IPPROTO_IPIP ? IPPROTO_IPV6 : IPPROTO_IPIP;
		}
		break;
	case M_GUE_V0:
		in[0] &= 0x0f;
		break;
	case M_INNER_IHL4:
		in[0] = 0x44;
		break;
	case M_OUTER_MF:
		set16(ip + 6, get16(ip + 6) | 0x2000);
		fix_ipv4_csum(ip);
		break;
	case M_OUTER_OFF:
		set16(ip + 6, 1480 / 8);
		fix_ipv4_csum(ip);
		break;
	case M_OUTER_CE:
		set_ecn(ip, 3);
		break;
	case M_OUTER_ECT1:
		set_ecn(ip, 1);
		break;
	case M_ETHERTYPE_ARP:
		set16(f + lo.l3 - 2, 0x0806);
		break;
	}
	assert_true(*len > 0);
}

static uint32_t hash_of(const struct tpkt *inner)
{
	struct cg_flow_key key;

	assert_int_equal(tpkt_flow_key(inner, &key), 0);
	return cg_flow_hash(&key, CG_TEST_SEED_CELL);
}

/* The router's frame for inner under e, with the flow hash the router would use. */
static size_t build_encap(const struct tencap *e, const struct tpkt *inner, const uint8_t *l3,
			  size_t l3_len, uint8_t *out)
{
	struct tencap en = *e;

	en.flow_hash = hash_of(inner);
	return tpkt_encap(&en, l3, l3_len, inner->tos, out, BUF);
}

static void read_stats(enum cfg cfg, uint64_t st[ST_MAX][2])
{
	int fd = bpf_map__fd(skels[cfg]->maps.decap_stats);
	uint32_t i;

	for (i = 0; i < ST_MAX; i++)
		assert_int_equal(trun_percpu_sum(fd, i, st[i], 2), 0);
}

/* Check that counters moved from before to after by exactly want (packets, bytes per slot). */
static void check_stats(const char *name, uint64_t before[ST_MAX][2], uint64_t after[ST_MAX][2],
			uint64_t want[ST_MAX][2])
{
	int i, bad = 0;

	for (i = 0; i < ST_MAX; i++) {
		uint64_t dp = after[i][0] - before[i][0], db = after[i][1] - before[i][1];

		if (dp != want[i][0] || db != want[i][1]) {
			print_error("%s: counter %s moved by %llu packets %llu bytes, "
				    "want %llu, %llu\n", name, stat_names[i], (unsigned long long)dp,
				    (unsigned long long)db, (unsigned long long)want[i][0],
				    (unsigned long long)want[i][1]);
			bad = 1;
		}
	}
	assert_false(bad);
}

static int is_decap(enum cg_decap_stat st)
{
	return st == ST_IPIP4 || st == ST_IPIP6 || st == ST_GUE;
}

static int is_drop(enum cg_decap_stat st)
{
	return st == ST_DROP_MALFORMED || st == ST_DROP_ECN || st == ST_DROP_ERROR ||
	       st == ST_DROP_SOURCE;
}

static void run_one(enum cfg cfg, const char *name, const uint8_t *in, size_t in_len,
		    uint32_t want_verdict, uint8_t *out, size_t *out_len)
{
	int fd = bpf_program__fd(skels[cfg]->progs.cg_decap);
	uint32_t verdict;
	int err;

	err = trun_xdp(fd, in, in_len, out, BUF, out_len, &verdict);
	if (err)
		fail_msg("%s: test run of %zu bytes failed: %s", name, in_len, strerror(-err));
	if (verdict != want_verdict)
		fail_msg("%s (%zu bytes): verdict %s, want %s", name, in_len,
			 trun_verdict_name(verdict), trun_verdict_name(want_verdict));
}

/* ------------------------------------------------------------------------- */
/* Tests. */

static void test_case(void **state)
{
	const struct dcase *c = *state;
	uint8_t l3[BUF], in[BUF], out[BUF], want[BUF], want_l3[BUF];
	uint64_t before[ST_MAX][2], after[ST_MAX][2], delta[ST_MAX][2] = { { 0 } };
	size_t l3_len = 0, in_len, out_len, want_len, want_l3_len;
	const uint8_t *dmac, *smac;
	struct tpkt ce;

	cg_test_require(!skip_reason, "%s", skip_reason);
	/* the table itself must be coherent: the verdict follows from the slot */
	assert_int_equal(c->verdict, is_drop(c->stat) ? XDP_DROP : XDP_PASS);

	if (c->icmp_too_big) {
		const struct tpkt *q = c->inner->family == 4 ? &icmp4_quoted : &icmp6_quoted;

		in_len = tpkt_build_icmp_too_big(c->inner, q, 0, 1400, in, BUF);
	} else if (c->encap || c->outer) {
		l3_len = tpkt_build_l3(c->inner, l3, BUF);
		assert_true(l3_len > 0);
		if (c->encap) {
			in_len = build_encap(c->encap, c->inner, l3, l3_len, in);
		} else {
			struct tpkt o = *c->outer;

			o.raw = l3;
			o.raw_len = l3_len;
			in_len = tpkt_build(&o, in, BUF);
		}
	} else {
		in_len = tpkt_build(c->inner, in, BUF);
	}
	assert_true(in_len > 0);
	mangle(in, &in_len, c->mangle);

	read_stats(c->cfg, before);
	run_one(c->cfg, c->name, in, in_len, c->verdict, out, &out_len);
	read_stats(c->cfg, after);
	delta[c->stat][0] = 1;
	delta[c->stat][1] = in_len;
	check_stats(c->name, before, after, delta);

	if (is_drop(c->stat))
		return; /* what a dropped frame looks like does not matter */
	if (!is_decap(c->stat)) {
		assert_true(trun_frame_eq(c->name, out, out_len, in, in_len));
		return;
	}
	/* Ethernet as received (tags gone) + the inner datagram, from the description */
	want_l3_len = l3_len;
	memcpy(want_l3, l3, l3_len);
	if (c->want_ce) {
		ce = *c->inner;
		ce.tos |= 3;
		want_l3_len = tpkt_build_l3(&ce, want_l3, BUF);
	}
	dmac = c->encap ? c->encap->dmac : c->outer->dmac;
	smac = c->encap ? c->encap->smac : c->outer->smac;
	want_len = tpkt_frame(dmac, smac, c->inner->family == 4 ? 0x0800 : 0x86dd, want_l3,
			      want_l3_len, want, BUF);
	assert_true(want_len > 0);
	assert_true(trun_frame_eq(c->name, out, out_len, want, want_len));
}

/*
 * Cut a tunnel frame at every length. Documented rule: until the outer
 * headers that make it a tunnel packet (outer IP, and UDP for GUE) are whole,
 * nothing is known and the frame passes untouched; after, it is a broken
 * tunnel packet and is dropped. The kernel refuses test frames shorter than
 * an Ethernet header, so the sweep starts there.
 */
static void test_sweep(void **state)
{
	const struct sweep *s = *state;
	uint64_t before[ST_MAX][2], after[ST_MAX][2], delta[ST_MAX][2] = { { 0 } };
	uint8_t l3[BUF], in[BUF], out[BUF];
	size_t l3_len, in_len, out_len, cut;
	struct layout lo;
	char what[128];

	cg_test_require(!skip_reason, "%s", skip_reason);
	l3_len = tpkt_build_l3(s->inner, l3, BUF);
	assert_true(l3_len > 0);
	in_len = build_encap(s->encap, s->inner, l3, l3_len, in);
	assert_true(in_len > 0);
	locate(in, &lo);

	read_stats(CFG_ANY, before);
	for (cut = TPKT_ETH_HLEN; cut < in_len; cut++) {
		snprintf(what, sizeof(what), "%s at %zu of %zu bytes", s->name, cut, in_len);
		if (cut < lo.inner) {
			run_one(CFG_ANY, what, in, cut, XDP_PASS, out, &out_len);
			assert_true(trun_frame_eq(what, out, out_len, in, cut));
			delta[ST_PASS][0]++;
			delta[ST_PASS][1] += cut;
		} else {
			run_one(CFG_ANY, what, in, cut, XDP_DROP, out, &out_len);
			delta[ST_DROP_MALFORMED][0]++;
			delta[ST_DROP_MALFORMED][1] += cut;
		}
	}
	read_stats(CFG_ANY, after);
	check_stats(s->name, before, after, delta);
}

/* The maps as the program declares them match this file's copies of its types. */
static void test_maps_match_test_copies(void **state)
{
	struct cg_decap *sk;

	(void)state;
	cg_test_require(!skip_reason, "%s", skip_reason);
	sk = skels[CFG_ANY];
	assert_int_equal(bpf_map__max_entries(sk->maps.decap_stats), ST_MAX);
	assert_int_equal(bpf_map__value_size(sk->maps.decap_stats), sizeof(struct cg_counter));
	assert_int_equal(bpf_map__key_size(sk->maps.local_addrs), sizeof(struct cg_decap_addr));
	assert_int_equal(bpf_map__key_size(sk->maps.lb_sources), sizeof(struct cg_decap_addr));
	assert_int_equal(sk->rodata->gue_port, CG_GUE_DEFAULT_PORT);
	assert_int_equal(sk->rodata->match_local, 0);
}

/* ------------------------------------------------------------------------- */
/* Setup. */

/* Add addr to an address map of sk (local_addrs, lb_sources). */
static int add_addr(struct bpf_map *map, int family, const char *addr)
{
	struct cg_decap_addr key = { .family = family == 4 ? CG_AF_INET : CG_AF_INET6 };
	uint8_t one = 1;

	if (inet_pton(family == 4 ? AF_INET : AF_INET6, addr, key.addr) != 1)
		return -EINVAL;
	return bpf_map__update_elem(map, &key, sizeof(key), &one, sizeof(one), BPF_NOEXIST);
}

static int load(enum cfg cfg)
{
	struct cg_decap *sk;
	int err;

	sk = cg_decap__open();
	if (!sk)
		return -errno;
	if (cfg == CFG_LOCAL) {
		sk->rodata->gue_port = CFG_LOCAL_GUE_PORT;
		sk->rodata->match_local = 1;
	}
	err = cg_decap__load(sk);
	if (!err && cfg == CFG_LOCAL) {
		err = add_addr(sk->maps.local_addrs, 4, GW4);
		if (!err)
			err = add_addr(sk->maps.local_addrs, 6, GW6);
	}
	if (!err && cfg != CFG_EMPTY) {
		err = add_addr(sk->maps.lb_sources, 4, LB4);
		if (!err)
			err = add_addr(sk->maps.lb_sources, 6, LB6);
	}
	if (err) {
		cg_decap__destroy(sk);
		return err;
	}
	skels[cfg] = sk;
	return 0;
}

static int group_setup(void **state)
{
	int cfg, err;

	(void)state;
	for (cfg = 0; cfg < CFG_MAX; cfg++) {
		err = load(cfg);
		if (err == -EPERM || err == -EACCES) {
			skip_reason = "loading BPF programs needs root (CAP_BPF, CAP_NET_ADMIN)";
			return 0;
		}
		if (err) {
			fprintf(stderr, "cannot load decap.bpf.o: %s\n", strerror(-err));
			return -1;
		}
	}
	return 0;
}

static int group_teardown(void **state)
{
	int cfg;

	(void)state;
	for (cfg = 0; cfg < CFG_MAX; cfg++) {
		cg_decap__destroy(skels[cfg]);
		skels[cfg] = NULL;
	}
	return 0;
}

int main(void)
{
	size_t ncases = sizeof(cases) / sizeof(cases[0]);
	size_t nsweeps = sizeof(sweeps) / sizeof(sweeps[0]);
	size_t n = 0, i;
	struct CMUnitTest *tests;
	int failed;

	/*
	 * One cmocka test per table row, named after it: the array is built
	 * here because cmocka_unit_test_prestate() names a test after its
	 * function, and cmocka_run_group_tests() wants a sized array.
	 */
	tests = calloc(ncases + nsweeps + 1, sizeof(*tests));
	if (!tests)
		return 1;
	tests[n++] = (struct CMUnitTest){ "maps_match_test_copies", test_maps_match_test_copies,
					  NULL, NULL, NULL };
	for (i = 0; i < ncases; i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL,
						  (void *)&cases[i] };
	for (i = 0; i < nsweeps; i++)
		tests[n++] = (struct CMUnitTest){ sweeps[i].name, test_sweep, NULL, NULL,
						  (void *)&sweeps[i] };
	failed = _cmocka_run_group_tests("decap", tests, n, group_setup, group_teardown);
	free(tests);
	return failed;
}
