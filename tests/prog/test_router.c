// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_router.c - the router program through BPF_PROG_TEST_RUN: exact output bytes, verdicts, counters */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <linux/bpf.h>

#include "cellgate/abi/consts.h"
#include "cellgate/dataplane.h"
#include "cellgate/abi/hash.h"
#include "testseed.h"
#include "cellgate/maglev.h"
#include "cellgate/abi/structs.h"
#include "pkt.h"
#include "testrun.h"
#include "testskip.h"

/*
 * The maps are filled through libcellgate's dataplane.c, the code the
 * controller uses; expected frames come from tests/lib/pkt.c, a second
 * implementation of the wire formats; the expected cell of a flow comes from
 * the live table read back from the kernel and the shared flow hash.
 */

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

#define SRC4 "198.18.0.1"
#define SRC6 "2001:db8::1"
#define MTU 1500
#define TABLE_SIZE CG_DEFAULT_TABLE_SIZE
#define MAC(last) { 0x02, 0x00, 0x5e, 0x10, 0x00, (last) }
#define RTR_MAC MAC(0x01) /* the router that hands us client traffic */
#define LB_MAC MAC(0x02)  /* this LB's interface */
#define CLIENT_VLAN 42	  /* settings' vlan: client frames tagged with it are routed */

struct tcell {
	uint32_t id;
	const char *name;
	int family;
	const char *gw;
	uint8_t encap;
	uint16_t gue_port;
	uint16_t vlan;
	uint8_t mac[6];
};

static const struct tcell cells[] = {
	{ 1, "a", 4, "198.18.1.10", CG_ENCAP_IPIP, 0, 0, MAC(0xa1) },
	{ 2, "b", 4, "198.18.2.10", CG_ENCAP_GUE, 6080, 0, MAC(0xa2) },
	{ 3, "c", 6, "2001:db8:1::10", CG_ENCAP_IPIP, 0, 0, MAC(0xa3) },
	{ 4, "d", 6, "2001:db8:2::10", CG_ENCAP_GUE, 7777, 100, MAC(0xa4) },
	{ 5, "e", 4, "198.18.5.10", CG_ENCAP_IPIP, 0, 0, MAC(0xa5) },
	{ 6, "f", 4, "198.18.6.10", CG_ENCAP_GUE, 6080, 0, MAC(0xa6) },
	{ 7, "g", 4, "198.18.7.10", CG_ENCAP_IPIP, 0, 0, MAC(0xa7) },
	{ 8, "h", 4, "198.18.8.10", CG_ENCAP_IPIP, 0, 0, MAC(0xa8) },
	{ 9, "i", 6, "2001:db8:9::10", CG_ENCAP_IPIP, 0, 0, MAC(0xa9) },
	{ 10, "j", 6, "2001:db8:a::10", CG_ENCAP_GUE, 6080, 0, MAC(0xaa) },
};
#define NCELLS (sizeof(cells) / sizeof(cells[0]))

struct tsvc {
	uint32_t id;
	int family;
	const char *vip;
	uint16_t port;
	uint8_t proto;
	const char *cells[8]; /* names, NULL-terminated */
	int frag_alias;       /* owns the port-0 alias of its VIP and protocol */
};

enum {
	S_V4_TCP,      /* one IPIP cell */
	S_V4_UDP,      /* one GUE cell, fragment alias */
	S_V6_TCP,      /* one IPv6 IPIP cell */
	S_V6_UDP,      /* one IPv6 GUE cell behind a VLAN, fragment alias */
	S_V4_OVER_V6,  /* IPv4 service, IPv6 cell */
	S_V6_OVER_V4,  /* IPv6 service, IPv4 GUE cell */
	S_MULTI_TCP,   /* six cells */
	S_MULTI_UDP,   /* six cells, fragment alias */
	S_MULTI_V6UDP, /* three IPv6 cells, fragment alias */
	S_NO_TABLE,    /* a service whose table was never built */
};

static const struct tsvc svcs[] = {
	[S_V4_TCP] = { 0, 4, "203.0.113.10", 80, IPPROTO_TCP, { "a" }, 0 },
	[S_V4_UDP] = { 1, 4, "203.0.113.10", 53, IPPROTO_UDP, { "b" }, 1 },
	[S_V6_TCP] = { 2, 6, "2001:db8:f00d::10", 443, IPPROTO_TCP, { "c" }, 0 },
	[S_V6_UDP] = { 3, 6, "2001:db8:f00d::10", 443, IPPROTO_UDP, { "d" }, 1 },
	[S_V4_OVER_V6] = { 4, 4, "203.0.113.20", 80, IPPROTO_TCP, { "c" }, 0 },
	[S_V6_OVER_V4] = { 5, 6, "2001:db8:f00d::20", 80, IPPROTO_TCP, { "b" }, 0 },
	[S_MULTI_TCP] = { 6, 4, "203.0.113.30", 80, IPPROTO_TCP, { "a", "b", "e", "f", "g", "h" }, 0 },
	[S_MULTI_UDP] = { 7, 4, "203.0.113.30", 53, IPPROTO_UDP, { "a", "b", "e", "f", "g", "h" }, 1 },
	[S_MULTI_V6UDP] = { 8, 6, "2001:db8:f00d::30", 53, IPPROTO_UDP, { "c", "i", "j" }, 1 },
	[S_NO_TABLE] = { 9, 4, "203.0.113.40", 80, IPPROTO_TCP, { NULL }, 0 },
};
#define NSVCS (sizeof(svcs) / sizeof(svcs[0]))

static struct cg_dp *dp;
static int prog_fd = -1;

static const struct tcell *cell_by_name(const char *name)
{
	for (size_t i = 0; i < NCELLS; i++)
		if (!strcmp(cells[i].name, name))
			return &cells[i];
	return NULL;
}

static const struct tcell *cell_by_id(uint32_t id)
{
	for (size_t i = 0; i < NCELLS; i++)
		if (cells[i].id == id)
			return &cells[i];
	return NULL;
}

static void addr_parse(int family, const char *text, __be32 out[4])
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, text, out), 1);
}

static void cell_write(const struct tcell *tc, uint8_t state)
{
	struct cg_cell c = { 0 };

	addr_parse(tc->family, tc->gw, c.gw);
	c.state = state;
	c.encap = tc->encap;
	c.family = tc->family == 4 ? CG_AF_INET : CG_AF_INET6;
	c.region = 0;
	memcpy(c.dmac, tc->mac, 6);
	c.vlan = htons(tc->vlan);
	c.gue_port = htons(tc->gue_port);
	assert_int_equal(cg_dp_cell_set(dp, tc->id, &c), 0);
}

static void svc_key(const struct tsvc *s, uint16_t port, struct cg_service_key *k)
{
	memset(k, 0, sizeof(*k));
	addr_parse(s->family, s->vip, k->addr);
	k->port = htons(port);
	k->proto = s->proto;
	k->family = s->family == 4 ? CG_AF_INET : CG_AF_INET6;
}

/* Build and swap in the Maglev table of svc from the named cells (weights equal). */
static void table_build(const struct tsvc *s, const char *const *names)
{
	struct cg_maglev_cell mc[8];
	uint32_t *slots;
	size_t n = 0;

	for (; n < 8 && names[n]; n++) {
		const struct tcell *tc = cell_by_name(names[n]);

		assert_non_null(tc);
		mc[n] = (struct cg_maglev_cell){ .id = tc->id, .name = tc->name, .weight = 1 };
	}
	slots = calloc(TABLE_SIZE, sizeof(*slots));
	assert_non_null(slots);
	assert_int_equal(cg_maglev_build(mc, n, slots, TABLE_SIZE), 0);
	assert_int_equal(cg_dp_table_swap(dp, s->id, slots, TABLE_SIZE), 0);
	free(slots);
}

