/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* router.h - the router's packet path, included by its entry program and by the benchmark wrapper */
#ifndef CG_BPF_ROUTER_H
#define CG_BPF_ROUTER_H

#include "cellgate/abi/consts.h"
#include "cellgate/abi/structs.h"
#include "cellgate/abi/hash.h"
#include "maps.h"
#include "parse.h"
#include "encap.h"

#define CG_CONTINUE -1 /* a step found no verdict: go on to the next */
#define CG_NO_ID    0xffffffffU

/* What one packet did, counted once at the single exit. */
struct cg_verdict {
	__u32 stat;    /* enum cg_stat */
	__u32 svc;     /* service id, CG_NO_ID if none */
	__u32 cell;    /* cell id, CG_NO_ID if none */
	__u32 class;   /* priority class */
	__u32 len;     /* frame bytes as received */
	__u8 new_flow; /* 1: a connection entry was created */
	__u8 retry;    /* 1: a SYN of a flow still in the SYN state (a client retry) */
};

/* Parse: a verdict for anything the router does not route, else CG_CONTINUE. */
static __always_inline int cg_step_parse(void *data, void *end, struct cg_pkt *pkt,
					 struct cg_verdict *v)
{
	__u32 zero = 0;
	const struct cg_vip_filter *vf = bpf_map_lookup_elem(&vips, &zero);

	switch (cg_parse_flow(data, end, pkt, vf)) {
	case CG_PARSE_OK:
		return CG_CONTINUE;
	case CG_PARSE_NOT_VIP:
		v->stat = CG_STAT_PASS_NO_SERVICE;
		return XDP_PASS;
	case CG_PARSE_NOT_IP:
		v->stat = CG_STAT_PASS_NOT_IP;
		return XDP_PASS;
	case CG_PARSE_L4_OTHER:
		v->stat = CG_STAT_PASS_L4_OTHER;
		return XDP_PASS;
	case CG_PARSE_V6_EXT:
		v->stat = CG_STAT_PASS_V6_EXT;
		return XDP_PASS;
	default:
		v->stat = CG_STAT_DROP_MALFORMED;
		return XDP_DROP;
	}
}

/* Service of the packet: fragments use the (VIP, port 0, proto) alias. */
static __always_inline const struct cg_service *cg_step_service(const struct cg_pkt *pkt)
{
	struct cg_service_key skey = {};

	cg_copy_addr(skey.addr, pkt->key.daddr);
	skey.port = pkt->frag == CG_FRAG_NONE ? pkt->key.dport : 0;
	skey.proto = pkt->key.proto;
	skey.family = pkt->key.family;
	return bpf_map_lookup_elem(&services, &skey);
}

/* Maglev pick: the cell id in the service's live table, CG_NO_ID without a table. */
static __always_inline __u32 cg_table_pick(__u32 svc_id, __u32 hash)
{
	__u32 zero = 0, slot, *size, *cell;
	void *table;

	table = bpf_map_lookup_elem(&tables, &svc_id);
	if (!table)
		return CG_NO_ID;
	size = bpf_map_lookup_elem(table, &zero);
	if (!size || !*size)
		return CG_NO_ID;
	slot = cg_maglev_slot(hash, *size);
	cell = bpf_map_lookup_elem(table, &slot);
	return cell ? *cell : CG_NO_ID;
}

/* The cell of id if it can take packets of established flows (active or draining). */
static __always_inline const struct cg_cell *cg_cell_holding(__u32 id)
{
	const struct cg_cell *cell = bpf_map_lookup_elem(&cells, &id);

	if (cell && (cell->state == CG_CELL_ACTIVE || cell->state == CG_CELL_DRAINING))
		return cell;
	return NULL;
}

/* The active cell the service's table names for hash (its id in v), or NULL. */
static __always_inline const struct cg_cell *cg_step_pick(__u32 svc_id, __u32 hash,
							  struct cg_verdict *v)
{
	const struct cg_cell *cell;
	__u32 id = cg_table_pick(svc_id, hash);

	cell = bpf_map_lookup_elem(&cells, &id);
	if (!cell || cell->state != CG_CELL_ACTIVE)
		return NULL;
	v->cell = id;
	return cell;
}

