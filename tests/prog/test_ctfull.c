// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_ctfull.c - a full connection table through BPF_PROG_TEST_RUN: new flows forwarded, LRU keeps the busy */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/bpf.h>

#include "cellgate/dataplane.h"
#include "cellgate/state.h"
#include "cellgate/abi/hash.h"
#include "testseed.h"
#include "pkt.h"
#include "rtenv.h"
#include "testrun.h"
#include "testskip.h"

/*
 * The smallest connection table a config may ask for (CG_MIN_CONNTRACK),
 * overrun four times by distinct new flows. One service over cell 1; once
 * the two old flows are recorded, the table is swapped to cell 2, so a
 * packet that still goes to cell 1 can only have been sent by its surviving
 * connection entry.
 */

#define VIP "203.0.113.60"
#define SRC4 "198.18.0.1"
#define CELL_OLD 1
#define CELL_NEW 2
#define GW_OLD "198.18.1.10"
#define GW_NEW "198.18.2.10"
#define SVC 0
#define CT_SIZE CG_MIN_CONNTRACK
#define WAVES 32
#define WAVE_FLOWS (4 * CT_SIZE / WAVES) /* 4x the table's entries in all */
#define TH_SYN 0x02
#define TH_ACK 0x10

static const uint8_t mac_lb[6] = { 0x02, 0, 0x5e, 0x10, 0, 0x02 };
static const uint8_t mac_rtr[6] = { 0x02, 0, 0x5e, 0x10, 0, 0x01 };
static const uint8_t mac_old[6] = { 0x02, 0, 0x5e, 0x10, 0, 0xc1 };
static const uint8_t mac_new[6] = { 0x02, 0, 0x5e, 0x10, 0, 0xc2 };

static struct cg_dp *dp;
static int prog_fd = -1;

static int setup(void **state)
{
	static const uint32_t old[] = { CELL_OLD };
	cpu_set_t cpus;

	/* per-CPU LRU lists: every packet runs on CPU 0, so eviction order is one list's */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		return -1;
	dp = rtenv_open(CT_SIZE, SRC4, "2001:db8::1", 1500);
	if (!dp)
		return -1;
	prog_fd = cg_dp_prog_fd(dp);
	if (rtenv_cell(dp, CELL_OLD, GW_OLD, 0, 0, mac_old) ||
	    rtenv_cell(dp, CELL_NEW, GW_NEW, 0, 0, mac_new) ||
	    rtenv_service(dp, SVC, VIP, 80, IPPROTO_TCP, 3, 0) || rtenv_table(dp, SVC, old, 1, 251))
		return -1;
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	cg_dp_close(dp);
	(void)state;
	return 0;
}

/* The i-th distinct client flow: source 198.18.<10 + i/250>.<1 + i%250>, port 40000 + i. */
static struct tpkt flow(unsigned int i, uint8_t flags, char src[32])
{
	struct tpkt p = { .family = 4, .dst = VIP, .proto = IPPROTO_TCP, .dport = 80 };

	snprintf(src, 32, "198.18.%u.%u", 10 + i / 250, 1 + i % 250);
	p.src = src;
	p.sport = (uint16_t)(40000 + i);
	p.tcp_flags = flags;
	memcpy(p.smac, mac_rtr, 6);
	memcpy(p.dmac, mac_lb, 6);
	return p;
}

