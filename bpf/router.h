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

/*
 * The packet path, in the order it runs (cg_router_run() at the bottom):
 *
 *   parse -> config -> lookup (anything but a pure SYN) -> established?
 *     no:  service -> classify -> pick -> admit -> lookup (a pure SYN)
 *   -> police -> mtu -> record (not established) -> encap -> count
 *
 * A packet refused by any step before record, or too big to forward, costs
 * no connection entry.
 *
 * Each step takes the packet's struct cg_ctx and returns an XDP verdict (the
 * reason in ctx->v.stat) or CG_CONTINUE; a step that does not apply to the
 * packet returns CG_CONTINUE at once. Whatever the verdict, the packet is
 * counted once, by cg_count() at the single exit.
 */

#define CG_NO_ID 0xffffffffU

/* What one packet did, counted once at the single exit. */
struct cg_verdict {
	/* svc and cell first, side by side: the entry sets both with one 64-bit store */
	__u32 svc;     /* service id, CG_NO_ID if none */
	__u32 cell;    /* cell id, CG_NO_ID if none */
	__u32 stat;    /* enum cg_stat */
	__u32 class;   /* priority class */
	__u32 len;     /* frame bytes as received */
	__u8 new_flow; /* 1: a connection entry was created */
	__u8 retry;    /* 1: a SYN of a flow still in the SYN state (a client retry) */
	__u8 moved;    /* 1: the flow's entry was moved off cell from (set by record only) */
	__u32 from;    /* the cell a moved flow left (record); read only when moved */
};

/*
 * One packet on its way through the steps: what each step found, for the next.
 *
 * Only what some step may read before any step writes it is set at entry
 * (cg_router_run); every other field is left uninitialised and is written by
 * the step named on it before any later step reads it. Keep it so: a field
 * read by a step that may run before its writer belongs to the entry's list.
 *
 *   entry:    xdp, pkt (zeroed: the parser fills in only what the packet has,
 *             and the flow key is hashed and looked up whole), conn (NULL: a
 *             pure SYN is classified and admitted before the lookup step),
 *             now (0: read when first needed), held (0), v.len, v.svc and
 *             v.cell (CG_NO_ID), v.new_flow, v.retry and v.moved (0):
 *             cg_count reads them on every path
 *   parse:    pkt, syn, v.stat (its verdicts)
 *   config:   cfg (and the VLAN verdict)
 *   lookup:   conn; if it has an entry v.class; if established held, cell,
 *             v.cell, then (not a SYN) v.svc, hash, or (a SYN) v.retry
 *   service:  svc, v.svc, hash
 *   classify: v.class (a flow without an entry)
 *   pick:     cell, v.cell
 *   record:   v.new_flow, v.moved, v.from
 *   any step returning a verdict: v.stat (encap always returns one)
 */
struct cg_ctx {
	struct xdp_md *xdp;	      /* the XDP context (entry) */
	struct cg_pkt pkt;	      /* parsed headers and flow key (entry: zero; parse) */
	const struct cg_config *cfg;  /* settings (config) */
	const struct cg_service *svc; /* the service (service); unset if established */
	struct cg_conn *conn;	      /* connection entry (entry: NULL; lookup); NULL if none */
	const struct cg_cell *cell;   /* the cell the packet goes to (lookup or pick) */
	__u64 now;		      /* bpf_ktime_get_ns(), read when first needed (entry: 0) */
	__u32 hash;		      /* flow hash (cell seed): Maglev slot, GUE port, flow label */
	__u8 syn;	     /* 1: a pure SYN (SYN without ACK), which opens a connection (parse) */
	__u8 held;	     /* 1: established: the entry's cell still holds flows (entry: 0) */
	struct cg_verdict v; /* what the packet did, counted at the exit */
};