/* The cell the live table of svc names for a flow key. */
static uint32_t table_cell(const struct tsvc *s, const struct cg_flow_key *key)
{
	static uint32_t slots[CG_DEFAULT_TABLE_SIZE];
	uint32_t size = 0;

	assert_int_equal(cg_dp_table_read(dp, s->id, slots, CG_DEFAULT_TABLE_SIZE, &size), 0);
	assert_true(size > 0);
	return slots[cg_flow_hash(key, CG_TEST_SEED_CELL) % size];
}

static int setup_all(void **state)
{
	struct cg_dp_opts opts = { .pin_dir = NULL, .conntrack_size = 65536 };
	struct cg_config cfg = { 0 };

	dp = cg_dp_open(&opts);
	if (!dp) {
		fprintf(stderr, "cannot load the router: %s\n", strerror(errno));
		return -1;
	}
	prog_fd = cg_dp_prog_fd(dp);
	assert_int_equal(inet_pton(AF_INET, SRC4, &cfg.src4), 1);
	addr_parse(6, SRC6, cfg.src6);
	cfg.mtu = MTU;
	cfg.seed_cell = CG_TEST_SEED_CELL;
	cfg.seed_admit = CG_TEST_SEED_ADMIT;
	cfg.vlan = CLIENT_VLAN;
	if (cg_dp_config_set(dp, &cfg))
		return -1;
	for (size_t i = 0; i < NCELLS; i++)
		cell_write(&cells[i], CG_CELL_ACTIVE);
	for (size_t i = 0; i < NSVCS; i++) {
		struct cg_service v = { .id = svcs[i].id };
		struct cg_service_key k;

		svc_key(&svcs[i], svcs[i].port, &k);
		if (cg_dp_service_set(dp, &k, &v))
			return -1;
		if (svcs[i].frag_alias) {
			svc_key(&svcs[i], 0, &k);
			v.flags = CG_SVC_F_FRAG_ALIAS;
			if (cg_dp_service_set(dp, &k, &v))
				return -1;
		}
		if (svcs[i].cells[0])
			table_build(&svcs[i], svcs[i].cells);
	}
	(void)state;
	return 0;
}

static int teardown_all(void **state)
{
	cg_dp_close(dp);
	dp = NULL;
	(void)state;
	return 0;
}

/* ---- running one frame ---- */

struct run {
	uint8_t in[TPKT_MAX_FRAME];
	size_t in_len;
	uint8_t out[TPKT_MAX_FRAME + 256];
	size_t out_len;
	uint32_t verdict;
	struct cg_counter before[CG_STAT_MAX], after[CG_STAT_MAX];
};

static void run_frame(struct run *r)
{
	assert_int_equal(cg_dp_stats_read(dp, r->before), 0);
	assert_int_equal(trun_xdp(prog_fd, r->in, r->in_len, r->out, sizeof(r->out), &r->out_len,
				  &r->verdict),
			 0);
	assert_int_equal(cg_dp_stats_read(dp, r->after), 0);
}

/* Exactly one counter moved, by one packet of the input's length. */
static void assert_stat(const struct run *r, unsigned int stat)
{
	for (unsigned int i = 0; i < CG_STAT_MAX; i++)
		if (r->after[i].packets != r->before[i].packets && i != stat)
			print_error("verdict %s, counter %s moved\n", trun_verdict_name(r->verdict),
				    cg_stat_name(i));
	for (unsigned int i = 0; i < CG_STAT_MAX; i++) {
		uint64_t dp_ = r->after[i].packets - r->before[i].packets;
		uint64_t db = r->after[i].bytes - r->before[i].bytes;

		if (i == stat && (dp_ != 1 || db != r->in_len))
			fail_msg("counter %s moved by %llu packets / %llu bytes, want 1 / %zu",
				 cg_stat_name(i), (unsigned long long)dp_, (unsigned long long)db,
				 r->in_len);
		if (i != stat && dp_)
			fail_msg("counter %s moved by %llu, want only %s", cg_stat_name(i),
				 (unsigned long long)dp_, cg_stat_name(stat));
	}
}

static void assert_frame(const struct run *r, const uint8_t *want, size_t want_len)
{
	if (r->out_len != want_len || memcmp(r->out, want, want_len)) {
		trun_hexdiff(stderr, r->out, r->out_len, want, want_len);
		fail_msg("output frame differs from the expected one");
	}
}

/* The frame the router must send for the datagram in r->in to cell tc. */
static size_t expect_encap(const struct run *r, size_t l3_off, size_t l3_len, uint8_t tos,
			   const struct tcell *tc, const struct cg_flow_key *key, uint8_t *out,
			   size_t cap)
{
	struct tencap e = {
		.outer_family = tc->family,
		.outer_src = tc->family == 4 ? SRC4 : SRC6,
		.outer_dst = tc->gw,
		.gue = tc->encap == CG_ENCAP_GUE,
		.gue_dport = tc->gue_port,
		.flow_hash = cg_flow_hash(key, CG_TEST_SEED_CELL),
		.dmac = { 0 },
		.smac = LB_MAC,
		.vlan_tci = tc->vlan,
	};
	size_t n;

	memcpy(e.dmac, tc->mac, 6);
	n = tpkt_encap(&e, r->in + l3_off, l3_len, tos, out, cap);
	assert_true(n > 0);
	return n;
}

/* ---- table-driven cases: one frame in, verdict, exact frame out, one counter ---- */

enum expect {
	X_SAME, /* XDP_PASS, frame unchanged */
	X_FWD,  /* XDP_TX, encapsulated to the cell the service's table names */
	X_DROP, /* XDP_DROP */
};

struct pcase {
	const char *name;
	struct tpkt in;
	size_t pad_to;  /* pad the frame with zeros to this length, as a NIC would */
	enum expect expect;
	unsigned int stat; /* the one counter that must move */
	int svc;           /* X_FWD: the service whose table names the cell */
};

#define CLIENT4(n) "198.18.100." #n
#define CLIENT6(n) "2001:db8:c::" #n
#define IN4(...) { .family = 4, .smac = RTR_MAC, .dmac = LB_MAC, __VA_ARGS__ }
#define IN6(...) { .family = 6, .smac = RTR_MAC, .dmac = LB_MAC, __VA_ARGS__ }

