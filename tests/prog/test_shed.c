// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_shed.c - load shedding through BPF_PROG_TEST_RUN: levels, hard levels, ceilings, the guard, classes */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/bpf.h>

#include "cellgate/dataplane.h"
#include "cellgate/abi/hash.h"
#include "testseed.h"
#include "pkt.h"
#include "rtenv.h"
#include "testrun.h"
#include "testskip.h"

/*
 * One service (203.0.113.50:80/tcp, UDP 53 beside it) over one cell, so
 * every admitted packet is forwarded to cell 1 and every decision is the
 * shedding's. Default class 3 (sheddable); rules classify some sources.
 * Decisions are checked flow by flow against the admission hash computed
 * here with the shared cg_flow_hash(), not only in aggregate.
 */

#define VIP "203.0.113.50"
#define VIP6 "2001:db8:f00d::50"
#define CELL 1
#define SVC 0
#define SVC_UDP 1
#define SVC6 2
#define CLASS_DEFAULT 3
#define TH_SYN 0x02
#define TH_ACK 0x10

static const uint8_t mac_lb[6] = { 0x02, 0, 0x5e, 0x10, 0, 0x02 };
static const uint8_t mac_rtr[6] = { 0x02, 0, 0x5e, 0x10, 0, 0x01 };
static const uint8_t mac_cell[6] = { 0x02, 0, 0x5e, 0x10, 0, 0xc1 };

static struct cg_dp *dp;
static int prog_fd = -1;

