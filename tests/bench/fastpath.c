// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fastpath.c - the router's packet path through BPF_PROG_TEST_RUN, against baselines in the same run */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "cellgate/abi/consts.h"
#include "cellgate/dataplane.h"
#include "cellgate/abi/hash.h"
#include "testseed.h"
#include "cellgate/maglev.h"
#include "cellgate/abi/structs.h"
#include "pkt.h"
#include "testrun.h"
#include "bench.h"
#include "bench.skel.h"
#include "drop.skel.h"
#include "pass.skel.h"
#include "fastpath.h"
#include "tables.h"
#include "util.h"

/*
 * The data plane is loaded and filled through libcellgate, as cellgated does
 * it: settings, 64 cells, 16 services (each with its port-0 fragment alias)
 * with 65537-slot Maglev tables swapped in with one batch, and a connection
 * table of 2^20 entries filled with about a million flows. The router's
 * program (cg_dp_prog_fd) is measured as it is for the paths that leave the
 * frame alone; the paths that rewrite it run inside bench.bpf.c's wrapper,
 * which puts the frame back every round, on the same maps.
 *
 * Every figure is checked before it is timed: the first round's verdict and
 * output frame against tests/lib/pkt.c's independent encoder, and after every
 * timed round the last round's verdict and frame and the counters (the
 * figure's counter moved by exactly repeat, no other; new flows by repeat or
 * by 0). A figure that fails a check makes the run fail.
 */

#define NCELLS	   64
#define NSVCS	   16
#define TABLE_SIZE CG_DEFAULT_TABLE_SIZE
#define SRC4	   "198.18.0.2" /* the LB's own addresses: outer sources */
#define SRC6	   "2001:db8::2"
#define MTU	   1500
#define OUT_CAP	   (CG_BENCH_MAX_FRAME + 128)
#define FILL_BATCH 65536 /* conntrack keys per BPF_MAP_UPDATE_BATCH */
#define NEW_CLASS  2	 /* class of the new-flow clients (198.19.0.0/16) */

static const uint8_t lb_mac[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x02 }; /* this LB */

/* A cell as the benchmark configures it and as the expected frames need it. */
struct fp_cell {
	uint32_t id;	   /* cells map index */
	char name[16];	   /* Maglev seed */
	int family;	   /* 4 or 6: the gateway's */
	char gw[48];	   /* gateway, text */
	uint8_t encap;	   /* CG_ENCAP_* */
	uint16_t gue_port; /* host order */
	uint16_t vlan;	   /* egress 802.1Q TCI, host order; 0: none */
	uint8_t mac[6];	   /* next hop */
};

/* A service: its key and which cells (a contiguous group) its table spreads over. */
struct fp_svc {
	uint32_t id;
	int family;   /* 4 or 6 */
	char vip[48]; /* text */
	uint16_t port;
	uint8_t proto;
	int first, ncells; /* cells[first .. first + ncells) */
};

/* The frames the figures send. */
enum fp_frame_id {
	F_PASS, /* TCP to the LB's own address: no service */
	F_MAL,	/* TCP to a VIP, cut inside the TCP header */
	F_EST4, /* TCP ACK of an established IPv4 flow */
	F_EST6, /* TCP ACK of an established IPv6 flow */
	F_UDP4, /* UDP datagram of an established IPv4 flow (GUE cell) */
	F_NEW4, /* TCP SYN whose source the wrapper rewrites every round */
	F_NFRAMES,
};

struct fp_frame {
	struct tpkt desc; /* what tpkt_build() made it from */
	uint8_t in[CG_BENCH_MAX_FRAME];
	size_t len;
	size_t l3_off;
	int svc;    /* index in svcs, -1: none */
	int pinned; /* index in cells of the connection entry made for it, -1: none */
	bool vary;  /* the wrapper writes its round counter into the source */
	uint16_t saddr_off, sport_off;
};

enum fp_method {
	FP_DIRECT,  /* the router's own program: the frame is not changed */
	FP_WRAPPED, /* bench_router: restore, then the router; restore-only subtracted */
};

/* What the connection table must look like before a figure runs. */
enum fp_ct {
	CT_ANY,
	CT_HEADROOM, /* free entries on this CPU's LRU list: inserts without eviction */
	CT_FULL,     /* this CPU's LRU list full: every insert evicts */
};

struct fp;

/*
 * One figure. Adding one is adding an entry to figures[] below; a figure
 * that needs a feature of the router names a map the router's program must
 * use (needs) and the setup that configures it.
 */
struct fp_figure {
	const char *name;
	const char *what; /* one line: what a round does */
	enum fp_method method;
	enum fp_frame_id frame;
	uint32_t verdict;  /* XDP_* of every round */
	unsigned int stat; /* enum cg_stat: moves by one a round */
	int new_flow;	   /* new connection entries a round: 1 or 0 */
	enum fp_ct ct;
	int base_pass;		     /* baseline empty XDP_PASS (else empty XDP_DROP) */
	double target;		     /* ratio to the baseline must be at most this; 0: none */
	const char *needs;	     /* a map the router must use for this figure, NULL: none */
	int (*setup)(struct fp *fp); /* configures what the figure needs; NULL: nothing */
	int (*before_round)(struct fp *fp); /* just before each timed run; NULL: nothing */
	int (*teardown)(struct fp *fp);	    /* undoes setup; NULL: nothing */
};

static int fp_router_map(const struct fp *fp, const char *name);
static int fp_shed_setup(struct fp *fp);
static int fp_shed_teardown(struct fp *fp);
static int fp_guard_setup(struct fp *fp);
static int fp_guard_round(struct fp *fp);
static int fp_guard_teardown(struct fp *fp);

/*
 * The figures, in the order they run (churn last: it fills this CPU's LRU
 * list for good). A figure that needs a feature of the router names a map
 * the router's program must use; it is reported as not measured otherwise.
 */
static const struct fp_figure figures[] = {
	{ .name = "pass_nonservice",
	  .what = "TCP to the LB's own address: parse, service miss, XDP_PASS",
	  .method = FP_DIRECT,
	  .frame = F_PASS,
	  .verdict = XDP_PASS,
	  .stat = CG_STAT_PASS_NO_SERVICE,
	  .base_pass = 1,
	  .target = 1.5 },
	{ .name = "malformed_drop",
	  .what = "TCP header cut short: parse, XDP_DROP",
	  .method = FP_DIRECT,
	  .frame = F_MAL,
	  .verdict = XDP_DROP,
	  .stat = CG_STAT_DROP_MALFORMED },
	{ .name = "fwd_established_v4",
	  .what = "TCP ACK, connection hit, IPv4 IPIP encap, XDP_TX",
	  .method = FP_WRAPPED,
	  .frame = F_EST4,
	  .verdict = XDP_TX,
	  .stat = CG_STAT_FWD,
	  .target = 3.0 },
	{ .name = "fwd_established_v6",
	  .what = "TCP ACK, connection hit, IPv6-in-IPv6 encap, XDP_TX",
	  .method = FP_WRAPPED,
	  .frame = F_EST6,
	  .verdict = XDP_TX,
	  .stat = CG_STAT_FWD },
	{ .name = "fwd_udp_v4",
	  .what = "UDP, connection hit, IPv4 GUE encap, XDP_TX",
	  .method = FP_WRAPPED,
	  .frame = F_UDP4,
	  .verdict = XDP_TX,
	  .stat = CG_STAT_FWD },
	{ .name = "fwd_new_flow_v4",
	  .what = "TCP SYN of a new flow: classify, pick, admit, LRU insert (free entries), encap",
	  .method = FP_WRAPPED,
	  .frame = F_NEW4,
	  .verdict = XDP_TX,
	  .stat = CG_STAT_FWD,
	  .new_flow = 1,
	  .ct = CT_HEADROOM,
	  .target = 6.0 },
	{ .name = "shed_drop_new_flow",
	  .what = "TCP SYN of a new flow whose (cell, class) sheds every new flow: refused",
	  .method = FP_WRAPPED,
	  .frame = F_NEW4,
	  .verdict = XDP_DROP,
	  .stat = CG_STAT_DROP_SHED,
	  .target = 2.0,
	  .needs = "shed",
	  .setup = fp_shed_setup,
	  .teardown = fp_shed_teardown },
	{ .name = "guard_drop",
	  .what = "TCP SYN of a new flow over its source prefix's guard limit: refused",
	  .method = FP_WRAPPED,
	  .frame = F_NEW4,
	  .verdict = XDP_DROP,
	  .stat = CG_STAT_DROP_GUARD,
	  .target = 2.0,
	  .needs = "guard",
	  .setup = fp_guard_setup,
	  .before_round = fp_guard_round,
	  .teardown = fp_guard_teardown },
	{ .name = "fwd_new_flow_churn",
	  .what = "TCP SYN of a new flow, connection table full: LRU eviction",
	  .method = FP_WRAPPED,
	  .frame = F_NEW4,
	  .verdict = XDP_TX,
	  .stat = CG_STAT_FWD,
	  .new_flow = 1,
	  .ct = CT_FULL,
	  .target = 15.0 },
};
#define NFIGURES (sizeof(figures) / sizeof(figures[0]))