static const struct pcase pcases[] = {
	{ "v4_tcp_syn_ipip", IN4(.src = CLIENT4(1), .dst = "203.0.113.10", .proto = IPPROTO_TCP,
				 .sport = 40001, .dport = 80, .tcp_flags = TH_SYN, .df = 1),
	  0, X_FWD, CG_STAT_FWD, S_V4_TCP },
	{ "v4_tcp_data_ipip", IN4(.src = CLIENT4(1), .dst = "203.0.113.10", .proto = IPPROTO_TCP,
				  .sport = 40002, .dport = 80, .tcp_flags = TH_ACK, .df = 1,
				  .payload_len = 1000),
	  0, X_FWD, CG_STAT_FWD, S_V4_TCP },
	{ "v4_udp_gue", IN4(.src = CLIENT4(1), .dst = "203.0.113.10", .proto = IPPROTO_UDP,
			    .sport = 5353, .dport = 53, .payload_len = 40),
	  0, X_FWD, CG_STAT_FWD, S_V4_UDP },
	{ "v6_tcp_ip6ip6", IN6(.src = CLIENT6(1), .dst = "2001:db8:f00d::10", .proto = IPPROTO_TCP,
			       .sport = 40001, .dport = 443, .tcp_flags = TH_SYN),
	  0, X_FWD, CG_STAT_FWD, S_V6_TCP },
	{ "v6_udp_gue_vlan_egress", IN6(.src = CLIENT6(1), .dst = "2001:db8:f00d::10",
					.proto = IPPROTO_UDP, .sport = 4000, .dport = 443,
					.payload_len = 100, .flow_label = 0x12345),
	  0, X_FWD, CG_STAT_FWD, S_V6_UDP },
	{ "v4_in_v6", IN4(.src = CLIENT4(2), .dst = "203.0.113.20", .proto = IPPROTO_TCP,
			  .sport = 1234, .dport = 80, .tcp_flags = TH_SYN),
	  0, X_FWD, CG_STAT_FWD, S_V4_OVER_V6 },
	{ "v6_in_v4_gue", IN6(.src = CLIENT6(2), .dst = "2001:db8:f00d::20", .proto = IPPROTO_TCP,
			      .sport = 1234, .dport = 80, .tcp_flags = TH_SYN),
	  0, X_FWD, CG_STAT_FWD, S_V6_OVER_V4 },
	{ "v4_dscp_zeroed_ecn_copied", IN4(.src = CLIENT4(3), .dst = "203.0.113.10", .proto = IPPROTO_TCP,
				    .sport = 999, .dport = 80, .tos = 0xb9, .tcp_flags = TH_ACK),
	  0, X_FWD, CG_STAT_FWD, S_V4_TCP },
	{ "v6_tclass_dscp_zeroed_ecn_copied", IN6(.src = CLIENT6(3), .dst = "2001:db8:f00d::10",
				  .proto = IPPROTO_TCP, .tcp_flags = TH_ACK, .sport = 999, .dport = 443, .tos = 0x2a),
	  0, X_FWD, CG_STAT_FWD, S_V6_TCP },
	{ "v4_vlan_tag_removed", IN4(.src = CLIENT4(4), .dst = "203.0.113.10", .proto = IPPROTO_TCP, .tcp_flags = TH_ACK,
				     .sport = 2000, .dport = 80, .nvlan = 1, .vlan_tci = { 42 }),
	  0, X_FWD, CG_STAT_FWD, S_V4_TCP },
	{ "v6_qinq_tags_removed", IN6(.src = CLIENT6(4), .dst = "2001:db8:f00d::10",
				      .proto = IPPROTO_UDP, .sport = 2000, .dport = 443,
				      .nvlan = 2, .vlan_tci = { 42, 7 }, .payload_len = 8),
	  0, X_FWD, CG_STAT_FWD, S_V6_UDP },
	{ "v4_vlan_priority_tag_routed", IN4(.src = CLIENT4(4), .dst = "203.0.113.10", .proto = IPPROTO_TCP,
				     .tcp_flags = TH_ACK, .sport = 2001, .dport = 80, .nvlan = 1,
				     .vlan_tci = { 0x6000 }),
	  0, X_FWD, CG_STAT_FWD, S_V4_TCP },
	{ "v4_vlan_other_id_passes", IN4(.src = CLIENT4(4), .dst = "203.0.113.10", .proto = IPPROTO_TCP,
				     .tcp_flags = TH_ACK, .sport = 2002, .dport = 80, .nvlan = 1,
				     .vlan_tci = { 43 }),
	  0, X_SAME, CG_STAT_PASS_VLAN, S_V4_TCP },
	{ "v6_qinq_outer_other_id_passes", IN6(.src = CLIENT6(4), .dst = "2001:db8:f00d::10",
				      .proto = IPPROTO_UDP, .sport = 2003, .dport = 443,
				      .nvlan = 2, .vlan_tci = { 7, 42 }, .payload_len = 8),
	  0, X_SAME, CG_STAT_PASS_VLAN, S_V6_UDP },
	{ "v4_options_12", IN4(.src = CLIENT4(5), .dst = "203.0.113.10", .proto = IPPROTO_TCP, .tcp_flags = TH_ACK,
			       .sport = 3000, .dport = 80, .ip_opt_len = 12, .payload_len = 20),
	  0, X_FWD, CG_STAT_FWD, S_V4_TCP },
	{ "v4_options_40", IN4(.src = CLIENT4(5), .dst = "203.0.113.10", .proto = IPPROTO_UDP,
			       .sport = 3000, .dport = 53, .ip_opt_len = 40, .payload_len = 3),
	  0, X_FWD, CG_STAT_FWD, S_V4_UDP },
	{ "v6_hop_dst_ext", IN6(.src = CLIENT6(5), .dst = "2001:db8:f00d::10", .proto = IPPROTO_TCP, .tcp_flags = TH_ACK,
				.sport = 3000, .dport = 443, .n_ext = 2, .ext = { 0, 60 }),
	  0, X_FWD, CG_STAT_FWD, S_V6_TCP },
	{ "v6_routing_ext", IN6(.src = CLIENT6(5), .dst = "2001:db8:f00d::10",
				.proto = IPPROTO_UDP, .sport = 3001, .dport = 443, .n_ext = 1,
				.ext = { 43 }, .payload_len = 16),
	  0, X_FWD, CG_STAT_FWD, S_V6_UDP },
	{ "v6_four_ext", IN6(.src = CLIENT6(5), .dst = "2001:db8:f00d::10", .proto = IPPROTO_TCP, .tcp_flags = TH_ACK,
			     .sport = 3002, .dport = 443, .n_ext = 4, .ext = { 0, 60, 43, 60 }),
	  0, X_FWD, CG_STAT_FWD, S_V6_TCP },
	{ "v4_padded_frame_keeps_padding_outside_the_datagram", IN4(.src = CLIENT4(6), .dst = "203.0.113.10",
					 .proto = IPPROTO_TCP, .sport = 4000, .dport = 80,
					 .tcp_flags = TH_ACK),
	  60, X_FWD, CG_STAT_FWD, S_V4_TCP },
	{ "v4_multi_cell", IN4(.src = CLIENT4(7), .dst = "203.0.113.30", .proto = IPPROTO_TCP,
			       .sport = 5000, .dport = 80, .tcp_flags = TH_SYN),
	  0, X_FWD, CG_STAT_FWD, S_MULTI_TCP },
	{ "v4_udp_first_fragment", IN4(.src = CLIENT4(8), .dst = "203.0.113.30",
				       .proto = IPPROTO_UDP, .sport = 6000, .dport = 53,
				       .frag = TPKT_FRAG_FIRST, .ip_id = 77, .payload_len = 64),
	  0, X_FWD, CG_STAT_FWD, S_MULTI_UDP },
	{ "v4_udp_later_fragment", IN4(.src = CLIENT4(8), .dst = "203.0.113.30",
				       .proto = IPPROTO_UDP, .frag = TPKT_FRAG_LATER,
				       .frag_offset_bytes = 72, .ip_id = 77, .payload_len = 30),
	  0, X_FWD, CG_STAT_FWD, S_MULTI_UDP },
	{ "v6_udp_first_fragment", IN6(.src = CLIENT6(8), .dst = "2001:db8:f00d::30",
				       .proto = IPPROTO_UDP, .sport = 6000, .dport = 53,
				       .frag = TPKT_FRAG_FIRST, .ip_id = 99, .payload_len = 64),
	  0, X_FWD, CG_STAT_FWD, S_MULTI_V6UDP },
	{ "v6_udp_later_fragment", IN6(.src = CLIENT6(8), .dst = "2001:db8:f00d::30",
				       .proto = IPPROTO_UDP, .frag = TPKT_FRAG_LATER,
				       .frag_offset_bytes = 72, .ip_id = 99, .payload_len = 30),
	  0, X_FWD, CG_STAT_FWD, S_MULTI_V6UDP },
	/* not ours: passed, byte for byte */
	{ "v4_other_port_passes", IN4(.src = CLIENT4(9), .dst = "203.0.113.10",
				      .proto = IPPROTO_TCP, .tcp_flags = TH_ACK, .sport = 1, .dport = 81),
	  0, X_SAME, CG_STAT_PASS_NO_SERVICE, 0 },
	{ "v4_other_addr_passes", IN4(.src = CLIENT4(9), .dst = "198.18.0.1", .proto = IPPROTO_TCP,
				      .sport = 1, .dport = 22),
	  0, X_SAME, CG_STAT_PASS_NO_SERVICE, 0 },
	{ "v4_other_proto_to_vip_port", IN4(.src = CLIENT4(9), .dst = "203.0.113.10",
					    .proto = IPPROTO_UDP, .sport = 1, .dport = 80),
	  0, X_SAME, CG_STAT_PASS_NO_SERVICE, 0 },
	{ "v6_other_addr_passes", IN6(.src = CLIENT6(9), .dst = "2001:db8::1", .proto = IPPROTO_UDP,
				      .sport = 1, .dport = 443),
	  0, X_SAME, CG_STAT_PASS_NO_SERVICE, 0 },
	{ "v4_icmp_echo_passes", IN4(.src = CLIENT4(9), .dst = "203.0.113.10",
				     .proto = IPPROTO_ICMP, .sport = 1, .payload_len = 8),
	  0, X_SAME, CG_STAT_PASS_L4_OTHER, 0 },
	{ "v6_icmp_echo_passes", IN6(.src = CLIENT6(9), .dst = "2001:db8:f00d::10",
				     .proto = IPPROTO_ICMPV6, .sport = 1, .payload_len = 8),
	  0, X_SAME, CG_STAT_PASS_L4_OTHER, 0 },
	{ "v4_gre_passes", IN4(.src = CLIENT4(9), .dst = "203.0.113.10", .proto = 47,
			       .payload_len = 24),
	  0, X_SAME, CG_STAT_PASS_L4_OTHER, 0 },
	{ "v6_five_ext_passes", IN6(.src = CLIENT6(9), .dst = "2001:db8:f00d::10",
				    .proto = IPPROTO_TCP, .sport = 1, .dport = 443, .n_ext = 4,
				    .ext = { 0, 60, 43, 60 }, .frag = TPKT_FRAG_FIRST),
	  0, X_SAME, CG_STAT_PASS_V6_EXT, 0 },
	{ "three_vlan_tags_pass", IN4(.src = CLIENT4(9), .dst = "203.0.113.10",
				      .proto = IPPROTO_TCP, .sport = 1, .dport = 80, .nvlan = 2,
				      .vlan_tci = { 1, 2 }, .vlan_tpid = { 0x8100, 0x8100 }),
	  0, X_SAME, CG_STAT_PASS_NOT_IP, 0 }, /* third tag pushed by the test below */
	/* ours but nowhere to send it */
	{ "service_without_table_drops", IN4(.src = CLIENT4(10), .dst = "203.0.113.40",
					     .proto = IPPROTO_TCP, .tcp_flags = TH_ACK, .sport = 1, .dport = 80),
	  0, X_DROP, CG_STAT_DROP_NO_CELL, 0 },
};
#define NPCASES (sizeof(pcases) / sizeof(pcases[0]))