static int setup(void **state)
{
	static const uint32_t one[] = { CELL };
	cpu_set_t cpus;

	/* per-CPU buckets: every packet of these tests runs on CPU 0 */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		return -1;
	dp = rtenv_open(1 << 18, "198.18.0.1", "2001:db8::1", 1500);
	if (!dp)
		return -1;
	prog_fd = cg_dp_prog_fd(dp);
	if (rtenv_cell(dp, CELL, "198.18.1.10", 6080, 0, mac_cell) ||
	    rtenv_service(dp, SVC, VIP, 80, IPPROTO_TCP, CLASS_DEFAULT, 0) ||
	    rtenv_service(dp, SVC_UDP, VIP, 53, IPPROTO_UDP, CLASS_DEFAULT, 0) ||
	    rtenv_service(dp, SVC6, VIP6, 80, IPPROTO_TCP, CLASS_DEFAULT, 0) ||
	    rtenv_table(dp, SVC, one, 1, 251) || rtenv_table(dp, SVC_UDP, one, 1, 251) ||
	    rtenv_table(dp, SVC6, one, 1, 251))
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

/* Clear every level, ceiling, rule and the guard between tests. */
static int reset(void **state)
{
	struct cg_config cfg;
	struct cg_shed none = { 0 };
	struct cg_class nolimit = { 0 };
	struct cg_dscp_rule nodscp = { 0 };
	struct cg_class_prefix p[64];
	struct cg_class_rule r[64];
	size_t n = 0;

	for (uint32_t c = 0; c < CG_MAX_CLASSES; c++) {
		cg_dp_shed_set(dp, CELL, c, &none);
		cg_dp_class_set(dp, c, &nolimit);
	}
	for (uint32_t d = 0; d < CG_DSCP_VALUES; d++)
		cg_dp_dscp_set(dp, d, &nodscp);
	cg_dp_class_rule_list(dp, p, r, 64, &n);
	for (size_t i = 0; i < n && i < 64; i++)
		cg_dp_class_rule_del(dp, &p[i]);
	cg_dp_config_get(dp, &cfg);
	cfg.flags = 0;
	cfg.guard_rate = 0;
	cfg.agg_rate = 0;
	cfg.icmp_rate = 0;
	cfg.too_big_rate = 0;
	cg_dp_config_set(dp, &cfg);
	cg_dp_guard_forget(dp);
	(void)state;
	return 0;
}

/* The i-th distinct client flow: source 198.18.<100 + i/60000>.x, port from i. */
static struct tpkt flow(unsigned int i, uint8_t flags)
{
	static char src[32];
	struct tpkt p = { .family = 4, .dst = VIP, .proto = IPPROTO_TCP, .dport = 80 };

	snprintf(src, sizeof(src), "198.18.%u.%u", 100 + i / 60000 % 100, 1 + i / 240 % 250);
	p.src = src;
	p.sport = (uint16_t)(1024 + i % 240 * 256 + i / 60000);
	p.tcp_flags = flags;
	memcpy(p.smac, mac_rtr, 6);
	memcpy(p.dmac, mac_lb, 6);
	return p;
}

/* Run one packet; returns the verdict. */
static uint32_t send_pkt(const struct tpkt *p)
{
	uint8_t in[256], out[512];
	size_t len, out_len;
	uint32_t verdict = 0;

	len = tpkt_build(p, in, sizeof(in));
	assert_true(len > 0);
	assert_int_equal(trun_xdp(prog_fd, in, len, out, sizeof(out), &out_len, &verdict), 0);
	return verdict;
}

static uint32_t admit_hash(const struct tpkt *p)
{
	struct cg_flow_key k;

	assert_int_equal(tpkt_flow_key(p, &k), 0);
	return cg_flow_hash(&k, CG_TEST_SEED_ADMIT);
}

static void set_level(uint32_t class, uint32_t soft_ppm, uint32_t hard_ppm)
{
	struct cg_shed sh = { .soft = cg_dp_shed_threshold(soft_ppm),
			      .hard = cg_dp_shed_threshold(hard_ppm) };
	struct cg_config cfg;

	assert_int_equal(cg_dp_shed_set(dp, CELL, class, &sh), 0);
	assert_int_equal(cg_dp_config_get(dp, &cfg), 0);
	cfg.flags = hard_ppm ? cfg.flags | CG_CFG_F_HARD : cfg.flags & ~CG_CFG_F_HARD;
	assert_int_equal(cg_dp_config_set(dp, &cfg), 0);
}

static uint64_t stat_of(unsigned int stat)
{
	struct cg_counter c[CG_STAT_MAX];

	assert_int_equal(cg_dp_stats_read(dp, c), 0);
	return c[stat].packets;
}

/* With level p, a fraction p of 100,000 new flows is refused (within 1 point), each as its hash says. */
static void check_fraction(uint32_t ppm, unsigned int base)
{
	const unsigned int n = 100000;
	uint32_t t = cg_dp_shed_threshold(ppm);
	unsigned int refused = 0, wrong = 0;
	uint64_t shed0 = stat_of(CG_STAT_DROP_SHED);
	double frac;

	set_level(CLASS_DEFAULT, ppm, 0);
	for (unsigned int i = 0; i < n; i++) {
		struct tpkt p = flow(base + i, TH_SYN);
		uint32_t v = send_pkt(&p);
		int want_drop = admit_hash(&p) < t;

		refused += v == XDP_DROP;
		wrong += (v == XDP_DROP) != want_drop || (v != XDP_DROP && v != XDP_TX);
	}
	frac = (double)refused / n;
	print_message("level %.2f: %u of %u new flows refused (%.4f)\n", ppm / 1e6, refused, n, frac);
	assert_int_equal(wrong, 0);
	assert_true(frac > ppm / 1e6 - 0.01 && frac < ppm / 1e6 + 0.01);
	assert_int_equal(stat_of(CG_STAT_DROP_SHED) - shed0, refused);
}

static void test_shed_fraction_025(void **state)
{
	check_fraction(250000, 0);
	(void)state;
}

static void test_shed_fraction_050(void **state)
{
	check_fraction(500000, 200000);
	(void)state;
}

static void test_shed_fraction_090(void **state)
{
	check_fraction(900000, 400000);
	(void)state;
}

/* The same flow gets the same answer every time it asks. */
static void test_shed_same_flow_same_decision(void **state)
{
	uint32_t first[500];

	set_level(CLASS_DEFAULT, 500000, 0);
	for (unsigned int i = 0; i < 500; i++) {
		struct tpkt p = flow(700000 + i, TH_SYN);

		first[i] = send_pkt(&p);
	}
	for (int round = 0; round < 3; round++)
		for (unsigned int i = 0; i < 500; i++) {
			struct tpkt p = flow(700000 + i, TH_SYN);

			assert_int_equal(send_pkt(&p), first[i]);
		}
	(void)state;
}

/* The verdicts of n new flows under admission seed seed, their entries removed again. */
static void verdicts_under_seed(uint32_t seed, uint32_t *got, unsigned int n)
{
	uint32_t t = cg_dp_shed_threshold(500000);
	struct cg_config cfg;
	struct cg_flow_key k;

	assert_int_equal(cg_dp_config_get(dp, &cfg), 0);
	cfg.seed_admit = seed;
	assert_int_equal(cg_dp_config_set(dp, &cfg), 0);
	for (unsigned int i = 0; i < n; i++) {
		struct tpkt p = flow(750000 + i, TH_SYN);

		got[i] = send_pkt(&p);
		assert_int_equal(tpkt_flow_key(&p, &k), 0);
		assert_int_equal(got[i], cg_flow_hash(&k, seed) < t ? XDP_DROP : XDP_TX);
		if (got[i] == XDP_TX)
			assert_int_equal(cg_dp_conn_del(dp, &k), 0);
	}
}

/* Another hash key sheds other flows at the same level; the same key the same flows. */
static void test_shed_hash_key_decides_which_flows(void **state)
{
	uint32_t a[400], b[400], again[400], differ = 0;

	set_level(CLASS_DEFAULT, 500000, 0);
	verdicts_under_seed(0x1234567U, a, 400);
	verdicts_under_seed(0x89abcdefU, b, 400);
	verdicts_under_seed(0x1234567U, again, 400);
	verdicts_under_seed(CG_TEST_SEED_ADMIT, again, 0); /* back to the seed the others assume */
	for (unsigned int i = 0; i < 400; i++)
		differ += a[i] != b[i];
	assert_memory_equal(a, again, sizeof(a));
	assert_true(differ > 120); /* half of the flows at 50% each, independent */
	(void)state;
}

/* A soft level, even 100%, never drops a packet of an admitted flow. */
static void test_shed_soft_keeps_established_flows(void **state)
{
	uint64_t shed0;

	set_level(CLASS_DEFAULT, 0, 0);
	for (unsigned int i = 0; i < 300; i++) {
		struct tpkt p = flow(800000 + i, TH_SYN);

		assert_int_equal(send_pkt(&p), XDP_TX);
	}
	set_level(CLASS_DEFAULT, 1000000, 0);
	shed0 = stat_of(CG_STAT_DROP_SHED);
	for (unsigned int i = 0; i < 300; i++) {
		struct tpkt p = flow(800000 + i, TH_ACK);

		assert_int_equal(send_pkt(&p), XDP_TX);
	}
	for (unsigned int i = 0; i < 300; i++) {
		struct tpkt p = flow(810000 + i, TH_SYN);

		assert_int_equal(send_pkt(&p), XDP_DROP);
	}
	assert_int_equal(stat_of(CG_STAT_DROP_SHED) - shed0, 300);
	(void)state;
}

/* A hard level drops the packets of that fraction of established flows, flow by flow. */
static void test_shed_hard_drops_established(void **state)
{
	uint32_t t = cg_dp_shed_threshold(500000);
	unsigned int dropped = 0;
	uint64_t hard0;

	set_level(CLASS_DEFAULT, 0, 0);
	for (unsigned int i = 0; i < 2000; i++) {
		struct tpkt p = flow(900000 + i, TH_SYN);

		assert_int_equal(send_pkt(&p), XDP_TX);
	}
	set_level(CLASS_DEFAULT, 0, 500000);
	hard0 = stat_of(CG_STAT_DROP_SHED_HARD);
	for (unsigned int i = 0; i < 2000; i++) {
		struct tpkt p = flow(900000 + i, TH_ACK);
		uint32_t v = send_pkt(&p);

		assert_int_equal(v, admit_hash(&p) < t ? XDP_DROP : XDP_TX);
		dropped += v == XDP_DROP;
	}
	print_message("hard level 0.5: %u of 2000 established flows dropped\n", dropped);
	assert_true(dropped > 850 && dropped < 1150);
	assert_int_equal(stat_of(CG_STAT_DROP_SHED_HARD) - hard0, dropped);
	(void)state;
}

/* Levels apply per (cell, class): another class on the same cell is untouched. */
static void test_shed_level_is_per_class(void **state)
{
	struct cg_class_prefix pre = { .family = CG_AF_INET, .len = 16 };
	struct cg_class_rule crit = { .class = 0 };

	rtenv_addr("198.18.0.0", pre.addr);
	assert_int_equal(cg_dp_class_rule_set(dp, &pre, &crit), 0);
	set_level(CLASS_DEFAULT, 1000000, 0);
	for (unsigned int i = 0; i < 200; i++) {
		struct tpkt p = flow(1000000 + i, TH_SYN); /* 198.18.x.y: class 0 now */

		assert_int_equal(send_pkt(&p), XDP_TX);
	}
	(void)state;
}

/*
 * Send the packets made by mk(i) for ms milliseconds; return how many were
 * admitted, and in *want how many a bucket of rate and burst admits at the
 * moments they were sent. The bucket is simulated over the real send times,
 * so a test descheduled for a while (a busy CI machine) expects what the
 * bucket does, not rate x elapsed.
 */
static unsigned int run_for(struct tpkt (*mk)(unsigned int), unsigned int ms, double rate,
			    double burst, double *want)
{
	struct timespec a, b;
	unsigned int admitted = 0, i = 0;
	double tokens = burst, last = 0, now, sim = 0;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		struct tpkt p = mk(i++);

		clock_gettime(CLOCK_MONOTONIC, &b);
		now = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
		tokens += rate * (now - last);
		if (tokens > burst)
			tokens = burst;
		last = now;
		if (tokens >= 1) {
			tokens -= 1;
			sim++;
		}
		admitted += send_pkt(&p) == XDP_TX;
	} while (now * 1000 < ms);
	*want = sim;
	print_message("%u packets in %.3f s, %u admitted, the bucket admits %.0f\n", i, now,
		      admitted, sim);
	return admitted;
}