/* Parse: a verdict for anything the router does not route, else CG_CONTINUE. */
static __always_inline int cg_step_parse(struct cg_ctx *c)
{
	const struct cg_vip_filter *vf;
	void *data, *end;
	__u32 zero = 0;

	vf = bpf_map_lookup_elem(&vips, &zero);
	/* read after the call: held across it, each would cost a spill */
	data = (void *)(long)c->xdp->data;
	end = (void *)(long)c->xdp->data_end;

	switch (cg_parse_flow(data, end, &c->pkt, vf)) {
	case CG_PARSE_OK:
		/* tcp_flags is 0 in an ICMP error: a SYN is never one */
		c->syn = c->pkt.key.proto == IPPROTO_TCP && (c->pkt.tcp_flags & 0x12) == 0x02;
		return CG_CONTINUE;
	case CG_PARSE_NOT_VIP:
		c->v.stat = CG_STAT_PASS_NO_SERVICE;
		return XDP_PASS;
	case CG_PARSE_NOT_IP:
		c->v.stat = CG_STAT_PASS_NOT_IP;
		return XDP_PASS;
	case CG_PARSE_L4_OTHER:
		c->v.stat = CG_STAT_PASS_L4_OTHER;
		return XDP_PASS;
	case CG_PARSE_V6_EXT:
		c->v.stat = CG_STAT_PASS_V6_EXT;
		return XDP_PASS;
	case CG_PARSE_L2_GROUP:
		c->v.stat = CG_STAT_DROP_L2_GROUP;
		return XDP_DROP;
	case CG_PARSE_MARTIAN:
		c->v.stat = CG_STAT_DROP_MARTIAN;
		return XDP_DROP;
	case CG_PARSE_PORT_ZERO:
		c->v.stat = CG_STAT_DROP_PORT_ZERO;
		return XDP_DROP;
	default:
		c->v.stat = CG_STAT_DROP_MALFORMED;
		return XDP_DROP;
	}
}

/* Is the packet's source this LB's own outer address? No client has it: it is forged. */
static __always_inline int cg_from_self(const struct cg_pkt *pkt, const struct cg_config *cfg)
{
	const __be32 *s = pkt->key.saddr;

	if (pkt->key.family == CG_AF_INET)
		return cfg->src4 && s[0] == cfg->src4;
	return (cfg->src6[0] | cfg->src6[1] | cfg->src6[2] | cfg->src6[3]) &&
	       s[0] == cfg->src6[0] && s[1] == cfg->src6[1] && s[2] == cfg->src6[2] &&
	       s[3] == cfg->src6[3];
}

/*
 * Config: the settings every later step reads. A frame tagged with a VLAN
 * other than settings' vlan is not ours to route: the kernel gets it (its
 * VLAN devices, if any, or a drop). Inner tags (802.1ad) are not checked.
 * A packet from this LB's own address is a martian (cg_martian() has the
 * others; the parser cannot know the settings).
 */
static __always_inline int cg_step_config(struct cg_ctx *c)
{
	__u32 zero = 0;

	c->cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!c->cfg) {
		c->v.stat = CG_STAT_DROP_ERROR;
		return XDP_DROP;
	}
	if (c->pkt.vlan && c->pkt.vlan != c->cfg->vlan) {
		c->v.stat = CG_STAT_PASS_VLAN;
		return XDP_PASS;
	}
	if (cg_from_self(&c->pkt, c->cfg)) {
		c->v.stat = CG_STAT_DROP_MARTIAN;
		return XDP_DROP;
	}
	return CG_CONTINUE;
}

/* The cell of id if it can take packets of established flows (active or draining). */
static __always_inline const struct cg_cell *cg_cell_holding(__u32 id)
{
	const struct cg_cell *cell = bpf_map_lookup_elem(&cells, &id);

	if (cell && (cell->state == CG_CELL_ACTIVE || cell->state == CG_CELL_DRAINING))
		return cell;
	return NULL;
}

/*
 * Lookup: the connection entry, read once per packet. Anything but a pure
 * SYN reads it first, before the service: an entry whose cell still holds
 * flows (active or draining) makes the packet established, and the entry has
 * its service and hash, so neither is looked up or computed. A pure SYN
 * reads it only once admitted (a refused SYN costs no LRU lookup, and a
 * retried SYN meets the same decision); a known one is then a retry if its
 * entry is still in the SYN state. A flow whose cell is down keeps the class
 * of its entry and is picked again.
 */
static __always_inline int cg_step_lookup(struct cg_ctx *c)
{
	struct cg_conn *conn = bpf_map_lookup_elem(&conntrack, &c->pkt.key);
	const struct cg_cell *cell;

	c->conn = conn;
	if (!conn)
		return CG_CONTINUE;
	c->v.class = conn->class & (CG_MAX_CLASSES - 1);
	cell = cg_cell_holding(conn->cell);
	if (!cell)
		return CG_CONTINUE;
	c->held = 1;
	c->cell = cell;
	c->v.cell = conn->cell;
	if (c->syn) {
		c->v.retry = !!(conn->flags & CG_CONN_F_SYN);
		return CG_CONTINUE;
	}
	c->v.svc = conn->service;
	c->hash = conn->hash;
	/* the handshake went on: a SYN now would be a new connection, not a retry */
	if ((conn->flags & CG_CONN_F_SYN) && !c->pkt.icmp_err)
		conn->flags &= ~CG_CONN_F_SYN;
	return CG_CONTINUE;
}