static void test_case(void **state)
{
	const struct pcase *c = *state;
	static struct run r;
	static uint8_t want[TPKT_MAX_FRAME + 256];
	struct cg_flow_key key;
	size_t l3_off, l3_len, n;

	memset(&r, 0, sizeof(r));
	r.in_len = tpkt_build(&c->in, r.in, sizeof(r.in));
	assert_true(r.in_len > 0);
	if (!strcmp(c->name, "three_vlan_tags_pass"))
		r.in_len = tpkt_push_vlan(r.in, r.in_len, sizeof(r.in), 0x88a8, 3);
	l3_off = tpkt_l3_off(&c->in);
	l3_len = r.in_len - l3_off;
	if (c->pad_to)
		r.in_len = tpkt_pad(r.in, r.in_len, sizeof(r.in), c->pad_to);
	assert_true(r.in_len > 0);

	run_frame(&r);
	assert_stat(&r, c->stat);
	switch (c->expect) {
	case X_SAME:
		assert_int_equal(r.verdict, XDP_PASS);
		assert_frame(&r, r.in, r.in_len);
		break;
	case X_DROP:
		assert_int_equal(r.verdict, XDP_DROP);
		break;
	case X_FWD:
		assert_int_equal(r.verdict, XDP_TX);
		assert_int_equal(tpkt_flow_key(&c->in, &key), 0);
		n = expect_encap(&r, l3_off, l3_len, c->in.tos & 0x03,
				 cell_by_id(table_cell(&svcs[c->svc], &key)), &key, want,
				 sizeof(want));
		/* a short frame's padding stays after the datagram, beyond the outer IP length */
		memcpy(want + n, r.in + l3_off + l3_len, r.in_len - l3_off - l3_len);
		n += r.in_len - l3_off - l3_len;
		assert_frame(&r, want, n);
		break;
	}
}

/* ---- malformed input ---- */

/* Every proper prefix of a routed frame is dropped as malformed, never forwarded. */
static void test_truncated_at_every_byte_is_dropped(void **state)
{
	static const struct tpkt bases[] = {
		IN4(.src = CLIENT4(20), .dst = "203.0.113.10", .proto = IPPROTO_TCP, .sport = 1,
		    .dport = 80, .ip_opt_len = 8, .nvlan = 1, .vlan_tci = { 5 }),
		IN4(.src = CLIENT4(20), .dst = "203.0.113.10", .proto = IPPROTO_UDP, .sport = 1,
		    .dport = 53, .payload_len = 4),
		IN6(.src = CLIENT6(20), .dst = "2001:db8:f00d::10", .proto = IPPROTO_TCP,
		    .sport = 1, .dport = 443, .n_ext = 2, .ext = { 0, 43 }, .nvlan = 2,
		    .vlan_tci = { 1, 2 }),
		IN6(.src = CLIENT6(20), .dst = "2001:db8:f00d::10", .proto = IPPROTO_UDP,
		    .sport = 1, .dport = 443, .frag = TPKT_FRAG_FIRST, .payload_len = 8),
	};
	static struct run r;
	uint8_t full[TPKT_MAX_FRAME];
	size_t full_len, cut, checked = 0;

	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		full_len = tpkt_build(&bases[b], full, sizeof(full));
		assert_true(full_len > 0);
		for (cut = 0; cut < full_len; cut++) {
			memset(&r, 0, sizeof(r));
			memcpy(r.in, full, cut);
			r.in_len = cut;
			if (cut < TPKT_ETH_HLEN) /* BPF_PROG_TEST_RUN refuses runt frames */
				continue;
			run_frame(&r);
			if (r.verdict != XDP_DROP)
				fail_msg("base %zu cut at %zu: verdict %u, want XDP_DROP", b, cut,
					 r.verdict);
			assert_stat(&r, CG_STAT_DROP_MALFORMED);
			checked++;
		}
	}
	print_message("%zu truncated frames dropped\n", checked);
	(void)state;
}