static struct tpkt new_flow_n(unsigned int i)
{
	return flow(1100000 + i, TH_SYN);
}

static struct tpkt same_flow_n(unsigned int i)
{
	(void)i;
	return flow(1099999, TH_ACK);
}

/* The new-flow ceiling admits its rate (this CPU's share) within 5%. */
static void test_ceiling_new_flows_admits_its_rate(void **state)
{
	struct cg_class c = { .flow_rate = 20000, .flow_burst = 100 };
	double want;
	unsigned int got;

	assert_int_equal(cg_dp_class_set(dp, CLASS_DEFAULT, &c), 0);
	got = run_for(new_flow_n, 400, c.flow_rate, c.flow_burst, &want);
	print_message("new-flow ceiling %u/s: admitted %u, expected %.0f\n", c.flow_rate, got, want);
	assert_true(got > want * 0.95 && got < want * 1.05);
	(void)state;
}

/* The packet ceiling admits its rate within 5%, established packets included. */
static void test_ceiling_packets_admits_its_rate(void **state)
{
	struct cg_class c = { .pkt_rate = 30000, .pkt_burst = 100 };
	struct cg_config cfg;
	struct tpkt syn = flow(1099999, TH_SYN);
	double want;
	unsigned int got;

	assert_int_equal(send_pkt(&syn), XDP_TX);
	assert_int_equal(cg_dp_class_set(dp, CLASS_DEFAULT, &c), 0);
	assert_int_equal(cg_dp_config_get(dp, &cfg), 0);
	cfg.flags |= CG_CFG_F_PPS;
	assert_int_equal(cg_dp_config_set(dp, &cfg), 0);
	got = run_for(same_flow_n, 400, c.pkt_rate, c.pkt_burst, &want);
	print_message("packet ceiling %u/s: admitted %u, expected %.0f\n", c.pkt_rate, got, want);
	assert_true(got > want * 0.95 && got < want * 1.05);
	(void)state;
}

