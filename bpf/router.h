/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* router.h - the router's packet path, included by its entry program and by the benchmark wrapper */
#ifndef CG_BPF_ROUTER_H
#define CG_BPF_ROUTER_H

#include "cellgate/consts.h"
#include "cellgate/structs.h"
#include "cellgate/hash.h"
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
};

/* Parse: a verdict for anything the router does not route, else CG_CONTINUE. */
static __always_inline int cg_step_parse(void *data, void *end, struct cg_pkt *pkt,
					 struct cg_verdict *v)
{
	switch (cg_parse_flow(data, end, pkt)) {
	case CG_PARSE_OK:
		return CG_CONTINUE;
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

/*
 * Lookup and pick: the cell of an established flow whose cell still holds
 * flows (active or draining), else a new pick from the table, recorded in
 * the connection table. ICMP errors follow their flow but never create one.
 */
static __always_inline const struct cg_cell *
cg_step_cell(struct cg_pkt *pkt, const struct cg_service *svc, __u32 hash, struct cg_verdict *v)
{
	struct cg_conn *conn, entry = {};
	const struct cg_cell *cell;
	__u32 id;

	conn = bpf_map_lookup_elem(&conntrack, &pkt->key);
	if (conn) {
		id = conn->cell;
		cell = bpf_map_lookup_elem(&cells, &id);
		if (cell && (cell->state == CG_CELL_ACTIVE || cell->state == CG_CELL_DRAINING)) {
			v->cell = id;
			v->class = conn->class;
			return cell;
		}
		/* its cell is down: the flow is re-hashed onto a live cell */
	}

	id = cg_table_pick(svc->id, hash);
	cell = bpf_map_lookup_elem(&cells, &id);
	if (!cell || cell->state != CG_CELL_ACTIVE)
		return NULL;
	v->cell = id;
	if (pkt->icmp_err)
		return cell;
	entry.cell = id;
	entry.service = svc->id;
	entry.class = v->class;
	entry.flags = pkt->frag != CG_FRAG_NONE ? CG_CONN_F_FRAG : 0;
	if (bpf_map_update_elem(&conntrack, &pkt->key, &entry, BPF_ANY) == 0)
		v->new_flow = 1;
	return cell;
}

static __always_inline int cg_route(struct xdp_md *ctx, struct cg_pkt *pkt, struct cg_verdict *v)
{
	const struct cg_service *svc;
	const struct cg_config *cfg;
	const struct cg_cell *cell;
	__u32 zero = 0, hash, overhead;

	svc = cg_step_service(pkt);
	if (!svc) {
		v->stat = CG_STAT_PASS_NO_SERVICE;
		return XDP_PASS;
	}
	v->svc = svc->id;
	v->class = svc->default_class;

	cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg) {
		v->stat = CG_STAT_DROP_ERROR;
		return XDP_DROP;
	}

	hash = cg_flow_hash(&pkt->key, CG_HASH_SEED_CELL);
	cell = cg_step_cell(pkt, svc, hash, v);
	if (!cell) {
		v->stat = CG_STAT_DROP_NO_CELL;
		return XDP_DROP;
	}

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
	int drop = stat >= CG_STAT_DROP_MALFORMED;
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
	}
}

/*
 * cg_router_run - the whole packet path: parse, service, connection table or
 * table pick, encapsulation, counting. Returns the XDP verdict.
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