/* Header fields that lie: each one dropped as malformed. */
static void test_lying_headers_are_dropped(void **state)
{
	struct tpkt v4 = IN4(.src = CLIENT4(21), .dst = "203.0.113.10", .proto = IPPROTO_TCP,
			     .sport = 1, .dport = 80, .payload_len = 10);
	struct tpkt v6 = IN6(.src = CLIENT6(21), .dst = "2001:db8:f00d::10", .proto = IPPROTO_TCP,
			     .sport = 1, .dport = 443, .payload_len = 10);
	static struct run r;
	const size_t l3 = TPKT_ETH_HLEN;
	struct {
		const char *what;
		int family;
		size_t off;  /* from the IP header */
		uint8_t val; /* byte written there */
		int add_tail; /* bytes appended after building */
	} lies[] = {
		{ "ipv4 version 5", 4, 0, 0x55, 0 },
		{ "ipv4 ihl 4", 4, 0, 0x44, 0 },
		{ "ipv4 ihl 15 beyond frame", 4, 0, 0x4f, 0 },
		{ "ipv4 total length beyond frame", 4, 2, 0xff, 0 },
		{ "ipv4 total length below header", 4, 3, 10, 0 },
		{ "tcp data offset 4", 4, 20 + 12, 0x40, 0 },
		{ "ipv6 version 4", 6, 0, 0x40, 0 },
		{ "ipv6 payload length beyond frame", 6, 4, 0x7f, 0 },
		{ "ipv6 jumbogram (payload length 0)", 6, 5, 0, 1 },
		{ "tcp header in the ethernet padding", 4, 3, 20 + 10, 0 },
	};

	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.in_len = tpkt_build(lies[i].family == 4 ? &v4 : &v6, r.in, sizeof(r.in));
		assert_true(r.in_len > 0);
		r.in[l3 + lies[i].off] = lies[i].val;
		if (!strcmp(lies[i].what, "ipv4 total length below header") ||
		    !strcmp(lies[i].what, "tcp header in the ethernet padding"))
			r.in[l3 + 2] = 0;
		if (lies[i].add_tail)
			r.in[l3 + 4] = 0;
		run_frame(&r);
		if (r.verdict != XDP_DROP)
			fail_msg("%s: verdict %u, want XDP_DROP", lies[i].what, r.verdict);
		assert_stat(&r, CG_STAT_DROP_MALFORMED);
	}
	(void)state;
}

static void test_non_ip_passes_unchanged(void **state)
{
	static struct run r;
	/* an ARP request: who has 198.18.0.1 */
	static const uint8_t arp[] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01,
		198,  18,   100,  1,    0,    0,    0,    0,    0,    0,    198,  18,   0,    1,
	};

	memset(&r, 0, sizeof(r));
	memcpy(r.in, arp, sizeof(arp));
	r.in_len = sizeof(arp);
	run_frame(&r);
	assert_int_equal(r.verdict, XDP_PASS);
	assert_stat(&r, CG_STAT_PASS_NOT_IP);
	assert_frame(&r, arp, sizeof(arp));
	(void)state;
}

/* ---- ICMP ---- */