/* The guard holds a prefix to its burst while another prefix is untouched. */
static void test_guard_holds_one_prefix_not_another(void **state)
{
	struct cg_config cfg;
	struct timespec t0, t1;
	unsigned int a = 0, b = 0;
	uint64_t guard0 = stat_of(CG_STAT_DROP_GUARD);
	double secs;

	assert_int_equal(cg_dp_config_get(dp, &cfg), 0);
	cfg.guard_rate = 5;
	cfg.guard_burst = 20;
	cfg.guard_prefix4 = 24;
	cfg.guard_prefix6 = 64;
	assert_int_equal(cg_dp_config_set(dp, &cfg), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int i = 0; i < 200; i++) {
		struct tpkt p = flow(i, TH_SYN);
		char src[32];

		p.src = "198.18.150.7"; /* one /24, many ports */
		p.sport = (uint16_t)(2000 + i);
		a += send_pkt(&p) == XDP_TX;
		snprintf(src, sizeof(src), "198.18.151.%u", 1 + i % 15);
		if (i < 15) {
			p.src = src;
			b += send_pkt(&p) == XDP_TX;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("guard 5/s burst 20: prefix A %u of 200 admitted in %.3f s, prefix B %u of 15\n",
		      a, secs, b);
	/* the burst, and what the bucket refilled while the loop ran (slow on a busy machine) */
	assert_true(a >= 20 && a <= 21 + (unsigned int)(5 * secs));
	assert_int_equal(b, 15);
	assert_int_equal(stat_of(CG_STAT_DROP_GUARD) - guard0, 200 - a);
	(void)state;
}

/* IPv6 sources are grouped by /64. */
static void test_guard_groups_ipv6_by_prefix(void **state)
{
	struct cg_config cfg;
	unsigned int a = 0, b = 0;

	assert_int_equal(cg_dp_config_get(dp, &cfg), 0);
	cfg.guard_rate = 1;
	cfg.guard_burst = 10;
	cfg.guard_prefix4 = 24;
	cfg.guard_prefix6 = 64;
	assert_int_equal(cg_dp_config_set(dp, &cfg), 0);
	for (unsigned int i = 0; i < 50; i++) {
		struct tpkt p = { .family = 6, .dst = VIP6, .proto = IPPROTO_TCP, .dport = 80,
				  .tcp_flags = TH_SYN, .sport = (uint16_t)(3000 + i) };
		char src[64];

		memcpy(p.smac, mac_rtr, 6);
		memcpy(p.dmac, mac_lb, 6);
		snprintf(src, sizeof(src), "2001:db8:c1:7::%x", i + 1); /* one /64 */
		p.src = src;
		a += send_pkt(&p) == XDP_TX;
		snprintf(src, sizeof(src), "2001:db8:c1:%x::1", i + 100); /* a /64 each */
		b += send_pkt(&p) == XDP_TX;
	}
	assert_true(a >= 10 && a <= 11);
	assert_int_equal(b, 50);
	(void)state;
}

static double secs_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * A prefix that used up its burst gets back its rate's worth after an idle
 * second and a bit, not its whole burst: a limited prefix does not come back
 * with a full bucket.
 */
static void test_guard_refills_at_its_rate_after_idle(void **state)
{
	struct cg_config cfg;
	struct timespec t0;
	unsigned int a = 0, again = 0;
	double secs;

	assert_int_equal(cg_dp_config_get(dp, &cfg), 0);
	cfg.guard_rate = 2;
	cfg.guard_burst = 40;
	cfg.guard_prefix4 = 24;
	cfg.guard_prefix6 = 64;
	assert_int_equal(cg_dp_config_set(dp, &cfg), 0);
	for (unsigned int i = 0; i < 60; i++) {
		struct tpkt p = flow(1400000 + i, TH_SYN);

		p.src = "198.18.152.9";
		a += send_pkt(&p) == XDP_TX;
	}
	assert_true(a >= 40 && a <= 41);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	usleep(1300 * 1000); /* longer than a second: the old refill gave the whole burst */
	for (unsigned int i = 0; i < 60; i++) {
		struct tpkt p = flow(1400100 + i, TH_SYN);

		p.src = "198.18.152.9";
		again += send_pkt(&p) == XDP_TX;
	}
	secs = secs_since(&t0);
	print_message("guard 2/s burst 40: %u admitted after %.3f s idle\n", again, secs);
	assert_true(again >= 2 && again <= 1 + (unsigned int)(2 * secs));
	(void)state;
}

/*
 * Rotating /64s inside one /48 buys no more than the /48's limit; another
 * /48 is untouched.
 */
static void test_guard_aggregate_holds_rotating_prefixes(void **state)
{
	struct cg_config cfg;
	struct timespec t0;
	unsigned int a = 0, b = 0;
	uint64_t guard0 = stat_of(CG_STAT_DROP_GUARD);
	double secs;

	assert_int_equal(cg_dp_config_get(dp, &cfg), 0);
	cfg.guard_rate = 1;
	cfg.guard_burst = 10;
	cfg.guard_prefix4 = 24;
	cfg.guard_prefix6 = 64;
	cfg.agg_rate = 4;
	cfg.agg_burst = 50;
	cfg.agg_prefix4 = 16;
	cfg.agg_prefix6 = 48;
	assert_int_equal(cg_dp_config_set(dp, &cfg), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int i = 0; i < 2000; i++) {
		struct tpkt p = { .family = 6, .dst = VIP6, .proto = IPPROTO_TCP, .dport = 80,
				  .tcp_flags = TH_SYN, .sport = (uint16_t)(3000 + i % 50) };
		char src[64];

		memcpy(p.smac, mac_rtr, 6);
		memcpy(p.dmac, mac_lb, 6);
		snprintf(src, sizeof(src), "2001:db8:c2:%x::1", i); /* a new /64 each time */
		p.src = src;
		a += send_pkt(&p) == XDP_TX;
		if (i < 30) {
			snprintf(src, sizeof(src), "2001:db8:c3:%x::1", i); /* another /48 */
			b += send_pkt(&p) == XDP_TX;
		}
	}
	secs = secs_since(&t0);
	print_message("aggregate 4/s burst 50: %u of 2000 /64s of one /48 admitted in %.3f s\n", a,
		      secs);
	assert_true(a >= 50 && a <= 51 + (unsigned int)(4 * secs));
	assert_int_equal(b, 30);
	assert_int_equal(stat_of(CG_STAT_DROP_GUARD) - guard0, 2000 - a);
	(void)state;
}

/* An ICMP error VIP:80 -> client about flow i of 198.18.153.0/24, from a router. */
static size_t icmp_err_frame(unsigned int i, uint8_t *out, size_t cap)
{
	struct tpkt q = flow(1500000 + i, TH_ACK), err = { .family = 4, .src = "198.18.0.254",
							     .dst = VIP };
	char client[32];

	snprintf(client, sizeof(client), "198.18.153.%u", 1 + i % 250);
	q.src = VIP;
	q.dst = client;
	q.sport = 80;
	q.dport = (uint16_t)(20000 + i);
	memcpy(err.smac, mac_rtr, 6);
	memcpy(err.dmac, mac_lb, 6);
	return tpkt_build_icmp_err(&err, 3, 1, 0, &q, 28, out, cap);
}

static uint32_t send_frame(const uint8_t *in, size_t len)
{
	uint8_t out[2048];
	size_t out_len;
	uint32_t verdict = 0;

	assert_true(len > 0);
	assert_int_equal(trun_xdp(prog_fd, in, len, out, sizeof(out), &out_len, &verdict), 0);
	return verdict;
}

/*
 * An ICMP error about a flow without an entry meets its flow's shed level
 * (a flow refused here gets no errors either), and creates no entry.
 */
static void test_icmp_error_meets_the_shed_level(void **state)
{
	uint8_t f[256];
	uint64_t shed0 = stat_of(CG_STAT_DROP_SHED), fwd0 = stat_of(CG_STAT_FWD_ICMP), n;

	assert_int_equal(cg_dp_conn_count(dp, &n), 0);
	assert_int_equal(send_frame(f, icmp_err_frame(1, f, sizeof(f))), XDP_TX);
	assert_int_equal(stat_of(CG_STAT_FWD_ICMP) - fwd0, 1);
	set_level(CLASS_DEFAULT, 1000000, 0);
	assert_int_equal(send_frame(f, icmp_err_frame(2, f, sizeof(f))), XDP_DROP);
	assert_int_equal(stat_of(CG_STAT_DROP_SHED) - shed0, 1);
	set_level(CLASS_DEFAULT, 0, 1000000); /* the hard level, too */
	assert_int_equal(send_frame(f, icmp_err_frame(3, f, sizeof(f))), XDP_DROP);
	assert_int_equal(stat_of(CG_STAT_DROP_SHED) - shed0, 1);
	assert_int_equal(stat_of(CG_STAT_FWD_ICMP) - fwd0, 1);
	{
		uint64_t m;

		assert_int_equal(cg_dp_conn_count(dp, &m), 0);
		assert_int_equal(m, n);
	}
	(void)state;
}

/* ICMP errors, forged or not, reach the cells at no more than the LB's budget. */
static void test_icmp_errors_over_budget_are_dropped(void **state)
{
	struct cg_config cfg;
	struct timespec t0;
	uint64_t rate0 = stat_of(CG_STAT_DROP_ICMP_RATE);
	unsigned int fwd = 0;
	uint8_t f[256];
	double secs;

	assert_int_equal(cg_dp_config_get(dp, &cfg), 0);
	cfg.icmp_rate = 10;
	cfg.icmp_burst = 10;
	assert_int_equal(cg_dp_config_set(dp, &cfg), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int i = 0; i < 500; i++)
		fwd += send_frame(f, icmp_err_frame(100 + i, f, sizeof(f))) == XDP_TX;
	secs = secs_since(&t0);
	print_message("icmp budget 10/s burst 10: %u of 500 errors forwarded in %.3f s\n", fwd,
		      secs);
	assert_true(fwd >= 10 && fwd <= 11 + (unsigned int)(10 * secs));
	assert_int_equal(stat_of(CG_STAT_DROP_ICMP_RATE) - rate0, 500 - fwd);
	(void)state;
}

/*
 * Too-big replies go out at no more than their budget, and an oversized
 * packet (answered or not) creates no connection entry.
 */
static void test_too_big_replies_over_budget_and_no_entry(void **state)
{
	struct cg_config cfg;
	struct timespec t0;
	uint64_t rate0 = stat_of(CG_STAT_DROP_TOO_BIG_RATE), n0, n1;
	unsigned int replies = 0;
	static uint8_t f[2048];
	double secs;

	assert_int_equal(cg_dp_config_get(dp, &cfg), 0);
	cfg.too_big_rate = 5;
	cfg.too_big_burst = 5;
	assert_int_equal(cg_dp_config_set(dp, &cfg), 0);
	assert_int_equal(cg_dp_conn_count(dp, &n0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int i = 0; i < 200; i++) {
		struct tpkt p = flow(1600000 + i, 0);

		p.proto = IPPROTO_UDP;
		p.dport = 53;
		p.df = 1;
		p.payload_len = 1472; /* 1500 bytes of IP: no room for the outer header */
		replies += send_frame(f, tpkt_build(&p, f, sizeof(f))) == XDP_TX;
	}
	secs = secs_since(&t0);
	assert_int_equal(cg_dp_conn_count(dp, &n1), 0);
	print_message("too-big budget 5/s burst 5: %u of 200 answered in %.3f s, %llu entries\n",
		      replies, secs, (unsigned long long)(n1 - n0));
	assert_true(replies >= 5 && replies <= 6 + (unsigned int)(5 * secs));
	assert_int_equal(stat_of(CG_STAT_DROP_TOO_BIG_RATE) - rate0, 200 - replies);
	assert_int_equal(n1, n0);
	(void)state;
}

/* A new flow dropped by a hard level costs no connection entry. */
static void test_hard_shed_new_flow_creates_no_entry(void **state)
{
	struct tpkt p = flow(1700000, TH_SYN);
	struct cg_flow_key k;
	struct cg_conn conn;

	set_level(CLASS_DEFAULT, 0, 1000000);
	assert_int_equal(send_pkt(&p), XDP_DROP);
	assert_int_equal(tpkt_flow_key(&p, &k), 0);
	assert_int_equal(cg_dp_conn_lookup(dp, &k, &conn), -ENOENT);
	(void)state;
}

/*
 * Classification: the longest source prefix, else the service default; a DSCP
 * rule may lower that class, never raise it.
 */
static void test_classify_precedence(void **state)
{
	struct cg_class_prefix p24 = { .family = CG_AF_INET, .len = 24 };
	struct cg_class_prefix p25 = { .family = CG_AF_INET, .len = 25 };
	struct cg_class_rule c0 = { .class = 0 }, c1 = { .class = 1 };
	struct cg_dscp_rule ef = { .class = 2, .flags = CG_DSCP_F_SET };
	struct {
		const char *src;
		uint8_t tos;
		uint8_t want;
	} cases[] = {
		{ "198.18.60.5", 46 << 2, 2 },	 /* DSCP 46 lowers the /24's class 0 to 2 */
		{ "198.18.60.5", 0, 0 },	 /* the /24 without a DSCP rule */
		{ "198.18.60.200", 0, 1 },	 /* the /25 beats the /24 */
		{ "198.18.61.1", 46 << 2 | 1, 3 }, /* DSCP 46 cannot raise the default 3 to 2 */
		{ "198.18.61.1", 10 << 2, 3 },	 /* nothing: the service's default */
	};

	rtenv_addr("198.18.60.0", p24.addr);
	rtenv_addr("198.18.60.128", p25.addr);
	assert_int_equal(cg_dp_class_rule_set(dp, &p24, &c0), 0);
	assert_int_equal(cg_dp_class_rule_set(dp, &p25, &c1), 0);
	assert_int_equal(cg_dp_dscp_set(dp, 46, &ef), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tpkt p = flow(1200000 + (unsigned int)i, TH_SYN);
		struct cg_flow_key k;
		struct cg_conn conn;

		p.src = cases[i].src;
		p.tos = cases[i].tos;
		assert_int_equal(send_pkt(&p), XDP_TX);
		assert_int_equal(tpkt_flow_key(&p, &k), 0);
		assert_int_equal(cg_dp_conn_lookup(dp, &k, &conn), 0);
		if (conn.class != cases[i].want)
			fail_msg("%s tos %#x: class %u, want %u", cases[i].src, cases[i].tos,
				 conn.class, cases[i].want);
	}
	(void)state;
}

/* A SYN of a flow still in the SYN state counts as a retry; not once the handshake moved on. */
static void test_retries_are_counted(void **state)
{
	struct tpkt syn = flow(1300000, TH_SYN), ack = flow(1300000, TH_ACK);
	struct cg_svc_stats a, b;

	assert_int_equal(cg_dp_svc_stats_read(dp, SVC, &a), 0);
	assert_int_equal(send_pkt(&syn), XDP_TX);
	assert_int_equal(send_pkt(&syn), XDP_TX);
	assert_int_equal(send_pkt(&syn), XDP_TX);
	assert_int_equal(send_pkt(&ack), XDP_TX);
	assert_int_equal(send_pkt(&syn), XDP_TX);
	assert_int_equal(cg_dp_svc_stats_read(dp, SVC, &b), 0);
	assert_int_equal(b.retries - a.retries, 2);
	assert_int_equal(b.new_flows - a.new_flows, 1);
	(void)state;
}

/* Every drop is counted by (cell, class, reason). */
static void test_drops_counted_by_cell_class_reason(void **state)
{
	struct cg_cell_stats a, b;

	assert_int_equal(cg_dp_cell_stats_read(dp, CELL, CLASS_DEFAULT, &a), 0);
	set_level(CLASS_DEFAULT, 1000000, 0);
	for (unsigned int i = 0; i < 40; i++) {
		struct tpkt p = flow(1400000 + i, TH_SYN);

		assert_int_equal(send_pkt(&p), XDP_DROP);
	}
	assert_int_equal(cg_dp_cell_stats_read(dp, CELL, CLASS_DEFAULT, &b), 0);
	assert_int_equal(b.shed - a.shed, 40);
	assert_int_equal(b.drops - a.drops, 40);
	assert_int_equal(b.new_flows - a.new_flows, 0);
	(void)state;
}

/* A UDP flow is admitted on its first datagram and keeps flowing under a soft level. */
static void test_shed_udp_flows(void **state)
{
	uint32_t t = cg_dp_shed_threshold(500000);

	set_level(CLASS_DEFAULT, 500000, 0);
	for (unsigned int i = 0; i < 1000; i++) {
		struct tpkt p = flow(1500000 + i, 0);

		p.proto = IPPROTO_UDP;
		p.dport = 53;
		assert_int_equal(send_pkt(&p), admit_hash(&p) < t ? XDP_DROP : XDP_TX);
	}
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_shed_fraction_025, reset),
		cmocka_unit_test_setup(test_shed_fraction_050, reset),
		cmocka_unit_test_setup(test_shed_fraction_090, reset),
		cmocka_unit_test_setup(test_shed_same_flow_same_decision, reset),
		cmocka_unit_test_setup(test_shed_hash_key_decides_which_flows, reset),
		cmocka_unit_test_setup(test_shed_soft_keeps_established_flows, reset),
		cmocka_unit_test_setup(test_shed_hard_drops_established, reset),
		cmocka_unit_test_setup(test_shed_level_is_per_class, reset),
		cmocka_unit_test_setup(test_ceiling_new_flows_admits_its_rate, reset),
		cmocka_unit_test_setup(test_ceiling_packets_admits_its_rate, reset),
		cmocka_unit_test_setup(test_guard_holds_one_prefix_not_another, reset),
		cmocka_unit_test_setup(test_guard_groups_ipv6_by_prefix, reset),
		cmocka_unit_test_setup(test_guard_refills_at_its_rate_after_idle, reset),
		cmocka_unit_test_setup(test_guard_aggregate_holds_rotating_prefixes, reset),
		cmocka_unit_test_setup(test_icmp_error_meets_the_shed_level, reset),
		cmocka_unit_test_setup(test_icmp_errors_over_budget_are_dropped, reset),
		cmocka_unit_test_setup(test_too_big_replies_over_budget_and_no_entry, reset),
		cmocka_unit_test_setup(test_hard_shed_new_flow_creates_no_entry, reset),
		cmocka_unit_test_setup(test_classify_precedence, reset),
		cmocka_unit_test_setup(test_retries_are_counted, reset),
		cmocka_unit_test_setup(test_drops_counted_by_cell_class_reason, reset),
		cmocka_unit_test_setup(test_shed_udp_flows, reset),
	};

	return cg_test_run_group(tests, setup, teardown, geteuid() != 0 ? "needs root (BPF)" : NULL);
}
