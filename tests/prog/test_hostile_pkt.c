// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_hostile_pkt.c - packets a hostile client sends to a VIP: each one's verdict, counter and bytes */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/bpf.h>

#include "cellgate/abi/consts.h"
#include "cellgate/abi/hash.h"
#include "cellgate/abi/structs.h"
#include "cellgate/dataplane.h"
#include "pkt.h"
#include "rtenv.h"
#include "testrun.h"
#include "testseed.h"
#include "testskip.h"

/*
 * One table of hostile packets (the rules in docs/architecture.md, "Rules
 * worth knowing"): each frame in, the verdict, the one global counter that
 * must move, and for a forwarded frame the exact frame out and the class its
 * connection entry got. Frames come from tests/lib/pkt.c, then a mangle
 * breaks what the builder would not.
 */

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20

#define SRC4	  "198.18.0.1"
#define SRC6	  "2001:db8::1"
#define VIP4	  "203.0.113.10"
#define VIP6	  "2001:db8:f00d::10"
#define GW	  "198.18.1.10"
#define CLIENT4	  "198.18.100.1"
#define CLIENT6	  "2001:db8:c::1"
#define PREFIX4	  "198.18.70.0" /* a /24 of class 0 */
#define CLIENTP	  "198.18.70.9" /* a client in it */
#define CELL	  1
#define CLASS_DEF 3 /* every service's default class */
#define MAC(last) { 0x02, 0x00, 0x5e, 0x10, 0x00, (last) }

enum { SVC_TCP, SVC_UDP, SVC_TCP6 };

static const uint8_t mac_cell[6] = MAC(0xa1);
static const uint8_t mac_lb[6] = MAC(0x02);
static struct cg_dp *dp;
static int prog_fd = -1;

static int setup(void **state)
{
	static const uint32_t one[] = { CELL };
	struct cg_dscp_rule ef = { .class = 1, .flags = CG_DSCP_F_SET };
	struct cg_dscp_rule cs1 = { .class = 6, .flags = CG_DSCP_F_SET };
	struct cg_class_prefix p24 = { .family = CG_AF_INET, .len = 24 };
	struct cg_class_rule c0 = { .class = 0 };

	dp = rtenv_open(4096, SRC4, SRC6, 1500);
	if (!dp) {
		fprintf(stderr, "cannot load the router: %s\n", strerror(errno));
		return -1;
	}
	prog_fd = cg_dp_prog_fd(dp);
	rtenv_addr(PREFIX4, p24.addr);
	if (rtenv_cell(dp, CELL, GW, 0, 0, mac_cell) ||
	    rtenv_service(dp, SVC_TCP, VIP4, 80, IPPROTO_TCP, CLASS_DEF, 0) ||
	    rtenv_service(dp, SVC_UDP, VIP4, 53, IPPROTO_UDP, CLASS_DEF, 1) ||
	    rtenv_service(dp, SVC_TCP6, VIP6, 443, IPPROTO_TCP, CLASS_DEF, 0) ||
	    rtenv_table(dp, SVC_TCP, one, 1, 251) || rtenv_table(dp, SVC_UDP, one, 1, 251) ||
	    rtenv_table(dp, SVC_TCP6, one, 1, 251) || cg_dp_dscp_set(dp, 46, &ef) ||
	    cg_dp_dscp_set(dp, 8, &cs1) || cg_dp_class_rule_set(dp, &p24, &c0))
		return -1;
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	cg_dp_close(dp);
	dp = NULL;
	(void)state;
	return 0;
}

/* What the test does to the built frame before sending it. */
enum mangle {
	M_NONE,
	M_TCP_DOFF_4,	    /* TCP data offset 4 (16 bytes) */
	M_TCP_DOFF_BEYOND,  /* TCP data offset 15: 60 bytes of header in a 20-byte segment */
	M_IHL_4,	    /* IPv4 IHL 4 */
	M_TOT_LEN_BEYOND,   /* IPv4 total length 100 bytes past the frame */
	M_ICMP_QUOTE_SHORT, /* an ICMP error quoting only the IP header, the ports in padding */
};