/* Service: (VIP, port, proto); fragments use the (VIP, port 0, proto) alias. */
static __always_inline int cg_step_service(struct cg_ctx *c)
{
	struct cg_service_key skey = {};

	cg_copy_addr(skey.addr, c->pkt.key.daddr);
	skey.port = c->pkt.frag == CG_FRAG_NONE ? c->pkt.key.dport : 0;
	skey.proto = c->pkt.key.proto;
	skey.family = c->pkt.key.family;
	c->svc = bpf_map_lookup_elem(&services, &skey);
	if (!c->svc) {
		c->v.stat = CG_STAT_PASS_NO_SERVICE;
		return XDP_PASS;
	}
	c->v.svc = c->svc->id;
	c->hash = cg_flow_hash(&c->pkt.key, c->cfg->seed_cell);
	return CG_CONTINUE;
}

/*
 * The class of a new flow: the longest source-prefix rule, else the service's
 * default class; then the DSCP rule, which the client sets, may lower it
 * (a larger class number) but never raise it.
 */
static __always_inline __u32 cg_class_of(const struct cg_pkt *pkt, const struct cg_service *svc)
{
	const struct cg_class_rule *rule;
	const struct cg_dscp_rule *d;
	__u32 ds = pkt->tos >> 2, class;

	if (pkt->key.family == CG_AF_INET) {
		struct cg_lpm4 k = { .prefixlen = 32, .addr = pkt->key.saddr[0] };

		rule = bpf_map_lookup_elem(&class4, &k);
	} else {
		struct cg_lpm6 k = { .prefixlen = 128 };

		cg_copy_addr(k.addr, pkt->key.saddr);
		rule = bpf_map_lookup_elem(&class6, &k);
	}
	class = (rule ? rule->class : svc->default_class) & (CG_MAX_CLASSES - 1);
	d = bpf_map_lookup_elem(&dscp, &ds);
	if (d && (d->flags & CG_DSCP_F_SET) && (d->class & (CG_MAX_CLASSES - 1)) > class)
		class = d->class & (CG_MAX_CLASSES - 1);
	return class;
}

/*
 * Classify a flow without an entry (cg_class_of). A flow with one keeps the
 * class its first packet got: the lookup step took it from the entry.
 */