struct fp {
	const struct fp_opts *o;
	struct cg_dp *dp;
	struct cg_bench *bench;
	struct cg_drop *drop;
	struct cg_pass *pass;
	int router_fd, wrap_fd, restore_fd, drop_fd, pass_fd;
	int ct_fd;    /* conntrack, the router's (not owned) */
	int guard_fd; /* guard, the router's (owned while guard_drop runs) */
	int cpu, other_cpu;
	int cpus[64], ncpus;  /* the CPUs this process could use before it pinned itself */
	uint32_t ct_share;    /* entries of each CPU's LRU list */
	uint32_t ct_headroom; /* entries left free on this CPU's list for fwd_new_flow_v4 */
	uint64_t fill_next;   /* index of the next fill flow */
	bool ct_full;
	uint32_t seq; /* next round counter for varying frames */
	struct fp_cell cells[NCELLS];
	struct fp_svc svcs[NSVCS];
	uint32_t *slots[NSVCS]; /* each service's table as built (0-based) */
	struct fp_frame frames[F_NFRAMES];
	/* baseline samples of all figures, for the baseline rows */
	double drops[256], passes[256], restores[64];
	size_t ndrops, npasses, nrestores;
	uint32_t map_ids[64];
	uint32_t nmaps;
};

#define fp_log(fp, ...)                                         \
	do {                                                    \
		if ((fp)->o->verbose)                           \
			fprintf(stderr, "bench: " __VA_ARGS__); \
	} while (0)