enum expect {
	X_PASS, /* XDP_PASS, frame unchanged */
	X_DROP, /* XDP_DROP */
	X_FWD,	/* XDP_TX to CELL, exact bytes; the connection entry's class checked */
};

struct hcase {
	const char *name;
	struct tpkt in;
	enum mangle mangle;
	enum expect expect;
	unsigned int stat; /* the one counter that must move */
	int class;	   /* X_FWD: the class of the flow's entry */
};

/* the case macros give defaults (MACs, the client) that a case may override */
#pragma GCC diagnostic ignored "-Woverride-init"
#define IN4(...) { .family = 4, .smac = MAC(0x01), .dmac = MAC(0x02), __VA_ARGS__ }
#define IN6(...) { .family = 6, .smac = MAC(0x01), .dmac = MAC(0x02), __VA_ARGS__ }
#define TCP4(sp, ...) \
	IN4(.src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = (sp), .dport = 80, __VA_ARGS__)
#define TCP6(sp, ...)                                                                       \
	IN6(.src = CLIENT6, .dst = VIP6, .proto = IPPROTO_TCP, .sport = (sp), .dport = 443, \
	    __VA_ARGS__)
#define BCAST { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }
#define MCAST4 { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }
#define MCAST6 { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 }

static const struct hcase hcases[] = {
	/* controls: what the rules below must not catch */
	{ "ack_forwarded", TCP4(1000, .tcp_flags = TH_ACK), M_NONE, X_FWD, CG_STAT_FWD, CLASS_DEF },
	{ "fin_ack_forwarded", TCP4(1001, .tcp_flags = TH_FIN | TH_ACK), M_NONE, X_FWD,
	  CG_STAT_FWD, CLASS_DEF },
	{ "rst_forwarded", TCP4(1002, .tcp_flags = TH_RST), M_NONE, X_FWD, CG_STAT_FWD, CLASS_DEF },
	{ "udp_first_fragment_uses_port0_alias",
	  IN4(.src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP, .sport = 1003, .dport = 53,
	      .frag = TPKT_FRAG_FIRST, .ip_id = 5, .payload_len = 32),
	  M_NONE, X_FWD, CG_STAT_FWD, CLASS_DEF },

	/* destination port 0: the fragment alias's port, no service's */
	{ "tcp_to_port_0", IN4(.src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 1100,
			       .dport = 0, .tcp_flags = TH_SYN),
	  M_NONE, X_DROP, CG_STAT_DROP_PORT_ZERO, 0 },
	{ "udp_to_port_0_of_an_aliased_vip", IN4(.src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP,
						 .sport = 1101, .dport = 0, .payload_len = 8),
	  M_NONE, X_DROP, CG_STAT_DROP_PORT_ZERO, 0 },
	{ "v6_tcp_to_port_0", IN6(.src = CLIENT6, .dst = VIP6, .proto = IPPROTO_TCP, .sport = 1102,
				  .dport = 0, .tcp_flags = TH_ACK),
	  M_NONE, X_DROP, CG_STAT_DROP_PORT_ZERO, 0 },

	/* group-addressed frames: the encap would send the group MAC as our source */
	{ "broadcast_mac_to_vip", TCP4(1200, .tcp_flags = TH_ACK, .dmac = BCAST), M_NONE, X_DROP,
	  CG_STAT_DROP_L2_GROUP, 0 },
	{ "multicast_mac_to_vip", TCP4(1201, .tcp_flags = TH_SYN, .dmac = MCAST4), M_NONE, X_DROP,
	  CG_STAT_DROP_L2_GROUP, 0 },
	{ "v6_multicast_mac_to_vip", TCP6(1202, .tcp_flags = TH_SYN, .dmac = MCAST6), M_NONE,
	  X_DROP, CG_STAT_DROP_L2_GROUP, 0 },
	{ "broadcast_mac_not_to_a_vip_passes",
	  IN4(.src = CLIENT4, .dst = "198.18.0.1", .proto = IPPROTO_UDP, .sport = 68, .dport = 67,
	      .dmac = BCAST),
	  M_NONE, X_PASS, CG_STAT_PASS_NO_SERVICE, 0 },

	/* martian sources */
	{ "src_loopback", TCP4(1300, .src = "127.0.0.1", .tcp_flags = TH_SYN), M_NONE, X_DROP,
	  CG_STAT_DROP_MARTIAN, 0 },
	{ "src_this_network", TCP4(1301, .src = "0.1.2.3", .tcp_flags = TH_SYN), M_NONE, X_DROP,
	  CG_STAT_DROP_MARTIAN, 0 },
	{ "src_multicast", TCP4(1302, .src = "224.0.0.1", .tcp_flags = TH_ACK), M_NONE, X_DROP,
	  CG_STAT_DROP_MARTIAN, 0 },
	{ "src_reserved", TCP4(1303, .src = "240.0.0.1", .tcp_flags = TH_ACK), M_NONE, X_DROP,
	  CG_STAT_DROP_MARTIAN, 0 },
	{ "src_broadcast", TCP4(1304, .src = "255.255.255.255", .tcp_flags = TH_SYN), M_NONE,
	  X_DROP, CG_STAT_DROP_MARTIAN, 0 },
	{ "src_the_vip", TCP4(80, .src = VIP4, .tcp_flags = TH_SYN), M_NONE, X_DROP,
	  CG_STAT_DROP_MARTIAN, 0 },
	{ "src_this_lb", TCP4(1305, .src = SRC4, .tcp_flags = TH_SYN), M_NONE, X_DROP,
	  CG_STAT_DROP_MARTIAN, 0 },
	{ "v6_src_this_lb", TCP6(1309, .src = SRC6, .tcp_flags = TH_SYN), M_NONE, X_DROP,
	  CG_STAT_DROP_MARTIAN, 0 },
	{ "src_a_gateway_is_a_client", TCP4(1310, .src = GW, .tcp_flags = TH_SYN),
	  M_NONE, X_FWD, CG_STAT_FWD, CLASS_DEF },
	{ "v6_src_loopback", TCP6(1306, .src = "::1", .tcp_flags = TH_SYN), M_NONE, X_DROP,
	  CG_STAT_DROP_MARTIAN, 0 },
	{ "v6_src_unspecified", TCP6(1307, .src = "::", .tcp_flags = TH_SYN), M_NONE, X_DROP,
	  CG_STAT_DROP_MARTIAN, 0 },
	{ "v6_src_multicast", TCP6(1308, .src = "ff02::1", .tcp_flags = TH_ACK), M_NONE, X_DROP,
	  CG_STAT_DROP_MARTIAN, 0 },
	{ "v6_src_the_vip", TCP6(443, .src = VIP6, .tcp_flags = TH_SYN), M_NONE, X_DROP,
	  CG_STAT_DROP_MARTIAN, 0 },
	{ "src_loopback_not_to_a_vip_passes",
	  IN4(.src = "127.0.0.1", .dst = "198.18.0.1", .proto = IPPROTO_TCP, .sport = 1, .dport = 22,
	      .tcp_flags = TH_SYN),
	  M_NONE, X_PASS, CG_STAT_PASS_NO_SERVICE, 0 },

	/* impossible headers */
	{ "tcp_syn_rst", TCP4(1400, .tcp_flags = TH_SYN | TH_RST), M_NONE, X_DROP,
	  CG_STAT_DROP_MALFORMED, 0 },
	{ "tcp_syn_fin", TCP4(1401, .tcp_flags = TH_SYN | TH_FIN), M_NONE, X_DROP,
	  CG_STAT_DROP_MALFORMED, 0 },
	{ "tcp_null_scan", TCP4(1402, .tcp_flags = 0), M_NONE, X_DROP, CG_STAT_DROP_MALFORMED, 0 },
	{ "tcp_xmas", TCP4(1403, .tcp_flags = TH_FIN | TH_PSH | TH_URG), M_NONE, X_DROP,
	  CG_STAT_DROP_MALFORMED, 0 },
	{ "tcp_xmas_with_ack", TCP4(1404, .tcp_flags = TH_FIN | TH_PSH | TH_URG | TH_ACK), M_NONE,
	  X_DROP, CG_STAT_DROP_MALFORMED, 0 },
	{ "v6_tcp_syn_rst", TCP6(1405, .tcp_flags = TH_SYN | TH_RST), M_NONE, X_DROP,
	  CG_STAT_DROP_MALFORMED, 0 },
	{ "tcp_doff_4", TCP4(1406, .tcp_flags = TH_ACK, .payload_len = 8), M_TCP_DOFF_4, X_DROP,
	  CG_STAT_DROP_MALFORMED, 0 },
	{ "tcp_doff_beyond_datagram", TCP4(1407, .tcp_flags = TH_ACK), M_TCP_DOFF_BEYOND, X_DROP,
	  CG_STAT_DROP_MALFORMED, 0 },
	{ "ipv4_ihl_4", TCP4(1408, .tcp_flags = TH_ACK), M_IHL_4, X_DROP, CG_STAT_DROP_MALFORMED,
	  0 },
	{ "ipv4_total_length_beyond_frame", TCP4(1409, .tcp_flags = TH_ACK), M_TOT_LEN_BEYOND,
	  X_DROP, CG_STAT_DROP_MALFORMED, 0 },
	{ "icmp4_error_quoted_ports_in_padding", IN4(.src = "198.18.9.1", .dst = VIP4),
	  M_ICMP_QUOTE_SHORT, X_DROP, CG_STAT_DROP_MALFORMED, 0 },
	{ "icmp6_error_quoted_ports_in_padding", IN6(.src = "2001:db8:9::1", .dst = VIP6),
	  M_ICMP_QUOTE_SHORT, X_DROP, CG_STAT_DROP_MALFORMED, 0 },

	/* client DSCP: lowers a class, never raises it; never reaches the outer header */
	{ "dscp_ef_does_not_raise_the_default",
	  TCP4(1500, .tcp_flags = TH_SYN, .tos = 46 << 2 | 2), M_NONE, X_FWD, CG_STAT_FWD,
	  CLASS_DEF },
	{ "dscp_cs1_lowers_the_default", TCP4(1501, .tcp_flags = TH_SYN, .tos = 8 << 2 | 1),
	  M_NONE, X_FWD, CG_STAT_FWD, 6 },
	{ "dscp_ef_lowers_a_prefix_class_0",
	  TCP4(1502, .src = CLIENTP, .tcp_flags = TH_SYN, .tos = 46 << 2), M_NONE, X_FWD,
	  CG_STAT_FWD, 1 },
	{ "prefix_class_0_without_dscp", TCP4(1503, .src = CLIENTP, .tcp_flags = TH_SYN), M_NONE,
	  X_FWD, CG_STAT_FWD, 0 },
	{ "v6_tclass_ef_ce_outer_ecn_only", TCP6(1504, .tcp_flags = TH_SYN, .tos = 46 << 2 | 3),
	  M_NONE, X_FWD, CG_STAT_FWD, CLASS_DEF },
};
#define NHCASES (sizeof(hcases) / sizeof(hcases[0]))