/*
 * Classify a new flow: the longest source-prefix rule, else the DSCP rule,
 * else the service's default class. Established flows keep the class their
 * first packet got (it is in their connection entry).
 */
static __always_inline __u32 cg_step_classify(const struct cg_pkt *pkt,
					      const struct cg_service *svc)
{
	const struct cg_class_rule *rule;
	const struct cg_dscp_rule *d;
	__u32 ds = pkt->tos >> 2;

	if (pkt->key.family == CG_AF_INET) {
		struct cg_lpm4 k = { .prefixlen = 32, .addr = pkt->key.saddr[0] };

		rule = bpf_map_lookup_elem(&class4, &k);
	} else {
		struct cg_lpm6 k = { .prefixlen = 128 };

		cg_copy_addr(k.addr, pkt->key.saddr);
		rule = bpf_map_lookup_elem(&class6, &k);
	}
	if (rule)
		return rule->class & (CG_MAX_CLASSES - 1);
	d = bpf_map_lookup_elem(&dscp, &ds);
	if (d && (d->flags & CG_DSCP_F_SET))
		return d->class & (CG_MAX_CLASSES - 1);
	return svc->default_class & (CG_MAX_CLASSES - 1);
}

/* The shed thresholds of (cell, class). */
static __always_inline const struct cg_shed *cg_shed_of(__u32 cell, __u32 class)
{
	__u32 key = cell * CG_MAX_CLASSES + class;

	return bpf_map_lookup_elem(&shed, &key);
}

/* Does threshold t refuse a flow of admission hash h? The same answer every time. */
static __always_inline int cg_refused(__u32 t, __u32 h)
{
	return t == CG_SHED_ALL || h < t;
}

/*
 * Take one unit from a token bucket refilled at rate a second up to burst.
 * Tokens are kept in billionths so a refill is one multiplication.
 * Returns 1 if taken, 0 if the bucket is empty.
 */
static __always_inline int cg_take(__u64 *tokens, __u64 *last, __u32 rate, __u32 burst, __u64 now)
{
	__u64 cap = (__u64)burst * CG_NSEC_PER_SEC, elapsed = now - *last;

	/* a long idle refills the whole bucket; this also bounds the product below */
	if (elapsed >= CG_NSEC_PER_SEC || *tokens + elapsed * rate >= cap)
		*tokens = cap;
	else
		*tokens += elapsed * rate;
	*last = now;
	if (*tokens < CG_NSEC_PER_SEC)
		return 0;
	*tokens -= CG_NSEC_PER_SEC;
	return 1;
}

/* Packets-per-second ceiling of class (this CPU's share). 1: within it. */
static __always_inline int cg_pkt_ceiling(__u32 class, __u64 *now)
{
	const struct cg_class *c = bpf_map_lookup_elem(&classes, &class);
	struct cg_bucket *b;

	if (!c || !c->pkt_rate)
		return 1;
	b = bpf_map_lookup_elem(&buckets, &class);
	if (!b)
		return 1;
	if (!*now)
		*now = bpf_ktime_get_ns();
	return cg_take(&b->pkt_tokens, &b->pkt_ns, c->pkt_rate, c->pkt_burst, *now);
}

/* New-flow ceiling of class (this CPU's share). 1: within it. */
static __always_inline int cg_flow_ceiling(__u32 class, __u64 *now)
{
	const struct cg_class *c = bpf_map_lookup_elem(&classes, &class);
	struct cg_bucket *b;

	if (!c || !c->flow_rate)
		return 1;
	b = bpf_map_lookup_elem(&buckets, &class);
	if (!b)
		return 1;
	if (!*now)
		*now = bpf_ktime_get_ns();
	return cg_take(&b->flow_tokens, &b->flow_ns, c->flow_rate, c->flow_burst, *now);
}

/* Word i (0..3) of the netmask of a len-bit prefix, in network order. */
static __always_inline __be32 cg_mask_word(__u32 len, int i)
{
	int bits = (int)len - 32 * i;

	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return 0xffffffff;
	return bpf_htonl(0xffffffffU << (32 - bits));
}

/*
 * The retry-storm guard: a new-flow bucket per source prefix, shared by the
 * CPUs (two CPUs may both take the last token: the overshoot is at most one
 * flow per CPU per refill). 1: within the prefix's limit.
 */