/* The client's 'fragmentation needed' about a VIP->client packet reaches the flow's cell. */
static void test_icmp4_error_follows_its_flow(void **state)
{
	struct tpkt flow = IN4(.src = CLIENT4(30), .dst = "203.0.113.30", .proto = IPPROTO_TCP,
			       .sport = 41000, .dport = 80, .tcp_flags = TH_SYN);
	struct tpkt quoted = { .family = 4, .src = "203.0.113.30", .dst = CLIENT4(30),
			       .proto = IPPROTO_TCP, .sport = 80, .dport = 41000,
			       .tcp_flags = TH_ACK, .payload_len = 1400, .df = 1 };
	struct tpkt err = IN4(.src = CLIENT4(30), .dst = "203.0.113.30");
	static struct run r;
	static uint8_t want[TPKT_MAX_FRAME];
	struct cg_flow_key key;
	struct cg_conn conn;
	uint32_t cell;
	size_t n;

	assert_int_equal(tpkt_flow_key(&flow, &key), 0);
	/* first the flow, pinned to a cell that is not what the table says */
	cell = table_cell(&svcs[S_MULTI_TCP], &key);
	conn = (struct cg_conn){ .cell = cell == 1 ? 2 : 1, .service = svcs[S_MULTI_TCP].id };
	assert_int_equal(cg_dp_conn_set(dp, &key, &conn), 0);

	memset(&r, 0, sizeof(r));
	r.in_len = tpkt_build_icmp_too_big(&err, &quoted, 0, 1400, r.in, sizeof(r.in));
	assert_true(r.in_len > 0);
	run_frame(&r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_stat(&r, CG_STAT_FWD_ICMP);
	n = expect_encap(&r, TPKT_ETH_HLEN, r.in_len - TPKT_ETH_HLEN, 0, cell_by_id(conn.cell),
			 &key, want, sizeof(want));
	assert_frame(&r, want, n);
	(void)state;
}

/* Without a connection entry the error follows the table, and creates no entry. */
static void test_icmp6_error_without_entry_follows_table(void **state)
{
	struct tpkt flow = IN6(.src = CLIENT6(30), .dst = "2001:db8:f00d::30",
			       .proto = IPPROTO_UDP, .sport = 41000, .dport = 53);
	struct tpkt quoted = { .family = 6, .src = "2001:db8:f00d::30", .dst = CLIENT6(30),
			       .proto = IPPROTO_UDP, .sport = 53, .dport = 41000,
			       .payload_len = 1400 };
	struct tpkt err = IN6(.src = CLIENT6(30), .dst = "2001:db8:f00d::30");
	static struct run r;
	static uint8_t want[TPKT_MAX_FRAME];
	struct cg_flow_key key;
	struct cg_conn conn;
	size_t n;

	assert_int_equal(tpkt_flow_key(&flow, &key), 0);
	memset(&r, 0, sizeof(r));
	r.in_len = tpkt_build_icmp_too_big(&err, &quoted, 0, 1280, r.in, sizeof(r.in));
	assert_true(r.in_len > 0);
	run_frame(&r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_stat(&r, CG_STAT_FWD_ICMP);
	n = expect_encap(&r, TPKT_ETH_HLEN, r.in_len - TPKT_ETH_HLEN, 0,
			 cell_by_id(table_cell(&svcs[S_MULTI_V6UDP], &key)), &key, want,
			 sizeof(want));
	assert_frame(&r, want, n);
	assert_int_equal(cg_dp_conn_lookup(dp, &key, &conn), -ENOENT);
	(void)state;
}

/* Too big once encapsulated: the client is told the MTU it may use. */
static void check_too_big(const struct tpkt *in, size_t inner_len, uint32_t want_mtu)
{
	static struct run r;
	static uint8_t want[TPKT_MAX_FRAME];
	struct tpkt p = *in, reply = { 0 };
	size_t n;

	p.payload_len = inner_len - (p.family == 4 ? 20 : 40) - (p.proto == IPPROTO_TCP ? 20 : 8) -
			(size_t)p.ip_opt_len;
	memset(&r, 0, sizeof(r));
	r.in_len = tpkt_build(&p, r.in, sizeof(r.in));
	assert_int_equal(r.in_len, tpkt_l3_off(&p) + inner_len);
	run_frame(&r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_stat(&r, CG_STAT_ICMP_TOO_BIG);

	/* from the VIP to the client, L2 reversed, tags kept */
	reply.family = p.family;
	reply.src = p.dst;
	reply.dst = p.src;
	memcpy(reply.smac, p.dmac, 6);
	memcpy(reply.dmac, p.smac, 6);
	reply.nvlan = p.nvlan;
	memcpy(reply.vlan_tci, p.vlan_tci, sizeof(p.vlan_tci));
	memcpy(reply.vlan_tpid, p.vlan_tpid, sizeof(p.vlan_tpid));
	n = tpkt_build_icmp_err(&reply, p.family == 4 ? 3 : 2, p.family == 4 ? 4 : 0,
				p.family == 4 ? want_mtu & 0xffff : want_mtu, &p, CG_ICMP_QUOTE,
				want, sizeof(want));
	assert_true(n > 0);
	assert_frame(&r, want, n);
}

static void test_too_big_v4_df_gets_frag_needed(void **state)
{
	struct tpkt in = IN4(.src = CLIENT4(40), .dst = "203.0.113.10", .proto = IPPROTO_TCP,
			     .sport = 7000, .dport = 80, .df = 1, .tcp_flags = TH_ACK);

	check_too_big(&in, MTU - 20 + 1, MTU - 20); /* IPIP over IPv4: 20 bytes */
	(void)state;
}

static void test_too_big_v4_vlan_reply_keeps_tag(void **state)
{
	struct tpkt in = IN4(.src = CLIENT4(41), .dst = "203.0.113.10", .proto = IPPROTO_UDP,
			     .sport = 7000, .dport = 53, .df = 1, .nvlan = 1,
			     .vlan_tci = { CLIENT_VLAN });

	check_too_big(&in, MTU - 28 + 1, MTU - 28); /* GUE over IPv4: 28 bytes */
	(void)state;
}

static void test_too_big_v6_gets_packet_too_big(void **state)
{
	struct tpkt in = IN6(.src = CLIENT6(40), .dst = "2001:db8:f00d::10", .proto = IPPROTO_TCP,
			     .sport = 7000, .dport = 443, .tcp_flags = TH_ACK);

	check_too_big(&in, MTU - 40 + 1, MTU - 40); /* IPv6 in IPv6: 40 bytes */
	(void)state;
}

static void test_fits_exactly_is_forwarded(void **state)
{
	struct tpkt in = IN6(.src = CLIENT6(42), .dst = "2001:db8:f00d::10", .proto = IPPROTO_UDP,
			     .sport = 7000, .dport = 443);
	static struct run r;

	in.payload_len = MTU - 48 - 40 - 8; /* GUE over IPv6: 48 bytes */
	memset(&r, 0, sizeof(r));
	r.in_len = tpkt_build(&in, r.in, sizeof(r.in));
	run_frame(&r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_stat(&r, CG_STAT_FWD);
	assert_int_equal(r.out_len, TPKT_ETH_HLEN + 4 /* egress VLAN of cell d */ + MTU);
	(void)state;
}

static void test_too_big_v4_no_df_is_dropped(void **state)
{
	struct tpkt in = IN4(.src = CLIENT4(43), .dst = "203.0.113.10", .proto = IPPROTO_TCP,
			     .sport = 7000, .dport = 80, .tcp_flags = TH_ACK, .df = 0, .payload_len = 1500);
	static struct run r;

	memset(&r, 0, sizeof(r));
	r.in_len = tpkt_build(&in, r.in, sizeof(r.in));
	run_frame(&r);
	assert_int_equal(r.verdict, XDP_DROP);
	assert_stat(&r, CG_STAT_DROP_TOO_BIG);
	(void)state;
}

/* ---- state: connection table, swaps, cell states ---- */

/* Send one packet of flow p; return the cell id it was sent to (from the outer destination). */
static uint32_t send_flow(const struct tpkt *p)
{
	static struct run r;
	__be32 dst[4];

	memset(&r, 0, sizeof(r));
	r.in_len = tpkt_build(p, r.in, sizeof(r.in));
	assert_true(r.in_len > 0);
	run_frame(&r);
	if (r.verdict != XDP_TX)
		return UINT32_MAX;
	/* outer destination: IPv4 at 14 + 16, IPv6 at 14 + 24 (no egress tags on these cells) */
	memset(dst, 0, sizeof(dst));
	if (r.out[12] == 0x08 && r.out[13] == 0x00)
		memcpy(dst, r.out + TPKT_ETH_HLEN + 16, 4);
	else
		memcpy(dst, r.out + TPKT_ETH_HLEN + 24, 16);
	for (size_t i = 0; i < NCELLS; i++) {
		__be32 gw[4];

		addr_parse(cells[i].family, cells[i].gw, gw);
		if (!memcmp(gw, dst, 16))
			return cells[i].id;
	}
	fail_msg("output to an unknown gateway");
	return UINT32_MAX;
}

static struct tpkt multi_flow(int n, uint8_t flags)
{
	static char src[64];
	struct tpkt p = IN4(.dst = "203.0.113.30", .proto = IPPROTO_TCP, .dport = 80);

	snprintf(src, sizeof(src), "198.18.%d.%d", 110 + n / 250, 1 + n % 250);
	p.src = src;
	p.sport = (uint16_t)(10000 + n);
	p.tcp_flags = flags;
	return p;
}

static const char *const multi_cells[] = { "a", "b", "e", "f", "g", "h", NULL };

static void restore_multi(void)
{
	for (size_t i = 0; i < NCELLS; i++)
		cell_write(&cells[i], CG_CELL_ACTIVE);
	table_build(&svcs[S_MULTI_TCP], multi_cells);
}

/* New flows land where the live table says, and spread over all its cells. */
static void test_new_flows_follow_the_live_table(void **state)
{
	unsigned int count[16] = { 0 };
	struct cg_flow_key key;

	restore_multi();
	for (int i = 0; i < 600; i++) {
		struct tpkt p = multi_flow(i, TH_SYN);
		uint32_t got = send_flow(&p);

		assert_int_equal(tpkt_flow_key(&p, &key), 0);
		assert_int_equal(got, table_cell(&svcs[S_MULTI_TCP], &key));
		count[got]++;
	}
	for (size_t i = 0; multi_cells[i]; i++)
		assert_true(count[cell_by_name(multi_cells[i])->id] > 50);
	(void)state;
}

/* Set the settings' cell seed (the hash key's), keeping the rest. */
static void set_seed_cell(uint32_t seed)
{
	struct cg_config cfg;

	assert_int_equal(cg_dp_config_get(dp, &cfg), 0);
	cfg.seed_cell = seed;
	assert_int_equal(cg_dp_config_set(dp, &cfg), 0);
}

/* The cells of n new flows under seed, their connection entries removed again (n <= 500). */
static void cells_under_seed(uint32_t seed, uint32_t *got, int n)
{
	static uint32_t slots[CG_DEFAULT_TABLE_SIZE];
	struct cg_flow_key key;
	uint32_t size = 0;

	set_seed_cell(seed);
	assert_int_equal(
		cg_dp_table_read(dp, svcs[S_MULTI_TCP].id, slots, CG_DEFAULT_TABLE_SIZE, &size), 0);
	for (int i = 0; i < n; i++) {
		struct tpkt p = multi_flow(700 + i, TH_SYN); /* flows no other test makes */

		assert_int_equal(tpkt_flow_key(&p, &key), 0);
		got[i] = send_flow(&p);
		assert_int_equal(got[i], slots[cg_flow_hash(&key, seed) % size]);
		assert_int_equal(cg_dp_conn_del(dp, &key), 0);
	}
}

/* Another hash key picks other cells for the same flows; the same key the same cells. */
static void test_hash_key_decides_the_cell(void **state)
{
	uint32_t a[300], b[300], again[300];
	int moved = 0;

	restore_multi();
	cells_under_seed(0x1234567U, a, 300);
	cells_under_seed(0x89abcdefU, b, 300);
	cells_under_seed(0x1234567U, again, 300);
	set_seed_cell(CG_TEST_SEED_CELL);
	for (int i = 0; i < 300; i++)
		moved += a[i] != b[i];
	assert_memory_equal(a, again, sizeof(a));
	assert_true(moved > 150); /* 5 in 6 with six cells */
	(void)state;
}

/* A table swap (a cell added) moves no established flow; new flows use the new table. */
static void test_conntrack_keeps_flows_across_a_swap(void **state)
{
	static const char *const with_i[] = { "a", "b", "e", "f", "g", "h", "c", NULL };
	uint32_t before[400];
	unsigned int moved_new = 0, to_c = 0;
	struct cg_flow_key key;

	restore_multi();
	for (int i = 0; i < 400; i++) {
		struct tpkt p = multi_flow(1000 + i, TH_SYN);

		before[i] = send_flow(&p);
	}
	table_build(&svcs[S_MULTI_TCP], with_i);
	for (int i = 0; i < 400; i++) {
		struct tpkt p = multi_flow(1000 + i, TH_ACK);

		assert_int_equal(send_flow(&p), before[i]);
	}
	/* fresh flows follow the new table, cell c included */
	for (int i = 0; i < 400; i++) {
		struct tpkt p = multi_flow(2000 + i, TH_SYN);
		uint32_t got = send_flow(&p);

		assert_int_equal(tpkt_flow_key(&p, &key), 0);
		assert_int_equal(got, table_cell(&svcs[S_MULTI_TCP], &key));
		to_c += got == cell_by_name("c")->id;
		moved_new++;
	}
	assert_true(to_c > 20);
	print_message("%u new flows, %u on the added cell\n", moved_new, to_c);
	restore_multi();
	(void)state;
}

/* Draining: established flows stay, no new flow goes there. */
static void test_draining_cell_keeps_flows_takes_no_new(void **state)
{
	static const char *const without_e[] = { "a", "b", "f", "g", "h", NULL };
	const struct tcell *e = cell_by_name("e");
	int on_e[400], n_on_e = 0;

	restore_multi();
	for (int i = 0; i < 400; i++) {
		struct tpkt p = multi_flow(3000 + i, TH_SYN);

		if (send_flow(&p) == e->id)
			on_e[n_on_e++] = 3000 + i;
	}
	assert_true(n_on_e > 10);
	/* what the controller does: state draining, then a table without it */
	cell_write(e, CG_CELL_DRAINING);
	table_build(&svcs[S_MULTI_TCP], without_e);
	for (int i = 0; i < n_on_e; i++) {
		struct tpkt p = multi_flow(on_e[i], TH_ACK);

		assert_int_equal(send_flow(&p), e->id);
	}
	for (int i = 0; i < 400; i++) {
		struct tpkt p = multi_flow(4000 + i, TH_SYN);

		assert_int_not_equal(send_flow(&p), e->id);
	}
	restore_multi();
	(void)state;
}

/* Down: the cell's flows move to the table's choice, and stay there. */
static void test_down_cell_flows_are_rehashed(void **state)
{
	static const char *const without_f[] = { "a", "b", "e", "g", "h", NULL };
	const struct tcell *f = cell_by_name("f");
	struct cg_flow_key key;
	struct cg_conn conn;
	int on_f[400], n_on_f = 0;

	restore_multi();
	for (int i = 0; i < 400; i++) {
		struct tpkt p = multi_flow(5000 + i, TH_SYN);

		if (send_flow(&p) == f->id)
			on_f[n_on_f++] = 5000 + i;
	}
	assert_true(n_on_f > 10);
	cell_write(f, CG_CELL_DOWN);
	table_build(&svcs[S_MULTI_TCP], without_f);
	for (int i = 0; i < n_on_f; i++) {
		struct tpkt p = multi_flow(on_f[i], TH_ACK);
		uint32_t got = send_flow(&p);

		assert_int_equal(tpkt_flow_key(&p, &key), 0);
		assert_int_not_equal(got, f->id);
		assert_int_equal(got, table_cell(&svcs[S_MULTI_TCP], &key));
		assert_int_equal(cg_dp_conn_lookup(dp, &key, &conn), 0);
		assert_int_equal(conn.cell, got);
	}
	restore_multi();
	(void)state;
}

/* cell_moves of cell id, summed over CPUs. */
static uint64_t moves_of(uint32_t id)
{
	uint64_t n = UINT64_MAX;

	assert_int_equal(cg_dp_cell_moves_read(dp, id, &n), 0);
	return n;
}

/* Every cell's cell_moves count since before[], f's by f_moves, the others' by 0. */
static void assert_moves(const uint64_t *before, const struct tcell *f, uint64_t f_moves)
{
	for (size_t i = 0; i < NCELLS; i++)
		assert_int_equal(moves_of(cells[i].id) - before[i],
				 f && cells[i].id == f->id ? f_moves : 0);
}

/*
 * cell_moves: a flow pinned to a cell that goes down is picked again and
 * counted once, on the cell it left (1), none on the cell it lands on (0);
 * its later packets count nothing. A SYN retransmission pinned to a down
 * cell moves and counts the same way. A draining cell keeps its flows and
 * counts nothing.
 */
static void test_moves_counted_on_the_cell_left(void **state)
{
	static const char *const without_e[] = { "a", "b", "f", "g", "h", NULL };
	static const char *const without_f[] = { "a", "b", "e", "g", "h", NULL };
	const struct tcell *e = cell_by_name("e"), *f = cell_by_name("f");
	int on_e = -1, on_f = -1, syn_f = -1;
	uint64_t before[NCELLS];
	uint32_t to, to_syn;
	struct tpkt p;

	restore_multi();
	for (int i = 0; i < 400 && (on_e < 0 || on_f < 0 || syn_f < 0); i++) {
		uint32_t got;

		p = multi_flow(7000 + i, TH_SYN);
		got = send_flow(&p);
		if (got == e->id && on_e < 0)
			on_e = 7000 + i;
		else if (got == f->id && on_f < 0)
			on_f = 7000 + i;
		else if (got == f->id && syn_f < 0)
			syn_f = 7000 + i;
	}
	assert_true(on_e >= 0 && on_f >= 0 && syn_f >= 0);
	for (size_t i = 0; i < NCELLS; i++)
		before[i] = moves_of(cells[i].id);

	/* draining: its flow stays on it, and nothing counts */
	cell_write(e, CG_CELL_DRAINING);
	table_build(&svcs[S_MULTI_TCP], without_e);
	p = multi_flow(on_e, TH_ACK);
	assert_int_equal(send_flow(&p), e->id);
	assert_int_equal(send_flow(&p), e->id);
	assert_moves(before, NULL, 0);
	restore_multi();

	/* down: the next packet goes elsewhere; f counts 1, the cell it went to 0 */
	cell_write(f, CG_CELL_DOWN);
	table_build(&svcs[S_MULTI_TCP], without_f);
	p = multi_flow(on_f, TH_ACK);
	to = send_flow(&p);
	assert_int_not_equal(to, f->id);
	assert_int_not_equal(to, UINT32_MAX);
	assert_moves(before, f, 1);
	/* once moved, its packets are established on the new cell: no more counts */
	assert_int_equal(send_flow(&p), to);
	assert_moves(before, f, 1);
	/* a SYN retransmitted on an entry to the down cell: picked again, counted on f */
	p = multi_flow(syn_f, TH_SYN);
	to_syn = send_flow(&p);
	assert_int_not_equal(to_syn, f->id);
	assert_int_not_equal(to_syn, UINT32_MAX);
	assert_moves(before, f, 2);
	restore_multi();
	(void)state;
}

/* A table still naming a down cell (the controller has not swapped yet): dropped, counted. */
static void test_table_slot_on_down_cell_drops(void **state)
{
	static const char *const only_g[] = { "g", NULL };
	struct tpkt p = multi_flow(6000, TH_SYN);
	static struct run r;

	restore_multi();
	table_build(&svcs[S_MULTI_TCP], only_g);
	cell_write(cell_by_name("g"), CG_CELL_DOWN);
	memset(&r, 0, sizeof(r));
	r.in_len = tpkt_build(&p, r.in, sizeof(r.in));
	run_frame(&r);
	assert_int_equal(r.verdict, XDP_DROP);
	assert_stat(&r, CG_STAT_DROP_NO_CELL);
	restore_multi();
	(void)state;
}

/* Per-service and per-cell counters move with the packet. */
static void test_service_and_cell_counters(void **state)
{
	struct tpkt p = IN4(.src = CLIENT4(50), .dst = "203.0.113.10", .proto = IPPROTO_TCP,
			    .sport = 8000, .dport = 80, .tcp_flags = TH_SYN, .payload_len = 10);
	struct cg_svc_stats s0, s1;
	struct cg_cell_stats c0, c1;
	uint8_t frame[256];
	size_t len = tpkt_build(&p, frame, sizeof(frame));

	assert_int_equal(cg_dp_svc_stats_read(dp, svcs[S_V4_TCP].id, &s0), 0);
	assert_int_equal(cg_dp_cell_stats_read(dp, 1, 0, &c0), 0);
	assert_int_equal(send_flow(&p), 1);
	p.tcp_flags = TH_ACK;
	assert_int_equal(send_flow(&p), 1);
	assert_int_equal(cg_dp_svc_stats_read(dp, svcs[S_V4_TCP].id, &s1), 0);
	assert_int_equal(cg_dp_cell_stats_read(dp, 1, 0, &c1), 0);
	assert_int_equal(s1.packets - s0.packets, 2);
	assert_int_equal(s1.bytes - s0.bytes, 2 * len);
	assert_int_equal(s1.new_flows - s0.new_flows, 1);
	assert_int_equal(s1.drops - s0.drops, 0);
	assert_int_equal(c1.packets - c0.packets, 2);
	assert_int_equal(c1.new_flows - c0.new_flows, 1);
	(void)state;
}

/* The VIP pre-filter follows the services map: traffic to no VIP is passed before its ports are read. */
static void test_vip_filter_follows_services(void **state)
{
	struct tpkt p = IN4(.src = CLIENT4(60), .dst = "203.0.113.99", .proto = IPPROTO_TCP,
			    .sport = 1, .dport = 80);
	struct cg_service_key k = { .port = htons(80), .proto = IPPROTO_TCP, .family = CG_AF_INET };
	struct cg_service v = { .id = 20 };
	static struct run r;
	size_t full;

	addr_parse(4, "203.0.113.99", k.addr);
	memset(&r, 0, sizeof(r));
	full = tpkt_build(&p, r.in, sizeof(r.in));
	r.in_len = full - 10; /* TCP header cut short */
	run_frame(&r);
	assert_int_equal(r.verdict, XDP_PASS);
	assert_stat(&r, CG_STAT_PASS_NO_SERVICE);

	/* a VIP now: the same frame is read to its ports, and is malformed */
	assert_int_equal(cg_dp_service_set(dp, &k, &v), 0);
	run_frame(&r);
	assert_int_equal(r.verdict, XDP_DROP);
	assert_stat(&r, CG_STAT_DROP_MALFORMED);

	assert_int_equal(cg_dp_service_del(dp, &k), 0);
	run_frame(&r);
	assert_int_equal(r.verdict, XDP_PASS);
	assert_stat(&r, CG_STAT_PASS_NO_SERVICE);
	(void)state;
}

/*
 * A flow's later packets (the established path: the hash comes from the
 * connection entry) are encapsulated exactly as its first (the hash is
 * computed): same GUE source port, same IPv6 flow label.
 */
static void test_established_packets_keep_the_flow_hash(void **state)
{
	const struct tpkt flows[] = {
		IN4(.src = CLIENT4(70), .dst = "203.0.113.10", .proto = IPPROTO_UDP, .sport = 7070,
		    .dport = 53, .payload_len = 20), /* GUE over IPv4 */
		IN6(.src = CLIENT6(70), .dst = "2001:db8:f00d::10", .proto = IPPROTO_UDP,
		    .sport = 7070, .dport = 443, .payload_len = 20), /* GUE over IPv6, VLAN */
		IN6(.src = CLIENT6(71), .dst = "2001:db8:f00d::10", .proto = IPPROTO_TCP,
		    .sport = 7071, .dport = 443, .tcp_flags = TH_SYN), /* IPv6 flow label */
	};
	const int svc[] = { S_V4_UDP, S_V6_UDP, S_V6_TCP };
	static struct run r;
	static uint8_t want[TPKT_MAX_FRAME];
	struct cg_flow_key key;
	size_t n, l3_off;

	for (size_t f = 0; f < sizeof(flows) / sizeof(flows[0]); f++) {
		struct tpkt p = flows[f];

		for (int i = 0; i < 3; i++) {
			if (i > 0 && p.proto == IPPROTO_TCP)
				p.tcp_flags = TH_ACK;
			memset(&r, 0, sizeof(r));
			r.in_len = tpkt_build(&p, r.in, sizeof(r.in));
			l3_off = tpkt_l3_off(&p);
			run_frame(&r);
			assert_int_equal(r.verdict, XDP_TX);
			assert_int_equal(tpkt_flow_key(&p, &key), 0);
			n = expect_encap(&r, l3_off, r.in_len - l3_off, p.tos & 0x03,
					 cell_by_id(table_cell(&svcs[svc[f]], &key)), &key, want,
					 sizeof(want));
			assert_frame(&r, want, n);
		}
	}
	(void)state;
}

int main(void)
{
	struct CMUnitTest tests[NPCASES + 32];
	size_t n = 0;

	for (size_t i = 0; i < NPCASES; i++)
		tests[n++] = (struct CMUnitTest){ .name = pcases[i].name,
						  .test_func = test_case,
						  .initial_state = (void *)&pcases[i] };
#define ADD(fn) tests[n++] = (struct CMUnitTest)cmocka_unit_test(fn)
	ADD(test_truncated_at_every_byte_is_dropped);
	ADD(test_lying_headers_are_dropped);
	ADD(test_non_ip_passes_unchanged);
	ADD(test_icmp4_error_follows_its_flow);
	ADD(test_icmp6_error_without_entry_follows_table);
	ADD(test_too_big_v4_df_gets_frag_needed);
	ADD(test_too_big_v4_vlan_reply_keeps_tag);
	ADD(test_too_big_v6_gets_packet_too_big);
	ADD(test_fits_exactly_is_forwarded);
	ADD(test_too_big_v4_no_df_is_dropped);
	ADD(test_new_flows_follow_the_live_table);
	ADD(test_hash_key_decides_the_cell);
	ADD(test_conntrack_keeps_flows_across_a_swap);
	ADD(test_draining_cell_keeps_flows_takes_no_new);
	ADD(test_down_cell_flows_are_rehashed);
	ADD(test_moves_counted_on_the_cell_left);
	ADD(test_table_slot_on_down_cell_drops);
	ADD(test_service_and_cell_counters);
	ADD(test_vip_filter_follows_services);
	ADD(test_established_packets_keep_the_flow_hash);
#undef ADD
	return cg_test_run_group_("router", tests, n, setup_all, teardown_all,
				  geteuid() != 0 ? "needs root (BPF)" : NULL);
}