static int fp_fail(const char *fig, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fp_fail(const char *fig, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench: %s: ", fig);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int addr_parse(int family, const char *text, __be32 out[4])
{
	memset(out, 0, 16);
	return inet_pton(family == 4 ? AF_INET : AF_INET6, text, out) == 1 ? 0 : -EINVAL;
}

/* ---- the configuration: cells, services, settings, tables ---- */

/*
 * 64 cells in four groups: 32 IPv4 IPIP, 16 IPv4 GUE (every fourth behind a
 * VLAN), 8 IPv6 IPIP, 8 IPv6 GUE. Services spread over one group each: 8
 * IPv4 TCP services over the IPIP cells, 4 IPv4 UDP over GUE, 2 IPv6 TCP over
 * IPv6 IPIP, 2 IPv6 UDP over IPv6 GUE.
 */
static void fp_describe(struct fp *fp)
{
	int i;

	for (i = 0; i < NCELLS; i++) {
		struct fp_cell *c = &fp->cells[i];

		memset(c, 0, sizeof(*c));
		c->id = i + 1;
		snprintf(c->name, sizeof(c->name), "cell-%02d", i);
		c->mac[0] = 0x02;
		c->mac[2] = 0x5e;
		c->mac[3] = 0x20;
		c->mac[5] = (uint8_t)c->id;
		if (i < 32) {
			c->family = 4;
			c->encap = CG_ENCAP_IPIP;
			snprintf(c->gw, sizeof(c->gw), "198.18.1.%d", 10 + i);
		} else if (i < 48) {
			c->family = 4;
			c->encap = CG_ENCAP_GUE;
			c->gue_port = CG_GUE_DEFAULT_PORT;
			c->vlan = i % 4 == 0 ? 100 + i : 0;
			snprintf(c->gw, sizeof(c->gw), "198.18.2.%d", 10 + i);
		} else if (i < 56) {
			c->family = 6;
			c->encap = CG_ENCAP_IPIP;
			snprintf(c->gw, sizeof(c->gw), "2001:db8:1::%x", 0x10 + i);
		} else {
			c->family = 6;
			c->encap = CG_ENCAP_GUE;
			c->gue_port = CG_GUE_DEFAULT_PORT;
			snprintf(c->gw, sizeof(c->gw), "2001:db8:2::%x", 0x10 + i);
		}
	}
	for (i = 0; i < NSVCS; i++) {
		struct fp_svc *s = &fp->svcs[i];

		memset(s, 0, sizeof(*s));
		s->id = i;
		if (i < 8) {
			s->family = 4;
			snprintf(s->vip, sizeof(s->vip), "203.0.113.%d", 10 + i);
			s->port = 80;
			s->proto = IPPROTO_TCP;
			s->first = 0;
			s->ncells = 32;
		} else if (i < 12) {
			s->family = 4;
			snprintf(s->vip, sizeof(s->vip), "203.0.113.%d", 20 + i - 8);
			s->port = 53;
			s->proto = IPPROTO_UDP;
			s->first = 32;
			s->ncells = 16;
		} else if (i < 14) {
			s->family = 6;
			snprintf(s->vip, sizeof(s->vip), "2001:db8:f00d::%x", 0x10 + i - 12);
			s->port = 443;
			s->proto = IPPROTO_TCP;
			s->first = 48;
			s->ncells = 8;
		} else {
			s->family = 6;
			snprintf(s->vip, sizeof(s->vip), "2001:db8:f00d::%x", 0x20 + i - 14);
			s->port = 53;
			s->proto = IPPROTO_UDP;
			s->first = 56;
			s->ncells = 8;
		}
	}
}

static int fp_svc_key(const struct fp_svc *s, uint16_t port, struct cg_service_key *k)
{
	memset(k, 0, sizeof(*k));
	k->port = htons(port);
	k->proto = s->proto;
	k->family = s->family == 4 ? CG_AF_INET : CG_AF_INET6;
	return addr_parse(s->family, s->vip, k->addr);
}

/*
 * A few hundred source-prefix class rules, so classification walks a real
 * trie: 256 IPv4 /24s of 198.18.0.0/16 (the established clients), the
 * new-flow clients' 198.19.0.0/16 as NEW_CLASS, 64 IPv6 /64s of 2001:db8:c::/48.
 */
static int fp_class_rules(struct fp *fp)
{
	struct cg_class_prefix p;
	struct cg_class_rule r;
	int i, err;

	for (i = 0; i < 256 + 1 + 64; i++) {
		memset(&p, 0, sizeof(p));
		memset(&r, 0, sizeof(r));
		r.rule = (uint16_t)i;
		if (i < 256) {
			p.family = CG_AF_INET;
			p.len = 24;
			p.addr[0] = htonl(0xc6120000U | (uint32_t)i << 8);
			r.class = (uint8_t)(i % CG_MAX_CLASSES);
		} else if (i == 256) {
			p.family = CG_AF_INET;
			p.len = 16;
			p.addr[0] = htonl(0xc6130000U);
			r.class = NEW_CLASS;
		} else {
			p.family = CG_AF_INET6;
			p.len = 64;
			p.addr[0] = htonl(0x20010db8U);
			p.addr[1] = htonl(0x000c0000U | (uint32_t)(i - 257));
			r.class = (uint8_t)(i % CG_MAX_CLASSES);
		}
		err = cg_dp_class_rule_set(fp->dp, &p, &r);
		if (err)
			return err;
	}
	return 0;
}

/* Settings, cells, services (+ aliases), then all 16 tables in one swap, as the controller does. */
static int fp_configure(struct fp *fp)
{
	struct cg_dp_table tabs[NSVCS];
	struct cg_maglev_cell mc[NCELLS];
	struct cg_config cfg;
	int i, j, err;

	memset(&cfg, 0, sizeof(cfg));
	if (inet_pton(AF_INET, SRC4, &cfg.src4) != 1 || addr_parse(6, SRC6, cfg.src6))
		return -EINVAL;
	cfg.mtu = MTU;
	cfg.seed_cell = CG_TEST_SEED_CELL;
	cfg.seed_admit = CG_TEST_SEED_ADMIT;
	err = cg_dp_config_set(fp->dp, &cfg);
	if (err)
		return err;
	for (i = 0; i < NCELLS; i++) {
		const struct fp_cell *tc = &fp->cells[i];
		struct cg_cell c;

		memset(&c, 0, sizeof(c));
		if (addr_parse(tc->family, tc->gw, c.gw))
			return -EINVAL;
		c.state = CG_CELL_ACTIVE;
		c.encap = tc->encap;
		c.family = tc->family == 4 ? CG_AF_INET : CG_AF_INET6;
		c.region = (uint8_t)(i % 3);
		memcpy(c.dmac, tc->mac, 6);
		c.vlan = htons(tc->vlan);
		c.gue_port = htons(tc->gue_port);
		err = cg_dp_cell_set(fp->dp, tc->id, &c);
		if (err)
			return err;
	}
	for (i = 0; i < NSVCS; i++) {
		const struct fp_svc *s = &fp->svcs[i];
		struct cg_service v = { .id = s->id };
		struct cg_service_key k;

		if (fp_svc_key(s, s->port, &k))
			return -EINVAL;
		err = cg_dp_service_set(fp->dp, &k, &v);
		if (err)
			return err;
		if (fp_svc_key(s, 0, &k))
			return -EINVAL;
		v.flags = CG_SVC_F_FRAG_ALIAS;
		err = cg_dp_service_set(fp->dp, &k, &v);
		if (err)
			return err;

		fp->slots[i] = calloc(TABLE_SIZE, sizeof(uint32_t));
		if (!fp->slots[i])
			return -ENOMEM;
		for (j = 0; j < s->ncells; j++) {
			const struct fp_cell *c = &fp->cells[s->first + j];

			mc[j] = (struct cg_maglev_cell){ .id = c->id,
							 .name = c->name,
							 .weight = 100 };
		}
		err = cg_maglev_build(mc, s->ncells, fp->slots[i], TABLE_SIZE);
		if (err)
			return err;
		tabs[i] = (struct cg_dp_table){ .service_id = s->id,
						.slots = fp->slots[i],
						.size = TABLE_SIZE };
	}
	err = cg_dp_table_swap_many(fp->dp, tabs, NSVCS);
	if (err)
		return err;
	return fp_class_rules(fp);
}

static int fp_cell_index(const struct fp *fp, uint32_t id)
{
	return id >= 1 && id <= NCELLS ? (int)id - 1 : -1;
}

/* The cell (index) the service's table names for a flow, as the router computes it. */
static int fp_table_pick(const struct fp *fp, int svc, const struct cg_flow_key *key)
{
	uint32_t h = cg_flow_hash(key, CG_TEST_SEED_CELL);

	return fp_cell_index(fp, fp->slots[svc][h % TABLE_SIZE]);
}

/* ---- frames ---- */

static int fp_frame_build(struct fp *fp, enum fp_frame_id id, const struct tpkt *desc, int svc,
			  size_t cut)
{
	struct fp_frame *f = &fp->frames[id];
	uint8_t buf[TPKT_MAX_FRAME];
	size_t n;

	memset(f, 0, sizeof(*f));
	f->desc = *desc;
	n = tpkt_build(desc, buf, sizeof(buf));
	if (!n || n > sizeof(f->in))
		return -EINVAL;
	if (cut && cut < n)
		n = cut;
	memcpy(f->in, buf, n);
	f->len = n;
	f->l3_off = tpkt_l3_off(desc);
	f->svc = svc;
	f->pinned = -1;
	f->saddr_off = CG_BENCH_NO_VARY;
	f->sport_off = CG_BENCH_NO_VARY;
	return 0;
}

/* frames from the upstream router (02:00:5e:10:00:01) to this LB (lb_mac) */
#define IN4(...)                                                             \
	{                                                                    \
		.family = 4, .smac = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 }, \
		.dmac = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x02 }, __VA_ARGS__  \
	}
#define IN6(...)                                                             \
	{                                                                    \
		.family = 6, .smac = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 }, \
		.dmac = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x02 }, __VA_ARGS__  \
	}

static int fp_frames(struct fp *fp)
{
	const struct tpkt pass = IN4(.src = "198.18.100.3", .dst = SRC4, .proto = IPPROTO_TCP,
				     .sport = 40000, .dport = 22, .tcp_flags = 0x10, .df = 1);
	const struct tpkt mal =
		IN4(.src = "198.18.100.4", .dst = fp->svcs[0].vip, .proto = IPPROTO_TCP,
		    .sport = 40000, .dport = 80, .tcp_flags = 0x10, .df = 1);
	const struct tpkt est4 =
		IN4(.src = "198.18.100.1", .dst = fp->svcs[0].vip, .proto = IPPROTO_TCP,
		    .sport = 40000, .dport = 80, .tcp_flags = 0x10, .df = 1);
	const struct tpkt est6 =
		IN6(.src = "2001:db8:c::1", .dst = fp->svcs[12].vip, .proto = IPPROTO_TCP,
		    .sport = 40000, .dport = 443, .tcp_flags = 0x10);
	const struct tpkt udp4 =
		IN4(.src = "198.18.100.2", .dst = fp->svcs[8].vip, .proto = IPPROTO_UDP,
		    .sport = 5353, .dport = 53, .payload_len = 32);
	const struct tpkt new4 =
		IN4(.src = "198.19.0.0", .dst = fp->svcs[0].vip, .proto = IPPROTO_TCP, .sport = 0,
		    .dport = 80, .tcp_flags = 0x02, .df = 1);
	struct fp_frame *f;

	if (fp_frame_build(fp, F_PASS, &pass, -1, 0) ||
	    fp_frame_build(fp, F_MAL, &mal, 0, TPKT_ETH_HLEN + 20 + 10) ||
	    fp_frame_build(fp, F_EST4, &est4, 0, 0) || fp_frame_build(fp, F_EST6, &est6, 12, 0) ||
	    fp_frame_build(fp, F_UDP4, &udp4, 8, 0) || fp_frame_build(fp, F_NEW4, &new4, 0, 0))
		return -EINVAL;
	f = &fp->frames[F_NEW4];
	f->vary = true;
	f->saddr_off = (uint16_t)(f->l3_off + 14); /* last two bytes of the IPv4 source */
	f->sport_off = (uint16_t)(f->l3_off + 20); /* TCP source port, no IP options */
	return 0;
}