static __always_inline int cg_guard_admits(const struct cg_pkt *pkt, const struct cg_config *cfg,
					   __u64 *now)
{
	struct cg_guard_key k = { .family = pkt->key.family };
	struct cg_guard *g, fresh = {};
	__u32 len = pkt->key.family == CG_AF_INET ? cfg->guard_prefix4 : cfg->guard_prefix6;
	int i;

#pragma unroll
	for (i = 0; i < 4; i++)
		k.addr[i] = pkt->key.saddr[i] & cg_mask_word(len, i);
	if (!*now)
		*now = bpf_ktime_get_ns();
	g = bpf_map_lookup_elem(&guard, &k);
	if (!g) {
		/* a prefix not seen lately starts with a full bucket, less this flow */
		if (!cfg->guard_burst)
			return 0;
		fresh.tokens = ((__u64)cfg->guard_burst - 1) * CG_NSEC_PER_SEC;
		fresh.last_ns = *now;
		bpf_map_update_elem(&guard, &k, &fresh, BPF_ANY);
		return 1;
	}
	if (cg_take(&g->tokens, &g->last_ns, cfg->guard_rate, cfg->guard_burst, *now))
		return 1;
	g->drops++;
	return 0;
}

/* A pure SYN (SYN without ACK) opens a connection. */
static __always_inline int cg_is_syn(const struct cg_pkt *pkt)
{
	return pkt->key.proto == IPPROTO_TCP && (pkt->tcp_flags & 0x12) == 0x02;
}

/*
 * Admission of a new flow on its cell, cheapest refusal first: the shed level
 * of (cell, class), the source prefix's guard, the class's new-flow ceiling.
 * Returns CG_CONTINUE or XDP_DROP with the reason in v.
 */
static __always_inline int cg_step_admit(const struct cg_pkt *pkt, const struct cg_config *cfg,
					 struct cg_verdict *v, __u64 *now)
{
	const struct cg_shed *sh = cg_shed_of(v->cell, v->class);

	if (sh && sh->soft && cg_refused(sh->soft, cg_flow_hash(&pkt->key, CG_HASH_SEED_ADMIT))) {
		v->stat = CG_STAT_DROP_SHED;
		return XDP_DROP;
	}
	if (cfg->guard_rate && !cg_guard_admits(pkt, cfg, now)) {
		v->stat = CG_STAT_DROP_GUARD;
		return XDP_DROP;
	}
	if (!cg_flow_ceiling(v->class, now)) {
		v->stat = CG_STAT_DROP_CEILING;
		return XDP_DROP;
	}
	return CG_CONTINUE;
}

/*
 * Checks on an admitted flow's packets, made only when some level or ceiling
 * asks for them (settings flags): the hard shed level of (cell, class) and
 * the class's packet ceiling. Returns CG_CONTINUE or XDP_DROP with the reason.
 */
static __always_inline int cg_step_established(const struct cg_pkt *pkt,
					       const struct cg_config *cfg, struct cg_verdict *v,
					       __u64 *now)
{
	const struct cg_shed *sh;

	if (cfg->flags & CG_CFG_F_HARD) {
		sh = cg_shed_of(v->cell, v->class);
		if (sh && sh->hard &&
		    cg_refused(sh->hard, cg_flow_hash(&pkt->key, CG_HASH_SEED_ADMIT))) {
			v->stat = CG_STAT_DROP_SHED_HARD;
			return XDP_DROP;
		}
	}
	if ((cfg->flags & CG_CFG_F_PPS) && !cg_pkt_ceiling(v->class, now)) {
		v->stat = CG_STAT_DROP_CEILING;
		return XDP_DROP;
	}
	return CG_CONTINUE;
}

/*
 * Lookup, pick and admit. An established flow whose cell still holds flows
 * (active or draining) keeps that cell and its class. Anything else is picked
 * from the service's table and, if it is a new flow, classified and admitted
 * before it costs a connection entry. A pure SYN is admitted before the
 * connection table is even read: a refused SYN costs no LRU lookup, and a
 * retried SYN meets the same decision. A flow re-picked because its cell went
 * down was admitted once and is not refused again. ICMP errors follow their
 * flow and never create one. Returns CG_CONTINUE with *cellp set, or a verdict.
 */