static __always_inline int cg_step_classify(struct cg_ctx *c)
{
	if (!c->conn)
		c->v.class = cg_class_of(&c->pkt, c->svc);
	return CG_CONTINUE;
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

/* Pick: the cell the service's table names for the flow's hash; it must be active. */
static __always_inline int cg_step_pick(struct cg_ctx *c)
{
	__u32 id = cg_table_pick(c->svc->id, c->hash);
	const struct cg_cell *cell = bpf_map_lookup_elem(&cells, &id);

	if (!cell || cell->state != CG_CELL_ACTIVE) {
		c->v.stat = CG_STAT_DROP_NO_CELL;
		return XDP_DROP;
	}
	c->v.cell = id;
	c->cell = cell;
	return CG_CONTINUE;
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
 * Take one unit from a token bucket refilled at rate (> 0) a second up to
 * burst. Tokens are kept in billionths so a refill is one multiplication;
 * a bucket refills at its rate whatever the idle time, so a prefix refused
 * a second ago gets back a second's worth, not its whole burst.
 * Returns 1 if taken, 0 if the bucket is empty.
 */
static __always_inline int cg_take(__u64 *tokens, __u64 *last, __u32 rate, __u32 burst, __u64 now)
{
	__u64 cap = (__u64)burst * CG_NSEC_PER_SEC, elapsed = now - *last, room;

	if (*tokens > cap) /* the burst was lowered */
		*tokens = cap;
	room = cap - *tokens;
	/*
	 * Under a second, elapsed * rate < 2^62 cannot overflow; a longer idle
	 * (rare: one division) fills the bucket if the refill covers the room.
	 */
	if (elapsed < CG_NSEC_PER_SEC ? elapsed * rate >= room : elapsed >= room / rate)
		*tokens = cap;
	else
		*tokens += elapsed * rate;
	*last = now;
	if (*tokens < CG_NSEC_PER_SEC)
		return 0;
	*tokens -= CG_NSEC_PER_SEC;
	return 1;
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
 * One level of the retry-storm guard: the new-flow bucket of the source's
 * len-bit prefix, shared by the CPUs (two CPUs may both take the last token:
 * the overshoot is at most one flow per CPU per refill). 1: within its limit.
 */
static __always_inline int cg_guard_take(const struct cg_pkt *pkt, __u32 len, __u32 rate,
					 __u32 burst, __u64 now)
{
	struct cg_guard_key k = { .family = pkt->key.family, .len = len };
	struct cg_guard *g, fresh = {};
	int i;

#pragma unroll
	for (i = 0; i < 4; i++)
		k.addr[i] = pkt->key.saddr[i] & cg_mask_word(len, i);
	g = bpf_map_lookup_elem(&guard, &k);
	if (!g) {
		/* a prefix not seen lately starts with a full bucket, less this flow */
		if (!burst)
			return 0;
		fresh.tokens = ((__u64)burst - 1) * CG_NSEC_PER_SEC;
		fresh.last_ns = now;
		bpf_map_update_elem(&guard, &k, &fresh, BPF_ANY);
		return 1;
	}
	if (cg_take(&g->tokens, &g->last_ns, rate, burst, now))
		return 1;
	g->drops++;
	return 0;
}

/*
 * The retry-storm guard: the source's prefix (/24, /64) and then its
 * aggregate (/16, /48) must both have a token, so rotating prefixes inside
 * one aggregate buys no more than the aggregate's limit. 1: admitted.
 */
static __always_inline int cg_guard_admits(const struct cg_pkt *pkt, const struct cg_config *cfg,
					   __u64 *now)
{
	int v4 = pkt->key.family == CG_AF_INET;

	if (!*now)
		*now = bpf_ktime_get_ns();
	if (!cg_guard_take(pkt, v4 ? cfg->guard_prefix4 : cfg->guard_prefix6, cfg->guard_rate,
			   cfg->guard_burst, *now))
		return 0;
	if (!cfg->agg_rate)
		return 1;
	return cg_guard_take(pkt, v4 ? cfg->agg_prefix4 : cfg->agg_prefix6, cfg->agg_rate,
			     cfg->agg_burst, *now);
}

/* Take one unit of budget slot (enum cg_budget_slot) at rate a second, this CPU's. 1: taken. */
static __always_inline int cg_budget(__u32 slot, __u32 rate, __u32 burst, __u64 *now)
{
	struct cg_budget *b;

	if (!rate)
		return 1;
	b = bpf_map_lookup_elem(&budgets, &slot);
	if (!b)
		return 1;
	if (!*now)
		*now = bpf_ktime_get_ns();
	return cg_take(&b->tokens, &b->last_ns, rate, burst, *now);
}

/*
 * A ceiling of class (this CPU's share): its new flows (pkt 0) or its
 * packets (pkt 1; a constant, so each caller inlines one branch). 1: within it.
 */
static __always_inline int cg_ceiling(__u32 class, int pkt, __u64 *now)
{
	const struct cg_class *c = bpf_map_lookup_elem(&classes, &class);
	struct cg_bucket *b;

	if (!c || !(pkt ? c->pkt_rate : c->flow_rate))
		return 1;
	b = bpf_map_lookup_elem(&buckets, &class);
	if (!b)
		return 1;
	if (!*now)
		*now = bpf_ktime_get_ns();
	if (pkt)
		return cg_take(&b->pkt_tokens, &b->pkt_ns, c->pkt_rate, c->pkt_burst, *now);
	return cg_take(&b->flow_tokens, &b->flow_ns, c->flow_rate, c->flow_burst, *now);
}

/*
 * Admit a new flow on its cell before it costs a connection entry, cheapest
 * refusal first: the shed level of (cell, class), the source prefix's guard,
 * the class's new-flow ceiling. A flow with an entry (its cell went down) was
 * admitted once and is not refused again. An ICMP error about a flow this LB
 * holds no entry for meets the shed level its flow would (a flow refused here
 * gets no errors either), but not the guard or the new-flow ceiling: it opens
 * no flow, and its addresses are the sender's choice (the ICMP budget in
 * police bounds a flood of them).
 */
static __always_inline int cg_step_admit(struct cg_ctx *c)
{
	const struct cg_shed *sh;

	if (c->conn)
		return CG_CONTINUE;
	sh = cg_shed_of(c->v.cell, c->v.class);
	if (sh && sh->soft && cg_refused(sh->soft, cg_flow_hash(&c->pkt.key, c->cfg->seed_admit))) {
		c->v.stat = CG_STAT_DROP_SHED;
		return XDP_DROP;
	}
	if (c->pkt.icmp_err)
		return CG_CONTINUE;
	if (c->cfg->guard_rate && !cg_guard_admits(&c->pkt, c->cfg, &c->now)) {
		c->v.stat = CG_STAT_DROP_GUARD;
		return XDP_DROP;
	}
	if (!cg_ceiling(c->v.class, 0, &c->now)) {
		c->v.stat = CG_STAT_DROP_CEILING;
		return XDP_DROP;
	}
	return CG_CONTINUE;
}

/*
 * Record: the flow's connection entry, new or (its cell went down) pointing
 * at the cell just picked, once every check passed (police, mtu). Not for an
 * established flow, nor for an ICMP error, which follows its flow and never
 * creates one. A flow that had an entry here was picked again because its
 * entry's cell could no longer hold it (down, or gone: the lookup step):
 * it is counted as moved off that cell (cell_moves), once, when its entry
 * points elsewhere.
 */
static __always_inline int cg_step_record(struct cg_ctx *c)
{
	struct cg_conn entry = {};

	if (c->held || c->pkt.icmp_err)
		return CG_CONTINUE;
	entry.cell = c->v.cell;
	entry.service = c->v.svc;
	entry.class = c->v.class;
	entry.flags =
		(c->pkt.frag != CG_FRAG_NONE ? CG_CONN_F_FRAG : 0) | (c->syn ? CG_CONN_F_SYN : 0);
	entry.hash = c->hash;
	/* read before the update replaces the entry c->conn points to */
	c->v.from = c->conn ? c->conn->cell : CG_NO_ID;
	if (bpf_map_update_elem(&conntrack, &c->pkt.key, &entry, BPF_ANY) == 0) {
		c->v.new_flow = 1;
		c->v.moved = !!c->conn;
	}
	return CG_CONTINUE;
}

/*
 * The flow part of the path for a packet that is not established: service,
 * classify, pick, admit, then (a pure SYN) the connection table. Each step
 * runs once; the entry is recorded after police and mtu (cg_router_run).
 */
static __always_inline int cg_step_flow(struct cg_ctx *c)
{
	int act;

	act = cg_step_service(c);
	if (act == CG_CONTINUE)
		act = cg_step_classify(c);
	if (act == CG_CONTINUE)
		act = cg_step_pick(c);
	if (act == CG_CONTINUE)
		act = cg_step_admit(c);
	if (act == CG_CONTINUE && c->syn)
		act = cg_step_lookup(c);
	return act;
}

/*
 * Police an admitted flow's packets, checked only when some level or ceiling
 * asks for it (settings flags): the hard shed level of (cell, class) and the
 * class's packet ceiling; then an ICMP error spends one of the LB's ICMP
 * budget, established flow or not.
 */
static __always_inline int cg_step_police(struct cg_ctx *c)
{
	const struct cg_shed *sh;

	if (c->cfg->flags & CG_CFG_F_HARD) {
		sh = cg_shed_of(c->v.cell, c->v.class);
		if (sh && sh->hard &&
		    cg_refused(sh->hard, cg_flow_hash(&c->pkt.key, c->cfg->seed_admit))) {
			c->v.stat = CG_STAT_DROP_SHED_HARD;
			return XDP_DROP;
		}
	}
	if ((c->cfg->flags & CG_CFG_F_PPS) && !cg_ceiling(c->v.class, 1, &c->now)) {
		c->v.stat = CG_STAT_DROP_CEILING;
		return XDP_DROP;
	}
	if (c->pkt.icmp_err &&
	    !cg_budget(CG_BUDGET_ICMP, c->cfg->icmp_rate, c->cfg->icmp_burst, &c->now)) {
		c->v.stat = CG_STAT_DROP_ICMP_RATE;
		return XDP_DROP;
	}
	return CG_CONTINUE;
}

/*
 * MTU: the datagram with the cell's outer headers must fit settings.mtu. If
 * not, an ICMP too big goes back to the client (DF set, IPv6 always, never
 * about an ICMP error) within the too-big budget, else the packet is
 * dropped: XDP cannot fragment.
 */
static __always_inline int cg_step_mtu(struct cg_ctx *c)
{
	__u32 overhead, mtu = c->cfg->mtu;

	/* every path here has set the cell; the check is the verifier's */
	if (!c->cell) {
		c->v.stat = CG_STAT_DROP_NO_CELL;
		return XDP_DROP;
	}
	overhead = cg_encap_overhead(c->cell);
	if (c->pkt.l3_len + overhead <= mtu)
		return CG_CONTINUE;
	if (c->pkt.df && !c->pkt.icmp_err) {
		if (!cg_budget(CG_BUDGET_TOO_BIG, c->cfg->too_big_rate, c->cfg->too_big_burst,
			       &c->now)) {
			c->v.stat = CG_STAT_DROP_TOO_BIG_RATE;
			return XDP_DROP;
		}
		if (cg_reply_too_big(c->xdp, &c->pkt, mtu - overhead) == 0) {
			c->v.stat = CG_STAT_ICMP_TOO_BIG;
			return XDP_TX;
		}
	}
	c->v.stat = CG_STAT_DROP_TOO_BIG;
	return XDP_DROP;
}

/* Encap: outer headers to the cell, sent back out (XDP_TX). */
static __always_inline int cg_step_encap(struct cg_ctx *c)
{
	if (cg_encap(c->xdp, &c->pkt, c->cell, c->cfg, c->hash) < 0) {
		c->v.stat = CG_STAT_DROP_ERROR;
		return XDP_DROP;
	}
	c->v.stat = c->pkt.icmp_err ? CG_STAT_FWD_ICMP : CG_STAT_FWD;
	return XDP_TX;
}

/* Count: the single exit, every packet counted here once, per CPU. */
static __always_inline void cg_count(const struct cg_verdict *v)
{
	__u32 stat = v->stat, key;
	int fwd = stat == CG_STAT_FWD || stat == CG_STAT_FWD_ICMP;
	int drop = CG_STAT_IS_DROP(stat);
	int too_big = stat == CG_STAT_ICMP_TOO_BIG || stat == CG_STAT_DROP_TOO_BIG ||
		      stat == CG_STAT_DROP_TOO_BIG_RATE;
	struct cg_cell_stats *cs;
	struct cg_svc_stats *ss;
	struct cg_counter *c;
	__u64 *moves;

	c = bpf_map_lookup_elem(&stats, &stat);
	if (c) {
		c->packets++;
		c->bytes += v->len;
	}
	if (v->moved) {
		moves = bpf_map_lookup_elem(&cell_moves, &v->from);
		if (moves)
			(*moves)++;
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
 * cg_router_run - the whole packet path, the steps in the order listed at the
 * top of this file, then the count. Returns the XDP verdict.
 */
static __always_inline int cg_router_run(struct xdp_md *ctx)
{
	struct cg_ctx c; /* only what a step may read before its writer is set here */
	int act;

	c.xdp = ctx;
	__builtin_memset(&c.pkt, 0, sizeof(c.pkt));
	c.conn = NULL;
	c.now = 0;
	c.held = 0;
	c.v.svc = CG_NO_ID;
	c.v.cell = CG_NO_ID;
	c.v.len = ctx->data_end - ctx->data;
	c.v.new_flow = 0;
	c.v.retry = 0;
	c.v.moved = 0;
	act = cg_step_parse(&c);
	if (act == CG_CONTINUE)
		act = cg_step_config(&c);
	/* established flows first: a pure SYN waits for its admission */
	if (act == CG_CONTINUE && !c.syn)
		act = cg_step_lookup(&c);
	if (act == CG_CONTINUE && !c.held)
		act = cg_step_flow(&c);
	if (act == CG_CONTINUE)
		act = cg_step_police(&c);
	if (act == CG_CONTINUE)
		act = cg_step_mtu(&c);
	if (act == CG_CONTINUE)
		act = cg_step_record(&c);
	if (act == CG_CONTINUE)
		act = cg_step_encap(&c);
	cg_count(&c.v);
	return act;
}

#endif /* CG_BPF_ROUTER_H */