/* The frame, key and source address of a varying frame at round counter s. */
static int fp_frame_at(const struct fp_frame *f, uint32_t s, uint8_t *in, struct cg_flow_key *key)
{
	struct tpkt d = f->desc;
	char src[32];

	memcpy(in, f->in, f->len);
	if (f->vary) {
		in[f->saddr_off] = (uint8_t)(s >> 24);
		in[f->saddr_off + 1] = (uint8_t)(s >> 16);
		in[f->sport_off] = (uint8_t)(s >> 8);
		in[f->sport_off + 1] = (uint8_t)s;
		snprintf(src, sizeof(src), "198.19.%u.%u", s >> 24, (s >> 16) & 0xff);
		d.src = src;
		d.sport = (uint16_t)s;
	}
	return tpkt_flow_key(&d, key);
}

/*
 * The frame the router must output for frame f at round counter s, and its
 * verdict, as the figure expects them. Forwarded frames go to the pinned
 * cell when the flow has a connection entry, else to the table's pick.
 */
static int fp_expect(const struct fp *fp, const struct fp_frame *f, uint32_t verdict, uint32_t s,
		     uint8_t *want, size_t *want_len)
{
	uint8_t in[CG_BENCH_MAX_FRAME];
	struct cg_flow_key key;
	const struct fp_cell *c;
	struct tencap e;
	int ci;

	if (fp_frame_at(f, s, in, &key))
		return -EINVAL;
	if (verdict != XDP_TX) {
		memcpy(want, in, f->len);
		*want_len = f->len;
		return 0;
	}
	ci = f->pinned >= 0 ? f->pinned : fp_table_pick(fp, f->svc, &key);
	if (ci < 0)
		return -ENOENT;
	c = &fp->cells[ci];
	memset(&e, 0, sizeof(e));
	e.outer_family = c->family;
	e.outer_src = c->family == 4 ? SRC4 : SRC6;
	e.outer_dst = c->gw;
	e.gue = c->encap == CG_ENCAP_GUE;
	e.gue_dport = c->gue_port;
	e.flow_hash = cg_flow_hash(&key, CG_TEST_SEED_CELL);
	memcpy(e.dmac, c->mac, 6);
	memcpy(e.smac, lb_mac, 6);
	e.vlan_tci = c->vlan;
	*want_len = tpkt_encap(&e, in + f->l3_off, f->len - f->l3_off, f->desc.tos & 0x03, want, OUT_CAP);
	return *want_len ? 0 : -EINVAL;
}

/* ---- load shedding ---- */

/* The soft shed threshold of NEW_CLASS on service 0's cells (where the SYN frame goes). */
static int fp_shed_level(struct fp *fp, uint32_t soft)
{
	const struct fp_svc *s = &fp->svcs[0];
	struct cg_shed sh = { .soft = soft, .hard = 0 };
	int i, err;

	for (i = 0; i < s->ncells; i++) {
		err = cg_dp_shed_set(fp->dp, fp->cells[s->first + i].id, NEW_CLASS, &sh);
		if (err)
			return err;
	}
	return 0;
}

static int fp_shed_setup(struct fp *fp)
{
	return fp_shed_level(fp, cg_dp_shed_threshold(1000000));
}

static int fp_shed_teardown(struct fp *fp)
{
	return fp_shed_level(fp, 0);
}

/* The guard on (rate flows a second, burst 1) or off; IPv4 sources counted by /16. */
static int fp_guard_config(struct fp *fp, uint32_t rate)
{
	struct cg_config cfg;
	int err;

	err = cg_dp_config_get(fp->dp, &cfg);
	if (err)
		return err;
	cfg.guard_rate = rate;
	cfg.guard_burst = rate ? 1 : 0;
	cfg.guard_prefix4 = rate ? 16 : 0;
	cfg.guard_prefix6 = rate ? 64 : 0;
	return cg_dp_config_set(fp->dp, &cfg);
}

static int fp_guard_setup(struct fp *fp)
{
	int fd = fp_router_map(fp, "guard");

	if (fd < 0)
		return fd;
	fp->guard_fd = fd;
	return fp_guard_config(fp, 1);
}

/*
 * 198.19.0.0/16's bucket emptied just before a run: at 1 flow a second it
 * refuses every new flow of a round shorter than a second (left alone, it
 * refills between rounds and admits a flow now and then).
 */
static int fp_guard_round(struct fp *fp)
{
	struct cg_guard_key k;
	struct cg_guard g;

	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	k.addr[0] = htonl(0xc6130000U);
	k.family = CG_AF_INET;
	k.len = 16; /* the prefix length fp_guard_config() sets */
	g.last_ns = bench_ns(CLOCK_MONOTONIC); /* the clock of bpf_ktime_get_ns() */
	return bpf_map_update_elem(fp->guard_fd, &k, &g, BPF_ANY);
}

static int fp_guard_teardown(struct fp *fp)
{
	int err = fp_guard_config(fp, 0);

	if (fp->guard_fd >= 0)
		close(fp->guard_fd);
	fp->guard_fd = -1;
	if (!err)
		err = cg_dp_guard_forget(fp->dp);
	return err;
}

/* ---- the connection table ---- */

/* Fill flow i: client 198.18.(i & 0xffff) or 2001:db8:c::i, one of the 16 services. */
static void fp_fill_key(const struct fp *fp, uint64_t i, struct cg_flow_key *k, struct cg_conn *v)
{
	const struct fp_svc *s = &fp->svcs[i % NSVCS];
	int ci;

	memset(k, 0, sizeof(*k));
	if (s->family == 4) {
		k->saddr[0] = htonl(0xc6120000U | (uint32_t)(i & 0xffff));
		k->sport = htons((uint16_t)(1024 + (i >> 16)));
		k->family = CG_AF_INET;
	} else {
		k->saddr[0] = htonl(0x20010db8U);
		k->saddr[1] = htonl(0x000c0000U);
		k->saddr[3] = htonl((uint32_t)i);
		k->sport = htons(1024);
		k->family = CG_AF_INET6;
	}
	addr_parse(s->family, s->vip, k->daddr);
	k->dport = htons(s->port);
	k->proto = s->proto;
	ci = fp_table_pick(fp, (int)(i % NSVCS), k);
	memset(v, 0, sizeof(*v));
	v->cell = fp->cells[ci < 0 ? 0 : ci].id;
	v->service = (uint16_t)s->id;
}

/*
 * n more fill flows, inserted from the calling CPU: the LRU keeps a list
 * per CPU (BPF_F_NO_COMMON_LRU) and an insert takes its entry from the
 * inserting CPU's list, so where the fill runs decides whose list fills.
 */
static int fp_fill(struct fp *fp, uint64_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = BPF_ANY);
	struct cg_flow_key *keys;
	struct cg_conn *vals;
	uint64_t done = 0;
	uint32_t i, count;
	int err = 0;

	keys = calloc(FILL_BATCH, sizeof(*keys));
	vals = calloc(FILL_BATCH, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (done < n) {
		count = n - done < FILL_BATCH ? (uint32_t)(n - done) : FILL_BATCH;
		for (i = 0; i < count; i++)
			fp_fill_key(fp, fp->fill_next + i, &keys[i], &vals[i]);
		err = bpf_map_update_batch(fp->ct_fd, keys, vals, &count, &bo);
		if (err)
			goto out;
		fp->fill_next += count;
		done += count;
	}
out:
	free(keys);
	free(vals);
	return err;
}