static __always_inline int cg_step_flow(struct cg_pkt *pkt, const struct cg_service *svc,
					const struct cg_config *cfg, __u32 hash,
					struct cg_conn *conn, int looked,
					const struct cg_cell **cellp, struct cg_verdict *v,
					__u64 *now)
{
	struct cg_conn entry = {};
	const struct cg_cell *cell = NULL, *held;
	int syn = cg_is_syn(pkt), admitted = 0, act;

	if (syn) {
		v->class = cg_step_classify(pkt, svc);
		cell = cg_step_pick(svc->id, hash, v);
		if (!cell) {
			v->stat = CG_STAT_DROP_NO_CELL;
			return XDP_DROP;
		}
		act = cg_step_admit(pkt, cfg, v, now);
		if (act != CG_CONTINUE)
			return act;
		admitted = 1;
	}

	if (!looked)
		conn = bpf_map_lookup_elem(&conntrack, &pkt->key);
	if (conn) {
		held = cg_cell_holding(conn->cell);
		if (held) {
			/* a SYN of a known flow: still in the SYN state, it is a retry */
			v->cell = conn->cell;
			v->class = conn->class & (CG_MAX_CLASSES - 1);
			v->retry = !!(conn->flags & CG_CONN_F_SYN);
			*cellp = held;
			return cg_step_established(pkt, cfg, v, now);
		}
		/* its cell is down: re-picked below, keeping its class, not re-admitted */
		v->class = conn->class & (CG_MAX_CLASSES - 1);
		admitted = 1;
		cell = NULL;
	}

	if (!cell) {
		if (!conn)
			v->class = cg_step_classify(pkt, svc);
		cell = cg_step_pick(svc->id, hash, v);
		if (!cell) {
			v->stat = CG_STAT_DROP_NO_CELL;
			return XDP_DROP;
		}
	}
	*cellp = cell;
	if (pkt->icmp_err)
		return CG_CONTINUE;
	if (!admitted) {
		act = cg_step_admit(pkt, cfg, v, now);
		if (act != CG_CONTINUE)
			return act;
	}
	entry.cell = v->cell;
	entry.service = svc->id;
	entry.class = v->class;
	entry.flags = (pkt->frag != CG_FRAG_NONE ? CG_CONN_F_FRAG : 0) | (syn ? CG_CONN_F_SYN : 0);
	entry.hash = hash;
	if (bpf_map_update_elem(&conntrack, &pkt->key, &entry, BPF_ANY) == 0)
		v->new_flow = 1;
	return cg_step_established(pkt, cfg, v, now);
}

/*
 * The established-flow path, first for anything but a pure SYN: one lookup
 * of the connection table and, on a hit whose cell still holds flows, no
 * service lookup and no hash (the entry has both). Returns the cell, or NULL
 * (conn then says whether an entry exists, for the slow path).
 */
static __always_inline const struct cg_cell *cg_step_established_fast(struct cg_pkt *pkt,
								      struct cg_conn **connp,
								      struct cg_verdict *v,
								      __u32 *hash)
{
	struct cg_conn *conn = bpf_map_lookup_elem(&conntrack, &pkt->key);
	const struct cg_cell *cell;

	*connp = conn;
	if (!conn)
		return NULL;
	cell = cg_cell_holding(conn->cell);
	if (!cell)
		return NULL;
	v->svc = conn->service;
	v->cell = conn->cell;
	v->class = conn->class & (CG_MAX_CLASSES - 1);
	*hash = conn->hash;
	/* the handshake went on: a SYN now would be a new connection, not a retry */
	if ((conn->flags & CG_CONN_F_SYN) && !pkt->icmp_err)
		conn->flags &= ~CG_CONN_F_SYN;
	return cell;
}