/*
 * An ICMP error from err's source to the VIP about a TCP packet the VIP sent
 * the client, quoting only the IP header; then 8 bytes of Ethernet padding,
 * where the quoted ports would be read from.
 */
static size_t build_icmp_quote_short(const struct tpkt *err, uint8_t *out, size_t cap)
{
	struct tpkt q = { .family = err->family,
			  .src = err->dst,
			  .dst = err->family == 4 ? CLIENT4 : CLIENT6,
			  .proto = IPPROTO_TCP,
			  .sport = err->family == 4 ? 80 : 443,
			  .dport = 1600,
			  .tcp_flags = TH_ACK };
	size_t ip = err->family == 4 ? 20 : 40, n;

	n = tpkt_build_icmp_err(err, err->family == 4 ? 3 : 1, err->family == 4 ? 1 : 3, 0, &q,
				ip, out, cap);
	assert_true(n > 0);
	memset(out + n, 0x5a, 8);
	return n + 8;
}

/* Break what the builder made of c->in, as c->mangle says. */
static size_t mangle(const struct hcase *c, uint8_t *f, size_t len, size_t cap)
{
	size_t l3 = tpkt_l3_off(&c->in), ihl = (size_t)(f[l3] & 0x0f) * 4;
	uint16_t tot;

	switch (c->mangle) {
	case M_NONE:
		break;
	case M_TCP_DOFF_4:
		f[l3 + ihl + 12] = 4 << 4;
		break;
	case M_TCP_DOFF_BEYOND:
		f[l3 + ihl + 12] = 15 << 4;
		break;
	case M_IHL_4:
		f[l3] = 0x44;
		break;
	case M_TOT_LEN_BEYOND:
		tot = (uint16_t)((f[l3 + 2] << 8 | f[l3 + 3]) + 100);
		f[l3 + 2] = tot >> 8;
		f[l3 + 3] = tot & 0xff;
		f[l3 + 10] = f[l3 + 11] = 0;
		tot = tpkt_ipv4_csum(f + l3, ihl);
		f[l3 + 10] = tot >> 8;
		f[l3 + 11] = tot & 0xff;
		break;
	case M_ICMP_QUOTE_SHORT:
		return build_icmp_quote_short(&c->in, f, cap);
	}
	return len;
}