/*
 * About a million flows: every other CPU's list full, this CPU's list all
 * but ct_headroom entries (fwd_new_flow_v4 inserts there without evicting).
 * The established flows of the figures are pinned from another CPU, so the
 * churn figure, which evicts from this CPU's list, cannot evict them.
 */
static int fp_conntrack(struct fp *fp)
{
	static const enum fp_frame_id est[] = { F_EST4, F_EST6, F_UDP4 };
	int possible, i, err;
	uint64_t entries = 0;

	possible = libbpf_num_possible_cpus();
	if (possible <= 0)
		return -EINVAL;
	fp->ct_share = cg_dp_conn_capacity(fp->dp) / (uint32_t)possible;
	fp->ct_headroom = fp->o->repeat_new + 4096;
	if (fp->ct_headroom > fp->ct_share / 2)
		return -ERANGE;
	for (i = 0; i < fp->ncpus; i++) {
		if (fp->cpus[i] == fp->cpu)
			continue;
		if (bench_pin_cpu(fp->cpus[i]))
			return -errno;
		err = fp_fill(fp, fp->ct_share);
		if (err)
			return err;
	}
	if (fp->other_cpu >= 0 && bench_pin_cpu(fp->other_cpu))
		return -errno;
	for (i = 0; i < (int)(sizeof(est) / sizeof(est[0])); i++) {
		struct fp_frame *f = &fp->frames[est[i]];
		const struct fp_svc *s = &fp->svcs[f->svc];
		struct cg_flow_key key;
		struct cg_conn conn;
		int pick;

		if (tpkt_flow_key(&f->desc, &key))
			return -EINVAL;
		/* pinned to another cell than the table's: the output proves the entry was used */
		pick = fp_table_pick(fp, f->svc, &key);
		f->pinned = s->first + ((pick - s->first) + s->ncells / 2) % s->ncells;
		memset(&conn, 0, sizeof(conn));
		conn.cell = fp->cells[f->pinned].id;
		conn.service = (uint16_t)s->id;
		err = cg_dp_conn_set(fp->dp, &key, &conn);
		if (err)
			return err;
	}
	if (bench_pin_cpu(fp->cpu))
		return -errno;
	err = fp_fill(fp, fp->ct_share - fp->ct_headroom);
	if (err)
		return err;
	err = cg_dp_conn_count(fp->dp, &entries);
	if (err)
		return err;
	fprintf(stderr,
		"bench: conntrack: %llu flows in %u entries (%u per CPU list), %u left free "
		"on CPU %d\n",
		(unsigned long long)entries, cg_dp_conn_capacity(fp->dp), fp->ct_share,
		fp->ct_headroom, fp->cpu);
	return 0;
}

/* The flows a varying frame made for round counters [s0, s0 + n), removed again. */
static int fp_forget(struct fp *fp, const struct fp_frame *f, uint32_t s0, uint32_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	uint8_t in[CG_BENCH_MAX_FRAME];
	struct cg_flow_key *keys;
	uint32_t i, count = n;
	int err;

	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		err = fp_frame_at(f, s0 + i, in, &keys[i]);
		if (err)
			goto out;
	}
	err = bpf_map_delete_batch(fp->ct_fd, keys, &count, &bo);
	if (!err && count != n)
		err = -ENOENT;
out:
	free(keys);
	return err;
}

/* ---- one run of a program ---- */

struct fp_meas {
	double ns;	  /* thread CPU time / repeat */
	uint32_t kns;	  /* the kernel's own average (whole ns) */
	uint32_t verdict; /* of the last round */
	uint32_t out_len; /* of the last round */
};

/*
 * Run fd repeat times on in[0..len). Timed with the thread's CPU clock:
 * sub-nanosecond resolution over a round, and time the CPU spent on other
 * tasks is not counted. The syscall's own cost, a few microseconds, is
 * spread over the repeat.
 */
static int fp_run(int fd, const void *in, size_t len, uint32_t repeat, uint8_t *out,
		  struct fp_meas *m)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = OUT_CAP, .repeat = repeat);
	uint64_t t0, t1;
	int err;

	t0 = bench_ns(CLOCK_THREAD_CPUTIME_ID);
	err = bpf_prog_test_run_opts(fd, &o);
	t1 = bench_ns(CLOCK_THREAD_CPUTIME_ID);
	if (err)
		return err < 0 ? err : -EIO;
	m->ns = (double)(t1 - t0) / repeat;
	m->kns = o.duration;
	m->verdict = o.retval;
	m->out_len = o.data_size_out;
	return 0;
}

/* The counters a figure's check looks at. */
struct fp_counts {
	struct cg_counter st[CG_STAT_MAX];
	struct cg_svc_stats svc;
};

static int fp_counts(struct fp *fp, int svc, struct fp_counts *c)
{
	int err;

	memset(c, 0, sizeof(*c));
	err = cg_dp_stats_read(fp->dp, c->st);
	if (!err && svc >= 0)
		err = cg_dp_svc_stats_read(fp->dp, fp->svcs[svc].id, &c->svc);
	return err;
}

/* Exactly n packets counted, all under the figure's reason, and n * new_flow new flows. */
static int fp_counts_check(const struct fp_figure *fig, int svc, const struct fp_counts *a,
			   const struct fp_counts *b, uint64_t n)
{
	unsigned int i;

	for (i = 0; i < CG_STAT_MAX; i++) {
		uint64_t d = b->st[i].packets - a->st[i].packets;

		if (d != (i == fig->stat ? n : 0))
			return fp_fail(fig->name, "counter %s moved by %llu, want %llu",
				       cg_stat_name(i), (unsigned long long)d,
				       (unsigned long long)(i == fig->stat ? n : 0));
	}
	if (svc >= 0 && b->svc.new_flows - a->svc.new_flows != n * (uint64_t)fig->new_flow)
		return fp_fail(fig->name, "%llu new flows in %llu rounds, want %llu",
			       (unsigned long long)(b->svc.new_flows - a->svc.new_flows),
			       (unsigned long long)n, (unsigned long long)(n * fig->new_flow));
	return 0;
}

static int fp_frame_check(const struct fp_figure *fig, const char *when, const struct fp_meas *m,
			  const uint8_t *out, const uint8_t *want, size_t want_len)
{
	char what[128];

	if (m->verdict != fig->verdict)
		return fp_fail(fig->name, "%s: verdict %s, want %s", when,
			       trun_verdict_name(m->verdict), trun_verdict_name(fig->verdict));
	snprintf(what, sizeof(what), "bench: %s: %s", fig->name, when);
	return trun_frame_eq(what, out, m->out_len, want, want_len) ? 0 : -1;
}

static void fp_bench_frame(struct fp *fp, const struct fp_frame *f)
{
	struct cg_bench_frame *b = &fp->bench->bss->frame;

	b->len = (uint32_t)f->len;
	memcpy(b->data, f->in, f->len);
	b->saddr_off = f->vary ? f->saddr_off : CG_BENCH_NO_VARY;
	b->sport_off = f->vary ? f->sport_off : CG_BENCH_NO_VARY;
}

/* Does the router's program use a map of this name? */
static bool fp_router_uses(const struct fp *fp, const char *name)
{
	struct bpf_map_info info;
	__u32 i, len;
	bool found = false;
	int fd;

	for (i = 0; i < fp->nmaps && !found; i++) {
		fd = bpf_map_get_fd_by_id(fp->map_ids[i]);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, name))
			found = true;
		close(fd);
	}
	return found;
}