static __always_inline int cg_route(struct xdp_md *ctx, struct cg_pkt *pkt, struct cg_verdict *v)
{
	const struct cg_service *svc;
	const struct cg_config *cfg;
	const struct cg_cell *cell = NULL;
	struct cg_conn *conn = NULL;
	__u32 zero = 0, hash = 0, overhead;
	__u64 now = 0;
	int act, looked = 0;

	cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg) {
		v->stat = CG_STAT_DROP_ERROR;
		return XDP_DROP;
	}

	if (!cg_is_syn(pkt)) {
		cell = cg_step_established_fast(pkt, &conn, v, &hash);
		looked = 1;
		if (cell) {
			act = cg_step_established(pkt, cfg, v, &now);
			if (act != CG_CONTINUE)
				return act;
			goto send;
		}
	}

	svc = cg_step_service(pkt);
	if (!svc) {
		v->stat = CG_STAT_PASS_NO_SERVICE;
		return XDP_PASS;
	}
	v->svc = svc->id;
	v->class = svc->default_class & (CG_MAX_CLASSES - 1);
	hash = cg_flow_hash(&pkt->key, CG_HASH_SEED_CELL);
	act = cg_step_flow(pkt, svc, cfg, hash, conn, looked, &cell, v, &now);
	if (act != CG_CONTINUE)
		return act;
	if (!cell) {
		v->stat = CG_STAT_DROP_NO_CELL;
		return XDP_DROP;
	}

send:
	overhead = cg_encap_overhead(cell);
	if (pkt->l3_len + overhead > cfg->mtu) {
		if (pkt->df && !pkt->icmp_err &&
		    cg_reply_too_big(ctx, pkt, cfg->mtu - overhead) == 0) {
			v->stat = CG_STAT_ICMP_TOO_BIG;
			return XDP_TX;
		}
		v->stat = CG_STAT_DROP_TOO_BIG;
		return XDP_DROP;
	}

	if (cg_encap(ctx, pkt, cell, cfg, hash) < 0) {
		v->stat = CG_STAT_DROP_ERROR;
		return XDP_DROP;
	}
	v->stat = pkt->icmp_err ? CG_STAT_FWD_ICMP : CG_STAT_FWD;
	return XDP_TX;
}

/* The single exit: every packet is counted here, per CPU. */
static __always_inline void cg_count(const struct cg_verdict *v)
{
	__u32 stat = v->stat, key;
	int fwd = stat == CG_STAT_FWD || stat == CG_STAT_FWD_ICMP;
	int drop = CG_STAT_IS_DROP(stat);
	int too_big = stat == CG_STAT_ICMP_TOO_BIG || stat == CG_STAT_DROP_TOO_BIG;
	struct cg_cell_stats *cs;
	struct cg_svc_stats *ss;
	struct cg_counter *c;

	c = bpf_map_lookup_elem(&stats, &stat);
	if (c) {
		c->packets++;
		c->bytes += v->len;
	}
	if (v->svc == CG_NO_ID)
		return;
	ss = bpf_map_lookup_elem(&svc_stats, &v->svc);
	if (ss) {
		if (fwd) {
			ss->packets++;
			ss->bytes += v->len;
		}
		ss->new_flows += v->new_flow;
		ss->drops += drop;
		ss->icmp += stat == CG_STAT_FWD_ICMP;
		ss->too_big += too_big;
		ss->retries += v->retry;
	}
	if (v->cell >= CG_MAX_CELLS || v->class >= CG_MAX_CLASSES)
		return;
	key = v->cell * CG_MAX_CLASSES + v->class;
	cs = bpf_map_lookup_elem(&cell_stats, &key);
	if (cs) {
		if (fwd) {
			cs->packets++;
			cs->bytes += v->len;
		}
		cs->new_flows += v->new_flow;
		cs->drops += drop;
		cs->shed += stat == CG_STAT_DROP_SHED;
		cs->shed_hard += stat == CG_STAT_DROP_SHED_HARD;
		cs->ceiling += stat == CG_STAT_DROP_CEILING;
		cs->guard += stat == CG_STAT_DROP_GUARD;
	}
}

/*
 * cg_router_run - the whole packet path: parse, service, connection table or
 * classify, pick and admit, encapsulation, counting. Returns the XDP verdict.
 */
static __always_inline int cg_router_run(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct cg_verdict v = { .svc = CG_NO_ID, .cell = CG_NO_ID, .len = end - data };
	struct cg_pkt pkt = {};
	int act;

	act = cg_step_parse(data, end, &pkt, &v);
	if (act == CG_CONTINUE)
		act = cg_route(ctx, &pkt, &v);
	cg_count(&v);
	return act;
}

#endif /* CG_BPF_ROUTER_H */