static void test_hostile(void **state)
{
	const struct hcase *c = *state;
	static uint8_t in[TPKT_MAX_FRAME], out[TPKT_MAX_FRAME + 256], want[TPKT_MAX_FRAME + 256];
	struct cg_counter before[CG_STAT_MAX], after[CG_STAT_MAX];
	size_t in_len, out_len = 0, l3_off, n;
	uint32_t verdict = 0;
	struct cg_flow_key key;
	struct cg_conn conn;

	in_len = tpkt_build(&c->in, in, sizeof(in) - 16);
	assert_true(in_len > 0);
	in_len = mangle(c, in, in_len, sizeof(in) - 16);
	assert_int_equal(cg_dp_stats_read(dp, before), 0);
	assert_int_equal(trun_xdp(prog_fd, in, in_len, out, sizeof(out), &out_len, &verdict), 0);
	assert_int_equal(cg_dp_stats_read(dp, after), 0);

	for (unsigned int i = 0; i < CG_STAT_MAX; i++) {
		uint64_t dp_ = after[i].packets - before[i].packets;

		if (dp_ != (i == c->stat))
			fail_msg("%s: verdict %s, counter %s moved by %llu, want only %s", c->name,
				 trun_verdict_name(verdict), cg_stat_name(i),
				 (unsigned long long)dp_, cg_stat_name(c->stat));
	}
	assert_int_equal(after[c->stat].bytes - before[c->stat].bytes, in_len);

	switch (c->expect) {
	case X_PASS:
		assert_int_equal(verdict, XDP_PASS);
		assert_true(trun_frame_eq(c->name, out, out_len, in, in_len));
		break;
	case X_DROP:
		assert_int_equal(verdict, XDP_DROP);
		break;
	case X_FWD: {
		struct tencap e = { .outer_family = 4,
				    .outer_src = SRC4,
				    .outer_dst = GW,
				    .dmac = MAC(0xa1),
				    .smac = MAC(0x02) };

		assert_int_equal(verdict, XDP_TX);
		assert_int_equal(tpkt_flow_key(&c->in, &key), 0);
		e.flow_hash = cg_flow_hash(&key, CG_TEST_SEED_CELL);
		l3_off = tpkt_l3_off(&c->in);
		/* the outer header: DSCP 0, the inner's ECN bits */
		n = tpkt_encap(&e, in + l3_off, in_len - l3_off, c->in.tos & 0x03, want,
			       sizeof(want));
		assert_true(n > 0);
		assert_true(trun_frame_eq(c->name, out, out_len, want, n));
		assert_int_equal(cg_dp_conn_lookup(dp, &key, &conn), 0);
		if (conn.class != c->class)
			fail_msg("%s: class %u, want %d", c->name, conn.class, c->class);
		break;
	}
	}
	(void)mac_lb;
	(void)mac_cell;
}

int main(void)
{
	static struct CMUnitTest tests[NHCASES];

	for (size_t i = 0; i < NHCASES; i++)
		tests[i] = (struct CMUnitTest){ .name = hcases[i].name,
						.test_func = test_hostile,
						.initial_state = (void *)&hcases[i] };
	return cg_test_run_group_("hostile_pkt", tests, NHCASES, setup, teardown,
				  geteuid() != 0 ? "needs root (BPF)" : NULL);
}