/* The first round, checked: verdict, frame, counters; for a wrapped figure the router alone too. */
static int fp_first_round(struct fp *fp, const struct fp_figure *fig, const struct fp_frame *f)
{
	uint8_t out[OUT_CAP], want[OUT_CAP];
	struct fp_counts a, b;
	struct fp_meas m;
	size_t want_len;
	uint32_t s = fp->seq;
	int err;

	err = fp_expect(fp, f, fig->verdict, s, want, &want_len);
	if (err)
		return fp_fail(fig->name, "cannot build the expected frame: %s", strerror(-err));
	if (fig->method == FP_WRAPPED && !f->vary) {
		/* the router's own program gives the same frame: the wrapper runs the same code */
		if (fp_counts(fp, f->svc, &a) || fp_run(fp->router_fd, f->in, f->len, 1, out, &m) ||
		    fp_counts(fp, f->svc, &b))
			return fp_fail(fig->name, "cannot run the router");
		if (fp_frame_check(fig, "router program, first round", &m, out, want, want_len) ||
		    fp_counts_check(fig, f->svc, &a, &b, 1))
			return -1;
	}
	if (fig->method == FP_WRAPPED) {
		fp_bench_frame(fp, f);
		fp->bench->bss->seq = s;
	}
	if (fig->before_round && fig->before_round(fp))
		return fp_fail(fig->name, "cannot prepare the round");
	if (fp_counts(fp, f->svc, &a) ||
	    fp_run(fig->method == FP_WRAPPED ? fp->wrap_fd : fp->router_fd, f->in, f->len, 1, out,
		   &m) ||
	    fp_counts(fp, f->svc, &b))
		return fp_fail(fig->name, "cannot run the first round");
	if (fp_frame_check(fig, "first round", &m, out, want, want_len) ||
	    fp_counts_check(fig, f->svc, &a, &b, 1))
		return -1;
	if (f->vary) {
		if (fp->bench->bss->seq != s + 1)
			return fp_fail(fig->name, "the wrapper did not count its round");
		fp->seq = s + 1;
		if (fig->ct == CT_HEADROOM && fp_forget(fp, f, s, 1))
			return fp_fail(fig->name, "the first round's flow is not in the table");
	}
	return 0;
}

/* One round: baseline, restore-only (wrapped), the figure; checked. */
static int fp_round(struct fp *fp, const struct fp_figure *fig, const struct fp_frame *f,
		    uint32_t repeat, double *base, double *rest, double *x, uint32_t *kns)
{
	uint8_t out[OUT_CAP], want[OUT_CAP];
	struct fp_counts a, b;
	struct fp_meas m;
	size_t want_len;
	uint32_t s0;
	int err;

	err = fp_run(fig->base_pass ? fp->pass_fd : fp->drop_fd, f->in, f->len, repeat, out, &m);
	if (err || m.verdict != (fig->base_pass ? XDP_PASS : XDP_DROP))
		return fp_fail(fig->name, "baseline did not run");
	*base = m.ns;
	*rest = 0;
	if (fig->method == FP_WRAPPED) {
		fp_bench_frame(fp, f);
		fp->bench->bss->seq = fp->seq;
		err = fp_run(fp->restore_fd, f->in, f->len, repeat, out, &m);
		if (err || m.verdict != XDP_DROP)
			return fp_fail(fig->name, "restore-only did not run: %s",
				       err ? strerror(-err) : trun_verdict_name(m.verdict));
		*rest = m.ns;
		fp->seq = fp->bench->bss->seq; /* restore-only used these counters, no flows */
	}

	s0 = fp->seq;
	fp->bench->bss->seq = s0;
	if (fig->before_round && fig->before_round(fp))
		return fp_fail(fig->name, "cannot prepare the round");
	if (fp_counts(fp, f->svc, &a))
		return fp_fail(fig->name, "cannot read the counters");
	err = fp_run(fig->method == FP_WRAPPED ? fp->wrap_fd : fp->router_fd, f->in, f->len, repeat,
		     out, &m);
	if (err)
		return fp_fail(fig->name, "cannot run: %s", strerror(-err));
	if (fp_counts(fp, f->svc, &b))
		return fp_fail(fig->name, "cannot read the counters");
	*x = m.ns;
	*kns = m.kns;
	if (f->vary) {
		if (fp->bench->bss->seq != s0 + repeat)
			return fp_fail(fig->name, "the wrapper counted %u rounds, want %u",
				       fp->bench->bss->seq - s0, repeat);
		fp->seq = s0 + repeat;
	}
	/* the last round, as the kernel left it: the restore worked every time */
	err = fp_expect(fp, f, fig->verdict, s0 + repeat - 1, want, &want_len);
	if (err)
		return fp_fail(fig->name, "cannot build the expected frame");
	if (fp_frame_check(fig, "last round", &m, out, want, want_len) ||
	    fp_counts_check(fig, f->svc, &a, &b, repeat))
		return -1;
	if (fig->ct == CT_HEADROOM) {
		err = fp_forget(fp, f, s0, repeat);
		if (err)
			return fp_fail(fig->name, "cannot remove this round's flows: %s",
				       strerror(-err));
	}
	return 0;
}

/*
 * --profile: the figure's program alone, round after round, for
 * o->profile_s seconds, for a profiler sampling this CPU. Flows are not
 * removed between rounds: a CT_HEADROOM figure fills its free entries first.
 */
static int fp_profile(struct fp *fp, const struct fp_figure *fig, const struct fp_frame *f,
		      uint32_t repeat)
{
	uint64_t end = bench_ns(CLOCK_MONOTONIC) + (uint64_t)(fp->o->profile_s * 1e9);
	uint8_t out[OUT_CAP];
	struct fp_meas m;
	uint64_t n = 0;
	double ns = 0;
	int ctl = -1;

	if (fig->method == FP_WRAPPED) {
		fp_bench_frame(fp, f);
		fp->bench->bss->seq = fp->seq;
	}
	/* perf record -D -1 --control fifo:...: sample only this loop, not the setup */
	if (fp->o->perf_ctl) {
		ctl = open(fp->o->perf_ctl, O_WRONLY);
		if (ctl < 0 || write(ctl, "enable\n", 7) != 7)
			return fp_fail(fig->name, "cannot write '%s'", fp->o->perf_ctl);
		usleep(100000); /* perf reads the fifo from its own loop */
		end = bench_ns(CLOCK_MONOTONIC) + (uint64_t)(fp->o->profile_s * 1e9);
	}
	while (bench_ns(CLOCK_MONOTONIC) < end) {
		if (fp_run(fig->method == FP_WRAPPED ? fp->wrap_fd : fp->router_fd, f->in, f->len,
			   repeat, out, &m))
			return fp_fail(fig->name, "cannot run");
		ns += m.ns * repeat;
		n += repeat;
	}
	if (ctl >= 0) {
		if (write(ctl, "disable\n", 8) != 8)
			fprintf(stderr, "bench: cannot write '%s'\n", fp->o->perf_ctl);
		close(ctl);
	}
	fprintf(stderr, "bench: %s: %llu rounds, %.1f ns each (restore included)\n", fig->name,
		(unsigned long long)n, ns / (double)n);
	return 0;
}

static json_t *fp_prog_json(int fd, const char *name)
{
	struct bench_prog_facts facts;

	if (bench_prog_facts(fd, &facts))
		return json_null();
	return bench_prog_facts_json(&facts, name);
}

static int fp_figure_run(struct fp *fp, const struct fp_figure *fig, const struct fp_frame *f,
			 json_t *out);