/* Send p; it must be forwarded (XDP_TX) with the exact IPIP frame to gw behind mac. */
static void expect_fwd(const char *what, const struct tpkt *p, const char *gw,
		       const uint8_t mac[6])
{
	uint8_t in[256], out[512], want[512];
	struct tencap e = { .outer_family = 4, .outer_src = SRC4, .outer_dst = gw };
	struct cg_flow_key key;
	size_t len, out_len = 0, n, l3_off;
	uint32_t verdict = 0;

	len = tpkt_build(p, in, sizeof(in));
	assert_true(len > 0);
	assert_int_equal(trun_xdp(prog_fd, in, len, out, sizeof(out), &out_len, &verdict), 0);
	if (verdict != XDP_TX)
		fail_msg("%s: verdict %s, want XDP_TX", what, trun_verdict_name(verdict));
	assert_int_equal(tpkt_flow_key(p, &key), 0);
	e.flow_hash = cg_flow_hash(&key, CG_TEST_SEED_CELL);
	memcpy(e.dmac, mac, 6);
	memcpy(e.smac, mac_lb, 6);
	l3_off = tpkt_l3_off(p);
	n = tpkt_encap(&e, in + l3_off, len - l3_off, p->tos & 0x03, want, sizeof(want));
	assert_true(n > 0);
	if (!trun_frame_eq(what, out, out_len, want, n))
		fail_msg("%s: not the frame to %s", what, gw);
}

static uint64_t fwd_packets(void)
{
	struct cg_counter st[CG_STAT_MAX];

	assert_int_equal(cg_dp_stats_read(dp, st), 0);
	return st[CG_STAT_FWD].packets;
}

/*
 * test_ctfull_new_flows_forwarded_busy_flow_keeps_its_cell - 4x the table's
 * entries in new flows, in waves; between waves the busy flow sends a packet.
 * Every new flow goes to the new cell with the exact bytes, the table never
 * holds more than its size, the busy flow still goes to the old cell (only
 * its entry can say so), and the idle one was evicted and picked again.
 */
static void test_ctfull_new_flows_forwarded_busy_flow_keeps_its_cell(void **state)
{
	static const uint32_t new[] = { CELL_NEW };
	char sbusy[32], sidle[32], src[32];
	struct tpkt busy = flow(60000, TH_SYN, sbusy), idle = flow(60001, TH_SYN, sidle);
	struct cg_flow_key key;
	struct cg_conn conn;
	uint64_t n = 0, fwd0;
	unsigned int w, i;

	(void)state;
	cg_test_require_root("BPF maps");
	assert_int_equal(cg_dp_conn_capacity(dp), CT_SIZE);
	expect_fwd("busy SYN", &busy, GW_OLD, mac_old);
	expect_fwd("idle SYN", &idle, GW_OLD, mac_old);
	/* from now on a pick gives the new cell: the old one comes from an entry only */
	assert_int_equal(rtenv_table(dp, SVC, new, 1, 251), 0);
	busy.tcp_flags = TH_ACK;
	idle.tcp_flags = TH_ACK;
	expect_fwd("busy ACK", &busy, GW_OLD, mac_old);
	fwd0 = fwd_packets();
	for (w = 0; w < WAVES; w++) {
		for (i = 0; i < WAVE_FLOWS; i++) {
			struct tpkt p = flow(w * WAVE_FLOWS + i, TH_SYN, src);

			expect_fwd("new flow", &p, GW_NEW, mac_new);
		}
		assert_int_equal(cg_dp_conn_count(dp, &n), 0);
		if (n > CT_SIZE)
			fail_msg("wave %u: %llu entries in a table of %u", w, (unsigned long long)n,
				 CT_SIZE);
		expect_fwd("busy ACK between waves", &busy, GW_OLD, mac_old);
	}
	assert_int_equal(fwd_packets() - fwd0, WAVES * (WAVE_FLOWS + 1));
	assert_int_equal(tpkt_flow_key(&busy, &key), 0);
	assert_int_equal(cg_dp_conn_lookup(dp, &key, &conn), 0);
	assert_int_equal(conn.cell, CELL_OLD);
	/* the idle flow's entry was evicted: picked again, to the new cell, and recorded there */
	expect_fwd("idle ACK after the flood", &idle, GW_NEW, mac_new);
	assert_int_equal(tpkt_flow_key(&idle, &key), 0);
	assert_int_equal(cg_dp_conn_lookup(dp, &key, &conn), 0);
	assert_int_equal(conn.cell, CELL_NEW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctfull_new_flows_forwarded_busy_flow_keeps_its_cell),
	};

	return cg_test_run_group(tests, setup, teardown,
				 geteuid() ? "needs root (BPF maps)" : NULL);
}