static int fp_figure(struct fp *fp, const struct fp_figure *fig, json_t *out)
{
	const struct fp_frame *f = &fp->frames[fig->frame];
	json_t *e;
	int err;

	if (fig->needs && (!fig->setup || !fp_router_uses(fp, fig->needs))) {
		const char *why =
			!fp_router_uses(fp, fig->needs) ?
				"not measured: the router does not use this feature's map" :
				"not measured: the benchmark has no setup for it";

		fprintf(stderr, "bench: %s: %s\n", fig->name, why);
		e = json_pack("{s:s, s:n, s:n, s:n, s:[], s:f, s:s}", "name", fig->name,
			      "ns_per_packet", "baseline", "ratio", "runs", "target", fig->target,
			      "note", why);
		return json_array_append_new(out, e) ? -1 : 0;
	}
	if (fig->setup && fig->setup(fp))
		return fp_fail(fig->name, "setup failed");
	err = fp_figure_run(fp, fig, f, out);
	if (fig->teardown && fig->teardown(fp))
		return fp_fail(fig->name, "teardown failed");
	return err;
}

static int fp_figure_run(struct fp *fp, const struct fp_figure *fig, const struct fp_frame *f,
			 json_t *out)
{
	int rounds = fp->o->rounds, r;
	uint32_t repeat = fig->ct == CT_HEADROOM ? fp->o->repeat_new : fp->o->repeat;
	double base[64], rest[64], x[64], corr[64], ratio[64], tmp[64];
	uint32_t kns[64];
	double kmed[64];
	json_t *e;

	if (fig->ct == CT_FULL && !fp->ct_full) {
		/* the rest of this CPU's list: from now on every insert evicts */
		if (fp_fill(fp, fp->ct_headroom))
			return fp_fail(fig->name, "cannot fill the connection table");
		fp->ct_full = true;
	}

	if (rounds > 64)
		rounds = 64;
	fp_log(fp, "%s: %d rounds of %u\n", fig->name, rounds, repeat);
	if (fp_first_round(fp, fig, f))
		return -1;
	if (fp->o->profile)
		return fp_profile(fp, fig, f, repeat);
	for (r = 0; r < rounds; r++) {
		if (fp_round(fp, fig, f, repeat, &base[r], &rest[r], &x[r], &kns[r]))
			return -1;
		corr[r] = fig->method == FP_WRAPPED ? x[r] - rest[r] + base[r] : x[r];
		ratio[r] = corr[r] / base[r];
		kmed[r] = kns[r];
		if (fig->base_pass && fp->npasses < 256)
			fp->passes[fp->npasses++] = base[r];
		else if (!fig->base_pass && fp->ndrops < 256)
			fp->drops[fp->ndrops++] = base[r];
		if (fig->frame == F_EST4 && fig->method == FP_WRAPPED && fp->nrestores < 64)
			fp->restores[fp->nrestores++] = rest[r];
	}

	e = json_object();
	json_object_set_new(e, "name", json_string(fig->name));
	memcpy(tmp, corr, sizeof(double) * rounds);
	json_object_set_new(e, "ns_per_packet", json_real(bench_round2(bench_median(tmp, rounds))));
	json_object_set_new(e, "mpps_per_core",
			    json_real(bench_round2(1000.0 / bench_median(tmp, rounds))));
	memcpy(tmp, base, sizeof(double) * rounds);
	json_object_set_new(e, "baseline", json_real(bench_round2(bench_median(tmp, rounds))));
	json_object_set_new(e, "baseline_name",
			    json_string(fig->base_pass ? "empty_pass" : "empty_drop"));
	memcpy(tmp, ratio, sizeof(double) * rounds);
	json_object_set_new(e, "ratio", json_real(bench_round2(bench_median(tmp, rounds))));
	json_object_set_new(e, "runs", bench_runs_json(corr, rounds));
	if (fig->target > 0)
		json_object_set_new(e, "target", json_real(fig->target));
	json_object_set_new(e, "verdict", json_string(trun_verdict_name(fig->verdict)));
	json_object_set_new(e, "what", json_string(fig->what));
	json_object_set_new(e, "method",
			    json_string(fig->method == FP_WRAPPED ? "wrapped (restore subtracted)" :
								    "router program as is"));
	if (fig->method == FP_WRAPPED) {
		memcpy(tmp, x, sizeof(double) * rounds);
		json_object_set_new(e, "raw_ns",
				    json_real(bench_round2(bench_median(tmp, rounds))));
		memcpy(tmp, rest, sizeof(double) * rounds);
		json_object_set_new(e, "restore_ns",
				    json_real(bench_round2(bench_median(tmp, rounds))));
	}
	json_object_set_new(e, "kernel_ns", json_real(bench_median(kmed, rounds)));
	json_object_set_new(e, "repeat", json_integer(repeat));
	json_object_set_new(e, "frame_bytes", json_integer((json_int_t)f->len));
	json_object_set_new(e, "prog", fp_prog_json(fp->router_fd, "cg_router"));
	if (fig->method == FP_WRAPPED)
		json_object_set_new(e, "wrapper", fp_prog_json(fp->wrap_fd, "bench_router"));
	if (fig->ct != CT_ANY) {
		uint64_t n = 0;

		cg_dp_conn_count(fp->dp, &n);
		json_object_set_new(e, "conntrack_entries", json_integer((json_int_t)n));
	}
	return json_array_append_new(out, e) ? -1 : 0;
}

/* The baseline rows: all their samples from every figure's rounds. */
static int fp_baselines(struct fp *fp, json_t *out)
{
	double d, p, rs, v[256];
	json_t *e;

	memcpy(v, fp->drops, fp->ndrops * sizeof(double));
	d = bench_median(v, fp->ndrops);
	memcpy(v, fp->passes, fp->npasses * sizeof(double));
	p = bench_median(v, fp->npasses);
	memcpy(v, fp->restores, fp->nrestores * sizeof(double));
	rs = bench_median(v, fp->nrestores);
	if (!fp->ndrops || !fp->npasses)
		return -1;
	e = json_pack("{s:s, s:f, s:f, s:f, s:o, s:s, s:s, s:o}", "name", "empty_drop",
		      "ns_per_packet", bench_round2(d), "baseline", bench_round2(d), "ratio", 1.0,
		      "runs", bench_runs_json(fp->drops, fp->ndrops), "verdict", "XDP_DROP", "what",
		      "empty XDP program returning XDP_DROP (tests/bpf/drop.bpf.c)", "prog",
		      fp_prog_json(fp->drop_fd, "cg_drop"));
	if (json_array_insert_new(out, 0, e))
		return -1;
	e = json_pack("{s:s, s:f, s:f, s:f, s:o, s:s, s:s, s:o}", "name", "empty_pass",
		      "ns_per_packet", bench_round2(p), "baseline", bench_round2(p), "ratio", 1.0,
		      "runs", bench_runs_json(fp->passes, fp->npasses), "verdict", "XDP_PASS",
		      "what", "empty XDP program returning XDP_PASS (tests/bpf/pass.bpf.c)", "prog",
		      fp_prog_json(fp->pass_fd, "cg_pass"));
	if (json_array_insert_new(out, 1, e))
		return -1;
	if (!fp->nrestores)
		return 0;
	e = json_pack("{s:s, s:f, s:f, s:f, s:o, s:s, s:s, s:o}", "name", "restore_only",
		      "ns_per_packet", bench_round2(rs), "baseline", bench_round2(d), "ratio",
		      bench_round2(rs / d), "runs", bench_runs_json(fp->restores, fp->nrestores),
		      "verdict", "XDP_DROP", "what",
		      "the wrapper's restore alone (fwd_established_v4's frame): adjust_head + "
		      "xdp_store_bytes",
		      "prog", fp_prog_json(fp->restore_fd, "bench_restore_only"));
	return json_array_insert_new(out, 2, e) ? -1 : 0;
}

/* ---- memory ---- */

/* BPF map memory as the kernel charges it (fdinfo memlock), by map, tables summed. */
static int fp_memory(struct fp *fp, json_t *out)
{
	long long total = 0, tables = 0, m;
	struct bpf_map_info info;
	uint32_t i, id, len, ntables = 0;
	char name[64];
	int fd, tfd;

	for (i = 0; i < fp->nmaps; i++) {
		fd = bpf_map_get_fd_by_id(fp->map_ids[i]);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			close(fd);
			continue;
		}
		m = bench_fd_memlock(fd);
		if (info.type == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
			for (id = 0; id < info.max_entries; id++) {
				uint32_t inner;

				if (bpf_map_lookup_elem(fd, &id, &inner))
					continue;
				tfd = bpf_map_get_fd_by_id(inner);
				if (tfd < 0)
					continue;
				tables += bench_fd_memlock(tfd);
				ntables++;
				close(tfd);
			}
		}
		close(fd);
		if (m < 0 || info.name[0] == '\0' || strchr(info.name, '.'))
			continue; /* .rodata and friends: the program's, not state */
		total += m;
		snprintf(name, sizeof(name), "mem_%s", info.name);
		json_array_append_new(out, json_pack("{s:s, s:f, s:n, s:n, s:[], s:I, s:s}", "name",
						     name, "mib", bench_round2(m / 1048576.0),
						     "baseline", "ratio", "runs", "max_entries",
						     (json_int_t)info.max_entries, "what",
						     "memlock of the map (fdinfo)"));
	}
	total += tables;
	json_array_append_new(out,
			      json_pack("{s:s, s:f, s:n, s:n, s:[], s:I, s:s}", "name",
					"mem_tables_inner", "mib", bench_round2(tables / 1048576.0),
					"baseline", "ratio", "runs", "count", (json_int_t)ntables,
					"what", "the live Maglev tables (inner maps), summed"));
	json_array_append_new(
		out, json_pack("{s:s, s:f, s:n, s:n, s:[], s:s}", "name", "mem_maps_total", "mib",
			       bench_round2(total / 1048576.0), "baseline", "ratio", "runs", "what",
			       "every map of the router, tables included"));
	return 0;
}

/* ---- loading ---- */

/* fd of the router's map called name, from the maps its program uses; -ENOENT if none. */
static int fp_router_map(const struct fp *fp, const char *name)
{
	struct bpf_map_info info;
	__u32 i, len;
	int fd;

	for (i = 0; i < fp->nmaps; i++) {
		fd = bpf_map_get_fd_by_id(fp->map_ids[i]);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, name))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/*
 * The wrapper on the router's own maps: every map of bench.bpf.o that the
 * router's program uses is replaced by the router's before load (a map the
 * router does not use is not used by the wrapper's copy of the code either).
 * Maps are found through the program's map ids: no pins to clean up.
 */
static int fp_load(struct fp *fp)
{
	struct bpf_prog_info info;
	struct bpf_map *map;
	__u32 len = sizeof(info);
	int fd, err;

	memset(&info, 0, sizeof(info));
	info.nr_map_ids = sizeof(fp->map_ids) / sizeof(fp->map_ids[0]);
	info.map_ids = (__u64)(unsigned long)fp->map_ids;
	if (bpf_obj_get_info_by_fd(fp->router_fd, &info, &len))
		return -errno;
	fp->nmaps = info.nr_map_ids;

	fp->bench = cg_bench__open();
	if (!fp->bench)
		return -errno;
	bpf_object__for_each_map(map, fp->bench->obj)
	{
		if (bpf_map__is_internal(map))
			continue;
		fd = fp_router_map(fp, bpf_map__name(map));
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return fd;
		err = bpf_map__reuse_fd(map, fd);
		close(fd); /* reuse_fd keeps its own copy */
		if (err)
			return err;
	}
	err = cg_bench__load(fp->bench);
	if (err)
		return err;
	fp->wrap_fd = bpf_program__fd(fp->bench->progs.bench_router);
	fp->restore_fd = bpf_program__fd(fp->bench->progs.bench_restore_only);
	fp->ct_fd = bpf_map__fd(fp->bench->maps.conntrack);

	fp->drop = cg_drop__open_and_load();
	fp->pass = cg_pass__open_and_load();
	if (!fp->drop || !fp->pass)
		return -errno;
	fp->drop_fd = bpf_program__fd(fp->drop->progs.cg_drop);
	fp->pass_fd = bpf_program__fd(fp->pass->progs.cg_pass);
	return 0;
}

static void fp_close(struct fp *fp)
{
	int i;

	cg_bench__destroy(fp->bench);
	cg_drop__destroy(fp->drop);
	cg_pass__destroy(fp->pass);
	cg_dp_close(fp->dp);
	for (i = 0; i < NSVCS; i++)
		free(fp->slots[i]);
}

static int fp_pick_cpus(struct fp *fp)
{
	int i;

	fp->ncpus = bench_online_cpus(fp->cpus, sizeof(fp->cpus) / sizeof(fp->cpus[0]));
	if (fp->ncpus <= 0)
		return -EINVAL;
	fp->cpu = fp->o->cpu >= 0 ? fp->o->cpu : fp->cpus[fp->ncpus - 1];
	fp->other_cpu = -1;
	for (i = 0; i < fp->ncpus; i++)
		if (fp->cpus[i] != fp->cpu) {
			fp->other_cpu = fp->cpus[i];
			break;
		}
	return bench_pin_cpu(fp->cpu);
}

int bench_dataplane(const struct fp_opts *o, json_t *out)
{
	struct cg_dp_opts dopts = { .pin_dir = NULL, .conntrack_size = o->conntrack };
	json_t *figs = NULL;
	struct fp *fp;
	size_t i;
	int err = -1;

	fp = calloc(1, sizeof(*fp));
	if (!fp)
		return -1;
	fp->o = o;
	fp->seq = 1;
	fp->guard_fd = -1;
	fp_describe(fp);
	if (fp_pick_cpus(fp)) {
		fprintf(stderr, "bench: cannot run on CPU %d: %s\n", o->cpu, strerror(errno));
		goto out;
	}
	fp->dp = cg_dp_open(&dopts);
	if (!fp->dp)
		goto out; /* cg_dp_open said why */
	fp->router_fd = cg_dp_prog_fd(fp->dp);
	err = fp_configure(fp);
	if (err) {
		fprintf(stderr, "bench: cannot configure the data plane: %s\n", strerror(-err));
		goto fail;
	}
	err = fp_load(fp);
	if (err) {
		fprintf(stderr, "bench: cannot load the wrapper on the router's maps: %s\n",
			strerror(-err));
		goto fail;
	}
	err = fp_frames(fp);
	if (!err)
		err = fp_conntrack(fp);
	if (err) {
		fprintf(stderr, "bench: cannot fill the connection table: %s\n", strerror(-err));
		goto fail;
	}

	figs = json_array();
	for (i = 0; i < NFIGURES; i++) {
		if (o->profile && strcmp(o->profile, figures[i].name))
			continue;
		if (fp_figure(fp, &figures[i], figs))
			goto fail;
	}
	if (o->profile) {
		err = 0;
		goto out;
	}
	if (fp_baselines(fp, figs))
		goto fail;
	json_array_extend(out, figs);
	if (fp_memory(fp, out))
		goto fail;
	if (bench_tables(fp->dp, o->verbose, out))
		goto fail;
	err = 0;
	goto out;
fail:
	err = -1;
out:
	json_decref(figs);
	fp_close(fp);
	free(fp);
	return err;
}
